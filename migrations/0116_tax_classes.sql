-- Tax classes: a variant is taxed at its class's rate in the destination country (books and food
-- at a reduced rate in most of Europe, some goods at zero). A class without a rate in a country
-- is taxed at that country's standard rate.
create table tax_classes (
  code text primary key check (code ~ '^[a-z][a-z0-9_-]{0,31}$'),
  name text not null,
  created_at timestamptz not null default now()
);
insert into tax_classes (code, name) values ('standard', 'Standard rate'), ('reduced', 'Reduced rate'), ('zero', 'Zero rate');

alter table tax_rates add column tax_class text not null default 'standard' references tax_classes (code);
alter table tax_rates drop constraint tax_rates_pkey;
alter table tax_rates add primary key (country, tax_class);
