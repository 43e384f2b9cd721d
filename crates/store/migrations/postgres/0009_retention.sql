-- sockhub 0009 (PostgreSQL): retention. Same indexes and columns as the SQLite version; see
-- migrations/sqlite/0009_retention.sql for what each one is for.

CREATE INDEX quiz_attempts_received ON quiz_attempts (received_at_ms);
CREATE INDEX relay_records_confirmed ON relay_records (done_ms) WHERE state = 'forwarded';
ALTER TABLE relay_sources ADD COLUMN pruned BIGINT NOT NULL DEFAULT 0;
ALTER TABLE relay_sources ADD COLUMN pruned_seq BIGINT NOT NULL DEFAULT -1;
