-- An order's versions. The order as placed is version 1; each edit before shipment makes the next,
-- recording the lines and totals before and after, the difference in the total, and who made it.
-- An edit that raises the total is paid by a payment of its own (payments.order_id is the edit's
-- id); one that lowers it is refunded to the payments the order was paid with.
alter table orders add column version integer not null default 1 check (version >= 1);

create table order_edits (
  id uuid primary key,
  order_id uuid not null references orders (id),
  version integer not null check (version >= 2),
  idempotency_key text not null,
  -- charging: its payment is being taken, not yet applied; undoing: the payment is being given
  -- back (the edit could not be applied); refunding: applied, its refund not yet confirmed.
  status text not null check (status in ('charging', 'undoing', 'refunding', 'applied', 'failed')),
  before jsonb not null,
  after jsonb not null,
  difference integer not null,
  -- What the edit's own payment took (the difference, when it was charged to a card).
  charged_amount integer not null default 0 check (charged_amount >= 0),
  -- What a lowered total gives back, payment by payment ([{paymentOf, amount}]), planned under the
  -- order's lock so that a retry pays the same refunds.
  refunds jsonb not null default '[]',
  reason text,
  edited_by uuid not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (order_id, idempotency_key)
);
-- One edit per version: two staff editing one order at once cannot both make version n.
create unique index order_edits_one_per_version on order_edits (order_id, version) where status <> 'failed';
create index order_edits_unsettled on order_edits (updated_at) where status in ('charging', 'undoing', 'refunding');
