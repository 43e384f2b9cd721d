//! The connection driver shared by every transport, and the TCP transport on top of it.
//!
//! A transport brings two halves: an [`Input`], a stream of [`LineItem`]s (TCP frames bytes into
//! lines with [`ByteInput`], or into bursts for a client without line ends; the WebSocket bridge
//! turns each text message into one item) and an [`Output`] that writes a batch of encoded lines
//! (TCP: one write, to a socket the outbox may also write quiet frames to directly; WebSocket: one
//! text message per line, flushed once). [`drive`] does
//! everything else, the same way for both: it
//! opens the service's session, feeds the input to the shared [`Inbound`] logic, drains the
//! connection's [`Outbox`] into the output in batches, and ends the connection. Reader and writer
//! run in the same task (`join!`), so a connection costs one task.
//!
//! Until the session logs in, the connection holds a pending place in its [`Ticket`]; the driver
//! gives it up at login and closes a connection still pending after `limits.login_timeout` with
//! `login_timeout`, so sockets that never log in cannot hoard slots.
//!
//! **The greeting** (TCP's text welcome) goes out through the outbox like any reply, at the first
//! of: the connection has been quiet for `limits.unframed_gap` since it was accepted (a person
//! at `nc` is greeted), or its first message is a line (a program that speaks at once still reads
//! the greeting before its first reply). A client whose first message came without a line end
//! spoke first and expects the answer to it as the first thing it reads (one `recv`), so it is
//! never greeted.
//!
//! Ending a connection is one path, whatever the cause: the session is told ([`Ending`]), the
//! final `bye` is queued behind whatever is still waiting, the writer flushes and finishes the
//! output (TCP: half-close, a FIN; WebSocket: a Close message), and then the reader keeps
//! draining input for a short linger so that closing a socket with unread input does not turn
//! our close into a reset that destroys the `bye` in flight. Every write is bounded by the write
//! timeout, so a peer that stops reading cannot hold the task forever.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{Stream, StreamExt};
use sockhub_i18n::msg;
use sockhub_proto::notice::Notice;
use sockhub_proto::wire::Wire;
use sockhub_proto::{ErrorCode, Framing, LineItem, Mode};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::time::{Instant, sleep_until, timeout};
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, info, info_span};

use crate::bans::{Bans, Registration};
use crate::metrics::ServiceMetrics;
use crate::net::admission::Ticket;
use crate::net::input::ByteInput;
use crate::net::limits::Limits;
use crate::net::outbox::{Batch, Outbox, TryWrite, with_thread_buffer};
use crate::session::{Ending, Flow, Inbound, Peer, Service, Session};

/// The smallest read buffer a connection allocates when bytes arrive (it holds none while nothing
/// waits; see `ByteInput`); it grows only for long lines.
const READ_BUFFER: usize = 512;
/// A write buffer larger than this after a burst is released rather than kept.
const KEEP_WRITE_BUFFER: usize = 16 * 1024;
/// How long a connection's outbox stays empty before its writer gives back its buffers (and the
/// outbox its queue's slots): an idle connection holds none.
const RELEASE_AFTER: Duration = Duration::from_millis(50);

/// The reading half of a transport: what the peer sent, item by item, and what the transport
/// knows of the peer's framing (for the greeting).
pub trait Input: Stream<Item = std::io::Result<LineItem>> + Unpin + Send {
    /// Whether the peer has sent anything yet, even part of a message.
    fn heard(&self) -> bool {
        true
    }

    /// How the peer delimits its messages, as far as known.
    fn framing(&self) -> Framing {
        Framing::Lines
    }
}

impl<R: AsyncRead + Unpin + Send> Input for ByteInput<R> {
    fn heard(&self) -> bool {
        ByteInput::heard(self)
    }

    fn framing(&self) -> Framing {
        ByteInput::framing(self)
    }
}

/// A transport whose every item is a whole message (WebSocket): always heard, always framed.
pub struct Messages<S>(pub S);

impl<S: Stream<Item = std::io::Result<LineItem>> + Unpin + Send> Stream for Messages<S> {
    type Item = std::io::Result<LineItem>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        std::pin::Pin::new(&mut self.0).poll_next(cx)
    }
}

impl<S: Stream<Item = std::io::Result<LineItem>> + Unpin + Send> Input for Messages<S> {}

/// The service's text greeting, as queued in the outbox: the same lines in either mode (a JSON
/// client skips text lines until its first reply).
struct Greeting(String);

