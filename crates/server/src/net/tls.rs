//! TLS on the services' ports: the certificate every TLS port serves, its reload, and the
//! handshake in front of the shared connection driver.
//!
//! Each service's `tls_port` is a second listener beside its plain one. The accept loop is the
//! same; only the connection's task differs: it runs the handshake first ([`serve`]), bounded by
//! `[tls] handshake_timeout_secs` and by shutdown, and then hands the encrypted stream to
//! [`connection::serve_stream`] exactly as a plain connection is handed its socket. A handshake
//! that fails — a plain-text client on a TLS port, an untrusted client certificate, a scanner — is
//! logged with its reason, counted, and closed cleanly (our alert, our FIN, a short drain of what
//! the peer still sends so that the close is not a reset); it never reaches a service.
//!
//! **One certificate, three configurations.** [`ServerTls`] holds the certificate and key behind
//! a resolver that every handshake asks ([`Resolver`]); reloading swaps what the resolver
//! returns, so the next handshake gets the new certificate and connections already up keep
//! theirs. On it sit three rustls configurations: chat, quiz and calc ask for no client
//! certificate; the relay's port asks for one signed by `[tls] client_ca` when that is set (and
//! refuses a connection without one under `require_client_cert`), so that a Server2 takes records
//! only from its Server1s; the web port offers HTTP/2 and HTTP/1.1 by ALPN.
//!
//! **Reload and expiry.** [`ServerTls::watch`] re-reads the files when their size, inode or
//! modification time changes (polled every `reload_poll_secs`) and on SIGHUP. A pair that does
//! not load — half-copied, a key that belongs to another certificate — is logged and the old one
//! stays. A certificate that expires within `expiry_warning_days` is a warning at every load and
//! once a day; `/metrics` shows the seconds left ([`TlsMetrics`]).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use parking_lot::{Mutex, RwLock};
use sockhub_tls::rustls::ServerConfig;
use sockhub_tls::rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use sockhub_tls::rustls::sign::CertifiedKey;
use sockhub_tls::tokio_rustls::TlsAcceptor;
use sockhub_tls::tokio_rustls::server::TlsStream;
use sockhub_tls::{TlsError, certified_key, load_roots, not_after, provider};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::config::TlsConfig;
use crate::metrics::{Counter, Gauge};
use crate::net::connection::{self, Conn};
use crate::session::Service;

/// The most a failed handshake's peer may still send while we close (bytes); beyond it, the
/// close may be a reset.
const DRAIN_LIMIT: usize = 64 * 1024;
/// Once a day, a certificate near its expiry is mentioned again.
const EXPIRY_REMINDER: Duration = Duration::from_secs(24 * 3600);

/// Which configuration a TLS port uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Port {
    /// Chat, quiz, calc: no client certificate.
    Lines,
    /// The relay: a client certificate as `[tls] client_ca` and `require_client_cert` say.
    Relay,
    /// The web page: HTTP/2 and HTTP/1.1 by ALPN.
    Web,
}

/// TLS counters and the certificate's expiry, for `/metrics`.
#[derive(Debug, Default)]
pub struct TlsMetrics {
    /// The served certificate's notAfter, seconds since the epoch (0 = unknown).
    pub not_after: Gauge,
    pub reloads: Counter,
    pub reload_failures: Counter,
    pub handshake_failures: Counter,
    warning_secs: Gauge,
}

impl TlsMetrics {
    /// Seconds until the served certificate expires (negative once it has).
    pub fn expires_in(&self) -> Option<i64> {
        let at = self.not_after.get();
        (at != 0).then(|| at - unix_now())
    }
}

impl crate::metrics::Families for TlsMetrics {
    fn families(&self, out: &mut crate::metrics::FamilyWriter<'_>) -> std::fmt::Result {
        if let Some(left) = self.expires_in() {
            let expiring = left < self.warning_secs.get();
            out.gauge(
                "sockhub_tls_cert_expiry_seconds",
                "Seconds until the served TLS certificate expires.",
                left,
            )?;
            out.gauge(
                "sockhub_tls_cert_expiring",
                "1 when the TLS certificate expires within [tls] expiry_warning_days.",
                expiring,
            )?;
        }
        for (name, help, value) in [
            ("sockhub_tls_reloads_total", "Certificate reloads that took effect.", &self.reloads),
            (
                "sockhub_tls_reload_failures_total",
                "Certificate reloads that failed (the previous certificate stayed).",
                &self.reload_failures,
            ),
            (
                "sockhub_tls_handshake_failures_total",
                "TLS handshakes that failed or timed out.",
                &self.handshake_failures,
            ),
        ] {
            out.counter(name, help, value.get())?;
        }
        Ok(())
    }
}

