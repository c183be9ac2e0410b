-- Price lists: prices for some variants that replace the shelf price for a customer group, in a
-- date window, from a quantity (tiers). The best applicable price wins, the shelf price included.
-- customer_group refers to the customers module's groups by value only.
create table price_lists (
  id uuid primary key,
  name text not null check (length(name) between 1 and 100),
  customer_group uuid,
  starts_at timestamptz,
  ends_at timestamptz,
  active boolean not null default true,
  created_at timestamptz not null default now(),
  constraint price_lists_window check (ends_at is null or starts_at is null or ends_at > starts_at)
);

create table price_list_prices (
  price_list_id uuid not null references price_lists (id) on delete cascade,
  variant_id uuid not null,
  currency char(3) not null,
  amount integer not null check (amount >= 0),
  min_quantity integer not null default 1 check (min_quantity >= 1),
  primary key (price_list_id, variant_id, currency, min_quantity)
);
-- A cart's lookup: its variants' list prices in its currency.
create index price_list_prices_variant_idx on price_list_prices (variant_id, currency);
