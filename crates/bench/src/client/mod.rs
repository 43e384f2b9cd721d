//! One load-generating connection, and the state the clients of a run share.
//!
//! A client is one tokio task. It connects, logs in to the chat in text mode (or, against a `raw`
//! peer server, just connects), then reads and — if it is a sender — writes, in the same task.
//!
//! The generator shares the machine with the server it measures, so it is frugal:
//! - **Reading** uses big reads into one buffer per client and finds line ends with `memchr`.
//!   Of each line it parses only the send timestamp (`~<nanoseconds>~`, see [`write_line`]);
//!   lines without one (greetings, joins) are only counted ([`crate::scan`]).
//! - **Sending** is paced by an interval: at each tick a sender writes every message that is due
//!   by then (rate × elapsed time), all in one write, instead of sleeping before each message.
//!   All lines of a tick carry the tick's timestamp.
//! - Counters shared between clients are updated once per read, not once per line.
//!
//! With `--tls` the connection runs the TLS handshake before the login; the rest is the same code
//! over the TLS stream's halves (plain TCP keeps the socket's own halves).
//!
//! The line a sender writes is `~<sent ns>~<sender>~<seq>~xxxx…`; sockhub's chat delivers it as
//! `[name] ~<sent ns>~…`, a raw peer delivers it as is; the receiver finds the first `~` either way.
//! Over IRC ([`irc`]) the client registers and joins a channel instead of logging in, a sender
//! writes `PRIVMSG #channel :~<sent ns>~…`, and a reader looks for the `~` in a PRIVMSG's text
//! only, answering the server's `PING`s as it reads.

use std::net::SocketAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use clap::ValueEnum;
use serde::Serialize;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio_util::sync::CancellationToken;

use crate::clock::{Clock, Phase, Timeline};
use crate::error::ClientError;
use crate::latency::Latency;
use crate::rooms::Seat;
use crate::scan::Scanner;

pub(crate) mod irc;
mod line;

pub use line::write_line;

/// How long connecting and logging in may take one client.
const LOGIN_TIMEOUT: Duration = Duration::from_secs(30);
/// Most lines one sender writes in one go (a sender that fell behind catches up over several
/// ticks instead of building one huge buffer).
const MAX_LINES_PER_WRITE: u64 = 10_000;
/// How long a client that never read may spend, after the run, reading its backlog to find out
/// whether the server closed it.
const NON_READER_DRAIN: Duration = Duration::from_secs(3);
/// The receive buffer of a client that never reads. Small, so that it shows as slow to the server
/// after kilobytes instead of after the megabytes a loopback socket buffers by default; the server
/// sees the same thing either way, a socket that accepts no more.
const NON_READER_RECEIVE_BUFFER: u32 = 4 << 10;

/// What kind of server the clients talk to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// sockhub's chat: log in with a name in text mode, then every line is said to the room.
    Sockhub,
    /// A peer chat server without login: every line is broadcast to every client, the sender
    /// included.
    Raw,
    /// An IRC server (sockhub's `[irc]` listener or any other): register, join a channel,
    /// PRIVMSG to it. Chosen with `--proto irc`.
    #[value(skip)]
    Irc,
}

/// The protocol the chat scenarios speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Proto {
    /// sockhub's text chat (or, with `--target raw`, bare lines).
    Text,
    /// IRC: NICK/USER, JOIN a channel, PRIVMSG to it.
    Irc,
}

impl Proto {
    /// The target the clients talk to, given `--target`.
    pub fn target(self, target: Target) -> Result<Target, crate::BenchError> {
        match (self, target) {
            (Proto::Text, t) => Ok(t),
            (Proto::Irc, Target::Raw) => Err(crate::BenchError::Invalid(
                "--proto irc talks to an IRC server; leave out --target raw".into(),
            )),
            (Proto::Irc, _) => Ok(Target::Irc),
        }
    }

    /// The default port of the chat in this protocol.
    pub fn default_port(self) -> u16 {
        match self {
            Proto::Text => 7001,
            Proto::Irc => 6667,
        }
    }
}

