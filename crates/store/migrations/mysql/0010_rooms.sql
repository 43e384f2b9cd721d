-- sockhub 0010 (MySQL / MariaDB): chat rooms. Same columns and tables as the SQLite version; see
-- migrations/sqlite/0010_rooms.sql for what each one is for.

ALTER TABLE chat_messages
    ADD COLUMN room VARCHAR(255) NOT NULL DEFAULT '#lobby',
    ADD COLUMN room_key VARCHAR(255) NOT NULL DEFAULT '#lobby',
    ADD INDEX chat_messages_room (room_key, at_ms);

ALTER TABLE moderation ADD COLUMN room VARCHAR(255) NULL;

ALTER TABLE mutes
    ADD COLUMN room_key VARCHAR(255) NOT NULL DEFAULT '',
    ADD COLUMN room VARCHAR(255) NULL,
    DROP PRIMARY KEY,
    ADD PRIMARY KEY (target_key, room_key);

CREATE TABLE chat_rooms (
    name_key      VARCHAR(255) NOT NULL PRIMARY KEY,
    name          VARCHAR(255) NOT NULL,
    topic         TEXT         NULL,
    topic_by      VARCHAR(255) NULL,
    topic_at_ms   BIGINT       NULL,
    created_by    VARCHAR(255) NOT NULL,
    created_at_ms BIGINT       NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
