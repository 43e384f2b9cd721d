-- sockhub 0004 (SQLite): the relay. Records from devices (and from an upstream relay), their
-- per-source counters, operator requests (resend, reconcile), reconcile results, and each
-- node's live status. Conventions as in 0001 (times are BIGINT unix ms, only BIGINT and text).
--
-- Every record is stored once: (source, seq) is unique, and inserts ignore duplicates, so a
-- record re-sent after a crash or a lost acknowledgement is acknowledged again but never stored
-- twice. `id` is the arrival order (plain INTEGER PRIMARY KEY, not AUTOINCREMENT: the relay
-- never deletes its newest row, and AUTOINCREMENT costs an extra write per transaction).

CREATE TABLE relay_records (
    id          INTEGER PRIMARY KEY,
    source      TEXT   NOT NULL,
    seq         BIGINT NOT NULL,
    -- queued (waiting for downstream's ack), forwarded, kept, held, missing, received (a sink).
    state       TEXT   NOT NULL,
    -- The keep rule that matched (kept records).
    rule        TEXT,
    -- Why a record is held or missing.
    reason      TEXT,
    -- The record's own timestamp, and when this node stored it.
    at_ms       BIGINT NOT NULL,
    received_ms BIGINT NOT NULL,
    -- When the record reached its current state (forwarded, held, missing).
    done_ms     BIGINT,
    -- Payload size in UTF-8 bytes (for the disk quota) and the 32-bit content digest that
    -- reconcile sums over ranges (see crates/store/src/relay.rs).
    bytes       BIGINT NOT NULL,
    digest      BIGINT NOT NULL,
    -- How often an operator (or reconcile) re-sent it, and the request that last did.
    resends     BIGINT NOT NULL DEFAULT 0,
    last_request BIGINT,
    payload     TEXT   NOT NULL,
    UNIQUE (source, seq)
);
-- The review states are rare (a partial index costs nothing for the common ones).
CREATE INDEX relay_records_review ON relay_records (state, source, seq)
    WHERE state IN ('kept', 'held', 'missing');

-- One row per source: the counters, kept in the same transactions as the records, so that
-- received = kept + queued + forwarded + held + missing + stored always holds.
CREATE TABLE relay_sources (
    source        TEXT   NOT NULL PRIMARY KEY,
    -- Highest seq stored; records sent without a seq (name&&message) continue after it.
    last_seq      BIGINT NOT NULL DEFAULT 0,
    received      BIGINT NOT NULL DEFAULT 0,
    kept          BIGINT NOT NULL DEFAULT 0,
    queued        BIGINT NOT NULL DEFAULT 0,
    forwarded     BIGINT NOT NULL DEFAULT 0,
    held          BIGINT NOT NULL DEFAULT 0,
    missing       BIGINT NOT NULL DEFAULT 0,
    stored        BIGINT NOT NULL DEFAULT 0,
    -- Payload bytes of records not yet delivered downstream (queued, held, missing).
    pending_bytes BIGINT NOT NULL DEFAULT 0,
    -- No queued record of this source has a lower seq (where the forwarder's scan starts).
    queued_from   BIGINT NOT NULL DEFAULT 0,
    first_ms      BIGINT NOT NULL,
    last_ms       BIGINT NOT NULL
);

-- What operators asked of the running server (resend, reconcile), who asked and when, and what
-- came of it. The server polls for pending rows; the CLI writes them and waits for the result.
CREATE TABLE relay_requests (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    kind         TEXT   NOT NULL,
    requested_by TEXT   NOT NULL,
    requested_ms BIGINT NOT NULL,
    params       TEXT   NOT NULL,
    status       TEXT   NOT NULL,
    done_ms      BIGINT,
    result       TEXT
);
CREATE INDEX relay_requests_status ON relay_requests (status, id);

-- One row per reconcile run.
CREATE TABLE relay_reconciles (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
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

-- Each running node's live state (downstream link, lag, backpressure), refreshed every second,
-- for `sockhub relay status` in another process.
CREATE TABLE relay_nodes (
    node         TEXT   NOT NULL PRIMARY KEY,
    updated_ms   BIGINT NOT NULL,
    status       TEXT   NOT NULL
);
