//! The relay's storage: records, per-source counters, operator requests, reconcile results and
//! node status (migration `0004_relay`).
//!
//! The relay acknowledges a record only once it is committed, so unlike the chat logs nothing
//! here goes through the batched [`crate::Journal`] (whose queue lives in memory). Instead the
//! server's relay ingest task calls [`Store::relay_write`] with everything that piled up since
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
//! that retention removed, see `retention.rs`). [`Store::relay_recount`] rebuilds a
//! source's counters from its records, should anyone edit the table by hand.
//!
//! # Digests
//! Every record carries a 32-bit content digest ([`record_digest`]: FNV-1a over seq, timestamp
//! and payload). Reconcile compares `COUNT(*)` and `SUM(digest)` over ranges of seqs on two
//! nodes; a sum of 32-bit values cannot overflow a BIGINT below 2^31 rows per range.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;

pub(crate) mod token;

use crate::error::StoreError;
use crate::store::{Backend, SqlBuf, Store};

/// Longest source name, in characters (an indexed column on MySQL).
pub const RELAY_SOURCE_MAX_CHARS: usize = 128;
/// Longest keep-rule name, in characters.
pub const RELAY_RULE_MAX_CHARS: usize = 64;

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

/// A record to store.
#[derive(Clone, Debug)]
pub struct RelayRecord {
    pub source: Arc<str>,
    /// `None`: assign the next seq of the source (records sent as `name&&message`).
    pub seq: Option<i64>,
    /// The record's own timestamp (unix ms).
    pub at_ms: i64,
    pub payload: Arc<str>,
    /// `Queued` (to forward), `Kept` (with `rule`) or `Received` (on a sink).
    pub state: RelayState,
    pub rule: Option<Arc<str>>,
    /// The caller could not rule out that this record is stored already (its seq is not above
    /// the highest seq the caller knows for the source). Only these are looked up before the
    /// insert; a wrong `false` is caught by the insert's row count and costs a retry.
    pub maybe_dup: bool,
}

/// What became of one record of a [`RelayBatch`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stored {
    /// Stored now, under this seq.
    New(i64),
    /// Already stored with the same payload (a re-send): nothing written.
    Duplicate(i64),
    /// Already stored with a different payload: nothing written, the stored record unchanged.
    Conflict(i64),
}

impl Stored {
    pub fn seq(self) -> i64 {
        match self {
            Stored::New(s) | Stored::Duplicate(s) | Stored::Conflict(s) => s,
        }
    }
}

/// Records of one source that downstream acknowledged.
#[derive(Clone, Debug, Default)]
pub struct ForwardedMark {
    pub source: Arc<str>,
    /// Seqs, in any order.
    pub seqs: Vec<i64>,
    /// Their payload bytes together (the quota they free).
    pub bytes: i64,
}

/// A record downstream refused too often: it is held for an operator.
#[derive(Clone, Debug)]
pub struct HeldMark {
    pub source: Arc<str>,
    pub seq: i64,
    pub reason: String,
}

/// Everything the ingest task commits at once.
#[derive(Clone, Debug, Default)]
pub struct RelayBatch {
    pub records: Vec<RelayRecord>,
    pub forwarded: Vec<ForwardedMark>,
    pub held: Vec<HeldMark>,
}

impl RelayBatch {
    pub fn is_empty(&self) -> bool {
        self.records.is_empty() && self.forwarded.is_empty() && self.held.is_empty()
    }
}

/// The result of [`Store::relay_write`].
#[derive(Clone, Debug, Default)]
pub struct BatchOutcome {
    /// One entry per record of the batch, in order.
    pub stored: Vec<Stored>,
    /// Records marked forwarded (fewer than asked only if some were not queued any more).
    pub forwarded: u64,
    /// Records marked held.
    pub held: u64,
    /// Per entry of [`RelayBatch::forwarded`], how many records it marked.
    pub marked: Vec<u64>,
    /// Per entry of [`RelayBatch::held`], whether it marked the record.
    pub held_done: Vec<bool>,
    /// Sources whose counters were rebuilt because a mark touched fewer rows than expected.
    pub recounted: Vec<Arc<str>>,
}

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

/// Which records an operator re-sends.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ResendSelector {
    /// `Held`, `Missing` or `Kept`.
    pub state: RelayState,
    pub source: Option<String>,
    /// Inclusive seq range.
    pub seqs: Option<(i64, i64)>,
}

/// Per source, what a resend queued again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Requeued {
    pub source: String,
    pub count: i64,
    pub bytes: i64,
    pub min_seq: i64,
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

/// An operator's request to the running server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelayRequest {
    pub id: i64,
    /// `resend` or `reconcile`.
    pub kind: String,
    pub requested_by: String,
    pub requested_ms: i64,
    /// JSON.
    pub params: String,
    /// `pending`, `done` or `failed`.
    pub status: String,
    pub done_ms: Option<i64>,
    /// JSON.
    pub result: Option<String>,
}

/// A finished reconcile run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconcileRow {
    pub id: i64,
    /// `reconnect`, `periodic` or `manual`.
    pub cause: String,
    pub started_ms: i64,
    pub finished_ms: i64,
    /// `ok`, `repaired` (found missing records), `diverged` (found something it cannot repair)
    /// or `failed`.
    pub outcome: String,
    pub sources: i64,
    pub missing: i64,
    pub extra: i64,
    pub mismatched: i64,
    /// JSON, per source.
    pub detail: String,
}

