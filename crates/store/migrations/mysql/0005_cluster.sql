-- sockhub 0005 (MySQL / MariaDB): node leases and name claims for a cluster of nodes.
-- Same tables and columns as the SQLite and PostgreSQL versions; see
-- migrations/sqlite/0005_cluster.sql. utf8mb4_bin: keys are compared exactly (they are already
-- NFC + lowercase), so Hangul names are keys like any other.

CREATE TABLE cluster_nodes (
    node_id       VARCHAR(255) NOT NULL PRIMARY KEY,
    lease         BIGINT       NOT NULL,
    beat          BIGINT       NOT NULL,
    started_at_ms BIGINT       NOT NULL,
    beat_ms       BIGINT       NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE cluster_names (
    service     VARCHAR(64)  NOT NULL,
    name_key    VARCHAR(255) NOT NULL,
    name        VARCHAR(255) NOT NULL,
    node_id     VARCHAR(255) NOT NULL,
    lease       BIGINT       NOT NULL,
    conn        BIGINT       NOT NULL,
    claimed_ms  BIGINT       NOT NULL,
    PRIMARY KEY (service, name_key),
    KEY cluster_names_node (node_id, lease)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