impl Wire for Greeting {
    fn write_json(&self, out: &mut Vec<u8>) {
        self.write_text(out)
    }

    fn write_text(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.0.as_bytes());
    }
}

/// The writing half of a transport.
pub trait Output: Send {
    /// Write `bytes`: one or more complete lines (each ending in `\n`) in the connection's mode.
    fn write(&mut self, bytes: &[u8]) -> impl Future<Output = std::io::Result<()>> + Send;
    /// Nothing more will be written: tell the peer (TCP: FIN; WebSocket: a Close message).
    fn finish(&mut self) -> impl Future<Output = ()> + Send;

    /// The socket, if frames may be written to it directly from any thread without blocking
    /// (TCP; see [`Outbox::attach_direct`]). TLS and WebSocket frame their output and have none.
    fn direct(&self) -> Option<Box<dyn TryWrite>> {
        None
    }

    /// The socket, if the writer may write to it at once without waiting (TCP); `None`: this
    /// transport cannot (TLS and WebSocket frame their output), and every write goes through
    /// [`Output::write`].
    fn write_now(&self) -> Option<&dyn TryWrite> {
        None
    }

    /// How often an idle connection should be probed with [`Output::keepalive`]; `None` (TCP,
    /// where the kernel's keepalive does it) never.
    fn keepalive_every(&self) -> Option<Duration> {
        None
    }

    /// Probe an idle peer (WebSocket: a Ping). An error ends the connection: the peer is gone.
    fn keepalive(&mut self) -> impl Future<Output = std::io::Result<()>> + Send {
        async { Ok(()) }
    }
}

/// How a transport opens a connection.
#[derive(Debug, Clone)]
pub struct Opening {
    /// Sent before any reply, as is, unless the client spoke first without a line end (see the
    /// module documentation); TCP: the service's text greeting; WebSocket: none.
    pub greeting: Option<String>,
    /// The mode, when the transport fixes it (WebSocket: JSON); `None` lets the first line decide.
    pub mode: Option<Mode>,
}

/// What a connection carries from its accept to its end, whatever its transport.
pub struct Conn {
    pub peer: Peer,
    pub limits: Arc<Limits>,
    pub shutdown: CancellationToken,
    /// Its admission: the places it holds under the per-address and not-logged-in caps.
    pub ticket: Ticket,
    /// Where the connection registers once logged in, so that a ban can end it.
    pub bans: Arc<Bans>,
}

/// Serve one connection of any transport until it ends: `input` yields what the peer sent,
/// `output` carries what the session answers.
///
/// The connection's future lives as long as the connection, idle or not, so its size is every
/// connection's cost (`listener::serve_accepted` holds it to a bound). An `async fn` keeps each
/// argument twice for its whole life (once as passed, once as bound), and a layer of `async fn`s
/// that each only call the next keeps every layer's arguments: so this, and the transports'
/// entry points in front of it, are plain functions that return the one future of [`run`], and
/// `run` binds its arguments before its `async` block, which then holds each of them once.
pub fn drive<S, I, O>(
    service: Arc<S>,
    conn: Conn,
    opening: Opening,
    input: I,
    output: O,
) -> impl Future<Output = ()> + Send
where
    S: Service,
    I: Input,
    O: Output,
{
    let peer = &conn.peer;
    let span = info_span!("conn", service = %service.name(), transport = peer.transport, peer = %peer.addr, id = peer.id, user = tracing::field::Empty);
    run(service, conn, opening, input, output).instrument(span)
}

