//! The ingest task: the one writer of the relay tables, and its group commit.
//!
//! Each turn it takes everything waiting — up to `max_batch` records from every connection
//! (fewer while the quota is nearly reached), and every acknowledgement and refusal the
//! forwarder reported — and commits it in one transaction ([`sockhub_store::RelayStore::write`]).
//! Only then does it:
//! 1. acknowledge the records: per connection one frame, holding in JSON mode one ack per
//!    source (the last record of that source in the batch: acks are cumulative) and in text
//!    mode one ack line per record; a record whose seq was stored with another payload is not
//!    acknowledged but answered with `seq_conflict` (and counted per source);
//! 2. hand the new forwardable records to the forwarder's inbox (no database read on the
//!    forwarding path while it keeps up);
//! 3. tell the forwarder which of its marks are durable;
//! 4. update the in-memory counters (what metrics and the status read).
//!
//! While one transaction commits, the next batch piles up in the channel, so the batch size
//! grows with the load and the cost of a commit is shared by more records.
//!
//! A database that is down or locked is retried with backoff, the batch kept; nothing is
//! acknowledged meanwhile, the channel fills and connections stop being read. A batch the
//! database refuses as invalid is written record by record so that one bad record is answered
//! with an error instead of blocking the others.
//!
//! In a cluster it also re-reads every source's counters from the database every
//! `cluster_poll_ms` (other nodes change them), and only the forwarding node runs operator
//! requests.
//!
//! Between batches the task runs operator requests (`sockhub relay resend` and `reconcile` write
//! them into `relay_requests`; it polls every `control_poll_ms`), marks records missing for
//! reconcile, and every second advances each source's scan floor, measures the lag and saves
//! the node's status row.
//!
//! This file is the group commit and what follows it; `operator.rs` runs the operator requests
//! and `status.rs` keeps the counters and the status row current.

use sockhub_i18n::msg;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use sockhub_proto::ErrorCode;
use sockhub_proto::relay::{Ack, RelayEvent};
use sockhub_store::{ForwardedMark, RelayBatch, RelayRecord, RelayState, Stored};
use tokio::sync::{mpsc, watch};
use tracing::{debug, error, info, warn};

use super::{Control, FwdControl, FwdRecord, Incoming, Mark, Shared, now_ms};
use crate::net::outbox::{Frame, Outbox};

mod operator;
mod status;

pub(crate) use operator::settle_interrupted_requests;
use status::{pending, reload};

/// How often the status row and the lag are refreshed.
const STATUS_EVERY: Duration = Duration::from_secs(1);
/// How often, at most, an ongoing database outage is logged at WARN.
const WARN_EVERY: Duration = Duration::from_secs(30);

pub(crate) struct Ingest {
    shared: Arc<Shared>,
    rx: mpsc::Receiver<Incoming>,
    control_rx: mpsc::Receiver<Control>,
    marks_rx: mpsc::Receiver<Mark>,
    committed_tx: watch::Sender<u64>,
    fwd_tx: Option<mpsc::Sender<FwdControl>>,
    /// Records taken from the channel but not yet in a batch (the quota had no room for them).
    carry: std::collections::VecDeque<Incoming>,
}

impl Ingest {
    pub(crate) fn new(
        shared: Arc<Shared>,
        rx: mpsc::Receiver<Incoming>,
        control_rx: mpsc::Receiver<Control>,
        marks_rx: mpsc::Receiver<Mark>,
        committed_tx: watch::Sender<u64>,
        fwd_tx: Option<mpsc::Sender<FwdControl>>,
    ) -> Ingest {
        Ingest { shared, rx, control_rx, marks_rx, committed_tx, fwd_tx, carry: Default::default() }
    }