/// Hands every handshake the current certificate.
#[derive(Debug)]
struct Resolver(RwLock<Arc<CertifiedKey>>);

impl ResolvesServerCert for Resolver {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(&self.0.read()))
    }
}

/// What identifies a version of the cert and key files: a change of any part means "reload".
type Stamp = Vec<Option<(u64, u64, SystemTime)>>;

fn stamp(paths: &[&Path]) -> Stamp {
    use std::os::unix::fs::MetadataExt;
    paths
        .iter()
        .map(|p| std::fs::metadata(p).ok().map(|m| (m.ino(), m.len(), m.modified().unwrap_or(UNIX_EPOCH))))
        .collect()
}

fn unix_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

/// The server's certificate and the TLS configurations of its ports.
pub struct ServerTls {
    cert: PathBuf,
    key: PathBuf,
    resolver: Arc<Resolver>,
    lines: TlsAcceptor,
    relay: TlsAcceptor,
    web: TlsAcceptor,
    handshake_timeout: Duration,
    poll: Option<Duration>,
    warning: Duration,
    stamp: Mutex<Stamp>,
    last_warning: Mutex<Option<std::time::Instant>>,
    pub metrics: Arc<TlsMetrics>,
}

impl ServerTls {
    /// Load `[tls] cert` and `key` (and `client_ca`) and build the ports' configurations.
    pub fn load(config: &TlsConfig) -> Result<Arc<ServerTls>, TlsError> {
        let (Some(cert), Some(key)) = (&config.cert, &config.key) else {
            return Err(TlsError::Config("[tls] cert and key are not set".into()));
        };
        let stamp = Mutex::new(stamp(&[cert, key]));
        let first = certified_key(cert, key)?;
        let expires = first.end_entity_cert().ok().and_then(|c| not_after(c));
        let resolver = Arc::new(Resolver(RwLock::new(Arc::new(first))));
        let builder = || {
            ServerConfig::builder_with_provider(provider())
                .with_safe_default_protocol_versions()
                .map_err(|e| TlsError::Config(e.to_string()))
        };
        let plain = builder()?.with_no_client_auth().with_cert_resolver(resolver.clone());
        let relay = match &config.client_ca {
            Some(ca) => {
                let roots = Arc::new(load_roots(ca)?);
                let verifier = WebPkiClientVerifier::builder_with_provider(roots, provider());
                let verifier =
                    if config.require_client_cert { verifier } else { verifier.allow_unauthenticated() };
                let verifier = verifier.build().map_err(|e| TlsError::Config(format!("client_ca: {e}")))?;
                builder()?.with_client_cert_verifier(verifier).with_cert_resolver(resolver.clone())
            }
            None => plain.clone(),
        };
        let mut web = plain.clone();
        web.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let warning = Duration::from_secs(config.expiry_warning_days * 86_400);
        let metrics = Arc::new(TlsMetrics::default());
        metrics.warning_secs.set(warning.as_secs() as i64);
        let tls = ServerTls {
            cert: cert.clone(),
            key: key.clone(),
            resolver,
            lines: TlsAcceptor::from(Arc::new(plain)),
            relay: TlsAcceptor::from(Arc::new(relay)),
            web: TlsAcceptor::from(Arc::new(web)),
            handshake_timeout: Duration::from_secs(config.handshake_timeout_secs),
            poll: (config.reload_poll_secs > 0).then(|| Duration::from_secs(config.reload_poll_secs)),
            warning,
            stamp,
            last_warning: Mutex::new(None),
            metrics,
        };
        tls.set_expiry(expires);
        info!(cert = %cert.display(), expiry = %tls.expiry_text(), "TLS certificate loaded");
        Ok(Arc::new(tls))
    }

    /// The acceptor for a port of this kind.
    pub fn acceptor(&self, port: Port) -> &TlsAcceptor {
        match port {
            Port::Lines => &self.lines,
            Port::Relay => &self.relay,
            Port::Web => &self.web,
        }
    }

    /// Run the server side of the handshake over `stream`, bounded by the handshake timeout and
    /// by `shutdown`. A failure is logged (with `what`, the port's name), counted and closed
    /// cleanly; `None` then.
    pub async fn handshake<IO>(
        &self,
        port: Port,
        stream: IO,
        peer: SocketAddr,
        what: &str,
        shutdown: &CancellationToken,
    ) -> Option<TlsStream<IO>>
    where
        IO: AsyncRead + AsyncWrite + Unpin,
    {
        let accept = self.acceptor(port).accept(stream).into_fallible();
        let outcome = tokio::select! {
            _ = shutdown.cancelled() => return None,
            outcome = tokio::time::timeout(self.handshake_timeout, accept) => outcome,
        };
        match outcome {
            Ok(Ok(stream)) => return Some(stream),
            Ok(Err((e, io))) => {
                self.metrics.handshake_failures.inc();
                info!(port = what, %peer, error = %e, "TLS handshake failed; closing");
                close_quietly(io).await;
            }
            Err(_) => {
                self.metrics.handshake_failures.inc();
                info!(port = what, %peer, timeout = ?self.handshake_timeout, "no TLS handshake in time; closing");
            }
        }
        None
    }