/// `SELECT <every column of relay_requests> FROM relay_requests <rest>`.
macro_rules! requests {
    ($rest:literal) => {
        concat!(
            "SELECT id, kind, requested_by, requested_ms, params, status, done_ms, result FROM relay_requests ",
            $rest
        )
    };
}

/// Most values bound in one statement (below SQLite's 32766).
const MAX_PARAMS: usize = 30_000;
/// Columns of one inserted record.
const INSERT_COLUMNS: &str = "source, seq, state, rule, at_ms, received_ms, bytes, digest, payload";
const INSERT_COLUMN_COUNT: usize = 9;
/// Most rows in one INSERT; chunks are powers of two so their texts stay in the statement cache
/// (see the writer's notes on MySQL).
const MAX_ROWS: usize = 512;
/// Most seqs in one `IN (...)` list.
const MAX_IN: usize = 512;

/// Internal: the insert found rows another writer stored after our lookup.
struct Raced;

/// Per-source counter changes accumulated during one transaction.
#[derive(Default)]
struct Delta {
    received: i64,
    by_state: [i64; 6],
    pending_bytes: i64,
    max_seq: Option<i64>,
    min_queued: Option<i64>,
    touched_by_records: bool,
    conflicts: i64,
}

impl Delta {
    fn add(&mut self, state: RelayState, n: i64) {
        let i = RelayState::ALL.iter().position(|s| *s == state).unwrap_or(0);
        self.by_state[i] += n;
    }
}

