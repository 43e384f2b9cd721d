//! The rooms write no socket while their lock is held: every event (joins, leaves, messages,
//! topics, operators, members on other nodes, a reply to one user) is queued under the lock and
//! written to quiet sockets once it is released, and each member still gets its lines in order.

use std::io;
use std::sync::{Mutex as StdMutex, Weak};
use std::time::Duration;

use sockhub_proto::Mode;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};

use super::*;
use crate::metrics::ServiceMetrics;
use crate::net::outbox::{Batch, TryWrite};

/// A real socket that notes every write made while the rooms' lock is held.
struct Probe {
    /// Kept only to keep the socket open.
    _read: OwnedReadHalf,
    half: OwnedWriteHalf,
    rooms: Weak<Rooms>,
    /// The bytes written while the lock was held.
    under_lock: Arc<StdMutex<Vec<String>>>,
}

impl TryWrite for Arc<Probe> {
    fn try_write(&self, bytes: &[u8]) -> io::Result<usize> {
        // One thread: if the lock cannot be taken here, the caller holds it.
        let probe = &**self;
        if let Some(rooms) = probe.rooms.upgrade()
            && rooms.state.try_write().is_none()
        {
            probe.under_lock.lock().unwrap().push(String::from_utf8_lossy(bytes).into_owned());
        }
        probe.half.try_write(bytes)
    }
}

/// A local user on a real loopback connection whose frames are written directly when its socket
/// is quiet (quiet time zero) and otherwise by a writer as the connection's own does it, and the
/// client end of that connection, and the user's outbox.
async fn enter(
    rooms: &Arc<Rooms>,
    name: &str,
    under_lock: &Arc<StdMutex<Vec<String>>>,
) -> (BufReader<TcpStream>, Outbox) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    let (server, _) = listener.accept().await.unwrap();
    let (read, half) = server.into_split();
    let outbox = Outbox::new(100);
    outbox.set_mode(Mode::Text);
    let probe = Arc::new(Probe {
        _read: read,
        half,
        rooms: Arc::downgrade(rooms),
        under_lock: Arc::clone(under_lock),
    });
    outbox.attach_direct(Box::new(Arc::clone(&probe)), Duration::ZERO, Arc::new(ServiceMetrics::default()));
    tokio::spawn(writer(outbox.clone(), probe));
    rooms.enter(name, &Arc::from(name), &outbox);
    (BufReader::new(client), outbox)
}

/// The connection's writer: take what is queued, write all of it, say so.
async fn writer(outbox: Outbox, probe: Arc<Probe>) {
    let (mut batch, mut buf) = (Batch::new(), Vec::new());
    while outbox.next_batch(&mut batch).await {
        outbox.write_batch(&batch, &mut buf);
        batch.clear();
        let mut rest = &buf[..];
        while !rest.is_empty() {
            probe.half.writable().await.unwrap();
            match probe.try_write(rest) {
                Ok(n) => rest = &rest[n..],
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => panic!("{e}"),
            }
        }
        buf.clear();
        outbox.written();
    }
}

/// The next `n` lines `client` receives.
async fn lines(client: &mut BufReader<TcpStream>, n: usize) -> Vec<String> {
    let mut got = Vec::new();
    for _ in 0..n {
        let mut line = String::new();
        let read = tokio::time::timeout(Duration::from_secs(5), client.read_line(&mut line)).await;
        assert!(matches!(read, Ok(Ok(1..))), "line {} of {n} missing; got {got:?}", got.len() + 1);
        got.push(line.trim_end().to_owned());
    }
    got
}

#[tokio::test]
async fn every_room_event_is_written_after_the_lock_is_released() {
    // No history: its lines would carry the clock.
    let rooms = Arc::new(Rooms::new(0, 10, 10));
    let under_lock = Arc::new(StdMutex::new(Vec::new()));
    let (mut alice, _) = enter(&rooms, "alice", &under_lock).await;
    let (mut bob, _) = enter(&rooms, "bob", &under_lock).await;
    let none = Vec::new;
    rooms.join("alice", "#a", Create::Transient, false, none).unwrap();
    rooms.join("bob", "#a", Create::Transient, false, none).unwrap();
    assert!(rooms.say(&key("#a"), &Arc::from("alice"), "hi", sockhub_proto::time::now(), Extra::default()));
    rooms.set_topic("#a", None, "alice").unwrap();
    assert!(rooms.set_op("#a", "bob", "bob", true, "alice").unwrap());
    rooms.broadcast("#a", ChatEvent::Switched { room: "#a".into() });
    rooms.send_to("bob", ChatEvent::Users { names: vec!["alice".into(), "bob".into()], room: String::new() });
    assert!(rooms.remote_join("#a", "carol", "carol", false));
    assert!(rooms.remote_part("#a", "carol", None));
    rooms.part("bob", None, Some("bye")).unwrap();
    rooms.join("bob", "#a", Create::Transient, false, none).unwrap();
    rooms.leave_all("bob", false);

    assert_eq!(*under_lock.lock().unwrap(), Vec::<String>::new(), "written while the rooms were locked");
    let shared = [
        "[alice] hi",
        "* the topic of #a was cleared by alice",
        "* bob is now an operator of #a (by alice)",
        "* plain lines now go to #a",
    ];
    let mut want_alice = vec!["[alice] joined (1 online)", "[bob] joined (2 online)"];
    want_alice.extend(shared);
    want_alice.extend([
        "[carol] joined (3 online)",
        "[carol] left (2 online)",
        "[bob] left (1 online): bye",
        "[bob] joined (2 online)",
        "[bob] left (1 online)",
    ]);
    let mut want_bob = vec!["[bob] joined (2 online)"];
    want_bob.extend(shared);
    want_bob.extend([
        "* 2 online: alice, bob",
        "[carol] joined (3 online)",
        "[carol] left (2 online)",
        "[bob] left (1 online): bye",
        "[bob] joined (2 online)",
    ]);
    assert_eq!(lines(&mut alice, want_alice.len()).await, want_alice);
    assert_eq!(lines(&mut bob, want_bob.len()).await, want_bob);
}
