-- What the pricing rules decided at checkout, kept with the order so refunds can prorate exactly.
alter table orders add column shipping_tax_amount integer not null default 0 check (shipping_tax_amount >= 0);
alter table orders add column promotion_code text;
alter table orders add column shipping_method jsonb;
alter table order_items add column discount_amount integer not null default 0 check (discount_amount >= 0);
alter table order_items add column tax_amount integer not null default 0 check (tax_amount >= 0);
