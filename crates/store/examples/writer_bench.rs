//! Measures the batched writer's throughput: how many chat records per second reach the
//! database, with full batches and with one record per transaction for comparison.
//!
//! ```text
//! cargo run -p sockhub-store --release --example writer_bench [records] [database-url]
//! ```
//! Without a URL it uses a SQLite file in a temp dir. With a URL it writes into that database
//! (the tables are created by the migrations if missing, and the rows are left there).

use std::time::{Duration, Instant};

use sockhub_store::{ChatRecord, Store, StoreOptions, Writer, WriterOptions};

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let url = args.next();
    let dir = tempfile::tempdir().expect("temp dir");
    let opts = match &url {
        Some(u) => StoreOptions::url(u.clone()),
        None => StoreOptions::sqlite(dir.path().join("bench.db")),
    };
    let store = Store::open(&opts).await.expect("open store");
    println!("backend: {} ({})", store.backend(), store.describe());

    for max_batch in [512, 64, 1] {
        // One record per transaction is slow: measure it on fewer records.
        let count = if max_batch == 1 { (n / 50).max(200) } else { n };
        let rate = run(&store, count, max_batch).await;
        println!("max_batch {max_batch:>4}: {count:>7} records, {rate:>9.0} records/s");
    }
    store.close().await;
}

async fn run(store: &Store, count: usize, max_batch: usize) -> f64 {
    let opts = WriterOptions { capacity: 10_000, max_batch, ..Default::default() };
    let (journal, handle) = Writer::spawn(store.clone(), opts);
    let started = Instant::now();
    for i in 0..count {
        let rec = ChatRecord::public("bench", format!("message {i}: 안녕하세요, a typical chat line"));
        journal.send(rec).await.expect("queue open");
    }
    let report = handle.shutdown(Duration::from_secs(600)).await;
    let elapsed = started.elapsed();
    assert!(report.is_complete(), "{report:?}");
    count as f64 / elapsed.as_secs_f64()
}
