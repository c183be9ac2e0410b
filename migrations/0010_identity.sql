create table users (
  id uuid primary key,
  email text not null unique check (email = lower(btrim(email)) and length(email) between 3 and 320),
  password_hash text,
  name text not null check (length(name) between 1 and 200),
  role text not null default 'customer' check (role in ('customer', 'staff', 'admin')),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

-- Refresh tokens are stored only as SHA-256 hashes. A family is one sign-in's chain of rotations:
-- presenting a spent token revokes the whole family (the thief's copy and the victim's).
create table refresh_tokens (
  id uuid primary key,
  user_id uuid not null references users (id) on delete cascade,
  family_id uuid not null,
  token_hash text not null unique,
  expires_at timestamptz not null,
  used_at timestamptz,
  revoked_at timestamptz,
  created_at timestamptz not null default now()
);
create index refresh_tokens_family_idx on refresh_tokens (family_id);
create index refresh_tokens_user_idx on refresh_tokens (user_id);

-- Ed25519 signing keys; the newest active one signs, every unexpired one verifies (rotation).
create table signing_keys (
  kid text primary key,
  private_jwk jsonb not null,
  public_jwk jsonb not null,
  created_at timestamptz not null default now(),
  retired_at timestamptz
);

create table security_audit (
  id uuid primary key,
  at timestamptz not null default now(),
  event text not null,
  user_id uuid,
  email text,
  ip text,
  user_agent text,
  detail jsonb not null default '{}'::jsonb
);
create index security_audit_user_idx on security_audit (user_id, at);
