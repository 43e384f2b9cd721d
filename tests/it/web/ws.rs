//! The WebSocket endpoints over real sockets: the same sessions as TCP, JSON from the first
//! message, and the same limits (bad input, over-long messages, slow readers, shutdown).

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::support::{BinaryServer, Client, PATIENCE, TestServer, flood_until_left, small_outbox};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A WebSocket client of one service.
pub struct Ws {
    socket: Socket,
}

impl Ws {
    pub async fn connect(web: SocketAddr, service: &str) -> Ws {
        let (socket, _) =
            tokio_tungstenite::connect_async(format!("ws://{web}/ws/{service}")).await.expect("ws connect");
        Ws { socket }
    }

    /// Connect over a socket with a small receive buffer, for a client meant to fall behind.
    pub async fn connect_small(web: SocketAddr, service: &str) -> Ws {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        let stream = socket.connect(web).await.unwrap();
        let (socket, _) = tokio_tungstenite::client_async(
            format!("ws://{web}/ws/{service}"),
            MaybeTlsStream::Plain(stream),
        )
        .await
        .expect("ws handshake");
        Ws { socket }
    }

    pub async fn send(&mut self, v: Value) {
        self.send_text(&v.to_string()).await;
    }

    pub async fn send_text(&mut self, text: &str) {
        self.socket.send(Message::text(text)).await.expect("ws send");
    }

    /// The next JSON message; panics on close or timeout.
    pub async fn json(&mut self) -> Value {
        self.try_json().await.expect("expected a message, the socket closed")
    }

    /// The next JSON message, or `None` once the socket is closed.
    pub async fn try_json(&mut self) -> Option<Value> {
        loop {
            let msg = tokio::time::timeout(PATIENCE, self.socket.next())
                .await
                .expect("timed out waiting for a ws message");
            match msg {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return None,
                Some(Ok(Message::Text(t))) => {
                    return Some(serde_json::from_str(&t).unwrap_or_else(|e| panic!("not JSON: {t:?}: {e}")));
                }
                Some(Ok(_)) => continue,
            }
        }
    }

    /// The next message whose type is `ty`, skipping others.
    pub async fn json_of(&mut self, ty: &str) -> Value {
        loop {
            let v = self.json().await;
            if v["type"] == ty {
                return v;
            }
        }
    }

    /// Every message until the server closes the socket.
    pub async fn closed(&mut self) -> Vec<Value> {
        let mut out = Vec::new();
        while let Some(v) = self.try_json().await {
            out.push(v);
        }
        out
    }

    /// Join the chat as `name`; returns the welcome.
    pub async fn chat(web: SocketAddr, name: &str) -> Ws {
        let mut ws = Ws::connect(web, "chat").await;
        ws.send(json!({"type": "login", "name": name})).await;
        let welcome = ws.json().await;
        assert_eq!(welcome["type"], "welcome", "no greeting, the first message answers the login: {welcome}");
        assert_eq!(welcome["name"], name);
        ws
    }
}

#[tokio::test]
async fn a_websocket_user_and_a_tcp_user_share_the_room() {
    let server = TestServer::start().await;
    let mut alice = Ws::chat(server.web(), "alice").await;
    let mut bob = Client::chat_text(server.chat(), "bob").await;
    assert_eq!(alice.json().await, json!({"type": "joined", "name": "bob", "online": 2}));

    bob.send("hello from nc").await;
    let m = alice.json().await;
    assert_eq!(
        (m["type"].as_str(), m["from"].as_str(), m["text"].as_str()),
        (Some("message"), Some("bob"), Some("hello from nc"))
    );

    alice.send(json!({"type": "say", "text": "hello from the web"})).await;
    bob.until("[alice] hello from the web").await;
    alice.json_of("message").await;

    alice.send(json!({"type": "whisper", "to": "bob", "text": "psst"})).await;
    bob.until("<<< [from alice] psst").await;
    let w = alice.json().await;
    assert_eq!((w["type"].as_str(), w["to"].as_str()), (Some("whisper"), Some("bob")));

    alice.send(json!({"type": "who"})).await;
    assert_eq!(alice.json().await, json!({"type": "users", "names": ["alice", "bob"]}));

    // A name taken over TCP is taken over WebSocket too.
    let mut other = Ws::connect(server.web(), "chat").await;
    other.send(json!({"type": "login", "name": "BOB"})).await;
    assert_eq!(other.json().await["code"], "name_taken");

    alice.send(json!({"type": "quit"})).await;
    assert_eq!(alice.closed().await, [json!({"type": "bye", "reason": "goodbye"})]);
    bob.until("[alice] left (1 online)").await;
    server.stop().await;
}