impl Store {
    async fn relay_begin(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, StoreError> {
        // SQLite: take the write lock up front. A deferred transaction that reads first and
        // writes later fails at once (SQLITE_BUSY_SNAPSHOT, no busy wait) if another
        // connection wrote in between; IMMEDIATE waits for the lock instead.
        Ok(match self.backend() {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            _ => self.pool.begin().await?,
        })
    }

    /// Commits one batch: stores the new records (skipping ones already stored), marks
    /// acknowledged records forwarded and refused ones held, and updates the counters, all in
    /// one transaction. `now_ms` is the receive time of the new records.
    pub async fn relay_write(&self, batch: &RelayBatch, now_ms: i64) -> Result<BatchOutcome, StoreError> {
        validate_records(&batch.records)?;
        match self.relay_write_once(batch, now_ms, false).await? {
            Ok(out) => Ok(out),
            Err(Raced) => match self.relay_write_once(batch, now_ms, true).await? {
                Ok(out) => Ok(out),
                Err(Raced) => Err(StoreError::Unavailable(
                    "relay records were written concurrently by another process; retry".into(),
                )),
            },
        }
    }

    async fn relay_write_once(
        &self,
        batch: &RelayBatch,
        now_ms: i64,
        lookup_all: bool,
    ) -> Result<Result<BatchOutcome, Raced>, StoreError> {
        let mut tx = self.relay_begin().await?;
        let mut deltas: HashMap<Arc<str>, Delta> = HashMap::new();
        let mut out = BatchOutcome { stored: Vec::with_capacity(batch.records.len()), ..Default::default() };

        // 1. Seqs for records sent without one: the source's last seq moves past the batch's
        //    explicit seqs first, then past the assigned ones. The UPDATE locks the source's row
        //    (on a server database) until COMMIT, so two nodes never hand out the same seq.
        let mut auto: HashMap<Arc<str>, (i64, Option<i64>)> = HashMap::new();
        for r in &batch.records {
            if r.seq.is_none() {
                auto.entry(r.source.clone()).or_insert((0, None)).0 += 1;
            }
        }
        if !auto.is_empty() {
            for r in &batch.records {
                if let (Some(seq), Some(a)) = (r.seq, auto.get_mut(&r.source)) {
                    a.1 = Some(a.1.map_or(seq, |m: i64| m.max(seq)));
                }
            }
            let mut order: Vec<_> = auto.iter_mut().collect();
            order.sort_by(|a, b| a.0.cmp(b.0));
            for (source, (count, max_explicit)) in order {
                self.ensure_source(&mut tx, source, now_ms).await?;
                let mut b = self.buf();
                b.push("UPDATE relay_sources SET last_seq = ")
                    .push(self.greatest())
                    .push("(last_seq, ")
                    .bind(max_explicit.unwrap_or(0))
                    .push(") + ")
                    .bind(*count)
                    .push(" WHERE source = ")
                    .bind(source.to_string());
                b.build()?.execute(&mut *tx).await?;
                let last: i64 = self
                    .query("SELECT last_seq FROM relay_sources WHERE source = $1")
                    .bind(source.to_string())
                    .fetch_one(&mut *tx)
                    .await?
                    .try_get(0)?;
                // Hand out from the first assigned seq upwards.
                *max_explicit = Some(last - *count + 1);
            }
        }
        let mut next_auto: HashMap<Arc<str>, i64> =
            auto.into_iter().map(|(s, (_, first))| (s, first.unwrap_or(1))).collect();
        let seqs: Vec<i64> = batch
            .records
            .iter()
            .map(|r| {
                r.seq.unwrap_or_else(|| {
                    let n = next_auto.get_mut(&r.source).expect("assigned above");
                    *n += 1;
                    *n - 1
                })
            })
            .collect();

        // 2. Which of the possible duplicates are stored already, and with which payload.
        let mut existing: HashMap<(Arc<str>, i64), Arc<str>> = HashMap::new();
        let mut lookups: HashMap<Arc<str>, Vec<i64>> = HashMap::new();
        for (r, &seq) in batch.records.iter().zip(&seqs) {
            if r.seq.is_some() && (r.maybe_dup || lookup_all) {
                lookups.entry(r.source.clone()).or_default().push(seq);
            }
        }
        for (source, list) in lookups {
            for chunk in list.chunks(MAX_IN) {
                let mut b = self.buf();
                b.push("SELECT seq, payload FROM relay_records WHERE source = ").bind(source.to_string());
                push_in_list(&mut b, "seq", chunk);
                for row in b.build()?.fetch_all(&mut *tx).await? {
                    let payload: String = row.try_get(1)?;
                    existing.insert((source.clone(), row.try_get(0)?), payload.into());
                }
            }
        }

        // 3. Insert the new ones (a seq twice in one batch: the first one counts).
        let mut new_rows: Vec<(&RelayRecord, i64)> = Vec::with_capacity(batch.records.len());
        for (r, &seq) in batch.records.iter().zip(&seqs) {
            let key = (r.source.clone(), seq);
            if let Some(stored) = existing.get(&key) {
                if **stored == *r.payload {
                    out.stored.push(Stored::Duplicate(seq));
                } else {
                    out.stored.push(Stored::Conflict(seq));
                    deltas.entry(r.source.clone()).or_default().conflicts += 1;
                }
            } else {
                existing.insert(key, r.payload.clone());
                new_rows.push((r, seq));
                out.stored.push(Stored::New(seq));
                let d = deltas.entry(r.source.clone()).or_default();
                d.touched_by_records = true;
                d.received += 1;
                d.add(r.state, 1);
                d.max_seq = Some(d.max_seq.map_or(seq, |m| m.max(seq)));
                if r.state.is_pending() {
                    d.pending_bytes += r.payload.len() as i64;
                    d.min_queued = Some(d.min_queued.map_or(seq, |m| m.min(seq)));
                }
            }
        }
        let mut inserted = 0u64;
        let max_rows = prev_power_of_two((MAX_PARAMS / INSERT_COLUMN_COUNT).clamp(1, MAX_ROWS));
        let mut rest = &new_rows[..];
        while !rest.is_empty() {
            let take = prev_power_of_two(rest.len()).min(max_rows);
            let (chunk, tail) = rest.split_at(take);
            rest = tail;
            let mut b = self.buf();
            b.push(match self.backend() {
                Backend::MySql => "INSERT IGNORE INTO relay_records (",
                _ => "INSERT INTO relay_records (",
            })
            .push(INSERT_COLUMNS)
            .push(") VALUES ");
            for (i, (r, seq)) in chunk.iter().enumerate() {
                b.push(if i == 0 { "(" } else { ", (" });
                b.bind(r.source.to_string())
                    .push(", ")
                    .bind(*seq)
                    .push(", ")
                    .bind(r.state.as_str())
                    .push(", ")
                    .bind(r.rule.as_deref().map(str::to_owned))
                    .push(", ")
                    .bind(r.at_ms)
                    .push(", ")
                    .bind(now_ms)
                    .push(", ")
                    .bind(r.payload.len() as i64)
                    .push(", ")
                    .bind(record_digest(*seq, r.at_ms, &r.payload))
                    .push(", ")
                    .bind(r.payload.to_string())
                    .push(")");
            }
            if self.backend() != Backend::MySql {
                b.push(" ON CONFLICT DO NOTHING");
            }
            inserted += b.build()?.execute(&mut *tx).await?.rows_affected();
        }
        if inserted != new_rows.len() as u64 {
            // Someone stored some of "our" new records between the lookup and the insert.
            tx.rollback().await?;
            return Ok(Err(Raced));
        }

        // 4. Acknowledged by downstream: queued -> forwarded.
        let mut recount: Vec<Arc<str>> = Vec::new();
        for mark in &batch.forwarded {
            let mut seqs = mark.seqs.clone();
            seqs.sort_unstable();
            seqs.dedup();
            let mut done = 0u64;
            for (lo, hi, singles) in runs(&seqs) {
                let mut b = self.buf();
                b.push("UPDATE relay_records SET state = 'forwarded', done_ms = ")
                    .bind(now_ms)
                    .push(" WHERE source = ")
                    .bind(mark.source.to_string());
                match singles {
                    None => {
                        b.push(" AND seq BETWEEN ").bind(lo).push(" AND ").bind(hi);
                    }
                    Some(list) => push_in_list(&mut b, "seq", list),
                }
                b.push(" AND state = 'queued'");
                done += b.build()?.execute(&mut *tx).await?.rows_affected();
            }
            out.forwarded += done;
            out.marked.push(done);
            let d = deltas.entry(mark.source.clone()).or_default();
            d.add(RelayState::Queued, -(done as i64));
            d.add(RelayState::Forwarded, done as i64);
            if done == seqs.len() as u64 {
                d.pending_bytes -= mark.bytes;
            } else {
                // Some were not queued any more (or the bytes would be wrong): recount below.
                recount.push(mark.source.clone());
            }
        }

        // 5. Refused by downstream too often: queued -> held.
        for h in &batch.held {
            let done = self
                .query(
                    "UPDATE relay_records SET state = 'held', reason = $1, done_ms = $2 \
                     WHERE source = $3 AND seq = $4 AND state = 'queued'",
                )
                .bind(h.reason.clone())
                .bind(now_ms)
                .bind(h.source.to_string())
                .bind(h.seq)
                .execute(&mut *tx)
                .await?
                .rows_affected() as i64;
            out.held += done as u64;
            out.held_done.push(done > 0);
            let d = deltas.entry(h.source.clone()).or_default();
            d.add(RelayState::Queued, -done);
            d.add(RelayState::Held, done);
        }

        // 6. The counters, one statement per source, in the order of their names: two nodes
        //    committing batches of the same sources lock the rows in the same order (no deadlock).
        let mut deltas: Vec<(Arc<str>, Delta)> = deltas.into_iter().collect();
        deltas.sort_by(|a, b| a.0.cmp(&b.0));
        for (source, d) in &deltas {
            if recount.contains(source) {
                continue;
            }
            self.apply_delta(&mut tx, source, d, now_ms).await?;
        }
        for source in &recount {
            recount_in(self, &mut tx, source).await?;
        }
        tx.commit().await?;
        out.recounted = recount;
        Ok(Ok(out))
    }

    fn greatest(&self) -> &'static str {
        match self.backend() {
            Backend::Sqlite => "max",
            _ => "GREATEST",
        }
    }

