//! Binding listeners and accepting connections.
//!
//! [`bind`] creates the socket with `SO_REUSEADDR`, so a restarted server can bind its port at
//! once even while connections of the previous run sit in TIME_WAIT (the original projects waited
//! ~13 s on "Address already in use"). [`accept_loop`] goes straight back to `accept` after each
//! connection: the connection runs in its own task, tracked so that shutdown can wait for it.
//! A client over the connection limit is told `server_full` and closed; an accept error (out of
//! file descriptors, say) is logged and retried after a pause instead of ending the loop.
//!
//! Each accepted connection then, in its own task so that a slow peer never holds up `accept`:
//! gets TCP keepalive (a peer that vanished without a FIN is found within minutes), reads the
//! PROXY header if it comes from a trusted proxy ([`proxy`](super::proxy)), and takes its
//! [`Ticket`] for the client's address ([`admission`](super::admission)); a client over a
//! per-address cap is told `too_many_connections` and closed.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use socket2::{SockRef, TcpKeepalive};
use sockhub_i18n::msg;
use sockhub_proto::ErrorCode;
use sockhub_proto::notice::Notice;
use sockhub_proto::wire::render_in;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{info, warn};

use crate::metrics::ServiceMetrics;
use crate::net::admission::{Admission, Ticket};
use crate::net::connection::{self, Conn};
use crate::net::limits::Limits;
use crate::net::proxy::ProxyProtocol;
use crate::net::tls::{self, ServerTls};
use crate::session::{Peer, Service};

/// The most a connection's task may hold (bytes of its future, in a test build): see
/// [`serve_accepted`]. About 2.2 KiB today (2.4 KiB for IRC, the largest); it was 15 KiB in a
/// release build before the TLS path and the session's close were boxed and the driver stopped
/// keeping a second copy of its reader, and 3.5 KiB before the layers between the accept and the
/// connection's driver became plain functions (`connection::drive`). Each showed as that much
/// more resident memory per idle connection in `sockhub bench connections`.
#[cfg(test)]
const MAX_TASK_BYTES: usize = 2560;

/// How long to back off when `accept` fails (e.g. out of file descriptors).
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);
/// TCP keepalive: the interval between probes once they start, and how many may go unanswered.
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(10);
const KEEPALIVE_RETRIES: u32 = 5;

/// Bind a listening socket with `SO_REUSEADDR`. Port 0 asks the OS for a free port.
pub fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
}

/// What every accept loop shares.
#[derive(Clone)]
pub struct NetContext {
    pub limits: Arc<Limits>,
    pub shutdown: CancellationToken,
    pub tracker: TaskTracker,
    /// Connection slots, shared by every service (the `max_connections` limit).
    pub slots: Arc<Semaphore>,
    pub next_id: Arc<AtomicU64>,
    /// The per-address and not-logged-in caps, shared by every service and the WebSockets.
    pub admission: Arc<Admission>,
    /// Which peers send a PROXY header.
    pub proxy: Arc<ProxyProtocol>,
    /// The bans in force; logged-in connections register with it so a ban can end them.
    pub bans: Arc<crate::bans::Bans>,
}

impl NetContext {
    /// A fresh connection number.
    pub fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }
}

/// How a listener's connections are served: as they come, or after a TLS handshake.
#[derive(Clone)]
pub enum Transport {
    Plain,
    Tls(Arc<ServerTls>, tls::Port),
}

/// Accept connections for `service` until shutdown.
pub async fn accept_loop<S: Service>(
    listener: TcpListener,
    service: Arc<S>,
    ctx: NetContext,
    transport: Transport,
) {
    loop {
        let accepted = tokio::select! {
            _ = ctx.shutdown.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, addr) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                warn!(service = service.name(), error = %e, "accept failed; pausing");
                tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                continue;
            }
        };
        let Ok(slot) = Arc::clone(&ctx.slots).try_acquire_owned() else {
            service.metrics().connections_refused.inc();
            info!(service = service.name(), peer = %addr, "refused: server full");
            // A TLS client could not read the plain-text notice: it is just closed.
            if matches!(transport, Transport::Plain) {
                ctx.tracker.spawn(refuse(stream, Arc::clone(&ctx.limits)));
            }
            continue;
        };
        let (service, task_ctx, transport) = (Arc::clone(&service), ctx.clone(), transport.clone());
        ctx.tracker.spawn(serve_accepted(service, stream, addr, task_ctx, transport, slot));
    }
}

