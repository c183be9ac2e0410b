-- A guest's order: user_id holds the guest's shopper id (their cart's; no account has it) until a
-- user verifies the same address, when the order becomes theirs once (guest_claimed_at).
-- guest_email is where its mail goes.
alter table orders add column guest_email text;
alter table orders add column guest_claimed_at timestamptz;
create index orders_guest_email on orders (guest_email) where guest_email is not null;

-- Tokens that open one order without an account (its checkout's answer, each confirmation mail's
-- link): only their SHA-256 is kept.
create table order_tokens (
  token_hash text primary key,
  order_id uuid not null references orders (id) on delete cascade,
  created_at timestamptz not null default now()
);
create index order_tokens_order on order_tokens (order_id);
