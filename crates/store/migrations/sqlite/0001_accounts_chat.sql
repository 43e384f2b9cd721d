-- sockhub 0001 (SQLite): accounts, login log, chat log, moderation log, current mutes, and the
-- batched writer's commit markers.
--
-- Conventions shared by all three backends (see crates/store/src/lib.rs):
-- * every time is BIGINT unix milliseconds UTC (`*_ms`), the one representation that is exact
--   and identical on SQLite, MySQL and PostgreSQL;
-- * every name is stored twice: as given (NFC) for display, and as `*_key` (NFC + lowercase) for
--   case-insensitive uniqueness and lookups, so no backend's collation rules are involved;
-- * log tables use AUTOINCREMENT so ids never go backwards and `ORDER BY at_ms, id` is the
--   order in which the writer inserted the rows;
-- * kinds written only by the Rust enums (outcome, action) carry no CHECK, so that later
--   migrations can add kinds without rebuilding the table (SQLite cannot alter a CHECK).

CREATE TABLE accounts (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT    NOT NULL,
    name_key      TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    role          TEXT    NOT NULL DEFAULT 'member' CHECK (role IN ('member', 'admin')),
    student_id    TEXT,
    display_name  TEXT,
    created_at_ms BIGINT  NOT NULL
);

CREATE TABLE logins (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
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
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    sender        TEXT   NOT NULL,
    sender_key    TEXT   NOT NULL,
    -- NULL for a public line, the target's name for a whisper.
    recipient     TEXT,
    recipient_key TEXT,
    body          TEXT   NOT NULL,
    at_ms         BIGINT NOT NULL
);
CREATE INDEX chat_messages_at ON chat_messages (at_ms);
CREATE INDEX chat_messages_sender ON chat_messages (sender_key, at_ms);
CREATE INDEX chat_messages_recipient ON chat_messages (recipient_key, at_ms);

CREATE TABLE moderation (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    actor      TEXT   NOT NULL,
    actor_key  TEXT   NOT NULL,
    target     TEXT   NOT NULL,
    target_key TEXT   NOT NULL,
    action     TEXT   NOT NULL,
    reason     TEXT,
    -- For a mute: when it ends (NULL = until lifted).
    until_ms   BIGINT,
    at_ms      BIGINT NOT NULL
);
CREATE INDEX moderation_at ON moderation (at_ms);
CREATE INDEX moderation_target ON moderation (target_key, at_ms);

-- Current mute state, one row per muted name; written synchronously (not through the writer)
-- so that a mute survives a restart the moment the admin has been told it took effect.
CREATE TABLE mutes (
    target_key TEXT   NOT NULL PRIMARY KEY,
    target     TEXT   NOT NULL,
    until_ms   BIGINT,
    reason     TEXT,
    actor      TEXT   NOT NULL,
    at_ms      BIGINT NOT NULL
);

-- One row per batch the writer committed, inserted in the batch's own transaction: when a
-- COMMIT's outcome is unknown (connection lost while waiting for the reply), the writer looks
-- its marker up before retrying, so a batch is never written twice. Confirmed markers are
-- deleted by the writer's next batch; markers of writers that died are swept after a day.
CREATE TABLE store_writer_batches (
    writer_id BIGINT NOT NULL,
    seq       BIGINT NOT NULL,
    at_ms     BIGINT NOT NULL,
    PRIMARY KEY (writer_id, seq)
);
