//! Clients without line ends: the original projects' Python clients, unchanged, and raw sockets
//! that send the way they do.
//!
//! The Python sources in `original_clients/` are the original clients as published (the chat's
//! `client.py`, the relay's `Client_Send.py`); a test changes only the server's address in them
//! and runs them as real `python3` processes against a server in this process. They send each
//! message with one `sendall` and no line end, and print whatever one `recv(1024)` returns.
//!
//! Several tests set `limits.unframed_gap_ms` above its default of 50 ms: what they check (two
//! sends in one burst, a client that speaks before it could be greeted) depends on the sender
//! not being descheduled for longer than the gap, which a busy test machine cannot promise for
//! 50 ms. The mechanism is the same at any gap.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

use crate::relay::Node;
use crate::support::{Client, PATIENCE, TestServer};

const CHAT_CLIENT: &str = include_str!("original_clients/chat_client.py");
const RELAY_CLIENT: &str = include_str!("original_clients/relay_client.py");

/// A gap long enough that two back-to-back writes fall in one burst on a loaded machine.
const GAP_MS: u64 = 300;
const GAP: Duration = Duration::from_millis(GAP_MS);

/// An original Python client running against the server.
struct Original {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    /// Everything it printed so far.
    printed: Vec<String>,
    /// Part of a line read so far.
    pending: Vec<u8>,
    _dir: tempfile::TempDir,
}

impl Original {
    /// Run `source` with each `(from, to)` replaced (the server's address, nothing else).
    fn run(source: &str, replace: &[(&str, String)], args: &[&str]) -> Original {
        let mut source = source.to_owned();
        for (from, to) in replace {
            assert!(source.contains(from), "the client's source has {from:?}");
            source = source.replace(from, to);
        }
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("client.py");
        std::fs::write(&file, source).unwrap();
        let mut child = Command::new("python3")
            .arg("-u") // unbuffered: each print reaches the test when it happens
            .arg(&file)
            .args(args)
            .env("PYTHONIOENCODING", "utf-8")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("python3 runs");
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Original {
            stdin: child.stdin.take(),
            child,
            stdout,
            printed: Vec::new(),
            pending: Vec::new(),
            _dir: dir,
        }
    }

    /// Type one line at the client's `input()`.
    async fn type_line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        stdin.write_all(format!("{line}\n").as_bytes()).await.unwrap();
        stdin.flush().await.unwrap();
    }

    /// Read what the client prints until a line equals `expected`, for at most `wait`; whether
    /// it came. A line cut by the timeout stays in `pending` for the next call.
    async fn printed_within(&mut self, expected: &str, wait: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let read = tokio::time::timeout_at(deadline, self.stdout.read_until(b'\n', &mut self.pending));
            match read.await {
                Ok(Ok(n)) if n > 0 => {
                    let line = String::from_utf8_lossy(&self.pending).trim_end_matches('\n').to_owned();
                    self.pending.clear();
                    let found = line == expected;
                    self.printed.push(line);
                    if found {
                        return true;
                    }
                }
                Ok(_) => panic!("the client ended without printing {expected:?}: {:?}", self.printed),
                Err(_) => return false,
            }
        }
    }

    /// Read what the client prints until a line equals `expected`.
    async fn printed(&mut self, expected: &str) {
        if !self.printed_within(expected, PATIENCE).await {
            panic!("the client never printed {expected:?}; it printed {:?}", self.printed);
        }
    }

    /// Wait for the client to exit; it must succeed. Returns everything it printed.
    async fn finished(mut self) -> Vec<String> {
        let mut rest = String::new();
        let read = tokio::time::timeout(
            PATIENCE,
            tokio::io::AsyncReadExt::read_to_string(&mut self.stdout, &mut rest),
        );
        read.await.expect("the client exits").unwrap();
        self.printed.extend(rest.lines().map(str::to_owned));
        let status = tokio::time::timeout(PATIENCE, self.child.wait()).await.expect("exits").unwrap();
        assert!(status.success(), "exit status {status}; printed {:?}", self.printed);
        self.printed
    }
}

