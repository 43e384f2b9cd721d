//! Group commit: make results durable before they are acknowledged, without one transaction per
//! result.
//!
//! A session hands its result to the [`Committer`] and waits. The committer's task takes the
//! first waiting result and then *everything else already queued* (up to `max_batch`), writes
//! them with one multi-row INSERT in one transaction, and answers each waiter. Under light load a
//! batch is one result and the cost is one commit, as before; when many students square at once,
//! the results that arrived during one commit's fsync share the next one, so throughput grows
//! with load instead of being capped at one fsync per result.
//!
//! The queue is bounded (`calc.commit_queue`): when the database falls behind, sessions wait to
//! enqueue, which stops them reading their sockets — backpressure, not memory growth.
//!
//! If a batch is refused as invalid (which validation should make impossible), its results are
//! retried one per transaction so that one bad row cannot fail the others. Any other failure is
//! reported to every waiter of the batch: none of them is acknowledged, and the students are told
//! to try again.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use sockhub_store::{NewCalcResult, Store, StoreError};
use tokio::sync::{mpsc, oneshot};
use tracing::warn;

/// What a waiter gets back.
pub type Committed = Result<(), Arc<StoreError>>;

struct Job {
    result: NewCalcResult,
    done: oneshot::Sender<Committed>,
}

/// Counters of the group-commit task.
#[derive(Debug, Default)]
pub struct CommitStats {
    /// Results made durable.
    pub committed: AtomicU64,
    /// Transactions that committed results.
    pub batches: AtomicU64,
    /// Results whose commit failed.
    pub failed: AtomicU64,
    /// The most results one transaction has carried.
    pub largest_batch: AtomicU64,
}

/// The handle sessions commit through. Cheap to clone; the task ends when every handle is gone.
#[derive(Clone)]
pub struct Committer {
    queue: mpsc::Sender<Job>,
    stats: Arc<CommitStats>,
}

impl Committer {
    /// Start the group-commit task on `store`.
    pub fn spawn(store: Store, queue: usize, max_batch: usize) -> Committer {
        let (tx, rx) = mpsc::channel(queue.max(1));
        let stats = Arc::new(CommitStats::default());
        tokio::spawn(run(store, rx, max_batch.max(1), Arc::clone(&stats)));
        Committer { queue: tx, stats }
    }

    /// Store `result`; returns once it is durable (or failed).
    pub async fn commit(&self, result: NewCalcResult) -> Committed {
        let (done, answer) = oneshot::channel();
        let gone = || Arc::new(StoreError::Unavailable("the result writer has stopped".into()));
        if self.queue.send(Job { result, done }).await.is_err() {
            return Err(gone());
        }
        answer.await.unwrap_or_else(|_| Err(gone()))
    }

    /// Results waiting for the group commit now.
    pub fn queue_depth(&self) -> usize {
        self.queue.max_capacity() - self.queue.capacity()
    }

    pub fn stats(&self) -> &CommitStats {
        &self.stats
    }
}

async fn run(store: Store, mut rx: mpsc::Receiver<Job>, max_batch: usize, stats: Arc<CommitStats>) {
    let mut jobs = Vec::with_capacity(max_batch);
    let mut rows = Vec::with_capacity(max_batch);
    while rx.recv_many(&mut jobs, max_batch).await > 0 {
        rows.extend(jobs.iter().map(|j| j.result.clone()));
        let outcome = store.calc().insert_results(&rows).await;
        match outcome {
            Ok(()) => {
                stats.committed.fetch_add(rows.len() as u64, Ordering::Relaxed);
                stats.batches.fetch_add(1, Ordering::Relaxed);
                stats.largest_batch.fetch_max(rows.len() as u64, Ordering::Relaxed);
                for job in jobs.drain(..) {
                    let _ = job.done.send(Ok(()));
                }
            }
            Err(StoreError::Invalid(why)) if rows.len() > 1 => {
                warn!(
                    results = rows.len(),
                    %why,
                    "a batch of results was refused; committing them one by one"
                );
                for job in jobs.drain(..) {
                    let one = store.calc().insert_results(std::slice::from_ref(&job.result)).await;
                    count(&stats, one.is_ok());
                    let _ = job.done.send(one.map_err(Arc::new));
                }
            }
            Err(e) => {
                warn!(results = rows.len(), error = %e, "could not store results; the students are told to retry");
                stats.failed.fetch_add(rows.len() as u64, Ordering::Relaxed);
                let e = Arc::new(e);
                for job in jobs.drain(..) {
                    let _ = job.done.send(Err(Arc::clone(&e)));
                }
            }
        }
        rows.clear();
    }
}

fn count(stats: &CommitStats, ok: bool) {
    if ok {
        stats.committed.fetch_add(1, Ordering::Relaxed);
        stats.batches.fetch_add(1, Ordering::Relaxed);
        stats.largest_batch.fetch_max(1, Ordering::Relaxed);
    } else {
        stats.failed.fetch_add(1, Ordering::Relaxed);
    }
}
