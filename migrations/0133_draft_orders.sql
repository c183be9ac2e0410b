-- Draft orders: staff build an order for a customer (or an email address), priced live by the
-- same totals function as a cart, and complete it into a real order, once.
create table draft_orders (
  id uuid primary key,
  customer_id uuid,
  email text,
  -- [{"id": line id, "variantId": …, "quantity": n}]
  items jsonb not null,
  shipping_address jsonb not null,
  status text not null default 'open' check (status in ('open', 'completed')),
  order_id uuid unique,
  created_by uuid not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint draft_orders_for_someone check ((customer_id is null) <> (email is null)),
  constraint draft_orders_completed_into_order check ((status = 'completed') = (order_id is not null))
);
create index draft_orders_open_idx on draft_orders (created_at) where status = 'open';

-- An order placed from a draft has no cart to take or give back; one paid outside the shop (a
-- bank transfer, cash) has no provider payment, and its refunds are paid back the same way.
alter table orders add column draft_order_id uuid unique;
alter table orders add column paid_offline boolean not null default false;
