//! Database outages under a live writer, done for real: SQLite locked by another connection
//! (`BEGIN EXCLUSIVE`), MariaDB/PostgreSQL cut off by a TCP proxy. Every record must end up
//! written exactly once.

use std::collections::HashSet;
use std::time::Duration;

use sockhub_store::testing::{TestDb, backends};
use sockhub_store::{Writer, WriterOptions};

use crate::common::{all_texts, init_tracing, line, wait_written};

fn fast_retries() -> WriterOptions {
    WriterOptions {
        capacity: 10_000,
        max_batch: 64,
        retry_initial: Duration::from_millis(20),
        retry_max: Duration::from_millis(200),
    }
}

#[tokio::test]
async fn outage_under_a_live_writer_loses_and_duplicates_nothing() {
    init_tracing();
    for b in backends() {
        let (mut db, mut switch) = TestDb::create_breakable(&b).await;
        db.opts.connect_timeout = Duration::from_millis(300);
        let store = db.open().await;
        let (journal, handle) = Writer::spawn(store.clone(), fast_retries());

        let mut sent = 0usize;
        let mut send = |n: usize| {
            let batch: Vec<_> = (sent..sent + n).map(|i| line("kim", format!("o{i}"), i as i64)).collect();
            sent += n;
            batch
        };
        for r in send(200) {
            journal.send(r).await.unwrap();
        }
        wait_written(&journal, 200, Duration::from_secs(30)).await;

        // Down: keep sending, paced like a live room, while every write attempt fails.
        switch.cut().await;
        for r in send(300) {
            journal.send(r).await.unwrap();
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        tokio::time::sleep(Duration::from_millis(800)).await;
        let during = journal.stats();
        assert!(during.failed_attempts > 0, "{}: {during:?}", b.name());
        assert!(!during.healthy);
        assert!(during.written < 500);
        assert!(during.lag > Duration::ZERO);

        // Back: everything is written, once, in order.
        switch.restore().await;
        for r in send(100) {
            journal.send(r).await.unwrap();
        }
        wait_written(&journal, 600, Duration::from_secs(60)).await;
        let report = handle.shutdown(Duration::from_secs(10)).await;
        assert!(report.is_complete(), "{report:?}");
        assert_eq!(report.written_total, 600);

        let texts = all_texts(&store).await;
        let unique: HashSet<&String> = texts.iter().collect();
        assert_eq!(unique.len(), texts.len(), "{}: duplicates written", b.name());
        let expected: Vec<String> = (0..600).map(|i| format!("o{i}")).collect();
        assert_eq!(texts, expected, "{}: lost or reordered records", b.name());
        store.close().await;
        db.cleanup().await;
    }
}

/// The connection drops right after the server received COMMIT: the writer cannot know
/// whether the batch landed. It must find out (the batch marker) instead of writing it twice.
/// Server backends only: SQLite has no connection to lose.
#[tokio::test]
async fn commit_outcome_unknown_is_resolved_without_duplicates() {
    init_tracing();
    for b in backends().into_iter().filter(|b| b.base_url.is_some()) {
        let (mut db, switch) = TestDb::create_breakable(&b).await;
        db.opts.connect_timeout = Duration::from_millis(500);
        let store = db.open().await;
        let proxy = switch.proxy().expect("server backends use the proxy");
        let (journal, handle) = Writer::spawn(store.clone(), fast_retries());

        proxy.cut_after(b"COMMIT");
        for i in 0..50 {
            journal.send(line("kim", format!("c{i}"), i)).await.unwrap();
        }
        tokio::time::timeout(Duration::from_secs(10), proxy.wait_cut()).await.expect("COMMIT seen");
        tokio::time::sleep(Duration::from_millis(300)).await;
        proxy.restore();

        wait_written(&journal, 50, Duration::from_secs(30)).await;
        let stats = journal.stats();
        assert!(stats.uncertain_commits >= 1, "{}: {stats:?}", b.name());
        let report = handle.shutdown(Duration::from_secs(10)).await;
        assert!(report.is_complete(), "{report:?}");

        let texts = all_texts(&store).await;
        let expected: Vec<String> = (0..50).map(|i| format!("c{i}")).collect();
        assert_eq!(texts, expected, "{}: lost or duplicated after an unknown COMMIT", b.name());
        store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn shutdown_during_an_outage_reports_what_was_not_written() {
    init_tracing();
    for b in backends() {
        let (mut db, mut switch) = TestDb::create_breakable(&b).await;
        db.opts.connect_timeout = Duration::from_millis(200);
        let store = db.open().await;
        let (journal, handle) = Writer::spawn(store.clone(), fast_retries());
        journal.send(line("kim", "written", 0)).await.unwrap();
        wait_written(&journal, 1, Duration::from_secs(10)).await;

        switch.cut().await;
        for i in 0..10 {
            journal.send(line("kim", format!("stuck{i}"), i)).await.unwrap();
        }
        let report = handle.shutdown(Duration::from_millis(700)).await;
        assert!(!report.is_complete());
        assert_eq!(report.written_total, 1);
        assert!(report.uncertain.is_empty(), "{report:?}");
        let texts: Vec<String> = report
            .unwritten
            .into_iter()
            .map(|r| match r {
                sockhub_store::Record::Chat(c) => c.text,
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        let expected: Vec<String> = (0..10).map(|i| format!("stuck{i}")).collect();
        assert_eq!(texts, expected, "{}", b.name());
        assert!(report.elapsed < Duration::from_secs(3), "{:?}", report.elapsed);

        switch.restore().await;
        assert_eq!(all_texts(&store).await, vec!["written"], "{}", b.name());
        store.close().await;
        db.cleanup().await;
    }
}
