-- Refunds are reserved before the provider is asked: refunding_amount is money promised back by a
-- refund still in flight. The CHECK is the invariant itself: whatever the concurrency, refunds
-- done and in flight never exceed what was captured.
alter table payments add column refunding_amount bigint not null default 0 check (refunding_amount >= 0);
alter table payments add constraint payments_refunds_within_capture
  check (refunded_amount + refunding_amount <= captured_amount);

-- A refund operation is written `pending` when reserved, `done` when the provider confirmed it and
-- `failed` when the provider refused it (the reservation given back). Others are written `done`.
alter table payment_operations add column state text not null default 'done'
  check (state in ('pending', 'done', 'failed'));
