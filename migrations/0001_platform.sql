-- Settings the platform keeps across restarts (generated signing keys, first-start markers).
create table app_settings (
  key text primary key,
  value jsonb not null,
  updated_at timestamptz not null default now()
);
