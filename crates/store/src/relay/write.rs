//! The relay's group commit: [`RelayStore::write`] stores the new records of a
//! [`RelayBatch`] (skipping re-sends, refusing conflicting ones), marks what downstream
//! acknowledged forwarded and what it refused held, and moves the counters, all in one
//! transaction. Its steps are the functions below, in order; the module docs of `relay`
//! explain why the duplicate lookup is a guess confirmed by the insert's row count.

use std::collections::HashMap;
use std::sync::Arc;

use sqlx::Row;

use super::counters::Delta;
use super::{
    MAX_IN, RELAY_RULE_MAX_CHARS, RELAY_SOURCE_MAX_CHARS, RelayState, RelayStore, Tx, push_in_list,
    record_digest,
};
use crate::error::StoreError;
use crate::store::{Backend, insert_chunks};

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

/// The result of [`RelayStore::write`].
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

/// Columns of one inserted record.
const INSERT_COLUMNS: &str = "source, seq, state, rule, at_ms, received_ms, bytes, digest, payload";
const INSERT_COLUMN_COUNT: usize = 9;

/// Internal: the insert found rows another writer stored after our lookup.
struct Raced;

/// Counter changes per source, accumulated during one transaction.
type Deltas = HashMap<Arc<str>, Delta>;

