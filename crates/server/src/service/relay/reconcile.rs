//! Reconcile: does downstream hold every record this node marked forwarded?
//!
//! **What is compared.** Per source, the set `F` of seqs this node has in state `forwarded`
//! (downstream acknowledged them) against the set `R` of seqs downstream has stored (any
//! state). Every record `F` holds must be in `R` with the same content. Kept records are never
//! in `F`: they were deliberately not forwarded, so their seqs are expected holes downstream,
//! not gaps. Held and queued records are not in `F` either.
//!
//! **How.** Both sides can sum over a range of seqs: `COUNT(*)` and `SUM(digest)`, where the
//! digest is a 32-bit hash of a record's seq, time and payload. Starting with one range covering
//! the source, ranges whose figures differ are split in 16 and asked again; a range with at most
//! [`LEAF`] records on both sides is listed `(seq, digest)` by `(seq, digest)` and compared
//! exactly. Equal figures over the whole source cost one query on each side; each difference
//! costs a few round trips more. The result per source:
//! - **missing**: in `F`, not in `R` (lost downstream, or deleted there). They are marked
//!   `missing` and, with `resend_missing`, queued again at once (the resend is recorded, by
//!   `reconcile`); otherwise they wait for an operator.
//! - **extra**: in `R`, not in `F`: records downstream has that this node did not mark forwarded
//!   (an acknowledgement lost in a crash: still queued here and about to be re-sent; or records
//!   that reached downstream another way). Reported, nothing to repair.
//! - **mismatched**: in both, with different digests (downstream holds other content under that
//!   seq). Reported at WARN; a re-send cannot fix it because downstream keeps the first copy.
//!
//! **Retention.** Either node may have removed old records (`[retention] relay_days`): this one
//! its confirmed records, downstream whatever it pruned in turn. Each node records the highest
//! seq it pruned per source (`pruned_seq`, sent in the `summary` reply), and only the seqs above
//! the higher of the two are compared, so a pruned range is never reported missing. A record
//! below that mark forwarded later (an old held record re-sent) is not checked by reconcile.
//!
//! It runs on the forwarding connection, only while nothing is in flight (the forwarder stops
//! sending and waits for every acknowledgement first), so `F` and `R` are not moving. Downstream's
//! stored range and gap count are fetched for the report too.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use sockhub_proto::relay::{RelayEvent, RelayRequest};
use sockhub_store::{ReconcileOutcome, ReconcileRow, RelayState, ResendSelector};
use tokio::sync::{mpsc, oneshot};
use tracing::{info, warn};

use super::forwarder::Link;
use super::{Control, ReconcileCause, RelayError, Shared, now_ms};

/// A range with at most this many records on both sides is compared record by record.
pub const LEAF: i64 = 256;
/// A range that differs is split into this many.
const FANOUT: i64 = 16;
/// Most ranges asked in one `digests` request.
const RANGES_PER_REQUEST: usize = 16;
/// How long one question may take to answer.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// What a reconcile found.
pub(crate) struct Report {
    pub started_ms: i64,
    pub outcome: ReconcileOutcome,
    pub sources: i64,
    pub missing: i64,
    pub extra: i64,
    pub mismatched: i64,
    pub detail: Vec<SourceFinding>,
    /// Sources whose missing records were queued again.
    pub requeued: Vec<Arc<str>>,
}

/// What reconcile found for one source: an entry of a run's `detail`.
#[derive(Debug, Clone, Serialize)]
pub struct SourceFinding {
    pub source: String,
    /// Records of the source this node marked forwarded.
    pub forwarded: i64,
    /// Records kept here by a keep rule (expected holes downstream).
    pub kept_not_forwarded: i64,
    /// The lowest seq compared (above both nodes' retention marks).
    pub compared_from: i64,
    pub downstream: DownstreamSummary,
    pub missing: usize,
    /// The first 100 missing seqs.
    pub missing_seqs: Vec<i64>,
    /// Records queued again at once (`resend_missing`).
    pub requeued: i64,
    pub extra: usize,
    /// The extra records by their state here (`awaiting_ack` for queued ones, `not_from_here`
    /// for seqs this node does not hold).
    pub extra_kinds: BTreeMap<&'static str, i64>,
    pub mismatched: usize,
    /// The first 100 mismatched seqs.
    pub mismatched_seqs: Vec<i64>,
}

