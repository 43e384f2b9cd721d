//! Retention: removing old rows in small batches (migration `0009_retention`).
//!
//! Four kinds of rows grow for as long as a server runs: chat lines, logins, quiz attempts and
//! relay records. [`Store::retention_prune_batch`] removes at most `limit` rows of one kind
//! older than a cutoff, in **one short transaction**, so that a live writer (the batched log
//! writer, the relay's group commit) waits at most for one batch, never for a whole purge; the
//! caller repeats until a batch comes back short. [`Store::retention_preview`] counts what would
//! go, for `sockhub db prune --dry-run`.
//!
//! Which rows count as old:
//! - chat lines and logins: `at_ms` before the cutoff;
//! - quiz attempts: `received_at_ms` (when the answer arrived) before the cutoff;
//! - relay records: only records **downstream confirmed** (`state = 'forwarded'`), whose
//!   confirmation (`done_ms`) is before the cutoff. Queued, held, missing and kept records, and a
//!   sink's `received` records (the last copy there is), are never removed here.
//!
//! Removing relay records keeps the counters adding up: in the same transaction the source's
//! `forwarded` goes down and `pruned` goes up by the number removed, and `pruned_seq` rises to
//! the highest seq removed. Reconcile compares only the seqs above the higher `pruned_seq` of
//! the two nodes, so a pruned range is never reported missing (see the server's
//! `service/relay/reconcile.rs`). One transaction touches one source's records and counters.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::error::StoreError;
use crate::store::{Backend, Store};

/// What retention removes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RetentionKind {
    /// Chat lines, whispers included (`chat_messages`).
    Chat,
    /// The login log (`logins`).
    Logins,
    /// Quiz answers and timeouts (`quiz_attempts`); rounds and their leaderboards stay.
    Quiz,
    /// Relay records downstream confirmed (`relay_records` in state `forwarded`).
    Relay,
}

impl RetentionKind {
    pub const ALL: [RetentionKind; 4] =
        [RetentionKind::Chat, RetentionKind::Logins, RetentionKind::Quiz, RetentionKind::Relay];

    pub fn as_str(self) -> &'static str {
        match self {
            RetentionKind::Chat => "chat",
            RetentionKind::Logins => "logins",
            RetentionKind::Quiz => "quiz",
            RetentionKind::Relay => "relay",
        }
    }

    /// `(table, time column, extra condition)`.
    fn source(self) -> (&'static str, &'static str, &'static str) {
        match self {
            RetentionKind::Chat => ("chat_messages", "at_ms", ""),
            RetentionKind::Logins => ("logins", "at_ms", ""),
            RetentionKind::Quiz => ("quiz_attempts", "received_at_ms", ""),
            RetentionKind::Relay => ("relay_records", "done_ms", " AND state = 'forwarded'"),
        }
    }
}

impl fmt::Display for RetentionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RetentionKind {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Self, StoreError> {
        RetentionKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| StoreError::Invalid(format!("unknown retention kind {s:?}")))
    }
}

/// What a prune would remove (or removed): how many rows, and the time range they cover.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PruneRange {
    pub count: i64,
    /// The oldest and newest time (unix ms) among them; `None` when there are none.
    pub oldest_ms: Option<i64>,
    pub newest_ms: Option<i64>,
}

impl PruneRange {
    /// Adds another range to this one.
    pub fn merge(&mut self, other: &PruneRange) {
        self.count += other.count;
        self.oldest_ms = min_opt(self.oldest_ms, other.oldest_ms);
        self.newest_ms = max_opt(self.newest_ms, other.newest_ms);
    }
}

/// Relay records removed from one source by one batch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelayPruned {
    pub source: String,
    pub count: i64,
    /// The highest seq removed.
    pub max_seq: i64,
}

/// What one [`Store::retention_prune_batch`] removed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PrunedBatch {
    pub removed: PruneRange,
    /// For [`RetentionKind::Relay`]: the source the batch touched (one per batch).
    pub relay: Option<RelayPruned>,
}

impl Store {
    /// How many rows of `kind` are older than `before_ms`, and their time range. Reads only.
    pub async fn retention_preview(
        &self,
        kind: RetentionKind,
        before_ms: i64,
    ) -> Result<PruneRange, StoreError> {
        let (table, col, cond) = kind.source();
        let mut b = self.buf();
        b.push(&format!("SELECT COUNT(*), MIN({col}), MAX({col}) FROM {table} WHERE {col} < "))
            .bind(before_ms)
            .push(cond);
        let row = b.build()?.fetch_one(&self.pool).await?;
        Ok(PruneRange { count: row.try_get(0)?, oldest_ms: row.try_get(1)?, newest_ms: row.try_get(2)? })
    }

