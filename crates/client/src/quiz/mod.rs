//! `sockhub quiz`: play the timed quiz from a terminal, or let a bot play.
//!
//! - [`screen`]: the full-screen client (a terminal on both ends): problems and verdicts scroll
//!   above the input line, and the status bar counts down the open question's deadline (a timer
//!   tick redraws only what changed).
//! - [`lines`]: line by line, for pipes and scripts: what is typed goes out as answers and
//!   commands, the server's events are printed as its text rendering.
//! - [`bot`]: answers by itself, with a chosen accuracy and thinking time; used for demos and,
//!   as a library function, by load generators.

pub mod bot;
pub mod lines;
pub mod screen;

use sockhub_proto::quiz::{QuizEvent, QuizRequest};
use sockhub_proto::secret::Secret;
use sockhub_proto::wire::{Mode, render};
use tokio::sync::mpsc;

use crate::conn::{self, ClientError, JsonReader, JsonWriter};

pub use bot::{BotOptions, BotReport, bot};

/// What the quiz client needs to start.
#[derive(Debug, Clone)]
pub struct QuizOptions {
    pub addr: String,
    /// TLS settings when `addr` is a TLS port.
    pub tls: Option<conn::ClientTls>,
    pub name: String,
    pub password: Option<Secret>,
}

impl QuizOptions {
    /// Where to connect.
    pub fn endpoint(&self) -> conn::Endpoint {
        conn::Endpoint { addr: self.addr.clone(), tls: self.tls.clone() }
    }
}

/// Play: full screen on a terminal, line by line otherwise. Returns whether the session ended
/// normally (the server's `bye`, or the player leaving).
pub async fn run(opts: QuizOptions) -> Result<bool, ClientError> {
    if crate::tui::is_interactive() { screen::run_screen(opts).await } else { lines::run_lines(opts).await }
}

/// Connect and log in; returns the connection and the server's first reply (a `welcome`, or the
/// refusal).
pub async fn login(
    to: impl Into<conn::Endpoint>,
    name: &str,
    password: Option<Secret>,
) -> Result<(JsonReader, JsonWriter, QuizEvent), ClientError> {
    let (mut rx, mut tx) = conn::connect(to).await?;
    tx.send(&QuizRequest::Login { name: name.to_owned(), password }).await?;
    let first = rx
        .recv::<QuizEvent>()
        .await?
        .ok_or_else(|| std::io::Error::other("the server closed the connection"))?;
    Ok((rx, tx, first))
}

/// The text form of an event, as the user sees it (without the trailing newline).
pub fn show(event: &QuizEvent) -> String {
    render(event, Mode::Text).trim_end().to_owned()
}

/// What the connection's reader task reports.
#[derive(Debug)]
pub enum Incoming {
    Event(QuizEvent),
    /// The connection ended (cleanly or not), with a reason when it broke.
    Closed(Option<String>),
}

/// Read events on a task of their own (reading a line is not cancel-safe, so it cannot sit in a
/// `select!` next to timers and the keyboard) and forward them.
pub fn spawn_reader(mut rx: JsonReader) -> mpsc::Receiver<Incoming> {
    let (tx, out) = mpsc::channel(256);
    tokio::spawn(async move {
        loop {
            let (msg, last) = match rx.recv::<QuizEvent>().await {
                Ok(Some(event)) => (Incoming::Event(event), false),
                Ok(None) => (Incoming::Closed(None), true),
                Err(e @ ClientError::Decode { .. }) => (
                    Incoming::Event(QuizEvent::Info { text: format!("(unreadable line: {e})").into() }),
                    false,
                ),
                Err(e) => (Incoming::Closed(Some(e.to_string())), true),
            };
            if tx.send(msg).await.is_err() || last {
                break;
            }
        }
    });
    out
}
