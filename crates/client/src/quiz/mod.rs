//! `sockhub quiz`: play the timed quiz from a terminal, or let a bot play.
//!
//! - [`screen`]: the full-screen client (a terminal on both ends): problems and verdicts scroll
//!   above the input line, and the status bar counts down the open question's deadline (a timer
//!   tick redraws only what changed).
//! - [`lines`]: line by line, for pipes and scripts: what is typed goes out as answers and
//!   commands, the server's events are printed as its text rendering.
//! - [`bot`]: answers by itself, with a chosen accuracy and thinking time; used for demos and,
//!   as a library function, by load generators.
//! - [`log`]: the client's own log file (`--log FILE`): connected, problems, answers with their
//!   verdicts and times, errors.

pub mod bot;
pub mod lines;
pub mod log;
pub mod screen;

use std::path::PathBuf;

use sockhub_proto::quiz::{QuizEvent, QuizRequest};
use sockhub_proto::secret::Secret;
use sockhub_proto::wire::{Mode, render};
use tokio::sync::mpsc;

use sockhub_i18n::t;

use crate::conn::{self, ClientError, JsonReader, JsonWriter};
use log::{Level, QuizLog};

pub use bot::{BotOptions, BotReport, bot};

/// What the quiz client needs to start.
#[derive(Debug, Clone)]
pub struct QuizOptions {
    pub addr: String,
    /// TLS settings when `addr` is a TLS port.
    pub tls: Option<conn::ClientTls>,
    pub name: String,
    pub password: Option<Secret>,
    /// Keep a log of the game in this file (see [`log`]).
    pub log: Option<PathBuf>,
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

/// [`login`] with the options' endpoint and name, writing the log when one is asked for: the
/// connection and the server's first reply, or why there was none.
async fn start(
    opts: &QuizOptions,
) -> Result<(JsonReader, JsonWriter, QuizEvent, Option<QuizLog>), ClientError> {
    let mut log = opts.log.as_deref().map(QuizLog::create).transpose()?;
    match login(opts.endpoint(), &opts.name, opts.password.clone()).await {
        Ok((rx, tx, first)) => {
            if let Some(log) = &mut log {
                log.connected(&opts.addr);
                log.event(&first);
            }
            Ok((rx, tx, first, log))
        }
        Err(e) => {
            if let Some(log) = &mut log {
                log.error(&e.to_string());
            }
            Err(e)
        }
    }
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
/// `select!` next to timers and the keyboard) and forward them, writing each to `log` if there is
/// one.
pub fn spawn_reader(mut rx: JsonReader, mut log: Option<QuizLog>) -> mpsc::Receiver<Incoming> {
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
            if let Some(log) = &mut log {
                match &msg {
                    Incoming::Event(event) => log.event(event),
                    Incoming::Closed(Some(why)) => log.error(why),
                    Incoming::Closed(None) => log.write(Level::Info, &t!("client-server-closed")),
                }
            }
            if tx.send(msg).await.is_err() || last {
                break;
            }
        }
    });
    out
}
