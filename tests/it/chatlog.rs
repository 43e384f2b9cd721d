//! What the chat writes to the database — logins, every line (whispers too), moderation — read
//! back through the `sockhub logs` reports; and a database outage under a live server.

use serde_json::{Value, json};
use sockhub_store::testing::{TestDb, backends};
use sockhub_store::{ChatFilter, Role};

use crate::support::{Client, Db, TestServer, config_file_for, eventually, run_sockhub};

/// Run the real binary with `args`; return stdout.
fn sockhub(args: &[&str]) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sockhub")).args(args).output().unwrap();
    assert!(out.status.success(), "sockhub {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test]
async fn the_three_reports_show_logins_lines_whispers_and_moderation() {
    for b in backends() {
        let db = Db::with_account(&b, "boss", "pw", Role::Admin).await;
        let server = db.server(|_| {}).await;
        let mut boss = Client::connect(server.chat()).await;
        boss.send("/login boss wrong").await;
        boss.until("* Your name?").await;
        boss.send("/login boss pw").await;
        boss.until("* Welcome, boss! 1 online. Type /help for commands.").await;
        let mut minsu = Client::chat_text(server.chat(), "민수").await;
        minsu.send("안녕하세요").await;
        minsu.send("/w boss 비밀 이야기").await;
        minsu.until(">>> [to boss] 비밀 이야기").await;
        boss.until("<<< [from 민수] 비밀 이야기").await;
        boss.send("/mute 민수 5 shouting").await;
        boss.send("/w 민수 ok").await;
        let muted = minsu.until("<<< [from boss] ok").await;
        assert!(muted.iter().any(|l| l.starts_with("* 민수 was muted by boss until ")), "{muted:?}");
        drop(minsu);
        boss.send("q").await;
        boss.closed().await;
        server.stop().await; // flushes the log writer

        let dir = tempfile::tempdir().unwrap();
        let config = config_file_for(&db.db, dir.path());
        let config = config.to_str().unwrap();
        let logins: Value =
            serde_json::from_str(&sockhub(&["logs", "logins", "-c", config, "--format", "json"])).unwrap();
        let logins: Vec<(String, String)> = logins
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["name"].as_str().unwrap().to_owned(), r["outcome"].as_str().unwrap().to_owned()))
            .collect();
        for expected in [
            ("boss", "failure"),
            ("boss", "success"),
            ("민수", "success"),
            ("민수", "logout"),
            ("boss", "logout"),
        ] {
            assert!(
                logins.contains(&(expected.0.to_owned(), expected.1.to_owned())),
                "{}: {expected:?} missing from {logins:?}",
                b.name()
            );
        }

        let chat = sockhub(&["logs", "chat", "-c", config, "--format", "csv"]);
        let mut lines = chat.lines();
        assert_eq!(lines.next(), Some("time,from,to,text"));
        let rows: Vec<&str> = lines.collect();
        assert_eq!(rows.len(), 3, "{chat}");
        assert!(rows[0].ends_with(",민수,(everyone),안녕하세요"), "{}", rows[0]);
        assert!(
            rows[1].ends_with(",민수,boss,비밀 이야기"),
            "the whisper is logged with its recipient: {}",
            rows[1]
        );
        assert!(rows[2].ends_with(",boss,민수,ok"), "{}", rows[2]);
        let only_boss = sockhub(&["logs", "chat", "-c", config, "--user", "BOSS", "--format", "json"]);
        let only_boss: Value = serde_json::from_str(&only_boss).unwrap();
        let whispers: Vec<(&str, bool)> = only_boss
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["text"].as_str().unwrap(), r["whisper"].as_bool().unwrap()))
            .collect();
        assert_eq!(
            whispers,
            [("비밀 이야기", true), ("ok", true)],
            "--user matches whispers sent and received"
        );

        let moderation: Value =
            serde_json::from_str(&sockhub(&["logs", "moderation", "-c", config, "--format", "json"]))
                .unwrap();
        assert_eq!(moderation[0]["action"], "mute");
        assert_eq!(moderation[0]["target"], "민수");
        assert_eq!(moderation[0]["reason"], "shouting");
        assert!(moderation[0]["until"].is_string());
        let table = sockhub(&["logs", "moderation", "-c", config]);
        assert!(table.contains("shouting") && table.contains("(1 row)"), "{table}");

        db.cleanup().await;
    }
}

