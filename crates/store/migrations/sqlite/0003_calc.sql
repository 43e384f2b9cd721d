-- sockhub 0003 (SQLite): the square calculator's roster and its results.
-- Same tables and columns on MySQL and PostgreSQL; conventions as in 0001_accounts_chat.sql
-- (BIGINT and text only, times as unix milliseconds UTC).

-- The roster: one row per student, keyed by the student ID (digits, kept as text so leading
-- zeros survive). Written by `sockhub roster import`, one transaction per import.
CREATE TABLE students (
    student_id    TEXT   NOT NULL PRIMARY KEY,
    name          TEXT   NOT NULL,
    department    TEXT   NOT NULL,
    email         TEXT,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);

-- Every square the calculator acknowledged, committed before the student was told (and before
-- anyone saw it). The name is the student's name when the result was computed, so history and
-- exports read as they did at the time; there is no foreign key to `students`, because with
-- `roster = "open"` students who are not on the roster compute too. The numbers are text: they
-- are exact decimals of up to `calc.max_digits` digits (squares twice that), beyond any numeric
-- column type. `id` gives the order of commits (AUTOINCREMENT: never reused).
CREATE TABLE calc_results (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    student_id TEXT   NOT NULL,
    name       TEXT   NOT NULL,
    input      TEXT   NOT NULL,
    square     TEXT   NOT NULL,
    at_ms      BIGINT NOT NULL
);
CREATE INDEX calc_results_student ON calc_results (student_id, id);
