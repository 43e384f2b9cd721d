//! The batched writer: log records (logins, chat lines, moderation actions) go into a bounded
//! queue and one task writes them in batches, one transaction per batch, retrying until the
//! database takes them.
//!
//! Why: a chat line must reach the room at network speed whether or not the database is fast,
//! slow, or briefly gone. The session hands the record to a [`Journal`] and moves on; the
//! writer turns hundreds of records into one transaction (one fsync on SQLite, one round trip
//! per table on a server) and is the only place that waits for the database.
//!
//! Guarantees (see the crate docs for the full story):
//! * **Bounded**: at most `capacity` records wait in the queue (plus the batch being written).
//!   [`Journal::send`] waits for room (backpressure), [`Journal::try_send`] and
//!   [`Journal::send_timeout`] hand the record back instead. Nothing is dropped silently.
//! * **In order, all or nothing per batch**: a batch is written in one transaction, records of
//!   one kind in queue order; a failed transaction wrote nothing and the same batch is retried
//!   (exponential backoff, `retry_initial` doubling up to `retry_max`) before any later record.
//! * **Exactly once, even when a COMMIT's outcome is unknown**: each batch transaction also
//!   inserts a marker row `(writer_id, seq)`. If the connection fails during COMMIT, the writer
//!   cannot know whether the batch landed; before retrying it looks the marker up and skips the
//!   batch if it is there.
//! * **Refused data does not wedge the queue**: if the database refuses a batch as invalid
//!   (constraint or data error, which retrying cannot fix), the writer writes its records one by
//!   one, logs each refused record at ERROR and counts it in `rejected`.
//! * **Shutdown reports**: [`WriterHandle::shutdown`] stops intake, flushes within a deadline
//!   and returns a [`FlushReport`] with the records it could not write.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tracing::{debug, error, info, warn};

use crate::error::StoreError;
use crate::model::{now, to_ms};
use crate::record::{Record, Table};
use crate::store::{SqlBuf, Store};

/// Writer settings.
#[derive(Clone, Debug)]
pub struct WriterOptions {
    /// How many records may wait in the queue; a full queue applies backpressure.
    /// Default 10 000 (a few MB at chat-line sizes; about a minute of a busy classroom).
    pub capacity: usize,
    /// Most records written in one transaction. Default 512.
    pub max_batch: usize,
    /// First retry delay after a failed write. Default 50 ms.
    pub retry_initial: Duration,
    /// Longest retry delay (the backoff doubles up to this). Default 5 s.
    pub retry_max: Duration,
}

impl Default for WriterOptions {
    fn default() -> Self {
        WriterOptions {
            capacity: 10_000,
            max_batch: 512,
            retry_initial: Duration::from_millis(50),
            retry_max: Duration::from_secs(5),
        }
    }
}

/// Why a record was handed back instead of queued. Every variant returns the record.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// [`Journal::try_send`]: the queue is at capacity.
    #[error("the store queue is full")]
    Full(Box<Record>),
    /// [`Journal::send_timeout`]: no room came free in time.
    #[error("timed out waiting for room in the store queue")]
    Timeout(Box<Record>),
    /// The writer has shut down (or stopped).
    #[error("the store writer has shut down")]
    Closed(Box<Record>),
}

impl JournalError {
    /// The record that was not queued.
    pub fn into_record(self) -> Record {
        match self {
            JournalError::Full(r) | JournalError::Timeout(r) | JournalError::Closed(r) => *r,
        }
    }
}

/// The last write failure, for metrics and the admin page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LastError {
    pub message: String,
    pub at: DateTime<Utc>,
}

