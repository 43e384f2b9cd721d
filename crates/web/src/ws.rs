//! The WebSocket transport: `/ws/chat`, `/ws/quiz`, `/ws/calc`.
//!
//! A WebSocket connection is one more transport for the same sessions, driven by the server's
//! shared connection driver ([`drive`]) exactly like a TCP connection, with two differences that
//! the transport states in its [`Opening`]: the mode is JSON from the start, and there is no text
//! greeting. Everything else is the TCP behaviour, not a copy of it: flood control, the bounded
//! outbox and its too-slow policy, the idle timeout, the write timeout, the `bye` on shutdown,
//! and the shared connection limit (`limits.max_connections`).
//!
//! Framing: each text message from the browser is one request (one JSON object; a newline inside
//! it is just JSON whitespace); each server message is one text message. A message longer than
//! `limits.max_line_bytes` gets `line_too_long` and the socket lives on, like an over-long line on
//! TCP; one longer than `[web] ws_max_message_bytes` is refused by the WebSocket layer before it
//! is buffered, which closes the socket. A binary message is read as UTF-8 text.
//!
//! A WebSocket counts against the same per-address and not-logged-in caps as a TCP connection
//! (`too_many_connections`, HTTP 429 before the upgrade), and the login timeout applies to it.
//! While idle it is pinged every `[web] ws_ping_secs`; a peer that has answered nothing (no
//! message, no Pong) for two intervals is gone, and its connection ends.

use std::future::ready;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade, close_code};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use sockhub_proto::error::ErrorEvent;
use sockhub_proto::{ErrorCode, LineItem, Mode};
use sockhub_server::net::connection::{Conn, Messages, Opening, Output, drive};
use sockhub_server::session::{Peer, Service};

use crate::auth::ClientAddr;
use crate::{ApiError, WebState};

pub fn routes() -> Router<WebState> {
    Router::new().route("/ws/chat", get(chat)).route("/ws/quiz", get(quiz)).route("/ws/calc", get(calc))
}

async fn chat(State(state): State<WebState>, ClientAddr(addr): ClientAddr, ws: WebSocketUpgrade) -> Response {
    match state.hub.chat.clone() {
        Some(chat) => upgrade(&state, chat, addr, ws),
        None => ApiError::NotFound("the chat service is not running".into()).into_response(),
    }
}

async fn quiz(State(state): State<WebState>, ClientAddr(addr): ClientAddr, ws: WebSocketUpgrade) -> Response {
    match state.hub.quiz.clone() {
        Some(quiz) => upgrade(&state, quiz, addr, ws),
        None => ApiError::NotFound("the quiz service is not running".into()).into_response(),
    }
}

async fn calc(State(state): State<WebState>, ClientAddr(addr): ClientAddr, ws: WebSocketUpgrade) -> Response {
    match state.hub.calc.clone() {
        Some(calc) => upgrade(&state, calc, addr, ws),
        None => ApiError::NotFound("the calculator is not running".into()).into_response(),
    }
}

