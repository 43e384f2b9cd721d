//! The full-screen chat client: messages above, a status bar, and the line being typed below.
//!
//! Rooms ([`super::rooms`]): the status bar shows the current room and the other rooms with
//! unread messages; lines from a room other than the current one start with `[#room]`; a plain
//! line (and `/who`, `/part`, `/topic` without a room) goes to the current room.
//!
//! [`ChatScreen`] is the state and all the decisions — what an event does to the pane and the
//! status bar, what a key or a typed line means — with no I/O, so it is tested directly.
//! [`run_screen`] logs in and hands it to the loop every full-screen client shares
//! ([`crate::tui::shell::run`]), which also reads the connection on a task of its own.
//!
//! Leaving: Ctrl-C, `/quit` (or `quit`, `q`, Ctrl-D on an empty line) sends `quit`, waits up to
//! [`QUIT_WAIT`] for the server's `bye`, restores the terminal and exits 0. When the *server*
//! ends the session (shutdown, idle timeout, kick), the reason is shown and the screen stays until
//! the next key press, so the user can read what happened (PageUp/PageDown still scroll); the
//! exit status is 0 if the server said `bye`, 1 if the connection was lost without one.

use crossterm::event::{Event, KeyEvent};
use ratatui::Frame;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use sockhub_i18n::t;
use sockhub_proto::chat::{self, ChatEvent, ChatRequest, Phase};
use sockhub_proto::{ErrorCode, ErrorEvent};

use super::rooms::{Moved, Rooms};
use super::{ChatOptions, login, mark_outgoing, show, view};
use crate::conn::ClientError;
use crate::tui::shell::{self, Screen, Shell, Typed};
use crate::tui::{InputLine, Scrollback, StatusBar};

pub use crate::tui::shell::{Ended, QUIT_WAIT};

/// What the connection's reader task reports.
pub type Incoming = crate::tui::session::Incoming<ChatEvent>;

/// What the loop should do after the screen handled an input.
pub type Action = shell::Action<ChatRequest>;

/// The chat screen's state.
pub struct ChatScreen {
    addr: String,
    me: String,
    online: usize,
    /// Who whispered to us last: `/r` replies to them.
    reply_to: Option<String>,
    rooms: Rooms,
    shell: Shell,
}

impl ChatScreen {
    /// A screen for user `me` connected to `addr`.
    pub fn new(addr: impl Into<String>, me: impl Into<String>) -> ChatScreen {
        ChatScreen {
            addr: addr.into(),
            me: me.into(),
            online: 0,
            reply_to: None,
            rooms: Rooms::default(),
            shell: Shell::new("> "),
        }
    }

    /// Members of the current room (of the chat, from a server without rooms).
    pub fn online(&self) -> usize {
        self.rooms.online().unwrap_or(self.online)
    }

    pub fn reply_to(&self) -> Option<&str> {
        self.reply_to.as_deref()
    }

    pub fn rooms(&self) -> &Rooms {
        &self.rooms
    }

    pub fn ended(&self) -> Option<&Ended> {
        self.shell.ended.as_ref()
    }

    pub fn input(&self) -> &InputLine {
        &self.shell.input
    }

    pub fn pane(&self) -> &Scrollback {
        &self.shell.pane
    }

    /// Something from the connection.
    pub fn on_incoming(&mut self, incoming: Incoming) {
        if let Some(event) = self.shell.on_incoming(incoming) {
            self.on_event(event);
        }
    }

