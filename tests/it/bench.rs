//! `sockhub bench`: short runs of each scenario against a real server over TCP. They check
//! behaviour — every expected delivery arrives, the summary has its fields, the memory figure is
//! there, slow readers are disconnected — never timings, which belong in docs/benchmarks.md.

use std::sync::Arc;

use serde_json::Value;
use sockhub_bench::{Common, Progress, Report, ScenarioArgs};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::broadcast;

use crate::support::TestServer;

/// A server for benchmarks: no flood control, no history.
async fn bench_server(f: impl FnOnce(&mut sockhub_server::Config)) -> TestServer {
    TestServer::with(|c| {
        c.limits.rate_per_sec = 0.0;
        c.chat.history = 0;
        f(c)
    })
    .await
}

/// Run a scenario given as on the command line (`"chat-fanout --clients 6 ..."`).
async fn run(args: &str, common: Common) -> (Report, Value) {
    let scenario = ScenarioArgs::parse_from(args.split_whitespace()).expect("valid scenario arguments");
    let report = sockhub_bench::run(scenario, &common, Progress::hidden()).await.expect("the run completes");
    let json = serde_json::to_value(&report).unwrap();
    (report, json)
}

fn common(addrs: &[std::net::SocketAddr], metrics: Option<std::net::SocketAddr>) -> Common {
    Common {
        addrs: addrs.iter().map(ToString::to_string).collect(),
        metrics: metrics.map(|m| m.to_string()),
        server_pid: None,
        connect_concurrency: 16,
        tls: false,
        ca: None,
        threads: None,
    }
}

fn u64_at(json: &Value, path: &str) -> u64 {
    json.pointer(path).and_then(Value::as_u64).unwrap_or_else(|| panic!("{path} missing in {json:#}"))
}

