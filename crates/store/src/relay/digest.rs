//! What reconcile compares and repairs: `COUNT(*)` and `SUM(digest)` over ranges of seqs
//! ([`RangeDigest`]), `(seq, digest)` listings of small ranges, a source's seqs at a glance
//! ([`SeqSummary`]), marking records downstream lost as missing, and the log of finished runs
//! ([`ReconcileRow`], [`ReconcileOutcome`]).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::counters::Delta;
use super::{MAX_IN, RelayState, RelayStore, push_in_list};
use crate::error::StoreError;

string_enum! {
    /// How a reconcile run ended. Stored and shown in lower case.
    ReconcileOutcome {
        /// Both sides hold the same records.
        Ok => "ok",
        /// Downstream lacked records; they were queued again.
        Repaired => "repaired",
        /// Downstream lacked records, and re-sending them is off (`resend_missing = false`).
        Missing => "missing",
        /// Records differ in content: nothing a resend can repair.
        Diverged => "diverged",
        /// The run did not finish.
        Failed => "failed",
    }
}

/// `COUNT(*)` and `SUM(digest)` over the seqs `lo..=hi` of one source.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RangeDigest {
    pub lo: i64,
    pub hi: i64,
    pub count: i64,
    pub sum: i64,
}

/// A source's stored seqs at a glance: how many, the range, and the holes in it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeqSummary {
    pub count: i64,
    pub first: Option<i64>,
    pub last: Option<i64>,
    /// Missing ranges inside `first..=last`, at most the number asked for, lowest first.
    pub gaps: Vec<(i64, i64)>,
    /// How many gap ranges there are in all.
    pub gaps_total: i64,
}

/// A finished reconcile run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconcileRow {
    pub id: i64,
    /// `reconnect`, `periodic` or `manual`.
    pub cause: String,
    pub started_ms: i64,
    pub finished_ms: i64,
    pub outcome: ReconcileOutcome,
    pub sources: i64,
    pub missing: i64,
    pub extra: i64,
    pub mismatched: i64,
    /// JSON, per source.
    pub detail: String,
}

