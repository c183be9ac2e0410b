-- Roles become named sets of permissions. The built-in ones (customer, staff, admin) are rows so
-- that every account's role is one that exists; their permissions are defined in code, not here,
-- so that a permission added later reaches admins without a migration.
create table roles (
  name text primary key check (name ~ '^[a-z][a-z0-9-]{1,31}$'),
  description text not null default '' check (length(description) <= 200),
  permissions text[] not null default '{}',
  built_in boolean not null default false,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
insert into roles (name, description, built_in) values
  ('customer', 'Shops for themselves', true),
  ('staff', 'Runs the shop: catalog, orders, stock, customers and prices', true),
  ('admin', 'Everything, including staff, roles, API keys and webhooks', true);

alter table users drop constraint users_role_check;
-- A role with members cannot be deleted: the database refuses it, whatever the code does.
alter table users add constraint users_role_fkey foreign key (role) references roles (name);

-- An invitation to join the staff: the link mailed to the address carries a token whose SHA-256
-- is kept here, replaced by each new mail (a resend spends the older link).
create table staff_invites (
  id uuid primary key,
  email text not null,
  role text not null references roles (name),
  invited_by uuid not null references users (id),
  token_hash text unique,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  accepted_at timestamptz,
  revoked_at timestamptz
);
create index staff_invites_pending on staff_invites (created_at desc)
  where accepted_at is null and revoked_at is null;
