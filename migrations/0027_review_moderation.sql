-- Reviews from buyers only (verified_purchase marks them; reviews written before the rule keep
-- false), and moderation: staff hide a review (it leaves the listings and the product's rating)
-- or show it again. Who hid it and why stays with it.
alter table reviews add column verified_purchase boolean not null default false;
alter table reviews add column hidden_at timestamptz;
alter table reviews add column hidden_by uuid;
alter table reviews add column hidden_reason text check (length(hidden_reason) between 1 and 500);
-- The public listing reads only visible reviews of a product, newest first.
create index reviews_visible_product_idx on reviews (product_id, created_at desc, id desc) where hidden_at is null;
-- The moderation list: every review, newest first.
create index reviews_recent_idx on reviews (created_at desc, id desc);
