-- sockhub 0010 (SQLite): chat rooms. Conventions as in 0001 (times are BIGINT unix ms; `_key`
-- columns hold the case-folded form a name is looked up by).
--
-- * `chat_messages.room`: the room a public line was said in (whispers: the sender's room at
--   the time, for context only; they are not shown by room). Lines written before rooms existed
--   were all in the one room, `#lobby`. `room_key` is what `logs chat --room` and the history on
--   join look up, through an index by room and time.
-- * `mutes`: a mute is server-wide (`room_key = ''`, `room` NULL) or in one room; the primary key
--   becomes (target, room), so a user may have a server-wide mute and mutes in several rooms.
--   SQLite cannot change a primary key in place, so the table is rebuilt.
-- * `moderation.room`: the room a kick, mute, unmute or topic change was about (NULL: the whole
--   server).
-- * `chat_rooms`: persistent rooms (configured, or created by an admin) and their topics.

ALTER TABLE chat_messages ADD COLUMN room TEXT NOT NULL DEFAULT '#lobby';
ALTER TABLE chat_messages ADD COLUMN room_key TEXT NOT NULL DEFAULT '#lobby';
CREATE INDEX chat_messages_room ON chat_messages (room_key, at_ms);

ALTER TABLE moderation ADD COLUMN room TEXT;

CREATE TABLE mutes_by_room (
    target_key TEXT   NOT NULL,
    room_key   TEXT   NOT NULL DEFAULT '',
    room       TEXT,
    target     TEXT   NOT NULL,
    until_ms   BIGINT,
    reason     TEXT,
    actor      TEXT   NOT NULL,
    at_ms      BIGINT NOT NULL,
    PRIMARY KEY (target_key, room_key)
);
INSERT INTO mutes_by_room (target_key, room_key, room, target, until_ms, reason, actor, at_ms)
    SELECT target_key, '', NULL, target, until_ms, reason, actor, at_ms FROM mutes;
DROP TABLE mutes;
ALTER TABLE mutes_by_room RENAME TO mutes;

CREATE TABLE chat_rooms (
    name_key      TEXT   NOT NULL PRIMARY KEY,
    name          TEXT   NOT NULL,
    topic         TEXT,
    topic_by      TEXT,
    topic_at_ms   BIGINT,
    created_by    TEXT   NOT NULL,
    created_at_ms BIGINT NOT NULL
);
