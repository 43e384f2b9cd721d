//! The writer task: takes batches off the queue, writes each in one transaction (with its
//! marker row), retries with backoff while the database is away, splits a refused batch into
//! single records, and stops at the shutdown deadline with a list of what it could not write.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tracing::{debug, error, info, warn};

use super::{Queued, Shared, WriterOptions};
use crate::error::StoreError;
use crate::model::{now, to_ms};
use crate::record::{Record, Table};
use crate::store::{SqlBuf, Store, insert_chunks};

/// What the task could not write by the shutdown deadline.
#[derive(Default)]
pub(super) struct Leftovers {
    pub(super) unwritten: Vec<Record>,
    pub(super) uncertain: Vec<Record>,
}

/// Spawns the writer task on the current tokio runtime: it takes records from `rx` until the
/// queue closes or `stop` carries a deadline.
pub(super) fn spawn(
    store: Store,
    opts: WriterOptions,
    shared: Arc<Shared>,
    rx: mpsc::Receiver<Queued>,
    stop: watch::Receiver<Option<Instant>>,
) -> JoinHandle<Leftovers> {
    let task = Task {
        store,
        // Random per writer so that markers of several nodes (or restarts) never collide.
        writer_id: rand::random::<i64>(),
        seq: 0,
        opts,
        shared,
        log: OutageLog::default(),
    };
    let ctl = Control { rx, stop, closed: false, watching: true };
    tokio::spawn(task.run(ctl))
}

/// The queue's receiving side plus the shutdown signal.
struct Control {
    rx: mpsc::Receiver<Queued>,
    stop: watch::Receiver<Option<Instant>>,
    /// The queue has been closed (shutdown requested).
    closed: bool,
    /// The stop channel may still fire (not fired yet, handle not dropped).
    watching: bool,
}

impl Control {
    /// The shutdown deadline, if shutdown was requested. The first time it is seen, the queue
    /// is closed: no new records, waiting senders get `Closed`, queued ones still drain.
    fn deadline(&mut self) -> Option<Instant> {
        let d = *self.stop.borrow();
        if d.is_some() && !self.closed {
            self.closed = true;
            self.watching = false;
            self.rx.close();
        }
        d
    }

    /// Completes when the shutdown deadline has passed (never, if there is no shutdown).
    async fn deadline_passed(&mut self) {
        loop {
            if let Some(d) = self.deadline() {
                tokio::time::sleep_until(d.into()).await;
                return;
            }
            if !self.watching || self.stop.changed().await.is_err() {
                // The handle was dropped without shutdown: run until every Journal is gone.
                self.watching = false;
                std::future::pending::<()>().await;
            }
        }
    }
}

/// Where a batch stopped when the shutdown deadline passed: `batch[from..]` was not written,
/// except that its first `uncertain` records may have been (their COMMIT's outcome is unknown).
struct GaveUp {
    from: usize,
    uncertain: usize,
}

/// How writing one unit (a batch, or one record of a split batch) ended.
enum Unit {
    Written,
    /// The database refused the data itself; retrying the same rows cannot succeed.
    Refused(StoreError),
    /// The shutdown deadline passed first. `uncertain`: a COMMIT was in flight or failed with
    /// an unknown outcome that could not be resolved.
    GaveUp {
        uncertain: bool,
    },
}

struct Task {
    store: Store,
    writer_id: i64,
    seq: i64,
    opts: WriterOptions,
    shared: Arc<Shared>,
    log: OutageLog,
}

impl Task {
    async fn run(mut self, mut ctl: Control) -> Leftovers {
        // On its own task: with the database down it would wait a connect timeout, and the
        // writer must not start (or shut down) late for housekeeping.
        tokio::spawn(sweep_stale_markers(self.store.clone()));
        let mut buf: Vec<Queued> = Vec::with_capacity(self.opts.max_batch);
        let mut left = Leftovers::default();
        loop {
            buf.clear();
            let n = tokio::select! {
                biased;
                // Wake on shutdown to close the queue even while it is idle.
                changed = ctl.stop.changed(), if ctl.watching => {
                    if changed.is_ok() {
                        ctl.deadline();
                    } else {
                        // Handle dropped without shutdown: keep going until the Journals are.
                        ctl.watching = false;
                    }
                    continue;
                }
                n = ctl.rx.recv_many(&mut buf, self.opts.max_batch) => n,
            };
            if n == 0 {
                break; // closed and drained
            }
            if let Some(gave_up) = self.write_batch(&buf, &mut ctl).await {
                let mut rest = buf.drain(gave_up.from..).map(|q| q.rec);
                left.uncertain.extend(rest.by_ref().take(gave_up.uncertain));
                left.unwritten.extend(rest);
                ctl.rx.close();
                while let Some(q) = ctl.rx.recv().await {
                    left.unwritten.push(q.rec);
                }
                break;
            }
        }
        self.shared.set_holding(None);
        left
    }

