//! Retention and log rotation against real servers: old chat lines, logins and quiz answers
//! disappear while a client keeps chatting (every database), and `/metrics` counts them; a relay
//! pair prunes confirmed records and reconcile afterwards reports nothing missing (and still
//! finds a real loss above the pruned range); `sockhub db prune` shows, then removes; a tiny
//! size limit rotates `logs/server.log` of the real binary and keeps at most `keep_files` files.

use std::path::Path;

use chrono::{DateTime, Utc};
use serde_json::Value;
use sockhub_server::config::{KeepRule, RetentionConfig};
use sockhub_store::testing::{TestDb, backends};
use sockhub_store::{
    ChatFilter, ChatRecord, LoginOutcome, LoginRecord, QuizAttemptRecord, RetentionKind, Store, Writer,
    WriterOptions,
};

use crate::relay::{Node, eventually as settle, send};
use crate::support::{BinaryServer, Client, Db, PATIENCE, config_file_for, eventually, run_sockhub};
use crate::web::api::get;

const OLD: i64 = 25;

fn days_ago(days: i64, i: i64) -> DateTime<Utc> {
    Utc::now() - chrono::Duration::days(days) + chrono::Duration::seconds(i)
}

/// `OLD` chat lines, logins and quiz answers from 400 days ago, written through the store.
async fn old_rows(store: &Store) {
    let (journal, handle) = Writer::spawn(store.clone(), WriterOptions::default());
    for i in 0..OLD {
        let at = days_ago(400, i);
        journal
            .send(ChatRecord {
                sender: "old".into(),
                recipient: None,
                text: format!("old {i}"),
                at,
                room: None,
            })
            .await
            .unwrap();
        let mut login = LoginRecord::new("old", "127.0.0.1:5000", "chat", LoginOutcome::Success);
        login.at = at;
        journal.send(login).await.unwrap();
        journal
            .send(QuizAttemptRecord {
                round: 1,
                player: "old".into(),
                problem_id: i,
                ask: 1,
                problem: "1 + 1".into(),
                expected: 2,
                answer: Some("2".into()),
                verdict: "correct".into(),
                sent_at: at,
                received_at: at,
                elapsed_ms: 5,
            })
            .await
            .unwrap();
    }
    assert!(handle.shutdown(PATIENCE).await.is_complete());
}

/// One sample from `/metrics`.
fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("{name} missing from /metrics:\n{text}"))
}

fn retention(chat_logins_quiz: u32, relay: u32) -> RetentionConfig {
    RetentionConfig {
        chat_days: chat_logins_quiz,
        logins_days: chat_logins_quiz,
        quiz_days: chat_logins_quiz,
        relay_days: relay,
        interval_secs: 1,
        batch_size: 7,
        batch_pause_ms: 0,
    }
}

#[tokio::test]
async fn old_rows_disappear_while_a_client_keeps_chatting() {
    for b in backends() {
        let db = Db::create(&b).await;
        old_rows(&db.store).await;
        let cutoff = days_ago(30, 0).timestamp_millis();
        for kind in [RetentionKind::Chat, RetentionKind::Logins, RetentionKind::Quiz] {
            assert_eq!(db.store.retention_preview(kind, cutoff).await.unwrap().count, OLD);
        }
        let server = db.server(|c| c.retention = retention(30, 0)).await;
        let mut amy = Client::chat_text(server.chat(), "amy").await;
        // Keep chatting until the background task has removed every old row of the three kinds.
        let deadline = tokio::time::Instant::now() + PATIENCE * 3;
        let mut sent = 0;
        loop {
            amy.send(&format!("line {sent}")).await;
            amy.until(&format!("[amy] line {sent}")).await;
            sent += 1;
            let mut left = 0;
            for kind in [RetentionKind::Chat, RetentionKind::Logins, RetentionKind::Quiz] {
                left += db.store.retention_preview(kind, cutoff).await.unwrap().count;
            }
            if left == 0 {
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "{left} old rows still there on {}", b.name());
        }
        // Every new line is kept, and only those.
        let texts = eventually("amy's lines are written", || async {
            let rows = db.store.chat_log(&ChatFilter::default()).await.unwrap();
            (rows.len() == sent).then_some(rows)
        })
        .await;
        assert!(texts.iter().all(|r| r.text.starts_with("line ")), "{}", b.name());
        // The counters follow each batch's commit, and the run counts once all kinds are done.
        let web = server.web();
        let text = eventually("the run is counted", || async move {
            let (_, text) = get(web, "/metrics").await;
            (metric(&text, "sockhub_retention_runs_total") >= 1.0).then_some(text)
        })
        .await;
        for kind in ["chat", "logins", "quiz"] {
            let name = format!("sockhub_retention_removed_total{{kind=\"{kind}\"}}");
            assert_eq!(metric(&text, &name), OLD as f64, "{kind} on {}", b.name());
        }
        assert_eq!(metric(&text, "sockhub_retention_removed_total{kind=\"relay\"}"), 0.0);
        drop(amy);
        server.stop().await;
        db.cleanup().await;
    }
}

