//! The square calculator's protocol: requests, events, the text-mode grammar, and the rule for
//! student IDs.
//!
//! JSON is the calculator's primary protocol: [`CalcRequest`] and [`CalcEvent`] map one-to-one
//! onto JSON objects tagged by `"type"`. Numbers travel as **strings** (`{"type":"square",
//! "value":"12"}`, `"square":"144"`) so that no JSON parser on the way rounds a 900-digit integer
//! or a long decimal. Text mode is for `nc`: [`parse_text`] turns a typed line into the same
//! request (before login a plain line is the student ID, after it a number), and the [`Wire`]
//! impl renders results as `(15:11:48) [20212086 김민수] 12² = 144`.

use serde::{Deserialize, Serialize};
use sockhub_i18n::{Msg, msg, t};

use crate::chat::{HelpEntry, is_quit, split_word, write_help};
use crate::error::{ErrorCode, ErrorEvent};
use crate::notice;
use crate::secret::Secret;
use crate::time::{self, Timestamp};
use crate::wire::{Wire, json_line, text_line};

/// The longest student ID, in digits.
pub const STUDENT_ID_MAX_DIGITS: usize = 20;

/// Check a student ID: 1 to [`STUDENT_ID_MAX_DIGITS`] ASCII digits, nothing else (no sign, no
/// spaces inside, no other scripts' digits). Leading zeros are part of the ID: `0042` and `42`
/// are different students.
pub fn validate_student_id(id: &str) -> Result<(), ErrorEvent> {
    let invalid = |why: Msg| Err(ErrorEvent::new(ErrorCode::InvalidStudentId, why));
    if id.is_empty() {
        return invalid(msg!("calc-id-needed"));
    }
    if !id.bytes().all(|b| b.is_ascii_digit()) {
        return invalid(msg!("calc-id-digits-only", id = format!("{:?}", clip(id, 40))));
    }
    if id.len() > STUDENT_ID_MAX_DIGITS {
        return invalid(msg!("calc-id-too-long", max = STUDENT_ID_MAX_DIGITS, digits = id.len()));
    }
    Ok(())
}

/// The start of `s`, at most `max` characters, for quoting user input in a message.
fn clip(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((cut, _)) => format!("{}...", &s[..cut]),
        None => s.to_owned(),
    }
}

/// Who a student is, as shown to them at login and to others in `/who`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StudentInfo {
    pub student_id: String,
    /// Empty for a student who is not in the roster (only possible with `roster = "open"`).
    pub name: String,
    pub department: String,
}

/// One computed square: who, what, the exact result, and when. The same shape is used for the
/// live `result` broadcast and for the entries of a history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SquareResult {
    pub student_id: String,
    pub name: String,
    /// The number as the student sent it (surrounding spaces removed).
    pub input: String,
    /// The exact square, in canonical form (see the protocol docs).
    pub square: String,
    #[serde(with = "time::ms")]
    pub at: Timestamp,
}

impl SquareResult {
    /// `12² = 144`, or `(-1.5)² = 2.25` for a negative input, so the sign is not mistaken for a
    /// minus applied after squaring.
    pub fn equation(&self) -> String {
        if self.input.starts_with('-') {
            format!("({})² = {}", self.input, self.square)
        } else {
            format!("{}² = {}", self.input, self.square)
        }
    }

    /// `[20212086 김민수]`, or `[20212086]` for a student with no name on record.
    pub fn who(&self) -> String {
        who(&self.student_id, &self.name)
    }
}

fn who(student_id: &str, name: &str) -> String {
    if name.is_empty() { format!("[{student_id}]") } else { format!("[{student_id} {name}]") }
}

/// A request from a calculator client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CalcRequest {
    /// Log in as a student. With `[calc] auth = "accounts"` the password is the one of the
    /// sockhub account that carries the student ID.
    Login {
        student_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        password: Option<Secret>,
    },
    /// Square this number (a string: digits, optional sign, optional decimal part).
    Square { value: String },
    /// My last `limit` results (default: the server's `calc.history`).
    History {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        limit: Option<u32>,
    },
    /// Who is connected to the calculator.
    Who,
    /// List the commands.
    Help,
    /// Leave.
    Quit,
}

