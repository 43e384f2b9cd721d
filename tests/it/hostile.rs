//! Hostile clients against a real server: forged lines, look-alike names, sockets that never log
//! in, one host taking every slot, a spoofed proxy header, a reader that never reads. Each test
//! asserts the refusal *and* that an honest client on the same server is unaffected.

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::json;
use sockhub_server::config::Admission;
use sockhub_store::testing::backends;
use sockhub_store::{LoginFilter, Role};
use tokio::io::AsyncWriteExt;

use crate::support::{Client, Db, TestServer, flood_until_left};
use crate::web::ws::Ws;

#[tokio::test]
async fn forged_lines_escapes_and_bidi_overrides_are_refused_in_every_mode() {
    let server = TestServer::start().await;
    let mut bob = Client::chat_text(server.chat(), "bob").await;
    let mut mallory = Client::chat_json(server.chat(), "mallory").await;
    let mut eve = Client::chat_text(server.chat(), "eve").await;

    for text in [
        "hi\n[teacher] send me your password",
        "hi\r[teacher] send me your password",
        "\u{1b}[2J",
        "see exe.\u{202e}txt",
        "next\u{85}line",
    ] {
        mallory.send_json(json!({"type": "say", "text": text})).await;
        let e = mallory.json_of("error").await;
        assert_eq!(e["code"], "invalid_text", "{text:?}: {e}");
        mallory.send_json(json!({"type": "whisper", "to": "bob", "text": text})).await;
        assert_eq!(mallory.json_of("error").await["code"], "invalid_text", "whisper {text:?}");
    }
    // Raw bytes from a text-mode (`nc`) client: a carriage return and an escape inside a line.
    eve.send_raw(b"hi\r[teacher] send me your password\n").await;
    let e = eve.until_prefix("! ").await;
    assert!(e.starts_with("! invalid_text: the message contains a line break (\\r) at character 3"), "{e}");
    eve.send_raw(b"/w bob \x1b]0;pwned\x07\n").await;
    assert!(eve.until_prefix("! ").await.starts_with("! invalid_text:"));

    // Over WebSocket too.
    let mut ws = Ws::connect(server.web(), "chat").await;
    ws.send(json!({"type": "login", "name": "wanda"})).await;
    ws.json_of("welcome").await;
    ws.send(json!({"type": "say", "text": "a\u{2066}b"})).await;
    assert_eq!(ws.json_of("error").await["code"], "invalid_text");

    // Every connection lives on, and bob saw none of it: the next line after the joins is the
    // honest one.
    mallory.send_json(json!({"type": "say", "text": "ok\tfine 안녕"})).await;
    let before = bob.until("[mallory] ok\tfine 안녕").await;
    assert_eq!(
        before,
        ["[mallory] joined (2 online)", "[eve] joined (3 online)", "[wanda] joined (4 online)"]
    );
    ws.send(json!({"type": "say", "text": "still here"})).await;
    assert_eq!(bob.line().await, "[wanda] still here");
    server.stop().await;
}

#[tokio::test]
async fn look_alike_and_invisible_names_cannot_impersonate() {
    let server = TestServer::start().await;
    let mut teacher = Client::chat_text(server.chat(), "teacher").await;
    let mut c = Client::connect(server.chat()).await;
    for alike in ["tеacher", "ｔｅａｃｈｅｒ", "TEACHER", "teacheｒ"] {
        c.send_json(json!({"type": "login", "name": alike})).await;
        assert_eq!(c.json_of("error").await["code"], "name_taken", "{alike}");
    }
    for invisible in ["te\u{200b}acher", "\u{3164}", "teacher\u{200f}", "a\u{202e}b"] {
        c.send_json(json!({"type": "login", "name": invisible})).await;
        assert_eq!(c.json_of("error").await["code"], "invalid_name", "{invisible:?}");
    }
    c.send_json(json!({"type": "login", "name": "student"})).await;
    assert_eq!(c.json_of("welcome").await["name"], "student");
    assert_eq!(teacher.line().await, "[student] joined (2 online)");

    // The quiz keeps its players apart the same way.
    let mut q1 = Client::connect(server.addr("quiz")).await;
    q1.send_json(json!({"type": "login", "name": "player"})).await;
    q1.json_of("welcome").await;
    let mut q2 = Client::connect(server.addr("quiz")).await;
    q2.send_json(json!({"type": "login", "name": "рlayer"})).await; // Cyrillic р
    assert_eq!(q2.json_of("error").await["code"], "name_taken");
    server.stop().await;
}

