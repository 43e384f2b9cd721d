//! `[cluster]`: several nodes sharing rooms through NATS and one database. Off unless `nats_url`
//! is set: without it no NATS code runs and every service fans out in process.

use super::section::section;
use super::{DatabaseConfig, InvalidValue};

section! {
    /// `[cluster]`: several nodes sharing rooms. Env: `SOCKHUB_CLUSTER_<KEY>`.
    ///
    /// Off unless `nats_url` is set: without it no NATS code runs and every service fans out in
    /// process, exactly as a single server does.
    #[section(cluster, about = "Several nodes sharing rooms through NATS and one MariaDB/MySQL or PostgreSQL database; off unless nats_url is set.")]
    pub struct ClusterConfig {
        /// NATS server(s) of the cluster, e.g. "nats://127.0.0.1:4222" (several: comma-separated); unset
        /// = a single node.
        pub nats_url: Option<String> = None,
        /// This node's name in the cluster, unique among the nodes; unset = host name and chat port
        /// ("web1:7001").
        pub node_id: Option<String> = None,
        /// First token of every NATS subject, so several clusters can share one NATS.
        pub subject_prefix: String = "sockhub".into(),
        /// How often a node tells the others (and the database) that it is alive.
        pub heartbeat_ms: u64 = 1000,
        /// A node silent this long is dead: its users leave everywhere and their names are freed.
        pub node_timeout_secs: u64 = 10,
        /// Events waiting to go out to NATS, twice: once for chat lines, public and whispers, once
        /// for everything else. A user's line or request (join, part, kick, mute, topic, ban) waits
        /// for room here rather than be dropped; what the node says on its own (heartbeats,
        /// snapshots) is dropped and counted when full, and the next one repairs it. While NATS is
        /// unreachable both are emptied and what they held counted as dropped.
        pub publish_queue: usize = 8192,
        /// How long a user's chat line or request may wait for room in the publish queue; past it
        /// it is refused (error `unavailable`, nothing done) instead of waiting forever.
        pub publish_wait_ms: u64 = 2000,
        /// The most messages one NATS message carries (1 to 1024): queued messages for the same
        /// subject go out together. 1 = one NATS message each (the wire of earlier versions, for a cluster whose
        /// nodes are not all upgraded yet).
        pub publish_batch: usize = 64,
        /// The most bytes of messages one batch carries (a single larger message goes alone); at
        /// most 1 MiB, NATS's default payload limit.
        pub publish_batch_bytes: usize = 65_536,
        /// Events from other nodes waiting to be applied; beyond it NATS drops them (a slow consumer) and
        /// the nodes resync.
        pub inbound_queue: usize = 65_536,
    }
}

impl ClusterConfig {
    /// Whether this node is part of a cluster.
    pub fn enabled(&self) -> bool {
        self.nats_url.is_some()
    }

    pub(super) fn validate(&self, database: &DatabaseConfig) -> Result<(), InvalidValue> {
        let Some(url) = &self.nats_url else { return Ok(()) };
        if !(url.starts_with("nats://") || url.starts_with("tls://") || url.contains(':')) {
            return Err(format!("cluster.nats_url must look like nats://host:4222 (is {url:?})").into());
        }
        let shared = database.url.as_deref().is_some_and(|u| !u.starts_with("sqlite:"));
        if !shared {
            return Err(
                "[cluster] needs a database every node shares: set [database] url to a MariaDB/MySQL \
                 or PostgreSQL server (SQLite is a file on one machine)"
                    .into(),
            );
        }
        if self.heartbeat_ms == 0 || self.node_timeout_secs == 0 {
            return Err("cluster.heartbeat_ms and cluster.node_timeout_secs must be at least 1".into());
        }
        if self.node_timeout_secs * 1000 < 2 * self.heartbeat_ms {
            return Err(format!(
                "cluster.node_timeout_secs ({} s) must be at least two heartbeats ({} ms each)",
                self.node_timeout_secs, self.heartbeat_ms
            )
            .into());
        }
        if self.publish_queue == 0 || self.inbound_queue == 0 {
            return Err("cluster.publish_queue and cluster.inbound_queue must be at least 1".into());
        }
        if self.publish_wait_ms == 0 {
            return Err("cluster.publish_wait_ms must be at least 1".into());
        }
        if !(1..=1024).contains(&self.publish_batch) {
            return Err(format!("cluster.publish_batch must be 1 to 1024 (is {})", self.publish_batch).into());
        }
        if !(1024..=1 << 20).contains(&self.publish_batch_bytes) {
            return Err(format!(
                "cluster.publish_batch_bytes must be 1024 to 1048576 (is {})",
                self.publish_batch_bytes
            )
            .into());
        }
        if let Some(id) = &self.node_id
            && (id.trim().is_empty() || id.chars().count() > 200 || id.chars().any(char::is_whitespace))
        {
            return Err("cluster.node_id must be 1 to 200 characters without spaces".into());
        }
        let prefix_ok = !self.subject_prefix.is_empty()
            && self.subject_prefix.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !prefix_ok {
            return Err("cluster.subject_prefix must be letters, digits, - or _".into());
        }
        Ok(())
    }
}
