create table fulfillments (
  id uuid primary key,
  order_id uuid not null,
  carrier text not null,
  tracking_number text not null,
  created_by uuid not null,
  created_at timestamptz not null default now()
);
create index fulfillments_order_idx on fulfillments (order_id);

create table fulfillment_items (
  fulfillment_id uuid not null references fulfillments (id) on delete cascade,
  order_item_id uuid not null,
  quantity integer not null check (quantity > 0),
  primary key (fulfillment_id, order_item_id)
);

-- A return moves requested → receiving (refund amount fixed, under the order's lock) → received
-- (refund paid, stock back). The middle state makes a crash between refund and bookkeeping
-- recoverable by simply receiving again.
create table returns (
  id uuid primary key,
  order_id uuid not null,
  user_id uuid not null,
  status text not null check (status in ('requested', 'receiving', 'received')),
  reason text not null,
  refund_amount integer check (refund_amount >= 0),
  created_at timestamptz not null default now(),
  received_at timestamptz
);
create index returns_order_idx on returns (order_id);

create table return_items (
  return_id uuid not null references returns (id) on delete cascade,
  order_item_id uuid not null,
  quantity integer not null check (quantity > 0),
  primary key (return_id, order_item_id)
);
