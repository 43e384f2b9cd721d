-- sockhub 0006: the confusable skeleton of each account name (UTS #39; see
-- crates/store/src/model.rs, name_skeleton). Look-alike names (`teacher` and `tеacher` with a
-- Cyrillic е) have the same skeleton: a login under a look-alike finds the account, and a new
-- account may not look like an existing one. Filled in by the store when it opens (the mapping
-- lives in Rust, not SQL); not UNIQUE, because databases from before this migration may already
-- hold two look-alike accounts, which must keep working.

ALTER TABLE accounts ADD COLUMN name_skeleton TEXT;
CREATE INDEX accounts_name_skeleton ON accounts (name_skeleton);
