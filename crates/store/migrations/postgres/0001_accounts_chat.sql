-- sockhub 0001 (PostgreSQL): accounts, login log, chat log, moderation log, current mutes, and
-- the batched writer's commit markers. Same tables and columns as the SQLite and MySQL versions;
-- see migrations/sqlite/0001_accounts_chat.sql for the conventions. TEXT is UTF-8 as long as the
-- database was created with ENCODING 'UTF8' (the default on current installations).

CREATE TABLE accounts (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name          TEXT   NOT NULL,
    name_key      TEXT   NOT NULL,
    password_hash TEXT   NOT NULL,
    role          TEXT   NOT NULL DEFAULT 'member',
    student_id    TEXT,
    display_name  TEXT,
    created_at_ms BIGINT NOT NULL,
    CONSTRAINT accounts_name_key UNIQUE (name_key),
    CONSTRAINT accounts_role CHECK (role IN ('member', 'admin'))
);

CREATE TABLE logins (
    id       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name     TEXT   NOT NULL,
    name_key TEXT   NOT NULL,
    peer     TEXT   NOT NULL,
    service  TEXT   NOT NULL,
    outcome  TEXT   NOT NULL,
    at_ms    BIGINT NOT NULL
);
CREATE INDEX logins_at ON logins (at_ms);
CREATE INDEX logins_name_at ON logins (name_key, at_ms);

CREATE TABLE chat_messages (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sender        TEXT   NOT NULL,
    sender_key    TEXT   NOT NULL,
    recipient     TEXT,
    recipient_key TEXT,
    body          TEXT   NOT NULL,
    at_ms         BIGINT NOT NULL
);
CREATE INDEX chat_messages_at ON chat_messages (at_ms);
CREATE INDEX chat_messages_sender ON chat_messages (sender_key, at_ms);
CREATE INDEX chat_messages_recipient ON chat_messages (recipient_key, at_ms);

CREATE TABLE moderation (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    actor      TEXT   NOT NULL,
    actor_key  TEXT   NOT NULL,
    target     TEXT   NOT NULL,
    target_key TEXT   NOT NULL,
    action     TEXT   NOT NULL,
    reason     TEXT,
    until_ms   BIGINT,
    at_ms      BIGINT NOT NULL
);
CREATE INDEX moderation_at ON moderation (at_ms);
CREATE INDEX moderation_target ON moderation (target_key, at_ms);

CREATE TABLE mutes (
    target_key TEXT   NOT NULL PRIMARY KEY,
    target     TEXT   NOT NULL,
    until_ms   BIGINT,
    reason     TEXT,
    actor      TEXT   NOT NULL,
    at_ms      BIGINT NOT NULL
);

CREATE TABLE store_writer_batches (
    writer_id BIGINT NOT NULL,
    seq       BIGINT NOT NULL,
    at_ms     BIGINT NOT NULL,
    PRIMARY KEY (writer_id, seq)
);
