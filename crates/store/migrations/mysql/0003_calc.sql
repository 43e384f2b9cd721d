-- sockhub 0003 (MySQL / MariaDB): the square calculator's roster and its results. Same tables
-- and columns as the SQLite and PostgreSQL versions; see migrations/sqlite/0003_calc.sql.
-- MEDIUMTEXT for the numbers: a square of a 100 000-digit input (the largest `calc.max_digits`
-- allows) has 200 000 characters, over TEXT's 64 KiB.

CREATE TABLE students (
    student_id    VARCHAR(64)  NOT NULL PRIMARY KEY,
    name          VARCHAR(255) NOT NULL,
    department    VARCHAR(255) NOT NULL,
    email         VARCHAR(255) NULL,
    created_at_ms BIGINT       NOT NULL,
    updated_at_ms BIGINT       NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE calc_results (
    id         BIGINT      NOT NULL AUTO_INCREMENT PRIMARY KEY,
    student_id VARCHAR(64) NOT NULL,
    name       VARCHAR(255) NOT NULL,
    input      MEDIUMTEXT  NOT NULL,
    square     MEDIUMTEXT  NOT NULL,
    at_ms      BIGINT      NOT NULL,
    KEY calc_results_student (student_id, id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
