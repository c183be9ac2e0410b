-- A variant's prices in currencies other than the store's (its `price_amount` is in the store
-- currency, which the service keeps out of this table: the store currency is configuration).
create table catalog_variant_prices (
  variant_id uuid not null references catalog_variants (id),
  currency text not null check (currency ~ '^[A-Z]{3}$'),
  amount bigint not null check (amount >= 0),
  primary key (variant_id, currency)
);