/// The command line's `--threads` sets the generator's worker threads, and the report says how
/// many it ran with (the default: one per core).
#[tokio::test]
async fn the_generator_runs_with_the_threads_asked_for_and_reports_them() {
    let server = bench_server(|_| {}).await;
    let run = |threads: Option<&str>| {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_sockhub"));
        cmd.args(["bench", "chat-fanout", "--clients", "3", "--senders", "1", "--rate", "50"]);
        cmd.args(["--warmup", "0.1", "--duration", "0.3", "--json", "--addr", &server.chat().to_string()]);
        cmd.args(threads.map(|t| ["--threads", t]).into_iter().flatten());
        cmd.output()
    };
    let json = |out: std::process::Output| -> Value {
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let one = json(run(Some("1")).await.unwrap());
    assert_eq!(one["config"]["threads"], 1, "{one:#}");
    assert_eq!(u64_at(&one, "/results/missing_deliveries"), 0);
    let cores = std::thread::available_parallelism().unwrap().get();
    assert_eq!(json(run(None).await.unwrap())["config"]["threads"], cores);
    let refused = run(Some("0")).await.unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--threads"));
    server.stop().await;
}

#[tokio::test]
async fn chat_fanout_delivers_every_message_to_every_client() {
    let server = bench_server(|_| {}).await;
    // The same server twice: clients are spread over the addresses round-robin.
    let addrs = [server.chat(), server.chat()];
    let args = "chat-fanout --clients 6 --senders 2 --rate 100 --warmup 0.2 --duration 0.5 --drain 5";
    let (report, json) = run(args, common(&addrs, Some(server.web()))).await;
    assert!(report.ok(), "{}", report.to_text());
    let sent = u64_at(&json, "/results/messages_sent");
    assert!(sent > 0);
    assert_eq!(u64_at(&json, "/results/expected_deliveries"), sent * 6);
    assert_eq!(u64_at(&json, "/results/received_deliveries"), sent * 6);
    assert_eq!(u64_at(&json, "/results/missing_deliveries"), 0);
    assert_eq!(u64_at(&json, "/results/latency/count"), sent * 6);
    for field in ["p50_us", "p99_us", "p999_us", "max_us"] {
        assert!(json["results"]["latency"].get(field).is_some(), "{field} missing");
    }
    assert_eq!(json["scenario"], "chat-fanout");
    assert_eq!(json["config"]["clients"], 6);
    assert_eq!(json["config"]["addr"].as_array().unwrap().len(), 2);
    assert!(json["results"].get("rooms").is_none(), "one room reports as before: {json:#}");
    server.stop().await;
}

#[tokio::test]
async fn chat_fanout_over_rooms_keeps_every_message_in_its_room() {
    let server = bench_server(|_| {}).await;
    // Nine clients in three rooms of three, one sender in each room.
    let args =
        "chat-fanout --rooms 3 --clients 9 --senders 3 --rate 100 --warmup 0.2 --duration 0.5 --drain 5";
    let (report, json) = run(args, common(&[server.chat()], Some(server.web()))).await;
    assert!(report.ok(), "{}", report.to_text());
    let sent = u64_at(&json, "/results/messages_sent");
    assert!(sent > 0);
    assert_eq!(u64_at(&json, "/results/rooms"), 3);
    assert_eq!(
        u64_at(&json, "/results/expected_deliveries"),
        sent * 3,
        "each message reaches its room of three"
    );
    assert_eq!(u64_at(&json, "/results/received_deliveries"), sent * 3);
    assert_eq!(u64_at(&json, "/results/missing_deliveries"), 0);
    assert_eq!(u64_at(&json, "/results/rooms_missing_deliveries"), 0);
    assert_eq!(u64_at(&json, "/results/foreign_deliveries"), 0, "no client got another room's message");
    assert_eq!(u64_at(&json, "/results/latency/count"), sent * 3);
    assert_eq!(json["config"]["rooms"], 3);
    server.stop().await;
}

#[tokio::test]
async fn chat_fanout_over_irc_delivers_every_message_with_echo_message() {
    let server = bench_server(crate::irc::irc_on).await;
    // Ten IRC clients in #lobby (sockhub puts them there at registration; their JOIN is a no-op),
    // two sending; sockhub offers echo-message, so every message reaches all ten.
    let args =
        "chat-fanout --proto irc --clients 10 --senders 2 --rate 100 --warmup 0.2 --duration 0.5 --drain 5";
    let (report, json) = run(args, common(&[server.addr("irc")], Some(server.web()))).await;
    assert!(report.ok(), "{}", report.to_text());
    let sent = u64_at(&json, "/results/messages_sent");
    assert!(sent > 0);
    assert_eq!(u64_at(&json, "/results/irc_echo_clients"), 10);
    assert_eq!(u64_at(&json, "/results/expected_deliveries"), sent * 10);
    assert_eq!(u64_at(&json, "/results/received_deliveries"), sent * 10);
    assert_eq!(u64_at(&json, "/results/missing_deliveries"), 0);
    assert_eq!(u64_at(&json, "/results/latency/count"), sent * 10);
    assert_eq!(json["config"]["proto"], "irc");
    server.stop().await;
}

#[tokio::test]
async fn chat_fanout_over_irc_without_echo_expects_all_but_the_sender_in_each_channel() {
    let server = bench_server(crate::irc::irc_on).await;
    // Two channels of five, one sender each; without echo-message a sender does not get its own
    // messages back, so each message is expected at the four other clients of its channel.
    let args = "chat-fanout --proto irc --no-echo-message --rooms 2 --clients 10 --senders 2 --rate 100 --warmup 0.2 --duration 0.5 --drain 5";
    let (report, json) = run(args, common(&[server.addr("irc")], Some(server.web()))).await;
    assert!(report.ok(), "{}", report.to_text());
    let sent = u64_at(&json, "/results/messages_sent");
    assert!(sent > 0);
    assert_eq!(u64_at(&json, "/results/irc_echo_clients"), 0);
    assert_eq!(u64_at(&json, "/results/expected_deliveries"), sent * 4);
    assert_eq!(u64_at(&json, "/results/received_deliveries"), sent * 4);
    assert_eq!(u64_at(&json, "/results/missing_deliveries"), 0);
    assert_eq!(u64_at(&json, "/results/foreign_deliveries"), 0, "no message left its channel");
    server.stop().await;
}

#[tokio::test]
async fn connections_over_irc_registers_and_holds_every_client() {
    let server = bench_server(crate::irc::irc_on).await;
    let args = "connections --proto irc --channel #held --clients 20 --hold 0.2 --settle 10";
    let (report, json) = run(args, common(&[server.addr("irc")], Some(server.web()))).await;
    assert!(report.ok(), "{}", report.to_text());
    assert_eq!(u64_at(&json, "/results/connected"), 20);
    assert_eq!(u64_at(&json, "/results/closed_by_server"), 0);
    server.stop().await;
}

/// The contract of a `raw` peer: no login, every line broadcast to every client, sender included.
async fn raw_broadcast_server() -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, _) = broadcast::channel::<Arc<String>>(100_000);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let tx = tx.clone();
            let mut rx = tx.subscribe();
            tokio::spawn(async move {
                let (rd, mut wr) = stream.into_split();
                let mut lines = BufReader::new(rd).lines();
                loop {
                    tokio::select! {
                        line = lines.next_line() => match line {
                            Ok(Some(line)) => { let _ = tx.send(Arc::new(line + "\n")); }
                            _ => return,
                        },
                        msg = rx.recv() => match msg {
                            Ok(msg) => if wr.write_all(msg.as_bytes()).await.is_err() { return },
                            Err(_) => return,
                        },
                    }
                }
            });
        }
    });
    addr
}

