//! Hostile relay clients and hostile input, against real servers: a device that takes another
//! device's seq (refused with `seq_conflict`, the stored record kept, the honest device told), out
//! of range seqs (`bad_seq`), device tokens (a source pattern per token, revocation, the
//! forwarder presenting its own), a conflict on the forwarding path (held, not wedged), CSV cells
//! that a spreadsheet would run, and calculator logins with account passwords.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::json;
use sockhub_proto::relay::SEQ_MAX;
use sockhub_server::config::{CalcAuth, RelayAuth, RosterMode};
use sockhub_store::{RelayFilter, RelayState, Role};

use crate::relay::{Node, SETTLE, eventually};
use crate::support::{Client, TestServer, add_account};
use crate::web::api::{get, login_cookie, request};
use crate::web::ws::Ws;

/// The stored payload of `(source, seq)` on `node`.
async fn stored(node: &Node, source: &str, seq: i64) -> Option<String> {
    let filter = RelayFilter { source: Some(source.into()), seqs: Some((seq, seq)), ..Default::default() };
    node.store.relay().list(&filter).await.unwrap().pop().map(|r| r.payload)
}

fn record(source: &str, seq: i64, payload: &str) -> serde_json::Value {
    json!({"type": "record", "source": source, "seq": seq, "payload": payload})
}

/// A config file for `sockhub relay ...` on `node`'s data.
fn cli_config(node: &Node, dir: &Path) -> PathBuf {
    let path = dir.join("relay.toml");
    let data_dir = node.config.server.data_dir.display().to_string();
    std::fs::write(&path, format!("[server]\ndata_dir = {data_dir:?}\n")).unwrap();
    path
}

