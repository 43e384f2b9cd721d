//! The full-screen calculator client: results scroll above, a status bar, the number being typed
//! below.
//!
//! [`CalcScreen`] holds the state and every decision (what an event adds to the pane, what a key
//! or a typed line means) with no I/O, so it is tested directly; [`run_screen`] is the loop
//! around it, shaped like the chat client's: wait for a key, an event or a signal, let the screen
//! handle it, draw one frame. Leaving (Ctrl-C, Ctrl-D on an empty line, `/exit`, `quit`) sends
//! `quit` and waits briefly for the server's `bye`; when the server ends the session, its reason
//! stays on screen until a key is pressed.

use crossterm::event::{Event, EventStream, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use futures_util::StreamExt;
use ratatui::Frame;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Span;
use sockhub_proto::calc::{self, CalcEvent, CalcRequest, Phase, StudentInfo};
use sockhub_proto::{ErrorCode, ErrorEvent, notice};
use tokio::sync::mpsc;

use super::{CalcOptions, login, show, view};
use crate::chat::screen::{Ended, QUIT_WAIT};
use crate::chat::view::error as error_line;
use crate::conn::{ClientError, JsonWriter};
use crate::tui::session::{StopSignals, spawn_reader};
use crate::tui::{self, InputLine, InputOutcome, Scrollback, StatusBar, Tui};

/// Lines kept in the pane; older ones are dropped.
const SCROLLBACK_LINES: usize = 5_000;

/// What the connection's reader task reports.
pub type Incoming = tui::session::Incoming<CalcEvent>;

/// What the loop should do after the screen handled an input.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Nothing,
    Send(CalcRequest),
    /// Send `quit`, wait for `bye`, exit.
    Leave,
    /// Exit now (the session is already over).
    Exit,
    /// Repaint the whole terminal (Ctrl-L).
    Repaint,
}

/// The calculator screen's state.
pub struct CalcScreen {
    addr: String,
    me: StudentInfo,
    /// Results seen since login: the student's own, and everyone's.
    mine: usize,
    all: usize,
    ended: Option<Ended>,
    pane: Scrollback,
    input: InputLine,
}

impl CalcScreen {
    pub fn new(addr: impl Into<String>, me: StudentInfo) -> CalcScreen {
        CalcScreen {
            addr: addr.into(),
            me,
            mine: 0,
            all: 0,
            ended: None,
            pane: Scrollback::new(SCROLLBACK_LINES),
            input: InputLine::new("² ", Style::new().add_modifier(Modifier::BOLD)),
        }
    }

    pub fn ended(&self) -> Option<&Ended> {
        self.ended.as_ref()
    }

    pub fn pane(&self) -> &Scrollback {
        &self.pane
    }

    /// Something from the connection.
    pub fn on_incoming(&mut self, incoming: Incoming) {
        match incoming {
            Incoming::Event(event) => self.on_event(event),
            Incoming::Garbled(why) => self.pane.push(error_line(&ErrorEvent::new(ErrorCode::Internal, why))),
            Incoming::Closed | Incoming::Failed(_) if self.ended.is_some() => {}
            Incoming::Closed => self.lost("the server closed the connection".to_owned()),
            Incoming::Failed(why) => self.lost(why),
        }
    }

    fn lost(&mut self, why: String) {
        self.pane.push(error_line(&ErrorEvent::new(ErrorCode::Unavailable, why.clone())));
        self.ended = Some(Ended::Lost(why));
    }

    /// An event from the server.
    pub fn on_event(&mut self, event: CalcEvent) {
        match &event {
            CalcEvent::Result(r) => {
                self.all += 1;
                self.mine += usize::from(r.student_id == self.me.student_id);
            }
            CalcEvent::Bye { reason } => self.ended = Some(Ended::Bye(reason.clone())),
            _ => {}
        }
        for line in view::event_lines(&event, &self.me.student_id) {
            self.pane.push(line);
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
            _ => Action::Nothing,
        }
    }

    /// A key press.
    pub fn on_key(&mut self, key: KeyEvent) -> Action {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::PageUp => self.pane.page_up(),
            KeyCode::PageDown => self.pane.page_down(),
            _ if self.ended.is_some() => return Action::Exit,
            KeyCode::Esc => self.pane.to_bottom(),
            KeyCode::Char('c') if ctrl => return Action::Leave,
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
        self.pane.to_bottom();
        match calc::parse_text(line, Phase::Calculating) {
            Ok(None) => Action::Nothing,
            Ok(Some(CalcRequest::Quit)) => Action::Leave,
            Ok(Some(request)) => Action::Send(request),
            Err(e) => {
                self.pane.push(error_line(&e));
                Action::Nothing
            }
        }
    }

    /// The status bar for the current state.
    pub fn status_bar(&self) -> StatusBar<'_> {
        let who = if self.me.name.is_empty() {
            self.me.student_id.clone()
        } else {
            format!("{} {}", self.me.student_id, self.me.name)
        };
        let bar = StatusBar::new()
            .left(Span::styled("sockhub calc", Style::new().add_modifier(Modifier::BOLD)))
            .left(self.addr.as_str())
            .left(who)
            .left(format!("mine {} / all {}", self.mine, self.all));
        if let Some(ended) = &self.ended {
            let why = match ended {
                Ended::Bye(reason) => format!("server said bye: {reason}"),
                Ended::Lost(why) => format!("disconnected: {why}"),
            };
            return bar
                .right(Span::styled(format!("{why} — press a key to exit"), Style::new().fg(Color::Yellow)));
        }
        if self.pane.is_scrolled() { bar.right("scrolled back: PgDn") } else { bar }
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
/// login is printed before the screen opens and returns `Ok(false)`; so does a session whose
/// connection was lost without a `bye`.
pub async fn run_screen(opts: CalcOptions) -> Result<bool, ClientError> {
    let (rx, mut tx, first) = login(&opts.addr, &opts.student_id).await?;
    let CalcEvent::Welcome { student, .. } = &first else {
        eprintln!("{}", show(&first));
        return Ok(false);
    };
    let mut screen = CalcScreen::new(&opts.addr, student.clone());
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
                Some(Err(_)) | None => Action::Leave,
            },
            Some(first) = incoming.recv() => {
                screen.on_incoming(first);
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
                    screen.pane.push(error_line(&ErrorEvent::new(
                        ErrorCode::Unavailable,
                        format!("could not send: {e}"),
                    )));
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
    match &screen.ended {
        Some(Ended::Bye(reason)) => println!("{}", notice::bye_text(reason)),
        Some(Ended::Lost(why)) => eprintln!("sockhub calc: {why}"),
        None => {}
    }
    Ok(!matches!(screen.ended, Some(Ended::Lost(_))) || leaving)
}

/// Send `quit` and wait, at most [`QUIT_WAIT`] in all, for the server's `bye`.
async fn leave(screen: &mut CalcScreen, tx: &mut JsonWriter, incoming: &mut mpsc::Receiver<Incoming>) {
    let deadline = tokio::time::Instant::now() + QUIT_WAIT;
    if !matches!(tokio::time::timeout_at(deadline, tx.send(&CalcRequest::Quit)).await, Ok(Ok(()))) {
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
    use sockhub_proto::calc::SquareResult;
    use sockhub_proto::time;

    use super::*;

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
        terminal.draw(|f| screen.draw(f)).unwrap();
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
