//! The forwarder role in a cluster: waiting for it before connecting, and checking it while
//! connected (which is also when records other nodes took in are found).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use tracing::{debug, info, warn};

use super::Forwarder;
use crate::service::relay::{FORWARDER_ROLE, FwdControl, LinkState};

impl Forwarder {
    /// In a cluster, wait until this node holds the forwarder role; on a single node it always
    /// does. Returns false if the server shuts down first.
    pub(super) async fn wait_for_role(&mut self) -> bool {
        let mut standing_by = false;
        loop {
            match self.shared.bus.hold(FORWARDER_ROLE).await {
                Ok(true) => {
                    if !self.shared.holder.swap(true, Ordering::Relaxed) && self.shared.clustered {
                        info!("relay: this node is the cluster's forwarder now");
                        crate::service::relay::ingest::settle_interrupted_requests(&self.shared.store).await;
                    }
                    return true;
                }
                Ok(false) => {
                    self.shared.holder.store(false, Ordering::Relaxed);
                    if !standing_by {
                        info!("relay: another node of the cluster forwards; standing by");
                        self.set_link(LinkState::Standby, None);
                        standing_by = true;
                    }
                }
                Err(e) => {
                    self.shared.holder.store(false, Ordering::Relaxed);
                    debug!(error = %e, "relay: cannot check the forwarder role");
                    self.set_link(LinkState::Standby, Some(format!("cannot check the forwarder role: {e}")));
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(self.shared.settings.cluster_poll()) => {}
                _ = self.shared.shutdown.cancelled() => return false,
                Some(c) = self.control_rx.recv() => self.on_control(c),
            }
            self.fail_pending_reconciles("this node does not forward: another node of the cluster does")
                .await;
        }
    }

    /// The forwarding node of a cluster: is it still, and what did the other nodes queue? `Some`
    /// ends the connection (the role went to another node).
    pub(super) async fn check_role(&mut self) -> Option<String> {
        match self.shared.bus.hold(FORWARDER_ROLE).await {
            Ok(true) => {
                // Sources with more queued records, by the counters (re-read from the database by
                // the ingest task), than this forwarder has on their way: records other nodes took
                // in are found by this scan. A source whose queued records all came through this
                // node's inbox is left alone, so its records keep coming from memory.
                let mine = self.window.claimed_per_source();
                let busy: Vec<Arc<str>> = self
                    .shared
                    .sources
                    .read()
                    .iter()
                    .filter(|(k, s)| s.queued > mine.get(&***k).copied().unwrap_or(0))
                    .map(|(k, _)| k.clone())
                    .collect();
                if !busy.is_empty() {
                    self.on_control(FwdControl::Rescan(busy));
                }
                None
            }
            Ok(false) => {
                self.shared.holder.store(false, Ordering::Relaxed);
                warn!(
                    "relay: another node of the cluster holds the forwarder role now; this node stops forwarding"
                );
                Some("the forwarder role moved to another node".into())
            }
            // The database is unreachable: keep going. Marks cannot commit meanwhile; if this
            // lasts beyond the node timeout another node takes over, and downstream's unique key
            // makes the overlap harmless.
            Err(e) => {
                debug!(error = %e, "relay: cannot confirm the forwarder role");
                None
            }
        }
    }
}
