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

use std::future::ready;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade, close_code};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use sockhub_proto::{LineItem, Mode};
use sockhub_server::net::connection::{Opening, Output, drive};
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
    let peer = Peer { addr, transport: "ws", id: net.next_id() };
    let (limits, shutdown, tracker) = (Arc::clone(&net.limits), net.shutdown.clone(), net.tracker.clone());
    let max = state.config().ws_max_message_bytes;
    ws.max_message_size(max).max_frame_size(max).on_upgrade(move |socket| {
        // Tracked like a TCP connection, so shutdown waits for its `bye`.
        tracker.track_future(async move {
            let max_line = limits.max_line;
            let (sink, stream) = socket.split();
            let input = stream.filter_map(move |msg| ready(item(msg, max_line)));
            let opening = Opening { greeting: None, mode: Some(Mode::Json) };
            drive(service, peer, opening, input, WsOutput(sink), limits, shutdown).await;
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

/// The WebSocket transport's output: one text message per line, flushed once per batch.
struct WsOutput(SplitSink<WebSocket, Message>);

impl Output for WsOutput {
    async fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        for line in bytes.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            let text = std::str::from_utf8(line).map_err(std::io::Error::other)?;
            self.0.feed(Message::Text(Utf8Bytes::from(text))).await.map_err(std::io::Error::other)?;
        }
        self.0.flush().await.map_err(std::io::Error::other)
    }

    async fn finish(&mut self) {
        let close = CloseFrame { code: close_code::NORMAL, reason: Utf8Bytes::from_static("") };
        let _ = self.0.send(Message::Close(Some(close))).await;
    }
}
