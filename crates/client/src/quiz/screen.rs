//! The full-screen quiz client: problems and verdicts scroll above, the status bar shows the open
//! question's countdown, the sum and the time left in the round, and the answer is typed below.
//!
//! [`QuizScreen`] holds the state and every decision, with no I/O, so it is tested directly.
//! [`run_screen`] waits for whichever comes first — a key, an event from the server, the next
//! tick of the countdown, a signal — and draws one frame. The countdown's tick changes only the
//! status bar; ratatui then writes just the cells that changed.

use sockhub_i18n::t;
use std::time::Duration;

use crossterm::event::{Event, EventStream, KeyCode, KeyEventKind, KeyModifiers};
use futures_util::StreamExt;
use ratatui::Frame;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use sockhub_proto::quiz::{self, Outcome, Phase, QuizEvent, QuizRequest};
use tokio::time::Instant;

use super::{Incoming, QuizOptions, show, spawn_reader, start};
use crate::conn::ClientError;
use crate::tui::{self, InputLine, InputOutcome, Scrollback, StatusBar, Tui};

/// How often the countdown is redrawn while a question is open.
pub const TICK: Duration = Duration::from_millis(100);
const SCROLLBACK_LINES: usize = 5_000;

/// What the loop should do after an input.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Nothing,
    Send(QuizRequest),
    Leave,
    Exit,
}

/// The quiz screen's state.
pub struct QuizScreen {
    me: String,
    sum: i64,
    correct: u32,
    attempts: u32,
    /// The open question: its id, and when its deadline passes (by our clock, from the server's
    /// `deadline_ms`).
    open: Option<(u64, Instant)>,
    round_ends: Option<Instant>,
    ended: Option<String>,
    pane: Scrollback,
    input: InputLine,
}

impl QuizScreen {
    pub fn new(me: impl Into<String>) -> QuizScreen {
        QuizScreen {
            me: me.into(),
            sum: 0,
            correct: 0,
            attempts: 0,
            open: None,
            round_ends: None,
            ended: None,
            pane: Scrollback::new(SCROLLBACK_LINES),
            input: InputLine::new("answer> ", Style::new().add_modifier(Modifier::BOLD)),
        }
    }

    pub fn pane(&self) -> &Scrollback {
        &self.pane
    }

    pub fn ended(&self) -> Option<&str> {
        self.ended.as_deref()
    }

    /// An event from the server, received at `now`.
    pub fn on_event(&mut self, event: &QuizEvent, now: Instant) {
        let style = match event {
            QuizEvent::Welcome { sum, correct, attempts, remaining_secs, .. } => {
                (self.sum, self.correct, self.attempts) = (*sum, *correct, *attempts);
                self.round_ends = remaining_secs.map(|s| now + Duration::from_secs(s));
                Style::new().fg(Color::Cyan)
            }
            QuizEvent::RoundStarted { duration_secs, .. } => {
                self.round_ends = Some(now + Duration::from_secs(*duration_secs));
                Style::new().fg(Color::Cyan)
            }
            QuizEvent::Question { id, deadline_ms, .. } => {
                self.open = Some((*id, now + Duration::from_millis(*deadline_ms)));
                Style::new().add_modifier(Modifier::BOLD)
            }
            QuizEvent::Verdict { result, sum, correct, attempts, .. } => {
                (self.sum, self.correct, self.attempts) = (*sum, *correct, *attempts);
                self.open = None;
                match result {
                    Outcome::Correct => Style::new().fg(Color::Green),
                    Outcome::Wrong | Outcome::Invalid => Style::new().fg(Color::Red),
                    Outcome::Late | Outcome::Timeout => Style::new().fg(Color::Yellow),
                }
            }
            QuizEvent::RoundOver { .. } | QuizEvent::Placed { .. } => {
                self.open = None;
                self.round_ends = None;
                Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD)
            }
            QuizEvent::Bye { reason } => {
                self.ended = Some(reason.to_string());
                Style::new().fg(Color::Yellow)
            }
            QuizEvent::Error(_) => Style::new().fg(Color::Red),
            _ => Style::new(),
        };
        for line in show(event).lines() {
            self.pane.push(Line::styled(line.to_owned(), style));
        }
    }

    /// A line the user typed and sent with Enter.
    pub fn submit(&mut self, line: &str) -> Action {
        self.pane.to_bottom();
        match quiz::parse_text(line, &Phase::Playing) {
            Ok(None) => Action::Nothing,
            Ok(Some(QuizRequest::Quit)) => Action::Leave,
            Ok(Some(QuizRequest::Answer { value, .. })) => {
                self.pane.push(Line::styled(format!("> {value}"), Style::new().fg(Color::DarkGray)));
                Action::Send(QuizRequest::Answer { id: self.open.map(|(id, _)| id), value })
            }
            Ok(Some(request)) => Action::Send(request),
            Err(e) => {
                self.pane
                    .push(Line::styled(format!("! {}: {}", e.code, e.message), Style::new().fg(Color::Red)));
                Action::Nothing
            }
        }
    }

    /// The status bar at `now`: the countdown of the open question, the sum, the round's time.
    pub fn status_bar(&self, now: Instant) -> StatusBar<'_> {
        let mut bar = StatusBar::new()
            .left(Span::styled("sockhub quiz", Style::new().add_modifier(Modifier::BOLD)))
            .left(self.me.as_str())
            .left(t!("client-quiz-sum", sum = self.sum, correct = self.correct, attempts = self.attempts));
        if let Some(ends) = self.round_ends {
            let left = ends.saturating_duration_since(now).as_millis() as u64;
            bar = bar.left(t!("client-round-left", left = quiz::duration_text(left)));
        }
        if let Some(reason) = &self.ended {
            return bar.right(Span::styled(
                t!("client-press-a-key", why = reason.as_str()),
                Style::new().fg(Color::Yellow),
            ));
        }
        match self.open {
            Some((id, deadline)) => {
                let ms = deadline.saturating_duration_since(now).as_millis() as u64;
                let colour = if ms < 1500 { Color::Red } else { Color::Green };
                bar.right(Span::styled(
                    format!("Q{id}: {}.{} s", ms / 1000, (ms % 1000) / 100),
                    Style::new().fg(colour).add_modifier(Modifier::BOLD),
                ))
            }
            None => bar.right(t!("client-waiting-question")),
        }
    }

    pub fn draw(&mut self, frame: &mut Frame, now: Instant) {
        let [pane, status, input] = tui::layout(frame.area());
        self.pane.render(pane, frame.buffer_mut());
        frame.render_widget(self.status_bar(now), status);
        let cursor = self.input.render(input, frame.buffer_mut());
        if self.ended.is_none() {
            frame.set_cursor_position(cursor);
        }
    }
}

