//! Retention on every backend: only rows older than the cutoff go, in batches of at most the
//! size asked; for the relay only records downstream confirmed, never queued, held, kept or a
//! sink's, with the counters still adding up and the pruned watermark recorded.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sockhub_store::testing::{TestDb, backends};
use sockhub_store::{
    ChatFilter, ChatRecord, ForwardedMark, HeldMark, LoginFilter, LoginOutcome, LoginRecord,
    QuizAttemptRecord, RelayBatch, RelayFilter, RelayRecord, RelayState, RetentionKind, Store, Writer,
    WriterOptions,
};

use crate::common::{at, init_tracing, wait_written};

const N: i64 = 10;

fn t(i: i64) -> DateTime<Utc> {
    at(2024, 3, 1, 9, 0, 0) + chrono::Duration::minutes(i)
}

fn attempt(i: i64) -> QuizAttemptRecord {
    QuizAttemptRecord {
        round: 1,
        player: "amy".into(),
        problem_id: i,
        ask: 1,
        problem: "1 + 1".into(),
        expected: 2,
        answer: Some("2".into()),
        verdict: "correct".into(),
        sent_at: t(i),
        received_at: t(i),
        elapsed_ms: 10,
    }
}

/// Writes `N` chat lines, logins and quiz attempts, one a minute from `t(0)`.
async fn fill_logs(store: &Store) {
    let (journal, handle) = Writer::spawn(store.clone(), WriterOptions::default());
    for i in 0..N {
        journal
            .send(ChatRecord {
                sender: "amy".into(),
                recipient: None,
                text: format!("line {i}"),
                at: t(i),
                room: None,
            })
            .await
            .unwrap();
        let mut login = LoginRecord::new("amy", "127.0.0.1:5000", "chat", LoginOutcome::Success);
        login.at = t(i);
        journal.send(login).await.unwrap();
        journal.send(attempt(i)).await.unwrap();
    }
    wait_written(&journal, 3 * N as u64, Duration::from_secs(30)).await;
    assert!(handle.shutdown(Duration::from_secs(10)).await.is_complete());
}

#[tokio::test]
async fn old_log_rows_go_in_batches_and_newer_ones_stay() {
    init_tracing();
    for b in backends() {
        let db = TestDb::create(&b).await;
        let store = db.open().await;
        fill_logs(&store).await;
        // Rows at minutes 0..=6 are older than the cutoff; 7, 8, 9 stay.
        let cutoff = t(7).timestamp_millis();
        for kind in [RetentionKind::Chat, RetentionKind::Logins, RetentionKind::Quiz] {
            let preview = store.retention_preview(kind, cutoff).await.unwrap();
            assert_eq!(preview.count, 7, "{kind} on {}", b.name());
            assert_eq!(preview.oldest_ms, Some(t(0).timestamp_millis()));
            assert_eq!(preview.newest_ms, Some(t(6).timestamp_millis()));
            let mut batches = Vec::new();
            loop {
                let batch = store.retention_prune_batch(kind, cutoff, 3).await.unwrap();
                if batch.removed.count == 0 {
                    break;
                }
                batches.push(batch.removed.count);
            }
            assert_eq!(batches, [3, 3, 1], "{kind} on {}", b.name());
            assert_eq!(store.retention_preview(kind, cutoff).await.unwrap().count, 0);
        }
        let chat: Vec<String> =
            store.chat_log(&ChatFilter::default()).await.unwrap().into_iter().map(|r| r.text).collect();
        assert_eq!(chat, ["line 7", "line 8", "line 9"], "{}", b.name());
        let logins = store.logins(&LoginFilter::default()).await.unwrap();
        assert_eq!(logins.len(), 3);
        assert!(logins.iter().all(|l| l.at >= t(7)), "{logins:?}");
        let attempts = store.quiz_attempts(None).await.unwrap();
        let ids: Vec<i64> = attempts.iter().map(|a| a.attempt.problem_id).collect();
        assert_eq!(ids, [7, 8, 9], "{}", b.name());
        store.close().await;
        db.cleanup().await;
    }
}

fn rec(source: &str, seq: i64, state: RelayState) -> RelayRecord {
    RelayRecord {
        source: Arc::from(source),
        seq: Some(seq),
        at_ms: 1_000 + seq,
        payload: Arc::from(format!("payload {seq}").as_str()),
        state,
        rule: (state == RelayState::Kept).then(|| Arc::from("errors")),
        maybe_dup: false,
    }
}