    pub(crate) async fn run(mut self) {
        // In a cluster a request left `running` may be the forwarding node's, still at work: the
        // node that takes the forwarder role settles them instead (see the forwarder).
        if !self.shared.clustered {
            settle_interrupted_requests(&self.shared.store).await;
        }
        let mut status_tick = tokio::time::interval(STATUS_EVERY);
        status_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut control_tick = tokio::time::interval(self.shared.settings.control_poll());
        control_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // In a cluster the counters change on other nodes too: re-read them on this interval.
        let mut cluster_tick = tokio::time::interval(self.shared.settings.cluster_poll());
        cluster_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let clustered = self.shared.clustered;
        let max_batch = self.shared.settings.max_batch;
        let mut items: Vec<Incoming> = Vec::with_capacity(max_batch);
        let mut marks: Vec<Mark> = Vec::new();
        loop {
            let room = self.room();
            let blocked = room == Some(0);
            if self.shared.backpressure.swap(blocked, Ordering::Relaxed) != blocked {
                if blocked {
                    warn!(
                        quota_bytes = self.shared.settings.quota().bytes,
                        quota_records = self.shared.settings.quota().records,
                        "relay: quota reached; not acknowledging new records until forwarding frees room"
                    );
                } else {
                    info!("relay: below the quota again; taking records");
                }
            }
            let take = room.unwrap_or(usize::MAX).min(max_batch);
            // Records carried over from a turn that had no room go first.
            while items.len() < take {
                match self.carry.pop_front() {
                    Some(i) => items.push(i),
                    None => break,
                }
            }
            if items.is_empty() && marks.is_empty() {
                tokio::select! {
                    biased;
                    _ = self.shared.shutdown.cancelled() => break,
                    Some(m) = self.marks_rx.recv() => marks.push(m),
                    n = self.rx.recv_many(&mut items, take.max(1)), if take > 0 => {
                        if n == 0 {
                            break;
                        }
                    }
                    Some(c) = self.control_rx.recv() => self.control(c).await,
                    _ = control_tick.tick() => self.poll_requests().await,
                    _ = status_tick.tick() => self.refresh_status().await,
                    _ = cluster_tick.tick(), if clustered => self.reload_all().await,
                }
            }
            // Whatever else is waiting joins this batch.
            if items.len() < take {
                while items.len() < take {
                    match self.rx.try_recv() {
                        Ok(i) => items.push(i),
                        Err(_) => break,
                    }
                }
            }
            while let Ok(m) = self.marks_rx.try_recv() {
                marks.push(m);
            }
            self.trim_to_byte_room(&mut items);
            if items.is_empty() && marks.is_empty() {
                continue;
            }
            if !self.commit(&mut items, &mut marks).await {
                break;
            }
        }
        // Records still in the channel were never acknowledged; their senders re-send them.
        debug!("relay ingest stopped");
    }

    /// Records the quota lets in now (`None`: no limit; a sink owes nothing downstream).
    fn room(&self) -> Option<usize> {
        if self.shared.sink {
            return None;
        }
        let (records, bytes) = pending(&self.shared);
        self.shared.settings.quota().room(records, bytes)
    }

    /// Keeps within the byte quota: records past it wait in `carry` (unacknowledged).
    fn trim_to_byte_room(&mut self, items: &mut Vec<Incoming>) {
        if self.shared.sink {
            return;
        }
        let Some(mut left) = self.shared.settings.quota().bytes_room(pending(&self.shared).1) else { return };
        let mut keep = 0;
        for i in items.iter() {
            if left == 0 {
                break;
            }
            if i.rec.state.is_pending() {
                left = left.saturating_sub(i.rec.payload.len() as u64);
            }
            keep += 1;
        }
        for extra in items.drain(keep..).rev() {
            self.carry.push_front(extra);
        }
    }

