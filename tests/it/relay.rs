//! The relay, in process: two nodes (Server1 forwarding to Server2) on real sockets and real
//! databases. Keep rules of each kind, forwarding with acknowledgements, idempotent re-sends, the
//! `name&&message` format, downstream down for a while, a record deleted downstream found by
//! reconcile, a refused record held without blocking the rest, the disk quota, bad input, and
//! the storage path on every backend. The crash tests with the real binary are in `relay_crash`.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use serde_json::json;
use sockhub_client::device::{self, DeviceOptions, DeviceReport, FirstSeq};
use sockhub_server::Config;
use sockhub_server::app::store_options;
use sockhub_server::config::KeepRule;
use sockhub_store::testing::{TestDb, backends};
use sockhub_store::{RelayFilter, RelayRow, RelayState, Store};

use crate::support::{Client, TestServer, test_config, use_db};

/// How long a test waits for the relay to settle.
pub const SETTLE: Duration = Duration::from_secs(30);

/// One relay node: its server, configuration, data directory and a store handle on its database.
pub struct Node {
    pub server: Option<TestServer>,
    pub config: Config,
    pub store: Store,
    _dir: tempfile::TempDir,
}

impl Node {
    /// A node with the test defaults, `downstream` if given, changed by `f`.
    pub async fn start(downstream: Option<SocketAddr>, f: impl FnOnce(&mut Config)) -> Node {
        Self::start_with(downstream, |_| {}, f).await
    }

    /// A node whose database is `db` (any backend).
    pub async fn on_db(db: &TestDb, downstream: Option<SocketAddr>, f: impl FnOnce(&mut Config)) -> Node {
        Self::start_with(downstream, |c| use_db(c, db), f).await
    }

    async fn start_with(
        downstream: Option<SocketAddr>,
        db: impl FnOnce(&mut Config),
        f: impl FnOnce(&mut Config),
    ) -> Node {
        let dir = tempfile::tempdir().unwrap();
        let mut config = test_config(dir.path());
        config.chat.enabled = false;
        config.relay.downstream = downstream.map(|a| a.to_string());
        // Out of the kernel's ephemeral range, so that a restart finds its port still free.
        config.relay.port = crate::support::unused_port();
        config.relay.retry_initial_ms = 20;
        config.relay.retry_max_ms = 200;
        config.relay.control_poll_ms = 50;
        db(&mut config);
        f(&mut config);
        Self::from_config(config, dir).await
    }

    async fn from_config(config: Config, dir: tempfile::TempDir) -> Node {
        let server = TestServer::from_config(config.clone()).await;
        let store = Store::open(&store_options(&config)).await.unwrap();
        Node { server: Some(server), config, store, _dir: dir }
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.as_ref().expect("running").addr("relay")
    }

    /// Stops the server (as on SIGTERM); the data stays.
    pub async fn stop(&mut self) {
        if let Some(s) = self.server.take() {
            s.stop().await;
        }
    }

    /// Starts the server again on the same port and data.
    pub async fn restart(&mut self, port: u16) {
        let mut config = self.config.clone();
        config.relay.port = port;
        self.server = Some(TestServer::from_config(config).await);
    }

    pub async fn records(&self, state: Option<RelayState>) -> Vec<RelayRow> {
        self.store.relay().list(&RelayFilter { state, ..Default::default() }).await.unwrap()
    }

    pub async fn counters(&self, source: &str) -> sockhub_store::RelaySource {
        self.store.relay().source(source).await.unwrap().unwrap_or_default()
    }
}

/// Polls `check` until it holds, or fails the test after [`SETTLE`].
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + SETTLE;
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Sends `payloads` as records of `source` numbered from `first`, like `sockhub device`.
pub async fn send(addr: SocketAddr, source: &str, payloads: Vec<String>, first: i64) -> DeviceReport {
    let opts = DeviceOptions {
        addr: addr.to_string(),
        source: source.into(),
        first_seq: FirstSeq::At(first),
        window: 1000,
        patience: SETTLE,
        rate: 0,
        token: None,
    };
    device::run(&opts, &payloads, |_, _| {}).await
}

