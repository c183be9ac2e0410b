-- Regions group the countries a shop sells to under one currency and one way of showing tax:
-- in a tax-inclusive region (the EU's shelves) prices contain the tax, which checkout extracts.
create table regions (
  code text primary key,
  name text not null,
  currency char(3) not null,
  tax_inclusive boolean not null default false,
  created_at timestamptz not null default now()
);

-- A country is in one region at most, so a cart's address names its region unambiguously.
create table region_countries (
  country char(2) primary key,
  region_code text not null references regions (code) on delete cascade
);
create index region_countries_region_idx on region_countries (region_code);