fn run<S, I, O>(
    service: Arc<S>,
    conn: Conn,
    opening: Opening,
    mut input: I,
    output: O,
) -> impl Future<Output = ()> + Send
where
    S: Service,
    I: Input,
    O: Output,
{
    let Conn { peer, limits, shutdown, mut ticket, bans } = conn;
    async move {
        let metrics = Arc::clone(service.metrics());
        let open = metrics.connections.inc();
        metrics.connections_total.inc();
        info!(open, "connected ({open} connections)");

        let outbox = Outbox::bounded_in(limits.outbound_queue, limits.outbound_bytes, limits.lang);
        if let Some(m) = opening.mode {
            outbox.set_mode(m);
        }
        if let (Some(quiet), Some(socket)) = (limits.direct_write_quiet, output.direct()) {
            outbox.attach_direct(socket, quiet, Arc::clone(&metrics));
        }
        let mut user = None;
        let mut ending = Ending::PeerGone;
        // Without a gap there are no unframed clients to spare: greet at once.
        let mut greeting = opening.greeting.map(Greeting);
        if limits.unframed_gap.is_none()
            && let Some(greeting) = greeting.take()
        {
            outbox.send(greeting);
        }

        // A value moved out of a local keeps its space in the task: the session goes straight
        // into `Inbound`, and both halves are built inside `join!` rather than bound to locals
        // first.
        let mut inbound = Inbound::new(
            service.open(peer.clone(), outbox.clone()),
            outbox.clone(),
            opening.mode,
            &limits,
            Arc::clone(&metrics),
        );
        tokio::join!(
            async {
                let reading = Reading { outbox: &outbox, limits: &limits, shutdown: &shutdown };
                let mut guard = Guard { ticket: &mut ticket, bans: &bans, peer: &peer, registration: None };
                ending = read_loop(&mut input, &mut inbound, &mut guard, greeting, reading).await;
                if ending == Ending::LoginTimeout {
                    metrics.login_timeouts.inc();
                    let secs = limits.login_timeout.map_or(0, |t| t.as_secs());
                    outbox.send(Notice::error(
                        ErrorCode::LoginTimeout,
                        msg!("error-login-timeout", secs = secs),
                    ));
                }
                user = inbound.user().map(str::to_owned);
                // Boxed: closing moves the session (and its close, which may wait for the bus)
                // out of this task's lifelong state.
                Box::pin(inbound.finish(ending.clone())).await;
            },
            write_loop(output, &outbox, &limits, &metrics),
        );
        if outbox.overflowed() {
            metrics.slow_disconnects.inc();
        }
        // Drain what the peer still sends so that our close is clean, not a reset.
        let _ = timeout(limits.linger, async { while input.next().await.is_some() {} }).await;

        let open = metrics.connections.dec();
        let why = if outbox.overflowed() { "too slow to read".to_owned() } else { ending.to_string() };
        info!(user = user.as_deref(), %why, open, "disconnected");
    }
}

/// What a connection holds while it reads: its admission ticket, and once logged in, its place
/// among the connections a ban can end.
struct Guard<'a> {
    ticket: &'a mut Ticket,
    bans: &'a Bans,
    peer: &'a Peer,
    registration: Option<Registration>,
}

impl Guard<'_> {
    /// After each request: a session that has just logged in gives up its pending place and, if
    /// it has a user (the relay's sessions have none), registers for bans.
    fn update<S: Session>(&mut self, inbound: &Inbound<S>, outbox: &Outbox) {
        if self.ticket.is_pending() && inbound.admitted() {
            self.ticket.logged_in();
        }
        if self.registration.is_none()
            && let Some(user) = inbound.ban_name()
        {
            let admin = inbound.is_admin();
            self.registration = Some(self.bans.enter(self.peer.id, user, admin, self.peer.addr, outbox));
        }
    }
}

/// What the read loop watches besides its input.
struct Reading<'a> {
    outbox: &'a Outbox,
    limits: &'a Limits,
    shutdown: &'a CancellationToken,
}

