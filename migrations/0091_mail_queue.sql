-- Mail is queued in the consumer's inbox transaction and sent after it commits, so no database
-- connection waits on a mail server. One row per message (to every recipient at once); the id
-- names the message, so a resend overwrites rather than duplicates.
create table mail_queue (
  id text primary key,
  event_id uuid not null,
  kind text not null,
  sender text not null,
  recipients text not null,
  subject text not null,
  text_body text not null,
  html_body text not null,
  status text not null default 'queued' check (status in ('queued', 'sent', 'failed')),
  attempts integer not null default 0,
  next_attempt_at timestamptz not null default now(),
  last_error text,
  created_at timestamptz not null default now(),
  sent_at timestamptz
);
create index mail_queue_due_idx on mail_queue (next_attempt_at) where status = 'queued';
create unique index mail_queue_event_kind_idx on mail_queue (event_id, kind);
