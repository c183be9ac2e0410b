-- Reviews: one per user and product. product_id refers to the catalog by value only (modules
-- own their tables; no cross-module foreign keys).
create table reviews (
  id uuid primary key,
  product_id uuid not null,
  user_id uuid not null,
  rating smallint not null check (rating between 1 and 5),
  title text check (length(title) <= 200),
  body text not null check (length(body) <= 5000),
  created_at timestamptz not null,
  constraint reviews_one_per_user unique (product_id, user_id)
);
create index reviews_product_idx on reviews (product_id, created_at desc, id desc);