/// What one client does.
#[derive(Debug, Clone)]
pub struct Plan {
    pub addr: SocketAddr,
    pub target: Target,
    /// The chat name (sockhub target).
    pub name: String,
    /// Whether it reads at all; a client that never reads is a slow consumer.
    pub reads: bool,
    pub send: Option<Sending>,
    /// Sender number, carried in each line.
    pub sender_id: usize,
    /// Size of the read buffer.
    pub read_buffer: usize,
    /// TLS, verifying the server as the address's IP.
    pub tls: Option<sockhub_tls::ClientTls>,
    /// The room to sit in when the run has more than one (sockhub and IRC targets).
    pub seat: Option<Seat>,
    /// IRC: the channel to join when there is no seat.
    pub channel: String,
    /// IRC: request `echo-message` when the server offers it.
    pub echo: bool,
}

impl Plan {
    /// The IRC channel this client joins and sends to.
    fn irc_channel(&self) -> &str {
        self.seat.as_ref().map_or(&self.channel, |s| &s.name)
    }
}

/// A logged-in connection.
enum Opened {
    Plain(TcpStream),
    Tls(Box<sockhub_tls::tokio_rustls::client::TlsStream<TcpStream>>),
}

/// How a sender sends.
#[derive(Debug, Clone, Copy)]
pub struct Sending {
    /// Messages per second.
    pub rate: f64,
    /// Bytes per line, newline excluded (at least the timestamp fields).
    pub size: usize,
}

/// State shared by the clients of one run and the task that coordinates them.
pub struct Shared {
    pub clock: Clock,
    timeline: watch::Sender<Option<Timeline>>,
    /// Measured deliveries received, every client together.
    pub received: AtomicU64,
    /// Lines received of any kind, every client together.
    pub lines: AtomicU64,
    /// Clients connected (and logged in).
    pub ready: AtomicUsize,
    /// Clients that could not connect or log in.
    pub failed: AtomicUsize,
    pub first_error: Mutex<Option<String>>,
    /// Measured messages sent, summed as each sender finishes.
    pub sent_measured: AtomicU64,
    /// The same per room (one entry when the run has one room).
    pub sent_by_room: Vec<AtomicU64>,
    /// Of those, per room, the messages of senders that do not receive their own lines (IRC
    /// without `echo-message`): each is expected at one reader fewer.
    pub unechoed_by_room: Vec<AtomicU64>,
    /// IRC: clients whose server echoes their own PRIVMSGs (`echo-message` acknowledged).
    pub echo_clients: AtomicUsize,
    pub senders_done: AtomicUsize,
    /// Tells every client to stop.
    pub stop: CancellationToken,
    connecting: Semaphore,
}

impl Shared {
    pub fn new(connect_concurrency: usize) -> Self {
        Self::with_rooms(connect_concurrency, 1)
    }

    /// Shared state of a run with `rooms` rooms.
    pub fn with_rooms(connect_concurrency: usize, rooms: usize) -> Self {
        Shared {
            clock: Clock::new(),
            timeline: watch::Sender::new(None),
            received: AtomicU64::new(0),
            lines: AtomicU64::new(0),
            ready: AtomicUsize::new(0),
            failed: AtomicUsize::new(0),
            first_error: Mutex::new(None),
            sent_measured: AtomicU64::new(0),
            sent_by_room: (0..rooms.max(1)).map(|_| AtomicU64::new(0)).collect(),
            unechoed_by_room: (0..rooms.max(1)).map(|_| AtomicU64::new(0)).collect(),
            echo_clients: AtomicUsize::new(0),
            senders_done: AtomicUsize::new(0),
            stop: CancellationToken::new(),
            connecting: Semaphore::new(connect_concurrency.max(1)),
        }
    }

    /// Start the clock's phases: senders begin at once.
    pub fn start(&self, timeline: Timeline) {
        self.timeline.send_replace(Some(timeline));
    }

    pub fn timeline(&self) -> Option<Timeline> {
        *self.timeline.borrow()
    }

