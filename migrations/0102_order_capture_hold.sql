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
