-- A payment can wait for the shopper (3-D Secure): `requires_action`, with what they must do.
alter table payments drop constraint payments_status_check;
alter table payments add constraint payments_status_check check (status in (
  'pending', 'requires_action', 'authorized', 'declined', 'captured', 'voided', 'refunded',
  'partially_refunded', 'failed'
));
alter table payments add column action jsonb;

-- Every provider webhook event applied, by the provider's event id: an event applies once,
-- however often the provider sends it.
create table payment_webhook_events (
  provider text not null,
  event_id text not null,
  type text not null,
  received_at timestamptz not null default now(),
  primary key (provider, event_id)
);
