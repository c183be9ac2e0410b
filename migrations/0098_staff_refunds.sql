-- Refunds staff issued on an order, with why: the order's refunded_amount grows when one is done.
create table order_refunds (
  id uuid primary key,
  order_id uuid not null references orders (id),
  idempotency_key text not null,
  amount integer not null check (amount > 0),
  reason text not null,
  status text not null check (status in ('requested', 'refunded', 'rejected')),
  issued_by uuid not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (order_id, idempotency_key)
);
create index order_refunds_requested on order_refunds (created_at) where status = 'requested';