#[tokio::test]
async fn users_are_managed_from_the_command_line() {
    let db = TestDb::create(&backends()[0]).await;
    let dir = tempfile::tempdir().unwrap();
    let config = config_file_for(&db, dir.path());
    let run = async |args: &[&str], stdin: &str| run_sockhub(&config, args, stdin).await;
    assert_eq!(
        run(&["user", "add", "teacher", "--admin"], "first-password\n").await,
        (true, "added teacher (admin)\n".into())
    );
    assert!(run(&["user", "add", "TEACHER"], "another-password\n").await.1.contains("already taken"));
    assert!(!run(&["user", "add", "empty"], "\n").await.0, "an empty password is refused");
    assert!(run(&["user", "role", "teacher", "member"], "").await.0);
    assert!(run(&["user", "passwd", "teacher"], "second-password\n").await.0);
    let (ok, list) = run(&["user", "list", "--format", "csv"], "").await;
    assert!(ok);
    assert_eq!(list.lines().nth(1).unwrap().split(',').take(2).collect::<Vec<_>>(), ["teacher", "member"]);

    let server = TestServer::on_db(&db, |_| {}).await;
    let mut c = Client::connect(server.chat()).await;
    c.send_json(json!({"type": "login", "name": "teacher", "password": "second-password"})).await;
    assert_eq!(c.json().await["type"], "welcome", "the new password works");
    server.stop().await;
    assert!(run(&["user", "remove", "teacher"], "").await.0);
    assert!(!run(&["user", "remove", "teacher"], "").await.0);
    db.cleanup().await;
}

#[tokio::test]
async fn history_on_join_comes_from_the_database_after_a_restart() {
    for b in backends() {
        let db = TestDb::create(&b).await;
        let server = TestServer::on_db(&db, |c| c.chat.history = 3).await;
        let mut a = Client::chat_text(server.chat(), "a").await;
        for i in 1..=5 {
            a.send(&format!("line {i}")).await;
            a.line().await;
        }
        a.send("/w a private").await;
        a.line().await;
        server.stop().await;
        let server = TestServer::on_db(&db, |c| c.chat.history = 3).await;
        let mut b2 = Client::connect(server.chat()).await;
        b2.send_json(json!({"type": "login", "name": "b"})).await;
        b2.json_of("welcome").await;
        let texts: Vec<String> = [b2.json().await, b2.json().await, b2.json().await]
            .iter()
            .map(|m| {
                assert_eq!(m["history"], true);
                m["text"].as_str().unwrap().to_owned()
            })
            .collect();
        assert_eq!(
            texts,
            ["line 3", "line 4", "line 5"],
            "{}: the last 3 public lines, no whisper",
            b.name()
        );
        server.stop().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_database_outage_under_a_live_server_loses_no_line() {
    for b in backends() {
        let (db, mut switch) = TestDb::create_breakable(&b).await;
        let server = TestServer::on_db(&db, |c| {
            c.database.retry_initial_ms = 20;
            c.database.retry_max_ms = 200;
        })
        .await;
        let mut alice = Client::chat_text(server.chat(), "alice").await;
        let mut bob = Client::chat_json(server.chat(), "bob").await;
        alice.line().await; // bob joined
        for i in 0..20 {
            alice.send(&format!("before {i}")).await;
        }
        switch.cut().await;
        // The database is gone: chat goes on.
        for i in 0..20 {
            alice.send(&format!("during {i}")).await;
        }
        bob.send_json(json!({"type": "whisper", "to": "alice", "text": "still here?"})).await;
        alice.until("<<< [from bob] still here?").await;
        for _ in 0..40 {
            assert_eq!(bob.json_of("message").await["from"], "alice");
        }
        switch.restore().await;
        for i in 0..20 {
            alice.send(&format!("after {i}")).await;
        }
        alice.until("[alice] after 19").await;

        let store = db.open().await;
        let rows = eventually("every line in the chat log", || async {
            let rows = store.chat_log(&ChatFilter::default()).await.ok()?;
            (rows.len() >= 61).then_some(rows)
        })
        .await;
        let mut texts: Vec<&str> = rows.iter().map(|r| r.text.as_str()).collect();
        assert_eq!(texts.len(), 61, "{}: each line exactly once", b.name());
        texts.sort_unstable();
        texts.dedup();
        assert_eq!(texts.len(), 61, "{}: no duplicates", b.name());
        server.stop().await;
        store.close().await;
        drop(switch);
        db.cleanup().await;
    }
}
