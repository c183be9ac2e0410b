-- A product's name and description in another of the shop's languages (STORE_LOCALES); text in
-- the shop's own language stays on the product.
create table catalog_product_translations (
  product_id uuid not null references catalog_products (id),
  locale text not null,
  name text not null,
  description text not null default '',
  updated_at timestamptz not null default now(),
  primary key (product_id, locale)
);
