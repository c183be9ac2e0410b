-- Where an order was placed from: a shopper's cart (a failed checkout gives it back), a staff
-- draft (it opens again), or an exchange (nothing to give back: the return's credit is released).
alter table orders add column source text not null default 'cart' check (source in ('cart', 'draft', 'exchange'));
update orders set source = 'draft' where draft_order_id is not null;
