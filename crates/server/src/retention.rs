//! The retention task: removes rows older than `[retention]` allows, off the hot path.
//!
//! One background task per server wakes every `interval_secs` (the first time a minute after
//! the start, or sooner with a shorter interval) and, for each kind with a limit (chat lines,
//! logins, quiz attempts, confirmed relay records), removes the rows older than the limit in
//! batches of at most `batch_size` rows: one short transaction each
//! ([`sockhub_store::Store::retention_prune_batch`]), with `batch_pause_ms` between them so the
//! batched log writer and the relay's group commit get the database in between. What it removed
//! is logged per kind (with the time range) and counted in `/metrics`
//! (`sockhub_retention_removed_total{kind=...}`). A failed batch is logged and counted; the next
//! run tries again. Shutdown stops it between two batches.
//!
//! [`prune`] is the same loop for `sockhub db prune`, without the pauses.

use std::sync::Arc;
use std::time::Duration;

use sockhub_store::{PruneRange, RetentionKind, Store, StoreError};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::config::RetentionConfig;
use crate::metrics::{Counter, Gauge};
use crate::service::relay::{RelayService, now_ms};

const DAY_MS: i64 = 86_400_000;
/// The first run comes this long after the start at most (a server that restarts often still
/// prunes).
const FIRST_RUN: Duration = Duration::from_secs(60);

/// What the task did, for `/metrics`.
#[derive(Debug, Default)]
pub struct RetentionMetrics {
    /// Rows removed, per kind (in [`RetentionKind::ALL`]'s order).
    removed: [Counter; 4],
    runs: Counter,
    failures: Counter,
    /// Unix seconds of the end of the last run (0 before the first).
    last_run: Gauge,
}

impl RetentionMetrics {
    /// Rows of `kind` removed since the start.
    pub fn removed(&self, kind: RetentionKind) -> u64 {
        self.removed[index(kind)].get()
    }
}

impl crate::metrics::Families for RetentionMetrics {
    fn families(&self, out: &mut crate::metrics::FamilyWriter<'_>) -> std::fmt::Result {
        out.counters(
            "sockhub_retention_removed_total",
            "Rows removed by retention, per kind.",
            "kind",
            RetentionKind::ALL.iter().map(|kind| (kind.as_str(), self.removed(*kind))),
        )?;
        out.counter("sockhub_retention_runs_total", "Retention runs completed.", self.runs.get())?;
        out.counter(
            "sockhub_retention_failures_total",
            "Retention batches that failed (retried at the next run).",
            self.failures.get(),
        )?;
        out.gauge(
            "sockhub_retention_last_run_timestamp_seconds",
            "When the last retention run ended (unix seconds; 0: not yet).",
            self.last_run.get(),
        )
    }
}

fn index(kind: RetentionKind) -> usize {
    RetentionKind::ALL.iter().position(|k| *k == kind).unwrap_or(0)
}

/// The cutoff (unix ms) for `days` of retention at `now_ms`; `None` for 0 (keep for ever).
pub fn cutoff(now_ms: i64, days: u32) -> Option<i64> {
    (days > 0).then(|| now_ms - i64::from(days) * DAY_MS)
}

/// The background task.
pub struct RetentionTask {
    pub store: Store,
    pub config: RetentionConfig,
    pub metrics: Arc<RetentionMetrics>,
    /// The relay service, whose counters in memory follow what retention removed.
    pub relay: Option<Arc<RelayService>>,
    pub shutdown: CancellationToken,
}

impl RetentionTask {
    /// Runs until shutdown.
    pub async fn run(self) {
        if !self.config.enabled() {
            return;
        }
        let interval = Duration::from_secs(self.config.interval_secs.max(1));
        let mut next = tokio::time::Instant::now() + interval.min(FIRST_RUN);
        loop {
            tokio::select! {
                _ = self.shutdown.cancelled() => return,
                _ = tokio::time::sleep_until(next) => {}
            }
            self.run_once().await;
            next = tokio::time::Instant::now() + interval;
        }
    }

