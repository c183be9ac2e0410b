-- The shop's own details, as staff set them in the console: one row, shown on the storefront.
create table store_settings (
  id smallint primary key default 1 check (id = 1),
  name text not null,
  support_email text,
  -- The shop's address, shown to shoppers (an object: line1, line2?, city, postalCode, country).
  address jsonb,
  updated_by uuid,
  updated_at timestamptz not null default now()
);
insert into store_settings (name) values ('Emporium');
