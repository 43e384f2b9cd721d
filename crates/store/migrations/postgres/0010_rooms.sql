-- sockhub 0010 (PostgreSQL): chat rooms. Same columns and tables as the SQLite version; see
-- migrations/sqlite/0010_rooms.sql for what each one is for.

ALTER TABLE chat_messages ADD COLUMN room TEXT NOT NULL DEFAULT '#lobby';
ALTER TABLE chat_messages ADD COLUMN room_key TEXT NOT NULL DEFAULT '#lobby';
CREATE INDEX chat_messages_room ON chat_messages (room_key, at_ms);

ALTER TABLE moderation ADD COLUMN room TEXT;

ALTER TABLE mutes ADD COLUMN room_key TEXT NOT NULL DEFAULT '';
ALTER TABLE mutes ADD COLUMN room TEXT;
ALTER TABLE mutes DROP CONSTRAINT mutes_pkey;
ALTER TABLE mutes ADD PRIMARY KEY (target_key, room_key);

CREATE TABLE chat_rooms (
    name_key      TEXT   NOT NULL PRIMARY KEY,
    name          TEXT   NOT NULL,
    topic         TEXT,
    topic_by      TEXT,
    topic_at_ms   BIGINT,
    created_by    TEXT   NOT NULL,
    created_at_ms BIGINT NOT NULL
);
