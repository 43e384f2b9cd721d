-- sockhub 0003 (PostgreSQL): the square calculator's roster and its results. Same tables and
-- columns as the SQLite and MySQL versions; see migrations/sqlite/0003_calc.sql.

CREATE TABLE students (
    student_id    TEXT   NOT NULL PRIMARY KEY,
    name          TEXT   NOT NULL,
    department    TEXT   NOT NULL,
    email         TEXT,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);

CREATE TABLE calc_results (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    student_id TEXT   NOT NULL,
    name       TEXT   NOT NULL,
    input      TEXT   NOT NULL,
    square     TEXT   NOT NULL,
    at_ms      BIGINT NOT NULL
);
CREATE INDEX calc_results_student ON calc_results (student_id, id);