/// One accepted connection's task: admission, then the plain or TLS connection until it ends;
/// its connection slot is given back when the task ends.
///
/// This future is what every open connection costs in task memory, idle or not, so it is kept
/// small: whatever is large and not always needed (a request being handled, a session closing,
/// a write waiting for a full socket, all of TLS) is boxed where it is awaited;
/// `tests::a_connection_task_stays_small` holds it to [`MAX_TASK_BYTES`].
///
/// A plain function returning an `async` block, not an `async fn`: the block holds each value it
/// was given once, where an `async fn` would keep its arguments twice (see `connection::drive`).
#[allow(
    clippy::manual_async_fn,
    reason = "an `async fn` would keep its arguments twice in the connection's task"
)]
fn serve_accepted<S: Service>(
    service: Arc<S>,
    stream: TcpStream,
    addr: SocketAddr,
    ctx: NetContext,
    transport: Transport,
    slot: OwnedSemaphorePermit,
) -> impl Future<Output = ()> + Send {
    async move {
        // A TLS client could not read a plain-text refusal: it is just closed.
        let can_tell = matches!(transport, Transport::Plain);
        if let Some((stream, addr, ticket)) = admit(stream, addr, &ctx, service.metrics(), can_tell).await {
            let peer = Peer { addr, transport: "tcp", id: ctx.next_id() };
            let conn = Conn { peer, limits: ctx.limits, shutdown: ctx.shutdown, ticket, bans: ctx.bans };
            match transport {
                Transport::Plain => connection::serve(service, stream, conn).await,
                // Boxed: a TLS connection's state (handshake, stream) is several times a plain
                // one's, and inline it would size every plain connection's task too.
                Transport::Tls(tls, port) => Box::pin(tls::serve(tls, port, service, stream, conn)).await,
            }
        }
        // Held until the connection ends (and named here, so that the block owns it).
        drop(slot);
    }
}

/// Keepalive, the PROXY header (which comes before a TLS handshake), and the per-address caps
/// for one accepted connection. `None`: it was refused (and told why, when `can_tell`) or its
/// proxy sent no valid header.
async fn admit(
    mut stream: TcpStream,
    mut addr: SocketAddr,
    ctx: &NetContext,
    metrics: &ServiceMetrics,
    can_tell: bool,
) -> Option<(TcpStream, SocketAddr, Ticket)> {
    if let Some(idle) = ctx.limits.keepalive {
        let keepalive = TcpKeepalive::new()
            .with_time(idle)
            .with_interval(KEEPALIVE_INTERVAL)
            .with_retries(KEEPALIVE_RETRIES);
        let _ = SockRef::from(&stream).set_tcp_keepalive(&keepalive);
    }
    if ctx.proxy.expects_header(addr.ip()) {
        match ctx.proxy.read(&mut stream, addr).await {
            Ok(client) => addr = client,
            Err(e) => {
                warn!(proxy = %addr, error = %e, "closing a connection from a trusted proxy without a valid PROXY header");
                return None;
            }
        }
    }
    match ctx.admission.admit(addr.ip()) {
        Ok(ticket) => Some((stream, addr, ticket)),
        Err(refusal) => {
            metrics.connections_refused_admission.inc();
            info!(peer = %addr, %refusal, "refused");
            if can_tell {
                let notice = Notice::error(ErrorCode::TooManyConnections, refusal.message());
                refuse_with(stream, notice, &ctx.limits).await;
            }
            None
        }
    }
}

/// Tell an over-limit client why, then close.
async fn refuse(stream: TcpStream, limits: Arc<Limits>) {
    let notice = Notice::error(ErrorCode::ServerFull, msg!("error-server-full"));
    refuse_with(stream, notice, &limits).await
}

/// Send one notice, as text (the client has not chosen a mode), then close.
async fn refuse_with(mut stream: TcpStream, notice: Notice, limits: &Limits) {
    let lang = limits.lang;
    let _ = tokio::time::timeout(limits.write_timeout, async {
        stream.write_all(render_in(&notice, sockhub_proto::Mode::Text, lang).as_bytes()).await?;
        stream.shutdown().await
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::Harness;

    /// The future of one accepted connection on `service`, measured and dropped unpolled.
    async fn task_bytes<S: Service>(service: &Arc<S>, ctx: &NetContext, transport: Transport) -> usize {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
        let client = TcpStream::connect(listener.local_addr().expect("bound")).await.expect("connects");
        let (stream, addr) = listener.accept().await.expect("accepts");
        let slot = Arc::clone(&ctx.slots).try_acquire_owned().expect("a free slot");
        let task = serve_accepted(Arc::clone(service), stream, addr, ctx.clone(), transport, slot);
        let bytes = std::mem::size_of_val(&task);
        drop((task, client));
        bytes
    }

    #[tokio::test]
    async fn a_connection_task_stays_small() {
        let harness = Harness::start(|c| c.irc.enabled = true).await;
        let hub = harness.hub();
        let ctx = &hub.net;
        let mut sizes = Vec::new();
        if let Some(s) = &hub.chat {
            sizes.push(("chat", task_bytes(s, ctx, Transport::Plain).await));
        }
        if let Some(s) = &hub.irc {
            sizes.push(("irc", task_bytes(s, ctx, Transport::Plain).await));
        }
        if let Some(s) = &hub.quiz {
            sizes.push(("quiz", task_bytes(s, ctx, Transport::Plain).await));
        }
        if let Some(s) = &hub.calc {
            sizes.push(("calc", task_bytes(s, ctx, Transport::Plain).await));
        }
        if let Some(s) = &hub.relay {
            sizes.push(("relay", task_bytes(s, ctx, Transport::Plain).await));
        }
        assert_eq!(sizes.len(), 5, "the harness runs every service: {sizes:?}");
        for (service, bytes) in sizes {
            assert!(
                bytes <= MAX_TASK_BYTES,
                "a {service} connection's task is {bytes} bytes, more than {MAX_TASK_BYTES}: box what is large \
                 and rarely needed where it is awaited, and keep layers that only hand their arguments on \
                 plain functions (see `serve_accepted`)"
            );
        }
    }
}