fn mark(source: &str, seqs: std::ops::RangeInclusive<i64>) -> ForwardedMark {
    let seqs: Vec<i64> = seqs.collect();
    ForwardedMark {
        source: Arc::from(source),
        bytes: seqs.iter().map(|s| format!("payload {s}").len() as i64).sum(),
        seqs,
    }
}

fn seqs_of(rows: &[sockhub_store::RelayRow], source: &str) -> Vec<(i64, RelayState)> {
    rows.iter().filter(|r| r.source == source).map(|r| (r.seq, r.state)).collect()
}

#[tokio::test]
async fn only_confirmed_relay_records_go_and_the_counters_still_add_up() {
    init_tracing();
    for b in backends() {
        let db = TestDb::create(&b).await;
        let store = db.open().await;
        // dev: 1..=10 queued at t=1000, 11 kept; a sink's records from "sunk".
        let mut records: Vec<RelayRecord> = (1..=10).map(|s| rec("dev", s, RelayState::Queued)).collect();
        records.push(rec("dev", 11, RelayState::Kept));
        records.extend((1..=5).map(|s| rec("sunk", s, RelayState::Received)));
        store.relay_write(&RelayBatch { records, ..Default::default() }, 1_000).await.unwrap();
        // Confirmed long ago: 1..=6 (at t=2000); recently: 7..=8 (t=50_000); 9 held; 10 queued.
        let old = RelayBatch {
            forwarded: vec![mark("dev", 1..=6)],
            held: vec![HeldMark { source: Arc::from("dev"), seq: 9, reason: "refused".into() }],
            ..Default::default()
        };
        store.relay_write(&old, 2_000).await.unwrap();
        store
            .relay_write(&RelayBatch { forwarded: vec![mark("dev", 7..=8)], ..Default::default() }, 50_000)
            .await
            .unwrap();

        let cutoff = 10_000;
        let preview = store.retention_preview(RetentionKind::Relay, cutoff).await.unwrap();
        assert_eq!(
            (preview.count, preview.oldest_ms, preview.newest_ms),
            (6, Some(2_000), Some(2_000)),
            "{}",
            b.name()
        );
        let mut batches = Vec::new();
        loop {
            let batch = store.retention_prune_batch(RetentionKind::Relay, cutoff, 4).await.unwrap();
            if batch.removed.count == 0 {
                break;
            }
            let relay = batch.relay.expect("a relay batch names its source");
            assert_eq!(relay.source, "dev");
            batches.push((relay.count, relay.max_seq));
        }
        assert_eq!(batches, [(4, 4), (2, 6)], "{}", b.name());

        let rows = store.relay_list(&RelayFilter::default()).await.unwrap();
        assert_eq!(
            seqs_of(&rows, "dev"),
            [
                (7, RelayState::Forwarded),
                (8, RelayState::Forwarded),
                (9, RelayState::Held),
                (10, RelayState::Queued),
                (11, RelayState::Kept)
            ],
            "{}",
            b.name()
        );
        assert_eq!(seqs_of(&rows, "sunk").len(), 5, "a sink's records are never pruned");
        let dev = store.relay_source("dev").await.unwrap().unwrap();
        assert_eq!((dev.received, dev.forwarded, dev.pruned, dev.pruned_seq), (11, 2, 6, 6), "{}", b.name());
        assert!(dev.adds_up(), "{dev:?}");
        let sunk = store.relay_source("sunk").await.unwrap().unwrap();
        assert_eq!((sunk.pruned, sunk.pruned_seq), (0, -1));
        // Rebuilding the counters from the records keeps the pruned ones counted.
        store.relay_recount("dev").await.unwrap();
        assert_eq!(store.relay_source("dev").await.unwrap().unwrap(), dev, "{}", b.name());
        // What reconcile compares: only the forwarded records left.
        let d = store.relay_digests("dev", &[(0, 11)], true).await.unwrap();
        assert_eq!(d[0].count, 2);
        // Nothing older than a later cutoff but the recently confirmed ones.
        assert_eq!(store.retention_preview(RetentionKind::Relay, 60_000).await.unwrap().count, 2);
        store.close().await;
        db.cleanup().await;
    }
}
