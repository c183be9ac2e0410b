-- One payment per order, as the provider last confirmed it. captured_amount - refunded_amount is
-- the money held for the order and must match the provider's ledger.
create table payments (
  id uuid primary key,
  order_id uuid not null unique,
  status text not null check (status in (
    'pending', 'authorized', 'declined', 'captured', 'voided', 'refunded', 'partially_refunded', 'failed'
  )),
  amount bigint not null check (amount > 0),
  currency char(3) not null,
  provider_authorization_id text unique,
  captured_amount bigint not null default 0 check (captured_amount between 0 and amount),
  refunded_amount bigint not null default 0 check (refunded_amount between 0 and captured_amount),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

-- Every operation the provider confirmed, at most once per idempotency key.
create table payment_operations (
  id uuid primary key,
  payment_id uuid not null references payments (id),
  kind text not null check (kind in ('authorize', 'decline', 'capture', 'void', 'reversal', 'refund')),
  idempotency_key text not null unique,
  amount bigint not null check (amount >= 0),
  provider_reference text,
  created_at timestamptz not null default now()
);
create index payment_operations_payment_id on payment_operations (payment_id);
