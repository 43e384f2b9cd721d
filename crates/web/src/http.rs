//! The HTTP server: the accept loop of the web port and of its HTTPS port, one task per
//! connection, HTTP/1.1 and HTTP/2 (hyper's automatic connection builder), WebSocket upgrades.
//!
//! Written by hand rather than with `axum::serve` for what that does not offer:
//!
//! - **TLS.** On `[web] tls_port` each connection runs the shared TLS handshake
//!   ([`ServerTls::handshake`], with its timeout) in its own task before HTTP starts; ALPN picks
//!   HTTP/2 or HTTP/1.1. Every request carries a [`Scheme`] extension saying how it arrived;
//!   responses over HTTPS get `Strict-Transport-Security` and their cookies the `Secure` flag
//!   ([`secure_response`]). With `redirect_http` the plain port only redirects to HTTPS.
//! - **Slow and many clients.** Request headers must arrive within `header_timeout_secs`
//!   (hyper's header read timeout, which for HTTP/1.1 also times the wait for the next request
//!   on a keep-alive connection; a connection that sends nothing at all gets the same time), a
//!   connection that moves no byte for `keepalive_idle_secs` is closed (an activity clock on the
//!   socket, [`Watched`]; this is what ends idle HTTP/2 connections), and at most
//!   `max_connections` connections are open on the two ports together; more are closed at once
//!   (the plain port answers them `503` first). A thousand idle or half-sent requests therefore
//!   cost bounded memory and time, and never stop the loop from accepting.
//!
//! The client's address reaches handlers as `ConnectInfo<SocketAddr>`, as with `axum::serve`.
//! On shutdown every connection is asked to finish its current request and close.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{ConnectInfo, Request};
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use sockhub_server::net::cidr::Cidr;
use sockhub_server::net::listener::NetContext;
use sockhub_server::net::tls::{Port, ServerTls};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;
use tracing::{debug, info, warn};

/// How long to back off when `accept` fails (e.g. out of file descriptors).
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);
/// What an over-limit client on the plain port is told before the close; its `Retry-After` is
/// [`crate::error::BUSY_RETRY_SECS`] (a test checks they agree).
const BUSY: &[u8] =
    b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\nRetry-After: 5\r\n\r\n";

/// How a request reached the server: inserted into every request's extensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Http,
    Https,
}

/// What both web ports share.
pub struct HttpLimits {
    pub header_timeout: Duration,
    pub keepalive_idle: Duration,
    /// One permit per open connection, both ports together (`max_connections`).
    pub slots: Arc<Semaphore>,
    /// `Strict-Transport-Security: max-age=...` on HTTPS responses; `None` = no header.
    pub hsts: Option<HeaderValue>,
    /// `[web] trusted_proxies`: a request from one of them with `X-Forwarded-Proto: https` came
    /// over HTTPS to the proxy, and is answered as an HTTPS request (Secure cookie, HSTS).
    pub trusted_proxies: Arc<[Cidr]>,
}

impl HttpLimits {
    pub fn new(config: &sockhub_server::config::WebConfig) -> Arc<HttpLimits> {
        Arc::new(HttpLimits {
            header_timeout: Duration::from_secs(config.header_timeout_secs),
            keepalive_idle: Duration::from_secs(config.keepalive_idle_secs),
            slots: Arc::new(Semaphore::new(config.max_connections)),
            hsts: (config.hsts_max_age_secs > 0)
                .then(|| HeaderValue::from_str(&format!("max-age={}", config.hsts_max_age_secs)))
                .and_then(Result::ok),
            trusted_proxies: config.proxy_ranges().unwrap_or_default().into(),
        })
    }
}

/// One web port: the application it serves, and TLS in front of it or not.
#[derive(Clone)]
pub struct Site {
    pub app: Router,
    pub scheme: Scheme,
    pub tls: Option<Arc<ServerTls>>,
    pub limits: Arc<HttpLimits>,
}

