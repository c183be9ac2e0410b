-- Orders and the state of their checkout saga. The saga's state is this row: recovery after a
-- crash is a query for pending orders whose claim has lapsed, not a hunt across services.
create table orders (
  id uuid primary key,
  user_id uuid not null,
  status text not null check (status in ('pending', 'confirmed', 'cancelled', 'partially_shipped', 'shipped')),
  currency text not null check (currency ~ '^[A-Z]{3}$'),
  subtotal_amount integer not null check (subtotal_amount >= 0),
  discount_amount integer not null default 0 check (discount_amount >= 0),
  shipping_amount integer not null default 0 check (shipping_amount >= 0),
  tax_amount integer not null default 0 check (tax_amount >= 0),
  total_amount integer not null check (total_amount >= 0),
  shipping_address jsonb not null,
  payment_token text not null,
  payment_status text not null default 'pending'
    check (payment_status in ('pending', 'authorized', 'captured', 'declined', 'voided', 'refunded', 'failed')),
  saga_step text not null check (saga_step in ('authorize', 'capture', 'compensate', 'cancel_refund', 'done')),
  saga_attempts integer not null default 0,
  -- Who works on the saga next: the request that created it holds it until this time; after it,
  -- the recovery loop may claim it.
  next_attempt_at timestamptz not null,
  cancel_reason text,
  last_error text,
  idempotency_key text not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (user_id, idempotency_key)
);
create index orders_user_idx on orders (user_id, created_at desc);
create index orders_status_idx on orders (status, created_at desc);
create index orders_recovery_idx on orders (next_attempt_at) where saga_step <> 'done';

create table order_items (
  id uuid primary key,
  order_id uuid not null references orders (id) on delete cascade,
  variant_id uuid not null,
  sku text not null,
  name text not null,
  quantity integer not null check (quantity > 0),
  unit_amount integer not null check (unit_amount >= 0),
  line_amount integer not null check (line_amount >= 0)
);
create index order_items_order_idx on order_items (order_id);

create table order_transitions (
  id uuid primary key,
  order_id uuid not null references orders (id) on delete cascade,
  from_status text,
  to_status text not null,
  reason text,
  at timestamptz not null default now()
);
create index order_transitions_order_idx on order_transitions (order_id, at);
