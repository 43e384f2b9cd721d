//! `sockhub db backup` and `sockhub db restore`, the real binary against a running server's
//! embedded database: a backup taken while a chat user and a relay device write is a consistent
//! snapshot holding exactly the rows of the live database up to that point; restored into a new
//! data directory it opens and holds the same; a restore is refused while the database is in use
//! or when the file is not a sockhub database, and keeps the old database aside.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use sockhub_client::device::{self, DeviceOptions, FirstSeq};
use sockhub_server::app::store_options;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool};

use crate::relay::SETTLE;
use crate::support::{BIN, Client, TestServer, eventually};

async fn pool(db: &Path) -> SqlitePool {
    SqlitePool::connect_with(SqliteConnectOptions::new().filename(db)).await.unwrap()
}

async fn count(pool: &SqlitePool, table: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
        .fetch_one(pool)
        .await
        .unwrap()
}

/// Every row of `table` (matching `filter`), each column quoted as SQL, in rowid order.
async fn dump(pool: &SqlitePool, table: &str, filter: &str) -> Vec<String> {
    let columns: Vec<String> = sqlx::query_scalar("SELECT name FROM pragma_table_info($1)")
        .bind(table)
        .fetch_all(pool)
        .await
        .unwrap();
    assert!(!columns.is_empty(), "{table} has columns");
    let row = columns.iter().map(|c| format!("quote({c})")).collect::<Vec<_>>().join(" || '|' || ");
    let sql = format!("SELECT {row} FROM {table} {filter} ORDER BY rowid");
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_all(pool).await.unwrap()
}

async fn tables(pool: &SqlitePool) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

async fn sockhub(args: &[&str]) -> (bool, String, String) {
    let out = tokio::process::Command::new(BIN).args(args).output().await.unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn a_backup_taken_while_clients_write_restores_with_everything_up_to_that_point() {
    // Flood control off: the chat writer says one line after another as fast as they come back.
    let server = TestServer::with(|c| c.limits.rate_per_sec = 0.0).await;
    let data = server.data_dir().to_path_buf();
    let live = pool(&data.join("sockhub.db")).await;
    let root = tempfile::tempdir().unwrap();
    let file = root.path().join("backup.db");

    // Writers: a chat user saying one line after another, and a relay device.
    let writing = Arc::new(AtomicBool::new(true));
    let chat = server.chat();
    let chatter = {
        let writing = Arc::clone(&writing);
        tokio::spawn(async move {
            let mut c = Client::chat_json(chat, "writer").await;
            let mut i = 0;
            while writing.load(Ordering::Relaxed) {
                i += 1;
                c.send_json(serde_json::json!({"type": "say", "text": format!("line {i} 한글")})).await;
                let m = c.json().await;
                assert_eq!(m["type"], "message", "{m}");
            }
        })
    };
    let opts = DeviceOptions {
        addr: server.addr("relay").to_string(),
        source: "sensor".into(),
        first_seq: FirstSeq::At(1),
        window: 100,
        patience: SETTLE,
        rate: 1000,
        token: None,
    };
    let payloads: Vec<String> = (1..=100_000).map(|i| format!("reading {i}")).collect();
    let sender = tokio::spawn(async move { device::run(&opts, &payloads, |_, _| {}).await });
    eventually("both writers have written", || async {
        (count(&live, "chat_messages").await > 30 && count(&live, "relay_records").await > 300).then_some(())
    })
    .await;

    let (ok, out, err) =
        sockhub(&["db", "backup", file.to_str().unwrap(), "--data-dir", data.to_str().unwrap()]).await;
    assert!(ok, "{out}{err}");
    assert!(out.contains("backed up") && out.contains("chat_messages"), "{out}");
    let copy = pool(&file).await;
    let (chat_at, relay_at) = (count(&copy, "chat_messages").await, count(&copy, "relay_records").await);
    eventually("the writers go on past the backup", || async {
        (count(&live, "chat_messages").await > chat_at + 10
            && count(&live, "relay_records").await > relay_at + 100)
            .then_some(())
    })
    .await;
    writing.store(false, Ordering::Relaxed);
    chatter.await.unwrap();
    sender.abort();

    // A snapshot: the relay's counters agree with its records, as in any one transaction.
    let received: i64 = sqlx::query_scalar("SELECT received FROM relay_sources WHERE source = 'sensor'")
        .fetch_one(&copy)
        .await
        .unwrap();
    assert_eq!(received, relay_at, "the counters and the records are of one instant");
    // Up to that instant, the logs in the backup are exactly the live ones.
    for table in ["logins", "chat_messages", "relay_records"] {
        let max: i64 =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COALESCE(MAX(id), 0) FROM {table}")))
                .fetch_one(&copy)
                .await
                .unwrap();
        assert!(max > 0, "{table} has rows in the backup");
        let upto = format!("WHERE id <= {max}");
        assert_eq!(
            dump(&copy, table, &upto).await,
            dump(&live, table, &upto).await,
            "{table} up to the backup"
        );
        assert!(count(&live, table).await >= count(&copy, table).await);
    }
    assert_eq!(dump(&copy, "accounts", "").await, dump(&live, "accounts", "").await);

    // A restore into the running server's data directory is refused; so is a file that is not
    // a sockhub database.
    let (ok, _, err) =
        sockhub(&["db", "restore", file.to_str().unwrap(), "--data-dir", data.to_str().unwrap()]).await;
    assert!(!ok && err.contains("in use"), "{err}");
    let junk = root.path().join("notes.txt");
    std::fs::write(&junk, "not a database\n").unwrap();
    let fresh = root.path().join("restored");
    let (ok, _, err) =
        sockhub(&["db", "restore", junk.to_str().unwrap(), "--data-dir", fresh.to_str().unwrap()]).await;
    assert!(!ok && err.contains("is not a sockhub database"), "{err}");
    assert!(!fresh.join("sockhub.db").exists(), "nothing was put in place");

    // Into a new data directory: it opens, and every table holds what the backup holds.
    let (ok, out, err) =
        sockhub(&["db", "restore", file.to_str().unwrap(), "--data-dir", fresh.to_str().unwrap()]).await;
    assert!(ok, "{out}{err}");
    assert!(out.contains("there was no database there before"), "{out}");
    let mut config = crate::support::test_config(&fresh);
    config.chat.enabled = false;
    let store = sockhub_store::Store::open(&store_options(&config)).await.unwrap();
    assert_eq!(store.relay().source("sensor").await.unwrap().unwrap().received, relay_at);
    store.close().await;
    drop(store);
    let restored = pool(&fresh.join("sockhub.db")).await;
    assert_eq!(tables(&restored).await, tables(&copy).await);
    for table in tables(&copy).await {
        assert_eq!(dump(&restored, &table, "").await, dump(&copy, &table, "").await, "{table} restored");
    }
    restored.close().await;

    // Again over it: the database that was there is kept aside, whole.
    let (ok, out, err) =
        sockhub(&["db", "restore", file.to_str().unwrap(), "--data-dir", fresh.to_str().unwrap()]).await;
    assert!(ok, "{out}{err}");
    let aside = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("the database that was there is kept as "))
        .expect(&out);
    let old = pool(Path::new(aside)).await;
    assert_eq!(count(&old, "relay_records").await, relay_at);
    server.stop().await;
}
