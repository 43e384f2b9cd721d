-- sockhub 0004 (PostgreSQL): the relay. Same tables and columns as the SQLite version; see
-- migrations/sqlite/0004_relay.sql for what each one holds.

CREATE TABLE relay_records (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source       TEXT   NOT NULL,
    seq          BIGINT NOT NULL,
    state        TEXT   NOT NULL,
    rule         TEXT,
    reason       TEXT,
    at_ms        BIGINT NOT NULL,
    received_ms  BIGINT NOT NULL,
    done_ms      BIGINT,
    bytes        BIGINT NOT NULL,
    digest       BIGINT NOT NULL,
    resends      BIGINT NOT NULL DEFAULT 0,
    last_request BIGINT,
    payload      TEXT   NOT NULL,
    CONSTRAINT relay_records_source_seq UNIQUE (source, seq)
);
CREATE INDEX relay_records_review ON relay_records (state, source, seq)
    WHERE state IN ('kept', 'held', 'missing');

CREATE TABLE relay_sources (
    source        TEXT   NOT NULL PRIMARY KEY,
    last_seq      BIGINT NOT NULL DEFAULT 0,
    received      BIGINT NOT NULL DEFAULT 0,
    kept          BIGINT NOT NULL DEFAULT 0,
    queued        BIGINT NOT NULL DEFAULT 0,
    forwarded     BIGINT NOT NULL DEFAULT 0,
    held          BIGINT NOT NULL DEFAULT 0,
    missing       BIGINT NOT NULL DEFAULT 0,
    stored        BIGINT NOT NULL DEFAULT 0,
    pending_bytes BIGINT NOT NULL DEFAULT 0,
    queued_from   BIGINT NOT NULL DEFAULT 0,
    first_ms      BIGINT NOT NULL,
    last_ms       BIGINT NOT NULL
);

CREATE TABLE relay_requests (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind         TEXT   NOT NULL,
    requested_by TEXT   NOT NULL,
    requested_ms BIGINT NOT NULL,
    params       TEXT   NOT NULL,
    status       TEXT   NOT NULL,
    done_ms      BIGINT,
    result       TEXT
);
CREATE INDEX relay_requests_status ON relay_requests (status, id);

CREATE TABLE relay_reconciles (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    cause       TEXT   NOT NULL,
    started_ms  BIGINT NOT NULL,
    finished_ms BIGINT NOT NULL,
    outcome     TEXT   NOT NULL,
    sources     BIGINT NOT NULL,
    missing     BIGINT NOT NULL,
    extra       BIGINT NOT NULL,
    mismatched  BIGINT NOT NULL,
    detail      TEXT   NOT NULL
);

CREATE TABLE relay_nodes (
    node       TEXT   NOT NULL PRIMARY KEY,
    updated_ms BIGINT NOT NULL,
    status     TEXT   NOT NULL
);
