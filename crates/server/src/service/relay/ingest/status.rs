//! The ingest task's view of the counters: re-reading them from the database (in a cluster,
//! and after changes made outside the group commit), and the node's status row and lag,
//! refreshed every second.

use std::collections::HashMap;
use std::sync::Arc;

use tracing::{debug, warn};

use super::Ingest;
use crate::service::relay::{Shared, status_of};

impl Ingest {
    /// In a cluster: every source's counters as the database has them (this node's commits
    /// only add its own changes to the copy in memory).
    pub(super) async fn reload_all(&mut self) {
        match self.shared.store.relay().sources().await {
            Ok(rows) => {
                let map: HashMap<Arc<str>, sockhub_store::RelaySource> =
                    rows.into_iter().map(|s| (Arc::<str>::from(s.source.as_str()), s)).collect();
                *self.shared.sources.write() = map;
            }
            Err(e) => debug!(error = %e, "relay: cannot re-read the counters"),
        }
    }

    /// Every second: advance the scan floor of each source with queued records (which also
    /// tells the oldest one: the lag) and save the node's status row.
    pub(super) async fn refresh_status(&mut self) {
        // Sources with queued records, and sources whose floor lags behind (moved past the end
        // once, it stays there until records are queued again).
        let busy: Vec<Arc<str>> = self
            .shared
            .sources
            .read()
            .iter()
            .filter(|(_, s)| !self.shared.sink && (s.queued > 0 || s.queued_from <= s.last_seq))
            .map(|(k, _)| k.clone())
            .collect();
        let mut oldest = HashMap::new();
        for source in busy {
            match self.shared.store.relay().advance_floor(&source).await {
                Ok(Some((seq, received_ms))) => {
                    if let Some(s) = self.shared.sources.write().get_mut(&source) {
                        s.queued_from = seq;
                    }
                    oldest.insert(source, received_ms);
                }
                Ok(None) => {
                    if let Some(s) = self.shared.sources.write().get_mut(&source) {
                        s.queued_from = s.last_seq + 1;
                    }
                }
                Err(e) => debug!(error = %e, "relay: cannot advance the scan floor"),
            }
        }
        *self.shared.oldest.lock() = oldest;
        let status = status_of(&self.shared);
        let mut json = serde_json::to_value(&status).unwrap_or_default();
        if let Some(obj) = json.as_object_mut() {
            // The counters are in relay_sources already.
            obj.remove("sources");
        }
        let node = status.node.clone();
        if let Err(e) = self.shared.store.relay().node_put(&node, &json.to_string()).await {
            debug!(error = %e, "relay: cannot save the node status");
        }
    }
}

/// Pending records and bytes over all sources (what the quota counts).
pub(super) fn pending(shared: &Shared) -> (i64, i64) {
    let sources = shared.sources.read();
    sources.values().fold((0, 0), |(r, b), s| (r + s.queued + s.held + s.missing, b + s.pending_bytes))
}

/// Re-reads sources' counters from the database (after a change made outside the group commit).
pub(super) async fn reload(shared: &Shared, store: &sockhub_store::Store, sources: &[Arc<str>]) {
    for source in sources {
        match store.relay().source(source).await {
            Ok(Some(row)) => {
                shared.sources.write().insert(source.clone(), row);
            }
            Ok(None) => {}
            Err(e) => warn!(error = %e, %source, "relay: cannot reload counters"),
        }
    }
}