fn rules() -> Vec<KeepRule> {
    let rule = |name: &str| KeepRule {
        name: name.into(),
        source: None,
        payload_regex: None,
        json_field: None,
        json_equals: None,
    };
    vec![
        KeepRule { payload_regex: Some(r"\bERROR\b".into()), ..rule("errors") },
        KeepRule { source: Some("lab-*".into()), ..rule("lab") },
        KeepRule { json_field: Some("level".into()), json_equals: Some("alarm".into()), ..rule("alarms") },
    ]
}

/// Server2 (a sink) and Server1 forwarding to it with the three kinds of keep rules.
async fn pair(f1: impl FnOnce(&mut Config), f2: impl FnOnce(&mut Config)) -> (Node, Node) {
    let s2 = Node::start(None, f2).await;
    let s1 = Node::start(Some(s2.addr()), |c| {
        c.relay.keep = rules();
        f1(c)
    })
    .await;
    (s1, s2)
}

fn seqs(rows: &[RelayRow], source: &str) -> Vec<i64> {
    rows.iter().filter(|r| r.source == source).map(|r| r.seq).collect()
}

#[tokio::test]
async fn keep_rules_of_each_kind_keep_records_and_the_rest_is_forwarded() {
    let (s1, s2) = pair(|_| {}, |_| {}).await;
    let dev = send(
        s1.addr(),
        "dev1",
        vec![
            "all good".into(),
            "disk ERROR on /var".into(),
            r#"{"level":"alarm","temp":99}"#.into(),
            r#"{"level":"info"}"#.into(),
            "ERRORS are not errors".into(),
        ],
        1,
    )
    .await;
    assert!(dev.complete(), "{dev:?}");
    assert!(send(s1.addr(), "lab-7", vec!["lab data".into()], 1).await.complete());

    eventually("everything forwarded is acknowledged", || async { s1.counters("dev1").await.forwarded == 3 })
        .await;
    let kept = s1.records(Some(RelayState::Kept)).await;
    let rules: Vec<(&str, i64, Option<&str>)> =
        kept.iter().map(|r| (r.source.as_str(), r.seq, r.rule.as_deref())).collect();
    assert_eq!(rules, [("dev1", 2, Some("errors")), ("dev1", 3, Some("alarms")), ("lab-7", 1, Some("lab"))]);
    let received = s2.records(None).await;
    assert_eq!(seqs(&received, "dev1"), [1, 4, 5]);
    assert!(seqs(&received, "lab-7").is_empty());
    assert!(received.iter().all(|r| r.state == RelayState::Received));
    let c = s1.counters("dev1").await;
    assert_eq!((c.received, c.kept, c.forwarded, c.queued), (5, 2, 3, 0));
    assert!(c.adds_up(), "{c:?}");
    // The payload arrived as sent, with its timestamp.
    let first = &received[0];
    let original = &s1.records(None).await[0];
    assert_eq!((first.payload.as_str(), first.at_ms), ("all good", original.at_ms));
}

#[tokio::test]
async fn acks_are_cumulative_and_a_resent_record_is_stored_once() {
    let (s1, s2) = pair(|_| {}, |_| {}).await;
    let mut c = Client::connect(s1.addr()).await;
    for seq in 1..=3 {
        c.send_json(json!({"type": "record", "source": "d", "seq": seq, "payload": format!("p{seq}")})).await;
    }
    // One commit may take all three: then a single ack (seq 3) covers them.
    let mut acked = 0;
    while acked < 3 {
        let ack = c.json_of("ack").await;
        assert_eq!(ack["source"], "d");
        acked = ack["seq"].as_i64().unwrap();
    }
    // A re-send of 2 (its ack was "lost") is acknowledged again and not stored twice.
    c.send_json(json!({"type": "record", "source": "d", "seq": 2, "payload": "p2"})).await;
    assert_eq!(c.json_of("ack").await, json!({"type": "ack", "source": "d", "seq": 2}));
    eventually("forwarded", || async { s1.counters("d").await.forwarded == 3 }).await;
    assert_eq!(seqs(&s1.records(None).await, "d"), [1, 2, 3]);
    assert_eq!(seqs(&s2.records(None).await, "d"), [1, 2, 3]);
    let c1 = s1.counters("d").await;
    assert_eq!((c1.received, c1.forwarded), (3, 3));
    assert_eq!(s2.counters("d").await.received, 3);
}

