-- Customer groups ("wholesale", "staff discount"): staff put customers in them; price lists and
-- promotions will target them. user_id refers to identity's accounts by value only.
create table customer_groups (
  id uuid primary key,
  name text not null check (length(name) between 1 and 100),
  created_at timestamptz not null default now()
);
create unique index customer_groups_name on customer_groups (lower(name));

create table customer_group_members (
  group_id uuid not null references customer_groups (id) on delete cascade,
  user_id uuid not null,
  added_at timestamptz not null default now(),
  primary key (group_id, user_id)
);
create index customer_group_members_user on customer_group_members (user_id);
