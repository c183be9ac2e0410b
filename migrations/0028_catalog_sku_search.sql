-- Product search also finds a product by one of its SKUs, in any case: staff type what is on the label.
create index catalog_variants_sku_lower_idx on catalog_variants (lower(sku)) where archived_at is null;