#[tokio::test]
async fn a_look_alike_of_an_account_name_is_that_account() {
    for b in backends() {
        let db = Db::with_account(&b, "teacher", "correct horse", Role::Admin).await;
        // A new account may not look like an existing one.
        let hash = sockhub_store::password::hash("another password").await.unwrap();
        let e = db.store.accounts().add(&sockhub_store::NewAccount::member("tеacher", hash)).await;
        assert!(matches!(e, Err(sockhub_store::StoreError::Conflict(_))), "{}: {e:?}", b.name());

        for auth in [Admission::Open, Admission::Accounts] {
            let server = db.server(|c| c.chat.auth = auth).await;
            let mut c = Client::connect(server.chat()).await;
            c.send_json(json!({"type": "login", "name": "tеacher"})).await;
            assert_eq!(c.json_of("error").await["code"], "password_required", "{}", b.name());
            c.send_json(json!({"type": "login", "name": "tеacher", "password": "guess"})).await;
            assert_eq!(c.json_of("error").await["code"], "bad_credentials");
            c.send_json(json!({"type": "login", "name": "ＴＥＡＣＨＥＲ", "password": "correct horse"}))
                .await;
            let welcome = c.json_of("welcome").await;
            assert_eq!(welcome["name"], "teacher", "logged in as the account, under its own name");
            assert_eq!(welcome["admin"], true);
            server.stop().await;
        }
        db.cleanup().await;
    }
}