    /// Wait until each of `clients` has connected or failed, showing progress; the number that
    /// failed.
    pub async fn wait_connected(&self, clients: usize, progress: &crate::Progress, label: &str) -> usize {
        progress.phase(&format!("{label}connect"), clients as u64, "clients");
        loop {
            let ready = self.ready.load(Ordering::Relaxed);
            let failed = self.failed.load(Ordering::Relaxed);
            progress.set(
                (ready + failed) as u64,
                if failed > 0 { format!("{failed} failed") } else { String::new() },
            );
            if ready + failed >= clients {
                return failed;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn fail(&self, error: String) {
        self.failed.fetch_add(1, Ordering::Relaxed);
        self.first_error.lock().expect("not poisoned").get_or_insert(error);
    }
}

/// What one client saw and did.
#[derive(Debug, Default)]
pub struct Stats {
    pub latency: Latency,
    /// Messages sent during measurement that this client received.
    pub measured: u64,
    /// Messages from a sender of another room (a leak out of that room; never a delivery).
    pub foreign: u64,
    /// Warm-up messages received.
    pub warm_up: u64,
    pub lines: u64,
    /// Error lines (`! code: ...`) received, and the first of them.
    pub error_lines: u64,
    pub first_error_line: Option<String>,
    pub sent: u64,
    pub sent_measured: u64,
    /// Whether it got as far as being connected and logged in.
    pub connected: bool,
    /// Whether the server sends this client its own messages (always, except IRC without
    /// `echo-message`).
    pub echoed: bool,
    /// The server closed the connection (EOF or reset) before the run ended.
    pub closed_by_server: bool,
    /// The `bye` line the server sent, if any.
    pub bye: Option<String>,
    /// A connection or I/O error.
    pub error: Option<String>,
}

/// Run one client until the run stops; its statistics at the end.
pub async fn run(plan: Plan, shared: std::sync::Arc<Shared>) -> Stats {
    let mut stats = Stats::default();
    let mut scanner = match plan.target {
        Target::Irc => Scanner::irc(plan.seat.clone()),
        _ => Scanner::new(plan.seat.clone()),
    };
    let stream = {
        let _permit = shared.connecting.acquire().await.expect("never closed");
        let opened = tokio::select! {
            _ = shared.stop.cancelled() => return stats,
            r = tokio::time::timeout(LOGIN_TIMEOUT, open(&plan, &mut scanner, &shared, &mut stats)) => r,
        };
        match opened {
            Ok(Ok(stream)) => stream,
            Ok(Err(e)) => {
                shared.fail(format!("{}: {e}", plan.addr));
                stats.error = Some(e.to_string());
                return stats;
            }
            Err(_) => {
                let e = format!("{}: no login within {LOGIN_TIMEOUT:?}", plan.addr);
                shared.fail(e.clone());
                stats.error = Some(e);
                return stats;
            }
        }
    };
    stats.connected = true;
    shared.ready.fetch_add(1, Ordering::Relaxed);
    match stream {
        Opened::Plain(stream) => {
            let (rd, wr) = stream.into_split();
            exchange(rd, wr, plan, scanner, &shared, stats).await
        }
        Opened::Tls(stream) => {
            let (rd, wr) = tokio::io::split(*stream);
            exchange(rd, wr, plan, scanner, &shared, stats).await
        }
    }
}

/// Read and (a sender) write until the run stops.
async fn exchange(
    mut rd: impl AsyncRead + Unpin,
    wr: impl AsyncWrite + Unpin,
    plan: Plan,
    mut scanner: Scanner,
    shared: &Shared,
    mut stats: Stats,
) -> Stats {
    let mut buf = vec![0u8; plan.read_buffer.max(512)];
    let mut sent = SenderStats::default();
    // The reader writes too (IRC: PONG), so the write half is shared; the lock is never contended
    // for long (one write at a time, in the same task).
    let wr = tokio::sync::Mutex::new(wr);
    let echoed = stats.echoed;
    let sender = async {
        if let Some(sending) = plan.send {
            let room = plan.seat.as_ref().map_or(0, |s| s.index);
            let prefix = match plan.target {
                Target::Irc => format!("PRIVMSG {} :", plan.irc_channel()).into_bytes(),
                _ => Vec::new(),
            };
            let line = Line { prefix: &prefix, crlf: plan.target == Target::Irc };
            send(&wr, sending, line, plan.sender_id, room, echoed, shared, &mut sent).await;
        }
        // Keep the write half open until the end: dropping it would close our side.
        shared.stop.cancelled().await;
    };
    let reader = async {
        if plan.reads {
            read(&mut rd, &wr, &mut buf, &mut scanner, shared, &mut stats).await;
        } else {
            shared.stop.cancelled().await;
            drain(&mut rd, &mut buf, &mut scanner, shared, &mut stats).await;
        }
    };
    tokio::join!(sender, reader);
    stats.sent = sent.sent;
    stats.sent_measured = sent.measured;
    if let Some(e) = sent.error {
        stats.error.get_or_insert(e);
    }
    stats
}

/// Connect (with the TLS handshake under `--tls`) and, for sockhub, log in; lines that arrive
/// after the welcome are scanned as usual.
async fn open(
    plan: &Plan,
    scanner: &mut Scanner,
    shared: &Shared,
    stats: &mut Stats,
) -> Result<Opened, ClientError> {
    let socket = if plan.addr.is_ipv4() { TcpSocket::new_v4() } else { TcpSocket::new_v6() }
        .map_err(ClientError::io("socket"))?;
    if !plan.reads {
        let _ = socket.set_recv_buffer_size(NON_READER_RECEIVE_BUFFER);
    }
    let mut stream = socket.connect(plan.addr).await.map_err(ClientError::io("connect"))?;
    let _ = stream.set_nodelay(true);
    match &plan.tls {
        None => {
            login(&mut stream, plan, scanner, shared, stats).await?;
            Ok(Opened::Plain(stream))
        }
        Some(tls) => {
            let mut stream = tls
                .connect(&plan.addr.ip().to_string(), stream)
                .await
                .map_err(ClientError::io("TLS handshake"))?;
            login(&mut stream, plan, scanner, shared, stats).await?;
            Ok(Opened::Tls(Box::new(stream)))
        }
    }
}

/// Log in to sockhub's chat in text mode (nothing for a raw peer).
async fn login(
    stream: &mut (impl AsyncRead + AsyncWrite + Unpin),
    plan: &Plan,
    scanner: &mut Scanner,
    shared: &Shared,
    stats: &mut Stats,
) -> Result<(), ClientError> {
    match plan.target {
        Target::Raw => {
            stats.echoed = true;
            return Ok(());
        }
        Target::Irc => {
            let registered = irc::register(stream, &plan.name, plan.irc_channel(), plan.echo).await?;
            stats.echoed = registered.echo;
            if registered.echo {
                shared.echo_clients.fetch_add(1, Ordering::Relaxed);
            }
            let measured = scanner.feed(&registered.rest, shared.clock.now_ns(), shared, stats);
            shared.received.fetch_add(measured, Ordering::Relaxed);
            return Ok(());
        }
        Target::Sockhub => stats.echoed = true,
    }
    stream.write_all(format!("{}\n", plan.name).as_bytes()).await.map_err(ClientError::io("login"))?;
    stream.flush().await.map_err(ClientError::io("login"))?;
    let mut pending = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read(&mut buf).await.map_err(ClientError::io("login"))?;
        if n == 0 {
            let said = String::from_utf8_lossy(&pending);
            return Err(ClientError::Closed(format!("closed during login: {}", said.trim())));
        }
        pending.extend_from_slice(&buf[..n]);
        let mut start = 0;
        while let Some(end) = memchr::memchr(b'\n', &pending[start..]).map(|i| start + i) {
            let line = &pending[start..end];
            start = end + 1;
            if line.starts_with(b"* Welcome, ") {
                let mut rest = pending[start..].to_vec();
                if let Some(seat) = &plan.seat {
                    rest = crate::rooms::take_seat(stream, seat, rest).await?;
                }
                let measured = scanner.feed(&rest, shared.clock.now_ns(), shared, stats);
                shared.received.fetch_add(measured, Ordering::Relaxed);
                return Ok(());
            }
            if line.starts_with(b"! ") {
                return Err(ClientError::Refused(format!("login: {}", String::from_utf8_lossy(line))));
            }
        }
        pending.drain(..start);
    }
}

async fn read(
    rd: &mut (impl AsyncRead + Unpin),
    wr: &tokio::sync::Mutex<impl AsyncWrite + Unpin>,
    buf: &mut [u8],
    scanner: &mut Scanner,
    shared: &Shared,
    stats: &mut Stats,
) {
    loop {
        let r = tokio::select! {
            biased;
            _ = shared.stop.cancelled() => return,
            r = rd.read(buf) => r,
        };
        match r {
            Ok(0) => {
                stats.closed_by_server = true;
                return;
            }
            Ok(n) => {
                let now = shared.clock.now_ns();
                let lines_before = stats.lines;
                let measured = scanner.feed(&buf[..n], now, shared, stats);
                if measured > 0 {
                    shared.received.fetch_add(measured, Ordering::Relaxed);
                }
                shared.lines.fetch_add(stats.lines - lines_before, Ordering::Relaxed);
                if !scanner.replies.is_empty() {
                    let mut wr = wr.lock().await;
                    let written = async {
                        wr.write_all(&scanner.replies).await?;
                        wr.flush().await
                    }
                    .await;
                    scanner.replies.clear();
                    if let Err(e) = written {
                        stats.error = Some(format!("write: {e}"));
                        return;
                    }
                }
            }
            Err(e) => {
                stats.closed_by_server = true;
                stats.error = Some(format!("read: {e}"));
                return;
            }
        }
    }
}

/// A client that never read looks at its backlog after the run: did the server close it?
async fn drain(
    rd: &mut (impl AsyncRead + Unpin),
    buf: &mut [u8],
    scanner: &mut Scanner,
    shared: &Shared,
    stats: &mut Stats,
) {
    let deadline = tokio::time::Instant::now() + NON_READER_DRAIN;
    loop {
        match tokio::time::timeout_at(deadline, rd.read(buf)).await {
            Err(_) => return,
            Ok(Ok(0)) | Ok(Err(_)) => {
                stats.closed_by_server = true;
                return;
            }
            Ok(Ok(n)) => {
                // Counted as lines, not deliveries: a non-reader is not a recipient.
                let now = shared.clock.now_ns();
                scanner.feed(&buf[..n], now, shared, &mut Stats::default());
                if let Some(bye) = scanner.last_bye.take() {
                    stats.bye = Some(bye);
                }
            }
        }
    }
}

#[derive(Debug, Default)]
struct SenderStats {
    sent: u64,
    measured: u64,
    error: Option<String>,
}

/// What goes around each message line: IRC's `PRIVMSG #channel :` and CR LF, or nothing and LF.
#[derive(Debug, Clone, Copy)]
struct Line<'a> {
    prefix: &'a [u8],
    crlf: bool,
}

/// Send from the start of the timeline until the end of measurement, at `sending.rate`;
/// `echoed`: whether the server sends this sender its own lines.
#[allow(clippy::too_many_arguments)]
async fn send(
    wr: &tokio::sync::Mutex<impl AsyncWrite + Unpin>,
    sending: Sending,
    line: Line<'_>,
    id: usize,
    room: usize,
    echoed: bool,
    shared: &Shared,
    stats: &mut SenderStats,
) {
    let mut updates = shared.timeline.subscribe();
    let timeline = tokio::select! {
        _ = shared.stop.cancelled() => None,
        t = updates.wait_for(Option::is_some) => t.ok().and_then(|t| *t),
    };
    if let Some(timeline) = timeline {
        send_until_end(wr, sending, line, id, shared, timeline, stats).await;
    }
    shared.sent_measured.fetch_add(stats.measured, Ordering::Relaxed);
    shared.sent_by_room[room].fetch_add(stats.measured, Ordering::Relaxed);
    if !echoed {
        shared.unechoed_by_room[room].fetch_add(stats.measured, Ordering::Relaxed);
    }
    shared.senders_done.fetch_add(1, Ordering::Relaxed);
}

async fn send_until_end(
    wr: &tokio::sync::Mutex<impl AsyncWrite + Unpin>,
    sending: Sending,
    line: Line<'_>,
    id: usize,
    shared: &Shared,
    timeline: Timeline,
    stats: &mut SenderStats,
) {
    // Tick often enough for a smooth rate, but at most every millisecond.
    let period = Duration::from_secs_f64((1.0 / sending.rate.max(0.001)).clamp(0.001, 0.1));
    let mut ticks = tokio::time::interval(period);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut buf = Vec::new();
    let mut seq = 0u64;
    loop {
        tokio::select! {
            _ = shared.stop.cancelled() => return,
            _ = ticks.tick() => {}
        }
        let now = shared.clock.now_ns();
        if now >= timeline.measure_end {
            return;
        }
        // The first message goes at once, then one every 1/rate seconds.
        let due_total = ((now - timeline.warm_start) as f64 * sending.rate / 1e9) as u64 + 1;
        let due = due_total.saturating_sub(seq).min(MAX_LINES_PER_WRITE);
        if due == 0 {
            continue;
        }
        buf.clear();
        for _ in 0..due {
            buf.extend_from_slice(line.prefix);
            write_line(&mut buf, now, id, seq, sending.size);
            if line.crlf {
                buf.pop();
                buf.extend_from_slice(b"\r\n");
            }
            seq += 1;
        }
        stats.sent += due;
        if timeline.phase(now) == Phase::Measured {
            stats.measured += due;
        }
        let written = tokio::select! {
            _ = shared.stop.cancelled() => return,
            // TLS holds the last record until flushed; for TCP the flush is free.
            r = async { let mut wr = wr.lock().await; wr.write_all(&buf).await?; wr.flush().await } => r,
        };
        if let Err(e) = written {
            stats.error = Some(format!("write: {e}"));
            return;
        }
    }
}
