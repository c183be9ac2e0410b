-- Store credit: a customer's own balance, kept exactly as a gift card's (the same ledger of signed
-- entries, the same conditional update), but held by their account instead of a code.
alter table gift_cards add column customer_id uuid unique;
alter table gift_cards alter column code_hash drop not null;
alter table gift_cards add constraint gift_cards_code_or_customer check ((code_hash is null) <> (customer_id is null));
-- An account opens at nothing and is credited by staff.
alter table gift_cards drop constraint gift_cards_initial_balance_check;
alter table gift_cards add constraint gift_cards_initial_balance_check check (initial_balance >= 0);
alter table gift_card_entries drop constraint gift_card_entries_kind_check;
alter table gift_card_entries add constraint gift_card_entries_kind_check
  check (kind in ('issued', 'redeemed', 'released', 'refunded', 'revoked', 'credited', 'debited'));
alter table gift_card_entries add column reason text not null default '';