/// Downstream's `summary` reply for one source, as reported.
#[derive(Debug, Clone, Serialize)]
pub struct DownstreamSummary {
    pub count: i64,
    pub first: Option<i64>,
    pub last: Option<i64>,
    pub gaps: i64,
    pub pruned_seq: Option<i64>,
}

/// The last reconcile run, as the live status, the settled operator request and the web page
/// show it.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum ReconcileSummary {
    Finished {
        cause: ReconcileCause,
        outcome: ReconcileOutcome,
        started_ms: i64,
        finished_ms: i64,
        sources: i64,
        missing: i64,
        extra: i64,
        mismatched: i64,
        detail: Vec<SourceFinding>,
    },
    Failed {
        cause: ReconcileCause,
        /// Always [`ReconcileOutcome::Failed`].
        outcome: ReconcileOutcome,
        error: String,
        finished_ms: i64,
    },
}

#[derive(Default)]
struct Diff {
    missing: Vec<i64>,
    extra: Vec<i64>,
    mismatched: Vec<i64>,
}

pub(crate) async fn run(
    shared: &Arc<Shared>,
    link: &mut Link,
    ingest: &mpsc::Sender<Control>,
    cause: ReconcileCause,
) -> Result<Report, RelayError> {
    let started = Instant::now();
    let started_ms = now_ms();
    let sources: Vec<(Arc<str>, i64, i64, i64, i64)> = {
        let map = shared.sources.read();
        let mut v: Vec<_> = map
            .iter()
            .filter(|(_, s)| s.forwarded > 0 || s.missing > 0)
            .map(|(k, s)| (k.clone(), s.last_seq, s.forwarded, s.kept, s.pruned_seq))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    };
    let mut report = Report {
        started_ms,
        outcome: ReconcileOutcome::Ok,
        sources: sources.len() as i64,
        missing: 0,
        extra: 0,
        mismatched: 0,
        detail: Vec::new(),
        requeued: Vec::new(),
    };
    for (source, last, forwarded, kept, our_pruned) in sources {
        let (summary, their_pruned) = match link
            .request(&RelayRequest::Summary { source: source.to_string() }, REQUEST_TIMEOUT)
            .await?
        {
            RelayEvent::Summary { count, first, last, gaps_total, pruned_seq, .. } => (
                DownstreamSummary { count, first, last, gaps: gaps_total, pruned_seq },
                pruned_seq.unwrap_or(-1),
            ),
            other => return Err(RelayError::Unexpected { request: "summary", reply: format!("{other:?}") }),
        };
        // Seqs either node's retention removed are not compared: gone on purpose, not missing.
        let from = our_pruned.max(their_pruned).saturating_add(1).max(0);
        let diff =
            if from <= last { compare(shared, link, &source, from, last).await? } else { Diff::default() };
        let mut extra_kinds = BTreeMap::new();
        if !diff.extra.is_empty() {
            let states = shared.store.relay().states(&source, &diff.extra).await?;
            let unknown = diff.extra.len() as i64 - states.len() as i64;
            for (_, st) in states {
                let key = match st {
                    RelayState::Queued => "awaiting_ack",
                    other => other.as_str(),
                };
                *extra_kinds.entry(key).or_insert(0) += 1;
            }
            if unknown > 0 {
                extra_kinds.insert("not_from_here", unknown);
            }
        }
        if !diff.mismatched.is_empty() {
            warn!(%source, seqs = ?&diff.mismatched[..diff.mismatched.len().min(10)], "relay reconcile: downstream holds different content under these seqs");
        }
        let mut requeued = 0i64;
        if !diff.missing.is_empty() {
            let reason = format!("reconcile ({cause}) found it missing downstream");
            let (reply, rx) = oneshot::channel();
            ingest
                .send(Control::MarkMissing {
                    source: source.clone(),
                    seqs: diff.missing.clone(),
                    reason,
                    reply,
                })
                .await
                .map_err(|_| RelayError::ShuttingDown)?;
            let marked = rx.await.map_err(|_| RelayError::ShuttingDown)??;
            warn!(%source, missing = marked, "relay reconcile: records acknowledged by downstream are not there any more");
            if shared.settings.resend_missing && marked > 0 {
                let lo = *diff.missing.iter().min().unwrap_or(&0);
                let hi = *diff.missing.iter().max().unwrap_or(&0);
                let (reply, rx) = oneshot::channel();
                let selector = ResendSelector {
                    state: RelayState::Missing,
                    source: Some(source.to_string()),
                    seqs: Some((lo, hi)),
                };
                ingest
                    .send(Control::Resend { selector, by: "reconcile".into(), reply })
                    .await
                    .map_err(|_| RelayError::ShuttingDown)?;
                let result = rx.await.map_err(|_| RelayError::ShuttingDown)??;
                requeued = result.queued;
                report.requeued.push(source.clone());
            }
        }
        report.missing += diff.missing.len() as i64;
        report.extra += diff.extra.len() as i64;
        report.mismatched += diff.mismatched.len() as i64;
        report.detail.push(SourceFinding {
            source: source.to_string(),
            forwarded,
            kept_not_forwarded: kept,
            compared_from: from,
            downstream: summary,
            missing: diff.missing.len(),
            missing_seqs: diff.missing[..diff.missing.len().min(100)].to_vec(),
            requeued,
            extra: diff.extra.len(),
            extra_kinds,
            mismatched: diff.mismatched.len(),
            mismatched_seqs: diff.mismatched[..diff.mismatched.len().min(100)].to_vec(),
        });
    }
    report.outcome = if report.mismatched > 0 {
        ReconcileOutcome::Diverged
    } else if report.missing > 0 {
        if shared.settings.resend_missing { ReconcileOutcome::Repaired } else { ReconcileOutcome::Missing }
    } else {
        ReconcileOutcome::Ok
    };
    info!(
        cause = cause.as_str(),
        outcome = report.outcome.as_str(),
        sources = report.sources,
        missing = report.missing,
        extra = report.extra,
        mismatched = report.mismatched,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "relay: reconcile finished"
    );
    Ok(report)
}

