//! Direct writes on real loopback sockets: frames written by the pusher, frames queued behind a
//! socket that would block, and the writer, all arriving complete and in order.

use std::sync::atomic::{AtomicU64, Ordering};

use tokio::io::AsyncReadExt;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};

use super::*;

struct Socket(Arc<OwnedWriteHalf>);

impl TryWrite for Socket {
    fn try_write(&self, bytes: &[u8]) -> io::Result<usize> {
        self.0.try_write(bytes)
    }
}

/// A connected pair: the server side's halves (the read half kept only to keep the socket open)
/// and the client side.
async fn pair() -> (OwnedReadHalf, Arc<OwnedWriteHalf>, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    let (server, _) = listener.accept().await.unwrap();
    // A small send buffer, so that the socket fills quickly when the client stops reading.
    let _ = socket2::SockRef::from(&server).set_send_buffer_size(4096);
    let (read, write) = server.into_split();
    (read, Arc::new(write), client)
}

fn attach(outbox: &Outbox, half: &Arc<OwnedWriteHalf>, quiet: Duration) -> Arc<ServiceMetrics> {
    let metrics = Arc::new(ServiceMetrics::default());
    outbox.set_mode(Mode::Text);
    outbox.attach_direct(Box::new(Socket(Arc::clone(half))), quiet, Arc::clone(&metrics));
    metrics
}

/// The connection's writer, as `write_loop` does it: take a batch, write all of it, say so.
async fn writer(outbox: Outbox, half: Arc<OwnedWriteHalf>, written: Arc<AtomicU64>) {
    let mut batch = Batch::new();
    let mut buf = Vec::new();
    loop {
        let open = outbox.next_batch(&mut batch).await;
        written.fetch_add(batch.len() as u64, Ordering::Relaxed);
        outbox.write_batch(&batch, &mut buf);
        batch.clear();
        let mut rest = &buf[..];
        while !rest.is_empty() {
            half.writable().await.unwrap();
            match half.try_write(rest) {
                Ok(n) => rest = &rest[n..],
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => panic!("{e}"),
            }
        }
        buf.clear();
        outbox.written();
        if !open {
            let stream: &TcpStream = (*half).as_ref();
            socket2::SockRef::from(stream).shutdown(std::net::Shutdown::Write).unwrap();
            return;
        }
    }
}

#[tokio::test]
async fn a_frame_to_a_quiet_socket_is_written_by_the_pusher_with_no_writer_running() {
    let (_read, half, mut client) = pair().await;
    let outbox = Outbox::new(10);
    let metrics = attach(&outbox, &half, Duration::from_secs(3600));
    assert_eq!(outbox.push(&Frame::new(Notice::info("hello"))), Push::Queued);
    assert!(outbox.is_empty(), "written, not queued");
    assert_eq!(metrics.frames_out.get(), 1);
    let mut got = [0u8; 8];
    client.read_exact(&mut got).await.unwrap();
    assert_eq!(&got, b"* hello\n");
    // The socket was just written: within the quiet time the next frame waits for the writer.
    assert_eq!(outbox.push(&Frame::new(Notice::info("again"))), Push::Queued);
    assert_eq!(outbox.len(), 1);
}

#[tokio::test]
async fn without_a_socket_or_with_an_encoder_nothing_is_written_directly() {
    struct Upper;
    impl Encode for Upper {
        fn encode(&mut self, frame: &Frame, lang: Lang, out: &mut Vec<u8>) {
            out.extend(frame.encoded(Mode::Text, lang).to_ascii_uppercase());
        }
    }
    let outbox = Outbox::new(10);
    outbox.set_mode(Mode::Text);
    outbox.push(&Frame::new(Notice::info("a")));
    assert_eq!(outbox.len(), 1, "no socket attached: queued");

    let (_read, half, _client) = pair().await;
    let outbox = Outbox::new(10);
    let metrics = attach(&outbox, &half, Duration::ZERO);
    outbox.set_encoder(Box::new(Upper));
    outbox.push(&Frame::new(Notice::info("a")));
    assert_eq!(outbox.len(), 1, "a connection with its own encoding: queued");
    assert_eq!(metrics.frames_out.get(), 0);
}

