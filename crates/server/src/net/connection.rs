//! The TCP connection driver: one task per connection, a reader and a writer inside it.
//!
//! The reader turns bytes into lines with the [`LineCodec`] and feeds them to the shared
//! [`Inbound`] logic; the writer drains the connection's [`Outbox`] and writes each batch with a
//! single `write_all`. Both run in the same task (`join!`), so a connection costs one task.
//!
//! Ending a connection is one path, whatever the cause: the session is told ([`Ending`]), the
//! final `bye` is queued behind whatever is still waiting, the writer flushes and half-closes
//! (FIN), and then the reader keeps draining input for a short linger so that closing a socket
//! with unread input does not turn our FIN into a reset that destroys the `bye` in flight.
//! Every write is bounded by the write timeout, so a peer that stops reading cannot hold the
//! task forever.

use std::sync::{Arc, OnceLock};

use futures_util::StreamExt;
use sockhub_proto::{LineCodec, Mode};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::time::timeout;
use tokio_util::codec::FramedRead;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, info, info_span};

use crate::metrics::ServiceMetrics;
use crate::net::limits::Limits;
use crate::net::outbox::Outbox;
use crate::session::{Ending, Flow, Inbound, Peer, Service};

/// Bytes reserved for a connection's read buffer up front; it grows only for long lines.
const READ_BUFFER: usize = 512;
/// A write buffer larger than this after a burst is released rather than kept.
const KEEP_WRITE_BUFFER: usize = 16 * 1024;

/// Serve one accepted TCP connection until it ends.
pub(crate) async fn serve<S: Service>(
    service: Arc<S>,
    stream: TcpStream,
    peer: Peer,
    limits: Arc<Limits>,
    shutdown: CancellationToken,
) {
    let span = info_span!("conn", service = %service.name(), peer = %peer.addr, id = peer.id, user = tracing::field::Empty);
    run(service, stream, peer, limits, shutdown).instrument(span).await
}

async fn run<S: Service>(
    service: Arc<S>,
    stream: TcpStream,
    peer: Peer,
    limits: Arc<Limits>,
    shutdown: CancellationToken,
) {
    let metrics = Arc::clone(service.metrics());
    let open = metrics.connections.inc();
    metrics.connections_total.inc();
    info!("connected ({open} connections)");

    // Small messages must not wait for the peer's delayed ACK.
    let _ = stream.set_nodelay(true);
    let (read_half, mut write_half) = stream.into_split();
    let greeted = timeout(limits.write_timeout, write_half.write_all(service.greeting().as_bytes())).await;

    let outbox = Outbox::new(limits.outbound_queue);
    let mode = OnceLock::new();
    let mut lines = FramedRead::with_capacity(read_half, LineCodec::new(limits.max_line), READ_BUFFER);
    let mut user = None;
    let mut ending = Ending::PeerGone;

    if matches!(greeted, Ok(Ok(()))) {
        let session = service.open(peer.clone(), outbox.clone());
        let mut inbound = Inbound::new(session, outbox.clone(), None, &limits, Arc::clone(&metrics));
        let reader = async {
            ending = read_loop(&mut lines, &mut inbound, &outbox, &mode, &limits, &shutdown).await;
            user = inbound.user().map(str::to_owned);
            inbound.finish(ending.clone()).await;
        };
        let writer = write_loop(write_half, &outbox, &mode, &limits, &metrics);
        tokio::join!(reader, writer);
        if outbox.overflowed() {
            metrics.slow_disconnects.inc();
        }
        // Drain what the peer still sends so that our close is a FIN, not a reset.
        let _ = timeout(limits.linger, async { while lines.next().await.is_some() {} }).await;
    }

    let open = metrics.connections.dec();
    let why = if outbox.overflowed() { "too slow to read".to_owned() } else { ending.to_string() };
    let who = user.map(|u| format!("{u} ")).unwrap_or_default();
    info!("{who}disconnected: {why} ({open} connections)");
}

async fn read_loop<S: crate::session::Session>(
    lines: &mut FramedRead<OwnedReadHalf, LineCodec>,
    inbound: &mut Inbound<S>,
    outbox: &Outbox,
    mode: &OnceLock<Mode>,
    limits: &Limits,
    shutdown: &CancellationToken,
) -> Ending {
    loop {
        let next = async {
            match limits.idle_timeout {
                Some(idle) => timeout(idle, lines.next()).await.ok(),
                None => Some(lines.next().await),
            }
        };
        let item = tokio::select! {
            biased;
            _ = shutdown.cancelled() => return Ending::Shutdown,
            _ = outbox.closing() => return Ending::OutboxClosed,
            item = next => item,
        };
        let item = match item {
            None => return Ending::Idle,
            Some(None) | Some(Some(Err(_))) => return Ending::PeerGone,
            Some(Some(Ok(item))) => item,
        };
        let flow = inbound.on_item(item).await;
        if let Some(m) = inbound.mode() {
            let _ = mode.set(m);
        }
        if let Flow::Close(reason) = flow {
            return Ending::Requested(reason);
        }
    }
}

async fn write_loop(
    mut out: OwnedWriteHalf,
    outbox: &Outbox,
    mode: &OnceLock<Mode>,
    limits: &Limits,
    metrics: &ServiceMetrics,
) {
    let mut batch = Vec::new();
    let mut buf = Vec::new();
    loop {
        let open = outbox.next_batch(&mut batch).await;
        if !batch.is_empty() {
            // Nothing is queued before the first line decides the mode, except a final `bye`
            // to a client that never spoke: that one goes out as text, like the greeting.
            let mode = mode.get().copied().unwrap_or(Mode::Text);
            metrics.frames_out.add(batch.len() as u64);
            for frame in batch.drain(..) {
                buf.extend_from_slice(frame.encoded(mode));
            }
            if !matches!(timeout(limits.write_timeout, out.write_all(&buf)).await, Ok(Ok(()))) {
                outbox.abort();
                return;
            }
            buf.clear();
            if buf.capacity() > KEEP_WRITE_BUFFER {
                buf = Vec::new();
                batch = Vec::new();
            }
        }
        if !open {
            break;
        }
    }
    let _ = timeout(limits.write_timeout, out.shutdown()).await;
}
