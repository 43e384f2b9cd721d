-- sockhub 0005 (PostgreSQL): node leases and name claims for a cluster of nodes.
-- Same tables and columns as the SQLite and MySQL versions; see migrations/sqlite/0005_cluster.sql.

CREATE TABLE cluster_nodes (
    node_id       TEXT   NOT NULL PRIMARY KEY,
    lease         BIGINT NOT NULL,
    beat          BIGINT NOT NULL,
    started_at_ms BIGINT NOT NULL,
    beat_ms       BIGINT NOT NULL
);

CREATE TABLE cluster_names (
    service     TEXT   NOT NULL,
    name_key    TEXT   NOT NULL,
    name        TEXT   NOT NULL,
    node_id     TEXT   NOT NULL,
    lease       BIGINT NOT NULL,
    conn        BIGINT NOT NULL,
    claimed_ms  BIGINT NOT NULL,
    PRIMARY KEY (service, name_key)
);
CREATE INDEX cluster_names_node ON cluster_names (node_id, lease);
