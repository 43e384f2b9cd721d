-- sockhub 0001 (MySQL / MariaDB): accounts, login log, chat log, moderation log, current mutes,
-- and the batched writer's commit markers. Same tables and columns as the SQLite and PostgreSQL
-- versions; see migrations/sqlite/0001_accounts_chat.sql for the conventions.
--
-- MySQL specifics:
-- * utf8mb4 everywhere (MySQL's `utf8` is a 3-byte subset that cannot store every character);
-- * utf8mb4_bin collation, so comparisons are exact bytes like on the other two backends
--   (case-insensitivity is done by the `*_key` columns, not by a collation);
-- * bounded VARCHARs where an index needs them; the store clips or rejects longer values in
--   Rust (crates/store/src/model.rs, `limits`) so all three backends behave alike;
-- * no TINYINT/BOOLEAN and no DECIMAL results: sqlx's Any driver does not map them.

CREATE TABLE accounts (
    id            BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name          VARCHAR(255) NOT NULL,
    name_key      VARCHAR(255) NOT NULL,
    password_hash VARCHAR(255) NOT NULL,
    role          VARCHAR(16)  NOT NULL DEFAULT 'member',
    student_id    VARCHAR(64)  NULL,
    display_name  VARCHAR(255) NULL,
    created_at_ms BIGINT       NOT NULL,
    UNIQUE KEY accounts_name_key (name_key),
    CONSTRAINT accounts_role CHECK (role IN ('member', 'admin'))
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE logins (
    id       BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name     VARCHAR(255) NOT NULL,
    name_key VARCHAR(255) NOT NULL,
    peer     VARCHAR(255) NOT NULL,
    service  VARCHAR(64)  NOT NULL,
    outcome  VARCHAR(16)  NOT NULL,
    at_ms    BIGINT       NOT NULL,
    KEY logins_at (at_ms),
    KEY logins_name_at (name_key, at_ms)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE chat_messages (
    id            BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    sender        VARCHAR(255) NOT NULL,
    sender_key    VARCHAR(255) NOT NULL,
    recipient     VARCHAR(255) NULL,
    recipient_key VARCHAR(255) NULL,
    body          MEDIUMTEXT   NOT NULL,
    at_ms         BIGINT       NOT NULL,
    KEY chat_messages_at (at_ms),
    KEY chat_messages_sender (sender_key, at_ms),
    KEY chat_messages_recipient (recipient_key, at_ms)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE moderation (
    id         BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    actor      VARCHAR(255) NOT NULL,
    actor_key  VARCHAR(255) NOT NULL,
    target     VARCHAR(255) NOT NULL,
    target_key VARCHAR(255) NOT NULL,
    action     VARCHAR(16)  NOT NULL,
    reason     TEXT         NULL,
    until_ms   BIGINT       NULL,
    at_ms      BIGINT       NOT NULL,
    KEY moderation_at (at_ms),
    KEY moderation_target (target_key, at_ms)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE mutes (
    target_key VARCHAR(255) NOT NULL PRIMARY KEY,
    target     VARCHAR(255) NOT NULL,
    until_ms   BIGINT       NULL,
    reason     TEXT         NULL,
    actor      VARCHAR(255) NOT NULL,
    at_ms      BIGINT       NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE store_writer_batches (
    writer_id BIGINT NOT NULL,
    seq       BIGINT NOT NULL,
    at_ms     BIGINT NOT NULL,
    PRIMARY KEY (writer_id, seq)
) ENGINE = InnoDB;
