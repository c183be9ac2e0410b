-- Mail the notifications module sent: one row per (event, kind), written in the consumer's inbox
-- transaction, so a redelivered event neither sends nor records twice.
create table notification_log (
  event_id uuid not null,
  kind text not null,
  user_id uuid not null,
  recipient text not null,
  transport text not null,
  sent_at timestamptz not null default now(),
  primary key (event_id, kind)
);
create index notification_log_user_idx on notification_log (user_id, sent_at desc);
