//! The full-screen chat client: messages above, a status bar, and the line being typed below.
//!
//! [`ChatScreen`] is the state and all the decisions — what an event does to the pane and the
//! status bar, what a key or a typed line means — with no I/O, so it is tested directly.
//! [`run_screen`] is the loop around it: it waits for whichever comes first (a key, a message from
//! the server, a signal), lets the screen handle it, and draws one frame. Nothing is drawn while
//! nothing happens, and a burst of messages is drawn once.
//!
//! The connection is read by its own task, which forwards events over a channel: reading a line
//! is not cancel-safe, so it cannot sit in the `select!` next to the keyboard.
//!
//! Leaving: Ctrl-C, `/quit` (or `quit`, `q`, Ctrl-D on an empty line) sends `quit`, waits up to
//! [`QUIT_WAIT`] for the server's `bye`, restores the terminal and exits 0. When the *server*
//! ends the session (shutdown, idle timeout, kick), the reason is shown and the screen stays until
//! the next key press, so the user can read what happened (PageUp/PageDown still scroll); the
//! exit status is 0 if the server said `bye`, 1 if the connection was lost without one.

use std::time::Duration;

use crossterm::event::{Event, EventStream, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use futures_util::StreamExt;
use ratatui::Frame;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Span;
use sockhub_proto::chat::{self, ChatEvent, ChatRequest, Phase};
use sockhub_proto::{ErrorCode, ErrorEvent, notice};
use tokio::sync::mpsc;

use super::{ChatOptions, login, mark_outgoing, show, view};
use crate::conn::{ClientError, JsonWriter};
use crate::tui::session::{StopSignals, spawn_reader};
use crate::tui::{self, InputLine, InputOutcome, Scrollback, StatusBar, Tui};

/// How long leaving waits for the server's `bye` before giving up on it.
pub const QUIT_WAIT: Duration = Duration::from_secs(2);

/// Lines kept in the pane; older ones are dropped.
const SCROLLBACK_LINES: usize = 5_000;

/// What the connection's reader task reports.
pub type Incoming = tui::session::Incoming<ChatEvent>;

/// What the loop should do after the screen handled an input.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Nothing,
    Send(ChatRequest),
    /// Leave the room: send `quit`, wait for `bye`, exit.
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

/// The chat screen's state.
pub struct ChatScreen {
    addr: String,
    me: String,
    online: usize,
    /// Who whispered to us last: `/r` replies to them.
    reply_to: Option<String>,
    ended: Option<Ended>,
    pane: Scrollback,
    input: InputLine,
}

impl ChatScreen {
    /// A screen for user `me` connected to `addr`.
    pub fn new(addr: impl Into<String>, me: impl Into<String>) -> ChatScreen {
        ChatScreen {
            addr: addr.into(),
            me: me.into(),
            online: 0,
            reply_to: None,
            ended: None,
            pane: Scrollback::new(SCROLLBACK_LINES),
            input: InputLine::new("> ", Style::new().add_modifier(Modifier::BOLD)),
        }
    }

    pub fn online(&self) -> usize {
        self.online
    }

    pub fn reply_to(&self) -> Option<&str> {
        self.reply_to.as_deref()
    }

    pub fn ended(&self) -> Option<&Ended> {
        self.ended.as_ref()
    }

    pub fn input(&self) -> &InputLine {
        &self.input
    }

    pub fn pane(&self) -> &Scrollback {
        &self.pane
    }

    /// Something from the connection.
    pub fn on_incoming(&mut self, incoming: Incoming) {
        match incoming {
            Incoming::Event(event) => self.on_event(event),
            Incoming::Garbled(why) => self.pane.push(view::error(&ErrorEvent::new(ErrorCode::Internal, why))),
            // After a bye the close is expected; only an unannounced end is news.
            Incoming::Closed | Incoming::Failed(_) if self.ended.is_some() => {}
            Incoming::Closed => self.lost("the server closed the connection".to_owned()),
            Incoming::Failed(why) => self.lost(why),
        }
    }

    fn lost(&mut self, why: String) {
        self.pane.push(view::error(&ErrorEvent::new(ErrorCode::Unavailable, why.clone())));
        self.ended = Some(Ended::Lost(why));
    }

    /// An event from the server.
    pub fn on_event(&mut self, mut event: ChatEvent) {
        mark_outgoing(&mut event, &self.me);
        match &event {
            ChatEvent::Welcome { online, .. }
            | ChatEvent::Joined { online, .. }
            | ChatEvent::Left { online, .. } => {
                self.online = *online;
            }
            ChatEvent::Users { names } => self.online = names.len(),
            ChatEvent::Whisper { from, outgoing: false, .. } => self.reply_to = Some(from.clone()),
            ChatEvent::Bye { reason } => self.ended = Some(Ended::Bye(reason.clone())),
            _ => {}
        }
        for line in view::event_lines(&event, &self.me) {
            self.pane.push(line);
        }
        if let ChatEvent::Help { commands } = &event {
            // `/r` is this client's own command, so the server's list does not have it.
            let width = commands.iter().map(|c| c.usage.chars().count()).max().unwrap_or(0);
            self.pane.push(view::notice(format!(
                "  {:width$}  reply to the last whisper you received",
                "/r text"
            )));
        }
    }

    /// Something from the terminal.
    pub fn on_terminal(&mut self, event: Event) -> Action {
        match event {
            Event::Key(key) if key.kind != KeyEventKind::Release => self.on_key(key),
            Event::Paste(text) if self.ended.is_none() => {
                self.input.insert_str(&text);
                Action::Nothing
            }
            // A resize needs nothing but the redraw that follows every event.
            _ => Action::Nothing,
        }
    }

    /// A key press.
    pub fn on_key(&mut self, key: KeyEvent) -> Action {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::PageUp => self.pane.page_up(),
            KeyCode::PageDown => self.pane.page_down(),
            // The session is over: any other key exits.
            _ if self.ended.is_some() => return Action::Exit,
            KeyCode::Esc => self.pane.to_bottom(),
            KeyCode::Char('c') if ctrl => return Action::Leave,
            // Ctrl-D leaves like end of input in a shell; with text on the line it deletes.
            KeyCode::Char('d') if ctrl && self.input.text().is_empty() => return Action::Leave,
            KeyCode::Char('l') if ctrl => return Action::Repaint,
            _ => {
                if let InputOutcome::Submit(line) = self.input.handle_key(key) {
                    return self.submit(&line);
                }
            }
        }
        Action::Nothing
    }

    /// A line the user typed and sent with Enter.
    pub fn submit(&mut self, line: &str) -> Action {
        // Sending something means the user is following the conversation again.
        self.pane.to_bottom();
        let (command, rest) = chat::split_word(line);
        if command == "/r" {
            return self.reply(rest);
        }
        match chat::parse_text(line, &Phase::Room) {
            Ok(None) => Action::Nothing,
            Ok(Some(ChatRequest::Quit)) => Action::Leave,
            Ok(Some(request)) => Action::Send(request),
            Err(e) => {
                self.pane.push(view::error(&e));
                Action::Nothing
            }
        }
    }

    /// `/r text`: whisper to whoever whispered to us last.
    fn reply(&mut self, text: &str) -> Action {
        let problem = match &self.reply_to {
            None => "nobody has whispered to you yet; use /w name text".to_owned(),
            Some(to) if text.is_empty() => format!("usage: /r text (replies to {to})"),
            Some(to) => return Action::Send(ChatRequest::Whisper { to: to.clone(), text: text.to_owned() }),
        };
        self.pane.push(view::error(&ErrorEvent::new(ErrorCode::BadRequest, problem)));
        Action::Nothing
    }

    /// A line from the client itself (for example, a send that failed).
    pub fn note_error(&mut self, message: impl Into<String>) {
        self.pane.push(view::error(&ErrorEvent::new(ErrorCode::Unavailable, message)));
    }

    /// The status bar for the current state.
    pub fn status_bar(&self) -> StatusBar<'_> {
        let bar = StatusBar::new()
            .left(Span::styled("sockhub chat", Style::new().add_modifier(Modifier::BOLD)))
            .left(self.addr.as_str())
            .left(self.me.as_str())
            .left(format!("{} online", self.online));
        if let Some(ended) = &self.ended {
            let why = match ended {
                Ended::Bye(reason) => format!("server said bye: {reason}"),
                Ended::Lost(why) => format!("disconnected: {why}"),
            };
            return bar
                .right(Span::styled(format!("{why} — press a key to exit"), Style::new().fg(Color::Yellow)));
        }
        let bar = if self.pane.is_scrolled() { bar.right("scrolled back: PgDn") } else { bar };
        match &self.reply_to {
            Some(to) => bar.right(format!("reply: /r → {to}")),
            None => bar,
        }
    }

    /// Draw the whole screen.
    pub fn draw(&mut self, frame: &mut Frame) {
        let [pane, status, input] = tui::layout(frame.area());
        self.pane.render(pane, frame.buffer_mut());
        frame.render_widget(self.status_bar(), status);
        let cursor = self.input.render(input, frame.buffer_mut());
        if self.ended.is_none() {
            frame.set_cursor_position(cursor);
        }
    }
}