/// The reconcile request's result.
async fn reconcile(node: &Node) -> Value {
    let id = node.store.relay_request_add("reconcile", "tester", "{}").await.unwrap();
    settle("the reconcile is done", || async {
        node.store.relay_request(id).await.unwrap().is_some_and(|r| r.status == "done")
    })
    .await;
    let r = node.store.relay_request(id).await.unwrap().unwrap();
    serde_json::from_str(r.result.as_deref().unwrap()).unwrap()
}

#[tokio::test]
async fn a_relay_pair_prunes_confirmed_records_and_reconcile_finds_nothing_missing() {
    for b in backends() {
        let (db1, db2) = (TestDb::create(&b).await, TestDb::create(&b).await);
        let s2 = Node::on_db(&db2, None, |_| {}).await;
        let s1 = Node::on_db(&db1, Some(s2.addr()), |c| {
            c.retention = retention(0, 1);
            c.relay.keep = vec![KeepRule {
                name: "errors".into(),
                source: None,
                payload_regex: Some(r"\bERROR\b".into()),
                json_field: None,
                json_equals: None,
            }];
        })
        .await;
        let payloads: Vec<String> =
            (1..=600).map(|i| if i % 100 == 0 { format!("ERROR {i}") } else { format!("r{i}") }).collect();
        assert!(send(s1.addr(), "dev", payloads, 1).await.complete());
        settle("forwarded", || async { s1.counters("dev").await.forwarded == 594 }).await;

        // Seqs 1..=300 were confirmed two days ago (kept ones are never confirmed).
        db1.execute_raw("UPDATE relay_records SET done_ms = 1000 WHERE source = 'dev' AND seq <= 300 AND state = 'forwarded'")
            .await;
        settle("the confirmed records are pruned", || async { s1.counters("dev").await.pruned == 297 }).await;
        let dev = s1.counters("dev").await;
        assert_eq!((dev.forwarded, dev.kept, dev.pruned_seq), (297, 6, 299), "{}", b.name());
        assert!(dev.adds_up(), "{dev:?}");
        let left = s1.records(None).await;
        assert_eq!(left.len(), 600 - 297);
        assert!(left.iter().all(|r| r.seq > 300 || r.state == sockhub_store::RelayState::Kept));
        assert_eq!(s2.records(None).await.len(), 594, "downstream keeps its copies");

        let (_, text) = get(s1.server.as_ref().unwrap().web(), "/metrics").await;
        assert_eq!(metric(&text, "sockhub_retention_removed_total{kind=\"relay\"}"), 297.0);
        assert_eq!(metric(&text, "sockhub_relay_records{state=\"pruned\"}"), 297.0);

        let result = reconcile(&s1).await;
        assert_eq!(result["outcome"], "ok", "{result}");
        assert_eq!((result["missing"].as_i64(), result["extra"].as_i64()), (Some(0), Some(0)), "{result}");
        assert_eq!(result["detail"][0]["compared_from"], 300, "{result}");

        // A real loss above the pruned range is still found.
        db2.execute_raw("DELETE FROM relay_records WHERE source = 'dev' AND seq = 450").await;
        let result = reconcile(&s1).await;
        assert_eq!(result["detail"][0]["missing_seqs"], serde_json::json!([450]), "{result}");

        // Downstream pruned in turn (as a forwarding downstream's retention records it): the range
        // it no longer has is not missing either.
        settle("450 is back downstream", || async { s2.records(None).await.len() == 594 }).await;
        db2.execute_raw("DELETE FROM relay_records WHERE source = 'dev' AND seq <= 350").await;
        db2.execute_raw("UPDATE relay_sources SET pruned_seq = 350 WHERE source = 'dev'").await;
        let result = reconcile(&s1).await;
        assert_eq!(result["outcome"], "ok", "{result}");
        assert_eq!(result["missing"], 0, "{result}");
        assert_eq!(result["detail"][0]["compared_from"], 351, "{result}");

        drop((s1, s2));
        db1.cleanup().await;
        db2.cleanup().await;
    }
}

