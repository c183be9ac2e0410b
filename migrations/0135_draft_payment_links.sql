-- Links that let a draft order's customer pay it themselves: each holds the SHA-256 of a token
-- made for one mail or one answer to staff, and works until it expires or the draft is completed.
create table draft_payment_links (
  token_hash text primary key,
  draft_id uuid not null references draft_orders (id),
  expires_at timestamptz not null,
  created_at timestamptz not null default now()
);
create index draft_payment_links_draft on draft_payment_links (draft_id);

-- A draft's order whose payment fails is cancelled and the draft opens again, so a draft may have
-- several orders over time; the draft's own order_id names the one it became.
alter table orders drop constraint orders_draft_order_id_key;
create index orders_draft_order_id on orders (draft_order_id) where draft_order_id is not null;