    /// Commits one batch, retrying while the database is unavailable. Returns false if the
    /// server is shutting down before it could.
    async fn commit(&mut self, items: &mut Vec<Incoming>, marks: &mut Vec<Mark>) -> bool {
        let mut batch = RelayBatch::default();
        let mut token = 0u64;
        {
            let sources = self.shared.sources.read();
            batch.records = items
                .iter()
                .map(|i| {
                    let mut r: RelayRecord = i.rec.clone();
                    r.maybe_dup = match r.seq {
                        Some(seq) => sources.get(&r.source).is_some_and(|s| seq <= s.last_seq),
                        None => false,
                    };
                    r
                })
                .collect();
        }
        let mut forwarded: HashMap<Arc<str>, ForwardedMark> = HashMap::new();
        for m in marks.drain(..) {
            match m {
                Mark::Forwarded(f, t) => {
                    token = token.max(t);
                    let e = forwarded
                        .entry(f.source.clone())
                        .or_insert_with(|| ForwardedMark { source: f.source.clone(), ..Default::default() });
                    e.seqs.extend(f.seqs);
                    e.bytes += f.bytes;
                }
                Mark::Held(h, t) => {
                    token = token.max(t);
                    batch.held.push(h);
                }
            }
        }
        batch.forwarded = forwarded.into_values().collect();

        let now = now_ms();
        let mut delay = self.shared.settings.retry_initial();
        let mut outage: Option<(Instant, Instant)> = None;
        let outcome = loop {
            match self.shared.store.relay().write(&batch, now).await {
                Ok(out) => break Ok(out),
                Err(e) if e.is_retryable() => {
                    let now_i = Instant::now();
                    let (since, last_warn) = outage.get_or_insert((now_i, now_i - WARN_EVERY));
                    if now_i - *last_warn >= WARN_EVERY {
                        *last_warn = now_i;
                        warn!(
                            records = batch.records.len(),
                            outage_s = (now_i - *since).as_secs(),
                            retry_in_ms = delay.as_millis() as u64,
                            error = %e,
                            "relay: cannot commit; keeping the batch and retrying (nothing is acknowledged meanwhile)"
                        );
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(delay) => {}
                        _ = self.shared.shutdown.cancelled() => return false,
                    }
                    delay = (delay * 2).min(self.shared.settings.retry_max());
                }
                Err(e) => break Err(e),
            }
        };
        if let Some((since, _)) = outage {
            info!(outage_ms = since.elapsed().as_millis() as u64, "relay: database back, batch committed");
        }
        match outcome {
            Ok(out) => self.after_commit(items, &batch, &out, token),
            Err(e) => {
                error!(error = %e, records = batch.records.len(), "relay: the database refused a batch; writing it record by record");
                self.one_by_one(items, batch, token, now).await;
            }
        }
        items.clear();
        true
    }

    /// After a refused batch: marks alone, then each record alone; a record that is refused
    /// again is answered with an error (and not acknowledged).
    async fn one_by_one(&mut self, items: &mut Vec<Incoming>, batch: RelayBatch, token: u64, now: i64) {
        let marks =
            RelayBatch { records: Vec::new(), forwarded: batch.forwarded.clone(), held: batch.held.clone() };
        match self.shared.store.relay().write(&marks, now).await {
            Ok(out) => self.after_commit(&[], &marks, &out, token),
            Err(e) => {
                error!(error = %e, "relay: could not record downstream's acknowledgements; they will be re-sent")
            }
        }
        for (item, rec) in items.drain(..).zip(batch.records) {
            let single = RelayBatch { records: vec![rec], ..Default::default() };
            match self.shared.store.relay().write(&single, now).await {
                Ok(out) => self.after_commit(std::slice::from_ref(&item), &single, &out, 0),
                Err(e) => {
                    error!(source = %item.rec.source, seq = ?item.rec.seq, error = %e, "relay: record refused by the database");
                    item.conn.send(RelayEvent::record_error(
                        ErrorCode::Internal,
                        msg!("relay-store-failed"),
                        &item.rec.source,
                        item.rec.seq,
                    ));
                }
            }
        }
    }