/// Accept connections for `site` until shutdown.
pub async fn accept_loop(listener: TcpListener, site: Site, net: NetContext) {
    let name = if site.scheme == Scheme::Https { "web-tls" } else { "web" };
    loop {
        let accepted = tokio::select! {
            _ = net.shutdown.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, addr) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                warn!(port = name, error = %e, "accept failed; pausing");
                tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                continue;
            }
        };
        let Ok(slot) = Arc::clone(&site.limits.slots).try_acquire_owned() else {
            debug!(port = name, peer = %addr, "refused: web max_connections reached");
            if site.tls.is_none() {
                net.tracker.spawn(busy(stream));
            }
            continue;
        };
        let (site, shutdown) = (site.clone(), net.shutdown.clone());
        net.tracker.spawn(async move {
            let _ = stream.set_nodelay(true);
            match &site.tls {
                None => serve_connection(stream, addr, &site, &shutdown).await,
                Some(tls) => {
                    if let Some(stream) = tls.handshake(Port::Web, stream, addr, name, &shutdown).await {
                        serve_connection(stream, addr, &site, &shutdown).await;
                    }
                }
            }
            drop(slot);
        });
    }
}

/// Whether a (trusted) proxy says the client reached it over HTTPS: the first value of
/// `X-Forwarded-Proto`, the one the proxy nearest the client set.
fn forwarded_https(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"))
}

/// Tell an over-limit client the server is busy, then close.
async fn busy(mut stream: TcpStream) {
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        stream.write_all(BUSY).await?;
        stream.shutdown().await
    })
    .await;
}

/// Serve HTTP on one connection until the client closes it, it idles out, or shutdown.
async fn serve_connection<IO>(io: IO, addr: SocketAddr, site: &Site, shutdown: &CancellationToken)
where
    IO: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let clock = Arc::new(ActivityClock::new());
    let io = TokioIo::new(Watched { inner: io, clock: Arc::clone(&clock) });
    let (app, port_scheme, hsts) = (site.app.clone(), site.scheme, site.limits.hsts.clone());
    let via_proxy = Cidr::any_contains(&site.limits.trusted_proxies, addr.ip());
    let service = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
        let scheme = if via_proxy && forwarded_https(req.headers()) { Scheme::Https } else { port_scheme };
        req.extensions_mut().insert(ConnectInfo(addr));
        req.extensions_mut().insert(scheme);
        let (app, hsts) = (app.clone(), hsts.clone());
        async move {
            let mut response = app.oneshot(req.map(axum::body::Body::new)).await?;
            if scheme == Scheme::Https {
                secure_response(&mut response, hsts);
            }
            Ok::<_, Infallible>(response)
        }
    });
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).header_read_timeout(site.limits.header_timeout);
    builder.http2().timer(TokioTimer::new());
    let conn = builder.serve_connection_with_upgrades(io, service);
    tokio::pin!(conn);

    let idle = site.limits.keepalive_idle;
    // A client that never sends a byte never gets as far as hyper's header timer.
    let silent_until = tokio::time::Instant::now() + site.limits.header_timeout;
    // After asking the connection to close, how long it may take to finish its request.
    let mut closing: Option<tokio::time::Instant> = None;
    loop {
        let idle_at = clock.last() + idle;
        tokio::select! {
            done = conn.as_mut() => {
                if let Err(e) = done {
                    debug!(peer = %addr, error = %e, "HTTP connection ended");
                }
                return;
            }
            _ = tokio::time::sleep_until(silent_until), if !clock.read_any() => {
                debug!(peer = %addr, "HTTP connection sent nothing; closing");
                return;
            }
            _ = shutdown.cancelled(), if closing.is_none() => {
                conn.as_mut().graceful_shutdown();
                closing = Some(tokio::time::Instant::now() + site.limits.header_timeout);
            }
            _ = tokio::time::sleep_until(idle_at.into()), if closing.is_none() => {
                if clock.last() + idle <= Instant::now() {
                    debug!(peer = %addr, idle = ?idle, "HTTP connection idle; closing");
                    conn.as_mut().graceful_shutdown();
                    closing = Some(tokio::time::Instant::now() + site.limits.header_timeout);
                }
            }
            _ = tokio::time::sleep_until(closing.unwrap_or_else(tokio::time::Instant::now)), if closing.is_some() => {
                // Only a connection with no traffic at all is cut; one still moving bytes
                // (a long download) finishes.
                if clock.last() + site.limits.header_timeout <= Instant::now() {
                    info!(peer = %addr, "HTTP connection did not close when asked; dropping it");
                    return;
                }
                closing = Some(tokio::time::Instant::now() + site.limits.header_timeout);
            }
        }
    }
}

