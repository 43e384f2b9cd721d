-- sockhub 0007 (MySQL / MariaDB): relay hardening. Same tables and columns as the SQLite
-- version; see migrations/sqlite/0007_relay_tokens.sql for what each one holds.

ALTER TABLE relay_sources ADD COLUMN conflicts BIGINT NOT NULL DEFAULT 0;

CREATE TABLE relay_tokens (
    id          BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    token_hash  CHAR(64)     NOT NULL,
    source_glob VARCHAR(255) NOT NULL,
    label       VARCHAR(255) NOT NULL DEFAULT '',
    created_ms  BIGINT       NOT NULL,
    revoked_ms  BIGINT       NULL,
    UNIQUE KEY relay_tokens_hash (token_hash)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
