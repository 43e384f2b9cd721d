//! The full-screen calculator client: results scroll above, a status bar, the number being typed
//! below.
//!
//! [`CalcScreen`] holds the state and every decision (what an event adds to the pane, what a
//! typed line means) with no I/O, so it is tested directly; [`run_screen`] logs in and hands it
//! to the loop every full-screen client shares ([`crate::tui::shell::run`]). Leaving (Ctrl-C,
//! Ctrl-D on an empty line, `/exit`, `quit`) sends `quit` and waits briefly for the server's
//! `bye`; when the server ends the session, its reason stays on screen until a key is pressed.

use crossterm::event::{Event, KeyEvent};
use ratatui::Frame;
use ratatui::style::{Modifier, Style};
use ratatui::text::Span;
use sockhub_i18n::t;
use sockhub_proto::calc::{self, CalcEvent, CalcRequest, Phase, StudentInfo};

use super::{CalcOptions, login, show, view};
use crate::conn::ClientError;
use crate::tui::shell::{self, Ended, Screen, Shell, Typed};
use crate::tui::{Scrollback, StatusBar};

/// What the connection's reader task reports.
pub type Incoming = crate::tui::session::Incoming<CalcEvent>;

/// What the loop should do after the screen handled an input.
pub type Action = shell::Action<CalcRequest>;

/// The calculator screen's state.
pub struct CalcScreen {
    addr: String,
    me: StudentInfo,
    /// Results seen since login: the student's own, and everyone's.
    mine: usize,
    all: usize,
    shell: Shell,
}

impl CalcScreen {
    pub fn new(addr: impl Into<String>, me: StudentInfo) -> CalcScreen {
        CalcScreen { addr: addr.into(), me, mine: 0, all: 0, shell: Shell::new("> ") }
    }

    pub fn ended(&self) -> Option<&Ended> {
        self.shell.ended.as_ref()
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
    pub fn on_event(&mut self, event: CalcEvent) {
        match &event {
            CalcEvent::Result(r) => {
                self.all += 1;
                self.mine += usize::from(r.student_id == self.me.student_id);
            }
            CalcEvent::Bye { reason } => self.shell.bye(&reason.to_string()),
            _ => {}
        }
        for line in view::event_lines(&event, &self.me.student_id) {
            self.shell.pane.push(line);
        }
    }

    /// A key press.
    pub fn on_key(&mut self, key: KeyEvent) -> Action {
        let typed = self.shell.on_key(key);
        self.typed(typed)
    }

    fn typed(&mut self, typed: Typed<CalcRequest>) -> Action {
        match typed {
            Typed::Act(action) => action,
            Typed::Line(line) => self.submit(&line),
        }
    }

    /// A line the user typed and sent with Enter.
    pub fn submit(&mut self, line: &str) -> Action {
        match calc::parse_text(line, Phase::Calculating) {
            Ok(None) => Action::Nothing,
            Ok(Some(CalcRequest::Quit)) => Action::Leave,
            Ok(Some(request)) => Action::Send(request),
            Err(e) => {
                self.shell.error(&e);
                Action::Nothing
            }
        }
    }

    /// The status bar for the current state.
    pub fn status_bar(&self) -> StatusBar<'static> {
        let who = if self.me.name.is_empty() {
            self.me.student_id.clone()
        } else {
            format!("{} {}", self.me.student_id, self.me.name)
        };
        let bar = StatusBar::new()
            .left(Span::styled("sockhub calc", Style::new().add_modifier(Modifier::BOLD)))
            .left(self.addr.clone())
            .left(who)
            .left(t!("client-calc-counts", mine = self.mine, all = self.all));
        match self.shell.status_hint() {
            Some(hint) => bar.right(hint),
            None => bar,
        }
    }
}

impl Screen for CalcScreen {
    type Event = CalcEvent;
    type Request = CalcRequest;

    fn shell(&mut self) -> &mut Shell {
        &mut self.shell
    }

    fn on_incoming(&mut self, incoming: Incoming) {
        CalcScreen::on_incoming(self, incoming);
    }

    fn on_terminal(&mut self, event: Event) -> Action {
        let typed = self.shell.on_terminal(event);
        self.typed(typed)
    }

