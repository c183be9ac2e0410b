create table carts (
  id uuid primary key,
  user_id uuid not null unique,
  currency text not null default 'EUR' check (currency ~ '^[A-Z]{3}$'),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create table cart_items (
  id uuid primary key,
  cart_id uuid not null references carts (id) on delete cascade,
  variant_id uuid not null,
  quantity integer not null check (quantity between 1 and 99),
  added_at timestamptz not null default now(),
  unique (cart_id, variant_id)
);
