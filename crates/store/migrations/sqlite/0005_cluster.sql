-- sockhub 0005 (SQLite): what several nodes sharing one database agree on — which nodes are
-- alive (a lease each, renewed by a heartbeat counter) and which names are taken where.
-- Same tables and columns on MySQL and PostgreSQL; conventions as in 0001_accounts_chat.sql.
-- (A cluster refuses SQLite; the tables exist here so that one schema serves every backend and
-- the store's tests run everywhere.)

-- One row per live node. `lease` is a random number chosen each time the node registers, so a
-- node that was declared dead and comes back is told apart from its old self; `beat` is bumped
-- by the node every heartbeat. Other nodes judge liveness by watching `beat` change on their
-- own clocks (never by comparing wall clocks across machines); `beat_ms` is for people.
CREATE TABLE cluster_nodes (
    node_id       TEXT   NOT NULL PRIMARY KEY,
    lease         BIGINT NOT NULL,
    beat          BIGINT NOT NULL,
    started_at_ms BIGINT NOT NULL,
    beat_ms       BIGINT NOT NULL
);

-- A name held by a connected user, per service: the primary key is what makes a claim atomic
-- (two nodes inserting the same key at once: exactly one succeeds). `lease` ties the claim to
-- one registration of the node, so expiring a dead node removes exactly its claims.
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