/// Run the full-screen client until the user leaves or the server ends the session. A refused
/// login (name taken, invalid) is printed before the screen opens and returns `Ok(false)`; so does
/// a session whose connection was lost without a `bye`.
pub async fn run_screen(opts: ChatOptions) -> Result<bool, ClientError> {
    let (rx, mut tx, first) = login(&opts).await?;
    let ChatEvent::Welcome { name, .. } = &first else {
        eprintln!("{}", show(&first));
        return Ok(false);
    };
    let mut screen = ChatScreen::new(&opts.addr, name.clone());
    screen.on_event(first);
    let mut incoming = spawn_reader(rx);
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
                    screen.note_error(format!("could not send: {e}"));
                }
            }
            Action::Leave => break true,
            Action::Exit => break false,
        }
    };

    if leaving && screen.ended.is_none() {
        leave(&mut screen, &mut tx, &mut incoming).await;
    }
    drop(tui);
    // The conversation vanished with the alternate screen; say on the normal one how it ended.
    match &screen.ended {
        Some(Ended::Bye(reason)) => println!("{}", notice::bye_text(reason)),
        Some(Ended::Lost(why)) => eprintln!("sockhub chat: {why}"),
        None => {}
    }
    Ok(!matches!(screen.ended, Some(Ended::Lost(_))) || leaving)
}

