-- Idempotency keys, scoped per user. A key is claimed by one atomic insert; the finished response
-- is stored and replayed for the same request, refused for a different one.
create table idempotency_keys (
  scope text not null,
  key text not null check (length(key) between 1 and 255),
  request_hash text not null,
  status text not null check (status in ('in_progress', 'completed')),
  response_status integer,
  response_body jsonb,
  locked_until timestamptz not null,
  created_at timestamptz not null default now(),
  primary key (scope, key)
);
create index idempotency_keys_created_idx on idempotency_keys (created_at);
