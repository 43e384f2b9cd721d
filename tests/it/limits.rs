//! Bad input and resource limits: every one gets a clear answer, and the connection (or at least
//! the server) survives.

use std::time::Duration;

use serde_json::json;

use crate::support::{Client, TestServer, flood_until_left, small_outbox};

#[tokio::test]
async fn an_oversized_line_is_refused_and_the_connection_lives_on() {
    let server = TestServer::with(|c| c.limits.max_line_bytes = 100).await;
    let mut text = Client::chat_text(server.chat(), "alice").await;
    text.send(&"x".repeat(5000)).await;
    assert_eq!(text.line().await, "! line_too_long: line longer than 100 bytes; it was discarded");
    text.send(&"y".repeat(100)).await;
    assert_eq!(
        text.line().await,
        format!("[alice] {}", "y".repeat(100)),
        "a line of exactly the limit passes"
    );

    let mut json = Client::chat_json(server.chat(), "bob").await;
    text.line().await; // bob joined
    json.send(&format!(r#"{{"type":"say","text":"{}"}}"#, "z".repeat(200))).await;
    assert_eq!(json.json_of("error").await["code"], "line_too_long");
    json.send_json(json!({"type": "say", "text": "short"})).await;
    assert_eq!(json.json().await["text"], "short");
    server.stop().await;
}

#[tokio::test]
async fn a_line_that_never_ends_costs_bounded_memory_and_is_reported_once() {
    let server = TestServer::with(|c| c.limits.max_line_bytes = 1024).await;
    let mut c = Client::chat_text(server.chat(), "streamer").await;
    let chunk = vec![b'a'; 64 * 1024];
    for _ in 0..64 {
        c.send_raw(&chunk).await; // 4 MiB without a newline
    }
    c.send_raw(b"\nafter\n").await;
    assert!(c.line().await.starts_with("! line_too_long"));
    assert_eq!(c.line().await, "[streamer] after");
    server.stop().await;
}

#[tokio::test]
async fn invalid_utf8_is_refused_and_the_connection_lives_on() {
    let server = TestServer::start().await;
    let mut c = Client::chat_text(server.chat(), "alice").await;
    c.send_raw(b"caf\xe9 latin-1\n").await;
    assert_eq!(c.line().await, "! invalid_utf8: line is not valid UTF-8; it was discarded");
    c.send("café").await;
    assert_eq!(c.line().await, "[alice] café");

    let mut j = Client::chat_json(server.chat(), "bob").await;
    j.send_raw(b"{\"type\":\"say\",\"text\":\"\xff\"}\n").await;
    assert_eq!(j.json_of("error").await["code"], "invalid_utf8");
    server.stop().await;
}

#[tokio::test]
async fn garbage_json_gets_a_named_error() {
    let server = TestServer::start().await;
    let mut c = Client::chat_json(server.chat(), "alice").await;
    for (line, code) in [
        ("{not json", "bad_json"),
        ("[1, 2, 3]", "bad_json"),
        (r#"{"text": "no type"}"#, "bad_request"),
        (r#"{"type": "dance"}"#, "unknown_command"),
        (r#"{"type": "say"}"#, "bad_request"),
        (r#"{"type": "say", "text": 42}"#, "bad_request"),
        (r#"{"type": "whisper", "to": "nobody", "text": "x"}"#, "no_such_user"),
    ] {
        c.send(line).await;
        let e = c.json().await;
        assert_eq!((e["type"].as_str(), e["code"].as_str()), (Some("error"), Some(code)), "{line} -> {e}");
        assert!(!e["message"].as_str().unwrap().is_empty());
    }
    c.send_json(json!({"type": "say", "text": "still alive"})).await;
    assert_eq!(c.json().await["text"], "still alive");
    server.stop().await;
}

#[tokio::test]
async fn flooding_is_rate_limited_and_the_excess_not_broadcast() {
    let server = TestServer::with(|c| {
        c.limits.rate_per_sec = 2.0;
        c.limits.burst = 5;
    })
    .await;
    let mut flooder = Client::chat_json(server.chat(), "flooder").await;
    let mut listener = Client::chat_text(server.chat(), "listener").await;
    flooder.json().await; // listener joined (the login used one token, the join none)
    let mut batch = String::new();
    for i in 0..30 {
        batch.push_str(&format!("{{\"type\":\"say\",\"text\":\"m{i}\"}}\n"));
    }
    flooder.send_raw(batch.as_bytes()).await;
    let (mut said, mut limited) = (0, 0);
    for _ in 0..30 {
        match flooder.json().await["type"].as_str() {
            Some("message") => said += 1,
            Some("error") => limited += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!((4..=6).contains(&said), "burst of 5 minus the login, plus what refilled: said {said}");
    assert_eq!(said + limited, 30);
    // The listener got exactly the messages that were not limited.
    let seen = listener.silent_or_lines(Duration::from_millis(500)).await;
    assert_eq!(seen.len(), said, "listener saw {seen:?}");
    server.stop().await;
}

#[tokio::test]
async fn a_client_that_never_reads_is_disconnected_and_slows_nobody() {
    let server = TestServer::with(small_outbox).await;
    let mut talker = Client::chat_json(server.chat(), "talker").await;
    let mut reader = Client::chat_json(server.chat(), "reader").await;
    // Never reads again; a small receive buffer keeps the kernel from absorbing megabytes.
    let mut sleeper = Client::connect_with_recv_buffer(server.chat(), 4096).await;
    sleeper.send_json(json!({"type": "login", "name": "sleeper"})).await;
    talker.json_of("joined").await;
    talker.json_of("joined").await;
    reader.json_of("joined").await;

    let (sleeper_left, delivered) = flood_until_left(&mut [&mut talker, &mut reader], "sleeper").await;
    assert!(sleeper_left, "the never-reading client was disconnected");
    assert!(delivered >= 32, "others kept receiving meanwhile");
    // The sleeper's connection ends (what it buffered, then EOF or reset).
    sleeper.closed().await;
    server.stop().await;
}

#[tokio::test]
async fn connections_over_the_limit_are_told_and_closed() {
    let server = TestServer::with(|c| c.limits.max_connections = 2).await;
    let _a = Client::chat_text(server.chat(), "a").await;
    let _b = Client::chat_text(server.chat(), "b").await;
    let mut c = Client::connect(server.chat()).await;
    assert_eq!(c.closed().await, ["! server_full: the server is full; try again later"]);
    drop(_a);
    // The slot comes back once the first client is gone.
    let mut d = None;
    for _ in 0..50 {
        let mut attempt = Client::connect(server.chat()).await;
        if attempt.line().await.starts_with("* Welcome to sockhub chat") {
            d = Some(attempt);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(d.is_some(), "a slot frees up when a client leaves");
    server.stop().await;
}

#[tokio::test]
async fn idle_clients_are_disconnected_when_configured() {
    let server = TestServer::with(|c| c.limits.idle_timeout_secs = 1).await;
    let mut c = Client::chat_text(server.chat(), "idler").await;
    assert_eq!(c.closed().await, ["* bye: idle timeout"]);
    server.stop().await;
}