/// Bisects `from..=last` of one source until every difference is pinned to seqs.
async fn compare(
    shared: &Shared,
    link: &mut Link,
    source: &Arc<str>,
    from: i64,
    last: i64,
) -> Result<Diff, RelayError> {
    let mut diff = Diff::default();
    let mut todo: VecDeque<(i64, i64)> = VecDeque::from([(from, last.max(from))]);
    while !todo.is_empty() {
        let ranges: Vec<(i64, i64)> = todo.drain(..todo.len().min(RANGES_PER_REQUEST)).collect();
        let theirs = match link
            .request(
                &RelayRequest::Digests { source: source.to_string(), ranges: ranges.clone() },
                REQUEST_TIMEOUT,
            )
            .await?
        {
            RelayEvent::Digests { ranges: r, .. } if r.len() == ranges.len() => r,
            other => return Err(RelayError::Unexpected { request: "digests", reply: format!("{other:?}") }),
        };
        let ours = shared.store.relay().digests(source, &ranges, true).await?;
        for (o, t) in ours.iter().zip(&theirs) {
            if o.count == t.count && o.sum == t.sum {
                continue;
            }
            if o.count.max(t.count) <= LEAF || o.hi - o.lo < FANOUT {
                leaf(shared, link, source, o.lo, o.hi, &mut diff).await?;
            } else {
                todo.extend(split(o.lo, o.hi));
            }
        }
    }
    Ok(diff)
}