    async fn run_once(&self) {
        let now = now_ms();
        let pause = Duration::from_millis(self.config.batch_pause_ms);
        for kind in RetentionKind::ALL {
            let Some(before) = cutoff(now, self.config.days(kind)) else { continue };
            let relay = self.relay.as_deref();
            let result = prune_kind(
                &self.store,
                kind,
                before,
                self.config.batch_size,
                pause,
                &self.shutdown,
                |n, p| {
                    self.metrics.removed[index(kind)].add(n);
                    if let (Some(relay), Some(p)) = (relay, p) {
                        relay.note_pruned(p);
                    }
                },
            )
            .await;
            match result {
                Ok(r) if r.count > 0 => info!(
                    kind = %kind,
                    removed = r.count,
                    oldest_ms = r.oldest_ms,
                    newest_ms = r.newest_ms,
                    days = self.config.days(kind),
                    "retention: removed old rows"
                ),
                Ok(_) => {}
                Err(e) => {
                    self.metrics.failures.inc();
                    warn!(kind = %kind, error = %e, "retention: a batch failed; trying again at the next run");
                }
            }
            if self.shutdown.is_cancelled() {
                return;
            }
        }
        self.metrics.runs.inc();
        self.metrics.last_run.set(now_ms() / 1000);
    }
}

/// Removes every row of `kind` older than `before` (unix ms) in batches of `batch` rows, with
/// `pause` between batches, until none is left or `stop` is cancelled; `each` hears of every
/// batch (its row count, and for relay records the source's part). Returns what was removed.
pub async fn prune_kind(
    store: &Store,
    kind: RetentionKind,
    before: i64,
    batch: u32,
    pause: Duration,
    stop: &CancellationToken,
    mut each: impl FnMut(u64, Option<&sockhub_store::RelayPruned>),
) -> Result<PruneRange, StoreError> {
    let mut total = PruneRange::default();
    while !stop.is_cancelled() {
        let done = store.retention_prune_batch(kind, before, batch).await?;
        if done.removed.count == 0 {
            break;
        }
        each(done.removed.count as u64, done.relay.as_ref());
        total.merge(&done.removed);
        if !pause.is_zero() {
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = tokio::time::sleep(pause) => {}
            }
        }
    }
    Ok(total)
}

/// What `sockhub db prune` shows per kind.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PrunePlan {
    pub kind: RetentionKind,
    /// The configured limit (0: kept for ever, nothing goes).
    pub days: u32,
    /// Rows older than this (unix ms) go; `None` when kept for ever.
    pub before_ms: Option<i64>,
    #[serde(flatten)]
    pub range: PruneRange,
}

/// Per kind, what retention would remove now (`dry_run`) or removes now.
pub async fn prune(
    store: &Store,
    config: &RetentionConfig,
    dry_run: bool,
) -> Result<Vec<PrunePlan>, StoreError> {
    let now = now_ms();
    let mut out = Vec::new();
    for kind in RetentionKind::ALL {
        let days = config.days(kind);
        let before = cutoff(now, days);
        let range = match before {
            None => PruneRange::default(),
            Some(b) if dry_run => store.retention_preview(kind, b).await?,
            Some(b) => {
                let never = CancellationToken::new();
                let r =
                    prune_kind(store, kind, b, config.batch_size, Duration::ZERO, &never, |_, _| {}).await?;
                if r.count > 0 {
                    info!(kind = %kind, removed = r.count, oldest_ms = r.oldest_ms, newest_ms = r.newest_ms, "db prune: removed old rows");
                }
                r
            }
        };
        out.push(PrunePlan { kind, days, before_ms: before, range });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_days_keeps_for_ever() {
        assert_eq!(cutoff(10 * DAY_MS, 0), None);
        assert_eq!(cutoff(10 * DAY_MS, 3), Some(7 * DAY_MS));
    }

    #[test]
    fn metrics_name_every_kind() {
        let m = RetentionMetrics::default();
        m.removed[index(RetentionKind::Relay)].add(5);
        let out = crate::metrics::render_once(crate::metrics::Shared(Arc::new(m)));
        assert!(out.contains("sockhub_retention_removed_total{kind=\"relay\"} 5"), "{out}");
        assert!(out.contains("sockhub_retention_removed_total{kind=\"chat\"} 0"), "{out}");
        assert!(out.contains("sockhub_retention_runs_total 0"), "{out}");
    }
}
