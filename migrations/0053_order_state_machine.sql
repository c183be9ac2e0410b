-- The order's state machine, enforced by the database itself: whatever code runs an UPDATE, an
-- order's status moves only along these edges (ordering/state.ts holds the same list; a test keeps
-- them equal), and an order whose cancellation has begun (the saga is refunding it) cannot ship.
-- Together with conditional updates this makes "shipped and refunded" impossible, not just unlikely.
create table order_status_transitions (
  from_status text not null,
  to_status text not null,
  primary key (from_status, to_status)
);
insert into order_status_transitions (from_status, to_status) values
  ('pending', 'confirmed'),
  ('pending', 'cancelled'),
  ('confirmed', 'cancelled'),
  ('confirmed', 'partially_shipped'),
  ('confirmed', 'shipped'),
  ('partially_shipped', 'shipped');

create function orders_enforce_transition() returns trigger language plpgsql as $$
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
     and (old.status <> 'confirmed' or old.saga_step <> 'done') then
    raise exception 'order % (%, %) cannot begin a cancellation', old.id, old.status, old.saga_step
      using errcode = 'EM001';
  end if;
  return new;
end
$$;

create trigger orders_enforce_transition
  before update of status, saga_step on orders
  for each row execute function orders_enforce_transition();