async fn leaf(
    shared: &Shared,
    link: &mut Link,
    source: &str,
    lo: i64,
    hi: i64,
    diff: &mut Diff,
) -> Result<(), RelayError> {
    let theirs = match link
        .request(&RelayRequest::Listing { source: source.to_owned(), lo, hi }, REQUEST_TIMEOUT)
        .await?
    {
        RelayEvent::Listing { items, .. } => items,
        other => return Err(RelayError::Unexpected { request: "listing", reply: format!("{other:?}") }),
    };
    let ours = shared.store.relay().listing(source, lo, hi, true).await?;
    let (mut i, mut j) = (0, 0);
    while i < ours.len() || j < theirs.len() {
        match (ours.get(i), theirs.get(j)) {
            (Some(o), Some(t)) if o.0 == t.0 => {
                if o.1 != t.1 {
                    diff.mismatched.push(o.0);
                }
                i += 1;
                j += 1;
            }
            (Some(o), Some(t)) if o.0 < t.0 => {
                diff.missing.push(o.0);
                i += 1;
            }
            (Some(_), Some(t)) => {
                diff.extra.push(t.0);
                j += 1;
            }
            (Some(o), None) => {
                diff.missing.push(o.0);
                i += 1;
            }
            (None, Some(t)) => {
                diff.extra.push(t.0);
                j += 1;
            }
            (None, None) => break,
        }
    }
    Ok(())
}

/// `lo..=hi` in [`FANOUT`] nearly equal parts.
fn split(lo: i64, hi: i64) -> Vec<(i64, i64)> {
    let span = hi as i128 - lo as i128 + 1;
    let step = (span + FANOUT as i128 - 1) / FANOUT as i128;
    let mut out = Vec::new();
    let mut a = lo as i128;
    while a <= hi as i128 {
        let b = (a + step - 1).min(hi as i128);
        out.push((a as i64, b as i64));
        a = b + 1;
    }
    out
}

/// Saves the result (the reconcile table, the live status, the operator request if any).
pub(crate) async fn record(
    shared: &Shared,
    cause: ReconcileCause,
    request: Option<i64>,
    result: &Result<Report, RelayError>,
) {
    let finished = now_ms();
    let (row, summary) = match result {
        Ok(r) => {
            let row = ReconcileRow {
                id: 0,
                cause: cause.as_str().into(),
                started_ms: r.started_ms,
                finished_ms: finished,
                outcome: r.outcome,
                sources: r.sources,
                missing: r.missing,
                extra: r.extra,
                mismatched: r.mismatched,
                detail: to_json(&r.detail),
            };
            let summary = ReconcileSummary::Finished {
                cause,
                outcome: r.outcome,
                started_ms: r.started_ms,
                finished_ms: finished,
                sources: r.sources,
                missing: r.missing,
                extra: r.extra,
                mismatched: r.mismatched,
                detail: r.detail.clone(),
            };
            (row, summary)
        }
        Err(e) => {
            warn!(%cause, error = %e, "relay: reconcile failed");
            let error = e.to_string();
            let row = ReconcileRow {
                id: 0,
                cause: cause.as_str().into(),
                started_ms: finished,
                finished_ms: finished,
                outcome: ReconcileOutcome::Failed,
                sources: 0,
                missing: 0,
                extra: 0,
                mismatched: 0,
                detail: to_json(&FailedDetail { error: &error }),
            };
            let summary = ReconcileSummary::Failed {
                cause,
                outcome: ReconcileOutcome::Failed,
                error,
                finished_ms: finished,
            };
            (row, summary)
        }
    };
    if let Err(e) = shared.store.relay().reconcile_add(&row).await {
        warn!(error = %e, "relay: cannot save the reconcile result");
    }
    let text = to_json(&summary);
    *shared.last_reconcile.lock() = Some(summary);
    if let Some(id) = request {
        let status = if result.is_ok() { "done" } else { "failed" };
        let _ = shared.store.relay().request_finish(id, status, &text).await;
    }
}

/// The stored `detail` of a run that failed.
#[derive(Serialize)]
struct FailedDetail<'a> {
    error: &'a str,
}

/// JSON text of a report's part (plain data with string keys: it always serializes).
fn to_json(value: &impl Serialize) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::split;

    #[test]
    fn split_covers_the_range_exactly() {
        let parts = split(0, 99);
        assert_eq!(parts.len(), 15);
        assert_eq!(parts[0], (0, 6));
        assert_eq!(parts.last().unwrap().1, 99);
        for w in parts.windows(2) {
            assert_eq!(w[0].1 + 1, w[1].0);
        }
        let parts = split(0, i64::MAX);
        assert_eq!(parts.len(), 16);
        assert_eq!(parts.last().unwrap().1, i64::MAX);
        assert_eq!(split(5, 5), vec![(5, 5)]);
    }
}