    /// An event from the server.
    pub fn on_event(&mut self, mut event: ChatEvent) {
        mark_outgoing(&mut event, &self.me);
        let moved = self.rooms.on_event(&event, &self.me);
        // The online count is the current room's.
        let here = event.room().is_none_or(|room| self.rooms.is_current(room));
        match &event {
            ChatEvent::Welcome { online, .. } => self.online = *online,
            ChatEvent::Joined { online, .. } | ChatEvent::Left { online, .. } if here => {
                self.online = *online
            }
            ChatEvent::Users { names, .. } if here => self.online = names.len(),
            ChatEvent::Whisper { from, outgoing: false, .. } => self.reply_to = Some(from.clone()),
            ChatEvent::Bye { reason } => self.shell.bye(&reason.to_string()),
            _ => {}
        }
        let prefix = self.rooms.prefix(&event).map(|room| Span::styled(format!("[{room}] "), view::ROOM));
        for mut line in view::event_lines(&event, &self.me) {
            if let Some(prefix) = &prefix {
                line.spans.insert(0, prefix.clone());
            }
            self.shell.pane.push(line);
        }
        match moved {
            Moved::Stayed => {}
            Moved::To(room) => {
                self.shell.pane.push(Line::styled(t!("chat-switched", room = room), view::NOTICE))
            }
            Moved::Nowhere => self.shell.pane.push(view::notice(t!("chat-in-no-room"))),
        }
        if let ChatEvent::Help { commands } = &event {
            // `/r` is this client's own command, so the server's list does not have it.
            let width = commands.iter().map(|c| c.usage.chars().count()).max().unwrap_or(0);
            let usage = format!("{:width$}", "/r text");
            self.shell.pane.push(view::notice(format!("  {usage}  {}", t!("client-help-reply"))));
        }
    }

    /// Something from the terminal.
    pub fn on_terminal(&mut self, event: Event) -> Action {
        let typed = self.shell.on_terminal(event);
        self.typed(typed)
    }

    /// A key press.
    pub fn on_key(&mut self, key: KeyEvent) -> Action {
        let typed = self.shell.on_key(key);
        self.typed(typed)
    }

    fn typed(&mut self, typed: Typed<ChatRequest>) -> Action {
        match typed {
            Typed::Act(action) => action,
            Typed::Line(line) => self.submit(&line),
        }
    }

    /// A line the user typed and sent with Enter.
    pub fn submit(&mut self, line: &str) -> Action {
        let (command, rest) = chat::split_word(line);
        if command == "/r" {
            return self.reply(rest);
        }
        match chat::parse_text(line, &Phase::Room) {
            Ok(None) => Action::Nothing,
            Ok(Some(ChatRequest::Quit)) => Action::Leave,
            Ok(Some(request)) => Action::Send(self.in_current_room(request)),
            Err(e) => {
                self.shell.error(&e);
                Action::Nothing
            }
        }
    }

    /// A request that applies to the current room when it names none (a plain line, `/who`,
    /// `/part`, `/topic`) names the current room the status bar shows.
    fn in_current_room(&self, mut request: ChatRequest) -> ChatRequest {
        if let ChatRequest::Say { room, .. }
        | ChatRequest::Who { room }
        | ChatRequest::Part { room, .. }
        | ChatRequest::Topic { room, .. } = &mut request
            && room.is_none()
        {
            *room = self.rooms.current().map(str::to_owned);
        }
        request
    }

    /// `/r text`: whisper to whoever whispered to us last.
    fn reply(&mut self, text: &str) -> Action {
        let problem = match &self.reply_to {
            None => t!("client-no-whisper-yet"),
            Some(to) if text.is_empty() => t!("client-reply-usage", to = to),
            Some(to) => {
                return Action::Send(ChatRequest::Whisper {
                    to: to.clone(),
                    text: text.to_owned(),
                    notice: false,
                    tags: Vec::new(),
                });
            }
        };
        self.shell.error(&ErrorEvent::new(ErrorCode::BadRequest, problem));
        Action::Nothing
    }

    /// A line from the client itself (for example, a send that failed).
    pub fn note_error(&mut self, message: impl Into<sockhub_i18n::Msg>) {
        self.shell.note_error(message);
    }

    /// The status bar for the current state.
    pub fn status_bar(&self) -> StatusBar<'static> {
        let bar = StatusBar::new()
            .left(Span::styled("sockhub chat", Style::new().add_modifier(Modifier::BOLD)))
            .left(self.addr.clone())
            .left(self.me.clone())
            .left(t!("client-online", online = self.online()));
        let bar = match self.rooms.current() {
            Some(room) => bar.left(Span::styled(room.to_owned(), Style::new().add_modifier(Modifier::BOLD))),
            None => bar.left(t!("client-no-room")),
        };
        let bar = match self.rooms.unread() {
            Some(rooms) => bar.left(t!("client-unread", rooms = rooms)),
            None => bar,
        };
        let bar = match self.shell.status_hint() {
            Some(hint) => bar.right(hint),
            None => bar,
        };
        match &self.reply_to {
            Some(to) if self.shell.ended.is_none() => bar.right(t!("client-reply-to", to = to)),
            _ => bar,
        }
    }

    /// Draw the whole screen.
    pub fn draw(&mut self, frame: &mut Frame) {
        let status = self.status_bar();
        self.shell.draw(frame, status);
    }
}