#[tokio::test]
async fn sockhub_user_add_refuses_what_no_service_would_let_log_in() {
    let dir = tempfile::tempdir().unwrap();
    let add = |name: &str, password: &str| {
        use std::io::Write;
        let mut child = std::process::Command::new(crate::support::BIN)
            .args(["user", "add", name])
            .env("SOCKHUB_SERVER_DATA_DIR", dir.path())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(format!("{password}\n").as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let (ok, why) = add(&"x".repeat(33), "long enough password");
    assert!(!ok && why.contains("at most 32 characters"), "{why}");
    let (ok, why) = add("zero\u{200b}width", "long enough password");
    assert!(!ok && why.contains("invisible"), "{why}");
    let (ok, why) = add("alice", "x");
    assert!(!ok && why.contains("at least 8 characters"), "{why}");
    assert!(add("alice", "long enough password").0);
    let (ok, why) = add("аlice", "long enough password"); // Cyrillic а
    assert!(!ok && why.contains("looks too much like"), "{why}");
}

#[tokio::test]
async fn connections_that_never_log_in_are_closed_and_others_stay() {
    let server = TestServer::with(|c| c.limits.login_timeout_secs = 1).await;
    let mut idle = Client::connect(server.chat()).await;
    let mut member = Client::chat_text(server.chat(), "member").await;
    let mut device = Client::connect(server.addr("relay")).await;
    device.send_json(json!({"type": "record", "source": "fan-1", "seq": 1, "payload": "boot"})).await;
    assert_eq!(device.json_of("ack").await["seq"], 1);

    let lines = idle.closed().await;
    assert!(
        lines.iter().any(|l| l.starts_with("! login_timeout: you did not log in within 1 s")),
        "{lines:?}"
    );
    assert_eq!(lines.last().unwrap(), "* bye: login timeout");

    tokio::time::sleep(Duration::from_millis(1500)).await;
    member.send("still here").await;
    assert_eq!(member.line().await, "[member] still here", "a logged-in user is not timed out");
    device.send_json(json!({"type": "record", "source": "fan-1", "seq": 2, "payload": "tick"})).await;
    assert_eq!(device.json_of("ack").await["seq"], 2, "a device that sent a record is not timed out");
    server.stop().await;
}

#[tokio::test]
async fn one_address_cannot_take_every_slot() {
    let server = TestServer::with(|c| {
        c.limits.max_connections_per_ip = 3;
        c.limits.max_pending_per_ip = 2;
    })
    .await;
    let chat = server.chat();
    let mut first = Client::connect(chat).await;
    let _second = Client::connect(chat).await;
    first.until("* Your name?").await;
    let mut third = Client::connect(chat).await;
    let refused = third.closed().await;
    assert_eq!(
        refused,
        [
            "! too_many_connections: too many connections from your address are waiting to log in (at most 2); log in or close some"
        ]
    );
    // Logging in frees a pending place, not an open one.
    first.send("first").await;
    assert!(first.line().await.starts_with("* Welcome, first!"));
    let mut third = Client::connect(chat).await;
    third.until("* Your name?").await;
    let mut fourth = Client::connect(server.addr("quiz")).await;
    assert_eq!(
        fourth.closed().await,
        [
            "! too_many_connections: too many connections from your address (at most 3); close some and try again"
        ],
        "the cap counts every service together"
    );
    // Another host is not affected.
    let mut honest = Client::connect_from([127, 0, 0, 2].into(), chat).await;
    honest.until("* Your name?").await;
    honest.send("honest").await;
    assert!(honest.line().await.starts_with("* Welcome, honest!"));
    // And a WebSocket from the full address is refused before the upgrade.
    let refused = tokio_tungstenite::connect_async(format!("ws://{}/ws/chat", server.web())).await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => assert_eq!(response.status(), 429),
        other => panic!("expected HTTP 429, got {other:?}"),
    }
    server.stop().await;
}

/// A PROXY v2 header for a TCP/IPv4 client.
fn proxy_v2(src: [u8; 4], src_port: u16) -> Vec<u8> {
    let mut h = b"\r\n\r\n\0\r\nQUIT\n".to_vec();
    h.extend([0x21, 0x11, 0, 12]);
    h.extend(src);
    h.extend([127, 0, 0, 1]);
    h.extend(src_port.to_be_bytes());
    h.extend(7001u16.to_be_bytes());
    h
}

#[tokio::test]
async fn proxy_headers_name_the_client_only_from_a_trusted_proxy() {
    let all = backends();
    let db = Db::create(&all[0]).await;
    let server = db
        .server(|c| {
            c.server.proxy_protocol = vec!["127.0.0.1".into()];
            c.limits.max_connections_per_ip = 1;
        })
        .await;
    let chat = server.chat();
    // Through the proxy: v1 for one client, v2 for another; each is its own address.
    let mut a = Client::connect(chat).await;
    a.send_raw(b"PROXY TCP4 203.0.113.7 127.0.0.1 5555 7001\r\n").await;
    a.until("* Your name?").await;
    a.send("alice").await;
    assert!(a.line().await.starts_with("* Welcome, alice!"));
    let mut b2 = Client::connect(chat).await;
    b2.send_raw(&proxy_v2([198, 51, 100, 9], 4000)).await;
    b2.until("* Your name?").await;
    // A second connection for 203.0.113.7 is over that client's cap, though the proxy has several.
    let mut again = Client::connect(chat).await;
    again.send_raw(b"PROXY TCP4 203.0.113.7 127.0.0.1 5556 7001\r\n").await;
    assert!(again.closed().await[0].starts_with("! too_many_connections"));
    // From the proxy's address, no header is no connection; from elsewhere, a header is just text.
    let mut bare = Client::connect(chat).await;
    bare.send("mallory").await;
    assert!(bare.closed().await.is_empty(), "closed without a word");
    let mut direct = Client::connect_from([127, 0, 0, 3].into(), chat).await;
    direct.until("* Your name?").await;
    direct.send("PROXY TCP4 203.0.113.8 127.0.0.1 1 7001").await;
    assert!(direct.line().await.starts_with("! invalid_name"), "a spoofed header is an ordinary (bad) name");

    // The login log has the client's address, not the proxy's.
    let rows = crate::support::eventually("alice's login row", || async {
        let rows =
            db.store.logins(&LoginFilter { user: Some("alice".into()), ..Default::default() }).await.unwrap();
        (!rows.is_empty()).then_some(rows)
    })
    .await;
    assert_eq!(rows[0].peer, "203.0.113.7:5555");
    server.stop().await;
    db.cleanup().await;
}

#[tokio::test]
async fn a_reader_that_never_reads_is_cut_off_by_bytes_not_after_thousands_of_frames() {
    let server = TestServer::with(|c| {
        c.limits.outbound_queue = 1_000_000;
        c.limits.outbound_bytes = 256 * 1024;
        c.limits.rate_per_sec = 0.0;
        c.limits.write_timeout_secs = 30;
    })
    .await;
    let mut sender = Client::chat_json(server.chat(), "sender").await;
    let mut reader = Client::chat_json(server.chat(), "reader").await;
    sender.json_of("joined").await;
    let mut sleeper = Client::connect_with_recv_buffer(server.chat(), 4096).await;
    sleeper.send_json(json!({"type": "login", "name": "sleeper"})).await;
    sleeper.writer.flush().await.unwrap();
    sender.json_of("joined").await;
    reader.json_of("joined").await;
    let (left, delivered) = flood_until_left(&mut [&mut sender, &mut reader], "sleeper").await;
    // Without the byte limit it would hold all 16 MB that the flood sends (the frame limit is a
    // million): it must be cut off before the flood ends.
    assert!(left, "the sleeper was never cut off ({delivered} messages delivered to the others)");
    server.stop().await;
}

#[tokio::test]
async fn websockets_that_stop_answering_pings_are_closed() {
    let server = TestServer::with(|c| c.web.ws_ping_secs = 1).await;
    let mut silent = Ws::connect(server.web(), "chat").await;
    silent.send(json!({"type": "login", "name": "silent"})).await;
    silent.json_of("welcome").await;
    let mut alive = Ws::connect(server.web(), "chat").await;
    alive.send(json!({"type": "login", "name": "alive"})).await;
    alive.json_of("welcome").await;
    // `alive` keeps reading (so its client library answers every Ping); `silent` does not.
    let mut text = Client::chat_text(server.chat(), "watcher").await;
    let left = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let line = text.line().await;
            if line.starts_with("[silent] left") {
                return line;
            }
        }
    });
    let keep_reading = async {
        loop {
            let m = alive.json().await;
            assert_ne!(m["type"], "bye", "the live socket was closed: {m}");
        }
    };
    tokio::select! {
        left = left => assert!(left.is_ok(), "the silent WebSocket was never closed"),
        () = keep_reading => unreachable!(),
    }
    alive.send(json!({"type": "say", "text": "still here"})).await;
    assert_eq!(alive.json_of("message").await["text"], "still here");
    server.stop().await;
}

