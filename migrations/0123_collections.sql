-- Collections: a manual list of products in order, or rules a product matches (a category and its
-- subcategories, a price range), never both.
create table catalog_collections (
  id uuid primary key,
  slug text not null unique,
  name text not null,
  description text not null default '',
  rule_category text,
  rule_min_price bigint check (rule_min_price >= 0),
  rule_max_price bigint check (rule_max_price >= 0),
  created_at timestamptz not null default now()
);
create table catalog_collection_products (
  collection_id uuid not null references catalog_collections (id) on delete cascade,
  product_id uuid not null references catalog_products (id),
  position integer not null,
  primary key (collection_id, product_id)
);
create index catalog_collection_products_product on catalog_collection_products (product_id);
