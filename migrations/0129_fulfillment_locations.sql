-- Where each shipped item leaves from: the stock locations its units were sold from (their
-- reservations), as [{"location": code, "quantity": n}]. Shipments made before locations came
-- from the one warehouse there was.
alter table fulfillment_items add column sources jsonb not null default '[]';
update fulfillment_items set sources = jsonb_build_array(jsonb_build_object('location', 'main', 'quantity', quantity));
