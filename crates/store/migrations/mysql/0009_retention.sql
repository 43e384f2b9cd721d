-- sockhub 0009 (MySQL / MariaDB): retention. Same columns as the SQLite version; see
-- migrations/sqlite/0009_retention.sql for what each one is for. MySQL has no partial indexes,
-- so the confirmed-records index leads with the state.

CREATE INDEX quiz_attempts_received ON quiz_attempts (received_at_ms);
CREATE INDEX relay_records_confirmed ON relay_records (state, done_ms);
ALTER TABLE relay_sources ADD COLUMN pruned BIGINT NOT NULL DEFAULT 0;
ALTER TABLE relay_sources ADD COLUMN pruned_seq BIGINT NOT NULL DEFAULT -1;
