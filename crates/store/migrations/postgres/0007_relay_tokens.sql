-- sockhub 0007 (PostgreSQL): relay hardening. Same tables and columns as the SQLite version;
-- see migrations/sqlite/0007_relay_tokens.sql for what each one holds.

ALTER TABLE relay_sources ADD COLUMN conflicts BIGINT NOT NULL DEFAULT 0;

CREATE TABLE relay_tokens (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_hash  TEXT   NOT NULL UNIQUE,
    source_glob TEXT   NOT NULL,
    label       TEXT   NOT NULL DEFAULT '',
    created_ms  BIGINT NOT NULL,
    revoked_ms  BIGINT
);