    fn after_commit(
        &mut self,
        items: &[Incoming],
        batch: &RelayBatch,
        out: &sockhub_store::BatchOutcome,
        token: u64,
    ) {
        self.shared.committed_batches.fetch_add(1, Ordering::Relaxed);
        // 1. Acknowledge, one frame per connection.
        let mut per_conn: Vec<(Outbox, Vec<Ack>, bool)> = Vec::new();
        for (item, stored) in items.iter().zip(&out.stored) {
            let seq = stored.seq();
            if let Stored::Conflict(seq) = *stored {
                // Not acknowledged: the stored record under this seq has another payload. The
                // error goes out before this frame's acks, which do not cover this record.
                item.conn.send(RelayEvent::record_error(
                    ErrorCode::SeqConflict,
                    format!(
                        "seq {seq} of {} is stored already with a different payload; the stored record stays (is this device's counter restarted?)",
                        item.rec.source
                    ),
                    &item.rec.source,
                    Some(seq),
                ));
                continue;
            }
            let at = match per_conn.iter().rposition(|(o, _, _)| o.ptr_eq(&item.conn)) {
                Some(i) => i,
                None => {
                    per_conn.push((item.conn.clone(), Vec::new(), item.text));
                    per_conn.len() - 1
                }
            };
            let (_, acks, text) = &mut per_conn[at];
            // JSON mode: the last record of each source covers the earlier ones.
            if !*text && let Some(a) = acks.iter_mut().find(|a| *a.source == *item.rec.source) {
                a.seq = seq;
                continue;
            }
            acks.push(Ack { source: item.rec.source.to_string(), seq });
        }
        for (outbox, acks, _) in per_conn {
            outbox.push(&Frame::new(RelayEvent::Acks(acks)));
        }

        // 2. Counters, as committed.
        let mut fwd: Vec<FwdRecord> = Vec::new();
        {
            let mut sources = self.shared.sources.write();
            for (rec, stored) in batch.records.iter().zip(&out.stored) {
                if let Stored::Conflict(_) = stored {
                    if let Some(s) = sources.get_mut(&rec.source) {
                        s.conflicts += 1;
                    }
                    continue;
                }
                let Stored::New(seq) = *stored else { continue };
                let s = sources.entry(rec.source.clone()).or_insert_with(|| sockhub_store::RelaySource {
                    source: rec.source.to_string(),
                    first_ms: now_ms(),
                    ..Default::default()
                });
                s.received += 1;
                s.last_seq = s.last_seq.max(seq);
                s.last_ms = now_ms();
                match rec.state {
                    RelayState::Kept => s.kept += 1,
                    RelayState::Received => s.stored += 1,
                    _ => {
                        s.queued += 1;
                        s.pending_bytes += rec.payload.len() as i64;
                        s.queued_from = s.queued_from.min(seq);
                        fwd.push(FwdRecord {
                            source: rec.source.clone(),
                            seq,
                            at_ms: rec.at_ms,
                            payload: rec.payload.clone(),
                        });
                    }
                }
            }
            for (mark, done) in batch.forwarded.iter().zip(&out.marked) {
                if let Some(s) = sources.get_mut(&mark.source) {
                    s.queued -= *done as i64;
                    s.forwarded += *done as i64;
                    s.pending_bytes -= mark.bytes;
                }
            }
            for (h, done) in batch.held.iter().zip(&out.held_done) {
                if *done && let Some(s) = sources.get_mut(&h.source) {
                    s.queued -= 1;
                    s.held += 1;
                }
            }
        }
        if !out.recounted.is_empty() {
            let store = self.shared.store.clone();
            let shared = Arc::clone(&self.shared);
            let sources = out.recounted.clone();
            tokio::spawn(async move { reload(&shared, &store, &sources).await });
        }

        // 3. To the forwarder.
        if !fwd.is_empty() {
            let inbox = &self.shared.inbox;
            let mut st = inbox.state.lock();
            if st.accepting {
                if st.recs.len() + fwd.len() <= inbox.capacity {
                    st.recs.extend(fwd);
                } else {
                    // The forwarder is behind: it will read these from the database.
                    st.recs.clear();
                    st.accepting = false;
                    st.overflowed = true;
                }
                drop(st);
                inbox.notify.notify_one();
            }
        }
        if token > 0 {
            self.committed_tx.send_modify(|t| *t = (*t).max(token));
        }
    }
}