/// A snapshot of the writer's counters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WriterStats {
    /// Records waiting in the queue.
    pub depth: usize,
    /// The queue's bound.
    pub capacity: usize,
    /// Records in the batch the writer is writing (or retrying) now.
    pub in_flight: usize,
    /// Records written since the writer started.
    pub written: u64,
    /// Transactions committed.
    pub batches: u64,
    /// Write attempts that failed (each is retried).
    pub failed_attempts: u64,
    /// Records the database refused as invalid and that were therefore dropped (each logged at
    /// ERROR). Zero unless something is wrong with the data or schema.
    pub rejected: u64,
    /// COMMITs whose outcome was unknown (connection lost during COMMIT), each resolved by the
    /// batch marker before retrying.
    pub uncertain_commits: u64,
    /// Writer lag: how long the oldest record not yet written has been waiting
    /// (zero when the writer is idle).
    pub lag: Duration,
    /// Whether the last write attempt succeeded.
    pub healthy: bool,
    pub last_error: Option<LastError>,
}

/// What [`WriterHandle::shutdown`] achieved.
#[derive(Debug)]
pub struct FlushReport {
    /// Records written between the shutdown call and the end of the flush.
    pub flushed: u64,
    /// Records written over the writer's whole life.
    pub written_total: u64,
    /// Records not written because the deadline passed first (the database was down or too
    /// slow), oldest first. The caller may dump them somewhere; they are not in the database.
    pub unwritten: Vec<Record>,
    /// Records whose COMMIT was in flight when the deadline cut it off: they may or may not be
    /// in the database.
    pub uncertain: Vec<Record>,
    /// Records refused as invalid over the writer's life (see [`WriterStats::rejected`]).
    pub rejected_total: u64,
    /// Set if the writer task itself failed (panicked or did not stop); then the lists above
    /// are incomplete.
    pub writer_failure: Option<String>,
    /// How long the shutdown took.
    pub elapsed: Duration,
}

impl FlushReport {
    /// Whether everything queued was written.
    pub fn is_complete(&self) -> bool {
        self.unwritten.is_empty() && self.uncertain.is_empty() && self.writer_failure.is_none()
    }
}

/// The sending side of the writer's queue. Cheap to clone; give one to every session.
#[derive(Clone)]
pub struct Journal {
    tx: mpsc::Sender<Queued>,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Journal")
            .field("depth", &self.depth())
            .field("capacity", &self.shared.capacity)
            .finish()
    }
}

impl Journal {
    /// Queues a record, waiting while the queue is full (backpressure). Fails only when the
    /// writer has shut down.
    pub async fn send(&self, rec: impl Into<Record>) -> Result<(), JournalError> {
        self.tx.send(Queued::new(rec.into())).await.map_err(|e| JournalError::Closed(Box::new(e.0.rec)))
    }

    /// Queues a record if there is room now; otherwise hands it back.
    pub fn try_send(&self, rec: impl Into<Record>) -> Result<(), JournalError> {
        use mpsc::error::TrySendError;
        self.tx.try_send(Queued::new(rec.into())).map_err(|e| match e {
            TrySendError::Full(q) => JournalError::Full(Box::new(q.rec)),
            TrySendError::Closed(q) => JournalError::Closed(Box::new(q.rec)),
        })
    }

    /// Queues a record, waiting at most `timeout` for room.
    pub async fn send_timeout(&self, rec: impl Into<Record>, timeout: Duration) -> Result<(), JournalError> {
        use mpsc::error::SendTimeoutError;
        self.tx.send_timeout(Queued::new(rec.into()), timeout).await.map_err(|e| match e {
            SendTimeoutError::Timeout(q) => JournalError::Timeout(Box::new(q.rec)),
            SendTimeoutError::Closed(q) => JournalError::Closed(Box::new(q.rec)),
        })
    }

    /// Records waiting in the queue.
    pub fn depth(&self) -> usize {
        self.tx.max_capacity() - self.tx.capacity()
    }

    /// The queue's bound ([`WriterOptions::capacity`]).
    pub fn capacity(&self) -> usize {
        self.shared.capacity
    }

    /// The writer's counters.
    pub fn stats(&self) -> WriterStats {
        self.shared.snapshot(self.depth())
    }
}

/// Controls the writer task: stats and shutdown.
pub struct WriterHandle {
    stop: watch::Sender<Option<Instant>>,
    task: JoinHandle<Leftovers>,
    // Weak, so that holding the handle does not keep the queue open: the writer also ends by
    // itself once every Journal is dropped.
    tx: mpsc::WeakSender<Queued>,
    shared: Arc<Shared>,
}