#[tokio::test]
async fn name_and_message_lines_get_seqs_from_the_server() {
    let (s1, s2) = pair(|_| {}, |_| {}).await;
    let mut c = Client::connect(s1.addr()).await;
    c.line().await; // greeting
    c.send("센서&&온도 21도").await;
    assert_eq!(c.line().await, "ack 센서 1");
    c.send("센서&&ERROR: 과열").await;
    assert_eq!(c.line().await, "ack 센서 2");
    c.send("센서&&a && b").await;
    assert_eq!(c.line().await, "ack 센서 3");
    c.send("no separator").await;
    assert!(c.line().await.starts_with("! bad_request: expected a record as name&&message"));
    c.send("&&no name").await;
    assert!(c.line().await.starts_with("! invalid_source:"));
    c.send("q").await;
    assert_eq!(c.line().await, "* bye: goodbye");

    eventually("forwarded", || async { s1.counters("센서").await.forwarded == 2 }).await;
    let kept = s1.records(Some(RelayState::Kept)).await;
    assert_eq!((kept[0].seq, kept[0].payload.as_str()), (2, "ERROR: 과열"));
    let got = s2.records(None).await;
    assert_eq!(
        got.iter().map(|r| (r.seq, r.payload.as_str())).collect::<Vec<_>>(),
        [(1, "온도 21도"), (3, "a && b")]
    );
    // Seqs continue after a restart of the connection: they come from the database.
    let mut c = Client::connect(s1.addr()).await;
    c.line().await;
    c.send("센서&&again").await;
    assert_eq!(c.line().await, "ack 센서 4");
}

#[tokio::test]
async fn bad_input_gets_an_error_naming_the_problem_and_the_connection_lives_on() {
    let (s1, _s2) = pair(|c| c.relay.max_payload_bytes = 10, |_| {}).await;
    let mut c = Client::connect(s1.addr()).await;
    let cases = [
        (json!({"type": "record", "source": "d", "seq": 1}), "bad_request", "payload"),
        (json!({"type": "record", "source": "d", "seq": "one", "payload": "x"}), "bad_request", "seq"),
        (
            json!({"type": "record", "source": "a b", "seq": 1, "payload": "x"}),
            "invalid_source",
            "whitespace",
        ),
        (json!({"type": "record", "source": "d", "seq": -1, "payload": "x"}), "bad_seq", "seq"),
        (
            json!({"type": "record", "source": "d", "seq": 2, "payload": "eleven byte"}),
            "payload_too_large",
            "at most 10",
        ),
        (
            json!({"type": "record", "source": "d", "seq": 3, "payload": "x", "at": "noon"}),
            "bad_request",
            "RFC 3339",
        ),
        (json!({"type": "recrod"}), "unknown_command", "record"),
    ];
    for (req, code, needle) in cases {
        c.send_json(req.clone()).await;
        let e = c.json_of("error").await;
        assert_eq!(e["code"], code, "{req} -> {e}");
        assert!(e["message"].as_str().unwrap().contains(needle), "{req} -> {e}");
    }
    c.send("{not json").await;
    assert_eq!(c.json_of("error").await["code"], "bad_json");
    c.send_raw(b"\xff\xfe\n").await;
    assert_eq!(c.json_of("error").await["code"], "invalid_utf8");
    // The record errors name the record.
    c.send_json(json!({"type": "record", "source": "d", "seq": 9, "payload": "far too long"})).await;
    let e = c.json_of("error").await;
    assert_eq!((e["source"].as_str(), e["seq"].as_i64()), (Some("d"), Some(9)));
    // And the connection still works.
    c.send_json(json!({"type": "record", "source": "d", "seq": 10, "payload": "fine"})).await;
    assert_eq!(c.json_of("ack").await, json!({"type": "ack", "source": "d", "seq": 10}));
    assert_eq!(seqs(&s1.records(None).await, "d"), [10]);
}

