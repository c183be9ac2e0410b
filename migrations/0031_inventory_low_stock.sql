-- Whether an item's available stock (on hand minus reserved) is at or below its low-stock
-- threshold as last recorded: inventory.low is emitted when this turns true, once per crossing,
-- and a restock above the threshold turns it false again (re-armed).
alter table inventory_items add column low_stock_alerted boolean not null default false;
update inventory_items set low_stock_alerted = (on_hand - reserved <= low_stock_threshold);
