//! Operator requests, run by the ingest task between batches: the `relay_requests` queue
//! (`sockhub relay resend` and `reconcile`, the web page), resends asked by reconcile, marking
//! records missing, and settling the requests a stopped server left running.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use sockhub_store::ResendSelector;
use tokio::sync::mpsc;
use tracing::{debug, info};

use super::{Ingest, reload};
use crate::service::relay::{Control, FwdControl, ReconcileCause, RelayError, Resent, ResentSource};

impl Ingest {
    pub(super) async fn control(&mut self, c: Control) {
        match c {
            Control::MarkMissing { source, seqs, reason, reply } => {
                let r = self.shared.store.relay().mark_missing(&source, &seqs, &reason).await;
                reload(&self.shared, &self.shared.store, std::slice::from_ref(&source)).await;
                let _ = reply.send(r);
            }
            Control::Resend { selector, by, reply } => {
                let _ = reply.send(self.resend(selector, &by, None).await);
            }
        }
    }

    /// Queue records again and record who did it.
    pub(super) async fn resend(
        &mut self,
        sel: ResendSelector,
        by: &str,
        request: Option<i64>,
    ) -> Result<Resent, RelayError> {
        if self.shared.sink {
            return Err(RelayError::NotHere("this node has no downstream: nothing can be re-sent"));
        }
        let store = &self.shared.store;
        let request = match request {
            Some(id) => id,
            None => {
                let params = serde_json::to_string(&sel).unwrap_or_default();
                store.relay().request_add("resend", by, &params).await?
            }
        };
        let done = store.relay().resend(&sel, Some(request)).await?;
        let sources: Vec<Arc<str>> = done.iter().map(|r| Arc::from(r.source.as_str())).collect();
        reload(&self.shared, store, &sources).await;
        let total: i64 = done.iter().map(|r| r.count).sum();
        let result = Resent {
            request,
            queued: total,
            sources: done.iter().map(|r| ResentSource { source: r.source.clone(), count: r.count }).collect(),
        };
        let recorded = serde_json::to_string(&result).unwrap_or_default();
        let _ = store.relay().request_finish(request, "done", &recorded).await;
        info!(by, state = %sel.state, source = ?sel.source, seqs = ?sel.seqs, queued = total, "relay: records queued again");
        if !sources.is_empty()
            && let Some(tx) = &self.fwd_tx
        {
            // Never wait on the forwarder: it may be waiting on us (a reconcile's resend).
            if let Err(mpsc::error::TrySendError::Full(m)) = tx.try_send(FwdControl::Rescan(sources)) {
                let tx = tx.clone();
                tokio::spawn(async move {
                    let _ = tx.send(m).await;
                });
            }
        }
        Ok(result)
    }

    pub(super) async fn poll_requests(&mut self) {
        // In a cluster, operator requests are the forwarding node's to run (a sink answers that it
        // has no downstream; any one of them may).
        if self.shared.clustered && !self.shared.sink && !self.shared.holder.load(Ordering::Relaxed) {
            return;
        }
        let pending = match self.shared.store.relay().requests_pending().await {
            Ok(p) => p,
            Err(e) => {
                debug!(error = %e, "relay: cannot read requests");
                return;
            }
        };
        for r in pending {
            let store = self.shared.store.clone();
            match r.kind.as_str() {
                "resend" => {
                    let result = match serde_json::from_str::<ResendSelector>(&r.params) {
                        Ok(sel) => self.resend(sel, &r.requested_by, Some(r.id)).await,
                        Err(e) => Err(RelayError::BadRequest(e.to_string())),
                    };
                    if let Err(e) = result {
                        let _ = store
                            .relay()
                            .request_finish(
                                r.id,
                                "failed",
                                &serde_json::json!({"error": e.to_string()}).to_string(),
                            )
                            .await;
                    }
                }
                "reconcile" => match &self.fwd_tx {
                    Some(tx) => {
                        let _ = store.relay().request_start(r.id).await;
                        let _ = tx
                            .send(FwdControl::Reconcile {
                                cause: ReconcileCause::Manual,
                                request: Some(r.id),
                            })
                            .await;
                    }
                    None => {
                        let _ = store
                            .relay()
                            .request_finish(
                                r.id,
                                "failed",
                                r#"{"error":"this node has no downstream to reconcile with"}"#,
                            )
                            .await;
                    }
                },
                other => {
                    let _ = store
                        .relay()
                        .request_finish(
                            r.id,
                            "failed",
                            &serde_json::json!({"error": format!("unknown request {other:?}")}).to_string(),
                        )
                        .await;
                }
            }
        }
    }
}

/// Requests left `running` by a server that stopped mid-way are marked failed: on a single node
/// at start, in a cluster by the node that takes the forwarder role (only the forwarding node
/// runs requests, so a running one belonged to a holder that is gone).
pub(crate) async fn settle_interrupted_requests(store: &sockhub_store::Store) {
    if let Ok(pending) = store.relay().requests_running().await {
        for r in pending {
            let _ = store
                .relay()
                .request_finish(r.id, "failed", r#"{"error":"interrupted by a server restart"}"#)
                .await;
        }
    }
}
