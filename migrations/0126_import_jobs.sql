-- A CSV import run in the background: its progress (products done of the file's total) and, once
-- finished, its report. An import that stops being updated was interrupted (its process ended).
create table catalog_import_jobs (
  id uuid primary key,
  status text not null check (status in ('running', 'done', 'failed')),
  dry_run boolean not null,
  done integer not null default 0,
  total integer not null default 0,
  report jsonb,
  error text,
  created_by uuid,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
