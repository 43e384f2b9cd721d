//! What the nodes of a cluster agree on through the shared database: node leases and name claims.
//!
//! **Leases.** A node registers with a random `lease` number and bumps its row's `beat` counter
//! every heartbeat. Another node decides that a node is dead when it has watched that counter
//! stand still for the timeout *on its own clock* — nothing compares wall clocks across machines.
//! [`ClusterStore::expire_node`] then removes the node's row and its claims in one transaction, and only
//! if the row is still exactly what was watched (same lease, same beat): a node that beat at the
//! last moment is not expired.
//!
//! **Claims.** A name is taken cluster-wide by inserting `(service, name_key)`, the primary key:
//! when two nodes insert the same key at once, the database lets exactly one succeed, whatever
//! the backend. A claim carries the node's lease, so a node that lost its lease (declared dead
//! while cut off) and registers again can tell its own stale claims (same node, other lease:
//! adopted) from other people's (taken).

use sqlx::Row;

use crate::error::StoreError;
use crate::model::{clip, column_skeleton, display_name_form, limits, to_ms};
use crate::store::Backend;

/// A node's row, as another node sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeLease {
    pub node_id: String,
    pub lease: i64,
    pub beat: i64,
    /// The node's own clock at its last beat (unix ms), for people; liveness never uses it.
    pub beat_ms: i64,
}

/// A name to claim for a connection.
#[derive(Debug, Clone)]
pub struct NameClaim<'a> {
    /// `chat`, `quiz`: names are unique per service.
    pub service: &'a str,
    pub name: &'a str,
    pub node_id: &'a str,
    pub lease: i64,
    pub conn: i64,
}

/// The outcome of [`ClusterStore::claim_name`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claimed {
    /// The name is ours now.
    Won,
    /// Someone holds it, on this node (under the current lease) or another.
    Taken { node_id: String },
}

/// A claim held by a node, as listed by [`ClusterStore::node_claims`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldName {
    pub service: String,
    pub name_key: String,
    pub conn: i64,
}

query_group! {
    /// The cluster's queries, borrowed from a [`Store`](crate::Store) ([`Store::cluster`](crate::Store::cluster)).
    pub struct ClusterStore;
    /// What the nodes of a cluster share: node leases and cluster-wide name claims.
    fn cluster;
}

