//! This node's lease in the shared database, its name claims, and the expiry of dead nodes.
//!
//! NATS carries what happens; the database holds what must be agreed on atomically. A node
//! registers under a fresh random lease and bumps its `beat` counter every heartbeat. Every node
//! also *watches* the others' counters: a counter that has not moved for `node_timeout` — by the
//! watcher's own monotonic clock, so clocks of different machines never need to agree — marks a
//! dead node, whose row and claims are then deleted in one transaction that checks the row is
//! still exactly what was watched ([`sockhub_store::ClusterStore::expire_node`]).
//!
//! Why liveness for *names* lives here and not on NATS: a node cut off from NATS still serves its
//! users, and their names must stay theirs; freeing them because NATS went quiet would let a user
//! on another node take a name that is still in use. Only a node that stops beating in the
//! database (dead, or cut off from the database too) loses its names.
//!
//! A node that finds its lease gone (it was expired while cut off, or another process registered
//! the same node id) registers again under a new lease and claims its users' names again; a name
//! someone else took meanwhile is lost, and that user's session is ended with a reason.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::Duration;

use parking_lot::Mutex;
use sockhub_proto::time::now_ms;
use sockhub_store::{Claimed, NameClaim, NodeLease, Store, StoreError};
use tokio::time::Instant;
use tracing::{info, warn};

use super::ClaimError;

/// Releases that failed (database unreachable) and wait for the next heartbeat; beyond this many
/// the oldest are forgotten — they are cleaned up anyway when this node re-registers or leaves.
const PENDING_RELEASES: usize = 10_000;

/// The `service` under which cluster-wide roles ([`Lease::hold`]) are claimed.
pub const ROLE_SERVICE: &str = "role";

/// Why a node could not join the cluster.
#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    #[error(
        "node_id {0:?} is in use by a running node (its heartbeat is advancing); give each node its own [cluster] node_id"
    )]
    InUse(String),
    #[error("cannot register in the shared database: {0}")]
    Store(#[from] StoreError),
}

/// One node's registration.
pub struct Lease {
    store: Store,
    node_id: String,
    lease: AtomicI64,
    timeout: Duration,
    pending: Mutex<Vec<(&'static str, String, u64)>>,
    /// Other nodes' rows, and when this node last saw each one's beat change.
    watched: Mutex<HashMap<String, (NodeLease, Instant)>>,
    /// The last heartbeat reached the database.
    healthy: AtomicBool,
}

fn new_lease() -> i64 {
    // Positive, so it reads well in a table.
    (rand::random::<u64>() >> 1) as i64
}

impl Lease {
    /// Register `node_id`. If a row for it exists (an earlier run that crashed, most likely),
    /// wait one and a half heartbeats: if its beat moves, another live process has this id and
    /// starting would break it, so refuse; otherwise retire the old run (its claims go with it).
    pub async fn register(
        store: Store,
        node_id: &str,
        heartbeat: Duration,
        timeout: Duration,
    ) -> Result<Lease, LeaseError> {
        let mine = |rows: Vec<NodeLease>| rows.into_iter().find(|n| n.node_id == node_id);
        if let Some(before) = mine(store.cluster().nodes().await?) {
            tokio::time::sleep(heartbeat + heartbeat / 2).await;
            if mine(store.cluster().nodes().await?)
                .is_some_and(|after| after.beat != before.beat || after.lease != before.lease)
            {
                return Err(LeaseError::InUse(node_id.to_owned()));
            }
        }
        let released = store.cluster().retire_node(node_id).await?;
        if released > 0 {
            info!(released, node = %node_id, "cleared the names held by an earlier run of this node");
        }
        let lease = new_lease();
        store.cluster().register_node(node_id, lease, now_ms()).await?;
        Ok(Lease {
            store,
            node_id: node_id.to_owned(),
            lease: AtomicI64::new(lease),
            timeout,
            pending: Mutex::new(Vec::new()),
            watched: Mutex::new(HashMap::new()),
            healthy: AtomicBool::new(true),
        })
    }

    /// Whether the last heartbeat reached the database.
    pub fn healthy(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
    }

    /// Claim `name` for connection `conn` of `service`.
    pub async fn claim(&self, service: &'static str, name: &str, conn: u64) -> Result<(), ClaimError> {
        let claim = NameClaim {
            service,
            name,
            node_id: &self.node_id,
            lease: self.lease.load(Ordering::Acquire),
            conn: conn as i64,
        };
        match self.store.cluster().claim_name(&claim).await {
            Ok(Claimed::Won) => Ok(()),
            Ok(Claimed::Taken { .. }) => Err(ClaimError::Taken),
            Err(e) => Err(ClaimError::Unavailable(e)),
        }
    }