/// Take a connection slot and hand the upgraded socket to the connection driver.
pub fn upgrade<S: Service>(
    state: &WebState,
    service: Arc<S>,
    addr: std::net::SocketAddr,
    ws: WebSocketUpgrade,
) -> Response {
    let net = &state.hub.net;
    let Ok(slot) = Arc::clone(&net.slots).try_acquire_owned() else {
        service.metrics().connections_refused.inc();
        return ApiError::ServerFull.into_response();
    };
    let ticket = match net.admission.admit(addr.ip()) {
        Ok(ticket) => ticket,
        Err(refusal) => {
            service.metrics().connections_refused_admission.inc();
            let error = ErrorEvent::new(ErrorCode::TooManyConnections, refusal.to_string());
            return ApiError::RetryLater { error, secs: crate::error::BUSY_RETRY_SECS }.into_response();
        }
    };
    let peer = Peer { addr, transport: "ws", id: net.next_id() };
    let (limits, shutdown, tracker) = (Arc::clone(&net.limits), net.shutdown.clone(), net.tracker.clone());
    let bans = Arc::clone(&net.bans);
    let max = state.config().ws_max_message_bytes;
    let ping = (state.config().ws_ping_secs > 0).then(|| Duration::from_secs(state.config().ws_ping_secs));
    ws.max_message_size(max).max_frame_size(max).on_upgrade(move |socket| {
        // Tracked like a TCP connection, so shutdown waits for its `bye`.
        tracker.track_future(async move {
            let max_line = limits.max_line;
            let (sink, stream) = socket.split();
            let heard = Arc::new(Heard::new());
            let input = Messages(stream.filter_map({
                let heard = Arc::clone(&heard);
                move |msg| {
                    heard.now();
                    ready(item(msg, max_line))
                }
            }));
            let opening = Opening { greeting: None, mode: Some(Mode::Json) };
            let output = WsOutput { sink, ping, heard };
            drive(service, Conn { peer, limits, shutdown, ticket, bans }, opening, input, output).await;
            drop(slot);
        })
    })
}

/// What one WebSocket message means to the session: a line, an over-long line, or nothing
/// (control messages). A close or a broken socket ends the stream.
fn item(msg: Result<Message, axum::Error>, max_line: usize) -> Option<std::io::Result<LineItem>> {
    let text = match msg {
        Err(e) => return Some(Err(std::io::Error::other(e))),
        Ok(Message::Text(text)) => text.as_str().to_owned(),
        Ok(Message::Binary(bytes)) => match String::from_utf8(bytes.to_vec()) {
            Ok(text) => text,
            Err(_) => return Some(Ok(LineItem::InvalidUtf8)),
        },
        Ok(Message::Ping(_) | Message::Pong(_)) => return None,
        Ok(Message::Close(_)) => {
            return Some(Err(std::io::Error::from(std::io::ErrorKind::ConnectionAborted)));
        }
    };
    if text.len() > max_line {
        return Some(Ok(LineItem::TooLong { limit: max_line }));
    }
    Some(Ok(LineItem::Line(text)))
}

/// When the peer was last heard from (any message, a Pong included), for the keepalive.
struct Heard {
    start: Instant,
    /// Milliseconds after `start`.
    at_ms: AtomicU64,
}

impl Heard {
    fn new() -> Self {
        Heard { start: Instant::now(), at_ms: AtomicU64::new(0) }
    }

    fn now(&self) {
        self.at_ms.store(self.start.elapsed().as_millis() as u64, Ordering::Relaxed);
    }

    fn silent_for(&self) -> Duration {
        self.start.elapsed().saturating_sub(Duration::from_millis(self.at_ms.load(Ordering::Relaxed)))
    }
}

/// The WebSocket transport's output: one text message per line, flushed once per batch; Pings
/// while idle.
struct WsOutput {
    sink: SplitSink<WebSocket, Message>,
    ping: Option<Duration>,
    heard: Arc<Heard>,
}

impl Output for WsOutput {
    async fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        for line in bytes.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            let text = std::str::from_utf8(line).map_err(std::io::Error::other)?;
            self.sink.feed(Message::Text(Utf8Bytes::from(text))).await.map_err(std::io::Error::other)?;
        }
        self.sink.flush().await.map_err(std::io::Error::other)
    }

    async fn finish(&mut self) {
        let close = CloseFrame { code: close_code::NORMAL, reason: Utf8Bytes::from_static("") };
        let _ = self.sink.send(Message::Close(Some(close))).await;
    }

    fn keepalive_every(&self) -> Option<Duration> {
        self.ping
    }

    async fn keepalive(&mut self) -> std::io::Result<()> {
        let every = self.ping.unwrap_or(Duration::MAX);
        if self.heard.silent_for() > every.saturating_mul(2) {
            return Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "no answer to pings"));
        }
        self.sink.send(Message::Ping(Default::default())).await.map_err(std::io::Error::other)
    }
}
