-- Password reset: an emailed, single-use link that expires within an hour (only its hash is kept).
alter table user_tokens drop constraint user_tokens_purpose_check;
alter table user_tokens add constraint user_tokens_purpose_check
  check (purpose in ('verify_email', 'link_oidc', 'reset_password'));
