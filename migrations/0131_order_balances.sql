-- What a balance (a gift card, or the customer's store credit) paid of an order: the payment token
-- pays the rest (none when the balance paid it all, so an order may have no token).
alter table orders add column balance_amount integer not null default 0 check (balance_amount >= 0);
alter table orders add constraint orders_balance_within_total check (balance_amount <= total_amount);
alter table orders alter column payment_token drop not null;
