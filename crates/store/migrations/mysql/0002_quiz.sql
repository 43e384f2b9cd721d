-- sockhub 0002 (MySQL / MariaDB): quiz rounds, final leaderboards, attempts. Same tables and
-- columns as migrations/sqlite/0002_quiz.sql (see there for what each is); utf8mb4_bin as in 0001.

CREATE TABLE quiz_rounds (
    id            BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    token         VARCHAR(64)  NOT NULL,
    seed          VARCHAR(32)  NOT NULL,
    duration_secs BIGINT       NOT NULL,
    started_at_ms BIGINT       NOT NULL,
    ended_at_ms   BIGINT       NULL,
    players       BIGINT       NULL,
    winner        VARCHAR(255) NULL,
    winner_sum    BIGINT       NULL,
    UNIQUE KEY quiz_rounds_token (token)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE quiz_results (
    id         BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    round_id   BIGINT       NOT NULL,
    place     BIGINT       NOT NULL,
    player     VARCHAR(255) NOT NULL,
    player_key VARCHAR(255) NOT NULL,
    total      BIGINT       NOT NULL,
    correct    BIGINT       NOT NULL,
    attempts   BIGINT       NOT NULL,
    KEY quiz_results_round (round_id, place),
    CONSTRAINT quiz_results_round_fk FOREIGN KEY (round_id) REFERENCES quiz_rounds (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE quiz_attempts (
    id             BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    round_id       BIGINT       NOT NULL,
    player         VARCHAR(255) NOT NULL,
    player_key     VARCHAR(255) NOT NULL,
    problem_id     BIGINT       NOT NULL,
    ask            BIGINT       NOT NULL,
    problem        VARCHAR(64)  NOT NULL,
    expected       BIGINT       NOT NULL,
    answer         VARCHAR(255) NULL,
    verdict        VARCHAR(16)  NOT NULL,
    sent_at_ms     BIGINT       NOT NULL,
    received_at_ms BIGINT       NOT NULL,
    elapsed_ms     BIGINT       NOT NULL,
    KEY quiz_attempts_round (round_id, id),
    KEY quiz_attempts_player (player_key, round_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
