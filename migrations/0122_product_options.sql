-- Product options (Size: S, M, L; Colour: …) and each variant's value of every option: a product's
-- options are an ordered list of {name, values}; a variant's are {name: value}, one per option.
alter table catalog_products add column options jsonb not null default '[]';
alter table catalog_variants add column options jsonb not null default '{}';