#[tokio::test]
async fn bad_input_gets_an_error_and_the_socket_lives_on() {
    let server = TestServer::with(|c| c.limits.max_line_bytes = 256).await;
    let mut ws = Ws::connect(server.web(), "chat").await;
    ws.send_text("{nope").await;
    assert_eq!(ws.json().await["code"], "bad_json");
    ws.send_text("hello in text mode?").await;
    assert_eq!(ws.json().await["code"], "bad_json", "WebSocket is JSON only");
    ws.send(json!({"type": "dance"})).await;
    assert_eq!(ws.json().await["code"], "unknown_command");
    ws.send(json!({"type": "say", "text": "before login"})).await;
    assert_eq!(ws.json().await["code"], "not_logged_in");
    ws.send(json!({"type": "login", "name": "alice"})).await;
    assert_eq!(ws.json().await["type"], "welcome");
    ws.send(json!({"type": "say", "text": "x".repeat(300)})).await;
    assert_eq!(ws.json().await["code"], "line_too_long");
    ws.socket.send(Message::binary(vec![0xff, 0xfe, b'{'])).await.unwrap();
    assert_eq!(ws.json().await["code"], "invalid_utf8");
    // A JSON object spread over several lines is still one message.
    ws.send_text("{\n  \"type\": \"say\",\n  \"text\": \"still here\"\n}").await;
    let m = ws.json_of("message").await;
    assert_eq!(m["text"], "still here");
    server.stop().await;
}

#[tokio::test]
async fn a_message_over_the_websocket_limit_closes_the_socket() {
    let server = TestServer::with(|c| c.web.ws_max_message_bytes = 16 * 1024).await;
    let mut ws = Ws::chat(server.web(), "alice").await;
    let _ = ws.socket.send(Message::text("x".repeat(64 * 1024))).await;
    ws.closed().await;
    // Others are unaffected.
    Ws::chat(server.web(), "bob").await;
    server.stop().await;
}

#[tokio::test]
async fn flood_control_applies_to_websockets_too() {
    let server = TestServer::with(|c| {
        c.limits.rate_per_sec = 1.0;
        c.limits.burst = 3;
    })
    .await;
    let mut ws = Ws::chat(server.web(), "alice").await;
    for i in 0..6 {
        ws.send(json!({"type": "say", "text": format!("m{i}")})).await;
    }
    let mut codes = Vec::new();
    for _ in 0..6 {
        let v = ws.json().await;
        codes.push(v["code"].as_str().unwrap_or(v["type"].as_str().unwrap()).to_owned());
    }
    assert_eq!(
        codes.iter().filter(|c| *c == "message").count(),
        2,
        "login used one token of three: {codes:?}"
    );
    assert_eq!(codes.iter().filter(|c| *c == "rate_limited").count(), 4, "{codes:?}");
    server.stop().await;
}

#[tokio::test]
async fn a_websocket_client_that_never_reads_is_disconnected_as_too_slow() {
    let server = TestServer::with(small_outbox).await;
    let mut talker = Client::chat_json(server.chat(), "talker").await;
    let mut sleeper = Ws::connect_small(server.web(), "chat").await;
    sleeper.send(json!({"type": "login", "name": "sleeper"})).await;
    talker.json_of("joined").await;

    let (sleeper_left, _) = flood_until_left(&mut [&mut talker], "sleeper").await;
    assert!(sleeper_left, "the never-reading WebSocket client was disconnected");
    let got = sleeper.closed().await;
    assert!(got.len() < 250 * 16, "its queue was bounded");
    let metrics = super::api::get(server.web(), "/metrics").await.1;
    assert!(metrics.contains("sockhub_slow_disconnects_total{service=\"chat\"} 1"), "{metrics}");
    server.stop().await;
}

