-- Search that forgives typos and finds prefixes: trigram similarity of the query to a product's
-- name (pg_trgm, in PGlite too), next to the full-text match. The GIN index serves `<%`.
create extension if not exists pg_trgm;
create index catalog_products_name_trgm on catalog_products using gin (lower(name) gin_trgm_ops);
