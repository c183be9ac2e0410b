-- An OpenID Connect sign-in in progress: what the callback must check, kept server-side, used once.
-- The state is stored only as a SHA-256 hash; the PKCE verifier must be sent to the provider as is.
-- browser_binding_hash ties the attempt to the browser that started it (a cookie), so a callback
-- URL from someone else's attempt cannot sign this browser in to their account (login CSRF).
create table oidc_login_requests (
  state_hash text primary key,
  browser_binding_hash text not null,
  provider text not null,
  code_verifier text not null,
  nonce text not null,
  expires_at timestamptz not null,
  created_at timestamptz not null default now()
);
create index oidc_login_requests_expiry_idx on oidc_login_requests (expires_at);

-- A provider's account (issuer-scoped subject) linked to one of ours.
create table oidc_identities (
  provider text not null,
  subject text not null,
  user_id uuid not null references users (id) on delete cascade,
  email text,
  created_at timestamptz not null default now(),
  primary key (provider, subject)
);
create index oidc_identities_user_idx on oidc_identities (user_id);