#[tokio::test]
async fn chat_fanout_drives_a_raw_peer_server_without_login() {
    let addr = raw_broadcast_server().await;
    let args = "chat-fanout --target raw --clients 4 --senders 1 --rate 100 --warmup 0.2 --duration 0.5";
    let (report, json) = run(args, common(&[addr], None)).await;
    assert!(report.ok(), "{}", report.to_text());
    let sent = u64_at(&json, "/results/messages_sent");
    assert!(sent > 0);
    assert_eq!(u64_at(&json, "/results/received_deliveries"), sent * 4);
}

#[tokio::test]
async fn connections_reports_the_servers_memory_per_connection() {
    let server = bench_server(|_| {}).await;
    let args = "connections --clients 50 --hold 0.2 --settle 10";
    let (report, json) = run(args, common(&[server.chat()], Some(server.web()))).await;
    assert!(report.ok(), "{}", report.to_text());
    assert_eq!(u64_at(&json, "/results/connected"), 50);
    assert_eq!(u64_at(&json, "/results/closed_by_server"), 0);
    assert!(u64_at(&json, "/results/server_rss_after_bytes") > 0);
    assert!(json["results"]["server_bytes_per_connection"].is_number(), "{json:#}");
    server.stop().await;
}

#[tokio::test]
async fn connections_needs_a_way_to_read_the_servers_memory() {
    let server = bench_server(|_| {}).await;
    let scenario = ScenarioArgs::parse_from(["connections", "--clients", "1"]).unwrap();
    let err =
        sockhub_bench::run(scenario, &common(&[server.chat()], None), Progress::hidden()).await.unwrap_err();
    assert!(err.to_string().contains("--metrics"), "{err}");
    server.stop().await;
}

#[tokio::test]
async fn slow_consumers_are_disconnected_and_readers_get_everything() {
    // A small outbox and a short write deadline, and more data (8 MB per client) than the kernel
    // buffers between the server and a client that never reads, so those clients are found out
    // within the run.
    let server = bench_server(|c| {
        c.limits.outbound_queue = 256;
        c.limits.write_timeout_secs = 1;
    })
    .await;
    let args = "slow-consumers --clients 3 --slow-percent 67 --senders 1 --rate 1000 --size 4000 --warmup 0.2 --duration 2";
    let (report, json) = run(args, common(&[server.chat()], Some(server.web()))).await;
    assert!(report.ok(), "{}", report.to_text());
    for run in ["baseline", "slow"] {
        let expected = u64_at(&json, &format!("/results/{run}_expected_deliveries"));
        assert!(expected > 0);
        assert_eq!(u64_at(&json, &format!("/results/{run}_missing_deliveries")), 0, "{run}");
        assert!(json["results"][format!("{run}_latency")]["p99_us"].is_u64());
        assert!(u64_at(&json, &format!("/results/{run}_server_rss_max_bytes")) > 0);
    }
    assert_eq!(u64_at(&json, "/results/slow_non_readers"), 2);
    assert_eq!(
        u64_at(&json, "/results/baseline_expected_deliveries"),
        3 * u64_at(&json, "/results/baseline_messages_sent")
    );
    assert_eq!(
        u64_at(&json, "/results/slow_expected_deliveries"),
        u64_at(&json, "/results/slow_messages_sent")
    );
    assert_eq!(u64_at(&json, "/results/slow_non_readers_disconnected"), 2, "{}", report.to_text());
    assert!(u64_at(&json, "/results/server_slow_disconnects_total") >= 2);
    assert!(json["results"]["readers_p99_ratio"].is_number());
    server.stop().await;
}

