//! What every service's full-screen client has in common, so that a screen only says what is
//! particular to its service (how its events look, what a typed line means, its status bar).
//!
//! - [`Shell`]: the pane, the input line and how the session ended; the keys every screen
//!   handles the same way (PageUp/PageDown, Esc, Ctrl-C, Ctrl-D, Ctrl-L, any key after the end);
//!   the connection's end (`bye`, or lost); the status bar's right-hand hints; drawing.
//! - [`Screen`]: what a service's screen provides to [`run`].
//! - [`run`]: the loop — wait for whichever comes first (a key, events from the server, a
//!   signal), let the screen handle it, draw one frame — then leaving properly: send the quit
//!   request, wait up to [`QUIT_WAIT`] for the server's `bye`, restore the terminal and say how
//!   the session ended. Nothing is drawn while nothing happens, and a burst of events is drawn
//!   once.

use sockhub_i18n::t;
use std::time::Duration;

use crossterm::event::{Event, EventStream, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use futures_util::StreamExt;
use ratatui::Frame;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sockhub_proto::{ErrorCode, ErrorEvent, notice};
use tokio::sync::mpsc;

use super::session::{Incoming, StopSignals, spawn_reader};
use super::{InputLine, InputOutcome, Scrollback, StatusBar, Tui};
use crate::conn::{ClientError, JsonReader, JsonWriter};

/// How long leaving waits for the server's `bye` before giving up on it.
pub const QUIT_WAIT: Duration = Duration::from_secs(2);

/// Lines kept in the pane; older ones are dropped.
const SCROLLBACK_LINES: usize = 5_000;

/// Errors, from the server or from the client itself.
pub const ERROR: Style = Style::new().fg(Color::Red);

/// What the loop should do after a screen handled an input.
#[derive(Debug, Clone, PartialEq)]
pub enum Action<R> {
    Nothing,
    Send(R),
    /// Leave: send the quit request, wait for `bye`, exit.
    Leave,
    /// Exit now (the session is already over).
    Exit,
    /// Repaint the whole terminal (Ctrl-L).
    Repaint,
}

/// How the server ended the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    /// The server said `bye` with this reason.
    Bye(String),
    /// The connection ended without a `bye`.
    Lost(String),
}

/// What a key or a paste amounted to.
#[derive(Debug, Clone, PartialEq)]
pub enum Typed<R> {
    /// Handled by the shell: do this.
    Act(Action<R>),
    /// The user pressed Enter on this line: the screen decides what it means.
    Line(String),
}

/// The parts every screen shares.
pub struct Shell {
    pub pane: Scrollback,
    pub input: InputLine,
    pub ended: Option<Ended>,
}

impl Shell {
    /// A shell whose input line starts with `prompt`.
    pub fn new(prompt: &str) -> Shell {
        Shell {
            pane: Scrollback::new(SCROLLBACK_LINES),
            input: InputLine::new(prompt, Style::new().add_modifier(Modifier::BOLD)),
            ended: None,
        }
    }

    /// An error line, in the protocol's text form `! code: message`.
    pub fn error_line(e: &ErrorEvent) -> Line<'static> {
        Line::styled(notice::error_text(e), ERROR)
    }

    /// Show an error (the server's, or the client's own, like a mistyped command).
    pub fn error(&mut self, e: &ErrorEvent) {
        self.pane.push(Self::error_line(e));
    }

    /// A problem of the client itself (for example, a send that failed).
    pub fn note_error(&mut self, message: impl Into<sockhub_i18n::Msg>) {
        self.error(&ErrorEvent::new(ErrorCode::Unavailable, message));
    }

    /// Something from the connection: the event, for the screen to show, or `None` when the
    /// shell took care of it (a garbled line, the end of the connection).
    pub fn on_incoming<E>(&mut self, incoming: Incoming<E>) -> Option<E> {
        match incoming {
            Incoming::Event(event) => return Some(event),
            Incoming::Garbled(why) => self.error(&ErrorEvent::new(ErrorCode::Internal, why)),
            // After a bye the close is expected; only an unannounced end is news.
            Incoming::Closed | Incoming::Failed(_) if self.ended.is_some() => {}
            Incoming::Closed => self.lost(t!("client-server-closed")),
            Incoming::Failed(why) => self.lost(why),
        }
        None
    }

    fn lost(&mut self, why: String) {
        self.note_error(why.clone());
        self.ended = Some(Ended::Lost(why));
    }

    /// The server said `bye`.
    pub fn bye(&mut self, reason: &str) {
        self.ended = Some(Ended::Bye(reason.to_owned()));
    }

    /// Something from the terminal.
    pub fn on_terminal<R>(&mut self, event: Event) -> Typed<R> {
        match event {
            Event::Key(key) if key.kind != KeyEventKind::Release => self.on_key(key),
            Event::Paste(text) if self.ended.is_none() => {
                self.input.insert_str(&text);
                Typed::Act(Action::Nothing)
            }
            // A resize needs nothing but the redraw that follows every event.
            _ => Typed::Act(Action::Nothing),
        }
    }

    /// A key press.
    pub fn on_key<R>(&mut self, key: KeyEvent) -> Typed<R> {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let action = match key.code {
            KeyCode::PageUp => {
                self.pane.page_up();
                Action::Nothing
            }
            KeyCode::PageDown => {
                self.pane.page_down();
                Action::Nothing
            }
            // The session is over: any other key exits.
            _ if self.ended.is_some() => Action::Exit,
            KeyCode::Esc => {
                self.pane.to_bottom();
                Action::Nothing
            }
            KeyCode::Char('c') if ctrl => Action::Leave,
            // Ctrl-D leaves like end of input in a shell; with text on the line it deletes.
            KeyCode::Char('d') if ctrl && self.input.text().is_empty() => Action::Leave,
            KeyCode::Char('l') if ctrl => Action::Repaint,
            _ => match self.input.handle_key(key) {
                InputOutcome::Submit(line) => {
                    // Sending something means the user is following the conversation again.
                    self.pane.to_bottom();
                    return Typed::Line(line);
                }
                _ => Action::Nothing,
            },
        };
        Typed::Act(action)
    }

    /// The right-hand side every status bar shows: how the session ended, or that the pane is
    /// scrolled back. `None` when there is nothing to say.
    pub fn status_hint(&self) -> Option<Span<'static>> {
        if let Some(ended) = &self.ended {
            let why = match ended {
                Ended::Bye(reason) => t!("client-server-said-bye", reason = reason),
                Ended::Lost(why) => t!("client-disconnected", why = why),
            };
            return Some(Span::styled(t!("client-press-a-key", why = why), Style::new().fg(Color::Yellow)));
        }
        self.pane.is_scrolled().then(|| Span::raw(t!("client-scrolled-back")))
    }

    /// Draw the pane, `status` and the input line.
    pub fn draw(&mut self, frame: &mut Frame, status: StatusBar<'_>) {
        let [pane, bar, input] = super::layout(frame.area());
        self.pane.render(pane, frame.buffer_mut());
        frame.render_widget(status, bar);
        let cursor = self.input.render(input, frame.buffer_mut());
        if self.ended.is_none() {
            frame.set_cursor_position(cursor);
        }
    }
}