impl crate::json::Request for CalcRequest {
    const TYPES: &'static [&'static str] = &["login", "square", "history", "who", "help", "quit"];
}

/// An event sent by the calculator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CalcEvent {
    /// Login succeeded: who you are, your last results (newest last), and how many students are
    /// connected (you included).
    Welcome { student: StudentInfo, history: Vec<SquareResult>, online: usize },
    /// Someone (possibly you) computed a square. Sent to everyone connected, after it is stored.
    Result(SquareResult),
    /// Your last results, newest last (the reply to `history`).
    History { results: Vec<SquareResult> },
    /// The students connected now, sorted by ID (the reply to `who`).
    Users { students: Vec<StudentInfo> },
    /// The command list.
    Help { commands: Vec<HelpEntry> },
    /// A request failed; the session goes on.
    Error(ErrorEvent),
    /// The last line before the server closes the connection.
    Bye { reason: Msg },
    /// Text mode asks for the student ID (JSON clients get no prompt).
    Prompt,
    /// Text mode asks for the password of `student_id` (`[calc] auth = "accounts"`; JSON clients
    /// get `password_required` instead and send the password with the login).
    PasswordPrompt { student_id: String },
}

impl CalcEvent {
    pub fn error(code: ErrorCode, message: impl Into<Msg>) -> Self {
        CalcEvent::Error(ErrorEvent::new(code, message))
    }
}

/// The command list for `/help`.
pub fn help() -> Vec<HelpEntry> {
    [
        ("number", msg!("calc-help-number")),
        ("/history [N]", msg!("calc-help-history")),
        ("/who", msg!("calc-help-who")),
        ("/help", msg!("common-help-this-list")),
        ("/exit", msg!("calc-help-exit")),
    ]
    .into_iter()
    .map(|(usage, does)| HelpEntry { usage: usage.into(), does })
    .collect()
}

/// A live result line: `(15:11:48) [20212086 김민수] 12² = 144` (local time).
pub fn result_text(r: &SquareResult) -> String {
    format!("({}) {} {}", time::clock(&r.at), r.who(), r.equation())
}

/// A history line, with the date since it may be from another day:
/// `  (2026-11-21 15:11:48) 12² = 144`.
pub fn history_text(r: &SquareResult) -> String {
    format!("  ({}) {}", time::log_format(&r.at), r.equation())
}

fn history_lines(out: &mut Vec<u8>, results: &[SquareResult]) {
    if results.is_empty() {
        text_line(out, t!("calc-no-results"));
        return;
    }
    text_line(out, t!("calc-history-head", count = results.len()));
    for r in results {
        text_line(out, history_text(r));
    }
}

impl Wire for CalcEvent {
    fn write_json(&self, out: &mut Vec<u8>) {
        if !matches!(self, CalcEvent::Prompt | CalcEvent::PasswordPrompt { .. }) {
            json_line(self, out);
        }
    }

    fn write_text(&self, out: &mut Vec<u8>) {
        let line = match self {
            CalcEvent::Welcome { student, history, online } => {
                let name = if student.name.is_empty() { t!("calc-student") } else { student.name.clone() };
                let id = student.student_id.as_str();
                let welcome = if student.department.is_empty() {
                    t!("calc-welcome", name = name, id = id, online = *online)
                } else {
                    let dept = student.department.as_str();
                    t!("calc-welcome-dept", name = name, id = id, department = dept, online = *online)
                };
                text_line(out, welcome);
                history_lines(out, history);
                t!("calc-type-a-number")
            }
            CalcEvent::Result(r) => result_text(r),
            CalcEvent::History { results } => {
                history_lines(out, results);
                return;
            }
            CalcEvent::Users { students } => {
                let list: Vec<String> = students
                    .iter()
                    .map(|s| {
                        if s.name.is_empty() {
                            s.student_id.clone()
                        } else {
                            format!("{} {}", s.student_id, s.name)
                        }
                    })
                    .collect();
                t!("common-online-list", count = students.len(), names = list.join(", "))
            }
            CalcEvent::Help { commands } => {
                write_help(out, commands);
                return;
            }
            CalcEvent::Error(e) => notice::error_text(e),
            CalcEvent::Bye { reason } => notice::bye_text(reason),
            CalcEvent::Prompt => t!("calc-prompt-id"),
            CalcEvent::PasswordPrompt { student_id } => t!("common-prompt-password", name = student_id),
        };
        text_line(out, line);
    }
}

