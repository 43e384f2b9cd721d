-- sockhub 0007 (SQLite): relay hardening. Conventions as in 0001 (times are BIGINT unix ms).
--
-- `relay_sources.conflicts` counts records refused with `seq_conflict`: their (source, seq) was
-- stored already with a different payload (the stored record stays as it is).
--
-- `relay_tokens` holds the device tokens of `[relay] auth = "tokens"`. Only the SHA-256 of a
-- token is stored (lowercase hex): tokens are 256-bit random strings, so a plain hash cannot be
-- reversed by guessing, and a stolen database gives no usable token. A token covers the sources
-- its glob pattern matches; a revoked token stays listed (who had access, until when).

ALTER TABLE relay_sources ADD COLUMN conflicts BIGINT NOT NULL DEFAULT 0;

CREATE TABLE relay_tokens (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash  TEXT   NOT NULL UNIQUE,
    source_glob TEXT   NOT NULL,
    label       TEXT   NOT NULL DEFAULT '',
    created_ms  BIGINT NOT NULL,
    revoked_ms  BIGINT
);
