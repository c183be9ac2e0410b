-- Stock in several places. inventory_items keeps each variant's totals, and every change takes its
-- row first: that row is the one lock order every checkout takes, and its CHECKs still prove that
-- nothing is sold beyond the sum of the locations. inventory_levels holds each location's share,
-- with the same CHECKs, so no location goes negative or holds more than it has.
create table stock_locations (
  code text primary key check (code ~ '^[a-z0-9][a-z0-9-]{0,31}$'),
  name text not null check (length(name) between 1 and 100),
  -- Lower comes first: a line is reserved from the location serving the destination, then by this.
  priority integer not null check (priority between 0 and 1000),
  countries text[] not null default '{}',
  created_at timestamptz not null default now()
);
insert into stock_locations (code, name, priority) values ('main', 'Main warehouse', 1);

create table inventory_levels (
  variant_id uuid not null references inventory_items (variant_id),
  location_code text not null references stock_locations (code),
  on_hand integer not null check (on_hand >= 0),
  reserved integer not null default 0 check (reserved >= 0),
  constraint inventory_level_reserved_within_on_hand check (reserved <= on_hand),
  primary key (variant_id, location_code)
);
insert into inventory_levels (variant_id, location_code, on_hand, reserved)
  select variant_id, 'main', on_hand, reserved from inventory_items;

-- A line may be split across locations: one reservation row per location it draws from.
alter table inventory_reservations add column location_code text not null default 'main'
  references stock_locations (code);
alter table inventory_reservations alter column location_code drop default;
alter table inventory_reservations drop constraint inventory_reservations_pkey;
alter table inventory_reservations add primary key (order_id, variant_id, location_code);

alter table inventory_ledger add column location_code text;
update inventory_ledger set location_code = 'main';
alter table inventory_ledger alter column location_code set not null;

-- Time-ordered ids made in SQL, for statements that write a number of rows they only learn as they
-- run (a line split over locations books one ledger row per location): UUIDv7 (RFC 9562), the
-- clock's milliseconds over gen_random_uuid's random bits, its version nibble turned from 4 to 7.
create function uuid_v7() returns uuid language sql volatile as $$
  select encode(
    set_bit(set_bit(
      overlay(uuid_send(gen_random_uuid())
        placing substring(int8send((extract(epoch from clock_timestamp()) * 1000)::bigint) from 3)
        from 1 for 6),
      52, 1), 53, 1),
    'hex')::uuid
$$;
