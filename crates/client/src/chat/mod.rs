//! `sockhub chat`: log in, then send what the user types and show what arrives.
//!
//! Two front ends share the login and the protocol handling here:
//!
//! - [`screen`]: the full-screen client, used when stdin and stdout are a terminal. Messages
//!   scroll in a pane above the line being typed, so they never garble it; whispers have their
//!   own colour (how each kind of line looks is in [`view`]).
//! - [`lines`]: the line-by-line client, used otherwise (a pipe, a script): each input line is
//!   sent, each event printed as the server's text rendering.
//!
//! Both parse what the user types with the text grammar the server uses for `nc` users
//! (`sockhub_proto::chat::parse_text`) and send the resulting request as JSON.

pub mod lines;
pub mod rooms;
pub mod screen;
pub mod view;

use std::io::IsTerminal;

use sockhub_proto::ErrorCode;
use sockhub_proto::chat::{ChatEvent, ChatRequest};
use sockhub_proto::secret::Secret;
use sockhub_proto::wire::{Mode, render};

use crate::conn::{self, ClientError, JsonReader, JsonWriter};

pub use lines::run_lines;
pub use screen::run_screen;

/// What the chat client needs to start.
#[derive(Debug, Clone)]
pub struct ChatOptions {
    pub addr: String,
    /// TLS settings when `addr` is a TLS port.
    pub tls: Option<conn::ClientTls>,
    pub name: String,
    pub password: Option<Secret>,
}

impl ChatOptions {
    /// Where to connect.
    pub fn endpoint(&self) -> conn::Endpoint {
        conn::Endpoint { addr: self.addr.clone(), tls: self.tls.clone() }
    }
}

/// Run the chat client: full screen on a terminal, line by line otherwise. Returns whether the
/// session ended normally (see [`run_lines`] and [`run_screen`]).
pub async fn run(opts: ChatOptions) -> Result<bool, ClientError> {
    if crate::tui::is_interactive() { run_screen(opts).await } else { run_lines(opts).await }
}

/// Connect and log in; returns the connection and the welcome (or the server's refusal). When the
/// name needs a password that was not given and stdin is a terminal, the password is asked for
/// (without echo) and the login tried once more.
pub async fn login(opts: &ChatOptions) -> Result<(JsonReader, JsonWriter, ChatEvent), ClientError> {
    let (mut rx, mut tx) = conn::connect(opts.endpoint()).await?;
    let mut password = opts.password.clone();
    loop {
        tx.send(&ChatRequest::Login { name: opts.name.clone(), password: password.clone() }).await?;
        let first = rx
            .recv::<ChatEvent>()
            .await?
            .ok_or_else(|| std::io::Error::other("the server closed the connection"))?;
        let needs_password = matches!(&first, ChatEvent::Error(e) if e.code == ErrorCode::PasswordRequired);
        if needs_password && password.is_none() && std::io::stdin().is_terminal() {
            password = Some(conn::prompt_password(&opts.name).await?);
            continue;
        }
        return Ok((rx, tx, first));
    }
}

/// Mark whispers we sent, so they render as `>>>`.
pub fn mark_outgoing(event: &mut ChatEvent, me: &str) {
    if let ChatEvent::Whisper { from, outgoing, .. } = event {
        *outgoing = from == me;
    }
}

/// The text form of an event, as the user sees it (without the trailing newline).
pub fn show(event: &ChatEvent) -> String {
    render(event, Mode::Text).trim_end().to_owned()
}
