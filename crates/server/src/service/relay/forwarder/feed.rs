//! Where the forwarder's records come from and what becomes of them: the ingest task's inbox
//! and the database scan feed the window; downstream's lines (acks, refusals) settle it, and
//! the settled records go back to the ingest task as marks to commit.

use std::sync::Arc;

use sockhub_proto::ErrorCode;
use sockhub_proto::relay::RelayEvent;
use tracing::{debug, warn};

use super::{Forwarder, SCAN_CHUNK};
use crate::service::relay::window::Refusal;
use crate::service::relay::{FwdControl, FwdRecord};

impl Forwarder {
    /// Open the inbox, then scan every source with queued records (in that order: a record
    /// committed in between is in one or the other, maybe both, never neither).
    pub(super) fn start_full_scan(&mut self) {
        {
            let mut inbox = self.shared.inbox.state.lock();
            inbox.recs.clear();
            inbox.overflowed = false;
            inbox.accepting = true;
        }
        let sources: Vec<(Arc<str>, i64)> = self
            .shared
            .sources
            .read()
            .iter()
            .filter(|(_, s)| s.queued > 0)
            .map(|(k, s)| (k.clone(), s.queued_from))
            .collect();
        self.scan.clear();
        self.scan.extend(sources);
    }

    pub(super) fn drain_inbox(&mut self) {
        let window = self.shared.settings.window;
        let mut taken = Vec::new();
        let overflowed = {
            let mut inbox = self.shared.inbox.state.lock();
            if inbox.overflowed {
                true
            } else {
                let room = (2 * window).saturating_sub(self.window.waiting());
                let n = room.min(inbox.recs.len());
                taken.extend(inbox.recs.drain(..n));
                false
            }
        };
        if overflowed {
            debug!("relay: forwarder fell behind; reading from the database");
            self.start_full_scan();
            return;
        }
        for r in taken {
            // A source being scanned gets its records from the scan, in seq order: the scan
            // reads up to the end of the source, so it finds this record too.
            if self.scan.iter().any(|(s, _)| *s == r.source) {
                continue;
            }
            self.window.offer(r);
        }
    }

    pub(super) async fn scan_step(&mut self) -> Result<(), sockhub_store::StoreError> {
        let Some((source, from)) = self.scan.pop_front() else { return Ok(()) };
        let rows = self.shared.store.relay().queued(&source, from, SCAN_CHUNK).await?;
        let full = rows.len() == SCAN_CHUNK as usize;
        let next = rows.last().map(|r| r.seq + 1);
        for r in rows {
            self.window.offer(FwdRecord {
                source: source.clone(),
                seq: r.seq,
                at_ms: r.at_ms,
                payload: r.payload.into(),
            });
        }
        if full && let Some(next) = next {
            self.scan.push_back((source, next));
        }
        Ok(())
    }

    /// Handles a line from downstream; `Some(reason)` ends the connection.
    pub(super) fn on_line(&mut self, line: &str) -> Option<String> {
        if !line.starts_with('{') {
            return None; // the greeting
        }
        let ev = match serde_json::from_str::<RelayEvent>(line) {
            Ok(ev) => ev,
            Err(e) => {
                warn!(line, error = %e, "relay: unreadable line from downstream");
                return None;
            }
        };
        match ev {
            RelayEvent::Ack(a) => self.on_ack(&a.source, a.seq),
            RelayEvent::Error { code: ErrorCode::Unauthorized, message, .. } => {
                // Not about one record: downstream wants a (valid) token. Reconnect (and
                // present relay.downstream_token, if set) rather than hold every record.
                return Some(format!(
                    "downstream requires a device token (relay.downstream_token): {message}"
                ));
            }
            RelayEvent::Error { code, message, source: Some(source), seq: Some(seq) } => {
                // Refusals no retry can change are held at once: another payload owns the seq
                // downstream, our token does not cover the source, or downstream refuses the seq.
                let final_ =
                    matches!(code, ErrorCode::SeqConflict | ErrorCode::Forbidden | ErrorCode::BadSeq);
                self.on_refused(&source, seq, format!("downstream refused it: {code}: {message}"), final_);
            }
            RelayEvent::Error { code, message, .. } => {
                warn!(%code, %message, "relay: downstream reported an error that names no record");
                self.unattributed = Some(format!("{code}: {message}"));
            }
            RelayEvent::Bye { reason } => return Some(format!("downstream said bye: {reason}")),
            other => debug!(?other, "relay: unexpected message from downstream"),
        }
        None
    }

    pub(super) fn on_ack(&mut self, source: &str, seq: i64) {
        if self.window.ack(source, seq) == 0 {
            debug!(source, seq, "relay: ack for a record not in flight");
        }
    }

    /// A record downstream refused: retried later, or held once refused `max_attempts` times
    /// (at once if `final_`: a refusal no retry can change).
    pub(super) fn on_refused(&mut self, source: &str, seq: i64, reason: String, final_: bool) {
        let now = tokio::time::Instant::now();
        match self.window.refused(source, seq, reason.clone(), final_, now) {
            Refusal::Unknown => {}
            Refusal::Held { attempts } => {
                warn!(source, seq, attempts, %reason, "relay: holding a record downstream keeps refusing");
            }
            Refusal::Retry { attempt, delay } => {
                debug!(source, seq, attempt, ?delay, %reason, "relay: downstream refused a record; will retry");
            }
        }
    }

    /// Hand the marks the window settled to the ingest task, in order (waiting for room).
    pub(super) async fn send_marks(&mut self) {
        for mark in self.window.take_marks() {
            let _ = self.marks_tx.send(mark).await;
        }
    }

    /// The ack timeout fired: if downstream complained about a line it could not attribute,
    /// the oldest unacknowledged record is the likely culprit and is charged an attempt.
    pub(super) fn charge_stuck(&mut self) {
        if let Some(reason) = self.unattributed.take() {
            self.window.charge_oldest(&reason);
        }
    }

    pub(super) fn on_committed(&mut self) {
        let committed = *self.committed_rx.borrow_and_update();
        self.window.committed(committed);
    }

    pub(super) fn on_control(&mut self, c: FwdControl) {
        match c {
            FwdControl::Rescan(sources) => {
                let floors: Vec<(Arc<str>, i64)> = {
                    let map = self.shared.sources.read();
                    sources
                        .into_iter()
                        .map(|s| (s.clone(), map.get(&s).map_or(0, |x| x.queued_from)))
                        .collect()
                };
                for (s, from) in floors {
                    match self.scan.iter_mut().find(|(x, _)| *x == s) {
                        Some(entry) => entry.1 = entry.1.min(from),
                        None => self.scan.push_back((s, from)),
                    }
                }
            }
            FwdControl::Reconcile { cause, request } => self.pending_reconcile.push((cause, request)),
        }
    }
}