    fn set_expiry(&self, expires: Option<i64>) {
        self.metrics.not_after.set(expires.unwrap_or(0));
        self.warn_if_expiring(true);
    }

    fn expiry_text(&self) -> String {
        match self.metrics.expires_in() {
            Some(left) if left <= 0 => " (it has EXPIRED)".to_owned(),
            Some(left) => format!(" (expires in {} days)", left / 86_400),
            None => String::new(),
        }
    }

    /// Warn when the certificate expires within the warning period: always when `now`, else
    /// at most once a day.
    fn warn_if_expiring(&self, now: bool) {
        let Some(left) = self.metrics.expires_in() else { return };
        if left >= self.warning.as_secs() as i64 {
            return;
        }
        let mut last = self.last_warning.lock();
        if !now && last.is_some_and(|at| at.elapsed() < EXPIRY_REMINDER) {
            return;
        }
        *last = Some(std::time::Instant::now());
        if left <= 0 {
            warn!(cert = %self.cert.display(), "the TLS certificate has EXPIRED; clients will refuse it");
        } else {
            warn!(
                cert = %self.cert.display(),
                left_secs = left,
                "the TLS certificate expires in {} days {} hours; renew it (the server reloads it by itself)",
                left / 86_400,
                left % 86_400 / 3600
            );
        }
    }

    /// Read the files again and serve them from the next handshake on. On failure the current
    /// certificate stays. Returns whether the new one took effect.
    pub fn reload(&self, why: &str) -> bool {
        *self.stamp.lock() = stamp(&[&self.cert, &self.key]);
        match certified_key(&self.cert, &self.key) {
            Ok(key) => {
                let expires = key.end_entity_cert().ok().and_then(|c| not_after(c));
                *self.resolver.0.write() = Arc::new(key);
                self.metrics.reloads.inc();
                self.set_expiry(expires);
                info!(cert = %self.cert.display(), why, expiry = %self.expiry_text(), "TLS certificate reloaded ({why})");
                true
            }
            Err(e) => {
                self.metrics.reload_failures.inc();
                warn!(why, error = %e, "TLS certificate not reloaded; still serving the previous one");
                false
            }
        }
    }

    /// Whether the files changed since they were last read.
    fn files_changed(&self) -> bool {
        *self.stamp.lock() != stamp(&[&self.cert, &self.key])
    }

    /// Reload on file changes and on SIGHUP until shutdown; remind of a near expiry daily.
    pub async fn watch(self: Arc<Self>, shutdown: CancellationToken) {
        let mut hangup = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
            Ok(s) => Some(s),
            Err(e) => {
                warn!(error = %e, "cannot listen for SIGHUP; the certificate reloads on file changes only");
                None
            }
        };
        let period = self.poll.unwrap_or(EXPIRY_REMINDER);
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let hup = async {
                match &mut hangup {
                    Some(s) => s.recv().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = hup => {
                    self.reload("SIGHUP");
                }
                _ = tick.tick() => {
                    if self.poll.is_some() && self.files_changed() {
                        self.reload("the files changed");
                    }
                    self.warn_if_expiring(false);
                }
            }
        }
    }
}

/// After a failed handshake (rustls has sent its alert already): tell the peer we are finished
/// and drain a little of what it still sends, so the close is a FIN, not a reset.
async fn close_quietly<IO: AsyncRead + AsyncWrite + Unpin>(mut io: IO) {
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        let _ = io.shutdown().await;
        let mut buf = [0u8; 4096];
        let mut drained = 0;
        while drained < DRAIN_LIMIT {
            match io.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => drained += n,
            }
        }
    })
    .await;
}

/// Serve one connection accepted on a TLS port: the handshake, then the shared driver.
pub(crate) async fn serve<S: Service>(
    tls: Arc<ServerTls>,
    port: Port,
    service: Arc<S>,
    stream: TcpStream,
    mut conn: Conn,
) {
    // Small messages must not wait for the peer's delayed ACK (the handshake's neither).
    let _ = stream.set_nodelay(true);
    let Some(stream) = tls.handshake(port, stream, conn.peer.addr, service.name(), &conn.shutdown).await
    else {
        return;
    };
    conn.peer.transport = "tls";
    connection::serve_stream(service, stream, conn).await
}
