//! The relay's storage: records, per-source counters, operator requests, reconcile results and
//! node status (migration `0004_relay`).
//!
//! The relay acknowledges a record only once it is committed, so unlike the chat logs nothing
//! here goes through the batched [`crate::Journal`] (whose queue lives in memory). Instead the
//! server's relay ingest task calls [`RelayStore::write`] with everything that piled up since
//! its last call — new records from every connection, downstream's acknowledgements, records
//! to hold — and that is **one transaction**: a group commit. The cost of a commit (an fsync on
//! SQLite) is shared by thousands of records.
//!
//! # Exactly once, and first come first kept
//! `(source, seq)` is unique in `relay_records`, and inserts skip rows that exist (`ON CONFLICT
//! DO NOTHING`, MySQL's `INSERT IGNORE`), so a record re-sent after a crash is stored once
//! however often it arrives. A re-send must carry the stored payload: a different one under a
//! stored `(source, seq)` is a [`Stored::Conflict`] — nothing is written, the stored record
//! stays, and the source's `conflicts` counter goes up. The payloads are compared only for the
//! records found stored (the lookup below reads their payloads along with their seqs), so the
//! check costs no query of its own. The write also needs to know *which* records were new (to count
//! them and to forward only those). Records whose seq is above every seq stored for their
//! source are new unless another process raced us; the caller marks the others
//! [`RelayRecord::maybe_dup`] (it knows each source's last seq) and only those are looked up
//! first. The insert's row count then confirms the guess: if another writer got in between
//! (another node on a shared database), the transaction is rolled back and redone with every
//! record looked up.
//!
//! # Counters that add up
//! `relay_sources` holds per source how many records were received and how many are in each
//! state. Every change of state changes two counters in the same transaction as the records,
//! so `received = kept + queued + forwarded + held + missing + stored + pruned` holds at every
//! commit (`queued` is "accepted, not yet acknowledged by downstream": waiting or in flight;
//! `stored` counts a sink's records, which stay `received`; `pruned` counts forwarded records
//! that retention removed, see `retention.rs`). [`RelayStore::recount`] rebuilds a
//! source's counters from its records, should anyone edit the table by hand.
//!
//! # Digests
//! Every record carries a 32-bit content digest ([`record_digest`]: FNV-1a over seq, timestamp
//! and payload). Reconcile compares `COUNT(*)` and `SUM(digest)` over ranges of seqs on two
//! nodes; a sum of 32-bit values cannot overflow a BIGINT below 2^31 rows per range.
//!
//! # Layout
//! Every query is a method of [`RelayStore`], the borrowed handle [`Store::relay`](crate::Store::relay) returns,
//! grouped by concern, each row type next to the SELECT that reads it:
//! - this file: [`RelayState`], [`record_digest`], the handle and the small SQL helpers;
//! - `write.rs`: the group commit ([`RelayStore::write`]) and its steps;
//! - `counters.rs`: the per-source counters (deltas, locking, recount);
//! - `query.rs`: counters, records and the forwarder's scan, as read;
//! - `operator.rs`: operator requests, resends and node status;
//! - `digest.rs`: what reconcile compares and repairs, and its runs;
//! - `token.rs`: device tokens.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sqlx::any::AnyArguments;
use sqlx::{Any, Row};

use crate::error::StoreError;
use crate::store::{Backend, SqlBuf};

mod counters;
mod digest;
mod operator;
mod query;
pub(crate) mod token;
mod write;

pub use digest::{RangeDigest, ReconcileOutcome, ReconcileRow, SeqSummary};
pub use operator::{RelayRequest, Requeued, ResendSelector};
pub use query::{QueuedRecord, RelayFilter, RelayRow, RelaySource};
pub use write::{BatchOutcome, ForwardedMark, HeldMark, RelayBatch, RelayRecord, Stored};

/// Longest source name, in characters (an indexed column on MySQL).
pub const RELAY_SOURCE_MAX_CHARS: usize = 128;
/// Longest keep-rule name, in characters.
pub const RELAY_RULE_MAX_CHARS: usize = 64;
/// Most seqs in one `IN (...)` list.
const MAX_IN: usize = 512;

/// Where a record is in its life on one node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RelayState {
    /// Accepted, to be forwarded: waiting, or sent and not yet acknowledged by downstream.
    Queued,
    /// Downstream acknowledged it (it is durable there).
    Forwarded,
    /// A keep rule matched: stored here, not forwarded.
    Kept,
    /// Downstream refused it repeatedly; waiting for an operator.
    Held,
    /// Reconcile found that downstream lost it.
    Missing,
    /// Stored on a sink (a node with no downstream).
    Received,
}