/// `sockhub <args>`: exit status and stdout.
async fn sockhub(args: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_sockhub"))
        .args(args)
        .envs(env.iter().copied())
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn a_seq_taken_by_another_payload_is_refused_and_the_honest_device_is_told() {
    let node = Node::start(None, |_| {}).await;
    let mut attacker = Client::connect(node.addr()).await;
    attacker.send_json(record("fan-1", 50, "FAKE")).await;
    assert_eq!(attacker.json_of("ack").await, json!({"type": "ack", "source": "fan-1", "seq": 50}));

    let mut device = Client::connect(node.addr()).await;
    device.send_json(record("fan-1", 49, "REAL 49")).await;
    device.send_json(record("fan-1", 50, "REAL")).await;
    device.send_json(record("fan-1", 51, "REAL 51")).await;
    // The device learns that 50 was not taken, and its other records are.
    let mut acked = 0;
    let mut conflict = None;
    while acked < 51 || conflict.is_none() {
        let v = device.json().await;
        match v["type"].as_str() {
            Some("ack") => acked = v["seq"].as_i64().unwrap(),
            Some("error") => conflict = Some(v),
            _ => {}
        }
    }
    let conflict = conflict.unwrap();
    assert_eq!(
        (conflict["code"].as_str(), conflict["source"].as_str(), conflict["seq"].as_i64()),
        (Some("seq_conflict"), Some("fan-1"), Some(50)),
        "{conflict}"
    );
    assert_eq!(stored(&node, "fan-1", 50).await.as_deref(), Some("FAKE"), "the stored record stays");
    assert_eq!(stored(&node, "fan-1", 51).await.as_deref(), Some("REAL 51"));

    // An identical re-send is acknowledged, as always.
    attacker.send_json(record("fan-1", 50, "FAKE")).await;
    assert_eq!(attacker.json_of("ack").await["seq"], 50);
    device.send_json(record("fan-1", 49, "REAL 49")).await;
    assert_eq!(device.json_of("ack").await["seq"], 49);

    let c = node.counters("fan-1").await;
    assert_eq!((c.received, c.conflicts), (3, 1), "{c:?}");
    let web = node.server.as_ref().unwrap().web();
    let (_, metrics) = get(web, "/metrics").await;
    assert!(metrics.lines().any(|l| l == "sockhub_relay_seq_conflicts_total 1"), "{metrics}");
    // The web relay page's status (admins only).
    add_account(&node.store, "boss", "s3cret!", Role::Admin).await;
    let cookie = login_cookie(web, "boss", "s3cret!").await;
    let (code, _, status) =
        request(web, "GET", "/api/relay/status", &[("Cookie", cookie.as_str())], None).await;
    assert_eq!(code, 200, "{status}");
    let status: serde_json::Value = serde_json::from_str(&status).unwrap();
    let fan = status["sources"].as_array().unwrap().iter().find(|s| s["source"] == "fan-1").unwrap().clone();
    assert_eq!(fan["conflicts"], 1, "{status}");
    let dir = tempfile::tempdir().unwrap();
    let config = cli_config(&node, dir.path());
    let (ok, out, err) =
        sockhub(&["relay", "status", "--format", "json", "--config", config.to_str().unwrap()], &[]).await;
    assert!(ok, "{err}");
    let out: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(out["sources"][0]["conflicts"], 1, "{out}");
}

#[tokio::test]
async fn seqs_out_of_range_are_refused_with_bad_seq_and_the_connection_stays() {
    let node = Node::start(None, |_| {}).await;
    let mut c = Client::connect(node.addr()).await;
    for seq in [json!(0), json!(-1), json!(SEQ_MAX + 1), json!(i64::MAX)] {
        c.send_json(json!({"type": "record", "source": "d", "seq": seq, "payload": "x"})).await;
        let e = c.json_of("error").await;
        assert_eq!((e["code"].as_str(), e["seq"].clone()), (Some("bad_seq"), seq), "{e}");
    }
    // Past i64: not even a seq.
    c.send(r#"{"type":"record","source":"d","seq":18446744073709551616,"payload":"x"}"#).await;
    assert_eq!(c.json_of("error").await["code"], "bad_request");
    c.send_json(record("d", SEQ_MAX, "the last seq")).await;
    assert_eq!(c.json_of("ack").await["seq"], SEQ_MAX);
    assert_eq!(node.counters("d").await.received, 1);
}

#[tokio::test]
async fn device_tokens_cover_their_sources_only_and_can_be_revoked() {
    let node = Node::start(None, |c| c.relay.auth = RelayAuth::Tokens).await;
    let (fans, token) = node.store.relay().token_add("fan-*", "hall fans").await.unwrap();

    // No token: refused, named, and the connection stays.
    let mut c = Client::connect(node.addr()).await;
    c.send_json(record("fan-1", 1, "early")).await;
    let e = c.json_of("error").await;
    assert_eq!((e["code"].as_str(), e["source"].as_str()), (Some("unauthorized"), Some("fan-1")), "{e}");
    c.send_json(json!({"type": "last_seq", "source": "fan-1"})).await;
    assert_eq!(c.json_of("error").await["code"], "unauthorized");
    c.send_json(json!({"type": "auth", "token": "sht_guessed"})).await;
    assert_eq!(c.json_of("error").await["code"], "unauthorized");

    c.send_json(json!({"type": "auth", "token": token})).await;
    assert_eq!(c.json_of("authenticated").await["sources"], "fan-*");
    c.send_json(record("fan-1", 1, "ok")).await;
    assert_eq!(c.json_of("ack").await, json!({"type": "ack", "source": "fan-1", "seq": 1}));
    c.send_json(record("door-1", 1, "not mine")).await;
    let e = c.json_of("error").await;
    assert_eq!((e["code"].as_str(), e["source"].as_str()), (Some("forbidden"), Some("door-1")), "{e}");
    assert!(node.store.relay().source("door-1").await.unwrap().is_none());

    // The name&&message format, with an AUTH line.
    let mut text = Client::connect(node.addr()).await;
    text.send("fan-2&&before").await;
    assert!(text.line().await.starts_with("* Welcome"));
    assert!(text.line().await.starts_with("! unauthorized:"));
    text.send(&format!("AUTH {token}")).await;
    assert_eq!(text.line().await, "* authenticated: records of sources matching fan-* are taken");
    text.send("fan-2&&hello").await;
    assert_eq!(text.line().await, "ack fan-2 1");

    // Three wrong tokens close the connection.
    let mut guesser = Client::connect(node.addr()).await;
    for i in 0..3 {
        guesser.send(&format!("AUTH sht_{i}")).await;
    }
    let lines = guesser.closed().await;
    assert_eq!(lines.iter().filter(|l| l.starts_with("! unauthorized")).count(), 3, "{lines:?}");

    // Revoked: refused to new connections, and connections using it are closed once it is
    // checked again.
    assert!(node.store.relay().token_revoke(fans.id).await.unwrap());
    let mut late = Client::connect(node.addr()).await;
    late.send_json(json!({"type": "auth", "token": token})).await;
    assert_eq!(late.json_of("error").await["code"], "unauthorized");
    let deadline = tokio::time::Instant::now() + SETTLE;
    let mut seq = 2;
    let ended = loop {
        assert!(tokio::time::Instant::now() < deadline, "the revoked token's connection stayed open");
        c.send_json(record("fan-1", seq, "still here")).await;
        let v = c.json().await;
        if v["type"] == "error" {
            assert_eq!(v["code"], "unauthorized", "{v}");
            break c.closed().await;
        }
        assert_eq!(v["type"], "ack");
        seq += 1;
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(ended.iter().any(|l| l.contains("revoked")), "{ended:?}");
}

#[tokio::test]
async fn sockhub_device_and_the_forwarder_present_their_tokens() {
    let s2 = Node::start(None, |c| c.relay.auth = RelayAuth::Tokens).await;
    let dir = tempfile::tempdir().unwrap();
    let s2_config = cli_config(&s2, dir.path());
    let s2_config = s2_config.to_str().unwrap();
    let add = |source: &'static str| async move {
        let (ok, out, err) =
            sockhub(&["relay", "token", "add", "--source", source, "--config", s2_config], &[]).await;
        assert!(ok, "{err}");
        out.trim().to_owned()
    };
    let upstream = add("*").await;
    let fans = add("fan-*").await;
    assert!(fans.starts_with("sht_") && fans != upstream);
    let (ok, list, _) =
        sockhub(&["relay", "token", "list", "--format", "json", "--config", s2_config], &[]).await;
    assert!(ok && !list.contains(&fans), "{list}");
    let list: serde_json::Value = serde_json::from_str(&list).unwrap();
    assert_eq!(list[1]["sources"], "fan-*");

    // A device with the token (from the environment, kept out of the process list).
    let lines = dir.path().join("lines.txt");
    std::fs::write(&lines, "one\ntwo\n").unwrap();
    let device = |source: &'static str, token: Option<String>| {
        let (addr, lines) = (s2.addr().to_string(), lines.clone());
        async move {
            let env: Vec<(&str, String)> = token.into_iter().map(|t| ("SOCKHUB_DEVICE_TOKEN", t)).collect();
            let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let args =
                ["device", "--source", source, "--addr", &addr, "--patience", "5", lines.to_str().unwrap()];
            sockhub(&args, &env).await
        }
    };
    let (ok, out, err) = device("fan-9", Some(fans.clone())).await;
    assert!(ok, "{out}{err}");
    assert!(out.contains("2 of 2 records acknowledged"), "{out}");
    let (ok, out, err) = device("door-9", Some(fans.clone())).await;
    assert!(!ok && err.contains("forbidden"), "{out}{err}");
    let (ok, _, err) = device("fan-9", None).await;
    assert!(!ok && err.contains("unauthorized"), "{err}");
    let (ok, _, err) = device("fan-9", Some("sht_wrong".into())).await;
    assert!(!ok && err.contains("refused the token"), "{err}");

    // Server1 forwards to it with its own token.
    let s1 = Node::start(Some(s2.addr()), |c| {
        c.relay.downstream_token = Some(sockhub_proto::secret::Secret::new(upstream.clone()));
    })
    .await;
    assert!(crate::relay::send(s1.addr(), "door-1", vec!["via s1".into()], 1).await.complete());
    eventually("forwarded with the token", || async { s1.counters("door-1").await.forwarded == 1 }).await;
    assert_eq!(stored(&s2, "door-1", 1).await.as_deref(), Some("via s1"));
    // Without a token, Server1 is turned away and says why.
    let s3 = Node::start(Some(s2.addr()), |_| {}).await;
    assert!(crate::relay::send(s3.addr(), "door-2", vec!["stuck".into()], 1).await.complete());
    std::fs::create_dir(dir.path().join("s3")).unwrap();
    let s3_config = cli_config(&s3, &dir.path().join("s3"));
    let s3_config = s3_config.to_str().unwrap();
    eventually("the link reports the missing token", || async {
        let (_, status, _) =
            sockhub(&["relay", "status", "--format", "json", "--config", s3_config], &[]).await;
        status.contains("downstream requires a device token (relay.downstream_token)")
    })
    .await;
    assert_eq!(s3.counters("door-2").await.queued, 1);
}

#[tokio::test]
async fn a_conflict_downstream_holds_the_record_upstream_without_wedging_the_forwarder() {
    let s2 = Node::start(None, |_| {}).await;
    let s1 = Node::start(Some(s2.addr()), |c| c.relay.max_attempts = 5).await;
    // Someone reaches Server2 directly and takes seq 50 of fan-1.
    let mut attacker = Client::connect(s2.addr()).await;
    attacker.send_json(record("fan-1", 50, "FAKE")).await;
    attacker.json_of("ack").await;

    let payloads = (49..=53).map(|s| format!("REAL {s}")).collect();
    assert!(crate::relay::send(s1.addr(), "fan-1", payloads, 49).await.complete());
    eventually("the conflicting record is held and the rest forwarded", || async {
        let c = s1.counters("fan-1").await;
        c.held == 1 && c.forwarded == 4
    })
    .await;
    let held = s1.records(Some(RelayState::Held)).await;
    assert_eq!(held[0].seq, 50);
    assert!(held[0].reason.as_deref().unwrap().contains("seq_conflict"), "{held:?}");
    assert_eq!(stored(&s2, "fan-1", 50).await.as_deref(), Some("FAKE"));
    assert_eq!(stored(&s2, "fan-1", 53).await.as_deref(), Some("REAL 53"));
    assert_eq!(s2.counters("fan-1").await.conflicts, 1);
    // Still flowing afterwards.
    assert!(crate::relay::send(s1.addr(), "fan-1", vec!["later".into()], 54).await.complete());
    eventually("later records forwarded", || async { s1.counters("fan-1").await.forwarded == 5 }).await;
}

#[tokio::test]
async fn csv_cells_that_a_spreadsheet_would_run_are_defused() {
    let node = Node::start(None, |_| {}).await;
    let payloads = vec![r#"-1+HYPERLINK("http://evil.example","x")"#.into(), "-1.5".into(), "=1+1".into()];
    assert!(crate::relay::send(node.addr(), "d", payloads, 1).await.complete());
    let dir = tempfile::tempdir().unwrap();
    let config = cli_config(&node, dir.path());
    let (ok, csv, err) = sockhub(
        &["relay", "records", "--state", "received", "--format", "csv", "--config", config.to_str().unwrap()],
        &[],
    )
    .await;
    assert!(ok, "{err}");
    assert!(csv.contains(r#"'-1+HYPERLINK(""http://evil.example"",""x"")"#), "{csv}");
    assert!(csv.contains(",-1.5\n") || csv.contains(",-1.5,"), "{csv}");
    assert!(csv.contains("'=1+1"), "{csv}");
    assert!(!csv.contains(",-1+HYPERLINK") && !csv.contains("\"-1+HYPERLINK"), "{csv}");
}

#[tokio::test]
async fn with_accounts_a_calculator_student_needs_the_password_of_their_account() {
    let server = TestServer::with(|c| {
        c.calc.auth = CalcAuth::Accounts;
        c.calc.roster = RosterMode::Open;
    })
    .await;
    let store =
        sockhub_store::Store::open(&sockhub_server::app::store_options(&server_config(&server))).await;
    let store = store.unwrap();
    // The account carries the student ID (what `sockhub user add 김민수 --student-id 20231234`
    // makes); another account's password does not open it.
    let hash = sockhub_store::password::hash("correct horse").await.unwrap();
    let student = sockhub_store::NewAccount {
        student_id: Some("20231234".into()),
        ..sockhub_store::NewAccount::member("김민수", hash)
    };
    store.accounts().add(&student).await.unwrap();
    add_account(&store, "someone", "other horse", Role::Member).await;

    // Text mode: the ID, then the password.
    let mut t = Client::connect(server.calc()).await;
    t.until("* Your student ID?").await;
    t.send("20231234").await;
    assert_eq!(t.line().await, "* Password for 20231234?");
    t.send("wrong horse").await;
    assert!(t.line().await.starts_with("! bad_credentials:"));
    assert_eq!(t.line().await, "* Your student ID?");
    t.send("20231234").await;
    assert_eq!(t.line().await, "* Password for 20231234?");
    t.send("correct horse").await;
    assert!(t.line().await.starts_with("* Welcome, student (20231234)"), "logged in");

    // JSON: the password goes with the login.
    let mut j = Client::connect(server.calc()).await;
    j.send_json(json!({"type": "login", "student_id": "20231234"})).await;
    assert_eq!(j.json_of("error").await["code"], "password_required");
    j.send_json(json!({"type": "login", "student_id": "20239999", "password": "correct horse"})).await;
    assert_eq!(j.json_of("error").await["code"], "bad_credentials", "an ID without an account");
    j.send_json(json!({"type": "login", "student_id": "20231234", "password": "other horse"})).await;
    assert_eq!(j.json_of("error").await["code"], "bad_credentials", "another account's password");
    j.send_json(json!({"type": "history"})).await;
    assert_eq!(j.json_of("error").await["code"], "not_logged_in");
    j.send_json(json!({"type": "login", "student_id": "20231234", "password": "correct horse"})).await;
    assert_eq!(j.json_of("welcome").await["student"]["student_id"], "20231234");

    // WebSocket: the same session.
    let mut ws = Ws::connect(server.web(), "calc").await;
    ws.send(json!({"type": "login", "student_id": "20231234", "password": "nope"})).await;
    assert_eq!(ws.json_of("error").await["code"], "bad_credentials");
    ws.send(json!({"type": "login", "student_id": "20231234", "password": "correct horse"})).await;
    assert_eq!(ws.json_of("welcome").await["student"]["student_id"], "20231234");
}

/// Password guesses at the calculator are throttled like every login.
#[tokio::test]
async fn calculator_password_guesses_are_throttled() {
    let server = TestServer::with(|c| {
        c.calc.auth = CalcAuth::Accounts;
        c.calc.roster = RosterMode::Open;
        c.auth.slow_after = 100;
        c.auth.lock_after = 3;
    })
    .await;
    let store =
        sockhub_store::Store::open(&sockhub_server::app::store_options(&server_config(&server))).await;
    add_account(&store.unwrap(), "20231234", "correct horse", Role::Member).await;
    let mut j = Client::connect(server.calc()).await;
    let mut codes = Vec::new();
    for _ in 0..10 {
        j.send_json(json!({"type": "login", "student_id": "20231234", "password": "guess"})).await;
        let code = j.json_of("error").await["code"].as_str().unwrap().to_owned();
        let locked = code == "too_many_attempts";
        codes.push(code);
        if locked {
            break;
        }
    }
    assert_eq!(codes.last().map(String::as_str), Some("too_many_attempts"), "{codes:?}");
    assert!(codes.iter().all(|c| c == "bad_credentials" || c == "too_many_attempts"), "{codes:?}");
}

/// The configuration `server` runs with (its database, for a store handle).
fn server_config(server: &TestServer) -> sockhub_server::Config {
    let mut c = sockhub_server::Config::default();
    c.server.data_dir = server.data_dir().to_path_buf();
    c
}