impl WriterHandle {
    /// The writer's counters.
    pub fn stats(&self) -> WriterStats {
        let depth = self.tx.upgrade().map(|tx| tx.max_capacity() - tx.capacity()).unwrap_or(0);
        self.shared.snapshot(depth)
    }

    /// Stops intake (further sends fail with [`JournalError::Closed`], senders waiting for
    /// room are woken with it), writes everything queued, and returns what was written and
    /// what was not. Gives up at `deadline` from now: records still unwritten then are
    /// returned in the report (and logged at ERROR), never dropped silently.
    pub async fn shutdown(mut self, deadline: Duration) -> FlushReport {
        let started = Instant::now();
        let written_before = self.shared.written.load(Ordering::Relaxed);
        let deadline_at = started + deadline;
        let _ = self.stop.send(Some(deadline_at));
        // The task honours the deadline itself; the grace second only covers a task stuck
        // somewhere that cannot be cancelled, which is not expected.
        let joined =
            tokio::time::timeout_at((deadline_at + Duration::from_secs(1)).into(), &mut self.task).await;
        let (left, writer_failure) = match joined {
            Ok(Ok(left)) => (left, None),
            Ok(Err(e)) => (Leftovers::default(), Some(format!("writer task failed: {e}"))),
            Err(_) => {
                self.task.abort();
                (Leftovers::default(), Some("writer task did not stop by the deadline".to_string()))
            }
        };
        let written_total = self.shared.written.load(Ordering::Relaxed);
        let report = FlushReport {
            flushed: written_total - written_before,
            written_total,
            unwritten: left.unwritten,
            uncertain: left.uncertain,
            rejected_total: self.shared.rejected.load(Ordering::Relaxed),
            writer_failure,
            elapsed: started.elapsed(),
        };
        if report.is_complete() {
            info!(
                flushed = report.flushed,
                written_total = report.written_total,
                elapsed_ms = report.elapsed.as_millis() as u64,
                "store writer flushed and stopped"
            );
        } else {
            error!(
                flushed = report.flushed,
                unwritten = report.unwritten.len(),
                uncertain = report.uncertain.len(),
                failure = report.writer_failure.as_deref().unwrap_or(""),
                last_error = self.shared.last_error_message().as_deref().unwrap_or(""),
                "store writer stopped with records not written"
            );
        }
        report
    }
}

/// Starts the batched writer.
pub struct Writer;

impl Writer {
    /// Spawns the writer task on the current tokio runtime and returns the queue's sending
    /// side and the handle that stops it.
    pub fn spawn(store: Store, opts: WriterOptions) -> (Journal, WriterHandle) {
        let opts = WriterOptions {
            capacity: opts.capacity.max(1),
            max_batch: opts.max_batch.max(1),
            retry_initial: opts.retry_initial.max(Duration::from_millis(1)),
            retry_max: opts.retry_max.max(opts.retry_initial),
        };
        let (tx, rx) = mpsc::channel(opts.capacity);
        let (stop_tx, stop_rx) = watch::channel(None);
        let shared = Arc::new(Shared::new(opts.capacity));
        let task = Task {
            store,
            // Random per writer so that markers of several nodes (or restarts) never collide.
            writer_id: rand::random::<i64>(),
            seq: 0,
            opts,
            shared: shared.clone(),
            log: OutageLog::default(),
        };
        let ctl = Control { rx, stop: stop_rx, closed: false, watching: true };
        let handle = WriterHandle {
            stop: stop_tx,
            task: tokio::spawn(task.run(ctl)),
            tx: tx.downgrade(),
            shared: shared.clone(),
        };
        (Journal { tx, shared }, handle)
    }
}

struct Queued {
    rec: Record,
    enqueued: Instant,
}

impl Queued {
    fn new(rec: Record) -> Self {
        Queued { rec, enqueued: Instant::now() }
    }
}

struct Shared {
    capacity: usize,
    written: AtomicU64,
    batches: AtomicU64,
    failed_attempts: AtomicU64,
    rejected: AtomicU64,
    uncertain_commits: AtomicU64,
    healthy: AtomicBool,
    /// Enqueue time of the oldest record the writer holds, and how many it holds.
    holding: Mutex<Option<(Instant, usize)>>,
    last_error: Mutex<Option<LastError>>,
}

