-- Reconciliation compares each payment with the provider's record, oldest check first.
alter table payments add column reconciled_at timestamptz;
create index payments_reconcile_order on payments (reconciled_at nulls first, id)
  where provider_authorization_id is not null;

-- What reconciliation found: our ledger and the provider's disagreeing about a payment, one row
-- per payment and kind (status, captured, refunded), with both sides as found.
create table payment_drift (
  id uuid primary key,
  payment_id uuid not null references payments (id),
  order_id uuid not null,
  kind text not null check (kind in ('status', 'captured', 'refunded')),
  ours jsonb not null,
  theirs jsonb not null,
  found_at timestamptz not null default now(),
  unique (payment_id, kind)
);
