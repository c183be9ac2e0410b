create table promotions (
  id uuid primary key,
  code text not null unique check (code = upper(code) and code ~ '^[A-Z0-9_-]{2,40}$'),
  kind text not null check (kind in ('percentage', 'fixed', 'free_shipping')),
  value integer not null default 0 check (value >= 0),
  currency text check (currency ~ '^[A-Z]{3}$'),
  min_subtotal integer check (min_subtotal >= 0),
  starts_at timestamptz,
  ends_at timestamptz,
  usage_limit integer check (usage_limit > 0),
  per_customer_limit integer check (per_customer_limit > 0),
  times_used integer not null default 0 check (times_used >= 0),
  active boolean not null default true,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  -- The counter can never pass the limit, whatever the code does: the database refuses.
  constraint promotions_within_limit check (usage_limit is null or times_used <= usage_limit),
  constraint promotions_percentage_range check (kind <> 'percentage' or value between 1 and 100),
  constraint promotions_fixed_currency check (kind <> 'fixed' or currency is not null)
);

create table promotion_redemptions (
  promotion_id uuid not null references promotions (id),
  order_id uuid not null,
  user_id uuid not null,
  redeemed_at timestamptz not null default now(),
  released_at timestamptz,
  primary key (promotion_id, order_id)
);
create index promotion_redemptions_user_idx on promotion_redemptions (promotion_id, user_id) where released_at is null;
create index promotion_redemptions_order_idx on promotion_redemptions (order_id);

create table tax_rates (
  country text primary key check (country ~ '^[A-Z]{2}$'),
  rate_basis_points integer not null check (rate_basis_points between 0 and 10000),
  name text not null,
  updated_at timestamptz not null default now()
);

create table shipping_methods (
  id uuid primary key,
  name text not null,
  country text not null check (country ~ '^[A-Z]{2}$'),
  price_amount integer not null check (price_amount >= 0),
  currency text not null check (currency ~ '^[A-Z]{3}$'),
  min_days integer not null check (min_days >= 0),
  max_days integer not null,
  active boolean not null default true,
  created_at timestamptz not null default now(),
  constraint shipping_methods_days check (max_days >= min_days)
);
create index shipping_methods_country_idx on shipping_methods (country) where active;