/// Run the full-screen client until the server ends the session or the user leaves.
pub async fn run_screen(opts: QuizOptions) -> Result<bool, ClientError> {
    let (rx, mut tx, first, log) = start(&opts).await?;
    if !matches!(first, QuizEvent::Welcome { .. }) {
        eprintln!("{}", show(&first));
        return Ok(false);
    }
    let mut screen = QuizScreen::new(&opts.name);
    screen.on_event(&first, Instant::now());
    let mut incoming = spawn_reader(rx, log);
    let mut tui = Tui::enter()?;
    let mut terminal = EventStream::new();
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut lost = false;
    loop {
        tui.draw(|frame| screen.draw(frame, Instant::now()))?;
        let action = tokio::select! {
            event = terminal.next() => match event {
                Some(Ok(Event::Key(key))) if key.kind != KeyEventKind::Release => {
                    if screen.ended.is_some() {
                        match key.code { KeyCode::PageUp => { screen.pane.page_up(); Action::Nothing } _ => Action::Exit }
                    } else if key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL) {
                        Action::Leave
                    } else {
                        match key.code {
                            KeyCode::PageUp => { screen.pane.page_up(); Action::Nothing }
                            KeyCode::PageDown => { screen.pane.page_down(); Action::Nothing }
                            _ => match screen.input.handle_key(key) {
                                InputOutcome::Submit(line) => screen.submit(&line),
                                _ => Action::Nothing,
                            },
                        }
                    }
                }
                Some(Ok(_)) => Action::Nothing,
                Some(Err(_)) | None => Action::Leave,
            },
            msg = incoming.recv() => match msg {
                Some(Incoming::Event(event)) => { screen.on_event(&event, Instant::now()); Action::Nothing }
                Some(Incoming::Closed(why)) if screen.ended.is_none() => {
                    lost = true;
                    screen.ended = Some(why.unwrap_or_else(|| t!("client-connection-closed")));
                    Action::Nothing
                }
                None if screen.ended.is_none() => {
                    lost = true;
                    screen.ended = Some(t!("client-connection-closed"));
                    Action::Nothing
                }
                _ => Action::Nothing,
            },
            // Only the countdown changed: the next draw rewrites the status bar's cells.
            _ = tick.tick(), if screen.open.is_some() || screen.round_ends.is_some() => Action::Nothing,
        };
        match action {
            Action::Nothing => {}
            Action::Send(request) => {
                if let Err(e) = tx.send(&request).await {
                    screen.ended = Some(t!("client-could-not-send", error = e.to_string()));
                    lost = true;
                }
            }
            Action::Leave => {
                let _ = tx.send(&QuizRequest::Quit).await;
                let deadline = Instant::now() + Duration::from_secs(2);
                while let Ok(Some(Incoming::Event(event))) =
                    tokio::time::timeout_at(deadline, incoming.recv()).await
                {
                    screen.on_event(&event, Instant::now());
                    if matches!(event, QuizEvent::Bye { .. }) {
                        break;
                    }
                }
                break;
            }
            Action::Exit => break,
        }
    }
    drop(tui);
    // The game vanished with the alternate screen; show how it ended on the normal one.
    let tail: Vec<String> = screen.pane.lines().map(|l| l.to_string()).collect();
    let from =
        tail.iter().rposition(|l| l.starts_with("* Round") && l.contains("is over")).unwrap_or(tail.len());
    for line in &tail[from..] {
        println!("{line}");
    }
    Ok(!lost)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sockhub_proto::time;

    #[test]
    fn the_countdown_follows_the_open_question() {
        let now = Instant::now();
        let mut s = QuizScreen::new("alice");
        let q = QuizEvent::Question {
            id: 3,
            text: "1 + 2 * 3".into(),
            sent_at: time::now(),
            deadline_ms: 5000,
            attempt: 1,
        };
        s.on_event(&q, now);
        let bar = |s: &QuizScreen, t| {
            let area = ratatui::layout::Rect::new(0, 0, 80, 1);
            let mut buf = ratatui::buffer::Buffer::empty(area);
            ratatui::widgets::Widget::render(s.status_bar(t), area, &mut buf);
            (0..80).map(|x| buf[(x, 0)].symbol().to_owned()).collect::<String>()
        };
        assert!(bar(&s, now).contains("Q3: 5.0 s"), "{}", bar(&s, now));
        assert!(bar(&s, now + Duration::from_millis(3700)).contains("Q3: 1.3 s"));
        assert_eq!(
            s.submit("7"),
            Action::Send(QuizRequest::Answer { id: Some(3), value: "7".into() }),
            "an answer names the open question"
        );
        assert_eq!(s.submit("/quit"), Action::Leave);
    }
}
