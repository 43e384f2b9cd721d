-- sockhub 0002 (SQLite): quiz rounds, each round's final leaderboard, and every attempt.
-- Conventions as in 0001 (times are BIGINT unix ms UTC; names stored as given and as `*_key`).

-- One row per round. `token` is a random value the server picks to find the row it just inserted
-- (portable: MySQL has no RETURNING). `seed` is text because an RNG seed is an unsigned 64-bit
-- number, which does not fit every backend's BIGINT. The winner columns are filled at the end.
CREATE TABLE quiz_rounds (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    token         TEXT   NOT NULL UNIQUE,
    seed          TEXT   NOT NULL,
    duration_secs BIGINT NOT NULL,
    started_at_ms BIGINT NOT NULL,
    ended_at_ms   BIGINT,
    players       BIGINT,
    winner        TEXT,
    winner_sum    BIGINT
);

-- The final leaderboard of each round, written once at its end.
CREATE TABLE quiz_results (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    round_id   BIGINT NOT NULL REFERENCES quiz_rounds (id),
    place       BIGINT NOT NULL,
    player     TEXT   NOT NULL,
    player_key TEXT   NOT NULL,
    total      BIGINT NOT NULL,
    correct    BIGINT NOT NULL,
    attempts   BIGINT NOT NULL
);
CREATE INDEX quiz_results_round ON quiz_results (round_id, place);

-- Every answer (and every deadline that passed without one), through the batched writer.
-- `answer` is NULL for a timeout; `expected` is the problem's value, so that an export shows
-- guess-cycling (the same problem answered with a run of different values).
CREATE TABLE quiz_attempts (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
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
