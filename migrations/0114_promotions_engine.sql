-- The promotions engine: automatic promotions (no code), targets, buy X get Y, an order of
-- application and stacking, and a campaign budget. A campaign's discount so far is counted on the
-- row, like its uses, so the budget is checked and taken in one conditional update.
alter table promotions alter column code drop not null;
alter table promotions drop constraint promotions_kind_check;
alter table promotions add constraint promotions_kind_check
  check (kind in ('percentage', 'fixed', 'free_shipping', 'buy_x_get_y'));
alter table promotions add column name text;
alter table promotions add column automatic boolean not null default false;
alter table promotions add column target jsonb;
alter table promotions add column buy_quantity integer check (buy_quantity > 0);
alter table promotions add column get_quantity integer check (get_quantity > 0);
alter table promotions add column priority integer not null default 0;
alter table promotions add column stackable boolean not null default true;
alter table promotions add column budget integer check (budget > 0);
alter table promotions add column discount_given integer not null default 0 check (discount_given >= 0);
alter table promotions add constraint promotions_code_or_automatic check (automatic or code is not null);
alter table promotions add constraint promotions_within_budget check (budget is null or discount_given <= budget);
alter table promotions add constraint promotions_budget_currency check (budget is null or currency is not null);
alter table promotions add constraint promotions_buy_x_get_y check (
  kind <> 'buy_x_get_y' or (buy_quantity is not null and get_quantity is not null and value between 1 and 100));
-- Automatic promotions are read on every cart view: the active ones, by priority.
create index promotions_automatic_idx on promotions (priority desc, id) where automatic and active;

-- What each redemption took off, so a release gives exactly that back to the budget.
alter table promotion_redemptions add column amount integer not null default 0 check (amount >= 0);
