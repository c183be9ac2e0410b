-- PAYMENTS_CAPTURE=on_shipment: each shipment captures its share of the payment.
-- A shipment is written `capturing` with what it captures before the provider is asked, and
-- becomes shipped (capture_state null) once the money is taken; a definitive refusal removes it.
alter table fulfillments add column capture_state text check (capture_state in ('capturing'));
alter table fulfillments add column capture_amount bigint check (capture_amount >= 0);
alter table fulfillments add column capture_final boolean;
create index fulfillments_capturing_idx on fulfillments (created_at) where capture_state = 'capturing';