/// The JSON array in a command's output (stdout first, then stderr).
fn json_rows(out: &str) -> Vec<Value> {
    let start = out.find('[').unwrap_or_else(|| panic!("no JSON in {out}"));
    let mut rows = serde_json::Deserializer::from_str(&out[start..]).into_iter::<Vec<Value>>();
    rows.next().unwrap().unwrap()
}

fn row<'a>(rows: &'a [Value], kind: &str) -> &'a Value {
    rows.iter().find(|r| r["kind"] == kind).unwrap_or_else(|| panic!("no {kind} in {rows:?}"))
}

#[tokio::test]
async fn db_prune_dry_run_lists_and_removes_nothing_then_removes() {
    for b in backends() {
        let db = Db::create(&b).await;
        old_rows(&db.store).await;
        let dir = tempfile::tempdir().unwrap();
        let file = config_file_for(&db.db, dir.path());
        let mut toml = std::fs::read_to_string(&file).unwrap();
        toml.push_str(
            "[retention]\nchat_days = 30\nlogins_days = 0\nquiz_days = 30\nrelay_days = 0\nbatch_size = 10\n",
        );
        std::fs::write(&file, toml).unwrap();

        let (ok, out) = run_sockhub(&file, &["db", "prune", "--dry-run", "--json"], "").await;
        assert!(ok, "{out}");
        let rows = json_rows(&out);
        let chat = row(&rows, "chat");
        assert_eq!(
            (chat["action"].as_str(), chat["rows"].as_i64()),
            (Some("would_remove"), Some(OLD)),
            "{out}"
        );
        assert!(chat["oldest"].is_string() && chat["newest"].is_string(), "{out}");
        assert_eq!(row(&rows, "logins")["rows"], 0, "kept for ever: {out}");
        assert_eq!(row(&rows, "logins")["keep_days"], 0);
        assert_eq!(row(&rows, "quiz")["rows"], OLD);
        let all = db.store.chat_log(&ChatFilter::default()).await.unwrap();
        assert_eq!(all.len() as i64, OLD, "--dry-run removes nothing");

        let (ok, table) = run_sockhub(&file, &["db", "prune", "--dry-run"], "").await;
        assert!(ok && table.contains("would_remove") && table.contains("for ever"), "{table}");

        let (ok, out) = run_sockhub(&file, &["db", "prune", "--json"], "").await;
        assert!(ok, "{out}");
        let rows = json_rows(&out);
        assert_eq!(row(&rows, "chat")["action"], "removed");
        assert_eq!(row(&rows, "chat")["rows"], OLD, "{out}");
        assert!(db.store.chat_log(&ChatFilter::default()).await.unwrap().is_empty());
        assert!(db.store.quiz_attempts(None).await.unwrap().is_empty());
        assert_eq!(db.store.logins(&Default::default()).await.unwrap().len() as i64, OLD, "logins are kept");
        db.cleanup().await;
    }
}

fn log_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("server.log"))
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn server_log_rotates_by_size_and_keeps_at_most_keep_files() {
    let dir = tempfile::tempdir().unwrap();
    let server = BinaryServer::start_with(dir.path(), &[], |cmd| {
        cmd.env("SOCKHUB_LOGGING_ROTATION", "size")
            .env("SOCKHUB_LOGGING_MAX_FILE_BYTES", "1024")
            .env("SOCKHUB_LOGGING_KEEP_FILES", "3");
    })
    .await;
    let logs = dir.path().join("logs");
    // Every join and leave is a log line: go on until the log has rotated more often than it
    // keeps files.
    let deadline = tokio::time::Instant::now() + PATIENCE * 3;
    let mut i = 0;
    loop {
        let mut c = Client::chat_text(server.addr("chat"), &format!("visitor{i}")).await;
        c.send("q").await;
        c.closed().await;
        i += 1;
        // (A rotation renames server.log.2 to server.log.3 before it deletes that: so for a
        // moment there are four files, and the test waits for the rotation to finish.)
        let files = log_files(&logs);
        // 60 visitors log well over 4 KiB: without deletion server.log.3 and more would stay.
        if i >= 60 && files == ["server.log", "server.log.1", "server.log.2"] {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "no rotation after {i} visitors: {files:?}");
    }
    let files = log_files(&logs);
    assert_eq!(files, ["server.log", "server.log.1", "server.log.2"]);
    for f in &files {
        let len = std::fs::metadata(logs.join(f)).unwrap().len();
        assert!(len < 1024 + 2048, "{f} is {len} bytes");
        // The first visitor's lines were in a file deleted since.
        let text = std::fs::read_to_string(logs.join(f)).unwrap();
        assert!(!text.contains("visitor0 joined"), "{f} should have been deleted: {text}");
    }
}
