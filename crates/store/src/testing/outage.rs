//! Outages on demand: [`OutageSwitch`] makes a test database unavailable and available again
//! on any backend, through a lock on SQLite and a [`TcpProxy`] in front of a server (which can
//! also cut a connection right after it forwarded a given statement, e.g. `COMMIT`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::{Connection, Executor};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// Makes a test database unavailable and available again, the same way on every backend as
/// far as the store can tell: its writes fail until [`OutageSwitch::restore`].
pub enum OutageSwitch {
    /// Another connection holds `BEGIN EXCLUSIVE`: every write waits its busy timeout and
    /// fails with `database is locked`.
    Sqlite { path: PathBuf, conn: Option<sqlx::SqliteConnection> },
    /// The store talks to the server through this proxy; cutting it drops every connection
    /// and refuses new ones.
    Proxy(TcpProxy),
}

impl OutageSwitch {
    /// Starts the outage.
    pub async fn cut(&mut self) {
        match self {
            OutageSwitch::Sqlite { path, conn } => {
                let opts = sqlx::sqlite::SqliteConnectOptions::new()
                    .filename(&*path)
                    .busy_timeout(Duration::from_secs(10));
                let mut c =
                    sqlx::SqliteConnection::connect_with(&opts).await.expect("open SQLite lock connection");
                c.execute("BEGIN EXCLUSIVE").await.expect("take SQLite exclusive lock");
                *conn = Some(c);
            }
            OutageSwitch::Proxy(p) => p.cut(),
        }
    }

    /// Ends the outage.
    pub async fn restore(&mut self) {
        match self {
            OutageSwitch::Sqlite { conn, .. } => {
                if let Some(mut c) = conn.take() {
                    c.execute("ROLLBACK").await.expect("release SQLite lock");
                    let _ = c.close().await;
                }
            }
            OutageSwitch::Proxy(p) => p.restore(),
        }
    }

    /// The proxy, for a server backend.
    pub fn proxy(&self) -> Option<&TcpProxy> {
        match self {
            OutageSwitch::Proxy(p) => Some(p),
            OutageSwitch::Sqlite { .. } => None,
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct ProxyState {
    cut: bool,
    /// Bumped by every cut; a connection ends when the generation it started in is over.
    generation: u64,
}

/// A TCP proxy on 127.0.0.1 (an OS-chosen port) in front of a real server, for outage tests.
///
/// [`TcpProxy::cut`] drops every open connection and stops listening (new connections are
/// refused); [`TcpProxy::restore`] listens again on the same port. [`TcpProxy::cut_after`]
/// arms a one-shot trigger that cuts right after forwarding client bytes containing a pattern
/// (e.g. `COMMIT`), so the server gets the statement but the client never gets the reply.
pub struct TcpProxy {
    addr: SocketAddr,
    state: watch::Sender<ProxyState>,
    trigger: Arc<Mutex<Option<Vec<u8>>>>,
    task: tokio::task::JoinHandle<()>,
}

impl TcpProxy {
    /// Starts proxying to `target` (`host:port`).
    pub async fn start(target: impl Into<String>) -> std::io::Result<TcpProxy> {
        let target = target.into();
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (state, state_rx) = watch::channel(ProxyState::default());
        let trigger = Arc::new(Mutex::new(None));
        let task =
            tokio::spawn(accept_loop(listener, addr, target, state.clone(), state_rx, trigger.clone()));
        Ok(TcpProxy { addr, state, trigger, task })
    }

    /// Where clients should connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Drops every connection and refuses new ones until [`TcpProxy::restore`].
    pub fn cut(&self) {
        cut(&self.state);
    }

    /// Accepts connections again.
    pub fn restore(&self) {
        self.state.send_modify(|s| s.cut = false);
    }

    /// Whether the proxy is cut now.
    pub fn is_cut(&self) -> bool {
        self.state.borrow().cut
    }

    /// Cuts (as [`TcpProxy::cut`]) right after the next client-to-server chunk containing
    /// `pattern` has been forwarded.
    pub fn cut_after(&self, pattern: &[u8]) {
        *self.trigger.lock().unwrap_or_else(|p| p.into_inner()) = Some(pattern.to_vec());
    }

    /// Waits until the proxy is cut (e.g. by a [`TcpProxy::cut_after`] trigger).
    pub async fn wait_cut(&self) {
        let mut rx = self.state.subscribe();
        let _ = rx.wait_for(|s| s.cut).await;
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        cut(&self.state);
        self.task.abort();
    }
}

fn cut(state: &watch::Sender<ProxyState>) {
    state.send_modify(|s| {
        s.cut = true;
        s.generation += 1;
    });
}

async fn accept_loop(
    first: TcpListener,
    addr: SocketAddr,
    target: String,
    state: watch::Sender<ProxyState>,
    mut rx: watch::Receiver<ProxyState>,
    trigger: Arc<Mutex<Option<Vec<u8>>>>,
) {
    let mut listener = Some(first);
    loop {
        // While cut there is no listener at all, so connection attempts are refused.
        if rx.wait_for(|s| !s.cut).await.is_err() {
            return;
        }
        let l = match listener.take() {
            Some(l) => l,
            None => match rebind(addr).await {
                Some(l) => l,
                None => return,
            },
        };
        let generation = rx.borrow().generation;
        loop {
            tokio::select! {
                accepted = l.accept() => {
                    let Ok((client, _)) = accepted else { continue };
                    tokio::spawn(pump(
                        client,
                        target.clone(),
                        state.clone(),
                        generation,
                        trigger.clone(),
                    ));
                }
                over = rx.wait_for(|s| s.cut || s.generation != generation) => {
                    if over.is_err() {
                        return;
                    }
                    break;
                }
            }
        }
        // `l` is dropped here: the port stops listening.
    }
}

async fn rebind(addr: SocketAddr) -> Option<TcpListener> {
    for _ in 0..50 {
        match TcpListener::bind(addr).await {
            Ok(l) => return Some(l),
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
    eprintln!("warning: TCP proxy could not listen on {addr} again");
    None
}

async fn pump(
    client: TcpStream,
    target: String,
    state: watch::Sender<ProxyState>,
    generation: u64,
    trigger: Arc<Mutex<Option<Vec<u8>>>>,
) {
    let mut rx = state.subscribe();
    let Ok(upstream) = TcpStream::connect(&target).await else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = upstream.set_nodelay(true);
    let (mut cr, mut cw) = client.into_split();
    let (mut ur, mut uw) = upstream.into_split();
    let to_server = async {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = match cr.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            if uw.write_all(&buf[..n]).await.is_err() {
                break;
            }
            let fire = {
                let mut t = trigger.lock().unwrap_or_else(|p| p.into_inner());
                let hit = t.as_deref().is_some_and(|p| buf[..n].windows(p.len()).any(|w| w == p));
                if hit {
                    t.take();
                }
                hit
            };
            if fire {
                let _ = uw.flush().await;
                cut(&state);
                break;
            }
        }
        let _ = uw.shutdown().await;
    };
    let to_client = async {
        let _ = tokio::io::copy(&mut ur, &mut cw).await;
        let _ = cw.shutdown().await;
    };
    tokio::select! {
        _ = async { tokio::join!(to_server, to_client) } => {}
        _ = rx.wait_for(|s| s.generation != generation) => {}
    }
    // Both sockets are dropped here, closing them.
}