impl Screen for ChatScreen {
    type Event = ChatEvent;
    type Request = ChatRequest;

    fn shell(&mut self) -> &mut Shell {
        &mut self.shell
    }

    fn on_incoming(&mut self, incoming: Incoming) {
        ChatScreen::on_incoming(self, incoming);
    }

    fn on_terminal(&mut self, event: Event) -> Action {
        ChatScreen::on_terminal(self, event)
    }

    fn draw(&mut self, frame: &mut Frame) {
        ChatScreen::draw(self, frame);
    }

    fn quit() -> ChatRequest {
        ChatRequest::Quit
    }
}

/// Run the full-screen client until the user leaves or the server ends the session. A refused
/// login (name taken, invalid) is printed before the screen opens and returns `Ok(false)`; so does
/// a session whose connection was lost without a `bye`.
pub async fn run_screen(opts: ChatOptions) -> Result<bool, ClientError> {
    let (rx, tx, first) = login(&opts).await?;
    let ChatEvent::Welcome { name, .. } = &first else {
        eprintln!("{}", show(&first));
        return Ok(false);
    };
    let mut screen = ChatScreen::new(&opts.addr, name.clone());
    screen.on_event(first);
    shell::run(&mut screen, rx, tx, "sockhub chat").await
}

#[cfg(test)]
mod tests {
    use crossterm::event::KeyCode;
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    use crate::tui;
    use crate::tui::testing::{ctrl, key};
    use sockhub_proto::time;