#[tokio::test]
async fn shutdown_tells_websocket_clients_bye() {
    let server = TestServer::start().await;
    let mut ws = Ws::chat(server.web(), "alice").await;
    let mut anonymous = Ws::connect(server.web(), "chat").await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    server.stop().await;
    assert_eq!(ws.closed().await, [json!({"type": "bye", "reason": "server shutting down"})]);
    assert_eq!(anonymous.closed().await, [json!({"type": "bye", "reason": "server shutting down"})]);
}

/// The real binary lists the web port in its ready file, serves the page, and closes its
/// WebSocket clients cleanly on SIGTERM.
#[tokio::test]
async fn the_real_binary_serves_the_web_port_and_stops_it_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let server = BinaryServer::start(dir.path(), &[]).await;
    let web = server.addr("web");
    let (status, body) = super::api::get(web, "/healthz").await;
    assert_eq!(status, 200, "{body}");
    let (status, page) = super::api::get(web, "/").await;
    assert_eq!(status, 200);
    assert!(page.contains("<script type=\"module\" src=\"/static/js/app.js\">"), "{page}");
    let mut ws = Ws::chat(web, "alice").await;
    let mut tcp = Client::chat_text(server.addr("chat"), "bob").await;
    assert_eq!(ws.json().await["type"], "joined");
    let status = server.stop().await;
    assert!(status.success(), "{status}");
    assert_eq!(ws.closed().await, [json!({"type": "bye", "reason": "server shutting down"})]);
    assert_eq!(tcp.closed().await, ["* bye: server shutting down"]);
}

#[tokio::test]
async fn websocket_connections_count_against_the_connection_limit() {
    let server = TestServer::with(|c| c.limits.max_connections = 1).await;
    let _tcp = Client::chat_text(server.chat(), "alice").await;
    let refused = tokio_tungstenite::connect_async(format!("ws://{}/ws/chat", server.web())).await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 503);
            assert_eq!(response.headers()["retry-after"], "5", "a refused client is told when to retry");
            let body: Value = serde_json::from_slice(response.body().as_deref().unwrap_or_default()).unwrap();
            assert_eq!(body["code"], "server_full");
        }
        other => panic!("expected 503 server_full, got {other:?}"),
    }
    let (status, _) = super::api::get(server.web(), "/healthz").await;
    assert_eq!(status, 200, "plain HTTP is not a connection slot");
    drop(_tcp);
    // The slot comes back when the TCP client leaves.
    crate::support::eventually("a free slot", || async {
        tokio_tungstenite::connect_async(format!("ws://{}/ws/chat", server.web())).await.ok().map(|_| ())
    })
    .await;
    server.stop().await;
}

/// The per-address cap covers WebSockets too: one address over it is refused with 429
/// `too_many_connections` and told when to try again, and the refusal leaves its other
/// connections alone.
#[tokio::test]
async fn a_websocket_over_the_per_address_cap_is_refused_with_a_retry_after() {
    let server = TestServer::with(|c| c.limits.max_connections_per_ip = 1).await;
    let mut tcp = Client::chat_text(server.chat(), "alice").await;
    let refused = tokio_tungstenite::connect_async(format!("ws://{}/ws/chat", server.web())).await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 429);
            assert_eq!(response.headers()["retry-after"], "5");
            let body: Value = serde_json::from_slice(response.body().as_deref().unwrap_or_default()).unwrap();
            assert_eq!(body["code"], "too_many_connections", "{body}");
        }
        other => panic!("expected 429 too_many_connections, got {other:?}"),
    }
    tcp.send("/who").await;
    tcp.until("* 1 online: alice").await;
    server.stop().await;
}
