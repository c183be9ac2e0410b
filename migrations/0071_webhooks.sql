-- Webhook endpoints registered by admins, one delivery per (endpoint, event), every attempt kept.
create table webhook_endpoints (
  id uuid primary key,
  url text not null,
  -- The event types the endpoint receives (a JSON array of strings).
  events jsonb not null,
  -- Kept to sign deliveries (HMAC); shown to the admin once, at registration.
  secret text not null,
  created_by uuid,
  created_at timestamptz not null default now()
);

create table webhook_deliveries (
  id uuid primary key,
  endpoint_id uuid not null references webhook_endpoints (id) on delete cascade,
  event_id uuid not null,
  event_type text not null,
  -- The exact body sent and signed, so every retry and replay sends the same bytes.
  payload text not null,
  status text not null default 'pending' check (status in ('pending', 'succeeded', 'dead')),
  -- Attempts in the current round (reset by a replay); the attempt rows keep the whole history.
  attempts integer not null default 0,
  -- When the worker may try next; a worker claiming a delivery pushes it out by its lease.
  next_attempt_at timestamptz not null default now(),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (endpoint_id, event_id)
);
create index webhook_deliveries_due_idx on webhook_deliveries (next_attempt_at) where status = 'pending';
create index webhook_deliveries_endpoint_idx on webhook_deliveries (endpoint_id, created_at desc);

create table webhook_attempts (
  id uuid primary key,
  delivery_id uuid not null references webhook_deliveries (id) on delete cascade,
  attempted_at timestamptz not null default now(),
  succeeded boolean not null,
  status_code integer,
  latency_ms integer not null,
  response_snippet text,
  error text
);
create index webhook_attempts_delivery_idx on webhook_attempts (delivery_id, attempted_at);
