-- An erased account (GDPR, the owner asked): its personal fields are overwritten, its row kept so
-- that what points at it (orders kept for accounting, anonymous reviews) still resolves.
alter table users add column erased_at timestamptz;