impl ClusterStore<'_> {
    /// Register `node_id` under a new `lease` (replacing any earlier registration of that id:
    /// the claims of the earlier lease stay until adopted or expired).
    pub async fn register_node(self, node_id: &str, lease: i64, now_ms: i64) -> Result<(), StoreError> {
        let node_id = clip(node_id, limits::NAME_MAX_CHARS).into_owned();
        let sql = match self.backend() {
            Backend::MySql => {
                "INSERT INTO cluster_nodes (node_id, lease, beat, started_at_ms, beat_ms) \
                 VALUES ($1, $2, 0, $3, $4) ON DUPLICATE KEY UPDATE lease = VALUES(lease), beat = 0, \
                 started_at_ms = VALUES(started_at_ms), beat_ms = VALUES(beat_ms)"
            }
            Backend::Sqlite | Backend::Postgres => {
                "INSERT INTO cluster_nodes (node_id, lease, beat, started_at_ms, beat_ms) \
                 VALUES ($1, $2, 0, $3, $4) ON CONFLICT (node_id) DO UPDATE SET lease = excluded.lease, \
                 beat = 0, started_at_ms = excluded.started_at_ms, beat_ms = excluded.beat_ms"
            }
        };
        self.query(sql).bind(node_id).bind(lease).bind(now_ms).bind(now_ms).execute(self.pool()).await?;
        Ok(())
    }

    /// One heartbeat. `false` if the lease is gone (another node expired it, or another process
    /// registered the same node id): the caller must register again and re-claim its names.
    pub async fn beat_node(self, node_id: &str, lease: i64, now_ms: i64) -> Result<bool, StoreError> {
        let done = self
            .query("UPDATE cluster_nodes SET beat = beat + 1, beat_ms = $1 WHERE node_id = $2 AND lease = $3")
            .bind(now_ms)
            .bind(clip(node_id, limits::NAME_MAX_CHARS).into_owned())
            .bind(lease)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Every registered node.
    pub async fn nodes(self) -> Result<Vec<NodeLease>, StoreError> {
        let rows = self
            .query("SELECT node_id, lease, beat, beat_ms FROM cluster_nodes ORDER BY node_id")
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| {
                Ok(NodeLease {
                    node_id: r.try_get("node_id")?,
                    lease: r.try_get("lease")?,
                    beat: r.try_get("beat")?,
                    beat_ms: r.try_get("beat_ms")?,
                })
            })
            .collect()
    }

    /// Expire a node seen dead: if its row is still `node` exactly (same lease and beat), delete
    /// it and every claim of that lease, in one transaction. Returns the number of names
    /// released, or `None` if the node beat meanwhile (nothing changed).
    pub async fn expire_node(self, node: &NodeLease) -> Result<Option<u64>, StoreError> {
        let mut tx = self.pool().begin().await?;
        let gone = self
            .query("DELETE FROM cluster_nodes WHERE node_id = $1 AND lease = $2 AND beat = $3")
            .bind(node.node_id.clone())
            .bind(node.lease)
            .bind(node.beat)
            .execute(&mut *tx)
            .await?;
        if gone.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(None);
        }
        let released = self
            .query("DELETE FROM cluster_names WHERE node_id = $1 AND lease = $2")
            .bind(node.node_id.clone())
            .bind(node.lease)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(released.rows_affected()))
    }

    /// A node leaves cleanly (or starts afresh under an id it had before): drop its row and
    /// every claim it holds under any lease. Returns the names released.
    pub async fn retire_node(self, node_id: &str) -> Result<u64, StoreError> {
        let node_id = clip(node_id, limits::NAME_MAX_CHARS).into_owned();
        let mut tx = self.pool().begin().await?;
        self.query("DELETE FROM cluster_nodes WHERE node_id = $1")
            .bind(node_id.clone())
            .execute(&mut *tx)
            .await?;
        let released = self
            .query("DELETE FROM cluster_names WHERE node_id = $1")
            .bind(node_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(released.rows_affected())
    }

    /// Take `claim.name` for `claim.service` cluster-wide. Atomic: of several nodes claiming the
    /// same name at once, exactly one wins. The same connection's own claim under an older lease
    /// (its node was expired while cut off, and registered again) is adopted.
    pub async fn claim_name(self, claim: &NameClaim<'_>) -> Result<Claimed, StoreError> {
        let name = clip(&display_name_form(claim.name), limits::NAME_MAX_CHARS).into_owned();
        // Claimed by skeleton: two look-alike names cannot be online at once, on any nodes.
        let key = column_skeleton(&name);
        let service = clip(claim.service, limits::SERVICE_MAX_CHARS).into_owned();
        let node_id = clip(claim.node_id, limits::NAME_MAX_CHARS).into_owned();
        // "Insert unless the key exists" without raising an error, so PostgreSQL does not abort a
        // transaction or log a violation for what is an ordinary answer ("taken").
        let sql = match self.backend() {
            Backend::MySql => {
                "INSERT IGNORE INTO cluster_names (service, name_key, name, node_id, lease, conn, claimed_ms) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)"
            }
            Backend::Sqlite | Backend::Postgres => {
                "INSERT INTO cluster_names (service, name_key, name, node_id, lease, conn, claimed_ms) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (service, name_key) DO NOTHING"
            }
        };
        let inserted = self
            .query(sql)
            .bind(service.clone())
            .bind(key.clone())
            .bind(name.clone())
            .bind(node_id.clone())
            .bind(claim.lease)
            .bind(claim.conn)
            .bind(to_ms(crate::now()))
            .execute(self.pool())
            .await?;
        if inserted.rows_affected() == 1 {
            return Ok(Claimed::Won);
        }
        let adopted = self
            .query(
                "UPDATE cluster_names SET name = $1, lease = $2, conn = $3, claimed_ms = $4 \
                 WHERE service = $5 AND name_key = $6 AND node_id = $7 AND conn = $8 AND lease <> $9",
            )
            .bind(name)
            .bind(claim.lease)
            .bind(claim.conn)
            .bind(to_ms(crate::now()))
            .bind(service.clone())
            .bind(key.clone())
            .bind(node_id)
            .bind(claim.conn)
            .bind(claim.lease)
            .execute(self.pool())
            .await?;
        if adopted.rows_affected() == 1 {
            return Ok(Claimed::Won);
        }
        let holder = self
            .query("SELECT node_id FROM cluster_names WHERE service = $1 AND name_key = $2")
            .bind(service)
            .bind(key)
            .fetch_optional(self.pool())
            .await?;
        match holder {
            Some(row) => Ok(Claimed::Taken { node_id: row.try_get("node_id")? }),
            // Released between our insert and this look: the caller may simply try again, but
            // "taken" is the honest answer for this attempt.
            None => Ok(Claimed::Taken { node_id: String::new() }),
        }
    }

    /// Give back a name held by connection `conn` of `node_id`. `false` if that connection did
    /// not hold it (already released, expired, or taken over).
    pub async fn release_name(
        self,
        service: &str,
        name: &str,
        node_id: &str,
        conn: i64,
    ) -> Result<bool, StoreError> {
        let done = self
            .query(
                "DELETE FROM cluster_names WHERE service = $1 AND name_key = $2 AND node_id = $3 AND conn = $4",
            )
            .bind(clip(service, limits::SERVICE_MAX_CHARS).into_owned())
            .bind(column_skeleton(&display_name_form(name)))
            .bind(clip(node_id, limits::NAME_MAX_CHARS).into_owned())
            .bind(conn)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// After re-claiming its users' names under a new lease, drop what `node_id` still holds
    /// under older ones (users who left while the database could not be told). Returns how many.
    pub async fn drop_stale_claims(self, node_id: &str, lease: i64) -> Result<u64, StoreError> {
        let done = self
            .query("DELETE FROM cluster_names WHERE node_id = $1 AND lease <> $2")
            .bind(clip(node_id, limits::NAME_MAX_CHARS).into_owned())
            .bind(lease)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected())
    }

    /// The names `node_id` holds under `lease`.
    pub async fn node_claims(self, node_id: &str, lease: i64) -> Result<Vec<HeldName>, StoreError> {
        let rows = self
            .query(
                "SELECT service, name_key, conn FROM cluster_names WHERE node_id = $1 AND lease = $2 \
                 ORDER BY service, name_key",
            )
            .bind(clip(node_id, limits::NAME_MAX_CHARS).into_owned())
            .bind(lease)
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| {
                Ok(HeldName {
                    service: r.try_get("service")?,
                    name_key: r.try_get("name_key")?,
                    conn: r.try_get("conn")?,
                })
            })
            .collect()
    }
}
