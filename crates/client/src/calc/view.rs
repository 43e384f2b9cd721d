//! How calculator events look on the full screen: the words of the text protocol, with colour
//! saying whose result it is.
//!
//! - your own results: your `[id name]` in bold green, the equation in bold;
//! - everyone else's: blue, so the stream of other students' work reads as background;
//! - history (sent at login and by `/history`): the date and time dimmed;
//! - errors red; server notices (`*` lines) cyan; the final `bye` yellow.

use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use sockhub_proto::calc::{CalcEvent, SquareResult, history_text};
use sockhub_proto::time;

use super::show;
use crate::chat::view::{BYE, NOTICE, OWN_NAME, TIME};
use crate::tui::shell::Shell;

/// Your own equation.
pub const OWN: Style = Style::new().add_modifier(Modifier::BOLD);
/// Other students' results.
pub const OTHERS: Style = Style::new().fg(Color::Blue);

/// The lines for one event. `me` is the student ID of the user.
pub fn event_lines(event: &CalcEvent, me: &str) -> Vec<Line<'static>> {
    match event {
        CalcEvent::Result(r) => vec![result_line(r, me)],
        CalcEvent::Welcome { history, .. } | CalcEvent::History { results: history } => show(event)
            .lines()
            .map(|l| {
                // History entries are the indented lines; their text is rebuilt so the time
                // can be dimmed.
                match history.iter().find(|r| history_text(r) == l) {
                    Some(r) => history_line(r),
                    None => Line::styled(l.to_owned(), NOTICE),
                }
            })
            .collect(),
        CalcEvent::Users { .. } | CalcEvent::Help { .. } => {
            show(event).lines().map(|l| Line::styled(l.to_owned(), NOTICE)).collect()
        }
        CalcEvent::Error(e) => vec![Shell::error_line(e)],
        CalcEvent::Bye { .. } => vec![Line::styled(show(event), BYE)],
        CalcEvent::Prompt | CalcEvent::PasswordPrompt { .. } => Vec::new(),
    }
}

fn result_line(r: &SquareResult, me: &str) -> Line<'static> {
    let time = Span::styled(format!("({}) ", time::clock(&r.at)), TIME);
    if r.student_id == me {
        Line::from(vec![
            time,
            Span::styled(r.who(), OWN_NAME),
            Span::styled(format!(" {}", r.equation()), OWN),
        ])
    } else {
        Line::from(vec![time, Span::styled(format!("{} {}", r.who(), r.equation()), OTHERS)])
    }
}

fn history_line(r: &SquareResult) -> Line<'static> {
    Line::from(vec![Span::styled(format!("  ({}) ", time::log_format(&r.at)), TIME), Span::raw(r.equation())])
}

#[cfg(test)]
mod tests {
    use sockhub_proto::ErrorCode;
    use sockhub_proto::calc::{self, StudentInfo};

    use super::*;

    fn result(id: &str) -> SquareResult {
        SquareResult {
            student_id: id.into(),
            name: "김민수".into(),
            input: "-1.5".into(),
            square: "2.25".into(),
            at: time::now(),
        }
    }

    fn text(lines: &[Line<'_>]) -> String {
        lines.iter().map(|l| l.to_string()).collect::<Vec<_>>().join("\n")
    }

    #[test]
    fn the_words_are_the_text_protocol_s() {
        let student =
            StudentInfo { student_id: "1".into(), name: "김민수".into(), department: "CS".into() };
        let events = [
            CalcEvent::Welcome { student: student.clone(), history: vec![result("1")], online: 1 },
            CalcEvent::Welcome { student, history: vec![], online: 1 },
            CalcEvent::Result(result("1")),
            CalcEvent::Result(result("2")),
            CalcEvent::History { results: vec![result("1"), result("1")] },
            CalcEvent::Users { students: vec![] },
            CalcEvent::Help { commands: calc::help() },
            CalcEvent::error(ErrorCode::InvalidNumber, "not a number"),
            CalcEvent::Bye { reason: "goodbye".into() },
        ];
        for event in events {
            assert_eq!(text(&event_lines(&event, "1")), show(&event), "{event:?}");
        }
    }

    #[test]
    fn own_results_and_others_look_different() {
        let mine = result_line(&result("1"), "1");
        let theirs = result_line(&result("2"), "1");
        let style = |l: &Line<'_>, needle: &str| {
            let span = l.spans.iter().find(|s| s.content.contains(needle)).unwrap();
            l.style.patch(span.style)
        };
        assert_eq!(style(&mine, "[1 김민수]"), OWN_NAME);
        assert_eq!(style(&mine, "2.25"), OWN);
        assert_eq!(style(&theirs, "2.25").fg, Some(Color::Blue));
        assert_ne!(style(&mine, "2.25"), style(&theirs, "2.25"));
    }
}
