-- sockhub 0008 (PostgreSQL): bans. Same table and columns as the SQLite version; see
-- migrations/sqlite/0008_bans.sql for what each one holds.

CREATE TABLE bans (
    target_key TEXT   NOT NULL PRIMARY KEY,
    target     TEXT   NOT NULL,
    address    TEXT,
    until_ms   BIGINT,
    reason     TEXT,
    actor      TEXT   NOT NULL,
    at_ms      BIGINT NOT NULL
);
