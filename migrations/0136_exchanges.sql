-- Exchanges: a return whose refund pays for replacement goods first. credit_amount is the part of
-- the refund that goes to the customer's store credit to pay the replacement order (fixed with
-- the refund when receiving begins, so a resumed receipt moves the same amounts); the rest goes
-- back to the card. replacement_order_id is the order that ships the replacements.
alter table returns add column credit_amount integer check (credit_amount >= 0 and credit_amount <= refund_amount);
alter table returns add column replacement_order_id uuid;
