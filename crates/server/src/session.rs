//! Services and sessions, independent of any transport.
//!
//! A [`Service`] (chat, quiz, ...) opens one [`Session`] per connection. A session consumes typed
//! requests and emits typed events into the connection's [`Outbox`]; it never sees bytes or
//! sockets. [`Inbound`] is the part every transport shares: it takes decoded lines, decides the
//! connection's [`Mode`] from the first one, applies flood control, turns each line into a request
//! (JSON or the service's text grammar) and hands it to the session, replying with a clear error to
//! anything it cannot use. The TCP driver in [`crate::net::connection`] and the WebSocket bridge
//! in the web crate are thin loops around it, so every behaviour is written once.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use sockhub_i18n::{Msg, msg};
use sockhub_proto::error::{ErrorCode, ErrorEvent};
use sockhub_proto::json::{self, Request};
use sockhub_proto::notice::Notice;
use sockhub_proto::{LineItem, Mode};

use crate::metrics::ServiceMetrics;
use crate::net::limits::{Limits, TokenBucket};
use crate::net::outbox::{Frame, Outbox};

/// Who is on the other end of a connection.
#[derive(Debug, Clone)]
pub struct Peer {
    /// The remote address.
    pub addr: SocketAddr,
    /// `tcp`, `tls` (a TCP connection on a TLS port) or `ws`.
    pub transport: &'static str,
    /// A process-unique connection number, for logs and for telling sessions of one name apart.
    pub id: u64,
}

/// What the connection should do after a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Flow {
    Continue,
    /// Close the connection; the reason is sent as the final `bye`.
    Close(Msg),
}

/// Why a connection is ending, as the session learns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// The session asked to close (e.g. `/quit`), with this reason.
    Requested(Msg),
    /// The peer closed its side (EOF), or the connection broke.
    PeerGone,
    /// The outbox closed: too slow a reader, or the session was closed from elsewhere (a kick).
    OutboxClosed,
    /// No line arrived within the idle timeout.
    Idle,
    /// The server is shutting down.
    Shutdown,
    /// The connection did not log in within the login timeout.
    LoginTimeout,
}

impl Ending {
    /// The `bye` reason to send, if the connection can still be told.
    pub fn farewell(&self) -> Option<Msg> {
        match self {
            Ending::Requested(reason) => Some(reason.clone()),
            Ending::PeerGone => Some(msg!("ending-connection-closed")),
            Ending::OutboxClosed => None,
            Ending::Idle => Some(msg!("ending-idle")),
            Ending::Shutdown => Some(msg!("ending-shutdown")),
            Ending::LoginTimeout => Some(msg!("ending-login-timeout")),
        }
    }
}

impl std::fmt::Display for Ending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Ending::Requested(reason) => write!(f, "{reason}"),
            Ending::PeerGone => f.write_str("closed by the client"),
            Ending::OutboxClosed => f.write_str("closed by the server"),
            Ending::Idle => f.write_str("idle timeout"),
            Ending::Shutdown => f.write_str("server shutting down"),
            Ending::LoginTimeout => f.write_str("did not log in in time"),
        }
    }
}

/// A service reachable over any transport.
pub trait Service: Send + Sync + 'static {
    type Session: Session;

    /// Short name used in config, logs and metrics (`chat`).
    fn name(&self) -> &'static str;

    /// Text sent on connect, before the client's mode is known (lines ending in `\n`). JSON clients
    /// skip lines until their first reply; WebSocket clients never receive it.
    fn greeting(&self) -> String;

    /// The mode of this service's TCP and TLS connections when it is fixed (IRC speaks its own
    /// lines, so a first line starting with `{` must not make it JSON); `None` lets the first
    /// line decide.
    fn mode(&self) -> Option<Mode> {
        None
    }

    /// Open a session for a new connection whose replies go to `outbox`.
    fn open(self: &Arc<Self>, peer: Peer, outbox: Outbox) -> Self::Session;

    /// Counters for this service.
    fn metrics(&self) -> &Arc<ServiceMetrics>;
}

