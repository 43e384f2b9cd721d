//! Reading the relay's tables: every source's counters ([`RelaySource`]), records as listed
//! ([`RelayRow`], picked by a [`RelayFilter`]), and the forwarder's catch-up scan over queued
//! records ([`QueuedRecord`]) with the scan floor it moves.

use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{MAX_IN, RelayState, RelayStore, push_in_list};
use crate::error::StoreError;

/// One source's counters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelaySource {
    pub source: String,
    pub last_seq: i64,
    pub received: i64,
    pub kept: i64,
    /// Accepted and not yet acknowledged by downstream ("in flight").
    pub queued: i64,
    pub forwarded: i64,
    pub held: i64,
    pub missing: i64,
    /// Records stored on a sink.
    pub stored: i64,
    pub pending_bytes: i64,
    pub queued_from: i64,
    pub first_ms: i64,
    pub last_ms: i64,
    /// Records refused because their seq was stored already with a different payload.
    #[serde(default)]
    pub conflicts: i64,
    /// Forwarded records removed by retention (see `retention.rs`).
    #[serde(default)]
    pub pruned: i64,
    /// The highest seq retention removed, -1 if none: reconcile compares only the seqs above it.
    #[serde(default = "no_seq")]
    pub pruned_seq: i64,
}

fn no_seq() -> i64 {
    -1
}

impl Default for RelaySource {
    fn default() -> Self {
        RelaySource {
            source: String::new(),
            last_seq: 0,
            received: 0,
            kept: 0,
            queued: 0,
            forwarded: 0,
            held: 0,
            missing: 0,
            stored: 0,
            pending_bytes: 0,
            queued_from: 0,
            first_ms: 0,
            last_ms: 0,
            conflicts: 0,
            pruned: 0,
            pruned_seq: no_seq(),
        }
    }
}

impl RelaySource {
    /// Whether the counters add up (they always should).
    pub fn adds_up(&self) -> bool {
        self.received
            == self.kept + self.queued + self.forwarded + self.held + self.missing + self.stored + self.pruned
    }
}

/// A record as listed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelayRow {
    pub id: i64,
    pub source: String,
    pub seq: i64,
    pub state: RelayState,
    pub rule: Option<String>,
    pub reason: Option<String>,
    pub at_ms: i64,
    pub received_ms: i64,
    pub done_ms: Option<i64>,
    pub bytes: i64,
    pub digest: i64,
    pub resends: i64,
    pub payload: String,
}

/// Which records to list.
#[derive(Clone, Debug, Default)]
pub struct RelayFilter {
    /// `None` (or `Received`, on a node that forwards): every record, whatever its state.
    pub state: Option<RelayState>,
    pub source: Option<String>,
    /// Only records received at or after this time (unix ms).
    pub since_ms: Option<i64>,
    /// Only seqs in this inclusive range.
    pub seqs: Option<(i64, i64)>,
    /// Only records whose payload contains this text (case-insensitive for ASCII letters).
    pub text: Option<String>,
    /// Only records that arrived before the record with this id (the review screen's paging).
    pub before_id: Option<i64>,
    /// Newest first instead of arrival order.
    pub newest_first: bool,
    /// At most this many, in arrival order (or newest first).
    pub limit: Option<u32>,
}

/// A queued record, as the forwarder reads it.
#[derive(Clone, Debug)]
pub struct QueuedRecord {
    pub seq: i64,
    pub at_ms: i64,
    pub received_ms: i64,
    pub bytes: i64,
    pub payload: String,
}

/// `SELECT <every column of relay_sources> FROM relay_sources <rest>`.
macro_rules! sources {
    ($rest:literal) => {
        concat!(
            "SELECT source, last_seq, received, kept, queued, forwarded, held, missing, stored, \
             pending_bytes, queued_from, first_ms, last_ms, conflicts, pruned, pruned_seq FROM relay_sources ",
            $rest
        )
    };
}

fn source_from_row(r: &AnyRow) -> Result<RelaySource, StoreError> {
    Ok(RelaySource {
        source: r.try_get("source")?,
        last_seq: r.try_get("last_seq")?,
        received: r.try_get("received")?,
        kept: r.try_get("kept")?,
        queued: r.try_get("queued")?,
        forwarded: r.try_get("forwarded")?,
        held: r.try_get("held")?,
        missing: r.try_get("missing")?,
        stored: r.try_get("stored")?,
        pending_bytes: r.try_get("pending_bytes")?,
        queued_from: r.try_get("queued_from")?,
        first_ms: r.try_get("first_ms")?,
        last_ms: r.try_get("last_ms")?,
        conflicts: r.try_get("conflicts")?,
        pruned: r.try_get("pruned")?,
        pruned_seq: r.try_get("pruned_seq")?,
    })
}

/// The columns [`row_from_row`] reads.
const ROW_COLUMNS: &str = "SELECT id, source, seq, state, rule, reason, at_ms, received_ms, done_ms, bytes, digest, resends, payload";

fn row_from_row(r: &AnyRow) -> Result<RelayRow, StoreError> {
    Ok(RelayRow {
        id: r.try_get("id")?,
        source: r.try_get("source")?,
        seq: r.try_get("seq")?,
        state: r.try_get::<String, _>("state")?.parse()?,
        rule: r.try_get("rule")?,
        reason: r.try_get("reason")?,
        at_ms: r.try_get("at_ms")?,
        received_ms: r.try_get("received_ms")?,
        done_ms: r.try_get("done_ms")?,
        bytes: r.try_get("bytes")?,
        digest: r.try_get("digest")?,
        resends: r.try_get("resends")?,
        payload: r.try_get("payload")?,
    })
}

