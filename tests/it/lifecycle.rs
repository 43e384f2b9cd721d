//! Starting, stopping and restarting: the shutdown notice, signals on the real binary, and binding
//! the same port again at once.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::{BinaryServer, Client, TestServer, test_config};

#[tokio::test]
async fn shutdown_tells_every_client_then_closes() {
    let server = TestServer::start().await;
    let mut text = Client::chat_text(server.chat(), "alice").await;
    let mut json = Client::chat_json(server.chat(), "bob").await;
    let mut anonymous = Client::connect(server.chat()).await;
    anonymous.until("* Your name?").await;
    text.line().await; // bob joined

    server.stop().await;
    assert_eq!(text.closed().await, ["* bye: server shutting down"]);
    let rest = json.closed().await;
    assert_eq!(rest.len(), 1, "{rest:?}");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&rest[0]).unwrap(),
        json!({"type": "bye", "reason": "server shutting down"})
    );
    assert_eq!(anonymous.closed().await, ["* bye: server shutting down"]);
}

#[tokio::test]
async fn the_same_port_can_be_bound_again_at_once_after_a_stop() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::from_config(test_config(dir.path())).await;
    let addr = server.chat();
    let mut clients = Vec::new();
    for i in 0..5 {
        let mut c = Client::chat_text(addr, &format!("user{i}")).await;
        c.send("hello").await;
        c.until(&format!("[user{i}] hello")).await;
        clients.push(c);
    }
    server.stop().await;
    for c in &mut clients {
        c.closed().await;
    }
    // The server closed first, so its side of each connection is in TIME_WAIT now.
    let mut config = test_config(dir.path());
    config.chat.port = addr.port();
    let again = TestServer::from_config(config).await;
    assert_eq!(again.chat(), addr);
    let mut c = Client::chat_text(addr, "back").await;
    c.send("works").await;
    let replayed = c.until("[back] works").await;
    assert_eq!(replayed.len(), 5, "the first run's messages come back as history: {replayed:?}");
    again.stop().await;
}

/// The real binary: SIGTERM makes it tell clients, close and exit 0 within the grace period.
#[tokio::test]
async fn sigterm_stops_the_real_binary_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let server = BinaryServer::start(dir.path(), &[]).await;
    let mut c = Client::chat_text(server.addr("chat"), "alice").await;

    server.signal("TERM");
    assert_eq!(c.closed().await, ["* bye: server shutting down"]);
    let started = Instant::now();
    let mut child = server.child;
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait()).await.unwrap().unwrap();
    assert!(status.success(), "exit status {status}");
    assert!(started.elapsed() < Duration::from_secs(6));

    let log = std::fs::read_to_string(dir.path().join("logs/server.log")).unwrap();
    let joined = log.lines().find(|l| l.contains("alice joined (1 online)")).expect("join is logged");
    assert!(
        chrono::NaiveDateTime::parse_from_str(&joined[..19], "%Y-%m-%d %H:%M:%S").is_ok()
            && joined[19..].starts_with(" [INFO]: "),
        "log lines look like `2026-11-21 15:11:48 [INFO]: ...`: {joined}"
    );
    assert!(log.contains("connected (1 connections)"));
    assert!(log.contains("log writer flushed"));
    assert!(log.contains("shutdown complete"));
}

/// Started with a soft limit of 64 open files, the server raises it to the hard limit: 100 chat
/// clients (plus its database, logs and listeners) would not fit in 64 descriptors.
#[tokio::test]
#[allow(unsafe_code)] // libc's rlimit calls, in the test and in the child before exec
async fn the_server_raises_a_low_open_file_limit() {
    const SOFT: u64 = 64;
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit only writes the struct passed to it.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) }, 0);
    if limit.rlim_max < 1024 {
        eprintln!("skipped: the hard open-file limit ({}) leaves nothing to raise to", limit.rlim_max);
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let server = BinaryServer::start_with(dir.path(), &[], |command| {
        // SAFETY: the closure runs in the child between fork and exec and only calls setrlimit,
        // which is async-signal-safe.
        unsafe {
            command.pre_exec(|| {
                let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
                if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                limit.rlim_cur = SOFT as libc::rlim_t;
                if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    })
    .await;
    let mut clients = Vec::new();
    for i in 0..100 {
        clients.push(Client::chat_text(server.addr("chat"), &format!("user{i}")).await);
    }
    let last = clients.last_mut().unwrap();
    last.send("/who").await;
    let who = last.line().await;
    assert!(who.starts_with("* 100 online:"), "{who}");
    assert!(server.stop().await.success());
}