    /// Take or keep the cluster-wide role `role`: a claim in `cluster_names` (service
    /// [`ROLE_SERVICE`], connection 0, which no user connection has) under this node's lease.
    /// The database lets one node hold it; expiring a dead node ([`Self::tick`]) or retiring one
    /// deletes its claims, so the role is free again exactly when the holder's lease is gone.
    /// `true` while this node holds it (won now, or already ours).
    pub async fn hold(&self, role: &str) -> Result<bool, StoreError> {
        let claim = NameClaim {
            service: ROLE_SERVICE,
            name: role,
            node_id: &self.node_id,
            lease: self.lease.load(Ordering::Acquire),
            conn: 0,
        };
        Ok(match self.store.cluster().claim_name(&claim).await? {
            Claimed::Won => true,
            // Ours already (an adoption of an older lease's claim would have been `Won`).
            Claimed::Taken { node_id } => node_id == self.node_id,
        })
    }

    /// Release `name` held by `conn`; on failure keep it for the next heartbeat.
    pub async fn release(&self, service: &'static str, name: &str, conn: u64) {
        if let Err(e) = self.store.cluster().release_name(service, name, &self.node_id, conn as i64).await {
            warn!(error = %e, name = ?name, "could not release a name in the shared database; retrying with the heartbeat");
            let mut pending = self.pending.lock();
            if pending.len() >= PENDING_RELEASES {
                pending.remove(0);
            }
            pending.push((service, name.to_owned(), conn));
        }
    }

    /// One heartbeat: bump the beat (re-registering if the lease is gone), retry failed releases,
    /// and expire nodes whose beat stood still for the timeout. Returns the names to claim again
    /// when the lease had to be renewed.
    pub async fn tick(&self) -> Result<Renewed, StoreError> {
        let lease = self.lease.load(Ordering::Acquire);
        let beat = self.store.cluster().beat_node(&self.node_id, lease, now_ms()).await;
        let was_healthy = self.healthy.swap(beat.is_ok(), Ordering::Relaxed);
        let alive = match beat {
            Ok(alive) => alive,
            Err(e) => {
                // What was watched before the outage says nothing about the others now: start
                // watching afresh once the database answers, or every node would look dead.
                self.watched.lock().clear();
                if was_healthy {
                    warn!(error = %e, "cluster: cannot reach the shared database for the heartbeat; names stay held until this node's lease expires elsewhere");
                }
                return Err(e);
            }
        };
        if !was_healthy {
            info!("cluster: the shared database answers heartbeats again");
        }
        let renewed = if alive {
            Renewed::No
        } else {
            let lease = new_lease();
            warn!(
                "cluster: this node's lease was expired by another node (cut off for too long?); registering again and re-claiming its users' names"
            );
            self.store.cluster().register_node(&self.node_id, lease, now_ms()).await?;
            self.lease.store(lease, Ordering::Release);
            Renewed::Yes
        };
        let pending = std::mem::take(&mut *self.pending.lock());
        for (service, name, conn) in pending {
            self.release(service, &name, conn).await;
        }
        if let Err(e) = self.expire_dead().await {
            self.watched.lock().clear();
            return Err(e);
        }
        Ok(renewed)
    }

    /// After a renewal: everything re-claimed, drop what this node still holds under old leases.
    pub async fn drop_stale(&self) -> Result<(), StoreError> {
        let n =
            self.store.cluster().drop_stale_claims(&self.node_id, self.lease.load(Ordering::Acquire)).await?;
        if n > 0 {
            info!(claims = n, "cluster: dropped stale name claims of this node");
        }
        Ok(())
    }

    async fn expire_dead(&self) -> Result<(), StoreError> {
        let rows = self.store.cluster().nodes().await?;
        let now = Instant::now();
        let mut dead = Vec::new();
        {
            let mut watched = self.watched.lock();
            watched.retain(|id, _| rows.iter().any(|r| &r.node_id == id));
            for row in rows.into_iter().filter(|r| r.node_id != self.node_id) {
                match watched.get_mut(&row.node_id) {
                    Some((seen, since)) if *seen == row => {
                        if now.duration_since(*since) >= self.timeout {
                            dead.push(row);
                        }
                    }
                    Some(entry) => *entry = (row, now),
                    None => {
                        watched.insert(row.node_id.clone(), (row, now));
                    }
                }
            }
        }
        for row in dead {
            if let Some(released) = self.store.cluster().expire_node(&row).await? {
                warn!(
                    node = %row.node_id,
                    released,
                    timeout = ?self.timeout,
                    "cluster: node stopped beating in the database: its lease expired and its names were freed"
                );
            }
            self.watched.lock().remove(&row.node_id);
        }
        Ok(())
    }

    /// Leave the cluster cleanly: this node's row and every claim it holds are deleted.
    pub async fn retire(&self) {
        match self.store.cluster().retire_node(&self.node_id).await {
            Ok(n) => info!(released = n, "cluster: left the shared database"),
            Err(e) => {
                warn!(error = %e, "cluster: could not retire this node in the shared database; other nodes will expire it")
            }
        }
    }
}

/// Whether [`Lease::tick`] had to register again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Renewed {
    No,
    Yes,
}
