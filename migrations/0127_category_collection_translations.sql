-- Category and collection names (and a collection's description) in the shop's other languages.
create table catalog_category_translations (
  category_id uuid not null references catalog_categories (id),
  locale text not null,
  name text not null,
  primary key (category_id, locale)
);
create table catalog_collection_translations (
  collection_id uuid not null references catalog_collections (id) on delete cascade,
  locale text not null,
  name text not null,
  description text not null default '',
  primary key (collection_id, locale)
);