    fn draw(&mut self, frame: &mut Frame) {
        let status = self.status_bar();
        self.shell.draw(frame, status);
    }

    fn quit() -> CalcRequest {
        CalcRequest::Quit
    }
}

/// Run the full-screen client until the user leaves or the server ends the session. A refused
/// login is printed before the screen opens and returns `Ok(false)`; so does a session whose
/// connection was lost without a `bye`.
pub async fn run_screen(opts: CalcOptions) -> Result<bool, ClientError> {
    let (rx, tx, first) = login(opts.endpoint(), &opts.student_id, opts.password.clone()).await?;
    let CalcEvent::Welcome { student, .. } = &first else {
        eprintln!("{}", show(&first));
        return Ok(false);
    };
    let mut screen = CalcScreen::new(&opts.addr, student.clone());
    screen.on_event(first);
    shell::run(&mut screen, rx, tx, "sockhub calc").await
}

#[cfg(test)]
mod tests {
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    use sockhub_proto::calc::SquareResult;
    use sockhub_proto::time;

    use super::*;
    use crate::tui;
    use crossterm::event::{KeyCode, KeyModifiers};

    fn me() -> StudentInfo {
        StudentInfo {
            student_id: "20212086".into(),
            name: "김민수".into(),
            department: "컴퓨터공학과".into(),
        }
    }

    fn result(id: &str, name: &str, input: &str, square: &str) -> CalcEvent {
        CalcEvent::Result(SquareResult {
            student_id: id.into(),
            name: name.into(),
            input: input.into(),
            square: square.into(),
            at: time::now(),
        })
    }

    fn rows(screen: &mut CalcScreen, cols: u16, lines: u16) -> Vec<String> {
        let mut terminal = Terminal::new(TestBackend::new(cols, lines)).unwrap();
        terminal.draw(|f| Screen::draw(screen, f)).unwrap();
        let buf = terminal.backend().buffer().clone();
        (0..lines)
            .map(|y| {
                let mut row = String::new();
                let mut x = 0;
                while x < cols {
                    let cell = &buf[(x, y)];
                    row.push_str(cell.symbol());
                    x += tui::width(cell.symbol()).max(1) as u16;
                }
                row.trim_end().to_owned()
            })
            .collect()
    }

    #[test]
    fn typing_numbers_and_commands() {
        let mut screen = CalcScreen::new("addr", me());
        assert_eq!(screen.submit("12"), Action::Send(CalcRequest::Square { value: "12".into() }));
        assert_eq!(screen.submit("/history 3"), Action::Send(CalcRequest::History { limit: Some(3) }));
        assert_eq!(screen.submit("/exit"), Action::Leave);
        assert_eq!(screen.submit(""), Action::Nothing);
        assert_eq!(screen.submit("/nope"), Action::Nothing);
        assert!(screen.pane().lines().last().unwrap().to_string().starts_with("! unknown_command"));
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(screen.on_key(ctrl_c), Action::Leave);
    }

    #[test]
    fn results_fill_the_pane_and_the_counts() {
        let mut screen = CalcScreen::new("127.0.0.1:7003", me());
        screen.on_event(result("20212086", "김민수", "12", "144"));
        screen.on_event(result("20212087", "이영희", "-1.5", "2.25"));
        let shown = rows(&mut screen, 70, 5);
        assert!(shown[0].ends_with("[20212086 김민수] 12² = 144"), "{shown:?}");
        assert!(shown[1].ends_with("[20212087 이영희] (-1.5)² = 2.25"), "{shown:?}");
        assert_eq!(shown[3], " sockhub calc │ 127.0.0.1:7003 │ 20212086 김민수 │ mine 1 / all 2");
        screen.on_incoming(Incoming::Event(CalcEvent::Bye { reason: "server shutting down".into() }));
        screen.on_incoming(Incoming::Closed);
        assert_eq!(screen.ended(), Some(&Ended::Bye("server shutting down".into())));
        assert_eq!(screen.on_key(KeyEvent::new(KeyCode::Char('x'), KeyModifiers::NONE)), Action::Exit);
    }
}
