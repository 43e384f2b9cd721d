-- sockhub 0002 (PostgreSQL): quiz rounds, final leaderboards, attempts. Same tables and columns
-- as migrations/sqlite/0002_quiz.sql (see there for what each is).

CREATE TABLE quiz_rounds (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token         TEXT   NOT NULL,
    seed          TEXT   NOT NULL,
    duration_secs BIGINT NOT NULL,
    started_at_ms BIGINT NOT NULL,
    ended_at_ms   BIGINT,
    players       BIGINT,
    winner        TEXT,
    winner_sum    BIGINT,
    CONSTRAINT quiz_rounds_token UNIQUE (token)
);

CREATE TABLE quiz_results (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    round_id   BIGINT NOT NULL REFERENCES quiz_rounds (id),
    place       BIGINT NOT NULL,
    player     TEXT   NOT NULL,
    player_key TEXT   NOT NULL,
    total      BIGINT NOT NULL,
    correct    BIGINT NOT NULL,
    attempts   BIGINT NOT NULL
);
CREATE INDEX quiz_results_round ON quiz_results (round_id, place);

CREATE TABLE quiz_attempts (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    round_id       BIGINT NOT NULL,
    player         TEXT   NOT NULL,
    player_key     TEXT   NOT NULL,
    problem_id     BIGINT NOT NULL,
    ask            BIGINT NOT NULL,
    problem        TEXT   NOT NULL,
    expected       BIGINT NOT NULL,
    answer         TEXT,
    verdict        TEXT   NOT NULL,
    sent_at_ms     BIGINT NOT NULL,
    received_at_ms BIGINT NOT NULL,
    elapsed_ms     BIGINT NOT NULL
);
CREATE INDEX quiz_attempts_round ON quiz_attempts (round_id, id);
CREATE INDEX quiz_attempts_player ON quiz_attempts (player_key, round_id);
