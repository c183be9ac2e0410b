-- A customer's address book: the addresses checkout offers. One may be the default (checkout
-- fills it in first); an account has at most 20 (ADDRESS_LIMIT).
create table user_addresses (
  id uuid primary key,
  user_id uuid not null references users (id) on delete cascade,
  name text not null,
  line1 text not null,
  line2 text,
  city text not null,
  postal_code text not null,
  country text not null check (country ~ '^[A-Z]{2}$'),
  is_default boolean not null default false,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index user_addresses_user on user_addresses (user_id, created_at);
create unique index user_addresses_one_default on user_addresses (user_id) where is_default;