/// Read and handle the peer's input until the connection ends, and say why (a plain function
/// returning its `async` block, which holds its arguments once; see [`drive`]).
#[allow(
    clippy::manual_async_fn,
    reason = "an `async fn` would keep its arguments twice in the connection's task"
)]
fn read_loop<'a, S: Session, I: Input>(
    input: &'a mut I,
    inbound: &'a mut Inbound<S>,
    guard: &'a mut Guard<'_>,
    mut greeting: Option<Greeting>,
    Reading { outbox, limits, shutdown }: Reading<'a>,
) -> impl Future<Output = Ending> + Send + 'a {
    async move {
        let login_deadline = limits.login_timeout.map(|t| Instant::now() + t);
        // A connection still silent at this instant is greeted (see the module documentation).
        let quiet_deadline = Instant::now() + limits.unframed_gap.unwrap_or_default();
        loop {
            let login_pending = login_deadline.filter(|_| guard.ticket.is_pending());
            let await_quiet = greeting.is_some() && !input.heard();
            // The futures are built inside `select!` rather than bound to locals first, which would
            // store each twice in the connection's lifelong task (see `run`).
            let item = tokio::select! {
                biased;
                _ = shutdown.cancelled() => return Ending::Shutdown,
                _ = outbox.closing() => return Ending::OutboxClosed,
                _ = sleep_until(login_pending.unwrap_or(quiet_deadline)), if login_pending.is_some() => {
                    return Ending::LoginTimeout
                }
                // Before the quiet timer, so that bytes that came meanwhile are read (and heard)
                // before a late timer is looked at.
                item = async {
                    match limits.idle_timeout {
                        Some(idle) => timeout(idle, input.next()).await.ok(),
                        None => Some(input.next().await),
                    }
                } => item,
                _ = sleep_until(quiet_deadline), if await_quiet => {
                    // If bytes came (part of a first message), that message decides, below.
                    if !input.heard()
                        && let Some(greeting) = greeting.take()
                    {
                        outbox.send(greeting);
                    }
                    continue;
                }
            };
            let item = match item {
                None => return Ending::Idle,
                Some(None) | Some(Some(Err(_))) => return Ending::PeerGone,
                Some(Some(Ok(item))) => item,
            };
            if let Some(greeting) = greeting.take()
                && input.framing() != Framing::Bursts
            {
                outbox.send(greeting);
            }
            let flow = inbound.on_item(item).await;
            if let Some(m) = inbound.mode() {
                outbox.set_mode(m);
            }
            guard.update(inbound, outbox);
            if let Flow::Close(reason) = flow {
                return Ending::Requested(reason);
            }
        }
    }
}

/// Write the outbox's batches to `out` until the connection ends, then finish the output (a plain
/// function returning its `async` block, like [`read_loop`]).
#[allow(
    clippy::manual_async_fn,
    reason = "an `async fn` would keep its arguments twice in the connection's task"
)]
fn write_loop<'a, O: Output + 'a>(
    mut out: O,
    outbox: &'a Outbox,
    limits: &'a Limits,
    metrics: &'a ServiceMetrics,
) -> impl Future<Output = ()> + Send + 'a {
    async move {
        let mut batch = Batch::new();
        let mut buf = Vec::new();
        let keepalive_every = out.keepalive_every();
        // Whether the writer (or the outbox's queue) holds more than an idle connection keeps.
        let mut holding = false;
        loop {
            // Holding more: wait only a little for the next batch, then give it back (see below).
            let wait = if holding { Some(RELEASE_AFTER) } else { keepalive_every };
            let open = match wait {
                None => outbox.next_batch(&mut batch).await,
                Some(wait) => match timeout(wait, outbox.next_batch(&mut batch)).await {
                    Ok(open) => open,
                    Err(_) if holding => {
                        holding = false;
                        buf = Vec::new();
                        batch = Batch::new();
                        outbox.release_spare();
                        continue;
                    }
                    Err(_) => {
                        // Idle for a while: make sure the peer is still there.
                        if !matches!(timeout(limits.write_timeout, out.keepalive()).await, Ok(Ok(()))) {
                            outbox.abort();
                            return;
                        }
                        continue;
                    }
                },
            };
            if !batch.is_empty() {
                // Nothing is queued before the first line decides the mode, except the greeting
                // (the same bytes in either mode) and a final `bye` to a client that never spoke,
                // which goes out as text.
                metrics.frames_out.add(batch.len() as u64);
                if !write_batch(&mut out, outbox, &batch, &mut buf, limits).await {
                    outbox.abort();
                    return;
                }
                batch.clear();
                buf.clear();
                let queue_spare = outbox.written();
                // Keep the buffers while messages keep coming; once the connection has been idle for
                // `RELEASE_AFTER`, give them all back (an outsized one at once), so thousands of idle
                // connections hold no buffers at all rather than the high-water mark of their
                // busiest moment. Giving them back as soon as the outbox is empty would, under load,
                // free and grow them again for every batch; after a quiet spell it costs a connection
                // that gets one message now and then a few small allocations per message, next to
                // the wake-up and the system call each of those messages costs anyway.
                if buf.capacity() > KEEP_WRITE_BUFFER {
                    buf = Vec::new();
                }
                holding = queue_spare || buf.capacity() > 0 || batch.holds_memory();
            }
            if !open {
                break;
            }
        }
        let _ = timeout(limits.write_timeout, out.finish()).await;
    }
}