    use super::*;

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
            notice: false,
            id: None,
            tags: Vec::new(),
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
        tui::testing::rows(terminal.backend().buffer(), cols, height)
    }

    #[test]
    fn the_online_count_follows_the_room() {
        let mut screen = ChatScreen::new("127.0.0.1:7001", "alice");
        screen.on_event(ChatEvent::Welcome {
            name: "alice".into(),
            online: 2,
            admin: false,
            room: "#lobby".into(),
        });
        assert_eq!(screen.online(), 2);
        screen.on_event(ChatEvent::Joined {
            name: "carol".into(),
            online: 3,
            room: "#lobby".into(),
            topic: None,
        });
        assert_eq!(screen.online(), 3);
        screen.on_event(ChatEvent::Left {
            name: "bob".into(),
            online: 2,
            room: "#lobby".into(),
            reason: None,
        });
        assert_eq!(screen.online(), 2);
        screen.on_event(ChatEvent::Users { names: vec!["alice".into()], room: "#lobby".into() });
        assert_eq!(screen.online(), 1);
    }

    #[test]
    fn typed_lines_become_requests() {
        let mut screen = ChatScreen::new("addr", "alice");
        assert_eq!(
            enter(&mut screen, "안녕 bob"),
            Action::Send(ChatRequest::Say {
                text: "안녕 bob".into(),
                room: None,
                notice: false,
                tags: Vec::new()
            })
        );
        assert_eq!(
            enter(&mut screen, "/w bob hi there"),
            Action::Send(ChatRequest::Whisper {
                to: "bob".into(),
                text: "hi there".into(),
                notice: false,
                tags: Vec::new()
            })
        );
        assert_eq!(enter(&mut screen, "/who"), Action::Send(ChatRequest::Who { room: None }));
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
            Action::Send(ChatRequest::Whisper {
                to: "carol".into(),
                text: "알았어".into(),
                notice: false,
                tags: Vec::new()
            })
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
        screen.on_event(ChatEvent::Welcome {
            name: "alice".into(),
            online: 2,
            admin: false,
            room: "#lobby".into(),
        });
        type_text(&mut screen, "half 입력");
        let before = rows(&mut screen, 60, 6);
        assert_eq!(before[5], "> half 입력");
        screen.on_event(ChatEvent::Message {
            from: "bob".into(),
            text: "hi alice".into(),
            at: time::now(),
            history: false,
            room: "#lobby".into(),
            notice: false,
            id: None,
            tags: Vec::new(),
        });
        let after = rows(&mut screen, 60, 6);
        assert_eq!(after[1], "[bob] hi alice");
        assert_eq!(after[4], " sockhub chat │ 127.0.0.1:7001 │ alice │ 2 online │ #lobby");
        assert_eq!(after[5], "> half 입력");
        assert_eq!(screen.input().cursor_column(), 9);
    }

    fn said(room: &str, text: &str) -> ChatEvent {
        ChatEvent::Message {
            from: "bob".into(),
            text: text.into(),
            at: time::now(),
            history: false,
            room: room.into(),
            notice: false,
            id: None,
            tags: Vec::new(),
        }
    }

    /// alice, in #lobby (with bob) and then in #team, the current room.
    fn in_lobby_and_team() -> ChatScreen {
        let mut screen = ChatScreen::new("addr", "alice");
        let welcome =
            ChatEvent::Welcome { name: "alice".into(), online: 2, admin: false, room: "#lobby".into() };
        screen.on_event(welcome);
        screen.on_event(ChatEvent::Joined {
            name: "alice".into(),
            online: 1,
            room: "#team".into(),
            topic: None,
        });
        screen
    }

    #[test]
    fn other_rooms_lines_are_marked_and_counted_until_switched_to() {
        let mut screen = in_lobby_and_team();
        screen.on_event(said("#lobby", "anyone?"));
        assert_eq!(last_line(&screen), "[#lobby] [bob] anyone?");
        assert_eq!(style_of_first_span(&screen), view::ROOM);
        screen.on_event(said("#lobby", "hello?"));
        screen.on_event(said("#team", "for the team"));
        assert_eq!(last_line(&screen), "[bob] for the team", "the current room's lines are unmarked");
        let status = rows(&mut screen, 80, 6)[4].clone();
        assert_eq!(status.trim_end(), " sockhub chat │ addr │ alice │ 1 online │ #team │ unread: #lobby(2)");
        assert_eq!(
            enter(&mut screen, "plain line"),
            Action::Send(ChatRequest::Say {
                text: "plain line".into(),
                room: Some("#team".into()),
                notice: false,
                tags: Vec::new(),
            }),
            "a plain line names the room the status bar shows"
        );
        assert_eq!(enter(&mut screen, "/who"), Action::Send(ChatRequest::Who { room: Some("#team".into()) }));
        assert_eq!(
            enter(&mut screen, "/who #lobby"),
            Action::Send(ChatRequest::Who { room: Some("#lobby".into()) })
        );
        assert_eq!(
            enter(&mut screen, "/switch #lobby"),
            Action::Send(ChatRequest::Switch { room: "#lobby".into() })
        );
        screen.on_event(ChatEvent::Switched { room: "#lobby".into() });
        let status = rows(&mut screen, 80, 6)[4].clone();
        assert_eq!(status.trim_end(), " sockhub chat │ addr │ alice │ 2 online │ #lobby");
        screen.on_event(said("#team", "later"));
        assert_eq!(last_line(&screen), "[#team] [bob] later");
    }

    #[test]
    fn leaving_the_current_room_says_where_lines_go_now() {
        let mut screen = in_lobby_and_team();
        assert_eq!(
            enter(&mut screen, "/part"),
            Action::Send(ChatRequest::Part { room: Some("#team".into()), reason: None })
        );
        screen.on_event(ChatEvent::Left {
            name: "alice".into(),
            online: 0,
            room: "#team".into(),
            reason: None,
        });
        assert_eq!(last_line(&screen), "* plain lines now go to #lobby");
        screen.on_event(ChatEvent::Left {
            name: "alice".into(),
            online: 1,
            room: "#lobby".into(),
            reason: None,
        });
        assert_eq!(last_line(&screen), "* you are in no room: /join one first");
        let status = rows(&mut screen, 80, 6)[4].clone();
        assert!(status.contains("│ in no room"), "{status}");
    }

    fn style_of_first_span(screen: &ChatScreen) -> ratatui::style::Style {
        screen.pane().lines().last().unwrap().spans[0].style
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
