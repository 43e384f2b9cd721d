//! The line services over TLS: real clients, the client's certificate checks, bad input on both
//! kinds of port, and a certificate swapped on disk.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{Certs, SClient, TlsClient, output, read_to_close};
use crate::support::{BIN, BinaryServer, Client, PATIENCE, TestServer};

/// A chat server with a TLS port serving `certs`.
async fn chat_server(certs: &Certs, f: impl FnOnce(&mut sockhub_server::Config)) -> TestServer {
    TestServer::with(|c| {
        certs.serve(c);
        c.chat.tls_port = Some(0);
        f(c)
    })
    .await
}

#[tokio::test]
async fn openssl_s_client_chats_on_the_chat_tls_port_with_a_plain_client() {
    let dir = tempfile::tempdir().unwrap();
    let certs = Certs::make(dir.path());
    let server = chat_server(&certs, |_| {}).await;
    let addr = server.addr("chat-tls");

    let mut openssl = SClient::connect(&certs, addr, &[]);
    openssl.until("Your name?").await;
    openssl.type_in("alice\n").await;
    openssl.until("Welcome, alice!").await;

    let mut bob = Client::chat_text(server.chat(), "bob").await;
    openssl.type_in("hello from openssl\n").await;
    let heard = heard(&mut bob, "hello from openssl").await;
    assert!(heard.contains("alice"), "{heard}");
    bob.send("hi alice, in plain text").await;
    openssl.until("hi alice, in plain text").await;

    openssl.type_in("/quit\n").await;
    openssl.until("bye").await;
    openssl.exits_cleanly().await;
    server.stop().await;
}

/// Read a plain client's lines until one contains `text`.
async fn heard(c: &mut Client, text: &str) -> String {
    loop {
        let line = c.line().await;
        if line.contains(text) {
            return line;
        }
    }
}

/// `sockhub chat ARGS` with nothing on stdin: (success, stdout, stderr).
async fn sockhub_chat(args: &[&str]) -> (bool, String, String) {
    output(tokio::process::Command::new(BIN).arg("chat").args(args)).await
}

#[tokio::test]
async fn the_client_verifies_the_certificate_and_never_falls_back_to_plain_text() {
    let dir = tempfile::tempdir().unwrap();
    let certs = Certs::make(&dir.path().join("class"));
    let server = chat_server(&certs, |_| {}).await;
    let tls = server.addr("chat-tls").to_string();
    let plain = server.chat().to_string();
    let ca = certs.ca().display().to_string();

    let (ok, out, err) = sockhub_chat(&["--addr", &tls, "--tls", "--ca", &ca, "--name", "carol"]).await;
    assert!(ok && out.contains("Welcome, carol!"), "{out}\n{err}");
    // The name in the certificate: localhost is in it too.
    let by_name = tls.replace("127.0.0.1", "localhost");
    let (ok, out, err) = sockhub_chat(&["--addr", &by_name, "--tls", "--ca", &ca, "--name", "dave"]).await;
    assert!(ok && out.contains("Welcome, dave!"), "{out}\n{err}");

    // The system's roots do not know this CA.
    let (ok, out, err) = sockhub_chat(&["--addr", &tls, "--tls", "--name", "eve"]).await;
    assert!(!ok && !out.contains("Welcome"), "{out}");
    assert!(err.contains("not signed by a trusted CA"), "{err}");

    // --tls on the plain port is an error, not a plain-text session.
    let (ok, out, err) = sockhub_chat(&["--addr", &plain, "--tls", "--ca", &ca, "--name", "frank"]).await;
    assert!(!ok && !out.contains("Welcome"), "{out}");
    assert!(err.contains("plain-text port"), "{err}");
    server.stop().await;

    // A certificate for another name.
    let other = Certs::make_for(&dir.path().join("other"), &["--host", "chat.example.org"]);
    let server = chat_server(&other, |_| {}).await;
    let tls = server.addr("chat-tls").to_string();
    let ca = other.ca().display().to_string();
    let (ok, out, err) = sockhub_chat(&["--addr", &tls, "--tls", "--ca", &ca, "--name", "gina"]).await;
    assert!(!ok && !out.contains("Welcome"), "{out}");
    assert!(err.contains("for another name"), "{err}");
    server.stop().await;
}