impl RelayStore<'_> {
    /// `COUNT(*)` and `SUM(digest)` over each range of `source`'s records; with
    /// `forwarded_only`, over its forwarded records only (what the upstream side of a reconcile
    /// compares), else over every record stored.
    pub async fn digests(
        self,
        source: &str,
        ranges: &[(i64, i64)],
        forwarded_only: bool,
    ) -> Result<Vec<RangeDigest>, StoreError> {
        let select = format!(
            "SELECT COUNT(*) AS n, {} AS digest_sum FROM relay_records",
            self.sum_as_bigint("digest")
        );
        let mut out = Vec::with_capacity(ranges.len());
        for &(lo, hi) in ranges {
            let mut b = self.buf();
            b.push(&select)
                .push(" WHERE source = ")
                .bind(source.to_owned())
                .push(" AND seq BETWEEN ")
                .bind(lo)
                .push(" AND ")
                .bind(hi);
            if forwarded_only {
                b.push(" AND state = 'forwarded'");
            }
            let row = b.build()?.fetch_one(self.pool()).await?;
            out.push(RangeDigest {
                lo,
                hi,
                count: row.try_get("n")?,
                // NULL over an empty range.
                sum: row.try_get::<Option<i64>, _>("digest_sum")?.unwrap_or(0),
            });
        }
        Ok(out)
    }

    /// `(seq, digest)` of `source`'s records in `lo..=hi` (forwarded ones only, or all), by seq.
    pub async fn listing(
        self,
        source: &str,
        lo: i64,
        hi: i64,
        forwarded_only: bool,
    ) -> Result<Vec<(i64, i64)>, StoreError> {
        let sql = if forwarded_only {
            "SELECT seq, digest FROM relay_records WHERE source = $1 AND seq BETWEEN $2 AND $3 \
             AND state = 'forwarded' ORDER BY seq"
        } else {
            "SELECT seq, digest FROM relay_records WHERE source = $1 AND seq BETWEEN $2 AND $3 ORDER BY seq"
        };
        let rows = self.query(sql).bind(source.to_owned()).bind(lo).bind(hi).fetch_all(self.pool()).await?;
        rows.iter().map(|r| Ok((r.try_get("seq")?, r.try_get("digest")?))).collect()
    }

    /// How many records of `source` are stored, their seq range, and up to `max_gaps` holes.
    pub async fn seq_summary(self, source: &str, max_gaps: u32) -> Result<SeqSummary, StoreError> {
        let row = self
            .query(
                "SELECT COUNT(*) AS n, MIN(seq) AS first_seq, MAX(seq) AS last_seq FROM relay_records \
                 WHERE source = $1",
            )
            .bind(source.to_owned())
            .fetch_one(self.pool())
            .await?;
        let mut s = SeqSummary {
            count: row.try_get("n")?,
            first: row.try_get("first_seq")?,
            last: row.try_get("last_seq")?,
            ..Default::default()
        };
        let (Some(first), Some(last)) = (s.first, s.last) else { return Ok(s) };
        if last - first + 1 == s.count {
            return Ok(s);
        }
        // Window functions: SQLite >= 3.25, MariaDB >= 10.2, PostgreSQL.
        s.gaps_total = self
            .query(
                "SELECT COUNT(*) AS n FROM (SELECT seq, LAG(seq) OVER (ORDER BY seq) AS prev \
                 FROM relay_records WHERE source = $1) t WHERE seq > prev + 1",
            )
            .bind(source.to_owned())
            .fetch_one(self.pool())
            .await?
            .try_get("n")?;
        let rows = self
            .query(
                "SELECT prev + 1 AS gap_from, seq - 1 AS gap_to FROM (SELECT seq, LAG(seq) OVER (ORDER BY seq) \
                 AS prev FROM relay_records WHERE source = $1) t WHERE seq > prev + 1 ORDER BY seq LIMIT $2",
            )
            .bind(source.to_owned())
            .bind(i64::from(max_gaps))
            .fetch_all(self.pool())
            .await?;
        for r in rows {
            s.gaps.push((r.try_get("gap_from")?, r.try_get("gap_to")?));
        }
        Ok(s)
    }

    /// Marks forwarded records of `source` that downstream turned out not to have as missing
    /// (forwarded → missing), in one transaction. Returns how many changed.
    pub async fn mark_missing(self, source: &str, seqs: &[i64], reason: &str) -> Result<i64, StoreError> {
        let mut tx = self.begin().await?;
        let mut count = 0i64;
        let mut bytes = 0i64;
        let now = crate::model::to_ms(crate::model::now());
        for chunk in seqs.chunks(MAX_IN) {
            let mut b = self.buf();
            b.push(&format!(
                "SELECT COUNT(*) AS n, {} AS bytes FROM relay_records WHERE source = ",
                self.sum_as_bigint("bytes")
            ))
            .bind(source.to_owned());
            push_in_list(&mut b, "seq", chunk);
            b.push(" AND state = 'forwarded'");
            let row = b.build()?.fetch_one(&mut *tx).await?;
            count += row.try_get::<i64, _>("n")?;
            bytes += row.try_get::<Option<i64>, _>("bytes")?.unwrap_or(0);
            let mut b = self.buf();
            b.push("UPDATE relay_records SET state = 'missing', reason = ")
                .bind(reason.to_owned())
                .push(", done_ms = ")
                .bind(now)
                .push(" WHERE source = ")
                .bind(source.to_owned());
            push_in_list(&mut b, "seq", chunk);
            b.push(" AND state = 'forwarded'");
            b.build()?.execute(&mut *tx).await?;
        }
        if count > 0 {
            let mut d = Delta::default();
            d.add(RelayState::Forwarded, -count);
            d.add(RelayState::Missing, count);
            d.pending_bytes = bytes;
            d.min_queued = seqs.iter().min().copied();
            self.apply_delta(&mut tx, source, &d, 0).await?;
        }
        tx.commit().await?;
        Ok(count)
    }

    /// Records a finished reconcile run.
    pub async fn reconcile_add(self, r: &ReconcileRow) -> Result<(), StoreError> {
        self.query(
            "INSERT INTO relay_reconciles (cause, started_ms, finished_ms, outcome, sources, missing, \
             extra, mismatched, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(r.cause.clone())
        .bind(r.started_ms)
        .bind(r.finished_ms)
        .bind(r.outcome.as_str())
        .bind(r.sources)
        .bind(r.missing)
        .bind(r.extra)
        .bind(r.mismatched)
        .bind(r.detail.clone())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The newest reconcile runs, newest first.
    pub async fn reconciles(self, limit: u32) -> Result<Vec<ReconcileRow>, StoreError> {
        let rows = self
            .query(
                "SELECT id, cause, started_ms, finished_ms, outcome, sources, missing, extra, mismatched, \
                 detail FROM relay_reconciles ORDER BY id DESC LIMIT $1",
            )
            .bind(i64::from(limit))
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| {
                Ok(ReconcileRow {
                    id: r.try_get("id")?,
                    cause: r.try_get("cause")?,
                    started_ms: r.try_get("started_ms")?,
                    finished_ms: r.try_get("finished_ms")?,
                    outcome: r.try_get::<String, _>("outcome")?.parse()?,
                    sources: r.try_get("sources")?,
                    missing: r.try_get("missing")?,
                    extra: r.try_get("extra")?,
                    mismatched: r.try_get("mismatched")?,
                    detail: r.try_get("detail")?,
                })
            })
            .collect()
    }
}
