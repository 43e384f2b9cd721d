//! Binding listeners and accepting connections.
//!
//! [`bind`] creates the socket with `SO_REUSEADDR`, so a restarted server can bind its port at
//! once even while connections of the previous run sit in TIME_WAIT (the original projects waited
//! ~13 s on "Address already in use"). [`accept_loop`] goes straight back to `accept` after each
//! connection: the connection runs in its own task, tracked so that shutdown can wait for it.
//! A client over the connection limit is told `server_full` and closed; an accept error (out of
//! file descriptors, say) is logged and retried after a pause instead of ending the loop.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sockhub_proto::ErrorCode;
use sockhub_proto::notice::Notice;
use sockhub_proto::wire::render;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{info, warn};

use crate::net::connection;
use crate::net::limits::Limits;
use crate::net::tls::{self, ServerTls};
use crate::session::{Peer, Service};

/// How long to back off when `accept` fails (e.g. out of file descriptors).
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

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
            info!(service = service.name(), peer = %addr, "refused {addr}: server full");
            // A TLS client could not read the plain-text notice: it is just closed.
            if matches!(transport, Transport::Plain) {
                ctx.tracker.spawn(refuse(stream, ctx.limits.write_timeout));
            }
            continue;
        };
        let peer = Peer { addr, transport: "tcp", id: ctx.next_id() };
        let (service, limits, shutdown) =
            (Arc::clone(&service), Arc::clone(&ctx.limits), ctx.shutdown.clone());
        let transport = transport.clone();
        ctx.tracker.spawn(async move {
            match transport {
                Transport::Plain => connection::serve(service, stream, peer, limits, shutdown).await,
                Transport::Tls(tls, port) => {
                    tls::serve(tls, port, service, stream, peer, limits, shutdown).await
                }
            }
            drop(slot);
        });
    }
}

/// Tell an over-limit client why, then close.
async fn refuse(mut stream: TcpStream, write_timeout: Duration) {
    let notice = Notice::error(ErrorCode::ServerFull, "the server is full; try again later");
    let _ = tokio::time::timeout(write_timeout, async {
        stream.write_all(render(&notice, sockhub_proto::Mode::Text).as_bytes()).await?;
        stream.shutdown().await
    })
    .await;
}
