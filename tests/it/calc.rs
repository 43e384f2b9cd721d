//! The square calculator over real sockets, on every configured database (SQLite always,
//! MariaDB and PostgreSQL when their test URLs are set): roster modes, exact squares and bad
//! numbers, the broadcast, history after a reconnect and after `kill -9`, and the instructor's
//! command-line tools (roster import, calc export) run as the real binary.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use sockhub_server::config::RosterMode;
use sockhub_store::testing::{TestDb, backends};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
use tokio::process::Command;

use crate::support::{BIN, BinaryServer, Client, PATIENCE, TestServer, config_file_for, spawn_piped};
use crate::tui::{Tmux, colour_at, exit_status};

/// Numbers each student sends in the `kill -9` test.
const SENT: usize = 1000;

const ROSTER: &str = "student_id,name,department,email\n\
                      20212086,김민수,컴퓨터공학과,minsu@example.ac.kr\n\
                      20212087,이영희,전자공학과,\n\
                      20212088,Park Jisung,Sports Science,park@example.com\n";

/// Put the three students of [`ROSTER`] on the test database's roster.
async fn with_roster(db: &TestDb) {
    let store = db.open().await;
    let roster = sockhub_server::service::calc::roster::parse(ROSTER.as_bytes()).unwrap();
    store.calc().import_students(&roster.students, Default::default()).await.unwrap();
    store.close().await;
}

/// Log in over JSON; returns the client and the welcome.
async fn calc_json(addr: SocketAddr, id: &str) -> (Client, Value) {
    let mut c = Client::connect(addr).await;
    c.send_json(json!({"type": "login", "student_id": id})).await;
    let welcome = c.json().await;
    assert_eq!(welcome["type"], "welcome", "{welcome}");
    (c, welcome)
}

/// Log in in text mode; the welcome's lines have been read.
async fn calc_text(addr: SocketAddr, id: &str) -> Client {
    let mut c = Client::connect(addr).await;
    c.until("* Your student ID?").await;
    c.send(id).await;
    let welcome = c.line().await;
    assert!(welcome.starts_with("* Welcome, "), "{welcome}");
    c.until("* Type a number to square it; /help for commands.").await;
    c
}

/// Send a number over JSON and return the answer addressed to us (result or error).
async fn square(c: &mut Client, value: &str) -> Value {
    c.send_json(json!({"type": "square", "value": value})).await;
    c.json().await
}

