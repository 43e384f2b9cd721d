//! The relay's storage on every backend: idempotent group commits, seq assignment, counters
//! that add up through every state change, resends, reconcile digests and summaries.

use std::sync::Arc;

use sockhub_store::testing::{TestDb, backends};
use sockhub_store::{
    BatchOutcome, ForwardedMark, HeldMark, RelayBatch, RelayFilter, RelayRecord, RelayState, ResendSelector,
    Store, Stored, record_digest,
};

use crate::common::init_tracing;

fn rec(source: &str, seq: Option<i64>, payload: &str, state: RelayState) -> RelayRecord {
    RelayRecord {
        source: Arc::from(source),
        seq,
        at_ms: 1_700_000_000_000 + seq.unwrap_or(0),
        payload: Arc::from(payload),
        state,
        rule: (state == RelayState::Kept).then(|| Arc::from("errors")),
        maybe_dup: false,
    }
}

async fn counters_add_up(store: &Store) {
    for s in store.relay().sources().await.unwrap() {
        assert!(s.adds_up(), "{s:?}");
    }
}

#[tokio::test]
async fn a_resent_record_is_stored_once_and_counted_once() {
    init_tracing();
    for b in backends() {
        let db = TestDb::create(&b).await;
        let store = db.open().await;
        let batch = RelayBatch {
            records: vec![
                rec("dev1", Some(1), "a", RelayState::Queued),
                rec("dev1", Some(2), "b", RelayState::Kept),
                rec("dev1", Some(2), "b again in the same batch", RelayState::Kept),
                rec("dev2", Some(7), "한글 payload", RelayState::Queued),
            ],
            ..Default::default()
        };
        let out = store.relay().write(&batch, 1000).await.unwrap();
        // The same seq twice in one batch with another payload: the first one is kept.
        assert_eq!(out.stored, [Stored::New(1), Stored::New(2), Stored::Conflict(2), Stored::New(7)]);

        // Sent again after a lost ack: the caller may not know, so it says nothing (maybe_dup
        // false): the insert's row count catches it and the write is redone with lookups.
        let again =
            RelayBatch { records: vec![rec("dev1", Some(1), "a", RelayState::Queued)], ..Default::default() };
        let out = store.relay().write(&again, 2000).await.unwrap();
        assert_eq!(out.stored, [Stored::Duplicate(1)], "{}", b.name());
        let mut flagged = again.clone();
        flagged.records[0].maybe_dup = true;
        assert_eq!(store.relay().write(&flagged, 2000).await.unwrap().stored, [Stored::Duplicate(1)]);

        let all = store.relay().list(&RelayFilter::default()).await.unwrap();
        assert_eq!(all.len(), 3);
        assert_eq!(all[2].payload, "한글 payload");
        assert_eq!(all[2].digest, record_digest(7, 1_700_000_000_007, "한글 payload"));
        let dev1 = store.relay().source("dev1").await.unwrap().unwrap();
        assert_eq!((dev1.received, dev1.queued, dev1.kept, dev1.last_seq), (2, 1, 1, 2));
        assert_eq!(dev1.pending_bytes, 1);
        assert_eq!(dev1.conflicts, 1);
        counters_add_up(&store).await;
        store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn seqs_are_assigned_after_the_highest_stored_one() {
    init_tracing();
    for b in backends() {
        let db = TestDb::create(&b).await;
        let store = db.open().await;
        let batch = RelayBatch {
            records: vec![
                rec("lab-1", None, "first", RelayState::Queued),
                rec("lab-1", Some(10), "explicit", RelayState::Queued),
                rec("lab-1", None, "second", RelayState::Queued),
            ],
            ..Default::default()
        };
        let out = store.relay().write(&batch, 1).await.unwrap();
        assert_eq!(out.stored, [Stored::New(11), Stored::New(10), Stored::New(12)], "{}", b.name());
        let out = store
            .relay()
            .write(
                &RelayBatch {
                    records: vec![rec("lab-1", None, "third", RelayState::Queued)],
                    ..Default::default()
                },
                2,
            )
            .await
            .unwrap();
        assert_eq!(out.stored, [Stored::New(13)]);
        let out = store
            .relay()
            .write(
                &RelayBatch {
                    records: vec![rec("new", None, "x", RelayState::Queued)],
                    ..Default::default()
                },
                2,
            )
            .await
            .unwrap();
        assert_eq!(out.stored, [Stored::New(1)]);
        counters_add_up(&store).await;
        store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn states_move_and_counters_follow() {
    init_tracing();
    for b in backends() {
        let db = TestDb::create(&b).await;
        let store = db.open().await;
        let records = (1..=20).map(|i| rec("d", Some(i), "xy", RelayState::Queued)).collect();
        store.relay().write(&RelayBatch { records, ..Default::default() }, 1).await.unwrap();
        assert_eq!(
            store.relay().queued("d", 0, 5).await.unwrap().iter().map(|r| r.seq).collect::<Vec<_>>(),
            [1, 2, 3, 4, 5]
        );

        // Downstream acknowledged 1..=10 and 12, 14; refused 11.
        let mut seqs: Vec<i64> = (1..=10).collect();
        seqs.extend([12, 14]);
        let marks = RelayBatch {
            forwarded: vec![ForwardedMark { source: Arc::from("d"), seqs, bytes: 24 }],
            held: vec![HeldMark { source: Arc::from("d"), seq: 11, reason: "too large".into() }],
            ..Default::default()
        };
        let out = store.relay().write(&marks, 2).await.unwrap();
        assert_eq!((out.forwarded, out.held), (12, 1));
        let s = store.relay().source("d").await.unwrap().unwrap();
        assert_eq!((s.forwarded, s.held, s.queued, s.pending_bytes), (12, 1, 7, 16), "{}", b.name());
        assert!(s.adds_up());
        assert_eq!(
            store.relay().queued("d", 0, 100).await.unwrap().iter().map(|r| r.seq).collect::<Vec<_>>(),
            [13, 15, 16, 17, 18, 19, 20]
        );
        let held = store
            .relay()
            .list(&RelayFilter { state: Some(RelayState::Held), ..Default::default() })
            .await
            .unwrap();
        assert_eq!(held.len(), 1);
        assert_eq!(held[0].reason.as_deref(), Some("too large"));

        // Marking again what is no longer queued changes nothing and recounts.
        let out = store.relay().write(&marks, 3).await.unwrap();
        assert_eq!(out.forwarded, 0);
        assert!(store.relay().source("d").await.unwrap().unwrap().adds_up());

        // The floor moves to the first queued record.
        assert_eq!(store.relay().advance_floor("d").await.unwrap().map(|f| f.0), Some(13));

        // Reconcile finds 3 and 4 missing downstream.
        assert_eq!(store.relay().mark_missing("d", &[3, 4, 99], "not downstream").await.unwrap(), 2);
        let s = store.relay().source("d").await.unwrap().unwrap();
        assert_eq!((s.forwarded, s.missing, s.pending_bytes, s.queued_from), (10, 2, 20, 3));
        assert!(s.adds_up());

        // An operator re-sends the held one and the missing ones.
        let r = store
            .relay()
            .resend(&ResendSelector { state: RelayState::Held, source: None, seqs: None }, Some(7))
            .await
            .unwrap();
        assert_eq!(r.len(), 1);
        assert_eq!((r[0].count, r[0].min_seq), (1, 11));
        let r = store
            .relay()
            .resend(
                &ResendSelector { state: RelayState::Missing, source: Some("d".into()), seqs: Some((4, 4)) },
                None,
            )
            .await
            .unwrap();
        assert_eq!(r[0].count, 1);
        let s = store.relay().source("d").await.unwrap().unwrap();
        assert_eq!((s.held, s.missing, s.queued), (0, 1, 9));
        assert!(s.adds_up(), "{s:?}");
        let row =
            &store.relay().list(&RelayFilter { seqs: Some((11, 11)), ..Default::default() }).await.unwrap()
                [0];
        assert_eq!((row.state, row.resends), (RelayState::Queued, 1));
        assert!(
            store
                .relay()
                .resend(&ResendSelector { state: RelayState::Forwarded, source: None, seqs: None }, None)
                .await
                .is_err()
        );

        // Recount agrees with the incremental counters.
        let before = store.relay().source("d").await.unwrap().unwrap();
        store.relay().recount("d").await.unwrap();
        assert_eq!(store.relay().source("d").await.unwrap().unwrap(), before);
        store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn digests_and_summaries_for_reconcile() {
    init_tracing();
    for b in backends() {
        let db = TestDb::create(&b).await;
        let store = db.open().await;
        let mut records: Vec<RelayRecord> =
            (1..=100).filter(|i| i % 10 != 0).map(|i| rec("s", Some(i), "p", RelayState::Received)).collect();
        records.push(rec("s", Some(u32::MAX as i64 * 4), "big seq", RelayState::Received));
        store.relay().write(&RelayBatch { records, ..Default::default() }, 1).await.unwrap();

        let d = store.relay().digests("s", &[(1, 50), (51, 100), (0, i64::MAX)], false).await.unwrap();
        assert_eq!(d[0].count, 45);
        assert_eq!(d[1].count, 45);
        assert_eq!(d[2].count, 91);
        let expected: i64 =
            (1..=50).filter(|i| i % 10 != 0).map(|i| record_digest(i, 1_700_000_000_000 + i, "p")).sum();
        assert_eq!(d[0].sum, expected, "{}", b.name());
        assert_eq!(store.relay().digests("s", &[(1, 100)], true).await.unwrap()[0].count, 0);

        let listing = store.relay().listing("s", 8, 12, false).await.unwrap();
        assert_eq!(listing.iter().map(|x| x.0).collect::<Vec<_>>(), [8, 9, 11, 12]);

        let sum = store.relay().seq_summary("s", 3).await.unwrap();
        assert_eq!((sum.count, sum.first, sum.gaps_total), (91, Some(1), 10));
        assert_eq!(sum.gaps, [(10, 10), (20, 20), (30, 30)]);
        assert_eq!(store.relay().seq_summary("nobody", 3).await.unwrap().count, 0);
        let states = store.relay().states("s", &[1, 10, 11]).await.unwrap();
        assert_eq!(states, [(1, RelayState::Received), (11, RelayState::Received)]);
        store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn requests_reconciles_and_node_status() {
    init_tracing();
    for b in backends() {
        let db = TestDb::create(&b).await;
        let store = db.open().await;
        let id = store.relay().request_add("resend", "alice", r#"{"state":"held"}"#).await.unwrap();
        let id2 = store.relay().request_add("reconcile", "bob", "{}").await.unwrap();
        assert!(id2 > id);
        let pending = store.relay().requests_pending().await.unwrap();
        assert_eq!(pending.iter().map(|r| r.id).collect::<Vec<_>>(), [id, id2]);
        store.relay().request_finish(id, "done", r#"{"queued":3}"#).await.unwrap();
        assert_eq!(store.relay().requests_pending().await.unwrap().len(), 1);
        let r = store.relay().request(id).await.unwrap().unwrap();
        assert_eq!((r.status.as_str(), r.requested_by.as_str()), ("done", "alice"));

        store
            .relay()
            .reconcile_add(&sockhub_store::ReconcileRow {
                id: 0,
                cause: "manual".into(),
                started_ms: 1,
                finished_ms: 2,
                outcome: sockhub_store::ReconcileOutcome::Repaired,
                sources: 1,
                missing: 0,
                extra: 0,
                mismatched: 0,
                detail: "[]".into(),
            })
            .await
            .unwrap();
        let runs = store.relay().reconciles(5).await.unwrap();
        assert_eq!(
            (runs[0].cause.as_str(), runs[0].outcome),
            ("manual", sockhub_store::ReconcileOutcome::Repaired)
        );

        store.relay().node_put("n1", r#"{"a":1}"#).await.unwrap();
        store.relay().node_put("n1", r#"{"a":2}"#).await.unwrap();
        let nodes = store.relay().nodes().await.unwrap();
        assert_eq!(nodes.len(), 1);
        assert_eq!(nodes[0].2, r#"{"a":2}"#);
        store.close().await;
        db.cleanup().await;
    }
}

/// The review screen's listing: text search (wildcards taken literally, letter case ignored),
/// newest first, and paging before an id.
#[tokio::test]
async fn records_are_searched_by_text_and_paged_newest_first() {
    init_tracing();
    for b in backends() {
        let db = TestDb::create(&b).await;
        let store = db.open().await;
        let payloads =
            ["boot ok", "ERROR fan stopped", "error: 100% load", "fan_2 ok", "팬 오류 error", "50%_done"];
        let records = payloads
            .iter()
            .enumerate()
            .map(|(i, p)| rec("dev1", Some(i as i64 + 1), p, RelayState::Queued))
            .collect();
        store.relay().write(&RelayBatch { records, ..Default::default() }, 1000).await.unwrap();
        let list = |f: RelayFilter| {
            let store = store.clone();
            async move { store.relay().list(&f).await.unwrap().iter().map(|r| r.seq).collect::<Vec<_>>() }
        };
        let text = |t: &str| RelayFilter { text: Some(t.into()), ..Default::default() };
        assert_eq!(list(text("error")).await, [2, 3, 5], "{}: letter case is ignored", b.name());
        assert_eq!(list(text("100%")).await, [3], "{}: % is literal", b.name());
        assert_eq!(list(text("n_2")).await, [4], "{}: _ is literal", b.name());
        assert_eq!(list(text("%_")).await, [6], "{}", b.name());
        assert_eq!(list(text("오류")).await, [5], "{}", b.name());
        assert_eq!(list(text("!")).await, Vec::<i64>::new(), "{}", b.name());

        let newest = RelayFilter { newest_first: true, limit: Some(4), ..Default::default() };
        let page1 = store.relay().list(&newest).await.unwrap();
        assert_eq!(page1.iter().map(|r| r.seq).collect::<Vec<_>>(), [6, 5, 4, 3]);
        let page2 = RelayFilter { before_id: Some(page1[3].id), ..newest };
        assert_eq!(list(page2).await, [2, 1], "{}", b.name());
        store.close().await;
        db.cleanup().await;
    }
}

/// Retries a write the database refused for now (a deadlock between two writers, a race lost
/// twice), as the server's ingest task does.
async fn write_retrying(store: &Store, batch: &RelayBatch) -> sockhub_store::BatchOutcome {
    loop {
        match store.relay().write(batch, 1).await {
            Ok(out) => return out,
            Err(e) if e.is_retryable() => tokio::time::sleep(std::time::Duration::from_millis(5)).await,
            Err(e) => panic!("{e}"),
        }
    }
}

/// Two nodes on one database write overlapping records of the same sources at once, each
/// believing its records are new (`maybe_dup` false, as when another node stored them since it
/// last looked), then both mark overlapping ranges forwarded: every record is stored once and
/// reported `New` by exactly one writer, and the counters — changed by increments in SQL, and
/// recounted under a row lock when a mark finds records already forwarded — add up to what is
/// stored.
#[tokio::test]
async fn two_writers_on_one_database_store_each_record_once_and_count_it_once() {
    init_tracing();
    for b in backends() {
        let db = TestDb::create(&b).await;
        let (one, two) = (db.open().await, db.open().await);
        const ROUNDS: i64 = 20;
        let write = |store: Store, offset: i64, sources: [&'static str; 2]| async move {
            let mut new = Vec::new();
            for round in 0..ROUNDS {
                let records = (0..50)
                    .flat_map(|i| {
                        let seq = 1 + round * 40 + i + offset;
                        sources.map(|s| rec(s, Some(seq), "reading", RelayState::Queued))
                    })
                    .collect();
                let batch = RelayBatch { records, ..Default::default() };
                let out = write_retrying(&store, &batch).await;
                for (r, s) in batch.records.iter().zip(out.stored) {
                    if let Stored::New(seq) = s {
                        new.push((r.source.to_string(), seq));
                    }
                }
            }
            new
        };
        let (a, z) = tokio::join!(
            tokio::spawn(write(one.clone(), 0, ["dev-a", "dev-b"])),
            tokio::spawn(write(two.clone(), 20, ["dev-b", "dev-a"]))
        );
        let mut new: Vec<(String, i64)> = a.unwrap().into_iter().chain(z.unwrap()).collect();
        let reported = new.len();
        new.sort();
        new.dedup();
        assert_eq!(reported, new.len(), "{}: a record reported new by both writers", b.name());
        let last = (ROUNDS - 1) * 40 + 50 + 20;
        assert_eq!(new.len() as i64, 2 * last, "{}", b.name());
        assert_eq!(store_count(&one).await, 2 * last);

        // Both mark overlapping ranges forwarded at once.
        let mark = |store: Store, from: i64| async move {
            for lo in (from..=last).step_by(100) {
                let seqs: Vec<i64> = (lo..=(lo + 149).min(last)).collect();
                let forwarded = ["dev-a", "dev-b"]
                    .map(|s| ForwardedMark {
                        source: Arc::from(s),
                        seqs: seqs.clone(),
                        bytes: 7 * seqs.len() as i64,
                    })
                    .to_vec();
                write_retrying(&store, &RelayBatch { forwarded, ..Default::default() }).await;
            }
        };
        let (a, z) = tokio::join!(tokio::spawn(mark(one.clone(), 1)), tokio::spawn(mark(two.clone(), 51)));
        a.unwrap();
        z.unwrap();
        for s in ["dev-a", "dev-b"] {
            let c = one.relay().source(s).await.unwrap().unwrap();
            assert_eq!(
                (c.received, c.forwarded, c.queued, c.pending_bytes, c.last_seq),
                (last, last, 0, 0, last),
                "{}: {c:?}",
                b.name()
            );
            assert!(c.adds_up());
        }
        one.close().await;
        two.close().await;
        db.cleanup().await;
    }
}

async fn store_count(store: &Store) -> i64 {
    store.relay().list(&RelayFilter::default()).await.unwrap().len() as i64
}

/// Whoever stores a (source, seq) first keeps it: a different payload under it is a conflict,
/// counted and not written, whether or not the writer suspected a duplicate, alone or amid new
/// records; the same payload again (even with another timestamp) is a plain duplicate.
#[tokio::test]
async fn a_different_payload_under_a_stored_seq_is_a_conflict_and_changes_nothing() {
    init_tracing();
    for b in backends() {
        let db = TestDb::create(&b).await;
        let store = db.open().await;
        let write = |records: Vec<RelayRecord>| {
            let store = store.clone();
            async move { store.relay().write(&RelayBatch { records, ..Default::default() }, 1000).await.unwrap() }
        };
        let first = write(vec![rec("fan-1", Some(50), "FAKE", RelayState::Queued)]).await;
        assert_eq!(first.stored, [Stored::New(50)]);

        for maybe_dup in [false, true] {
            let mut real = rec("fan-1", Some(50), "REAL", RelayState::Queued);
            real.maybe_dup = maybe_dup;
            let out: BatchOutcome = write(vec![
                rec("fan-1", Some(49), "before", RelayState::Queued),
                real,
                rec("fan-1", Some(51), "after", RelayState::Queued),
            ])
            .await;
            let expected = match maybe_dup {
                false => [Stored::New(49), Stored::Conflict(50), Stored::New(51)],
                true => [Stored::Duplicate(49), Stored::Conflict(50), Stored::Duplicate(51)],
            };
            assert_eq!(out.stored, expected, "{} maybe_dup {maybe_dup}", b.name());
        }
        // An identical re-send, with another timestamp (a device that stamps at send time).
        let mut again = rec("fan-1", Some(50), "FAKE", RelayState::Queued);
        again.at_ms += 5;
        assert_eq!(write(vec![again]).await.stored, [Stored::Duplicate(50)], "{}", b.name());

        let rows = store
            .relay()
            .list(&RelayFilter { source: Some("fan-1".into()), seqs: Some((50, 50)), ..Default::default() })
            .await
            .unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].payload, "FAKE", "{}: the stored record is untouched", b.name());
        assert_eq!(rows[0].digest, record_digest(50, 1_700_000_000_050, "FAKE"));
        let c = store.relay().source("fan-1").await.unwrap().unwrap();
        assert_eq!((c.received, c.queued, c.conflicts, c.last_seq), (3, 3, 2, 51), "{}: {c:?}", b.name());
        assert_eq!(c.pending_bytes, 4 + 6 + 5);
        counters_add_up(&store).await;
        // A recount (from the records) leaves the conflict counter alone.
        store.relay().recount("fan-1").await.unwrap();
        assert_eq!(store.relay().source("fan-1").await.unwrap().unwrap().conflicts, 2);
        store.close().await;
        db.cleanup().await;
    }
}

/// Device tokens: shown once, stored as a hash, found by the token, refused once revoked.
#[tokio::test]
async fn device_tokens_are_stored_hashed_and_can_be_revoked() {
    init_tracing();
    for b in backends() {
        let db = TestDb::create(&b).await;
        let store = db.open().await;
        let (fans, token) = store.relay().token_add("fan-*", "hall fans").await.unwrap();
        let (_, other) = store.relay().token_add("*", "").await.unwrap();
        assert_ne!(token, other);
        assert_eq!(store.relay().token_check(&token).await.unwrap().as_ref(), Some(&fans), "{}", b.name());
        assert_eq!(fans.source_glob, "fan-*");
        assert!(store.relay().token_check("sht_not-a-token").await.unwrap().is_none());
        assert!(store.relay().token_check(&sockhub_store::relay_token_hash(&token)).await.unwrap().is_none());
        let listed = store.relay().tokens().await.unwrap();
        assert_eq!(listed.len(), 2);
        assert!(!format!("{listed:?}").contains(&token));

        assert!(store.relay().token_valid(fans.id).await.unwrap());
        assert!(store.relay().token_revoke(fans.id).await.unwrap());
        assert!(!store.relay().token_revoke(fans.id).await.unwrap(), "revoked twice");
        assert!(!store.relay().token_revoke(9999).await.unwrap());
        assert!(store.relay().token_check(&token).await.unwrap().is_none(), "{}", b.name());
        assert!(!store.relay().token_valid(fans.id).await.unwrap());
        assert!(store.relay().token_check(&other).await.unwrap().is_some());
        let listed = store.relay().tokens().await.unwrap();
        assert!(listed[0].revoked_ms.is_some() && listed[1].revoked_ms.is_none());
        assert!(store.relay().token_add("", "x").await.is_err());
        store.close().await;
        db.cleanup().await;
    }
}