/// Encode and write `batch`. A transport that can write without waiting (TCP) is written from
/// the batch itself when all of it was encoded at the push, else from the thread's buffer, and
/// only what the socket does not take at once is kept, in `buf`, while the writer waits for the
/// socket; others are encoded into `buf`. Returns false if the write failed or timed out.
async fn write_batch<O: Output>(
    out: &mut O,
    outbox: &Outbox,
    batch: &Batch,
    buf: &mut Vec<u8>,
    limits: &Limits,
) -> bool {
    // Write what the socket takes of `bytes` now; keep the rest in `buf`.
    let try_now = |socket: &dyn TryWrite, bytes: &[u8], buf: &mut Vec<u8>| match socket.try_write(bytes) {
        Ok(n) => {
            buf.extend_from_slice(&bytes[n.min(bytes.len())..]);
            true
        }
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
            buf.extend_from_slice(bytes);
            true
        }
        Err(_) => false,
    };
    let now = out.write_now().map(|socket| match batch.only_encoded() {
        Some(bytes) => try_now(socket, bytes, buf),
        None => with_thread_buffer(|scratch| {
            outbox.write_batch(batch, scratch);
            try_now(socket, scratch, buf)
        }),
    });
    match now {
        Some(false) => return false,
        Some(true) => {}
        None => outbox.write_batch(batch, buf),
    }
    // What the socket did not take at once waits for room: rarely (a reader that fell behind),
    // so that wait is boxed rather than sizing every connection's lifelong task.
    buf.is_empty() || matches!(Box::pin(timeout(limits.write_timeout, out.write(buf))).await, Ok(Ok(())))
}

/// A TCP socket's write half, shared with the connection's outbox for direct writes.
struct TcpOutput(Arc<OwnedWriteHalf>);

/// The write half, as the outbox writes to it directly.
struct TcpSocket(Arc<OwnedWriteHalf>);

impl TryWrite for TcpSocket {
    fn try_write(&self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.try_write(bytes)
    }
}

impl TryWrite for OwnedWriteHalf {
    fn try_write(&self, bytes: &[u8]) -> std::io::Result<usize> {
        OwnedWriteHalf::try_write(self, bytes)
    }
}