    /// Removes at most `limit` rows of `kind` older than `before_ms`, oldest first, in one
    /// transaction. Call it until it removes nothing: a relay batch takes one source at a time,
    /// so a short batch there does not mean that nothing is left.
    pub async fn retention_prune_batch(
        &self,
        kind: RetentionKind,
        before_ms: i64,
        limit: u32,
    ) -> Result<PrunedBatch, StoreError> {
        let limit = i64::from(limit.max(1));
        if kind == RetentionKind::Relay {
            return self.prune_relay_batch(before_ms, limit).await;
        }
        let (table, col, _) = kind.source();
        let mut tx = self.begin_write().await?;
        let mut b = self.buf();
        b.push(&format!("SELECT id, {col} FROM {table} WHERE {col} < "))
            .bind(before_ms)
            .push(&format!(" ORDER BY {col}, id LIMIT "))
            .bind(limit);
        let rows = b.build()?.fetch_all(&mut *tx).await?;
        let mut removed = PruneRange::default();
        let mut ids = Vec::with_capacity(rows.len());
        for r in &rows {
            ids.push(r.try_get::<i64, _>(0)?);
            let at: i64 = r.try_get(1)?;
            removed.merge(&PruneRange { count: 0, oldest_ms: Some(at), newest_ms: Some(at) });
        }
        removed.count = delete_ids(self, &mut tx, table, &ids, "").await?;
        tx.commit().await?;
        Ok(PrunedBatch { removed, relay: None })
    }

    async fn prune_relay_batch(&self, before_ms: i64, limit: i64) -> Result<PrunedBatch, StoreError> {
        // The source of the oldest confirmed record that is old enough: one source per batch, so
        // the transaction locks one counters row.
        let source: Option<String> = {
            let mut b = self.buf();
            b.push("SELECT source FROM relay_records WHERE done_ms < ")
                .bind(before_ms)
                .push(" AND state = 'forwarded' ORDER BY done_ms LIMIT 1");
            b.build()?.fetch_optional(&self.pool).await?.map(|r| r.try_get(0)).transpose()?
        };
        let Some(source) = source else { return Ok(PrunedBatch::default()) };
        let mut tx = self.begin_write().await?;
        let lock = match self.backend() {
            Backend::Sqlite => "",
            Backend::MySql | Backend::Postgres => " FOR UPDATE",
        };
        let mut b = self.buf();
        b.push("SELECT id, seq, done_ms FROM relay_records WHERE source = ")
            .bind(source.clone())
            .push(" AND state = 'forwarded' AND done_ms < ")
            .bind(before_ms)
            .push(" ORDER BY done_ms LIMIT ")
            .bind(limit)
            .push(lock);
        let rows = b.build()?.fetch_all(&mut *tx).await?;
        let mut removed = PruneRange::default();
        let mut ids = Vec::with_capacity(rows.len());
        let mut max_seq = -1i64;
        for r in &rows {
            ids.push(r.try_get::<i64, _>(0)?);
            max_seq = max_seq.max(r.try_get(1)?);
            let at: i64 = r.try_get(2)?;
            removed.merge(&PruneRange { count: 0, oldest_ms: Some(at), newest_ms: Some(at) });
        }
        removed.count = delete_ids(self, &mut tx, "relay_records", &ids, " AND state = 'forwarded'").await?;
        if removed.count > 0 {
            let mut b = self.buf();
            b.push("UPDATE relay_sources SET forwarded = forwarded - ")
                .bind(removed.count)
                .push(", pruned = pruned + ")
                .bind(removed.count)
                .push(", pruned_seq = CASE WHEN pruned_seq < ")
                .bind(max_seq)
                .push(" THEN ")
                .bind(max_seq)
                .push(" ELSE pruned_seq END WHERE source = ")
                .bind(source.clone());
            b.build()?.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        let relay = (removed.count > 0).then_some(RelayPruned { source, count: removed.count, max_seq });
        Ok(PrunedBatch { removed, relay })
    }

    /// A transaction that writes. SQLite takes the write lock up front (a deferred one that reads
    /// first fails at once with SQLITE_BUSY_SNAPSHOT if another connection wrote in between).
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, StoreError> {
        Ok(match self.backend() {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            _ => self.pool.begin().await?,
        })
    }
}

/// `DELETE FROM table WHERE id IN (ids) <cond>`; returns the rows removed.
async fn delete_ids(
    store: &Store,
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    table: &str,
    ids: &[i64],
    cond: &str,
) -> Result<i64, StoreError> {
    let mut removed = 0i64;
    for chunk in ids.chunks(512) {
        let mut b = store.buf();
        b.push(&format!("DELETE FROM {table} WHERE id IN ("));
        for (i, id) in chunk.iter().enumerate() {
            if i > 0 {
                b.push(", ");
            }
            b.bind(*id);
        }
        b.push(")").push(cond);
        removed += b.build()?.execute(&mut **tx).await?.rows_affected() as i64;
    }
    Ok(removed)
}

fn min_opt(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn max_opt(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip() {
        for k in RetentionKind::ALL {
            assert_eq!(k.as_str().parse::<RetentionKind>().unwrap(), k);
        }
        assert!("nope".parse::<RetentionKind>().is_err());
    }

    #[test]
    fn ranges_merge() {
        let mut a = PruneRange::default();
        a.merge(&PruneRange { count: 2, oldest_ms: Some(5), newest_ms: Some(9) });
        a.merge(&PruneRange { count: 1, oldest_ms: Some(3), newest_ms: Some(4) });
        assert_eq!(a, PruneRange { count: 3, oldest_ms: Some(3), newest_ms: Some(9) });
    }
}