#[tokio::test]
async fn plain_text_on_a_tls_port_and_tls_on_a_plain_port_are_closed_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let certs = Certs::make(dir.path());
    let server = chat_server(&certs, |c| c.tls.handshake_timeout_secs = 1).await;
    let tls_addr = server.addr("chat-tls");

    // A text client that speaks first gets a TLS alert (record type 21) and the close.
    let mut plain = TcpStream::connect(tls_addr).await.unwrap();
    plain.write_all(b"alice\n").await.unwrap();
    let got = read_to_close(&mut plain, PATIENCE).await;
    assert!(got.is_empty() || got[0] == 21, "only an alert may come back, got {got:?}");

    // One that waits for a greeting is closed at the handshake timeout.
    let started = Instant::now();
    let mut silent = TcpStream::connect(tls_addr).await.unwrap();
    assert!(read_to_close(&mut silent, PATIENCE).await.is_empty());
    assert!(started.elapsed() >= Duration::from_millis(900), "closed after {:?}", started.elapsed());

    // A TLS client on the plain port: a clear error on its side.
    let tcp = TcpStream::connect(server.chat()).await.unwrap();
    let Err(e) = certs.client().connect("localhost", tcp).await else {
        panic!("a TLS session on a plain port")
    };
    assert!(e.to_string().contains("plain-text port"), "{e}");

    // Both ports still serve.
    let mut ok = TlsClient::chat(&certs.client(), tls_addr, "alice").await;
    let mut bob = Client::chat_text(server.chat(), "bob").await;
    ok.send("still fine").await;
    heard(&mut bob, "still fine").await;

    let metrics = metrics(server.web()).await;
    assert!(metrics.contains("sockhub_tls_handshake_failures_total 2"), "{metrics}");
    server.stop().await;
}

/// `/metrics` of the web port (plain HTTP/1.0, read to the end).
async fn metrics(web: std::net::SocketAddr) -> String {
    let mut s = TcpStream::connect(web).await.unwrap();
    s.write_all(b"GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n").await.unwrap();
    let mut body = String::new();
    tokio::time::timeout(PATIENCE, s.read_to_string(&mut body)).await.unwrap().unwrap();
    body
}

/// Replace the served files with `from`'s, each by an atomic rename.
fn install(from: &Certs, live: &std::path::Path) {
    for name in ["server.pem", "server-key.pem"] {
        let tmp = live.join(format!("{name}.new"));
        std::fs::copy(from.file(name), &tmp).unwrap();
        std::fs::rename(&tmp, live.join(name)).unwrap();
    }
}

#[tokio::test]
async fn a_certificate_swapped_on_disk_is_served_to_the_next_connection_while_open_ones_stay() {
    let dir = tempfile::tempdir().unwrap();
    let old = Certs::make(&dir.path().join("old"));
    let new = Certs::make(&dir.path().join("new"));
    let live = Certs { dir: dir.path().join("live") };
    std::fs::create_dir(&live.dir).unwrap();
    install(&old, &live.dir);
    let server = chat_server(&live, |c| c.tls.reload_poll_secs = 1).await;
    let addr = server.addr("chat-tls");

    let mut early = TlsClient::chat(&old.client(), addr, "early").await;
    install(&new, &live.dir);
    // The next connections get the new certificate: trusted by the new CA only.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while TlsClient::connect(&new.client(), "localhost", addr).await.is_err() {
        assert!(tokio::time::Instant::now() < deadline, "the new certificate was never served");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let Err(refused) = TlsClient::connect(&old.client(), "localhost", addr).await else {
        panic!("a client trusting only the old CA accepted the new certificate")
    };
    assert!(refused.to_string().contains("not signed by a trusted CA"), "{refused}");

    let mut late = TlsClient::chat(&new.client(), addr, "late").await;
    early.send("I was here before the swap").await;
    late.until_contains("I was here before the swap").await;
    late.send("and I after it").await;
    early.until_contains("and I after it").await;

    let metrics = metrics(server.web()).await;
    assert!(metrics.contains("sockhub_tls_reloads_total"), "{metrics}");
    assert!(metrics.contains("sockhub_tls_cert_expiring 0"), "{metrics}");
    server.stop().await;
}

