-- An order's timeline shows the webhook deliveries of its events: found by event.
create index webhook_deliveries_event_idx on webhook_deliveries (event_id);
