-- An order whose payment waits for the shopper: resumed by the provider's webhook, a confirm
-- call, or recovery polling the provider.
alter table orders add column awaiting_action boolean not null default false;