impl Shared {
    fn new(capacity: usize) -> Self {
        Shared {
            capacity,
            written: AtomicU64::new(0),
            batches: AtomicU64::new(0),
            failed_attempts: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
            uncertain_commits: AtomicU64::new(0),
            healthy: AtomicBool::new(true),
            holding: Mutex::new(None),
            last_error: Mutex::new(None),
        }
    }

    fn snapshot(&self, depth: usize) -> WriterStats {
        let holding = *self.holding.lock().unwrap_or_else(|p| p.into_inner());
        WriterStats {
            depth,
            capacity: self.capacity,
            in_flight: holding.map_or(0, |(_, n)| n),
            written: self.written.load(Ordering::Relaxed),
            batches: self.batches.load(Ordering::Relaxed),
            failed_attempts: self.failed_attempts.load(Ordering::Relaxed),
            rejected: self.rejected.load(Ordering::Relaxed),
            uncertain_commits: self.uncertain_commits.load(Ordering::Relaxed),
            lag: holding.map_or(Duration::ZERO, |(since, _)| since.elapsed()),
            healthy: self.healthy.load(Ordering::Relaxed),
            last_error: self.last_error.lock().unwrap_or_else(|p| p.into_inner()).clone(),
        }
    }

    fn last_error_message(&self) -> Option<String> {
        self.last_error.lock().unwrap_or_else(|p| p.into_inner()).as_ref().map(|e| e.message.clone())
    }

    fn set_holding(&self, h: Option<(Instant, usize)>) {
        *self.holding.lock().unwrap_or_else(|p| p.into_inner()) = h;
    }

    fn set_error(&self, e: &StoreError) {
        *self.last_error.lock().unwrap_or_else(|p| p.into_inner()) =
            Some(LastError { message: e.to_string(), at: now() });
    }
}

#[derive(Default)]
struct Leftovers {
    unwritten: Vec<Record>,
    uncertain: Vec<Record>,
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

/// Most values bound in one statement: below SQLite's 32766 and the 65535 of MySQL and
/// PostgreSQL.
const MAX_PARAMS: usize = 30_000;
/// Most rows in one INSERT: past a few hundred, bigger statements stop paying.
const MAX_ROWS: usize = 512;

/// Multi-row INSERTs for `recs`: one group per table (in order of first appearance), rows in
/// queue order.
///
/// Each group is cut into chunks whose row counts are powers of two (300 rows become chunks of
/// 256, 32, 8 and 4). That keeps the number of distinct statement texts per table to about
/// ten, so they all stay in sqlx's per-connection prepared-statement cache. It matters on
/// MySQL: a statement that is not cached is closed after use with COM_STMT_CLOSE, a message the
/// server does not answer, and since sqlx does not set TCP_NODELAY the next request then waits
/// for the server's delayed ACK (about 40 ms). Measured with one-off statements: 22
/// transactions/s and 5 500 records/s in batches of 512; with cached ones, 2 200 and 156 000.
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
        let max_rows = prev_power_of_two((MAX_PARAMS / table.columns.len()).clamp(1, MAX_ROWS));
        let mut rest = &rows[..];
        while !rest.is_empty() {
            let take = prev_power_of_two(rest.len()).min(max_rows);
            let (chunk, tail) = rest.split_at(take);
            rest = tail;
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

/// The largest power of two not above `n` (`n` ≥ 1).
fn prev_power_of_two(n: usize) -> usize {
    1 << (usize::BITS - 1 - n.max(1).leading_zeros())
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

#[cfg(test)]
mod tests {
    use super::prev_power_of_two;

    #[test]
    fn chunk_sizes_are_powers_of_two() {
        assert_eq!(prev_power_of_two(1), 1);
        assert_eq!(prev_power_of_two(300), 256);
        assert_eq!(prev_power_of_two(512), 512);
        assert_eq!(prev_power_of_two(513), 512);
    }
}