#[tokio::test]
async fn the_original_chat_client_joins_talks_hears_others_and_leaves_with_q() {
    let server = TestServer::start().await; // the default gap
    let mut bob = Client::chat_text(server.chat(), "bob").await;
    let port = server.chat().port().to_string();
    let replace = [
        ("host = '192.168.1.55'", "host = '127.0.0.1'".to_owned()),
        ("port = 9999", format!("port = {port}")),
    ];
    let mut alice = Original::run(CHAT_CLIENT, &replace, &["alice"]);
    alice.printed("[alice] 접속").await;
    assert_eq!(bob.line().await, "[alice] joined (2 online)");

    alice.type_line("안녕하세요").await;
    assert_eq!(bob.line().await, "[alice] 안녕하세요");
    // The client prints nothing of a recv() that contains its own name, so a message that
    // arrives together with alice's own lines is not shown: bob says it again until one arrives
    // alone, as it would to a person waiting for it.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        bob.send("컴퓨터네트워크 hello").await;
        assert_eq!(bob.line().await, "[bob] 컴퓨터네트워크 hello");
        if alice.printed_within("[bob] 컴퓨터네트워크 hello", Duration::from_secs(1)).await {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "alice never saw bob: {:?}", alice.printed);
    }

    alice.type_line("q").await;
    assert_eq!(bob.line().await, "[alice] left (1 online)");
    let printed = alice.finished().await;
    assert_eq!(printed.last().map(String::as_str), Some("접속 해제"), "{printed:?}");
    assert!(!printed.iter().any(|l| l.starts_with("! ")), "no error reached the client: {printed:?}");
    server.stop().await;
}

#[tokio::test]
async fn the_original_relay_client_reads_the_acknowledgement_and_its_record_is_stored() {
    let node = Node::start(None, |c| c.limits.unframed_gap_ms = GAP_MS).await;
    let replace = [("server_port = 12345", format!("server_port = {}", node.addr().port()))];
    let client = Original::run(RELAY_CLIENT, &replace, &[]);
    let printed = client.finished().await;
    // Its one recv() is the acknowledgement, not a greeting; the ack is sent once stored.
    assert_eq!(printed, ["tester : Hello, World!", "서버 : ack tester 1", "", ""], "{printed:?}");
    let records = node.records(None).await;
    assert_eq!(
        records.iter().map(|r| (r.source.as_str(), r.seq, r.payload.as_str())).collect::<Vec<_>>(),
        [("tester", 1, "Hello, World!")]
    );
}

/// A server whose gap is [`GAP`], changed by `f`.
async fn server(f: impl FnOnce(&mut sockhub_server::Config)) -> TestServer {
    TestServer::with(|c| {
        c.limits.unframed_gap_ms = GAP_MS;
        f(c);
    })
    .await
}

/// A raw client that sends without line ends: each `say` is one write.
async fn unframed(addr: std::net::SocketAddr, name: &str) -> Client {
    let mut c = Client::connect(addr).await;
    c.send_raw(name.as_bytes()).await;
    let first = c.line().await;
    assert!(
        first.starts_with(&format!("* Welcome, {name}!")),
        "the first thing read is the welcome: {first}"
    );
    c
}

#[tokio::test]
async fn line_and_unframed_clients_share_a_room_and_see_each_other_intact() {
    let server = server(|_| {}).await;
    let mut bob = Client::chat_text(server.chat(), "bob").await;
    let mut ann = unframed(server.chat(), "ann").await;
    assert_eq!(bob.line().await, "[ann] joined (2 online)");

    bob.send("hello ann, 안녕 && more").await;
    assert_eq!(bob.line().await, "[bob] hello ann, 안녕 && more");
    assert_eq!(ann.line().await, "[bob] hello ann, 안녕 && more");
    ann.send_raw("hi bob — 반가워".as_bytes()).await;
    assert_eq!(bob.line().await, "[ann] hi bob — 반가워");
    assert_eq!(ann.line().await, "[ann] hi bob — 반가워");

    ann.send_raw(b"/w bob psst").await;
    assert_eq!(bob.line().await, "<<< [from ann] psst");
    assert_eq!(ann.line().await, ">>> [to bob] psst");
    ann.send_raw(b"quit").await;
    assert_eq!(ann.closed().await, ["* bye: goodbye"]);
    assert_eq!(bob.line().await, "[ann] left (1 online)");
    server.stop().await;
}

