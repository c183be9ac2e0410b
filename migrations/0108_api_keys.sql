-- Keys for integrations: an admin names the scopes; the secret is shown once, only its SHA-256 kept.
-- A revoked key stops working on its next request.
create table api_keys (
  id uuid primary key,
  name text not null check (length(name) between 1 and 100),
  scopes text[] not null,
  secret_hash text not null unique,
  created_by uuid not null references users (id),
  created_at timestamptz not null default now(),
  last_used_at timestamptz,
  revoked_at timestamptz
);
create index api_keys_created on api_keys (created_at desc);
