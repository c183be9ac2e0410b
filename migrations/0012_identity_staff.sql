-- The shop's staff and admins (who get operational mail such as low-stock alerts) without
-- scanning every customer.
create index users_staff_idx on users (created_at) where role <> 'customer';
