-- A mail can go to several people (a low-stock alert to the shop's staff) and to an address that
-- is no account (STOCK_ALERT_EMAILS): one row per (event, kind, recipient), the user when there is one.
alter table notification_log drop constraint notification_log_pkey;
alter table notification_log add primary key (event_id, kind, recipient);
alter table notification_log alter column user_id drop not null;
