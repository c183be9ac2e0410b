-- Transactional outbox: events are written in the same transaction as the change they describe,
-- then delivered by the relay. `seq` gives the delivery order.
create table outbox (
  seq bigserial primary key,
  id uuid not null unique,
  type text not null,
  source text not null,
  subject text not null,
  time timestamptz not null default now(),
  data jsonb not null,
  attempts integer not null default 0,
  last_error text,
  published_at timestamptz,
  -- Set when an event failed its last allowed attempt: kept for inspection and replay, no longer
  -- holding back later events of its subject.
  dead_lettered_at timestamptz
);
create index outbox_pending_idx on outbox (seq) where published_at is null and dead_lettered_at is null;

-- Consumers record what they processed in their own transaction: a redelivered event is skipped.
create table inbox (
  consumer text not null,
  event_id uuid not null,
  processed_at timestamptz not null default now(),
  primary key (consumer, event_id)
);

-- Leases for singleton background work (the outbox relay): one holder at a time, taken over when
-- the holder stops renewing, so a killed worker's duty moves to another within the lease time.
create table leases (
  name text primary key,
  holder text not null,
  expires_at timestamptz not null
);
