-- A cart belongs to a shopper: a signed-in user (the shopper id is the user's id) or a guest,
-- whose shopper id is made with the cart and proven by the cart token (only its SHA-256 is kept).
-- A guest's cart expires when unused for GUEST_CART_TTL_HOURS; the worker sweeps it.
alter table carts rename column user_id to shopper_id;
alter table carts add column guest_token_hash text unique;
alter table carts add column expires_at timestamptz;
alter table carts add constraint carts_guest_expires check ((guest_token_hash is null) = (expires_at is null));
create index carts_expiry on carts (expires_at) where expires_at is not null;
