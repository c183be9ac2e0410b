-- The price list that priced an order line below the shelf, as the cart named it: {id, name}.
alter table order_items add column price_list jsonb;
