-- sockhub 0004 (MySQL / MariaDB): the relay. Same tables and columns as the SQLite version; see
-- migrations/sqlite/0004_relay.sql for what each one holds.
--
-- MySQL has no partial indexes, so the review index covers every state (it costs an index
-- update per forwarded record here, which SQLite and PostgreSQL avoid). Sources and rule names
-- are bounded VARCHARs because they are indexed; the store refuses longer ones.

CREATE TABLE relay_records (
    id           BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    source       VARCHAR(128) NOT NULL,
    seq          BIGINT       NOT NULL,
    state        VARCHAR(16)  NOT NULL,
    rule         VARCHAR(64)  NULL,
    reason       TEXT         NULL,
    at_ms        BIGINT       NOT NULL,
    received_ms  BIGINT       NOT NULL,
    done_ms      BIGINT       NULL,
    bytes        BIGINT       NOT NULL,
    digest       BIGINT       NOT NULL,
    resends      BIGINT       NOT NULL DEFAULT 0,
    last_request BIGINT       NULL,
    payload      MEDIUMTEXT   NOT NULL,
    UNIQUE KEY relay_records_source_seq (source, seq),
    KEY relay_records_review (state, source, seq)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE relay_sources (
    source        VARCHAR(128) NOT NULL PRIMARY KEY,
    last_seq      BIGINT       NOT NULL DEFAULT 0,
    received      BIGINT       NOT NULL DEFAULT 0,
    kept          BIGINT       NOT NULL DEFAULT 0,
    queued        BIGINT       NOT NULL DEFAULT 0,
    forwarded     BIGINT       NOT NULL DEFAULT 0,
    held          BIGINT       NOT NULL DEFAULT 0,
    missing       BIGINT       NOT NULL DEFAULT 0,
    stored        BIGINT       NOT NULL DEFAULT 0,
    pending_bytes BIGINT       NOT NULL DEFAULT 0,
    queued_from   BIGINT       NOT NULL DEFAULT 0,
    first_ms      BIGINT       NOT NULL,
    last_ms       BIGINT       NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE relay_requests (
    id           BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    kind         VARCHAR(16)  NOT NULL,
    requested_by VARCHAR(255) NOT NULL,
    requested_ms BIGINT       NOT NULL,
    params       TEXT         NOT NULL,
    status       VARCHAR(16)  NOT NULL,
    done_ms      BIGINT       NULL,
    result       TEXT         NULL,
    KEY relay_requests_status (status, id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE relay_reconciles (
    id          BIGINT      NOT NULL AUTO_INCREMENT PRIMARY KEY,
    cause       VARCHAR(16) NOT NULL,
    started_ms  BIGINT      NOT NULL,
    finished_ms BIGINT      NOT NULL,
    outcome     VARCHAR(16) NOT NULL,
    sources     BIGINT      NOT NULL,
    missing     BIGINT      NOT NULL,
    extra       BIGINT      NOT NULL,
    mismatched  BIGINT      NOT NULL,
    detail      MEDIUMTEXT  NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE relay_nodes (
    node       VARCHAR(255) NOT NULL PRIMARY KEY,
    updated_ms BIGINT       NOT NULL,
    status     TEXT         NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