/// Where a calculator session is, which decides what a plain text line means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Waiting for the student ID: a plain line is the ID.
    StudentId,
    /// Waiting for the password of the student ID just given: a plain line is the password
    /// (the session knows the ID; the request carries an empty one).
    Password,
    /// Logged in: a plain line is a number to square.
    Calculating,
}

/// Parse one text-mode line. `Ok(None)` means "nothing to do" (an empty line).
pub fn parse_text(line: &str, phase: Phase) -> Result<Option<CalcRequest>, ErrorEvent> {
    let line = line.trim();
    if line.is_empty() {
        return Ok(None);
    }
    if is_quit(line) {
        return Ok(Some(CalcRequest::Quit));
    }
    if !line.starts_with('/') {
        return Ok(Some(match phase {
            Phase::StudentId => CalcRequest::Login { student_id: line.to_owned(), password: None },
            Phase::Password => {
                CalcRequest::Login { student_id: String::new(), password: Some(Secret::new(line)) }
            }
            Phase::Calculating => CalcRequest::Square { value: line.to_owned() },
        }));
    }
    let (command, rest) = split_word(&line[1..]);
    let usage = ErrorEvent::usage;
    Ok(Some(match command {
        "history" | "h" => {
            if rest.is_empty() {
                CalcRequest::History { limit: None }
            } else {
                match rest.parse::<u32>() {
                    Ok(n) if n > 0 => CalcRequest::History { limit: Some(n) },
                    _ => return Err(usage("/history [N] (N a positive whole number)")),
                }
            }
        }
        "who" => CalcRequest::Who,
        "help" => CalcRequest::Help,
        "login" if !rest.is_empty() => {
            let (student_id, password) = split_word(rest);
            CalcRequest::Login {
                student_id: student_id.to_owned(),
                password: (!password.is_empty()).then(|| Secret::new(password)),
            }
        }
        "login" => return Err(usage("/login student_id [password]")),
        _ => return Err(ErrorEvent::unknown_command(command)),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{Mode, render};

    fn parse(line: &str, phase: Phase) -> CalcRequest {
        parse_text(line, phase).unwrap().unwrap()
    }

    fn at() -> Timestamp {
        chrono::DateTime::parse_from_rfc3339("2026-11-21T06:11:48.123Z").unwrap().to_utc()
    }

    fn result(input: &str, square: &str) -> SquareResult {
        SquareResult {
            student_id: "20212086".into(),
            name: "김민수".into(),
            input: input.into(),
            square: square.into(),
            at: at(),
        }
    }

    #[test]
    fn student_ids() {
        for ok in ["1", "20212086", "00420", &"9".repeat(STUDENT_ID_MAX_DIGITS)] {
            assert!(validate_student_id(ok).is_ok(), "{ok}");
        }
        for bad in ["", "2021-2086", " 1", "abc", "１２", "+1", &"9".repeat(STUDENT_ID_MAX_DIGITS + 1)] {
            assert_eq!(validate_student_id(bad).unwrap_err().code, ErrorCode::InvalidStudentId, "{bad:?}");
        }
    }

    #[test]
    fn a_plain_line_is_the_id_then_a_number() {
        assert_eq!(
            parse(" 20212086 ", Phase::StudentId),
            CalcRequest::Login { student_id: "20212086".into(), password: None }
        );
        assert_eq!(
            parse("pass word", Phase::Password),
            CalcRequest::Login { student_id: String::new(), password: Some(Secret::new("pass word")) }
        );
        assert_eq!(
            parse("/login 20212086 s3cret", Phase::StudentId),
            CalcRequest::Login { student_id: "20212086".into(), password: Some(Secret::new("s3cret")) }
        );
        let json: CalcRequest =
            crate::json::decode(r#"{"type":"login","student_id":"42","password":"pw"}"#).unwrap();
        assert_eq!(json, CalcRequest::Login { student_id: "42".into(), password: Some(Secret::new("pw")) });
        let prompt = CalcEvent::PasswordPrompt { student_id: "42".into() };
        assert_eq!(render(&prompt, Mode::Text), "* Password for 42?\n");
        assert_eq!(render(&prompt, Mode::Json), "");
        assert_eq!(parse("-1.5", Phase::Calculating), CalcRequest::Square { value: "-1.5".into() });
        assert_eq!(parse("abc", Phase::Calculating), CalcRequest::Square { value: "abc".into() });
        assert_eq!(parse("/history", Phase::Calculating), CalcRequest::History { limit: None });
        assert_eq!(parse("/history 5", Phase::Calculating), CalcRequest::History { limit: Some(5) });
        assert_eq!(parse_text("/history 0", Phase::Calculating).unwrap_err().code, ErrorCode::BadRequest);
        assert_eq!(parse_text("/history x", Phase::Calculating).unwrap_err().code, ErrorCode::BadRequest);
        assert_eq!(parse("/who", Phase::Calculating), CalcRequest::Who);
        for quit in ["/exit", "quit", "q", "/quit"] {
            assert_eq!(parse(quit, Phase::Calculating), CalcRequest::Quit);
            assert_eq!(parse(quit, Phase::StudentId), CalcRequest::Quit);
        }
        assert_eq!(parse_text("/dance", Phase::Calculating).unwrap_err().code, ErrorCode::UnknownCommand);
        assert_eq!(parse_text("", Phase::Calculating).unwrap(), None);
    }

    #[test]
    fn json_shapes_match_the_issue() {
        let r = CalcEvent::Result(result("12", "144"));
        assert_eq!(
            render(&r, Mode::Json),
            "{\"type\":\"result\",\"student_id\":\"20212086\",\"name\":\"김민수\",\"input\":\"12\",\
             \"square\":\"144\",\"at\":\"2026-11-21T06:11:48.123Z\"}\n"
        );
        let back: CalcEvent = serde_json::from_str(render(&r, Mode::Json).trim()).unwrap();
        assert_eq!(back, r);
        let req: CalcRequest = serde_json::from_str(r#"{"type":"square","value":"12"}"#).unwrap();
        assert_eq!(req, CalcRequest::Square { value: "12".into() });
        let req: CalcRequest = serde_json::from_str(r#"{"type":"history"}"#).unwrap();
        assert_eq!(req, CalcRequest::History { limit: None });
        assert_eq!(render(&CalcEvent::Prompt, Mode::Json), "");
    }

    #[test]
    fn text_rendering() {
        let neg = result("-1.5", "2.25");
        assert_eq!(neg.equation(), "(-1.5)² = 2.25");
        assert!(
            render(&CalcEvent::Result(neg), Mode::Text).ends_with(") [20212086 김민수] (-1.5)² = 2.25\n")
        );
        let welcome = CalcEvent::Welcome {
            student: StudentInfo {
                student_id: "20212086".into(),
                name: "김민수".into(),
                department: "컴퓨터공학과".into(),
            },
            history: vec![result("12", "144")],
            online: 2,
        };
        let text = render(&welcome, Mode::Text);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "* Welcome, 김민수 (20212086, 컴퓨터공학과). 2 online.");
        assert_eq!(lines[1], "* Your last 1 result (newest last):");
        assert!(lines[2].ends_with(") 12² = 144"), "{}", lines[2]);
        assert_eq!(lines[3], "* Type a number to square it; /help for commands.");
        assert_eq!(render(&CalcEvent::History { results: vec![] }, Mode::Text), "* No results yet.\n");
        assert_eq!(render(&CalcEvent::Prompt, Mode::Text), "* Your student ID?\n");
        let users = CalcEvent::Users {
            students: vec![
                StudentInfo { student_id: "1".into(), name: "a".into(), department: "d".into() },
                StudentInfo { student_id: "2".into(), name: String::new(), department: String::new() },
            ],
        };
        assert_eq!(render(&users, Mode::Text), "* 2 online: 1 a, 2\n");
    }
}
