-- Gift cards: a balance a shopper pays with by its code. The code is shown once when issued and
-- only its SHA-256 is kept, so a copy of the database spends nothing.
create table gift_cards (
  id uuid primary key,
  code_hash text not null unique,
  -- The code's last four characters, for staff and shoppers to tell cards apart.
  last4 text not null,
  currency text not null,
  initial_balance bigint not null check (initial_balance > 0),
  -- The sum of the card's entries, kept in step by the statement that writes each: a conditional
  -- update spends it, and the CHECK is the last line of defence of "never below zero".
  balance bigint not null check (balance >= 0),
  expires_at timestamptz,
  note text not null default '',
  created_by uuid not null,
  created_at timestamptz not null default now()
);

-- Every change to a balance, signed. `key` makes each change happen once, however often it is asked.
create table gift_card_entries (
  id uuid primary key,
  gift_card_id uuid not null references gift_cards (id),
  amount bigint not null check (amount <> 0),
  kind text not null check (kind in ('issued', 'redeemed', 'released', 'refunded', 'revoked')),
  order_id uuid,
  key text not null,
  actor_id uuid,
  at timestamptz not null default now(),
  unique (gift_card_id, key)
);
create index gift_card_entries_order_idx on gift_card_entries (order_id) where order_id is not null;

-- What an order took from a card and how much of it has gone back: nothing goes back twice.
create table gift_card_redemptions (
  order_id uuid primary key,
  gift_card_id uuid not null references gift_cards (id),
  amount bigint not null check (amount > 0),
  returned bigint not null default 0 check (returned >= 0),
  constraint gift_card_returned_within_taken check (returned <= amount)
);