#[tokio::test]
async fn downstream_stopped_for_a_while_then_back_gets_everything_once_in_order() {
    // A small window makes the catch-up from the database take many round trips, so that new
    // records arrive while it runs.
    let (s1, mut s2) = pair(|c| c.relay.window = 64, |_| {}).await;
    let port = s2.addr().port();
    assert!(send(s1.addr(), "a", (1..=100).map(|i| format!("a{i}")).collect(), 1).await.complete());
    eventually("the first records are forwarded", || async { s1.counters("a").await.forwarded == 100 }).await;
    s2.stop().await;

    // Server1 keeps accepting (and acknowledging: the records are durable) while Server2 is away.
    let (a, b) = tokio::join!(
        send(s1.addr(), "a", (101..=2000).map(|i| format!("a{i}")).collect(), 101),
        send(s1.addr(), "b", (1..=1500).map(|i| format!("b{i}")).collect(), 1),
    );
    assert!(a.complete() && b.complete());
    assert_eq!(s1.counters("a").await.queued, 1900);
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Server2 comes back while the device keeps sending: the backlog (read from the database)
    // and the new records (handed over in memory) must still arrive in order.
    let more = tokio::spawn({
        let addr = s1.addr();
        async move {
            let opts = DeviceOptions {
                addr: addr.to_string(),
                source: "a".into(),
                first_seq: FirstSeq::At(2001),
                window: 100,
                patience: SETTLE,
                rate: 2000,
                token: None,
            };
            let payloads: Vec<String> = (2001..=3000).map(|i| format!("a{i}")).collect();
            device::run(&opts, &payloads, |_, _| {}).await
        }
    });
    s2.restart(port).await;
    assert!(more.await.unwrap().complete());
    eventually("everything is forwarded", || async {
        s1.counters("a").await.forwarded == 3000 && s1.counters("b").await.forwarded == 1500
    })
    .await;
    let got = s2.records(None).await; // in arrival order
    assert_eq!(seqs(&got, "a"), (1..=3000).collect::<Vec<_>>(), "every record once, in order");
    assert_eq!(seqs(&got, "b"), (1..=1500).collect::<Vec<_>>());
    for c in [s1.counters("a").await, s1.counters("b").await] {
        assert!(c.adds_up() && c.queued == 0 && c.pending_bytes == 0, "{c:?}");
    }
    eventually("the status shows the reconnect", || async {
        s1.store.relay().nodes().await.unwrap().iter().any(|n| !n.2.contains("\"reconnects\":0"))
    })
    .await;
}