#[tokio::test]
async fn two_sends_in_one_burst_are_one_message_and_a_quiet_gap_separates_messages() {
    let server = server(|_| {}).await;
    let mut bob = Client::chat_text(server.chat(), "bob").await;
    let mut ann = unframed(server.chat(), "ann").await;
    bob.line().await; // ann joined

    // Two writes back to back: the original server's one recv(1024) would have read both.
    ann.send_raw(b"one ").await;
    ann.send_raw(b"two").await;
    assert_eq!(bob.line().await, "[ann] one two");
    // Each after the previous was delivered, so after a quiet gap: three messages, in order.
    for said in ["three", "four", "five"] {
        ann.send_raw(said.as_bytes()).await;
        assert_eq!(bob.line().await, format!("[ann] {said}"));
    }
    assert_eq!(bob.silent_or_lines(GAP * 3).await, Vec::<String>::new(), "nothing else, nothing lost");
    server.stop().await;
}

#[tokio::test]
async fn a_line_client_that_pauses_mid_line_stays_a_line_client_and_is_greeted_first() {
    let server = server(|_| {}).await;
    let mut c = Client::connect(server.chat()).await;
    // `ali`, then `ce` and the line end well within the gap: the first message had a line end.
    c.send_raw(b"ali").await;
    tokio::time::sleep(GAP / 6).await;
    c.send_raw(b"ce\n").await;
    assert!(c.line().await.starts_with("* Welcome to sockhub chat."), "the greeting comes first");
    assert_eq!(c.line().await, "* Your name?");
    assert!(c.line().await.starts_with("* Welcome, alice!"));
    // A line client's pauses never end a message, however long.
    c.send_raw(b"hel").await;
    tokio::time::sleep(GAP * 3).await;
    c.send_raw(b"lo\n").await;
    assert_eq!(c.line().await, "[alice] hello");
    server.stop().await;
}

#[tokio::test]
async fn a_silent_client_is_greeted_after_the_gap() {
    let server = server(|_| {}).await;
    let mut c = Client::connect(server.chat()).await;
    assert!(c.line().await.starts_with("* Welcome to sockhub chat."));
    assert_eq!(c.line().await, "* Your name?");
    // Greeted, it may still type without line ends: its first message decides.
    c.send_raw(b"zoe").await;
    assert!(c.line().await.starts_with("* Welcome, zoe!"));
    server.stop().await;
}

#[tokio::test]
async fn an_oversized_burst_gets_line_too_long_and_the_connection_lives_on() {
    let server = server(|c| c.limits.max_line_bytes = 100).await;
    let mut ann = unframed(server.chat(), "ann").await;
    ann.send_raw(&[b'x'; 5000]).await;
    assert_eq!(ann.line().await, "! line_too_long: line longer than 100 bytes; it was discarded");
    tokio::time::sleep(GAP * 2).await; // a quiet gap ends the discarded burst
    ann.send_raw("y".repeat(100).as_bytes()).await;
    assert_eq!(ann.line().await, format!("[ann] {}", "y".repeat(100)), "a burst of exactly the limit passes");
    ann.send_raw(b"caf\xe9").await;
    assert_eq!(ann.line().await, "! invalid_utf8: line is not valid UTF-8; it was discarded");
    server.stop().await;
}

#[tokio::test]
async fn flood_control_counts_bursts_as_messages() {
    let server = server(|c| {
        c.limits.rate_per_sec = 0.01;
        c.limits.burst = 3;
    })
    .await;
    let mut bob = Client::chat_text(server.chat(), "bob").await;
    let mut ann = unframed(server.chat(), "ann").await; // the name took one token
    bob.line().await; // ann joined
    for said in ["m1", "m2"] {
        ann.send_raw(said.as_bytes()).await;
        assert_eq!(ann.line().await, format!("[ann] {said}"));
    }
    ann.send_raw(b"m3").await;
    assert_eq!(ann.line().await, "! rate_limited: too many messages; slow down (this one was dropped)");
    assert_eq!(bob.line().await, "[ann] m1");
    assert_eq!(bob.line().await, "[ann] m2");
    assert_eq!(bob.silent_or_lines(GAP * 2).await, Vec::<String>::new(), "m3 was not delivered");
    server.stop().await;
}
