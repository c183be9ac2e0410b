-- A product's images: the original is in object storage under images/<id>/original (renditions
-- beside it); the row holds what a product read shows. Position 0 is the main image.
create table catalog_product_images (
  id uuid primary key,
  product_id uuid not null references catalog_products (id),
  content_type text not null,
  width integer not null check (width > 0),
  height integer not null check (height > 0),
  bytes integer not null check (bytes > 0),
  alt text not null default '',
  position integer not null,
  created_at timestamptz not null default now()
);
create index catalog_product_images_product on catalog_product_images (product_id, position);
