-- What a gift card paid of an order: the payment token pays the rest (none when the card paid it
-- all, so an order may have no token).
alter table orders add column gift_card_amount integer not null default 0 check (gift_card_amount >= 0);
alter table orders add constraint orders_gift_card_within_total check (gift_card_amount <= total_amount);
alter table orders alter column payment_token drop not null;