/// Send `quit` and wait, at most [`QUIT_WAIT`] in all, for the server's `bye`: the server then
/// announces the departure to the room as a leave rather than a dropped connection.
async fn leave(screen: &mut ChatScreen, tx: &mut JsonWriter, incoming: &mut mpsc::Receiver<Incoming>) {
    let deadline = tokio::time::Instant::now() + QUIT_WAIT;
    if !matches!(tokio::time::timeout_at(deadline, tx.send(&ChatRequest::Quit)).await, Ok(Ok(()))) {
        return;
    }
    while screen.ended.is_none() {
        match tokio::time::timeout_at(deadline, incoming.recv()).await {
            Ok(Some(msg)) => screen.on_incoming(msg),
            Ok(None) | Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    use sockhub_proto::time;

    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn ctrl(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)
    }

    fn type_text(screen: &mut ChatScreen, text: &str) -> Action {
        let mut last = Action::Nothing;
        for c in text.chars() {
            last = screen.on_key(key(KeyCode::Char(c)));
        }
        last
    }

    fn enter(screen: &mut ChatScreen, text: &str) -> Action {
        type_text(screen, text);
        screen.on_key(key(KeyCode::Enter))
    }

    fn whisper(from: &str, to: &str) -> ChatEvent {
        ChatEvent::Whisper {
            from: from.into(),
            to: to.into(),
            text: "psst".into(),
            at: time::now(),
            outgoing: false,
        }
    }

    fn last_line(screen: &ChatScreen) -> String {
        screen.pane().lines().last().unwrap().to_string()
    }

    /// The screen as text rows, wide characters once.
    fn rows(screen: &mut ChatScreen, cols: u16, height: u16) -> Vec<String> {
        let mut terminal = Terminal::new(TestBackend::new(cols, height)).unwrap();
        terminal.draw(|f| screen.draw(f)).unwrap();
        let buf = terminal.backend().buffer();
        (0..height)
            .map(|y| {
                let mut row = String::new();
                let mut x = 0;
                while x < cols {
                    let symbol = buf[(x, y)].symbol();
                    row.push_str(symbol);
                    x += tui::width(symbol).max(1) as u16;
                }
                row.trim_end().to_owned()
            })
            .collect()
    }

    #[test]
    fn the_online_count_follows_the_room() {
        let mut screen = ChatScreen::new("127.0.0.1:7001", "alice");
        screen.on_event(ChatEvent::Welcome { name: "alice".into(), online: 2 });
        assert_eq!(screen.online(), 2);
        screen.on_event(ChatEvent::Joined { name: "carol".into(), online: 3 });
        assert_eq!(screen.online(), 3);
        screen.on_event(ChatEvent::Left { name: "bob".into(), online: 2 });
        assert_eq!(screen.online(), 2);
        screen.on_event(ChatEvent::Users { names: vec!["alice".into()] });
        assert_eq!(screen.online(), 1);
    }

    #[test]
    fn typed_lines_become_requests() {
        let mut screen = ChatScreen::new("addr", "alice");
        assert_eq!(
            enter(&mut screen, "안녕 bob"),
            Action::Send(ChatRequest::Say { text: "안녕 bob".into() })
        );
        assert_eq!(
            enter(&mut screen, "/w bob hi there"),
            Action::Send(ChatRequest::Whisper { to: "bob".into(), text: "hi there".into() })
        );
        assert_eq!(enter(&mut screen, "/who"), Action::Send(ChatRequest::Who));
        assert_eq!(enter(&mut screen, ""), Action::Nothing);
        assert_eq!(enter(&mut screen, "/w bob"), Action::Nothing);
        assert_eq!(last_line(&screen), "! bad_request: usage: /w name text");
        for quit in ["/quit", "q", "quit"] {
            assert_eq!(enter(&mut screen, quit), Action::Leave);
        }
        assert_eq!(screen.on_key(ctrl('c')), Action::Leave);
        assert_eq!(screen.on_key(ctrl('d')), Action::Leave, "Ctrl-D on an empty line leaves");
        type_text(&mut screen, "x");
        assert_eq!(screen.on_key(ctrl('d')), Action::Nothing, "but not while there is text");
        assert_eq!(screen.on_key(ctrl('l')), Action::Repaint);
    }

    #[test]
    fn slash_r_replies_to_the_last_whisperer() {
        let mut screen = ChatScreen::new("addr", "alice");
        assert_eq!(enter(&mut screen, "/r hello?"), Action::Nothing);
        assert!(last_line(&screen).contains("nobody has whispered to you yet"));
        screen.on_event(whisper("bob", "alice"));
        screen.on_event(whisper("carol", "alice"));
        screen.on_event(whisper("alice", "dave")); // our own whisper does not change the target
        assert_eq!(screen.reply_to(), Some("carol"));
        assert_eq!(
            enter(&mut screen, "/r 알았어"),
            Action::Send(ChatRequest::Whisper { to: "carol".into(), text: "알았어".into() })
        );
        assert_eq!(enter(&mut screen, "/r"), Action::Nothing);
        assert_eq!(last_line(&screen), "! bad_request: usage: /r text (replies to carol)");
        assert_eq!(enter(&mut screen, "/rx"), Action::Nothing, "only /r itself is the reply command");
        let status = rows(&mut screen, 80, 6)[4].clone();
        assert!(status.contains("reply: /r → carol"), "{status}");
    }

    #[test]
    fn help_mentions_slash_r() {
        let mut screen = ChatScreen::new("addr", "alice");
        screen.on_event(ChatEvent::Help { commands: chat::help() });
        assert!(last_line(&screen).starts_with("*   /r text  "), "{}", last_line(&screen));
    }

    #[test]
    fn an_arriving_message_leaves_the_typed_text_alone() {
        let mut screen = ChatScreen::new("127.0.0.1:7001", "alice");
        screen.on_event(ChatEvent::Welcome { name: "alice".into(), online: 2 });
        type_text(&mut screen, "half 입력");
        let before = rows(&mut screen, 60, 6);
        assert_eq!(before[5], "> half 입력");
        screen.on_event(ChatEvent::Message {
            from: "bob".into(),
            text: "hi alice".into(),
            at: time::now(),
            history: false,
        });
        let after = rows(&mut screen, 60, 6);
        assert_eq!(after[1], "[bob] hi alice");
        assert_eq!(after[4], " sockhub chat │ 127.0.0.1:7001 │ alice │ 2 online");
        assert_eq!(after[5], "> half 입력");
        assert_eq!(screen.input().cursor_column(), 9);
    }

    #[test]
    fn when_the_server_ends_the_session_a_key_exits() {
        let mut screen = ChatScreen::new("addr", "alice");
        screen.on_incoming(Incoming::Event(ChatEvent::Bye { reason: "server shutting down".into() }));
        screen.on_incoming(Incoming::Closed);
        assert_eq!(screen.ended(), Some(&Ended::Bye("server shutting down".into())));
        assert_eq!(last_line(&screen), "* bye: server shutting down");
        let status = rows(&mut screen, 100, 4)[2].clone();
        assert!(status.contains("server said bye: server shutting down — press a key to exit"), "{status}");
        assert_eq!(screen.on_key(key(KeyCode::PageUp)), Action::Nothing, "scrolling still works");
        assert_eq!(screen.on_key(key(KeyCode::Char('x'))), Action::Exit);

        let mut screen = ChatScreen::new("addr", "alice");
        screen.on_incoming(Incoming::Closed);
        assert!(matches!(screen.ended(), Some(Ended::Lost(_))));
    }
}