/// A service's full-screen client, as [`run`] drives it.
pub trait Screen {
    type Event: DeserializeOwned + Send + 'static;
    type Request: Serialize;

    /// The shared parts.
    fn shell(&mut self) -> &mut Shell;
    /// Something from the connection.
    fn on_incoming(&mut self, incoming: Incoming<Self::Event>);
    /// Something from the terminal.
    fn on_terminal(&mut self, event: Event) -> Action<Self::Request>;
    /// Draw the whole screen.
    fn draw(&mut self, frame: &mut Frame);
    /// The request that leaves.
    fn quit() -> Self::Request;
}

/// Run `screen` on the terminal until the user leaves or the server ends the session, then
/// restore the terminal and print how it ended (`program` names the client in a lost-connection
/// message). Returns false only when the connection was lost without a `bye` and the user did
/// not ask to leave.
pub async fn run<S: Screen>(
    screen: &mut S,
    rx: JsonReader,
    mut tx: JsonWriter,
    program: &str,
) -> Result<bool, ClientError> {
    let mut incoming = spawn_reader::<S::Event>(rx);
    let mut stop = StopSignals::new()?;
    let mut tui = Tui::enter()?;
    let mut terminal = EventStream::new();

    let leaving = loop {
        tui.draw(|frame| screen.draw(frame))?;
        let action = tokio::select! {
            event = terminal.next() => match event {
                Some(Ok(event)) => screen.on_terminal(event),
                // The terminal is gone: nobody is watching, leave properly.
                Some(Err(_)) | None => Action::Leave,
            },
            Some(first) = incoming.recv() => {
                screen.on_incoming(first);
                // Take everything already waiting, so a burst costs one frame.
                while let Ok(more) = incoming.try_recv() {
                    screen.on_incoming(more);
                }
                Action::Nothing
            }
            () = stop.recv() => Action::Leave,
        };
        match action {
            Action::Nothing => {}
            Action::Repaint => tui.clear()?,
            Action::Send(request) => {
                if let Err(e) = tx.send(&request).await {
                    screen.shell().note_error(t!("client-could-not-send", error = e.to_string()));
                }
            }
            Action::Leave => break true,
            Action::Exit => break false,
        }
    };

    if leaving && screen.shell().ended.is_none() {
        leave(screen, &mut tx, &mut incoming).await;
    }
    drop(tui);
    // The conversation vanished with the alternate screen; say on the normal one how it ended.
    let ended = screen.shell().ended.clone();
    match &ended {
        Some(Ended::Bye(reason)) => println!("{}", notice::bye_text(&reason.clone().into())),
        Some(Ended::Lost(why)) => eprintln!("{program}: {why}"),
        None => {}
    }
    Ok(!matches!(ended, Some(Ended::Lost(_))) || leaving)
}

/// Send the quit request and wait, at most [`QUIT_WAIT`] in all, for the server's `bye`: the
/// server then records the departure as a leave rather than a dropped connection.
async fn leave<S: Screen>(
    screen: &mut S,
    tx: &mut JsonWriter,
    incoming: &mut mpsc::Receiver<Incoming<S::Event>>,
) {
    let deadline = tokio::time::Instant::now() + QUIT_WAIT;
    if !matches!(tokio::time::timeout_at(deadline, tx.send(&S::quit())).await, Ok(Ok(()))) {
        return;
    }
    while screen.shell().ended.is_none() {
        match tokio::time::timeout_at(deadline, incoming.recv()).await {
            Ok(Some(msg)) => screen.on_incoming(msg),
            Ok(None) | Err(_) => return,
        }
    }
}