    /// Writes one batch. `None` when every record was written (or refused and logged);
    /// `Some` when the shutdown deadline passed first.
    async fn write_batch(&mut self, batch: &[Queued], ctl: &mut Control) -> Option<GaveUp> {
        self.shared.set_holding(Some((batch[0].enqueued, batch.len())));
        let recs: Vec<&Record> = batch.iter().map(|q| &q.rec).collect();
        let result = match self.write_unit(&recs, ctl).await {
            Unit::Written => None,
            // The batch is one transaction: uncertain as a whole.
            Unit::GaveUp { uncertain } => {
                Some(GaveUp { from: 0, uncertain: if uncertain { recs.len() } else { 0 } })
            }
            Unit::Refused(e) if recs.len() == 1 => {
                self.reject(recs[0], &e);
                None
            }
            Unit::Refused(e) => {
                // Find the bad record(s): one transaction per record, still in order.
                warn!(
                    records = recs.len(),
                    error = %e,
                    "store writer: batch refused as invalid, writing its records one by one"
                );
                let mut result = None;
                for (i, rec) in recs.iter().enumerate() {
                    self.shared.set_holding(Some((batch[i].enqueued, recs.len() - i)));
                    match self.write_unit(&[rec], ctl).await {
                        Unit::Written => {}
                        Unit::Refused(e) => self.reject(rec, &e),
                        Unit::GaveUp { uncertain } => {
                            result = Some(GaveUp { from: i, uncertain: usize::from(uncertain) });
                            break;
                        }
                    }
                }
                result
            }
        };
        self.shared.set_holding(None);
        result
    }

    fn reject(&self, rec: &Record, e: &StoreError) {
        self.shared.rejected.fetch_add(1, Ordering::Relaxed);
        error!(
            kind = rec.kind(),
            record = ?rec,
            error = %e,
            "store writer: the database refused a record; it is dropped"
        );
    }

    /// Writes `recs` in one transaction, retrying with backoff until it is written, refused,
    /// or the shutdown deadline passes.
    async fn write_unit(&mut self, recs: &[&Record], ctl: &mut Control) -> Unit {
        self.seq += 1;
        let seq = self.seq;
        let mut delay = self.opts.retry_initial;
        let mut attempt: u32 = 0;
        // Set once a COMMIT failed with an unknown outcome; from then on every attempt first
        // looks for this batch's marker.
        let mut uncertain = false;
        loop {
            if ctl.deadline().is_some_and(|d| Instant::now() >= d) {
                return Unit::GaveUp { uncertain };
            }
            attempt += 1;
            let commit_started = AtomicBool::new(false);
            let outcome = tokio::select! {
                biased;
                r = self.attempt(recs, seq, uncertain, &commit_started) => Some(r),
                _ = ctl.deadline_passed() => None,
            };
            let err = match outcome {
                None => {
                    return Unit::GaveUp { uncertain: uncertain || commit_started.load(Ordering::Relaxed) };
                }
                Some(Ok(already)) => {
                    self.shared.written.fetch_add(recs.len() as u64, Ordering::Relaxed);
                    if !already {
                        self.shared.batches.fetch_add(1, Ordering::Relaxed);
                    }
                    self.shared.healthy.store(true, Ordering::Relaxed);
                    self.log.recovered(recs.len(), already);
                    return Unit::Written;
                }
                Some(Err(e)) => e,
            };
            self.shared.failed_attempts.fetch_add(1, Ordering::Relaxed);
            self.shared.healthy.store(false, Ordering::Relaxed);
            self.shared.set_error(&err);
            if commit_started.load(Ordering::Relaxed) {
                uncertain = true;
                self.shared.uncertain_commits.fetch_add(1, Ordering::Relaxed);
            }
            if matches!(err, StoreError::Invalid(_) | StoreError::Conflict(_)) {
                return Unit::Refused(err);
            }
            self.log.failed(&self.store, recs.len(), attempt, delay, ctl.rx.len(), uncertain, &err);
            tokio::select! {
                biased;
                _ = tokio::time::sleep(delay) => {}
                _ = ctl.deadline_passed() => {}
            }
            delay = (delay * 2).min(self.opts.retry_max);
        }
    }

