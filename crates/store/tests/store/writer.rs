//! The batched writer: batching and order, backpressure at capacity, shutdown flush, records
//! the database refuses.

use std::time::Duration;

use sockhub_store::testing::{TestDb, backends};
use sockhub_store::{
    ChatFilter, ChatRecord, JournalError, LoginFilter, LoginOutcome, LoginRecord, Record, Writer,
    WriterOptions,
};

use crate::common::{all_texts, init_tracing, line, wait_written};

#[tokio::test]
async fn many_records_few_transactions_in_order() {
    init_tracing();
    const N: usize = 3000;
    for b in backends() {
        let db = TestDb::create(&b).await;
        let store = db.open().await;
        let opts = WriterOptions { capacity: N, max_batch: 500, ..Default::default() };
        let (journal, handle) = Writer::spawn(store.clone(), opts);
        for i in 0..N {
            // Mixed kinds in one stream: each table keeps its own order.
            journal.send(line("kim", format!("m{i:05}"), i as i64)).await.unwrap();
            if i % 100 == 0 {
                let login = LoginRecord::new("kim", "127.0.0.1:1", "chat", LoginOutcome::Success);
                journal.send(login).await.unwrap();
            }
        }
        wait_written(&journal, (N + N / 100) as u64, Duration::from_secs(60)).await;
        let stats = journal.stats();
        assert!(stats.batches <= (N / 30) as u64, "{}: too many transactions: {stats:?}", b.name());
        assert!(stats.healthy);
        assert_eq!(stats.failed_attempts, 0);

        let texts = all_texts(&store).await;
        let expected: Vec<String> = (0..N).map(|i| format!("m{i:05}")).collect();
        assert_eq!(texts, expected, "{}: order or count differs", b.name());
        assert_eq!(store.logins(&LoginFilter::default()).await.unwrap().len(), N / 100);

        let report = handle.shutdown(Duration::from_secs(10)).await;
        assert!(report.is_complete());
        assert_eq!(report.written_total, (N + N / 100) as u64);
        let idle = journal.stats();
        assert_eq!((idle.lag, idle.in_flight, idle.depth), (Duration::ZERO, 0, 0));
        store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn backpressure_when_the_queue_is_full() {
    init_tracing();
    const CAP: usize = 8;
    const BATCH: usize = 4;
    for b in backends() {
        let (mut db, mut switch) = TestDb::create_breakable(&b).await;
        db.opts.connect_timeout = Duration::from_millis(300);
        let store = db.open().await;
        // The database is unavailable, so the writer holds its first batch and retries while
        // the queue fills up behind it.
        switch.cut().await;
        let opts = WriterOptions {
            capacity: CAP,
            max_batch: BATCH,
            retry_initial: Duration::from_millis(20),
            retry_max: Duration::from_millis(100),
        };
        let (journal, handle) = Writer::spawn(store.clone(), opts);
        assert_eq!(journal.capacity(), CAP);
        // First let the writer take a batch and fail on it, so it is holding that batch and
        // retrying: the steady state of an outage.
        let mut accepted = 0usize;
        while accepted < BATCH {
            journal.try_send(line("kim", format!("q{accepted}"), accepted as i64)).unwrap();
            accepted += 1;
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while journal.stats().failed_attempts == 0 || journal.stats().in_flight == 0 {
            assert!(tokio::time::Instant::now() < deadline, "writer never tried");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let rejected = loop {
            match journal.try_send(line("kim", format!("q{accepted}"), accepted as i64)) {
                Ok(()) => accepted += 1,
                Err(e) => break e,
            }
            assert!(accepted <= CAP + BATCH, "queue is not bounded");
        };
        assert!(matches!(rejected, JournalError::Full(_)), "{rejected:?}");
        let Record::Chat(back) = rejected.into_record() else { panic!("wrong record back") };
        assert_eq!(back.text, format!("q{accepted}"));
        assert_eq!(accepted, CAP + BATCH, "a held batch plus a full queue");
        assert_eq!(journal.depth(), CAP);

        // send_timeout gives the record back too; send() waits.
        let timed_out = journal.send_timeout(line("kim", "late", 0), Duration::from_millis(50)).await;
        assert!(matches!(timed_out, Err(JournalError::Timeout(_))));
        let waiting = {
            let j = journal.clone();
            tokio::spawn(async move { j.send(line("kim", "waited", 10_000)).await })
        };
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(!waiting.is_finished(), "send() must wait while the queue is full");

        let stats = journal.stats();
        assert_eq!(stats.written, 0, "nothing is written while the database is down");
        assert!(!stats.healthy);
        assert!(stats.failed_attempts > 0);
        assert!(stats.last_error.is_some());
        assert!(stats.lag >= Duration::from_millis(300), "{stats:?}");
        assert_eq!(stats.in_flight + stats.depth, accepted);

        switch.restore().await;
        waiting.await.unwrap().expect("the waiting send gets through");
        wait_written(&journal, accepted as u64 + 1, Duration::from_secs(30)).await;
        let texts = all_texts(&store).await;
        let mut expected: Vec<String> = (0..accepted).map(|i| format!("q{i}")).collect();
        expected.push("waited".into());
        assert_eq!(texts, expected, "{}", b.name());

        assert!(handle.shutdown(Duration::from_secs(5)).await.is_complete());
        store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn shutdown_flushes_everything_queued() {
    init_tracing();
    const N: usize = 5000;
    for b in backends() {
        let db = TestDb::create(&b).await;
        let store = db.open().await;
        let (journal, handle) =
            Writer::spawn(store.clone(), WriterOptions { capacity: N, ..Default::default() });
        for i in 0..N {
            journal.try_send(line("kim", format!("s{i}"), i as i64)).expect("room in the queue");
        }
        let report = handle.shutdown(Duration::from_secs(30)).await;
        assert!(report.is_complete(), "{report:?}");
        assert_eq!(report.written_total, N as u64);
        assert!(report.flushed > 0 && report.flushed <= N as u64);
        assert_eq!(all_texts(&store).await.len(), N, "{}", b.name());

        // Intake is closed: the record comes back.
        let after = journal.send(line("kim", "too late", 0)).await;
        assert!(matches!(after, Err(JournalError::Closed(_))));
        assert!(matches!(journal.try_send(line("kim", "x", 0)), Err(JournalError::Closed(_))));
        store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn dropping_every_journal_stops_the_writer_after_writing() {
    init_tracing();
    let b = &backends()[0];
    let db = TestDb::create(b).await;
    let store = db.open().await;
    let (journal, handle) = Writer::spawn(store.clone(), WriterOptions::default());
    journal.send(line("kim", "last words", 0)).await.unwrap();
    drop(journal);
    let report = handle.shutdown(Duration::from_secs(5)).await;
    assert!(report.is_complete());
    assert_eq!(all_texts(&store).await, vec!["last words"]);
    store.close().await;
    db.cleanup().await;
}

#[tokio::test]
async fn refused_records_are_dropped_alone_and_logged() {
    init_tracing();
    for b in backends() {
        let db = TestDb::create(&b).await;
        let store = db.open().await;
        // Make the database refuse one specific line, as a schema mismatch might.
        match b.backend {
            sockhub_store::Backend::Sqlite => {
                db.execute_raw(
                    "CREATE TRIGGER no_poison BEFORE INSERT ON chat_messages \
                     WHEN NEW.body = 'poison' BEGIN SELECT RAISE(ABORT, 'poisoned line'); END",
                )
                .await
            }
            _ => {
                db.execute_raw("ALTER TABLE chat_messages ADD CONSTRAINT no_poison CHECK (body <> 'poison')")
                    .await
            }
        }
        let (journal, handle) = Writer::spawn(store.clone(), WriterOptions::default());
        for text in ["before", "poison", "after"] {
            journal.send(ChatRecord::public("kim", text)).await.unwrap();
        }
        // A name far over the column size is clipped, not refused.
        journal.send(ChatRecord::public("가".repeat(1000), "long name")).await.unwrap();
        let report = handle.shutdown(Duration::from_secs(10)).await;
        assert!(report.is_complete(), "{report:?}");
        assert_eq!(report.rejected_total, 1, "{}", b.name());
        let rows = store.chat_log(&ChatFilter::default()).await.unwrap();
        let texts: Vec<&str> = rows.iter().map(|r| r.text.as_str()).collect();
        assert_eq!(texts, vec!["before", "after", "long name"], "{}", b.name());
        assert_eq!(rows[2].sender.chars().count(), sockhub_store::limits::NAME_MAX_CHARS);
        store.close().await;
        db.cleanup().await;
    }
}
