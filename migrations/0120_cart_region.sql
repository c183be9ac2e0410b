-- The region a shopper chose before giving an address (a region's code; pricing owns regions, so
-- no foreign key): it sets the cart's currency and whether its prices contain tax until the
-- address's country decides.
alter table carts add column region text;
