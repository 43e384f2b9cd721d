-- sockhub 0008 (MySQL / MariaDB): bans. Same table and columns as the SQLite version; see
-- migrations/sqlite/0008_bans.sql for what each one holds.

CREATE TABLE bans (
    target_key VARCHAR(255) NOT NULL PRIMARY KEY,
    target     VARCHAR(255) NOT NULL,
    address    VARCHAR(64)  NULL,
    until_ms   BIGINT       NULL,
    reason     TEXT         NULL,
    actor      VARCHAR(255) NOT NULL,
    at_ms      BIGINT       NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