#[tokio::test]
async fn chat_lines_stored_before_the_text_rules_are_replayed_escaped() {
    let all = backends();
    let db = Db::create(&all[0]).await;
    let (journal, writer) = sockhub_store::Writer::spawn(db.store.clone(), Default::default());
    let old = sockhub_store::ChatRecord::public("old", "line one\n[teacher] forged\u{1b}[2J");
    journal.send(old).await.unwrap();
    assert!(writer.shutdown(Duration::from_secs(10)).await.is_complete());

    let server = db.server(|_| {}).await;
    let mut newcomer = Client::connect(server.chat()).await;
    newcomer.until("* Your name?").await;
    newcomer.send("newcomer").await;
    let welcome = newcomer.line().await;
    assert!(welcome.starts_with("* Welcome, newcomer!"), "{welcome}");
    let replayed = newcomer.line().await;
    assert!(replayed.ends_with(") [old] line one\\n[teacher] forged\\x1b[2J"), "{replayed:?}");
    server.stop().await;
    db.cleanup().await;
}

#[tokio::test]
async fn look_alikes_of_one_account_share_one_throttle_count() {
    let all = backends();
    let db = Db::with_account(&all[0], "teacher", "correct horse", Role::Member).await;
    let server = db
        .server(|c| {
            c.auth.lock_after = 3;
            c.auth.slow_after = 100;
        })
        .await;
    let mut c = Client::connect(server.chat()).await;
    for name in ["teacher", "tеacher", "ｔeacher"] {
        c.send_json(json!({"type": "login", "name": name, "password": "guess"})).await;
        assert_eq!(c.json_of("error").await["code"], "bad_credentials", "{name}");
    }
    c.send_json(json!({"type": "login", "name": "TЕACHER", "password": "guess"})).await;
    assert_eq!(c.json_of("error").await["code"], "too_many_attempts", "a fourth spelling is no fresh start");
    // A name no service accepts is refused before the database or the log sees it.
    c.send_json(json!({"type": "login", "name": "x\n2026-01-01 00:00:00 [INFO]: forged", "password": "p"}))
        .await;
    assert_eq!(c.json_of("error").await["code"], "invalid_name");
    server.stop().await;
    db.cleanup().await;
}

