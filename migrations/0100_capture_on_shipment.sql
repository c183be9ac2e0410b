-- PAYMENTS_CAPTURE=on_shipment: each shipment captures its share of the payment. A payment that
-- has captured some but not all of its authorization is `partially_captured`.
alter table payments drop constraint payments_status_check;
alter table payments add constraint payments_status_check check (status in (
  'pending', 'requires_action', 'authorized', 'partially_captured', 'declined', 'captured', 'voided',
  'refunded', 'partially_refunded', 'failed'
));

-- A shipment is written `capturing` with what it captures before the provider is asked, and
-- becomes shipped (capture_state null) once the money is taken; a definitive refusal removes it.
alter table fulfillments add column capture_state text check (capture_state in ('capturing'));
alter table fulfillments add column capture_amount bigint check (capture_amount >= 0);
alter table fulfillments add column capture_final boolean;
create index fulfillments_capturing_idx on fulfillments (created_at) where capture_state = 'capturing';

-- The shipment whose capture is in flight holds its order: no second shipment and no cancellation
-- begins until it is shipped or given up, so a capture and a void never race.
alter table orders add column charging_fulfillment_id uuid;

create or replace function orders_enforce_transition() returns trigger language plpgsql as $$
begin
  if new.status is distinct from old.status then
    if not exists (
      select 1 from order_status_transitions
      where from_status = old.status and to_status = new.status
    ) then
      raise exception 'order % cannot go from % to %', old.id, old.status, new.status
        using errcode = 'EM001';
    end if;
    if new.status in ('partially_shipped', 'shipped') and old.saga_step = 'cancel_refund' then
      raise exception 'order % is being cancelled and cannot ship', old.id using errcode = 'EM001';
    end if;
  end if;
  -- A cancellation begins only for a confirmed order that nothing else is moving.
  if new.saga_step = 'cancel_refund' and old.saga_step is distinct from 'cancel_refund'
     and (old.status <> 'confirmed' or old.saga_step <> 'done' or old.charging_fulfillment_id is not null) then
    raise exception 'order % (%, %) cannot begin a cancellation', old.id, old.status, old.saga_step
      using errcode = 'EM001';
  end if;
  return new;
end
$$;
