-- Returns refund part of an order: the order keeps what has been given back, so for every order
-- captured − refunded equals total − refunded_amount.
alter table orders add column refunded_amount integer not null default 0 check (refunded_amount >= 0);
alter table orders add constraint orders_refund_within_total check (refunded_amount <= total_amount);
alter table orders drop constraint orders_payment_status_check;
alter table orders add constraint orders_payment_status_check check (
  payment_status in ('pending', 'authorized', 'captured', 'declined', 'voided', 'refunded', 'partially_refunded', 'failed')
);