    /// One transaction. `Ok(true)` if the marker showed the batch was already committed by an
    /// earlier attempt whose COMMIT reply was lost.
    async fn attempt(
        &self,
        recs: &[&Record],
        seq: i64,
        check_marker: bool,
        commit_started: &AtomicBool,
    ) -> Result<bool, StoreError> {
        let store = &self.store;
        if check_marker {
            let found = store
                .query("SELECT seq FROM store_writer_batches WHERE writer_id = $1 AND seq = $2")
                .bind(self.writer_id)
                .bind(seq)
                .fetch_optional(&store.pool)
                .await?;
            if found.is_some() {
                return Ok(true);
            }
        }
        let mut tx = store.pool.begin().await?;
        for stmt in insert_statements(store, recs) {
            stmt.build()?.execute(&mut *tx).await?;
        }
        // Earlier markers of this writer are settled (it moves on only after settling a
        // batch), so they go; this batch's marker comes.
        store
            .query("DELETE FROM store_writer_batches WHERE writer_id = $1 AND seq < $2")
            .bind(self.writer_id)
            .bind(seq)
            .execute(&mut *tx)
            .await?;
        store
            .query("INSERT INTO store_writer_batches (writer_id, seq, at_ms) VALUES ($1, $2, $3)")
            .bind(self.writer_id)
            .bind(seq)
            .bind(to_ms(now()))
            .execute(&mut *tx)
            .await?;
        commit_started.store(true, Ordering::Relaxed);
        tx.commit().await?;
        Ok(false)
    }
}

/// Deletes markers left by writers that died mid-life (a day is far beyond any retry).
/// Best effort: if the database is down now, the next start will do it.
async fn sweep_stale_markers(store: Store) {
    let cutoff = to_ms(now()) - 24 * 3600 * 1000;
    let res = store
        .query("DELETE FROM store_writer_batches WHERE at_ms < $1")
        .bind(cutoff)
        .execute(&store.pool)
        .await;
    if let Err(e) = res {
        debug!(error = %e, "store writer: could not sweep old batch markers");
    }
}

/// Multi-row INSERTs for `recs`: one group per table (in order of first appearance), rows in
/// queue order, cut into [`insert_chunks`].
fn insert_statements(store: &Store, recs: &[&Record]) -> Vec<SqlBuf> {
    let mut tables: Vec<&'static Table> = Vec::new();
    for r in recs {
        if !tables.iter().any(|t| t.name == r.table().name) {
            tables.push(r.table());
        }
    }
    let mut out = Vec::new();
    for table in tables {
        let rows: Vec<&Record> = recs.iter().copied().filter(|r| r.table().name == table.name).collect();
        for chunk in insert_chunks(&rows, table.columns.len()) {
            let mut b = store.buf();
            b.push("INSERT INTO ")
                .push(table.name)
                .push(" (")
                .push(&table.columns.join(", "))
                .push(") VALUES ");
            for (i, r) in chunk.iter().enumerate() {
                if i > 0 {
                    b.push(", ");
                }
                r.bind_values(&mut b);
            }
            out.push(b);
        }
    }
    out
}

/// Keeps outage logging to a few lines: WARN on the first failure, then at most every 30 s
/// (DEBUG in between), and one INFO when writes succeed again.
#[derive(Default)]
struct OutageLog {
    since: Option<Instant>,
    failures: u64,
    last_warn: Option<Instant>,
}

impl OutageLog {
    const WARN_EVERY: Duration = Duration::from_secs(30);

    #[allow(clippy::too_many_arguments)]
    fn failed(
        &mut self,
        store: &Store,
        records: usize,
        attempt: u32,
        retry_in: Duration,
        queued: usize,
        uncertain: bool,
        err: &StoreError,
    ) {
        let now = Instant::now();
        let since = *self.since.get_or_insert(now);
        self.failures += 1;
        let due = self.last_warn.is_none_or(|t| now - t >= Self::WARN_EVERY);
        if due {
            self.last_warn = Some(now);
            warn!(
                backend = %store.backend(),
                records,
                attempt,
                retry_in_ms = retry_in.as_millis() as u64,
                queued,
                outage_s = (now - since).as_secs(),
                commit_outcome_unknown = uncertain,
                retryable = err.is_retryable(),
                error = %err,
                "store writer: batch not written, keeping it and retrying"
            );
        } else {
            debug!(records, attempt, error = %err, "store writer: retry failed");
        }
    }

    fn recovered(&mut self, records: usize, already_committed: bool) {
        if let Some(since) = self.since.take() {
            info!(
                records,
                failed_attempts = self.failures,
                outage_ms = since.elapsed().as_millis() as u64,
                already_committed,
                "store writer: database back, batch written"
            );
            self.failures = 0;
            self.last_warn = None;
        }
    }
}