#[tokio::test]
async fn a_record_deleted_downstream_is_found_by_reconcile_and_sent_again() {
    for b in backends() {
        let db = TestDb::create(&b).await;
        let s2 = Node::on_db(&db, None, |_| {}).await;
        let s1 = Node::start(Some(s2.addr()), |c| c.relay.keep = rules()).await;
        let payloads: Vec<String> =
            (1..=600).map(|i| if i % 100 == 0 { format!("ERROR {i}") } else { format!("r{i}") }).collect();
        assert!(send(s1.addr(), "dev", payloads, 1).await.complete());
        eventually("forwarded", || async { s1.counters("dev").await.forwarded == 594 }).await;

        // Behind the relay's back: two records vanish downstream, one changes.
        db.execute_raw("DELETE FROM relay_records WHERE source = 'dev' AND seq IN (7, 450)").await;
        db.execute_raw(
            "UPDATE relay_records SET payload = 'tampered', digest = 1 WHERE source = 'dev' AND seq = 8",
        )
        .await;
        assert_eq!(s2.records(None).await.len(), 592);

        // `sockhub relay reconcile` does this: a request the running server picks up.
        let id = s1.store.relay().request_add("reconcile", "tester", "{}").await.unwrap();
        eventually("the reconcile is done", || async {
            s1.store.relay().request(id).await.unwrap().is_some_and(|r| r.status == "done")
        })
        .await;
        let r = s1.store.relay().request(id).await.unwrap().unwrap();
        let result: serde_json::Value = serde_json::from_str(r.result.as_deref().unwrap()).unwrap();
        assert_eq!(result["outcome"], "diverged", "{result}");
        assert_eq!(
            (result["missing"].as_i64(), result["mismatched"].as_i64()),
            (Some(2), Some(1)),
            "{result}"
        );
        let detail = &result["detail"][0];
        assert_eq!(detail["missing_seqs"], json!([7, 450]));
        assert_eq!(detail["kept_not_forwarded"], 6, "kept records are not gaps: {detail}");

        eventually("the missing records are back downstream", || async {
            s2.records(None).await.len() == 594 && s1.counters("dev").await.forwarded == 594
        })
        .await;
        let back =
            s1.store.relay().list(&RelayFilter { seqs: Some((7, 7)), ..Default::default() }).await.unwrap();
        assert_eq!((back[0].state, back[0].resends), (RelayState::Forwarded, 1));
        // The resend is recorded: who and when.
        let requests = s1.store.relay().requests_recent(10).await.unwrap();
        assert!(
            requests
                .iter()
                .any(|r| r.kind == "resend" && r.requested_by == "reconcile" && r.status == "done")
        );
        assert!(s1.counters("dev").await.adds_up());
        drop(s2);
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_refused_record_is_held_without_blocking_the_others() {
    let (s1, s2) = pair(
        |c| {
            c.relay.max_attempts = 3;
            c.relay.retry_initial_ms = 10;
        },
        |c| c.relay.max_payload_bytes = 20,
    )
    .await;
    let mut payloads: Vec<String> = (1..=50).map(|i| format!("small {i}")).collect();
    payloads[9] = "x".repeat(100); // seq 10: too large for Server2
    assert!(send(s1.addr(), "d", payloads, 1).await.complete());
    eventually("the record is held", || async { s1.counters("d").await.held == 1 }).await;
    eventually("the others are forwarded", || async { s1.counters("d").await.forwarded == 49 }).await;
    let held = s1.records(Some(RelayState::Held)).await;
    assert_eq!(held[0].seq, 10);
    assert!(held[0].reason.as_deref().unwrap().contains("payload_too_large"), "{held:?}");
    let got = seqs(&s2.records(None).await, "d");
    assert_eq!(got.len(), 49);
    assert!(!got.contains(&10));

    // An operator re-sends it: it is refused again and held again, and the resend is recorded.
    let id = s1
        .store
        .relay()
        .request_add("resend", "alice", r#"{"state":"held","source":"d","seqs":null}"#)
        .await
        .unwrap();
    eventually("the resend is done", || async {
        s1.store.relay().request(id).await.unwrap().is_some_and(|r| r.status == "done")
    })
    .await;
    eventually("held again", || async { s1.counters("d").await.held == 1 }).await;
    let again = s1.records(Some(RelayState::Held)).await;
    assert_eq!(again[0].resends, 1);
    assert!(s1.counters("d").await.adds_up());
}

#[tokio::test]
async fn at_the_quota_devices_are_not_acknowledged_until_forwarding_frees_room() {
    // Server2's port is reserved but nobody listens yet.
    let port = crate::support::unused_port();
    let downstream: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let s1 = Node::start(Some(downstream), |c| c.relay.quota_records = 50).await;

    let mut c = Client::connect(s1.addr()).await;
    for seq in 1..=80 {
        c.send_json(json!({"type": "record", "source": "q", "seq": seq, "payload": "x"})).await;
    }
    let mut acked = 0;
    while acked < 50 {
        acked = c.json_of("ack").await["seq"].as_i64().unwrap();
    }
    assert_eq!(acked, 50, "nothing past the quota is acknowledged");
    assert!(c.silent_or_lines(Duration::from_millis(500)).await.is_empty());
    assert_eq!(s1.counters("q").await.received, 50);
    eventually("backpressure shows in the status", || async {
        s1.store.relay().nodes().await.unwrap().iter().any(|n| n.2.contains("\"backpressure\":true"))
    })
    .await;

    // Server2 comes up: forwarding frees room, the rest is acknowledged and forwarded.
    let mut s2 = Node::start(None, |c| c.relay.port = port).await;
    while acked < 80 {
        acked = c.json_of("ack").await["seq"].as_i64().unwrap();
    }
    eventually("all forwarded", || async { s1.counters("q").await.forwarded == 80 }).await;
    assert_eq!(seqs(&s2.records(None).await, "q"), (1..=80).collect::<Vec<_>>());
    s2.stop().await;
}

#[tokio::test]
async fn forwarding_and_idempotence_on_every_backend() {
    for b in backends() {
        let db1 = TestDb::create(&b).await;
        let db2 = TestDb::create(&b).await;
        let s2 = Node::on_db(&db2, None, |_| {}).await;
        let s1 = Node::on_db(&db1, Some(s2.addr()), |c| c.relay.keep = rules()).await;
        let payloads: Vec<String> = (1..=300)
            .map(|i| if i % 50 == 0 { format!("ERROR {i} 한글") } else { format!("line {i} 한글") })
            .collect();
        assert!(send(s1.addr(), "dev", payloads.clone(), 1).await.complete(), "{}", b.name());
        // Everything again: all acknowledged, nothing stored twice.
        assert!(send(s1.addr(), "dev", payloads, 1).await.complete());
        eventually("forwarded", || async { s1.counters("dev").await.forwarded == 294 }).await;
        let c = s1.counters("dev").await;
        assert_eq!((c.received, c.kept, c.forwarded), (300, 6, 294), "{}", b.name());
        let got = s2.records(None).await;
        assert_eq!(got.len(), 294);
        assert_eq!(got[0].payload, "line 1 한글");
        drop((s1, s2));
        db1.cleanup().await;
        db2.cleanup().await;
    }
}

#[tokio::test]
async fn the_device_command_sends_a_file_and_reports() {
    let (s1, s2) = pair(|_| {}, |_| {}).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("log.txt");
    std::fs::write(&file, "boot ok\nERROR fan\n\ntemp 40\n").unwrap();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_sockhub"))
        .args(["device", "--source", "fan-1", "--addr", &s1.addr().to_string()])
        .arg(&file)
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout} {}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("3 of 3 records acknowledged (seqs 1..3)"), "{stdout}");
    // Run again: `--first-seq auto` continues after the last stored seq.
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_sockhub"))
        .args(["device", "--source", "fan-1", "--addr", &s1.addr().to_string(), "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut stdin, b"more\n").await.unwrap();
    drop(stdin); // end of input
    let out = child.wait_with_output().await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("1 of 1 records acknowledged (seqs 4..4)"), "{stdout}");
    eventually("forwarded", || async { s2.records(None).await.len() == 3 }).await;

    // Nobody listening: it gives up and says so, with a failure status.
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_sockhub"))
        .args(["device", "--source", "x", "--addr", "127.0.0.1:1", "--first-seq", "1", "--patience", "1"])
        .arg(&file)
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("3 records not acknowledged"));
}

#[tokio::test]
async fn the_cli_lists_records_and_status_from_the_database() {
    let (s1, _s2) = pair(|_| {}, |_| {}).await;
    assert!(send(s1.addr(), "dev1", vec!["ok".into(), "ERROR, \"quoted\"".into()], 1).await.complete());
    eventually("forwarded", || async { s1.counters("dev1").await.forwarded == 1 }).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("s1.toml");
    std::fs::write(
        &config,
        format!("[server]\ndata_dir = {:?}\n", s1.config.server.data_dir.display().to_string()),
    )
    .unwrap();
    // Async: the server runs on this test's runtime and must answer `reconcile` meanwhile.
    let run = async |args: &[&str]| {
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_sockhub"))
            .args(["relay"])
            .args(args)
            .arg("--config")
            .arg(&config)
            .output()
            .await
            .unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let kept: serde_json::Value =
        serde_json::from_str(&run(&["records", "--state", "kept", "--format", "json"]).await).unwrap();
    assert_eq!(kept.as_array().unwrap().len(), 1);
    let item = &kept[0];
    assert_eq!(
        (item["source"].as_str(), item["seq"].as_i64(), item["state"].as_str()),
        (Some("dev1"), Some(2), Some("kept"))
    );
    assert_eq!(
        (item["rule"].as_str(), item["payload"].as_str()),
        (Some("errors"), Some("ERROR, \"quoted\""))
    );
    assert!(item["received_at"].as_str().unwrap().ends_with('Z'));
    let csv =
        run(&["records", "--state", "received", "--format", "csv", "--source", "dev1", "--since", "1h"])
            .await;
    assert!(csv.contains("dev1,2,kept,errors,,") && csv.contains("\"ERROR, \"\"quoted\"\"\""), "{csv}");
    let table = run(&["status"]).await;
    assert!(table.contains("downstream 127.0.0.1:") && table.contains("connected"), "{table}");
    assert!(
        table.lines().any(|l| l.split_whitespace().filter(|t| *t != "│").collect::<Vec<_>>()
            == ["dev1", "2", "1", "1", "0", "0", "0", "0", "0", "2"]),
        "{table}"
    );
    let json: serde_json::Value = serde_json::from_str(&run(&["status", "--format", "json"]).await).unwrap();
    assert_eq!(json["sources"][0]["adds_up"], true);
    assert_eq!(json["nodes"][0]["link"]["state"], "connected");
    let reconcile = run(&["reconcile", "--by", "tester"]).await;
    assert!(reconcile.starts_with("reconcile ok: 1 sources, 0 missing"), "{reconcile}");
}
