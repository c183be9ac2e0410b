-- An order's timeline reads the events about it (their subject) in order.
create index outbox_subject_idx on outbox (subject, seq);