impl RelayStore<'_> {
    /// Commits one batch: stores the new records (skipping ones already stored), marks
    /// acknowledged records forwarded and refused ones held, and updates the counters, all in
    /// one transaction. `now_ms` is the receive time of the new records.
    pub async fn write(self, batch: &RelayBatch, now_ms: i64) -> Result<BatchOutcome, StoreError> {
        validate_records(&batch.records)?;
        match self.write_once(batch, now_ms, false).await? {
            Ok(out) => Ok(out),
            Err(Raced) => match self.write_once(batch, now_ms, true).await? {
                Ok(out) => Ok(out),
                Err(Raced) => Err(StoreError::Unavailable(
                    "relay records were written concurrently by another process; retry".into(),
                )),
            },
        }
    }

    /// One attempt at [`RelayStore::write`]; `lookup_all` looks every record with a seq up
    /// instead of only the possible duplicates (the retry after a race).
    async fn write_once(
        self,
        batch: &RelayBatch,
        now_ms: i64,
        lookup_all: bool,
    ) -> Result<Result<BatchOutcome, Raced>, StoreError> {
        let mut tx = self.begin().await?;
        let mut deltas = Deltas::new();
        let mut out = BatchOutcome { stored: Vec::with_capacity(batch.records.len()), ..Default::default() };
        let seqs = self.assign_seqs(&mut tx, &batch.records, now_ms).await?;
        let existing = self.lookup_stored(&mut tx, &batch.records, &seqs, lookup_all).await?;
        let new_rows = sort_out_new(&batch.records, &seqs, existing, &mut out, &mut deltas);
        if !self.insert_new(&mut tx, &new_rows, now_ms).await? {
            // Someone stored some of "our" new records between the lookup and the insert.
            tx.rollback().await?;
            return Ok(Err(Raced));
        }
        let recount = self.mark_forwarded(&mut tx, &batch.forwarded, now_ms, &mut out, &mut deltas).await?;
        self.mark_held(&mut tx, &batch.held, now_ms, &mut out, &mut deltas).await?;
        self.apply_deltas(&mut tx, deltas, &recount, now_ms).await?;
        tx.commit().await?;
        out.recounted = recount;
        Ok(Ok(out))
    }

    /// Step 1: the seq of every record, assigning them to records sent without one. The
    /// source's last seq moves past the batch's explicit seqs first, then past the assigned
    /// ones. The UPDATE locks the source's row (on a server database) until COMMIT, so two
    /// nodes never hand out the same seq.
    async fn assign_seqs(
        self,
        tx: &mut Tx,
        records: &[RelayRecord],
        now_ms: i64,
    ) -> Result<Vec<i64>, StoreError> {
        // Per source: how many records need a seq, and then the first seq they get.
        let mut auto: HashMap<Arc<str>, (i64, Option<i64>)> = HashMap::new();
        for r in records {
            if r.seq.is_none() {
                auto.entry(r.source.clone()).or_insert((0, None)).0 += 1;
            }
        }
        if !auto.is_empty() {
            for r in records {
                if let (Some(seq), Some(a)) = (r.seq, auto.get_mut(&r.source)) {
                    a.1 = Some(a.1.map_or(seq, |m: i64| m.max(seq)));
                }
            }
            let mut order: Vec<_> = auto.iter_mut().collect();
            order.sort_by(|a, b| a.0.cmp(b.0));
            for (source, (count, max_explicit)) in order {
                self.ensure_source(tx, source, now_ms).await?;
                let mut b = self.buf();
                b.push("UPDATE relay_sources SET last_seq = ")
                    .push(self.greatest())
                    .push("(last_seq, ")
                    .bind(max_explicit.unwrap_or(0))
                    .push(") + ")
                    .bind(*count)
                    .push(" WHERE source = ")
                    .bind(source.to_string());
                b.build()?.execute(&mut **tx).await?;
                let last: i64 = self
                    .query("SELECT last_seq FROM relay_sources WHERE source = $1")
                    .bind(source.to_string())
                    .fetch_one(&mut **tx)
                    .await?
                    .try_get("last_seq")?;
                // Hand out from the first assigned seq upwards.
                *max_explicit = Some(last - *count + 1);
            }
        }
        let mut next_auto: HashMap<Arc<str>, i64> =
            auto.into_iter().map(|(s, (_, first))| (s, first.unwrap_or(1))).collect();
        Ok(records
            .iter()
            .map(|r| {
                r.seq.unwrap_or_else(|| {
                    let n = next_auto.get_mut(&r.source).expect("assigned above");
                    *n += 1;
                    *n - 1
                })
            })
            .collect())
    }

    /// Step 2: which of the possible duplicates are stored already, and with which payload.
    async fn lookup_stored(
        self,
        tx: &mut Tx,
        records: &[RelayRecord],
        seqs: &[i64],
        lookup_all: bool,
    ) -> Result<HashMap<(Arc<str>, i64), Arc<str>>, StoreError> {
        let mut existing = HashMap::new();
        let mut lookups: HashMap<Arc<str>, Vec<i64>> = HashMap::new();
        for (r, &seq) in records.iter().zip(seqs) {
            if r.seq.is_some() && (r.maybe_dup || lookup_all) {
                lookups.entry(r.source.clone()).or_default().push(seq);
            }
        }
        for (source, list) in lookups {
            for chunk in list.chunks(MAX_IN) {
                let mut b = self.buf();
                b.push("SELECT seq, payload FROM relay_records WHERE source = ").bind(source.to_string());
                push_in_list(&mut b, "seq", chunk);
                for row in b.build()?.fetch_all(&mut **tx).await? {
                    let payload: String = row.try_get("payload")?;
                    existing.insert((source.clone(), row.try_get("seq")?), payload.into());
                }
            }
        }
        Ok(existing)
    }

    /// Step 4: inserts the new records, in chunks; false if fewer rows went in than asked
    /// (another writer stored some of them since step 2).
    async fn insert_new(
        self,
        tx: &mut Tx,
        new_rows: &[(&RelayRecord, i64)],
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let mut inserted = 0u64;
        for chunk in insert_chunks(new_rows, INSERT_COLUMN_COUNT) {
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
            inserted += b.build()?.execute(&mut **tx).await?.rows_affected();
        }
        Ok(inserted == new_rows.len() as u64)
    }

    /// Step 5: acknowledged by downstream, queued -> forwarded. Returns the sources whose
    /// counters must be rebuilt because a mark touched fewer records than it named.
    async fn mark_forwarded(
        self,
        tx: &mut Tx,
        marks: &[ForwardedMark],
        now_ms: i64,
        out: &mut BatchOutcome,
        deltas: &mut Deltas,
    ) -> Result<Vec<Arc<str>>, StoreError> {
        let mut recount: Vec<Arc<str>> = Vec::new();
        for mark in marks {
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
                done += b.build()?.execute(&mut **tx).await?.rows_affected();
            }
            out.forwarded += done;
            out.marked.push(done);
            let d = deltas.entry(mark.source.clone()).or_default();
            d.add(RelayState::Queued, -(done as i64));
            d.add(RelayState::Forwarded, done as i64);
            if done == seqs.len() as u64 {
                d.pending_bytes -= mark.bytes;
            } else {
                // Some were not queued any more (or the bytes would be wrong): recount.
                recount.push(mark.source.clone());
            }
        }
        Ok(recount)
    }

    /// Step 6: refused by downstream too often, queued -> held.
    async fn mark_held(
        self,
        tx: &mut Tx,
        marks: &[HeldMark],
        now_ms: i64,
        out: &mut BatchOutcome,
        deltas: &mut Deltas,
    ) -> Result<(), StoreError> {
        for h in marks {
            let done = self
                .query(
                    "UPDATE relay_records SET state = 'held', reason = $1, done_ms = $2 \
                     WHERE source = $3 AND seq = $4 AND state = 'queued'",
                )
                .bind(h.reason.clone())
                .bind(now_ms)
                .bind(h.source.to_string())
                .bind(h.seq)
                .execute(&mut **tx)
                .await?
                .rows_affected() as i64;
            out.held += done as u64;
            out.held_done.push(done > 0);
            let d = deltas.entry(h.source.clone()).or_default();
            d.add(RelayState::Queued, -done);
            d.add(RelayState::Held, done);
        }
        Ok(())
    }

    /// Step 7: the counters, one statement per source, in the order of their names: two nodes
    /// committing batches of the same sources lock the rows in the same order (no deadlock).
    /// Sources in `recount` are rebuilt from their records instead.
    async fn apply_deltas(
        self,
        tx: &mut Tx,
        deltas: Deltas,
        recount: &[Arc<str>],
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let mut deltas: Vec<(Arc<str>, Delta)> = deltas.into_iter().collect();
        deltas.sort_by(|a, b| a.0.cmp(&b.0));
        for (source, d) in &deltas {
            if !recount.contains(source) {
                self.apply_delta(tx, source, d, now_ms).await?;
            }
        }
        for source in recount {
            self.recount_in(tx, source).await?;
        }
        Ok(())
    }
}

/// Step 3: sorts the batch's records into new ones (returned with their seqs, to insert),
/// re-sends and conflicts (a seq twice in one batch: the first one counts), and records each
/// in `out.stored` and the counters.
fn sort_out_new<'r>(
    records: &'r [RelayRecord],
    seqs: &[i64],
    mut existing: HashMap<(Arc<str>, i64), Arc<str>>,
    out: &mut BatchOutcome,
    deltas: &mut Deltas,
) -> Vec<(&'r RelayRecord, i64)> {
    let mut new_rows = Vec::with_capacity(records.len());
    for (r, &seq) in records.iter().zip(seqs) {
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
    new_rows
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
}