#[tokio::test]
async fn unknown_ids_in_both_roster_modes() {
    for b in backends() {
        let db = TestDb::create(&b).await;
        with_roster(&db).await;
        let server = TestServer::on_db(&db, |_| {}).await;

        // required (the default): unknown IDs are refused and asked again; the session lives.
        let mut text = Client::connect(server.calc()).await;
        text.until("* Your student ID?").await;
        text.send("99999999").await;
        assert_eq!(
            text.line().await,
            "! unknown_student: student 99999999 is not on the roster; check the ID or ask the instructor"
        );
        assert_eq!(text.line().await, "* Your student ID?");
        text.send("2021-2086").await;
        assert!(text.line().await.starts_with("! invalid_student_id: "), "{}", b.name());
        assert_eq!(text.line().await, "* Your student ID?");
        text.send("/who").await;
        assert!(text.line().await.starts_with("! not_logged_in: "));
        text.send("20212086").await;
        assert_eq!(text.line().await, "* Welcome, 김민수 (20212086, 컴퓨터공학과). 1 online.");

        let mut json = Client::connect(server.calc()).await;
        json.send_json(json!({"type": "square", "value": "2"})).await;
        assert_eq!(json.json().await["code"], "not_logged_in");
        json.send_json(json!({"type": "login", "student_id": "11111111"})).await;
        assert_eq!(json.json().await["code"], "unknown_student");
        json.send_json(json!({"type": "login", "student_id": "20212087"})).await;
        let welcome = json.json().await;
        assert_eq!(
            welcome["student"],
            json!({"student_id": "20212087", "name": "이영희", "department": "전자공학과"}),
            "{}",
            b.name()
        );
        json.send_json(json!({"type": "login", "student_id": "20212087"})).await;
        assert_eq!(json.json().await["code"], "already_logged_in");
        server.stop().await;

        // open: any well-formed ID; roster students still get their name.
        let server = TestServer::on_db(&db, |c| c.calc.roster = RosterMode::Open).await;
        let (mut stranger, welcome) = calc_json(server.calc(), "99999999").await;
        assert_eq!(welcome["student"], json!({"student_id": "99999999", "name": "", "department": ""}));
        let r = square(&mut stranger, "3").await;
        assert_eq!(
            (r["student_id"].as_str(), r["name"].as_str(), r["square"].as_str()),
            (Some("99999999"), Some(""), Some("9"))
        );
        let (_, welcome) = calc_json(server.calc(), "20212086").await;
        assert_eq!(welcome["student"]["name"], "김민수");
        let mut bad = Client::connect(server.calc()).await;
        bad.send_json(json!({"type": "login", "student_id": "12a"})).await;
        assert_eq!(bad.json().await["code"], "invalid_student_id", "open still wants digits");
        server.stop().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn exact_squares_and_every_kind_of_bad_number() {
    for b in backends() {
        let db = TestDb::create(&b).await;
        with_roster(&db).await;
        let server = TestServer::on_db(&db, |c| c.calc.max_digits = 1000).await;
        let (mut c, _) = calc_json(server.calc(), "20212086").await;
        let nines = "9".repeat(1000);
        let nines_squared = format!("{}8{}1", "9".repeat(999), "0".repeat(999));
        for (input, expected) in [
            ("12", "144"),
            ("-1.5", "2.25"),
            ("1.10", "1.21"),
            ("-0", "0"),
            ("0.001", "0.000001"),
            ("123456789012345678901234567890", "15241578753238836750495351562536198787501905199875019052100"),
            ("-31415926535.8979323846", "986960440108935861881.78821328931344231716"),
            (&nines, &nines_squared),
        ] {
            let r = square(&mut c, input).await;
            assert_eq!(
                (r["type"].as_str(), r["input"].as_str()),
                (Some("result"), Some(input)),
                "{}",
                b.name()
            );
            assert_eq!(r["square"].as_str(), Some(expected), "{input} on {}", b.name());
        }
        for (input, code) in [
            ("", "invalid_number"),
            ("abc", "invalid_number"),
            ("1e999999", "invalid_number"),
            ("NaN", "invalid_number"),
            ("--3", "invalid_number"),
            (".5", "invalid_number"),
            ("1 000", "invalid_number"),
            (&"9".repeat(1001), "too_long"),
        ] {
            let e = square(&mut c, input).await;
            assert_eq!(
                (e["type"].as_str(), e["code"].as_str()),
                (Some("error"), Some(code)),
                "{input:?}: {e}"
            );
        }
        c.send_json(json!({"type": "square", "value": 12})).await;
        assert_eq!(c.json().await["code"], "bad_request", "numbers travel as strings");
        // The session lives on, and only the good ones were stored.
        assert_eq!(square(&mut c, "2").await["square"], "4");
        c.send_json(json!({"type": "history", "limit": 100})).await;
        let history = c.json().await;
        let inputs: Vec<&str> =
            history["results"].as_array().unwrap().iter().map(|r| r["input"].as_str().unwrap()).collect();
        assert_eq!(inputs.len(), 9);
        assert_eq!(inputs[8], "2");

        // Text mode: the same, as `nc` shows it.
        let mut t = calc_text(server.calc(), "20212087").await;
        t.send("-1.5").await;
        assert!(t.line().await.ends_with(") [20212087 이영희] (-1.5)² = 2.25"));
        t.send("abc").await;
        assert!(t.line().await.starts_with("! invalid_number: not a number: \"abc\""));
        t.send("/exit").await;
        assert_eq!(t.closed().await, ["* bye: goodbye"]);
        server.stop().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn every_result_is_broadcast_to_everyone_connected() {
    for b in backends() {
        let db = TestDb::create(&b).await;
        with_roster(&db).await;
        let server = TestServer::on_db(&db, |_| {}).await;
        let mut minsu = calc_text(server.calc(), "20212086").await;
        let (mut younghee, _) = calc_json(server.calc(), "20212087").await;
        let (mut park, welcome) = calc_json(server.calc(), "20212088").await;
        assert_eq!(welcome["online"], 3);

        minsu.send("12").await;
        let line = minsu.line().await;
        assert!(line.ends_with(" [20212086 김민수] 12² = 144"), "the sender sees its own result: {line}");
        for c in [&mut younghee, &mut park] {
            let r = c.json().await;
            assert_eq!(
                (
                    r["type"].as_str(),
                    r["student_id"].as_str(),
                    r["name"].as_str(),
                    r["input"].as_str(),
                    r["square"].as_str()
                ),
                (Some("result"), Some("20212086"), Some("김민수"), Some("12"), Some("144")),
                "{}",
                b.name()
            );
            let at = chrono::DateTime::parse_from_rfc3339(r["at"].as_str().unwrap()).unwrap();
            assert!((chrono::Utc::now() - at.to_utc()).num_seconds().abs() < 60);
        }
        let r = square(&mut park, "-0.5").await;
        assert_eq!(r["square"], "0.25");
        assert_eq!(younghee.json().await, r, "everyone gets the same message");
        assert!(minsu.line().await.ends_with(" [20212088 Park Jisung] (-0.5)² = 0.25"));
        // A refused number is nobody else's business.
        younghee.send_json(json!({"type": "square", "value": "x"})).await;
        assert_eq!(younghee.json().await["code"], "invalid_number");
        assert!(minsu.silent_or_lines(Duration::from_millis(200)).await.is_empty());

        minsu.send("/who").await;
        assert_eq!(minsu.line().await, "* 3 online: 20212086 김민수, 20212087 이영희, 20212088 Park Jisung");
        server.stop().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn history_survives_a_reconnect() {
    for b in backends() {
        let db = TestDb::create(&b).await;
        with_roster(&db).await;
        let server = TestServer::on_db(&db, |c| c.calc.history = 5).await;
        let (mut c, welcome) = calc_json(server.calc(), "20212086").await;
        assert_eq!(welcome["history"], json!([]));
        let mut sent = Vec::new();
        for i in 1..=8 {
            let mut r = square(&mut c, &format!("{i}.5")).await;
            // A history entry is a result without its "type".
            r.as_object_mut().unwrap().remove("type");
            sent.push(r);
        }
        drop(c); // the client drops without saying goodbye

        let (mut again, welcome) = calc_json(server.calc(), "20212086").await;
        assert_eq!(
            welcome["history"].as_array().unwrap(),
            &sent[3..],
            "{}: the last 5, newest last",
            b.name()
        );
        again.send_json(json!({"type": "history", "limit": 100})).await;
        assert_eq!(again.json().await["results"].as_array().unwrap(), &sent);
        again.send_json(json!({"type": "history"})).await;
        assert_eq!(again.json().await["results"].as_array().unwrap().len(), 5);
        // Someone else's results are not in my history.
        let (mut other, welcome) = calc_json(server.calc(), "20212087").await;
        assert_eq!(welcome["history"], json!([]));
        square(&mut other, "3").await;
        let mut t = calc_text(server.calc(), "20212086").await;
        t.send("/history 2").await;
        assert_eq!(t.line().await, "* Your last 2 results (newest last):");
        assert!(t.line().await.ends_with(") 7.5² = 56.25"));
        assert!(t.line().await.ends_with(") 8.5² = 72.25"));
        server.stop().await;
        db.cleanup().await;
    }
}

/// While the database cannot store results, a number is refused with `unavailable` — never
/// acknowledged, never shown to anyone — and the session goes on; afterwards squares work again.
#[tokio::test]
async fn a_result_that_cannot_be_stored_is_neither_acknowledged_nor_broadcast() {
    for b in backends() {
        let (db, mut switch) = TestDb::create_breakable(&b).await;
        with_roster(&db).await;
        let server = TestServer::on_db(&db, |c| c.database.connect_timeout_secs = 1).await;
        let (mut kim, _) = calc_json(server.calc(), "20212086").await;
        let (mut lee, _) = calc_json(server.calc(), "20212087").await;
        assert_eq!(square(&mut kim, "2").await["square"], "4");
        assert_eq!(lee.json().await["input"], "2");

        switch.cut().await;
        let e = square(&mut kim, "3").await;
        assert_eq!(
            (e["type"].as_str(), e["code"].as_str()),
            (Some("error"), Some("unavailable")),
            "{}: {e}",
            b.name()
        );
        assert!(e["message"].as_str().unwrap().contains("was not saved; send it again"), "{e}");
        assert!(lee.silent_or_lines(Duration::from_millis(300)).await.is_empty(), "nobody saw it");
        switch.restore().await;

        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let r = square(&mut kim, "5").await;
            if r["type"] == "result" {
                break;
            }
            assert_eq!(r["code"], "unavailable", "{r}");
            assert!(tokio::time::Instant::now() < deadline, "{}: never recovered", b.name());
        }
        kim.send_json(json!({"type": "history"})).await;
        let inputs: Vec<String> = kim.json_of("history").await["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["input"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(inputs, ["2", "5"], "{}", b.name());
        server.stop().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn flood_control_applies_and_the_session_lives_on() {
    let server = TestServer::with(|c| {
        c.calc.roster = RosterMode::Open;
        c.limits.rate_per_sec = 1.0;
        c.limits.burst = 3;
    })
    .await;
    let (mut c, _) = calc_json(server.calc(), "1").await;
    let mut codes = Vec::new();
    for _ in 0..4 {
        c.send_json(json!({"type": "square", "value": "2"})).await;
    }
    for _ in 0..4 {
        let v = c.json().await;
        codes.push(v["code"].as_str().unwrap_or(v["type"].as_str().unwrap()).to_owned());
    }
    codes.sort();
    assert_eq!(codes, ["rate_limited", "rate_limited", "result", "result"], "login took one token");
    server.stop().await;
}

// --- the real binary -----------------------------------------------------------------------

/// How the real binary reaches the test database `db`: a config file naming it (plus flood
/// control off, for the tests that pipeline), and the data directory (for SQLite, the one the
/// test database lives in).
struct Place {
    data_dir: PathBuf,
    config: PathBuf,
    _tmp: tempfile::TempDir,
}

impl Place {
    fn of(db: &TestDb) -> Place {
        let tmp = tempfile::tempdir().unwrap();
        let config = config_file_for(db, tmp.path());
        let mut toml = std::fs::read_to_string(&config).unwrap();
        toml.push_str("[limits]\nrate_per_sec = 0\nlinger_ms = 100\n");
        std::fs::write(&config, toml).unwrap();
        let data_dir = match &db.opts.url {
            Some(_) => tmp.path().join("data"),
            None => db.sqlite_path().parent().unwrap().to_path_buf(),
        };
        std::fs::create_dir_all(&data_dir).unwrap();
        Place { data_dir, config, _tmp: tmp }
    }

    /// Run a `sockhub` command on this database.
    async fn run(&self, args: &[&str]) -> Output {
        let out =
            Command::new(BIN).args(args).arg("--config").arg(&self.config).stdin(Stdio::null()).output();
        tokio::time::timeout(PATIENCE, out).await.expect("the command finishes").unwrap()
    }

    /// `sockhub serve` on this database, every port 0.
    async fn serve(&self) -> BinaryServer {
        let config = self.config.to_str().unwrap();
        BinaryServer::start(&self.data_dir, &["--calc-port", "0", "--config", config]).await
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

#[tokio::test]
async fn roster_import_reports_every_bad_row_dry_runs_and_reimports() {
    for b in backends() {
        let db = TestDb::create(&b).await;
        let place = Place::of(&db);
        let dir = tempfile::tempdir().unwrap();
        let file = |name: &str, content: &[u8]| {
            let path = dir.path().join(name);
            std::fs::write(&path, content).unwrap();
            path.display().to_string()
        };
        let bad = file(
            "bad.csv",
            b"student_id,name,department,email\n20212086,Kim,CS,\n2021-2087,Lee,CS,\n20212088,,CS,\n\
              20212086,Kim again,CS,\n20212089,Choi,CS,not-an-email\n20212090,Han\n20212091,\xff,CS,\n",
        );
        let out = place.run(&["roster", "import", &bad]).await;
        assert_eq!(out.status.code(), Some(1), "{}: {out:?}", b.name());
        let stderr = text(&out.stderr);
        for expected in [
            "bad.csv: line 3: student_id: a student ID is digits only",
            "bad.csv: line 4: name is empty",
            "bad.csv: line 5: student_id 20212086 already appears on line 2",
            "bad.csv: line 6: email \"not-an-email\": no @",
            "bad.csv: line 7: expected 4 columns as in the header, found 2",
            "bad.csv: line 8: not valid UTF-8",
            "bad.csv: 6 problems; nothing was imported",
        ] {
            assert!(stderr.contains(expected), "{expected:?} missing from:\n{stderr}");
        }
        let list = place.run(&["roster", "list"]).await;
        assert!(text(&list.stdout).ends_with("(0 rows)\n"), "nothing was imported: {list:?}");

        let good = file("students.csv", ROSTER.as_bytes());
        let dry = place.run(&["roster", "import", &good, "--dry-run"]).await;
        assert!(dry.status.success(), "{dry:?}");
        let dry_out = text(&dry.stdout);
        assert!(
            dry_out.contains("add     20212086 김민수 (컴퓨터공학과) <minsu@example.ac.kr>"),
            "{dry_out}"
        );
        assert!(dry_out.contains("dry run: would add 3, update 0, leave 0 unchanged; nothing was written"));
        assert!(text(&place.run(&["roster", "list"]).await.stdout).ends_with("(0 rows)\n"));

        let done = place.run(&["roster", "import", &good]).await;
        assert!(text(&done.stdout).contains("added 3, updated 0, unchanged 0"), "{done:?}");
        let list = text(&place.run(&["roster", "list"]).await.stdout);
        assert!(list.contains("김민수") && list.ends_with("(3 rows)\n"), "{list}");
        let list = text(&place.run(&["roster", "list", "--format", "csv"]).await.stdout);
        assert!(list.contains("\n20212086,김민수,컴퓨터공학과,minsu@example.ac.kr\n"), "{list}");

        // Re-import with one change and one newcomer; the dry run says exactly what happens.
        let changed = file(
            "changed.csv",
            "student_id,name,department\n20212086,김민수,컴퓨터공학과\n20212087,이영희,물리학과\n20230001,박서준,수학과\n"
                .as_bytes(),
        );
        let dry = text(&place.run(&["roster", "import", &changed, "--dry-run"]).await.stdout);
        let done = text(&place.run(&["roster", "import", &changed]).await.stdout);
        for out in [&dry, &done] {
            assert!(out.contains("add     20230001 박서준 (수학과)"), "{out}");
            assert!(out.contains("update  20212087 이영희 (물리학과)"), "{out}");
            assert!(out.contains("department: \"전자공학과\" -> \"물리학과\""), "{out}");
            assert!(out.contains("1 student on the roster is not in the file (kept)"), "{out}");
        }
        assert!(done.contains("added 1, updated 1, unchanged 1"), "{done}");
        // This file has no email column, so emails on the roster were kept.
        let export = place.run(&["roster", "export"]).await;
        let exported = text(&export.stdout);
        assert!(exported.starts_with("student_id,name,department,email\n"), "{exported}");
        assert!(exported.contains("20212087,이영희,물리학과,\n"));
        assert!(exported.contains("20212086,김민수,컴퓨터공학과,minsu@example.ac.kr\n"), "{exported}");
        let again = file("again.csv", exported.as_bytes());
        let same = text(&place.run(&["roster", "import", &again]).await.stdout);
        assert!(same.contains("added 0, updated 0, unchanged 4"), "an export imports back unchanged: {same}");
        db.cleanup().await;
    }
}

#[tokio::test]
async fn history_survives_kill_9_and_a_restart() {
    for b in backends() {
        let db = TestDb::create(&b).await;
        let place = Place::of(&db);
        let roster = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(roster.path(), ROSTER).unwrap();
        let out = place.run(&["roster", "import", roster.path().to_str().unwrap()]).await;
        assert!(out.status.success(), "{out:?}");
        let server = place.serve().await;
        let addr = server.addr("calc");

        // Three students pipeline numbers as fast as they can; each remembers the results it
        // was told about (its own `result` lines: the acknowledgements).
        let acked = Arc::new(AtomicUsize::new(0));
        let mut students = Vec::new();
        for id in ["20212086", "20212087", "20212088"] {
            let (c, _) = calc_json(addr, id).await;
            let Client { mut reader, mut writer } = c;
            let acked = Arc::clone(&acked);
            students.push(tokio::spawn(async move {
                let lines: String =
                    (0..SENT).map(|i| format!("{{\"type\":\"square\",\"value\":\"{id}.{i}\"}}\n")).collect();
                // The write may fail once the server is gone; what matters is what was answered.
                let sender = tokio::spawn(async move {
                    let _ = writer.write_all(lines.as_bytes()).await;
                    writer
                });
                let mut mine = Vec::new();
                let mut buf = Vec::new();
                loop {
                    buf.clear();
                    match tokio::time::timeout(PATIENCE, reader.read_until(b'\n', &mut buf)).await {
                        Ok(Ok(n)) if n > 0 => {}
                        _ => break,
                    }
                    let v: Value = serde_json::from_slice(&buf).unwrap();
                    if v["type"] == "result" && v["student_id"] == id {
                        mine.push((
                            v["input"].as_str().unwrap().to_owned(),
                            v["square"].as_str().unwrap().to_owned(),
                        ));
                        acked.fetch_add(1, Ordering::SeqCst);
                    }
                }
                let _ = sender.await;
                (id, mine)
            }));
        }
        // Kill it mid-stream: with results still being computed, committed and sent.
        let deadline = tokio::time::Instant::now() + PATIENCE;
        while acked.load(Ordering::SeqCst) < 60 {
            assert!(tokio::time::Instant::now() < deadline, "no progress before the kill");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        server.signal("KILL");
        let mut acknowledged = HashMap::new();
        for s in students {
            let (id, mine) = s.await.unwrap();
            acknowledged.insert(id, mine);
        }
        let total: usize = acknowledged.values().map(Vec::len).sum();
        eprintln!("{}: {total} results acknowledged before kill -9", b.name());
        assert!(total < 3 * SENT, "{}: the kill came before everything was answered ({total})", b.name());
        drop(server);

        // Start again on the same data: every acknowledged result is in its student's history,
        // in the order it was acknowledged.
        let server = place.serve().await;
        let addr = server.addr("calc");
        for (id, mine) in &acknowledged {
            let (mut c, _) = calc_json(addr, id).await;
            c.send_json(json!({"type": "history", "limit": 1000})).await;
            let history = c.json().await;
            let stored: Vec<(String, String)> = history["results"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| (r["input"].as_str().unwrap().to_owned(), r["square"].as_str().unwrap().to_owned()))
                .collect();
            assert!(stored.len() >= mine.len(), "{}: {id} lost results", b.name());
            assert_eq!(
                &stored[..mine.len()],
                &mine[..],
                "{}: {id}'s acknowledged results, in order",
                b.name()
            );
            // Beyond them, results that were stored but whose acknowledgement never reached the
            // client: still in the order sent, none missing, none twice.
            for (i, (input, _)) in stored.iter().enumerate() {
                assert_eq!(input, &format!("{id}.{i}"), "{}", b.name());
            }
        }
        drop(server);
        db.cleanup().await;
    }
}

#[tokio::test]
async fn calc_export_writes_csv_and_json() {
    for b in backends() {
        let db = TestDb::create(&b).await;
        with_roster(&db).await;
        let server = TestServer::on_db(&db, |_| {}).await;
        let (mut a, _) = calc_json(server.calc(), "20212086").await;
        let (mut c, _) = calc_json(server.calc(), "20212087").await;
        let big = "12345678901234567890".repeat(10);
        assert_eq!(square(&mut a, "-1.5").await["square"], "2.25");
        assert_eq!(c.json().await["input"], "-1.5", "a's result reaches c too");
        assert_eq!(square(&mut c, &big).await["input"], big.as_str());
        server.stop().await;

        let place = Place::of(&db);
        let csv_out = place.run(&["calc", "export", "--format", "csv"]).await;
        assert!(csv_out.status.success(), "{}: {csv_out:?}", b.name());
        let mut reader = csv::Reader::from_reader(csv_out.stdout.as_slice());
        assert_eq!(reader.headers().unwrap(), vec!["id", "student_id", "name", "input", "square", "at"]);
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), 2);
        assert_eq!(
            rows[0].iter().skip(1).take(4).collect::<Vec<_>>(),
            ["20212086", "김민수", "-1.5", "2.25"]
        );
        assert_eq!(&rows[1][3], big.as_str());
        assert!(rows[1][4].len() >= 399, "the exact square, not a float");
        assert!(rows[0][5].ends_with('Z'));

        let json_out = place.run(&["calc", "export", "--format", "json", "--student", "20212087"]).await;
        let v: Value = serde_json::from_slice(&json_out.stdout).unwrap();
        let arr = v.as_array().unwrap();
        assert_eq!(arr.len(), 1, "{}", b.name());
        assert_eq!(
            (arr[0]["student_id"].as_str(), arr[0]["name"].as_str()),
            (Some("20212087"), Some("이영희"))
        );
        let none = place.run(&["calc", "export", "--format", "json", "--student", "1"]).await;
        assert_eq!(serde_json::from_slice::<Value>(&none.stdout).unwrap(), json!([]));
        db.cleanup().await;
    }
}

// --- the terminal client -------------------------------------------------------------------

#[tokio::test]
async fn the_client_line_by_line_shows_history_own_and_others_results() {
    let server = TestServer::with(|c| c.calc.roster = RosterMode::Open).await;
    let (mut other, _) = calc_json(server.calc(), "20212087").await;
    let mut child = spawn_piped(&["calc", "--student", "20212086", "--addr", &server.calc().to_string()]);
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"12\n").await.unwrap();
    // Wait until our result went out, then let the other student compute one we should see.
    let mine = other.json().await;
    assert_eq!(mine["square"], "144");
    // Queued to the client before the answer to anything it sends next.
    square(&mut other, "-0.5").await;
    stdin.write_all(b"abc\n/bogus\n/exit\n").await.unwrap();
    drop(stdin);
    let out = tokio::time::timeout(PATIENCE, child.wait_with_output()).await.unwrap().unwrap();
    assert!(out.status.success(), "{out:?}");
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[0], "* Welcome, student (20212086). 2 online.");
    assert!(lines[3].ends_with(") [20212086] 12² = 144"), "{stdout}");
    assert!(lines[4].ends_with(") [20212087] (-0.5)² = 0.25"), "{stdout}");
    assert!(lines[5].starts_with("! invalid_number: "), "{stdout}");
    assert_eq!(lines[6], "* bye: goodbye");
    assert!(text(&out.stderr).contains("! unknown_command: unknown command /bogus"));

    let refused = Command::new(BIN)
        .args(["calc", "--student", "x1", "--addr", &server.calc().to_string()])
        .output()
        .await
        .unwrap();
    assert!(!refused.status.success());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_full_screen_client_shows_others_results_in_another_colour() {
    let db = TestDb::create(&backends()[0]).await;
    with_roster(&db).await;
    let server = TestServer::on_db(&db, |_| {}).await;
    let (mut seed, _) = calc_json(server.calc(), "20212086").await;
    square(&mut seed, "3").await;
    drop(seed);
    let dir = tempfile::tempdir().unwrap();
    let status = dir.path().join("status");
    let script = format!(
        "'{BIN}' calc --student 20212086 --addr '{}'; echo EXIT=$? > '{}'; sleep 30",
        server.calc(),
        status.display()
    );
    let tmux = Tmux::start(80, 14, &script).await;
    tmux.wait_for_text("Welcome, 김민수 (20212086, 컴퓨터공학과)").await;
    tmux.wait_for_text(") 3² = 9").await; // the history
    // (A leading space, or tmux would read "-1.5" as an option; the server trims it.)
    tmux.type_text(" -1.5").await;
    tmux.press("Enter").await;
    tmux.wait_for_text("[20212086 김민수] (-1.5)² = 2.25").await;
    let (mut other, _) = calc_json(server.calc(), "20212087").await;
    square(&mut other, "11").await;
    let screen = tmux.wait_for_text("[20212087 이영희] 11² = 121").await;
    assert!(screen.text.contains("mine 1 / all 2"), "{}", screen.text);
    let own = colour_at(&screen.escaped, "(-1.5)² = 2.25");
    let others = colour_at(&screen.escaped, "11² = 121");
    assert_ne!(own, others, "others' results are drawn in another colour:\n{}", screen.escaped);
    tmux.type_text("/exit").await;
    tmux.press("Enter").await;
    assert_eq!(exit_status(&status).await, "EXIT=0");
    server.stop().await;
    db.cleanup().await;
}
