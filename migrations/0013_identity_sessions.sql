-- Proven email addresses: OpenID Connect links an account only when its address is proven (or the
-- password is), so registering someone's address first captures nothing.
alter table users add column email_verified_at timestamptz;
-- Accounts made by an OpenID provider carry the address the provider verified.
update users set email_verified_at = created_at where id in (select user_id from oidc_identities);

-- Access tokens carry the version they were issued at; logout, a password change and a role change
-- raise it, so every older access token stops working on the next request (not at its expiry).
alter table users add column token_version integer not null default 0 check (token_version >= 0);

-- Single-use tokens given out by email or to a sign-in in progress, stored only as SHA-256. A token
-- is for one purpose and one address: changing the account's email makes its tokens worthless.
create table user_tokens (
  token_hash text primary key,
  purpose text not null check (purpose in ('verify_email', 'link_oidc')),
  user_id uuid not null references users (id) on delete cascade,
  email text not null,
  detail jsonb not null default '{}'::jsonb,
  expires_at timestamptz not null,
  used_at timestamptz,
  created_at timestamptz not null default now()
);
create index user_tokens_user_idx on user_tokens (user_id, purpose);
create index user_tokens_expiry_idx on user_tokens (expires_at);

-- Failed sign-ins per account and client address: each one past the free few doubles the wait
-- before that pair may try again. Keyed by the pair, so an attacker's failures never lock out the
-- account's owner signing in from elsewhere.
create table login_failures (
  email text not null,
  ip text not null,
  failures integer not null check (failures > 0),
  last_failed_at timestamptz not null,
  blocked_until timestamptz not null,
  primary key (email, ip)
);
create index login_failures_age_idx on login_failures (last_failed_at);
