-- Whether the order's amounts contain their tax (priced in a tax-inclusive region): its total is
-- then the sum of its lines and shipping, and the tax a part of them, not added to them.
alter table orders add column tax_inclusive boolean not null default false;