/// Over HTTPS: announce HSTS and make every cookie `Secure`.
pub fn secure_response(response: &mut Response, hsts: Option<HeaderValue>) {
    let headers = response.headers_mut();
    if let Some(hsts) = hsts {
        headers.insert(header::STRICT_TRANSPORT_SECURITY, hsts);
    }
    let cookies: Vec<HeaderValue> = headers.get_all(header::SET_COOKIE).iter().cloned().collect();
    if cookies.iter().all(|c| has_secure(c.as_bytes())) {
        return;
    }
    headers.remove(header::SET_COOKIE);
    for cookie in cookies {
        let cookie = if has_secure(cookie.as_bytes()) {
            cookie
        } else {
            let mut bytes = cookie.as_bytes().to_vec();
            bytes.extend_from_slice(b"; Secure");
            HeaderValue::from_bytes(&bytes).unwrap_or(cookie)
        };
        headers.append(header::SET_COOKIE, cookie);
    }
}

fn has_secure(cookie: &[u8]) -> bool {
    cookie.split(|&b| b == b';').any(|attr| attr.trim_ascii().eq_ignore_ascii_case(b"secure"))
}

/// The plain port's only answer under `redirect_http`: the same path on the HTTPS port.
pub fn redirect_to_https(tls_port: u16) -> Router {
    Router::new().fallback(move |req: Request| async move {
        let host = req
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.parse::<axum::http::uri::Authority>().ok())
            .map(|a| a.host().to_owned());
        let Some(host) = host else {
            return (
                StatusCode::BAD_REQUEST,
                "this page is served over HTTPS; no Host header to redirect to",
            )
                .into_response();
        };
        let host = if host.contains(':') && !host.starts_with('[') { format!("[{host}]") } else { host };
        let path = req.uri().path_and_query().map_or("/", |p| p.as_str());
        let port = if tls_port == 443 { String::new() } else { format!(":{tls_port}") };
        match format!("https://{host}{port}{path}").parse::<Uri>() {
            Ok(to) => Redirect::permanent(&to.to_string()).into_response(),
            Err(_) => StatusCode::BAD_REQUEST.into_response(),
        }
    })
}

/// When a connection last moved a byte, as milliseconds since the clock started.
struct ActivityClock {
    start: Instant,
    last_ms: AtomicU64,
    read_any: AtomicBool,
}

impl ActivityClock {
    fn new() -> Self {
        ActivityClock { start: Instant::now(), last_ms: AtomicU64::new(0), read_any: AtomicBool::new(false) }
    }

    fn touch(&self) {
        self.last_ms.store(self.start.elapsed().as_millis() as u64, Ordering::Relaxed);
    }

    /// Whether the peer has sent anything yet.
    fn read_any(&self) -> bool {
        self.read_any.load(Ordering::Relaxed)
    }

    fn last(&self) -> Instant {
        self.start + Duration::from_millis(self.last_ms.load(Ordering::Relaxed))
    }
}

/// A stream that notes the time of every read and write on its [`ActivityClock`].
struct Watched<IO> {
    inner: IO,
    clock: Arc<ActivityClock>,
}

impl<IO: AsyncRead + Unpin> AsyncRead for Watched<IO> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            this.clock.touch();
            this.clock.read_any.store(true, Ordering::Relaxed);
        }
        polled
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Watched<IO> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            this.clock.touch();
        }
        polled
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            this.clock.touch();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_over_https_become_secure_once() {
        let mut response = Response::new(axum::body::Body::empty());
        let h = response.headers_mut();
        h.append(header::SET_COOKIE, HeaderValue::from_static("a=1; Path=/; HttpOnly"));
        h.append(header::SET_COOKIE, HeaderValue::from_static("b=2; Secure; Path=/"));
        secure_response(&mut response, Some(HeaderValue::from_static("max-age=60")));
        let cookies: Vec<_> =
            response.headers().get_all(header::SET_COOKIE).iter().map(|v| v.to_str().unwrap()).collect();
        assert_eq!(cookies, ["a=1; Path=/; HttpOnly; Secure", "b=2; Secure; Path=/"]);
        assert_eq!(response.headers()[header::STRICT_TRANSPORT_SECURITY], "max-age=60");
    }

    #[test]
    fn the_raw_busy_answer_asks_for_the_same_wait_as_a_refused_upgrade() {
        let text = std::str::from_utf8(BUSY).unwrap();
        let retry = format!("\r\nRetry-After: {}\r\n", crate::error::BUSY_RETRY_SECS);
        assert!(text.contains(&retry), "{text:?}");
    }
}
