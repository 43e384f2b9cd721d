//! Opening and migrating: idempotent, reports what it applied, works on every backend.

use sockhub_store::Store;
use sockhub_store::testing::{TestDb, backends};

use crate::common::init_tracing;

#[tokio::test]
async fn migrations_apply_once_and_are_idempotent() {
    init_tracing();
    for b in backends() {
        let db = TestDb::create(&b).await;
        // connect() does not migrate, so the first migrate() reports what it applied.
        let store = Store::connect(&db.opts).await.expect("connect");
        assert_eq!(store.backend(), b.backend);
        // Every feature's migration, in order (later features add theirs at the end).
        let applied = store.migrate().await.expect("migrate");
        assert_eq!(
            applied[..10],
            [
                "0001_accounts_chat",
                "0002_quiz",
                "0003_calc",
                "0004_relay",
                "0005_cluster",
                "0006_name_skeleton",
                "0007_relay_tokens",
                "0008_bans",
                "0009_retention",
                "0010_rooms"
            ],
            "{}",
            b.name()
        );
        assert!(store.migrate().await.expect("migrate again").is_empty(), "{}", b.name());
        // open() on a migrated database is a no-op migration.
        let again = Store::open(&db.opts).await.expect("open migrated");
        assert!(again.migrate().await.unwrap().is_empty());
        again.ping().await.expect("ping");
        assert!(!format!("{again:?}").is_empty());
        again.close().await;
        store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn sqlite_default_creates_directories() {
    let dir = tempfile::tempdir().unwrap();
    let opts = sockhub_store::StoreOptions::sqlite(dir.path().join("a/b/c/sockhub.db"));
    let store = Store::open(&opts).await.expect("open");
    assert_eq!(store.backend(), sockhub_store::Backend::Sqlite);
    store.ping().await.unwrap();
    store.close().await;
    assert!(dir.path().join("a/b/c/sockhub.db").exists());
}

#[tokio::test]
async fn unreachable_server_is_unavailable() {
    // Port 9 (discard) on loopback: nothing listens there, so the connection is refused.
    let mut opts = sockhub_store::StoreOptions::url("postgres://u:secret@127.0.0.1:9/x");
    opts.connect_timeout = std::time::Duration::from_millis(500);
    let err = Store::open(&opts).await.expect_err("must fail");
    assert!(err.is_retryable(), "{err:?}");
    assert!(!err.to_string().contains("secret"));
}

#[tokio::test]
async fn sqlite_in_memory_keeps_one_database() {
    let store = Store::open(&sockhub_store::StoreOptions::url("sqlite::memory:")).await.expect("open");
    let hash = sockhub_store::password::hash_blocking("pw").unwrap();
    store.add_account(&sockhub_store::NewAccount::member("mem", hash)).await.unwrap();
    // Several queries at once: they all see the same (only) in-memory database.
    let (a, b) = tokio::join!(store.find_account("mem"), store.list_accounts());
    assert!(a.unwrap().is_some());
    assert_eq!(b.unwrap().len(), 1);
    store.close().await;
}
