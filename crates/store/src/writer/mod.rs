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
//!
//! This file is the queue's two ends ([`Journal`], [`WriterHandle`]) and what they report;
//! `task.rs` is the task that writes.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tracing::{error, info};

use crate::error::StoreError;
use crate::model::now;
use crate::record::Record;
use crate::store::Store;

mod task;

use task::Leftovers;

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
        let handle = WriterHandle {
            stop: stop_tx,
            task: task::spawn(store, opts, shared.clone(), rx, stop_rx),
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
