-- Stock per variant. The CHECKs are the last line of defence of invariant 1: whatever the code
-- does, on_hand and reserved never go negative and nothing is reserved beyond what is on hand.
create table inventory_items (
  variant_id uuid primary key,
  sku text not null unique,
  on_hand integer not null check (on_hand >= 0),
  reserved integer not null default 0 check (reserved >= 0),
  low_stock_threshold integer not null default 5 check (low_stock_threshold >= 0),
  updated_at timestamptz not null default now(),
  constraint inventory_reserved_within_on_hand check (reserved <= on_hand)
);

create table inventory_reservations (
  order_id uuid not null,
  variant_id uuid not null references inventory_items (variant_id),
  quantity integer not null check (quantity > 0),
  status text not null default 'held' check (status in ('held', 'committed', 'released')),
  expires_at timestamptz not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (order_id, variant_id)
);
create index inventory_reservations_expiry_idx on inventory_reservations (expires_at) where status = 'held';

-- Every change to stock, with who and why: the audit trail staff and tests read.
create table inventory_ledger (
  id uuid primary key,
  variant_id uuid not null,
  sku text not null,
  delta_on_hand integer not null,
  delta_reserved integer not null,
  reason text not null,
  order_id uuid,
  actor_id uuid,
  at timestamptz not null default now()
);
create index inventory_ledger_variant_idx on inventory_ledger (variant_id, at);
create index inventory_ledger_order_idx on inventory_ledger (order_id) where order_id is not null;
