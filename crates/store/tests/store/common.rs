//! Helpers shared by the store tests: tracing, fixed times, waiting for the writer.

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use sockhub_store::{ChatFilter, ChatRecord, Journal, Store};

/// Logs from the store (WARN and up by default; `RUST_LOG` to change) in the test output.
pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "sockhub_store=info".into()),
        )
        .try_init();
}

/// A fixed UTC time.
pub fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, s).single().expect("valid time")
}

/// Waits until the writer has written `n` records in total, or panics after `timeout`.
pub async fn wait_written(journal: &Journal, n: u64, timeout: Duration) {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let stats = journal.stats();
        if stats.written >= n {
            return;
        }
        if tokio::time::Instant::now() >= deadline {
            panic!("writer wrote {} of {n} records in {timeout:?}: {stats:?}", stats.written);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A public chat line whose text is `text`, stamped with a fixed time plus `i` ms.
pub fn line(sender: &str, text: impl Into<String>, i: i64) -> ChatRecord {
    ChatRecord {
        sender: sender.into(),
        recipient: None,
        text: text.into(),
        at: at(2024, 3, 1, 9, 0, 0) + chrono::Duration::milliseconds(i),
        room: None,
    }
}

/// Every chat text in the database, in insertion order.
pub async fn all_texts(store: &Store) -> Vec<String> {
    store.chat_log(&ChatFilter::default()).await.expect("read chat log").into_iter().map(|r| r.text).collect()
}
