-- Where the cart ships to: its totals (tax, shipping) are those of this destination, so the total
-- the shopper sees is the total checkout charges. Only the country is needed for that; the rest of
-- the address is kept for checkout to offer.
alter table carts add column shipping_address jsonb;
