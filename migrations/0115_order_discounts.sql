-- How the order's discount came about: each promotion, what it took off and from which lines, as
-- the cart showed it at checkout. Kept with the order, since promotions change afterwards.
alter table orders add column discounts jsonb not null default '[]';