    fn least(&self) -> &'static str {
        match self.backend() {
            Backend::Sqlite => "min",
            _ => "LEAST",
        }
    }

    async fn ensure_source(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
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

    async fn apply_delta(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
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

    /// Rebuilds one source's counters from its records (in its own transaction).
    pub async fn relay_recount(&self, source: &str) -> Result<(), StoreError> {
        let mut tx = self.relay_begin().await?;
        recount_in(self, &mut tx, source).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Every source's counters, by name.
    pub async fn relay_sources(&self) -> Result<Vec<RelaySource>, StoreError> {
        let rows = self
            .query(
                "SELECT source, last_seq, received, kept, queued, forwarded, held, missing, stored, \
                 pending_bytes, queued_from, first_ms, last_ms, conflicts, pruned, pruned_seq FROM relay_sources ORDER BY source",
            )
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(source_from_row).collect()
    }

    /// One source's counters.
    pub async fn relay_source(&self, source: &str) -> Result<Option<RelaySource>, StoreError> {
        let row = self
            .query(
                "SELECT source, last_seq, received, kept, queued, forwarded, held, missing, stored, \
                 pending_bytes, queued_from, first_ms, last_ms, conflicts, pruned, pruned_seq FROM relay_sources WHERE source = $1",
            )
            .bind(source.to_owned())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(source_from_row).transpose()
    }

    /// Up to `limit` queued records of `source` with seq ≥ `from`, lowest seq first (the
    /// forwarder's catch-up scan).
    pub async fn relay_queued(
        &self,
        source: &str,
        from: i64,
        limit: u32,
    ) -> Result<Vec<QueuedRecord>, StoreError> {
        let rows = self
            .query(
                "SELECT seq, at_ms, received_ms, bytes, payload FROM relay_records \
                 WHERE source = $1 AND seq >= $2 AND state = 'queued' ORDER BY seq LIMIT $3",
            )
            .bind(source.to_owned())
            .bind(from)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(QueuedRecord {
                    seq: r.try_get(0)?,
                    at_ms: r.try_get(1)?,
                    received_ms: r.try_get(2)?,
                    bytes: r.try_get(3)?,
                    payload: r.try_get(4)?,
                })
            })
            .collect()
    }

    /// Moves `source`'s scan floor (`queued_from`) up to its lowest queued seq and returns that
    /// record's `(seq, received_ms)`, or `None` if nothing is queued (the floor then goes past
    /// the last seq). Call it from the task that writes the relay tables: it reads and writes
    /// in one transaction so no record queued meanwhile can end up below the floor.
    pub async fn relay_advance_floor(&self, source: &str) -> Result<Option<(i64, i64)>, StoreError> {
        let mut tx = self.relay_begin().await?;
        // Several nodes on one database: lock the source's row first, so that a node committing
        // records of this source either committed before the read below (which then sees them)
        // or applies its `LEAST(queued_from, ..)` after this transaction's update.
        lock_source(self, &mut tx, source).await?;
        let row = self
            .query(
                "SELECT r.seq, r.received_ms FROM relay_records r JOIN relay_sources s \
                 ON s.source = r.source WHERE r.source = $1 AND r.seq >= s.queued_from \
                 AND r.state = 'queued' ORDER BY r.seq LIMIT 1",
            )
            .bind(source.to_owned())
            .fetch_optional(&mut *tx)
            .await?;
        let first = match &row {
            Some(r) => Some((r.try_get::<i64, _>(0)?, r.try_get::<i64, _>(1)?)),
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
    pub async fn relay_list(&self, f: &RelayFilter) -> Result<Vec<RelayRow>, StoreError> {
        let mut b = self.buf();
        b.push(
            "SELECT id, source, seq, state, rule, reason, at_ms, received_ms, done_ms, bytes, digest, \
             resends, payload FROM relay_records WHERE 1 = 1",
        );
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
        let rows = b.build()?.fetch_all(&self.pool).await?;
        rows.iter().map(row_from_row).collect()
    }

    /// The state of each of `seqs` of `source` that is stored.
    pub async fn relay_states(
        &self,
        source: &str,
        seqs: &[i64],
    ) -> Result<Vec<(i64, RelayState)>, StoreError> {
        let mut out = Vec::new();
        for chunk in seqs.chunks(MAX_IN) {
            let mut b = self.buf();
            b.push("SELECT seq, state FROM relay_records WHERE source = ").bind(source.to_owned());
            push_in_list(&mut b, "seq", chunk);
            for row in b.build()?.fetch_all(&self.pool).await? {
                out.push((row.try_get(0)?, row.try_get::<String, _>(1)?.parse()?));
            }
        }
        Ok(out)
    }

    /// Queues the records `sel` picks again (held, missing or kept → queued), records the
    /// request on each (`resends`, `last_request`) and updates the counters, in one
    /// transaction. Returns what was queued, per source.
    pub async fn relay_resend(
        &self,
        sel: &ResendSelector,
        request_id: Option<i64>,
    ) -> Result<Vec<Requeued>, StoreError> {
        if !matches!(sel.state, RelayState::Held | RelayState::Missing | RelayState::Kept) {
            return Err(StoreError::Invalid(format!(
                "only held, missing or kept records can be re-sent, not {}",
                sel.state
            )));
        }
        let mut tx = self.relay_begin().await?;
        let filter = |b: &mut SqlBuf| {
            b.push(" WHERE state = ").bind(sel.state.as_str());
            if let Some(source) = &sel.source {
                b.push(" AND source = ").bind(source.clone());
            }
            if let Some((lo, hi)) = sel.seqs {
                b.push(" AND seq BETWEEN ").bind(lo).push(" AND ").bind(hi);
            }
        };
        let mut b = self.buf();
        b.push(&format!(
            "SELECT source, COUNT(*), {}, MIN(seq) FROM relay_records",
            self.sum_as_bigint("bytes")
        ));
        filter(&mut b);
        b.push(" GROUP BY source");
        let groups = b.build()?.fetch_all(&mut *tx).await?;
        let mut out = Vec::new();
        for g in &groups {
            out.push(Requeued {
                source: g.try_get(0)?,
                count: g.try_get(1)?,
                bytes: g.try_get::<Option<i64>, _>(2)?.unwrap_or(0),
                min_seq: g.try_get(3)?,
            });
        }
        let mut b = self.buf();
        b.push("UPDATE relay_records SET state = 'queued', reason = NULL, resends = resends + 1, last_request = ")
            .bind(request_id);
        filter(&mut b);
        b.build()?.execute(&mut *tx).await?;
        for r in &out {
            let mut d = Delta::default();
            d.add(sel.state, -r.count);
            d.add(RelayState::Queued, r.count);
            if !sel.state.is_pending() {
                d.pending_bytes = r.bytes;
            }
            d.min_queued = Some(r.min_seq);
            self.apply_delta(&mut tx, &r.source, &d, 0).await?;
        }
        tx.commit().await?;
        Ok(out)
    }

    /// Marks forwarded records of `source` that downstream turned out not to have as missing
    /// (forwarded → missing), in one transaction. Returns how many changed.
    pub async fn relay_mark_missing(
        &self,
        source: &str,
        seqs: &[i64],
        reason: &str,
    ) -> Result<i64, StoreError> {
        let mut tx = self.relay_begin().await?;
        let mut count = 0i64;
        let mut bytes = 0i64;
        let now = crate::model::to_ms(crate::model::now());
        for chunk in seqs.chunks(MAX_IN) {
            let mut b = self.buf();
            b.push(&format!(
                "SELECT COUNT(*), {} FROM relay_records WHERE source = ",
                self.sum_as_bigint("bytes")
            ))
            .bind(source.to_owned());
            push_in_list(&mut b, "seq", chunk);
            b.push(" AND state = 'forwarded'");
            let row = b.build()?.fetch_one(&mut *tx).await?;
            count += row.try_get::<i64, _>(0)?;
            bytes += row.try_get::<Option<i64>, _>(1)?.unwrap_or(0);
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

    /// `COUNT(*)` and `SUM(digest)` over each range of `source`'s records; with
    /// `forwarded_only`, over its forwarded records only (what the upstream side of a reconcile
    /// compares), else over every record stored.
    pub async fn relay_digests(
        &self,
        source: &str,
        ranges: &[(i64, i64)],
        forwarded_only: bool,
    ) -> Result<Vec<RangeDigest>, StoreError> {
        let sql = match (self.backend(), forwarded_only) {
            (Backend::Sqlite, true) => {
                "SELECT COUNT(*), COALESCE(SUM(digest), 0) FROM relay_records \
                 WHERE source = $1 AND seq BETWEEN $2 AND $3 AND state = 'forwarded'"
            }
            (Backend::Sqlite, false) => {
                "SELECT COUNT(*), COALESCE(SUM(digest), 0) FROM relay_records \
                 WHERE source = $1 AND seq BETWEEN $2 AND $3"
            }
            (Backend::MySql, true) => {
                "SELECT COUNT(*), CAST(COALESCE(SUM(digest), 0) AS SIGNED) FROM relay_records \
                 WHERE source = $1 AND seq BETWEEN $2 AND $3 AND state = 'forwarded'"
            }
            (Backend::MySql, false) => {
                "SELECT COUNT(*), CAST(COALESCE(SUM(digest), 0) AS SIGNED) FROM relay_records \
                 WHERE source = $1 AND seq BETWEEN $2 AND $3"
            }
            (Backend::Postgres, true) => {
                "SELECT COUNT(*), CAST(COALESCE(SUM(digest), 0) AS BIGINT) FROM relay_records \
                 WHERE source = $1 AND seq BETWEEN $2 AND $3 AND state = 'forwarded'"
            }
            (Backend::Postgres, false) => {
                "SELECT COUNT(*), CAST(COALESCE(SUM(digest), 0) AS BIGINT) FROM relay_records \
                 WHERE source = $1 AND seq BETWEEN $2 AND $3"
            }
        };
        let mut out = Vec::with_capacity(ranges.len());
        for &(lo, hi) in ranges {
            let row = self.query(sql).bind(source.to_owned()).bind(lo).bind(hi).fetch_one(&self.pool).await?;
            out.push(RangeDigest { lo, hi, count: row.try_get(0)?, sum: row.try_get(1)? });
        }
        Ok(out)
    }

    /// `(seq, digest)` of `source`'s records in `lo..=hi` (forwarded ones only, or all), by seq.
    pub async fn relay_listing(
        &self,
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
        let rows = self.query(sql).bind(source.to_owned()).bind(lo).bind(hi).fetch_all(&self.pool).await?;
        rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
    }

    /// How many records of `source` are stored, their seq range, and up to `max_gaps` holes.
    pub async fn relay_seq_summary(&self, source: &str, max_gaps: u32) -> Result<SeqSummary, StoreError> {
        let row = self
            .query("SELECT COUNT(*), MIN(seq), MAX(seq) FROM relay_records WHERE source = $1")
            .bind(source.to_owned())
            .fetch_one(&self.pool)
            .await?;
        let mut s = SeqSummary {
            count: row.try_get(0)?,
            first: row.try_get(1)?,
            last: row.try_get(2)?,
            ..Default::default()
        };
        let (Some(first), Some(last)) = (s.first, s.last) else { return Ok(s) };
        if last - first + 1 == s.count {
            return Ok(s);
        }
        // Window functions: SQLite >= 3.25, MariaDB >= 10.2, PostgreSQL.
        s.gaps_total = self
            .query(
                "SELECT COUNT(*) FROM (SELECT seq, LAG(seq) OVER (ORDER BY seq) AS prev \
                 FROM relay_records WHERE source = $1) t WHERE seq > prev + 1",
            )
            .bind(source.to_owned())
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?;
        let rows = self
            .query(
                "SELECT prev + 1, seq - 1 FROM (SELECT seq, LAG(seq) OVER (ORDER BY seq) AS prev \
                 FROM relay_records WHERE source = $1) t WHERE seq > prev + 1 ORDER BY seq LIMIT $2",
            )
            .bind(source.to_owned())
            .bind(i64::from(max_gaps))
            .fetch_all(&self.pool)
            .await?;
        for r in rows {
            s.gaps.push((r.try_get(0)?, r.try_get(1)?));
        }
        Ok(s)
    }

    /// Records an operator request; returns its id.
    pub async fn relay_request_add(&self, kind: &str, by: &str, params: &str) -> Result<i64, StoreError> {
        let now = crate::model::to_ms(crate::model::now());
        let by = crate::model::clip(by, 255).into_owned();
        match self.backend() {
            Backend::MySql => {
                let mut tx = self.pool.begin().await?;
                self.query(
                    "INSERT INTO relay_requests (kind, requested_by, requested_ms, params, status) \
                     VALUES ($1, $2, $3, $4, 'pending')",
                )
                .bind(kind.to_owned())
                .bind(by)
                .bind(now)
                .bind(params.to_owned())
                .execute(&mut *tx)
                .await?;
                let id: i64 = sqlx::query("SELECT CAST(LAST_INSERT_ID() AS SIGNED)")
                    .fetch_one(&mut *tx)
                    .await?
                    .try_get(0)?;
                tx.commit().await?;
                Ok(id)
            }
            _ => Ok(self
                .query(
                    "INSERT INTO relay_requests (kind, requested_by, requested_ms, params, status) \
                     VALUES ($1, $2, $3, $4, 'pending') RETURNING id",
                )
                .bind(kind.to_owned())
                .bind(by)
                .bind(now)
                .bind(params.to_owned())
                .fetch_one(&self.pool)
                .await?
                .try_get(0)?),
        }
    }

    /// Pending requests, oldest first.
    pub async fn relay_requests_pending(&self) -> Result<Vec<RelayRequest>, StoreError> {
        self.fetch_requests(self.query(requests!("WHERE status = 'pending' ORDER BY id"))).await
    }

    /// Requests a server took up and has not settled (after a crash: interrupted ones).
    pub async fn relay_requests_running(&self) -> Result<Vec<RelayRequest>, StoreError> {
        self.fetch_requests(self.query(requests!("WHERE status = 'running' ORDER BY id"))).await
    }

    /// Marks a request as taken up by the server.
    pub async fn relay_request_start(&self, id: i64) -> Result<(), StoreError> {
        self.query("UPDATE relay_requests SET status = 'running' WHERE id = $1 AND status = 'pending'")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// One request.
    pub async fn relay_request(&self, id: i64) -> Result<Option<RelayRequest>, StoreError> {
        Ok(self.fetch_requests(self.query(requests!("WHERE id = $1")).bind(id)).await?.pop())
    }

    /// The newest requests, newest first.
    pub async fn relay_requests_recent(&self, limit: u32) -> Result<Vec<RelayRequest>, StoreError> {
        self.fetch_requests(self.query(requests!("ORDER BY id DESC LIMIT $1")).bind(i64::from(limit))).await
    }

    async fn fetch_requests(
        &self,
        q: sqlx::query::Query<'static, sqlx::Any, sqlx::any::AnyArguments>,
    ) -> Result<Vec<RelayRequest>, StoreError> {
        q.fetch_all(&self.pool).await?.iter().map(request_from_row).collect()
    }

    /// Settles a request: `done` or `failed`, with a JSON result.
    pub async fn relay_request_finish(&self, id: i64, status: &str, result: &str) -> Result<(), StoreError> {
        self.query("UPDATE relay_requests SET status = $1, done_ms = $2, result = $3 WHERE id = $4")
            .bind(status.to_owned())
            .bind(crate::model::to_ms(crate::model::now()))
            .bind(result.to_owned())
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Records a finished reconcile run; returns its id.
    pub async fn relay_reconcile_add(&self, r: &ReconcileRow) -> Result<(), StoreError> {
        self.query(
            "INSERT INTO relay_reconciles (cause, started_ms, finished_ms, outcome, sources, missing, \
             extra, mismatched, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(r.cause.clone())
        .bind(r.started_ms)
        .bind(r.finished_ms)
        .bind(r.outcome.clone())
        .bind(r.sources)
        .bind(r.missing)
        .bind(r.extra)
        .bind(r.mismatched)
        .bind(r.detail.clone())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The newest reconcile runs, newest first.
    pub async fn relay_reconciles(&self, limit: u32) -> Result<Vec<ReconcileRow>, StoreError> {
        let rows = self
            .query(
                "SELECT id, cause, started_ms, finished_ms, outcome, sources, missing, extra, mismatched, \
                 detail FROM relay_reconciles ORDER BY id DESC LIMIT $1",
            )
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(ReconcileRow {
                    id: r.try_get(0)?,
                    cause: r.try_get(1)?,
                    started_ms: r.try_get(2)?,
                    finished_ms: r.try_get(3)?,
                    outcome: r.try_get(4)?,
                    sources: r.try_get(5)?,
                    missing: r.try_get(6)?,
                    extra: r.try_get(7)?,
                    mismatched: r.try_get(8)?,
                    detail: r.try_get(9)?,
                })
            })
            .collect()
    }

    /// Saves a running node's live status (JSON).
    pub async fn relay_node_put(&self, node: &str, status: &str) -> Result<(), StoreError> {
        let now = crate::model::to_ms(crate::model::now());
        let sql = match self.backend() {
            Backend::MySql => {
                "INSERT INTO relay_nodes (node, updated_ms, status) VALUES ($1, $2, $3) \
                 ON DUPLICATE KEY UPDATE updated_ms = VALUES(updated_ms), status = VALUES(status)"
            }
            _ => {
                "INSERT INTO relay_nodes (node, updated_ms, status) VALUES ($1, $2, $3) \
                 ON CONFLICT (node) DO UPDATE SET updated_ms = excluded.updated_ms, status = excluded.status"
            }
        };
        self.query(sql).bind(node.to_owned()).bind(now).bind(status.to_owned()).execute(&self.pool).await?;
        Ok(())
    }

    /// Every node's last saved status: `(node, updated_ms, status JSON)`.
    pub async fn relay_nodes(&self) -> Result<Vec<(String, i64, String)>, StoreError> {
        let rows = self
            .query("SELECT node, updated_ms, status FROM relay_nodes ORDER BY node")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?))).collect()
    }

    /// `SUM(col)` as a BIGINT on every backend (PostgreSQL and MySQL widen it to NUMERIC /
    /// DECIMAL, which `Any` cannot read).
    fn sum_as_bigint(&self, col: &str) -> String {
        match self.backend() {
            Backend::Sqlite => format!("SUM({col})"),
            Backend::MySql => format!("CAST(SUM({col}) AS SIGNED)"),
            Backend::Postgres => format!("CAST(SUM({col}) AS BIGINT)"),
        }
    }
}

/// Rebuilds `source`'s counters from its records inside `tx`.
/// Takes the write lock on `source`'s counters row until the transaction ends (a no-op update:
/// every backend locks the row it updates).
async fn lock_source(
    store: &Store,
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    source: &str,
) -> Result<(), StoreError> {
    store
        .query("UPDATE relay_sources SET queued_from = queued_from WHERE source = $1")
        .bind(source.to_owned())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

async fn recount_in(
    store: &Store,
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    source: &str,
) -> Result<(), StoreError> {
    let sql = match store.backend() {
        Backend::Sqlite => {
            "SELECT state, COUNT(*), SUM(bytes) FROM relay_records WHERE source = $1 GROUP BY state"
        }
        Backend::MySql => {
            "SELECT state, COUNT(*), CAST(SUM(bytes) AS SIGNED) FROM relay_records WHERE source = $1 \
             GROUP BY state LOCK IN SHARE MODE"
        }
        Backend::Postgres => {
            "SELECT state, COUNT(*), CAST(SUM(bytes) AS BIGINT) FROM relay_records WHERE source = $1 GROUP BY state"
        }
    };
    // Lock the counters' row first, so no other node's delta lands between the count and the
    // update; on MySQL read the newest committed rows (a plain read would use the transaction's
    // snapshot, which may predate another node's commit).
    lock_source(store, tx, source).await?;
    let rows = store.query(sql).bind(source.to_owned()).fetch_all(&mut **tx).await?;
    let mut counts = [0i64; 6];
    let mut pending = 0i64;
    let mut received = 0i64;
    for r in rows {
        let state: RelayState = r.try_get::<String, _>(0)?.parse()?;
        let n: i64 = r.try_get(1)?;
        let bytes: i64 = r.try_get::<Option<i64>, _>(2)?.unwrap_or(0);
        let i = RelayState::ALL.iter().position(|s| *s == state).unwrap_or(0);
        counts[i] += n;
        received += n;
        if state.is_pending() {
            pending += bytes;
        }
    }
    let mut b = store.buf();
    // Records removed by retention are gone from the table but were received all the same.
    b.push("UPDATE relay_sources SET received = pruned + ").bind(received);
    for (state, n) in RelayState::ALL.iter().zip(counts) {
        b.push(", ").push(state.counter()).push(" = ").bind(n);
    }
    b.push(", pending_bytes = ").bind(pending).push(" WHERE source = ").bind(source.to_owned());
    b.build()?.execute(&mut **tx).await?;
    Ok(())
}

/// Refuses records the schema would (names too long), before they can fail a whole batch.
fn validate_records(records: &[RelayRecord]) -> Result<(), StoreError> {
    for r in records {
        if r.source.is_empty() || r.source.chars().count() > RELAY_SOURCE_MAX_CHARS {
            return Err(StoreError::Invalid(format!(
                "relay source must be 1 to {RELAY_SOURCE_MAX_CHARS} characters: {:?}",
                r.source
            )));
        }
        if r.rule.as_deref().is_some_and(|n| n.chars().count() > RELAY_RULE_MAX_CHARS) {
            return Err(StoreError::Invalid(format!(
                "keep rule names are at most {RELAY_RULE_MAX_CHARS} characters"
            )));
        }
        if !matches!(r.state, RelayState::Queued | RelayState::Kept | RelayState::Received) {
            return Err(StoreError::Invalid(format!("a new relay record cannot be {}", r.state)));
        }
        if r.seq.is_some_and(|s| s < 0) {
            return Err(StoreError::Invalid("relay seqs are 0 or more".into()));
        }
    }
    Ok(())
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

/// Splits sorted, distinct seqs into runs of consecutive integers worth a `BETWEEN` (at least
/// four long, returned as `(lo, hi, None)`) and lists of the rest (`Some(list)`, at most
/// [`MAX_IN`] each). Every integer of a run is one of the seqs, so a `BETWEEN` can touch no
/// other record.
fn runs(seqs: &[i64]) -> Vec<(i64, i64, Option<&[i64]>)> {
    const MIN_RUN: usize = 4;
    let mut out = Vec::new();
    let mut singles_from: Option<usize> = None;
    let mut i = 0;
    while i < seqs.len() {
        let mut j = i + 1;
        while j < seqs.len() && seqs[j] == seqs[j - 1] + 1 {
            j += 1;
        }
        if j - i >= MIN_RUN {
            if let Some(s) = singles_from.take() {
                for chunk in seqs[s..i].chunks(MAX_IN) {
                    out.push((0, 0, Some(chunk)));
                }
            }
            out.push((seqs[i], seqs[j - 1], None));
        } else if singles_from.is_none() {
            singles_from = Some(i);
        }
        i = j;
    }
    if let Some(s) = singles_from {
        for chunk in seqs[s..].chunks(MAX_IN) {
            out.push((0, 0, Some(chunk)));
        }
    }
    out
}

fn prev_power_of_two(n: usize) -> usize {
    1 << (usize::BITS - 1 - n.max(1).leading_zeros())
}

fn source_from_row(r: &AnyRow) -> Result<RelaySource, StoreError> {
    Ok(RelaySource {
        source: r.try_get(0)?,
        last_seq: r.try_get(1)?,
        received: r.try_get(2)?,
        kept: r.try_get(3)?,
        queued: r.try_get(4)?,
        forwarded: r.try_get(5)?,
        held: r.try_get(6)?,
        missing: r.try_get(7)?,
        stored: r.try_get(8)?,
        pending_bytes: r.try_get(9)?,
        queued_from: r.try_get(10)?,
        first_ms: r.try_get(11)?,
        last_ms: r.try_get(12)?,
        conflicts: r.try_get(13)?,
        pruned: r.try_get(14)?,
        pruned_seq: r.try_get(15)?,
    })
}

fn row_from_row(r: &AnyRow) -> Result<RelayRow, StoreError> {
    Ok(RelayRow {
        id: r.try_get(0)?,
        source: r.try_get(1)?,
        seq: r.try_get(2)?,
        state: r.try_get::<String, _>(3)?.parse()?,
        rule: r.try_get(4)?,
        reason: r.try_get(5)?,
        at_ms: r.try_get(6)?,
        received_ms: r.try_get(7)?,
        done_ms: r.try_get(8)?,
        bytes: r.try_get(9)?,
        digest: r.try_get(10)?,
        resends: r.try_get(11)?,
        payload: r.try_get(12)?,
    })
}

fn request_from_row(r: &AnyRow) -> Result<RelayRequest, StoreError> {
    Ok(RelayRequest {
        id: r.try_get(0)?,
        kind: r.try_get(1)?,
        requested_by: r.try_get(2)?,
        requested_ms: r.try_get(3)?,
        params: r.try_get(4)?,
        status: r.try_get(5)?,
        done_ms: r.try_get(6)?,
        result: r.try_get(7)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_cover_every_seq_once() {
        let seqs = [1, 2, 3, 4, 5, 7, 9, 10, 11, 12, 20];
        let r = runs(&seqs);
        assert_eq!(r[0], (1, 5, None));
        assert_eq!(r[1], (0, 0, Some(&[7][..])));
        assert_eq!(r[2], (9, 12, None));
        assert_eq!(r[3], (0, 0, Some(&[20][..])));
        assert_eq!(runs(&[1, 3, 5]), vec![(0, 0, Some(&[1, 3, 5][..]))]);
        assert!(runs(&[]).is_empty());
    }

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
