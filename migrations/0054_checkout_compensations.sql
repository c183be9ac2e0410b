-- The checkout saga persists which compensation runs next (undo_capture → undo_authorize →
-- undo_checkout) instead of one catch-all 'compensate' step. A saga caught mid-compensation
-- resumes at the void, which is a no-op where nothing was authorized.
alter table orders drop constraint orders_saga_step_check;
update orders set saga_step = 'undo_authorize' where saga_step = 'compensate';
alter table orders add constraint orders_saga_step_check check (
  saga_step in ('authorize', 'capture', 'undo_capture', 'undo_authorize', 'undo_checkout', 'cancel_refund', 'done')
);

-- The payments module owns an order's payment state; ordering reads it from there.
alter table orders drop column payment_status;
