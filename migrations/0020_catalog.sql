-- Catalog: categories as a tree, products, their variants and the links between products and
-- categories. Stock is not here: the inventory module owns it per variant id.
create table catalog_categories (
  id uuid primary key,
  slug text not null unique check (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' and length(slug) <= 80),
  name text not null check (length(name) between 1 and 200),
  parent_id uuid references catalog_categories (id),
  created_at timestamptz not null default now(),
  constraint catalog_categories_not_own_parent check (parent_id <> id)
);
create index catalog_categories_parent_idx on catalog_categories (parent_id);

-- `price_amount` is the lowest live variant price (in the store currency) and the rating columns
-- summarise the reviews: both are deliberate denormalisations, kept in the same transaction as
-- the rows they summarise, so listings can filter, sort and paginate on an index.
-- `name` sorts in the C collation: byte order, identical on every server, which keyset cursors need.
create table catalog_products (
  id uuid primary key,
  slug text not null unique,
  name text collate "C" not null check (length(name) between 1 and 200),
  description text not null default '',
  price_amount bigint not null check (price_amount >= 0),
  rating_count integer not null default 0 check (rating_count >= 0),
  rating_sum integer not null default 0 check (rating_sum >= 0),
  rating_average numeric(3, 2) generated always as (
    case when rating_count = 0 then 0 else round(rating_sum::numeric / rating_count, 2) end
  ) stored,
  search tsvector generated always as (
    setweight(to_tsvector('english', name), 'A') || setweight(to_tsvector('english', description), 'B')
  ) stored,
  version integer not null default 1,
  created_at timestamptz not null,
  updated_at timestamptz not null,
  archived_at timestamptz
);
create index catalog_products_search_idx on catalog_products using gin (search);
-- Listing indexes: only live products are listed, each sort key with the id as tie-breaker.
create index catalog_products_created_idx on catalog_products (created_at, id) where archived_at is null;
create index catalog_products_price_idx on catalog_products (price_amount, id) where archived_at is null;
create index catalog_products_name_idx on catalog_products (name, id) where archived_at is null;
create index catalog_products_rating_idx on catalog_products (rating_average, id) where archived_at is null;

-- A variant removed from a product is archived, not deleted: carts and past orders refer to it.
create table catalog_variants (
  id uuid primary key,
  product_id uuid not null references catalog_products (id),
  sku text not null unique check (sku ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'),
  price_amount bigint not null check (price_amount >= 0),
  currency text not null check (currency ~ '^[A-Z]{3}$'),
  attributes jsonb not null default '{}' check (jsonb_typeof(attributes) = 'object'),
  position integer not null,
  archived_at timestamptz
);
create index catalog_variants_product_idx on catalog_variants (product_id, position);

create table catalog_product_categories (
  product_id uuid not null references catalog_products (id),
  category_id uuid not null references catalog_categories (id),
  primary key (product_id, category_id)
);
create index catalog_product_categories_category_idx on catalog_product_categories (category_id, product_id);