impl Output for TcpOutput {
    async fn write(&mut self, mut bytes: &[u8]) -> std::io::Result<()> {
        while !bytes.is_empty() {
            self.0.writable().await?;
            match self.0.try_write(bytes) {
                Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
                Ok(n) => bytes = &bytes[n..],
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    async fn finish(&mut self) {
        let stream: &TcpStream = (*self.0).as_ref();
        let _ = socket2::SockRef::from(stream).shutdown(std::net::Shutdown::Write);
    }

    fn direct(&self) -> Option<Box<dyn TryWrite>> {
        Some(Box::new(TcpSocket(Arc::clone(&self.0))))
    }

    fn write_now(&self) -> Option<&dyn TryWrite> {
        Some(&*self.0)
    }
}

/// A byte stream's output: the write half of a TLS stream.
struct StreamOutput<W>(W);

impl<W: AsyncWrite + Unpin + Send> Output for StreamOutput<W> {
    async fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.0.write_all(bytes).await?;
        // TLS may keep the last record in its buffer until flushed; for TCP this is a no-op.
        self.0.flush().await
    }

    async fn finish(&mut self) {
        let _ = self.0.shutdown().await;
    }
}

/// Serve one accepted, admitted TCP connection until it ends (a plain function, like [`drive`]).
pub(crate) fn serve<S: Service>(
    service: Arc<S>,
    stream: TcpStream,
    conn: Conn,
) -> impl Future<Output = ()> + Send {
    // Small messages must not wait for the peer's delayed ACK.
    let _ = stream.set_nodelay(true);
    // A socket splits into two owned halves without a lock between them.
    let (read_half, write_half) = stream.into_split();
    let output = TcpOutput(Arc::new(write_half));
    serve_output(service, read_half, output, conn)
}

/// Serve a connection over any other byte stream (TLS) until it ends.
pub(crate) fn serve_stream<S, T>(service: Arc<S>, stream: T, conn: Conn) -> impl Future<Output = ()> + Send
where
    S: Service,
    T: AsyncRead + AsyncWrite + Send + Unpin,
{
    let (read_half, write_half) = tokio::io::split(stream);
    serve_output(service, read_half, StreamOutput(write_half), conn)
}

fn serve_output<S, R, O>(
    service: Arc<S>,
    read_half: R,
    output: O,
    conn: Conn,
) -> impl Future<Output = ()> + Send
where
    S: Service,
    R: AsyncRead + Send + Unpin,
    O: Output,
{
    let (max_line, gap) = (conn.limits.max_line, conn.limits.unframed_gap);
    let input = ByteInput::new(read_half, max_line, gap, READ_BUFFER);
    let opening =
        Opening { greeting: Some(conn.limits.lang.scope(|| service.greeting())), mode: service.mode() };
    drive(service, conn, opening, input, output)
}

#[cfg(test)]
mod tests {
    use tokio::io::AsyncReadExt;
    use tokio::net::TcpListener;

    use super::*;
    use crate::net::outbox::Frame;

    /// A loopback connection: the client's end and the server's.
    async fn connected() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
        let (server, _) = listener.accept().await.unwrap();
        (client, server)
    }

    /// The writer on a real socket, a burst of 2 000 lines, read by the client: the writer keeps
    /// what the burst grew while lines keep coming, and gives it back once the connection has been
    /// idle for `RELEASE_AFTER`.
    #[tokio::test]
    async fn an_idle_writer_gives_back_what_a_burst_grew() {
        let (mut client, server) = connected().await;
        let (_read, write) = server.into_split();
        let limits = Limits::of(&crate::config::Config::default());
        let metrics = ServiceMetrics::default();
        let outbox = Outbox::bounded(10_000, 1 << 24);
        outbox.set_mode(sockhub_proto::Mode::Text);
        let lines = 2000;
        let line = Frame::new(Greeting("a line of the burst\n".into()));
        for _ in 0..lines {
            outbox.push(&line);
        }
        let writer = tokio::spawn({
            let outbox = outbox.clone();
            async move { write_loop(TcpOutput(Arc::new(write)), &outbox, &limits, &metrics).await }
        });
        let mut got = Vec::new();
        let mut chunk = [0u8; 65536];
        while got.len() < lines * 20 {
            let n = client.read(&mut chunk).await.unwrap();
            assert!(n > 0, "the writer stopped early");
            got.extend_from_slice(&chunk[..n]);
        }
        assert_eq!(got.len(), lines * 20);
        // While it keeps coming, the queue keeps its slots: a second burst is taken at once.
        for _ in 0..lines {
            outbox.push(&line);
        }
        tokio::time::sleep(RELEASE_AFTER / 5).await;
        // The writer took the burst, and the queue goes on in the writer's grown batch (its
        // bytes: the lines of a long queue are copied at the push).
        let (_, bytes) = outbox.queue_capacity();
        assert!(bytes >= (lines - crate::net::outbox::COPY_FROM) * 20, "kept while busy: {bytes}");
        while got.len() < 2 * lines * 20 {
            let n = client.read(&mut chunk).await.unwrap();
            assert!(n > 0, "the writer stopped early");
            got.extend_from_slice(&chunk[..n]);
        }
        tokio::time::sleep(RELEASE_AFTER * 3).await;
        assert_eq!(outbox.queue_capacity(), (0, 0), "given back when idle");
        outbox.close_with(None);
        writer.await.unwrap();
    }

    /// The writer on a real socket with a small send buffer, to a client that does not read until
    /// everything is queued: what the socket does not take at once from the thread's buffer is
    /// kept and written when the socket drains, and every line arrives, in order.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn what_a_full_socket_does_not_take_is_written_later_in_order() {
        let (mut client, server) = connected().await;
        let _ = socket2::SockRef::from(&server).set_send_buffer_size(4096);
        let (_read, write) = server.into_split();
        let limits = Limits::of(&crate::config::Config::default());
        let metrics = ServiceMetrics::default();
        let outbox = Outbox::bounded(100_000, 1 << 26);
        outbox.set_mode(sockhub_proto::Mode::Text);
        let lines = 20_000;
        for i in 0..lines {
            outbox.push(&Frame::new(Greeting(format!("line {i:06} of the burst\n"))));
        }
        let writer = tokio::spawn({
            let outbox = outbox.clone();
            async move { write_loop(TcpOutput(Arc::new(write)), &outbox, &limits, &metrics).await }
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        outbox.close_with(None);
        let mut got = Vec::new();
        client.read_to_end(&mut got).await.unwrap();
        writer.await.unwrap();
        let text = String::from_utf8(got).unwrap();
        let mut n = 0;
        for (i, line) in text.lines().enumerate() {
            assert_eq!(line, format!("line {i:06} of the burst"));
            n += 1;
        }
        assert_eq!(n, lines);
    }
}
