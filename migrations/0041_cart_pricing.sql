-- The shopper's pricing choices; the rules behind them belong to the pricing module.
alter table carts add column promotion_code text;
alter table carts add column shipping_method_id uuid;