#[tokio::test]
async fn quiz_bots_answer_and_probes_land_on_the_right_side_of_the_limit() {
    let server = bench_server(|c| {
        c.quiz.duration_secs = 3600;
        // Half a second to answer, and pauses longer than the probes' margin, so that an answer
        // sent after the limit is read before the problem comes back (and is judged late).
        c.quiz.answer_secs = 0.5;
        c.quiz.pause_secs = [0.3, 0.35];
        c.quiz.scores_every_secs = 0;
    })
    .await;
    // A wide margin: this checks which side of the limit each probe lands on, not how precisely.
    let args = "quiz --bots 6 --duration 3 --probe-share 0.5 --margin-ms 100";
    let (report, json) = run(args, common(&[server.addr("quiz")], Some(server.web()))).await;
    // On a busy machine a before-probe may be read after the limit, and a timeout may be queued
    // more than 10 ms late (the report says so); that is time, not judgement. Anything else is a
    // failure.
    let timing = |p: &String| p.contains("before the limit") || p.contains("after the deadline");
    assert!(report.problems.iter().all(timing), "{}", report.to_text());
    assert_eq!(u64_at(&json, "/results/bots_joined"), 6);
    assert!(u64_at(&json, "/results/answers") > 0);
    assert!(u64_at(&json, "/results/verdicts/correct") > 0);
    let before = u64_at(&json, "/results/before_limit_probes/sent");
    assert!(before > 0, "{}", report.to_text());
    let in_time = u64_at(&json, "/results/before_limit_probes/in_time");
    assert!(in_time > 0, "{}", report.to_text());
    assert_eq!(in_time + u64_at(&json, "/results/before_limit_probes/judged_late"), before);
    let after = u64_at(&json, "/results/after_limit_probes/sent");
    assert!(after > 0, "{}", report.to_text());
    assert_eq!(u64_at(&json, "/results/after_limit_probes/judged_late"), after);
    assert_eq!(u64_at(&json, "/results/after_limit_probes/accepted"), 0);
    assert_eq!(u64_at(&json, "/results/misjudged_by_server_clock"), 0);
    // Every after-probe was preceded by a timeout at the deadline.
    assert!(u64_at(&json, "/results/timeout_after_limit/count") >= after);
    assert_eq!(u64_at(&json, "/results/late_answer_read_after_limit/count"), after);
    // The server's own account of its deadlines (`/metrics`): it queued a timeout for every
    // one the bots saw in the window (and perhaps a few whose verdict was still on its way).
    let server_timeouts = u64_at(&json, "/results/server_deadlines/timeouts");
    assert!(server_timeouts >= u64_at(&json, "/results/timeout_after_limit/count"), "{}", report.to_text());
    assert!(json.pointer("/results/server_deadlines/max_ms_since_start").is_some_and(Value::is_f64));
    server.stop().await;
}

#[tokio::test]
async fn calc_students_receive_every_result_of_everyone() {
    let server = bench_server(|c| {
        c.calc.roster = sockhub_server::config::RosterMode::Open;
        c.calc.history = 0;
    })
    .await;
    let args = "calc --students 5 --senders 3 --window 2 --warmup 0.2 --duration 0.6";
    let (report, json) = run(args, common(&[server.calc()], None)).await;
    assert!(report.ok(), "{}", report.to_text());
    assert_eq!(u64_at(&json, "/results/students_logged_in"), 5);
    let sent = u64_at(&json, "/results/squares_sent");
    assert!(sent > 0);
    assert_eq!(u64_at(&json, "/results/results"), sent);
    assert_eq!(u64_at(&json, "/results/expected_deliveries"), sent * 5);
    assert_eq!(u64_at(&json, "/results/received_deliveries"), sent * 5);
    assert_eq!(u64_at(&json, "/results/missing_deliveries"), 0);
    assert_eq!(u64_at(&json, "/results/latency_own_result/count"), sent);
    assert_eq!(u64_at(&json, "/results/latency_broadcast/count"), sent * 4);
    server.stop().await;
}

#[tokio::test]
async fn relay_records_reach_server2_and_every_hop_is_measured() {
    let server2 = crate::relay::Node::start(None, |_| {}).await;
    let server1 = crate::relay::Node::start(Some(server2.addr()), |_| {}).await;
    let args =
        format!("relay --server2 {} --devices 2 --records 3000 --size 200 --window 500", server2.addr());
    let (report, json) = run(&args, common(&[server1.addr()], None)).await;
    assert!(report.ok(), "{}", report.to_text());
    assert_eq!(u64_at(&json, "/results/records"), 6000);
    assert_eq!(u64_at(&json, "/results/acknowledged_by_server1"), 6000);
    assert_eq!(u64_at(&json, "/results/committed_on_server2"), 6000);
    assert_eq!(u64_at(&json, "/results/latency_server1_ack/count"), 6000);
    assert_eq!(u64_at(&json, "/results/latency_server2_commit/count"), 6000);
    // Server2 really holds them (under the names the scenario gave the devices).
    let stored = server2.records(None).await;
    assert_eq!(stored.len(), 6000);
    assert!(stored.iter().all(|r| r.payload.len() == 200));
}
