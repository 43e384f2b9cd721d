//! The per-source counters in `relay_sources`: the [`Delta`] a transaction accumulates and
//! applies in one statement per source, the row lock that orders writers of one source, and
//! the recount that rebuilds a source's counters from its records.

use sqlx::Row;

use super::{RelayState, RelayStore, Tx};
use crate::error::StoreError;
use crate::store::Backend;

/// Per-source counter changes accumulated during one transaction.
#[derive(Default)]
pub(super) struct Delta {
    pub(super) received: i64,
    pub(super) by_state: [i64; 6],
    pub(super) pending_bytes: i64,
    pub(super) max_seq: Option<i64>,
    pub(super) min_queued: Option<i64>,
    pub(super) touched_by_records: bool,
    pub(super) conflicts: i64,
}

impl Delta {
    pub(super) fn add(&mut self, state: RelayState, n: i64) {
        let i = RelayState::ALL.iter().position(|s| *s == state).unwrap_or(0);
        self.by_state[i] += n;
    }
}

impl RelayStore<'_> {
    /// Rebuilds one source's counters from its records (in its own transaction).
    pub async fn recount(self, source: &str) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        self.recount_in(&mut tx, source).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Creates `source`'s counters row if it does not exist.
    pub(super) async fn ensure_source(
        self,
        tx: &mut Tx,
        source: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let sql = match self.backend() {
            Backend::MySql => {
                "INSERT IGNORE INTO relay_sources (source, first_ms, last_ms) VALUES ($1, $2, $3)"
            }
            _ => {
                "INSERT INTO relay_sources (source, first_ms, last_ms) VALUES ($1, $2, $3) \
                 ON CONFLICT DO NOTHING"
            }
        };
        self.query(sql).bind(source.to_owned()).bind(now_ms).bind(now_ms).execute(&mut **tx).await?;
        Ok(())
    }

    /// Adds `d` to `source`'s counters (creating the row if records of it were stored).
    pub(super) async fn apply_delta(
        self,
        tx: &mut Tx,
        source: &str,
        d: &Delta,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        if d.touched_by_records {
            self.ensure_source(tx, source, now_ms).await?;
        }
        let mut b = self.buf();
        b.push("UPDATE relay_sources SET received = received + ").bind(d.received);
        for (state, n) in RelayState::ALL.iter().zip(d.by_state) {
            if n != 0 {
                let col = state.counter();
                b.push(", ").push(col).push(" = ").push(col).push(" + ").bind(n);
            }
        }
        b.push(", pending_bytes = pending_bytes + ").bind(d.pending_bytes);
        if d.conflicts != 0 {
            b.push(", conflicts = conflicts + ").bind(d.conflicts);
        }
        if let Some(max) = d.max_seq {
            b.push(", last_seq = ").push(self.greatest()).push("(last_seq, ").bind(max).push(")");
        }
        if let Some(min) = d.min_queued {
            b.push(", queued_from = ").push(self.least()).push("(queued_from, ").bind(min).push(")");
        }
        if d.touched_by_records {
            b.push(", last_ms = ").bind(now_ms);
        }
        b.push(" WHERE source = ").bind(source.to_owned());
        b.build()?.execute(&mut **tx).await?;
        Ok(())
    }

    /// Takes the write lock on `source`'s counters row until the transaction ends (a no-op
    /// update: every backend locks the row it updates).
    pub(super) async fn lock_source(self, tx: &mut Tx, source: &str) -> Result<(), StoreError> {
        self.query("UPDATE relay_sources SET queued_from = queued_from WHERE source = $1")
            .bind(source.to_owned())
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// Rebuilds `source`'s counters from its records inside `tx`.
    pub(super) async fn recount_in(self, tx: &mut Tx, source: &str) -> Result<(), StoreError> {
        // Lock the counters' row first, so no other node's delta lands between the count and the
        // update; on MySQL read the newest committed rows (a plain read would use the transaction's
        // snapshot, which may predate another node's commit).
        self.lock_source(tx, source).await?;
        let mut b = self.buf();
        b.push(&format!(
            "SELECT state, COUNT(*) AS n, {} AS bytes FROM relay_records",
            self.sum_as_bigint("bytes")
        ))
        .push(" WHERE source = ")
        .bind(source.to_owned())
        .push(" GROUP BY state");
        if self.backend() == Backend::MySql {
            b.push(" LOCK IN SHARE MODE");
        }
        let rows = b.build()?.fetch_all(&mut **tx).await?;
        let mut counts = [0i64; 6];
        let mut pending = 0i64;
        let mut received = 0i64;
        for r in rows {
            let state: RelayState = r.try_get::<String, _>("state")?.parse()?;
            let n: i64 = r.try_get("n")?;
            let bytes: i64 = r.try_get::<Option<i64>, _>("bytes")?.unwrap_or(0);
            let i = RelayState::ALL.iter().position(|s| *s == state).unwrap_or(0);
            counts[i] += n;
            received += n;
            if state.is_pending() {
                pending += bytes;
            }
        }
        let mut b = self.buf();
        // Records removed by retention are gone from the table but were received all the same.
        b.push("UPDATE relay_sources SET received = pruned + ").bind(received);
        for (state, n) in RelayState::ALL.iter().zip(counts) {
            b.push(", ").push(state.counter()).push(" = ").bind(n);
        }
        b.push(", pending_bytes = ").bind(pending).push(" WHERE source = ").bind(source.to_owned());
        b.build()?.execute(&mut **tx).await?;
        Ok(())
    }
}