impl RelayState {
    pub const ALL: [RelayState; 6] = [
        RelayState::Queued,
        RelayState::Forwarded,
        RelayState::Kept,
        RelayState::Held,
        RelayState::Missing,
        RelayState::Received,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RelayState::Queued => "queued",
            RelayState::Forwarded => "forwarded",
            RelayState::Kept => "kept",
            RelayState::Held => "held",
            RelayState::Missing => "missing",
            RelayState::Received => "received",
        }
    }

    /// The `relay_sources` column counting records in this state.
    fn counter(self) -> &'static str {
        match self {
            RelayState::Queued => "queued",
            RelayState::Forwarded => "forwarded",
            RelayState::Kept => "kept",
            RelayState::Held => "held",
            RelayState::Missing => "missing",
            RelayState::Received => "stored",
        }
    }

    /// Whether this node still owes the record to downstream (what the disk quota counts).
    pub fn is_pending(self) -> bool {
        matches!(self, RelayState::Queued | RelayState::Held | RelayState::Missing)
    }
}

impl fmt::Display for RelayState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RelayState {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Self, StoreError> {
        RelayState::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| StoreError::Invalid(format!("unknown relay state {s:?}")))
    }
}

/// The 32-bit content digest of a record: FNV-1a (64-bit) over the seq and the timestamp
/// (8 bytes each, little-endian) and the payload's UTF-8 bytes, folded to 32 bits. Both ends of
/// a relay compute it the same way from what they stored, so equal digests mean equal content.
pub fn record_digest(seq: i64, at_ms: i64, payload: &str) -> i64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut h = OFFSET;
    for b in seq.to_le_bytes().into_iter().chain(at_ms.to_le_bytes()).chain(payload.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(PRIME);
    }
    ((h ^ (h >> 32)) & 0xffff_ffff) as i64
}

/// A transaction on the relay tables.
type Tx = sqlx::Transaction<'static, Any>;
/// A static statement with its bound values.
type Query = sqlx::query::Query<'static, Any, AnyArguments>;

query_group! {
    /// The relay's queries, borrowed from a [`Store`](crate::Store) ([`Store::relay`](crate::Store::relay)).
    pub struct RelayStore;
    /// The relay's tables: records, counters, requests, reconcile runs, node status and device
    /// tokens.
    fn relay;
}

impl RelayStore<'_> {
    /// Begins a transaction that will write. SQLite: takes the write lock up front. A deferred
    /// transaction that reads first and writes later fails at once (SQLITE_BUSY_SNAPSHOT, no
    /// busy wait) if another connection wrote in between; IMMEDIATE waits for the lock instead.
    async fn begin(self) -> Result<Tx, StoreError> {
        Ok(match self.backend() {
            Backend::Sqlite => self.pool().begin_with("BEGIN IMMEDIATE").await?,
            _ => self.pool().begin().await?,
        })
    }

    /// Runs an INSERT into a table with an `id` column and returns the new id: `returning` is
    /// `insert` followed by `RETURNING id` (SQLite, PostgreSQL); MySQL asks `LAST_INSERT_ID()`
    /// in the same transaction.
    async fn insert_returning_id(
        self,
        insert: &'static str,
        returning: &'static str,
        bind: impl Fn(Query) -> Query,
    ) -> Result<i64, StoreError> {
        match self.backend() {
            Backend::MySql => {
                let mut tx = self.pool().begin().await?;
                bind(self.query(insert)).execute(&mut *tx).await?;
                let id: i64 = sqlx::query("SELECT CAST(LAST_INSERT_ID() AS SIGNED) AS id")
                    .fetch_one(&mut *tx)
                    .await?
                    .try_get("id")?;
                tx.commit().await?;
                Ok(id)
            }
            _ => Ok(bind(self.query(returning)).fetch_one(self.pool()).await?.try_get("id")?),
        }
    }

    fn greatest(self) -> &'static str {
        match self.backend() {
            Backend::Sqlite => "max",
            _ => "GREATEST",
        }
    }

    fn least(self) -> &'static str {
        match self.backend() {
            Backend::Sqlite => "min",
            _ => "LEAST",
        }
    }

    /// `SUM(col)` as a BIGINT on every backend (PostgreSQL and MySQL widen it to NUMERIC /
    /// DECIMAL, which `Any` cannot read). NULL over no rows.
    fn sum_as_bigint(self, col: &str) -> String {
        match self.backend() {
            Backend::Sqlite => format!("SUM({col})"),
            Backend::MySql => format!("CAST(SUM({col}) AS SIGNED)"),
            Backend::Postgres => format!("CAST(SUM({col}) AS BIGINT)"),
        }
    }
}

/// Appends ` AND col IN (?, ?, ...)`.
fn push_in_list(b: &mut SqlBuf, col: &str, values: &[i64]) {
    b.push(" AND ").push(col).push(" IN (");
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            b.push(", ");
        }
        b.bind(*v);
    }
    b.push(")");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_depends_on_every_part() {
        let d = record_digest(1, 2, "hello");
        assert!((0..=u32::MAX as i64).contains(&d));
        assert_ne!(d, record_digest(2, 2, "hello"));
        assert_ne!(d, record_digest(1, 3, "hello"));
        assert_ne!(d, record_digest(1, 2, "hellp"));
        assert_eq!(d, record_digest(1, 2, "hello"));
    }

    #[test]
    fn states_round_trip() {
        for s in RelayState::ALL {
            assert_eq!(s.as_str().parse::<RelayState>().unwrap(), s);
        }
    }
}
