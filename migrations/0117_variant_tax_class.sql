-- The tax class a variant is sold under (pricing's tax_classes, referred to by value only).
alter table catalog_variants add column tax_class text not null default 'standard';
