-- sockhub 0009 (SQLite): retention. Conventions as in 0001 (times are BIGINT unix ms).
--
-- The server deletes old rows in small batches ([retention] in the configuration). Each kind is
-- found by time through an index, so a batch reads only the rows it deletes:
-- * chat lines and logins by `at_ms` (indexed since 0001);
-- * quiz attempts by `received_at_ms` (indexed here);
-- * relay records that downstream confirmed (`state = 'forwarded'`) by `done_ms`, the time of
--   the confirmation (a partial index: the other states never need it).
--
-- `relay_sources.pruned` counts a source's records removed by retention, so that
-- `received = kept + queued + forwarded + held + missing + stored + pruned` still holds.
-- `relay_sources.pruned_seq` is the highest seq retention removed (-1: none). Reconcile compares
-- only the seqs above the higher of the two nodes' `pruned_seq`: a pruned range is not missing.

CREATE INDEX quiz_attempts_received ON quiz_attempts (received_at_ms);
CREATE INDEX relay_records_confirmed ON relay_records (done_ms) WHERE state = 'forwarded';
ALTER TABLE relay_sources ADD COLUMN pruned BIGINT NOT NULL DEFAULT 0;
ALTER TABLE relay_sources ADD COLUMN pruned_seq BIGINT NOT NULL DEFAULT -1;
