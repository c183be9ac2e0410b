-- Changing the account's address: the link mailed to the new address carries a change_email
-- token; the address changes when it is opened (the new address proven, not merely typed).
alter table user_tokens drop constraint user_tokens_purpose_check;
alter table user_tokens add constraint user_tokens_purpose_check
  check (purpose in ('verify_email', 'link_oidc', 'reset_password', 'change_email'));