#[tokio::test]
async fn sighup_reloads_the_certificate_and_a_near_expiry_is_a_warning_and_a_gauge() {
    let dir = tempfile::tempdir().unwrap();
    let old = Certs::make(&dir.path().join("old"));
    let args = ["--host", "localhost", "--ip", "127.0.0.1", "--days", "3"];
    let new = Certs::make_for(&dir.path().join("new"), &args);
    let live = dir.path().join("live");
    std::fs::create_dir(&live).unwrap();
    install(&old, &live);
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let server = BinaryServer::start_with(&data, &[], |cmd| {
        cmd.env("SOCKHUB_TLS_CERT", live.join("server.pem"))
            .env("SOCKHUB_TLS_KEY", live.join("server-key.pem"))
            .env("SOCKHUB_TLS_RELOAD_POLL_SECS", "0")
            .env("SOCKHUB_CHAT_TLS_PORT", "0");
    })
    .await;
    let addr = server.addr("chat-tls");
    let mut early = TlsClient::chat(&old.client(), addr, "early").await;

    // With polling off, new files change nothing until SIGHUP.
    install(&new, &live);
    assert!(TlsClient::connect(&old.client(), "localhost", addr).await.is_ok());
    server.signal("HUP");
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while TlsClient::connect(&new.client(), "localhost", addr).await.is_err() {
        assert!(tokio::time::Instant::now() < deadline, "SIGHUP did not reload the certificate");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut late = TlsClient::chat(&new.client(), addr, "late").await;
    early.send("still connected").await;
    late.until_contains("still connected").await;

    // The new certificate expires in 3 days: a warning, and the gauge says so.
    let metrics = metrics(server.addr("web")).await;
    assert!(metrics.contains("sockhub_tls_cert_expiring 1"), "{metrics}");
    let left: i64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("sockhub_tls_cert_expiry_seconds "))
        .and_then(|v| v.parse().ok())
        .expect(&metrics);
    assert!((2 * 86_400..=3 * 86_400).contains(&left), "{left}");
    let log = std::fs::read_to_string(data.join("logs").join("server.log")).unwrap();
    assert!(log.contains("TLS certificate reloaded (SIGHUP)"), "{log}");
    assert!(log.contains("the TLS certificate expires in "), "{log}");
    let status = server.stop().await;
    assert!(status.success(), "{status}");
}

#[tokio::test]
async fn plain_ports_off_leaves_only_the_tls_port_of_a_service_that_has_one() {
    let dir = tempfile::tempdir().unwrap();
    let certs = Certs::make(dir.path());
    let server = chat_server(&certs, |c| c.tls.plain_ports = false).await;
    assert!(!server.addrs.contains_key("chat"), "{:?}", server.addrs);
    assert!(server.addrs.contains_key("quiz"), "a service without a tls_port keeps its plain port");
    let mut alice = TlsClient::chat(&certs.client(), server.addr("chat-tls"), "alice").await;
    alice.send("/who").await;
    alice.until_contains("alice").await;
    server.stop().await;
}

#[tokio::test]
async fn the_chat_fanout_benchmark_runs_over_tls_and_misses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let certs = Certs::make(dir.path());
    let server = chat_server(&certs, |c| {
        c.limits.rate_per_sec = 0.0;
        c.chat.history = 0;
    })
    .await;
    let scenario = "chat-fanout --clients 6 --senders 2 --rate 100 --warmup 0.2 --duration 0.5 --drain 5";
    let scenario = sockhub_bench::ScenarioArgs::parse_from(scenario.split_whitespace()).unwrap();
    let common = sockhub_bench::Common {
        addrs: vec![server.addr("chat-tls").to_string()],
        metrics: None,
        server_pid: None,
        connect_concurrency: 6,
        tls: true,
        ca: Some(certs.ca()),
        threads: None,
    };
    let report = sockhub_bench::run(scenario, &common, sockhub_bench::Progress::hidden()).await.unwrap();
    assert!(report.ok(), "{}", report.to_text());
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["config"]["tls"], true);
    let sent = json["results"]["messages_sent"].as_u64().unwrap();
    assert!(sent > 0);
    assert_eq!(json["results"]["received_deliveries"].as_u64(), Some(sent * 6));
    assert_eq!(json["results"]["missing_deliveries"].as_u64(), Some(0));
    server.stop().await;
}