/// One connection's conversation with a service.
pub trait Session: Send + 'static {
    type Request: Request + Send;

    /// Turn a text-mode line into a request. `Ok(None)`: nothing to do (an empty line).
    fn parse_text(&self, line: &str) -> Result<Option<Self::Request>, ErrorEvent>;

    /// Handle one request; replies go to the outbox.
    fn handle(&mut self, request: Self::Request) -> impl Future<Output = Flow> + Send;

    /// The connection is ending; leave rooms, record it.
    fn close(self, ending: &Ending) -> impl Future<Output = ()> + Send;

    /// The user name, once known (for logs).
    fn user(&self) -> Option<&str> {
        None
    }

    /// The name a ban on this connection's user is checked against, once logged in: the user
    /// name, or for a calculator login with an account, that account's name. `None` for
    /// connections that no user ban covers (the relay's devices).
    fn ban_name(&self) -> Option<&str> {
        self.user()
    }

    /// Whether the user logged in to an admin account (an address ban does not end it).
    fn is_admin(&self) -> bool {
        false
    }

    /// Whether the connection has logged in — or, for a service without logins, identified
    /// itself with a first valid request. Until then it counts against the caps on connections
    /// not yet logged in, and the login timeout applies.
    fn admitted(&self) -> bool {
        self.user().is_some()
    }
}

/// The transport-independent half of a connection: mode, flood control, decoding, dispatch.
pub struct Inbound<S: Session> {
    session: S,
    outbox: Outbox,
    mode: Option<Mode>,
    bucket: TokenBucket,
    metrics: Arc<ServiceMetrics>,
}

impl<S: Session> Inbound<S> {
    /// Start a connection. `mode` is fixed for transports that have one (WebSocket: JSON);
    /// `None` lets the first line decide.
    pub fn new(
        session: S,
        outbox: Outbox,
        mode: Option<Mode>,
        limits: &Limits,
        metrics: Arc<ServiceMetrics>,
    ) -> Self {
        Inbound {
            session,
            outbox,
            mode,
            bucket: TokenBucket::new(limits.rate_per_sec, limits.burst),
            metrics,
        }
    }

    /// The mode, once decided.
    pub fn mode(&self) -> Option<Mode> {
        self.mode
    }

    /// The session's user name, if logged in.
    pub fn user(&self) -> Option<&str> {
        self.session.user()
    }

    /// The name bans are checked against, once logged in (see [`Session::ban_name`]).
    pub fn ban_name(&self) -> Option<&str> {
        self.session.ban_name()
    }

    /// Whether the user is an admin (see [`Session::is_admin`]).
    pub fn is_admin(&self) -> bool {
        self.session.is_admin()
    }

    /// Whether the session has logged in (see [`Session::admitted`]).
    pub fn admitted(&self) -> bool {
        self.session.admitted()
    }

    /// Handle one item from the line codec.
    pub async fn on_item(&mut self, item: LineItem) -> Flow {
        self.metrics.lines_in.inc();
        match item {
            LineItem::Line(line) => self.on_line(&line).await,
            LineItem::TooLong { limit } => {
                self.reject(ErrorCode::LineTooLong, msg!("error-line-too-long", limit = limit))
            }
            LineItem::InvalidUtf8 => self.reject(ErrorCode::InvalidUtf8, msg!("error-invalid-utf8")),
        }
    }

    /// Handle one complete, valid line.
    pub async fn on_line(&mut self, line: &str) -> Flow {
        let mode = *self
            .mode
            .get_or_insert_with(|| if line.trim_start().starts_with('{') { Mode::Json } else { Mode::Text });
        // Fixed before the request is handled: a reply the writer sends while the handler still
        // awaits (a join that waits for the bus) must already be in the connection's mode.
        self.outbox.set_mode(mode);
        if line.trim().is_empty() {
            return Flow::Continue;
        }
        if !self.bucket.try_take() {
            self.metrics.rate_limited.inc();
            return self.reject(ErrorCode::RateLimited, msg!("error-rate-limited"));
        }
        let request = match mode {
            Mode::Json => json::decode::<S::Request>(line).map(Some),
            Mode::Text => self.session.parse_text(line),
        };
        match request {
            // Boxed: a request's future (a login that waits for the database, say) can be
            // kilobytes, and awaited inline it would size every connection's task by the largest
            // request any service has, for as long as the connection lives, idle or not.
            Ok(Some(request)) => Box::pin(self.session.handle(request)).await,
            Ok(None) => Flow::Continue,
            Err(e) => self.reject(e.code, e.message),
        }
    }

    fn reject(&mut self, code: ErrorCode, message: impl Into<Msg>) -> Flow {
        self.metrics.errors.inc();
        self.outbox.send(Notice::error(code, message));
        Flow::Continue
    }

    /// End the connection: tell the session, then queue the final `bye` (unless the outbox is
    /// already closing with its own).
    pub async fn finish(self, ending: Ending) {
        self.session.close(&ending).await;
        let last = ending.farewell().map(|reason| Frame::new(Notice::Bye { reason }));
        self.outbox.close_with(last);
    }
}