/// HAProxy (a real load balancer) in front of the chat port, `send-proxy` (v1) or
/// `send-proxy-v2` to sockhub: the login log shows each client's own address, not HAProxy's.
#[tokio::test]
async fn haproxy_in_front_passes_the_real_client_address() {
    let haproxy = std::path::Path::new("/usr/sbin/haproxy");
    assert!(haproxy.exists(), "this test needs Debian's haproxy: run `bash scripts/setup.sh`");
    let all = backends();
    let db = Db::create(&all[0]).await;
    let server = db.server(|c| c.server.proxy_protocol = vec!["127.0.0.1".into()]).await;
    let dir = tempfile::tempdir().unwrap();
    for (version, client_ip, name) in
        [("send-proxy", "127.0.0.5", "viaone"), ("send-proxy-v2", "127.0.0.6", "viatwo")]
    {
        let port = crate::support::unused_port();
        let config = dir.path().join(format!("{version}.cfg"));
        std::fs::write(
            &config,
            format!(
                "defaults\n  mode tcp\n  timeout connect 5s\n  timeout client 30s\n  timeout server 30s\n\
                 frontend chat\n  bind 127.0.0.1:{port}\n  default_backend chat\n\
                 backend chat\n  server s1 {} {version}\n",
                server.chat()
            ),
        )
        .unwrap();
        let mut proxy = tokio::process::Command::new(haproxy)
            .arg("-db")
            .arg("-f")
            .arg(&config)
            .kill_on_drop(true)
            .spawn()
            .expect("start haproxy");
        let front: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let mut c = crate::support::eventually("haproxy to listen", || async {
            let socket = tokio::net::TcpSocket::new_v4().unwrap();
            socket.bind(SocketAddr::new(client_ip.parse().unwrap(), 0)).unwrap();
            socket.connect(front).await.ok()
        })
        .await;
        let mut greeting = [0u8; 6];
        tokio::io::AsyncReadExt::read_exact(&mut c, &mut greeting).await.unwrap();
        assert_eq!(&greeting, b"* Welc", "{version}: served through the proxy");
        c.write_all(format!("{name}\n").as_bytes()).await.unwrap();
        let rows = crate::support::eventually("the login row", || async {
            let filter = LoginFilter { user: Some(name.into()), ..Default::default() };
            let rows = db.store.logins(&filter).await.unwrap();
            (!rows.is_empty()).then_some(rows)
        })
        .await;
        assert!(rows[0].peer.starts_with(&format!("{client_ip}:")), "{version}: {}", rows[0].peer);
        drop(c);
        proxy.kill().await.unwrap();
    }
    server.stop().await;
    db.cleanup().await;
}

/// On a relay that requires device tokens, a connection counts as logged in only once it has
/// shown a valid token: one that keeps sending records without it is closed at the login
/// timeout like any socket that never logs in.
#[tokio::test]
async fn a_relay_connection_without_a_token_is_closed_at_the_login_timeout() {
    let server = TestServer::with(|c| {
        c.relay.auth = sockhub_server::config::RelayAuth::Tokens;
        c.limits.login_timeout_secs = 1;
    })
    .await;
    let mut device = Client::connect(server.addr("relay")).await;
    device.send_json(json!({"type": "record", "source": "fan-1", "seq": 1, "payload": "boot"})).await;
    assert_eq!(device.json_of("error").await["code"], "unauthorized");
    let lines = device.closed().await;
    assert!(lines.iter().any(|l| l.contains("login_timeout")), "{lines:?}");
    server.stop().await;
}