/// Push the frames `* 0 …` to `* N-1 …` one by one with `push` (given each frame's number),
/// yielding now and then, then close the outbox with `* end`, while a writer runs and the client
/// does not read at first (the socket fills and frames queue behind it); then check that every
/// line arrived, in order. Returns how many frames were written directly (not by the writer) and
/// how many by the writer.
async fn numbered_across_a_blocked_socket(push: fn(&Outbox, u64, Arc<Frame>)) -> (u64, u64) {
    const N: u64 = 20_000;
    let (_read, half, mut client) = pair().await;
    let outbox = Outbox::new(N as usize + 10);
    // Every frame that finds the queue empty and the writer idle may be written directly.
    let metrics = attach(&outbox, &half, Duration::ZERO);
    let by_writer = Arc::new(AtomicU64::new(0));
    let writer = tokio::spawn(writer(outbox.clone(), Arc::clone(&half), Arc::clone(&by_writer)));
    let pusher = tokio::spawn({
        let outbox = outbox.clone();
        async move {
            let pad = "p".repeat(80);
            for i in 0..N {
                push(&outbox, i, Frame::new(Notice::info(format!("{i} {pad}"))));
                if i % 64 == 0 {
                    tokio::task::yield_now().await;
                }
            }
            outbox.close_with(Some(Frame::new(Notice::info("end"))));
        }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut all = Vec::new();
    client.read_to_end(&mut all).await.ok();
    pusher.await.unwrap();
    writer.await.unwrap();
    assert_numbered_then_end(&all, N);
    (metrics.frames_out.get(), by_writer.load(Ordering::Relaxed))
}

#[tokio::test]
async fn direct_and_queued_frames_arrive_complete_and_in_order_across_a_blocked_socket() {
    let (direct, by_writer) = numbered_across_a_blocked_socket(|outbox, _, frame| {
        assert_eq!(outbox.push(&frame), Push::Queued);
    })
    .await;
    assert!(direct > 0, "some frames were written directly");
    assert!(by_writer > 0, "some waited for the writer");
}

#[tokio::test]
async fn a_reader_that_never_reads_is_still_closed_as_too_slow_and_no_push_blocks() {
    let (_read, half, _client) = pair().await;
    let outbox = Outbox::new(50);
    attach(&outbox, &half, Duration::ZERO);
    let f = Frame::new(Notice::info("x".repeat(1000)));
    let mut pushes = 0;
    let last = loop {
        let r = outbox.push(&f);
        pushes += 1;
        if r != Push::Queued || pushes > 1_000_000 {
            break r;
        }
    };
    assert_eq!(last, Push::Overflow, "after {pushes} pushes");
    assert!(outbox.is_closing());
    let mut batch = Batch::new();
    assert!(!outbox.next_batch(&mut batch).await);
    assert_eq!(batch.len(), 1);
    let mut bye = Vec::new();
    outbox.write_batch(&batch, &mut bye);
    assert!(String::from_utf8_lossy(&bye).starts_with("* bye: too slow"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fanout_writes_every_quiet_socket_without_any_writer_running() {
    use crate::net::fanout::{CHUNK, Fanout};
    let n = 2 * CHUNK + 20; // some written here, the rest in spawned tasks
    let mut ends = Vec::new();
    let mut outboxes = Vec::new();
    let metrics = Arc::new(ServiceMetrics::default());
    for _ in 0..n {
        let (read, half, client) = pair().await;
        let outbox = Outbox::new(10);
        outbox.set_mode(Mode::Text);
        outbox.attach_direct(
            Box::new(Socket(Arc::clone(&half))),
            Duration::from_secs(3600),
            Arc::clone(&metrics),
        );
        ends.push((read, half, client));
        outboxes.push(outbox);
    }
    let frame = Frame::new(Notice::info("all"));
    let mut fanout = Fanout::new();
    for outbox in &outboxes {
        assert_eq!(fanout.push(outbox, &frame), Push::Queued);
    }
    assert!(outboxes.iter().all(|o| o.len() == 1), "queued first");
    drop(fanout);
    for (_, _, client) in &mut ends {
        let mut got = [0u8; 6];
        tokio::time::timeout(Duration::from_secs(10), client.read_exact(&mut got)).await.unwrap().unwrap();
        assert_eq!(&got, b"* all\n");
    }
    // Counted right after each write: a client may read its line a moment before.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while metrics.frames_out.get() < n as u64 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    assert_eq!(metrics.frames_out.get(), n as u64);
    assert!(outboxes.iter().all(|o| o.is_empty()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fanned_out_and_queued_frames_arrive_complete_and_in_order_across_a_blocked_socket() {
    use crate::net::fanout::Fanout;
    let (direct, by_writer) = numbered_across_a_blocked_socket(|outbox, i, frame| {
        let mut fanout = Fanout::new();
        assert_eq!(fanout.push(outbox, &frame), Push::Queued);
        // Some fan-outs are written a little later, while others queue behind them.
        if i % 3 == 0 {
            tokio::spawn(async move { drop(fanout) });
        }
    })
    .await;
    assert!(direct > 0, "some frames were written by fan-outs");
    assert!(by_writer > 0, "some waited for the writer");
}

#[tokio::test]
async fn nothing_is_written_directly_while_the_writer_holds_frames_it_has_not_written() {
    use crate::net::fanout::Fanout;
    let (_read, half, mut client) = pair().await;
    let outbox = Outbox::new(10);
    attach(&outbox, &half, Duration::ZERO);
    // A fan-out queues "x" and owes the outbox a flush; meanwhile the writer takes "x".
    let mut fanout = Fanout::new();
    fanout.push(&outbox, &Frame::new(Notice::info("x")));
    let mut batch = Batch::new();
    assert!(outbox.next_batch(&mut batch).await);
    // "y" is pushed, and the fan-out's flush comes, while "x" is still unwritten: neither may
    // write "y" ahead of it.
    assert_eq!(outbox.push(&Frame::new(Notice::info("y"))), Push::Queued);
    drop(fanout);
    assert_eq!(outbox.len(), 1, "y waits for the writer");
    let mut probe = [0u8; 16];
    assert_eq!(client.try_read(&mut probe).map_err(|e| e.kind()), Err(io::ErrorKind::WouldBlock));
    // The writer writes "x", then takes and writes "y".
    let mut buf = Vec::new();
    outbox.write_batch(&batch, &mut buf);
    batch.clear();
    half.try_write(&buf).unwrap();
    outbox.written();
    assert!(outbox.next_batch(&mut batch).await);
    buf.clear();
    outbox.write_batch(&batch, &mut buf);
    batch.clear();
    half.try_write(&buf).unwrap();
    outbox.written();
    let mut got = [0u8; 8];
    client.read_exact(&mut got).await.unwrap();
    assert_eq!(&got, b"* x\n* y\n");
}

/// `bytes` holds the lines `* 0 …` to `* n-1 …`, in order, then `* end`.
fn assert_numbered_then_end(bytes: &[u8], n: u64) {
    let text = std::str::from_utf8(bytes).unwrap();
    let mut lines = text.lines();
    for i in 0..n {
        let line = lines.next().unwrap_or_else(|| panic!("frame {i} missing"));
        let got: u64 = line.trim_start_matches("* ").split(' ').next().unwrap().parse().unwrap();
        assert_eq!(got, i, "out of order");
    }
    assert_eq!(lines.next(), Some("* end"));
}
