-- PAYMENTS_CAPTURE=on_shipment: each shipment captures its share of the payment. A payment that
-- has captured some but not all of its authorization is `partially_captured`.
alter table payments drop constraint payments_status_check;
alter table payments add constraint payments_status_check check (status in (
  'pending', 'requires_action', 'authorized', 'partially_captured', 'declined', 'captured', 'voided',
  'refunded', 'partially_refunded', 'failed'
));