impl RelayStore<'_> {
    /// Every source's counters, by name.
    pub async fn sources(self) -> Result<Vec<RelaySource>, StoreError> {
        let rows = self.query(sources!("ORDER BY source")).fetch_all(self.pool()).await?;
        rows.iter().map(source_from_row).collect()
    }

    /// One source's counters.
    pub async fn source(self, source: &str) -> Result<Option<RelaySource>, StoreError> {
        let row = self
            .query(sources!("WHERE source = $1"))
            .bind(source.to_owned())
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(source_from_row).transpose()
    }

    /// Up to `limit` queued records of `source` with seq ≥ `from`, lowest seq first (the
    /// forwarder's catch-up scan).
    pub async fn queued(self, source: &str, from: i64, limit: u32) -> Result<Vec<QueuedRecord>, StoreError> {
        let rows = self
            .query(
                "SELECT seq, at_ms, received_ms, bytes, payload FROM relay_records \
                 WHERE source = $1 AND seq >= $2 AND state = 'queued' ORDER BY seq LIMIT $3",
            )
            .bind(source.to_owned())
            .bind(from)
            .bind(i64::from(limit))
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| {
                Ok(QueuedRecord {
                    seq: r.try_get("seq")?,
                    at_ms: r.try_get("at_ms")?,
                    received_ms: r.try_get("received_ms")?,
                    bytes: r.try_get("bytes")?,
                    payload: r.try_get("payload")?,
                })
            })
            .collect()
    }

    /// Moves `source`'s scan floor (`queued_from`) up to its lowest queued seq and returns that
    /// record's `(seq, received_ms)`, or `None` if nothing is queued (the floor then goes past
    /// the last seq). Call it from the task that writes the relay tables: it reads and writes
    /// in one transaction so no record queued meanwhile can end up below the floor.
    pub async fn advance_floor(self, source: &str) -> Result<Option<(i64, i64)>, StoreError> {
        let mut tx = self.begin().await?;
        // Several nodes on one database: lock the source's row first, so that a node committing
        // records of this source either committed before the read below (which then sees them)
        // or applies its `LEAST(queued_from, ..)` after this transaction's update.
        self.lock_source(&mut tx, source).await?;
        let row = self
            .query(
                "SELECT r.seq AS seq, r.received_ms AS received_ms FROM relay_records r \
                 JOIN relay_sources s ON s.source = r.source WHERE r.source = $1 \
                 AND r.seq >= s.queued_from AND r.state = 'queued' ORDER BY r.seq LIMIT 1",
            )
            .bind(source.to_owned())
            .fetch_optional(&mut *tx)
            .await?;
        let first = match &row {
            Some(r) => Some((r.try_get::<i64, _>("seq")?, r.try_get::<i64, _>("received_ms")?)),
            None => None,
        };
        match first {
            Some((seq, _)) => {
                self.query("UPDATE relay_sources SET queued_from = $1 WHERE source = $2")
                    .bind(seq)
                    .bind(source.to_owned())
                    .execute(&mut *tx)
                    .await?;
            }
            None => {
                self.query("UPDATE relay_sources SET queued_from = last_seq + 1 WHERE source = $1")
                    .bind(source.to_owned())
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(first)
    }

    /// Records matching `f`, in arrival order.
    pub async fn list(self, f: &RelayFilter) -> Result<Vec<RelayRow>, StoreError> {
        let mut b = self.buf();
        b.push(ROW_COLUMNS).push(" FROM relay_records WHERE 1 = 1");
        if let Some(state) = f.state {
            b.push(" AND state = ").bind(state.as_str());
        }
        if let Some(source) = &f.source {
            b.push(" AND source = ").bind(source.clone());
        }
        if let Some(since) = f.since_ms {
            b.push(" AND received_ms >= ").bind(since);
        }
        if let Some((lo, hi)) = f.seqs {
            b.push(" AND seq BETWEEN ").bind(lo).push(" AND ").bind(hi);
        }
        if let Some(text) = &f.text {
            // `!` escapes LIKE's wildcards: the one escape character spelled the same way in
            // SQLite, MySQL and PostgreSQL string literals (a backslash is not).
            let pattern =
                format!("%{}%", text.to_lowercase().replace('!', "!!").replace('%', "!%").replace('_', "!_"));
            b.push(" AND LOWER(payload) LIKE ").bind(pattern).push(" ESCAPE '!'");
        }
        if let Some(before) = f.before_id {
            b.push(" AND id < ").bind(before);
        }
        b.push(if f.newest_first { " ORDER BY id DESC" } else { " ORDER BY id" });
        if let Some(n) = f.limit {
            b.push(" LIMIT ").bind(i64::from(n));
        }
        let rows = b.build()?.fetch_all(self.pool()).await?;
        rows.iter().map(row_from_row).collect()
    }

    /// The state of each of `seqs` of `source` that is stored.
    pub async fn states(self, source: &str, seqs: &[i64]) -> Result<Vec<(i64, RelayState)>, StoreError> {
        let mut out = Vec::new();
        for chunk in seqs.chunks(MAX_IN) {
            let mut b = self.buf();
            b.push("SELECT seq, state FROM relay_records WHERE source = ").bind(source.to_owned());
            push_in_list(&mut b, "seq", chunk);
            for row in b.build()?.fetch_all(self.pool()).await? {
                out.push((row.try_get("seq")?, row.try_get::<String, _>("state")?.parse()?));
            }
        }
        Ok(out)
    }
}
