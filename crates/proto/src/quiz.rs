//! The quiz protocol: requests, events, and the text-mode grammar.
//!
//! JSON mode maps one-to-one onto [`QuizRequest`] and [`QuizEvent`]. Text mode is for people
//! typing into `nc`: before login a plain line is the name (then, for an account's name, its
//! password); while playing a plain line is the answer to the open question, and `/scores`,
//! `/start`, `/help`, `/quit` are commands. [`QuizEvent`]'s [`Wire`] impl renders the text lines
//! (`Q17 [15:11:48] 38 - 94 / 84 = ?`, `correct (1.23 s) — sum 36 ...`).

use serde::{Deserialize, Deserializer, Serialize};
use sockhub_i18n::{Msg, msg, t};

pub use crate::chat::PromptField;
use crate::chat::{HelpEntry, is_quit, split_word};
use crate::error::{ErrorCode, ErrorEvent};
use crate::notice;
use crate::secret::Secret;
use crate::time::{self, Timestamp};
use crate::wire::{Wire, json_line, text_line};

/// A request from a quiz client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum QuizRequest {
    /// Join the round under `name` (with the account's password when the name has one).
    Login {
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        password: Option<Secret>,
    },
    /// Answer question `id` (text mode: the open question). `value` is what the player typed;
    /// JSON clients may also send a number.
    Answer {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<u64>,
        #[serde(deserialize_with = "string_or_number")]
        value: String,
    },
    /// The live leaderboard.
    Scores,
    /// Start a round (`start = "manual"`); admins only. A connection that is not logged in as an
    /// admin may name an admin account and its password here (what `sockhub quiz start` does),
    /// without joining the round as a player.
    Start {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        password: Option<Secret>,
    },
    /// List the commands.
    Help,
    /// Leave.
    Quit,
}

impl crate::json::Request for QuizRequest {
    const TYPES: &'static [&'static str] = &["login", "answer", "scores", "start", "help", "quit"];
}

fn string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Value {
        Text(String),
        Number(serde_json::Number),
    }
    Ok(match Value::deserialize(d)? {
        Value::Text(s) => s,
        Value::Number(n) => n.to_string(),
    })
}

/// How an answer (or the lack of one) was judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Right and in time: the value is added to the sum; a new problem follows.
    Correct,
    /// A number, but not the answer: the same problem comes back.
    Wrong,
    /// Read after the deadline, by the server's clock: the same problem comes back.
    Late,
    /// Not a whole number: the same problem comes back.
    Invalid,
    /// No answer before the deadline: the same problem comes back.
    Timeout,
}

impl Outcome {
    /// The word stored in the attempt log and shown in exports.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Correct => "correct",
            Outcome::Wrong => "wrong",
            Outcome::Late => "late",
            Outcome::Invalid => "invalid",
            Outcome::Timeout => "timeout",
        }
    }
}

/// Where the round is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoundState {
    /// No round is running; the next one starts with an admin's `/start`.
    Waiting,
    /// A round is running.
    Running,
}

/// One line of a leaderboard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Standing {
    pub rank: u32,
    pub name: String,
    /// Cumulative sum of the values of the problems answered correctly.
    pub sum: i64,
    /// Correct answers.
    pub correct: u32,
    /// Answers given (correct, wrong, late or invalid).
    pub attempts: u32,
}

/// An event sent by the quiz service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum QuizEvent {
    /// Login succeeded. `sum`, `correct` and `attempts` are non-zero after a rejoin.
    Welcome {
        name: String,
        round: u64,
        state: RoundState,
        /// Seconds left in the running round.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        remaining_secs: Option<u64>,
        answer_ms: u64,
        sum: i64,
        correct: u32,
        attempts: u32,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        rejoined: bool,
    },
    /// A round started.
    RoundStarted {
        round: u64,
        duration_secs: u64,
        #[serde(with = "time::ms")]
        ends_at: Timestamp,
    },
    /// A problem to answer within `deadline_ms` of `sent_at`. `attempt` counts how often this
    /// problem has been asked (it comes back after a wrong, late, invalid or missing answer).
    Question {
        id: u64,
        text: String,
        #[serde(with = "time::ms")]
        sent_at: Timestamp,
        deadline_ms: u64,
        attempt: u32,
    },
    /// How an answer to question `id` was judged (or, with `timeout`, that none came).
    Verdict {
        id: u64,
        result: Outcome,
        /// The answer as given (absent for a timeout).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        answer: Option<String>,
        /// From `sent_at` to `received_at`, by the server's clock.
        elapsed_ms: u64,
        #[serde(with = "time::ms")]
        sent_at: Timestamp,
        #[serde(with = "time::ms")]
        received_at: Timestamp,
        deadline_ms: u64,
        sum: i64,
        correct: u32,
        attempts: u32,
        /// Time since the player first joined this round.
        played_ms: u64,
    },
    /// The live leaderboard: the best `players` of `total`.
    Scores {
        round: u64,
        players: Vec<Standing>,
        total: usize,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        remaining_secs: Option<u64>,
    },
    /// The round is over: the final leaderboard (the best `players` of `total`). The connection
    /// closes after it.
    RoundOver { round: u64, players: Vec<Standing>, total: usize, duration_secs: u64 },
    /// This player's own final place, for those not in the `round_over` list.
    Placed { round: u64, standing: Standing, total: usize },
    /// The command list.
    Help { commands: Vec<HelpEntry> },
    /// Something the player should know.
    Info { text: Msg },
    /// A request failed; the session goes on.
    Error(ErrorEvent),
    /// The last line before the server closes the connection.
    Bye { reason: Msg },
    /// Text mode asks the user for something (JSON clients get no prompt).
    Prompt { field: PromptField },
}

impl QuizEvent {
    pub fn error(code: ErrorCode, message: impl Into<Msg>) -> Self {
        QuizEvent::Error(ErrorEvent::new(code, message))
    }
}

/// The command list for `/help`.
pub fn help() -> Vec<HelpEntry> {
    [
        ("36", msg!("quiz-help-answer")),
        ("/scores", msg!("quiz-help-scores")),
        ("/start", msg!("quiz-help-start")),
        ("/help", msg!("common-help-this-list")),
        ("/quit", msg!("quiz-help-quit")),
    ]
    .into_iter()
    .map(|(usage, does)| HelpEntry { usage: usage.into(), does })
    .collect()
}

/// Seconds with two decimals: `1.23 s`.
fn secs(ms: u64) -> String {
    format!("{}.{:02} s", ms / 1000, (ms % 1000) / 10)
}

/// `1:02:03` or `2:03` (minutes:seconds).
pub fn duration_text(ms: u64) -> String {
    let s = ms / 1000;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

fn board_lines(out: &mut Vec<u8>, players: &[Standing]) {
    let width = players.iter().map(|p| p.name.chars().count()).max().unwrap_or(0);
    for p in players {
        text_line(
            out,
            t!(
                "quiz-board-line",
                rank = format!("{:>3}", p.rank),
                name = format!("{:width$}", p.name),
                sum = format!("{:>6}", p.sum),
                correct = p.correct,
                attempts = p.attempts
            ),
        );
    }
}

impl Wire for QuizEvent {
    fn write_json(&self, out: &mut Vec<u8>) {
        if !matches!(self, QuizEvent::Prompt { .. }) {
            json_line(self, out);
        }
    }

    fn write_text(&self, out: &mut Vec<u8>) {
        let line = match self {
            QuizEvent::Welcome {
                name,
                round,
                state,
                remaining_secs,
                answer_ms,
                sum,
                correct,
                attempts,
                rejoined,
            } => {
                let hello = if *rejoined {
                    t!("quiz-welcome-back", name = name, sum = *sum, correct = *correct, attempts = *attempts)
                } else {
                    t!("quiz-welcome", name = name)
                };
                let rules = t!("quiz-rules", limit = secs(*answer_ms));
                let when = match (state, remaining_secs) {
                    (RoundState::Running, Some(left)) => {
                        t!("quiz-round-on", round = *round, left = duration_text(left * 1000))
                    }
                    _ => t!("quiz-waiting-for-round"),
                };
                format!("{hello} {when} {rules}")
            }
            QuizEvent::RoundStarted { round, duration_secs, ends_at } => t!(
                "quiz-round-started",
                round = *round,
                duration = duration_text(duration_secs * 1000),
                ends = time::clock(ends_at)
            ),
            QuizEvent::Question { id, text, sent_at, attempt, .. } => {
                let at = time::clock(sent_at);
                if *attempt > 1 {
                    t!("quiz-question-again", id = *id, at = at, text = text)
                } else {
                    t!("quiz-question", id = *id, at = at, text = text)
                }
            }
            QuizEvent::Verdict {
                result,
                answer,
                elapsed_ms,
                sent_at,
                received_at,
                deadline_ms,
                sum,
                played_ms,
                ..
            } => {
                let times = t!(
                    "quiz-times",
                    sent = time::clock_ms(sent_at),
                    received = time::clock_ms(received_at),
                    played = duration_text(*played_ms)
                );
                let answer = answer.as_deref().unwrap_or("").to_owned();
                let (elapsed, limit) = (secs(*elapsed_ms), secs(*deadline_ms));
                let head = match result {
                    Outcome::Correct => t!("quiz-correct", elapsed = elapsed, sum = *sum),
                    Outcome::Wrong => t!("quiz-wrong", answer = answer, elapsed = elapsed, sum = *sum),
                    Outcome::Late => {
                        t!("quiz-late", answer = answer, elapsed = elapsed, limit = limit, sum = *sum)
                    }
                    Outcome::Invalid => t!("quiz-invalid", answer = format!("{answer:?}")),
                    Outcome::Timeout => t!("quiz-timeout", limit = limit),
                };
                format!("{head} {times}")
            }
            QuizEvent::Scores { round, players, total, remaining_secs } => {
                let head = match remaining_secs {
                    Some(s) => {
                        t!("quiz-scores-left", round = *round, total = *total, left = duration_text(s * 1000))
                    }
                    None => t!("quiz-scores", round = *round, total = *total),
                };
                text_line(out, head);
                board_lines(out, players);
                return;
            }
            QuizEvent::RoundOver { round, players, total, duration_secs } => {
                text_line(
                    out,
                    t!(
                        "quiz-round-over",
                        round = *round,
                        duration = duration_text(duration_secs * 1000),
                        total = *total
                    ),
                );
                board_lines(out, players);
                return;
            }
            QuizEvent::Placed { standing, total, .. } => t!(
                "quiz-placed",
                rank = standing.rank,
                total = *total,
                sum = standing.sum,
                correct = standing.correct,
                attempts = standing.attempts
            ),
            QuizEvent::Help { commands } => return crate::chat::write_help(out, commands),
            QuizEvent::Info { text } => t!("common-info", text = text.to_string()),
            QuizEvent::Error(e) => notice::error_text(e),
            QuizEvent::Bye { reason } => notice::bye_text(reason),
            QuizEvent::Prompt { field: PromptField::Name } => t!("chat-prompt-name"),
            QuizEvent::Prompt { field: PromptField::Password { name } } => {
                t!("common-prompt-password", name = name)
            }
        };
        text_line(out, line);
    }
}

/// Where a quiz session is, which decides what a plain text line means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Phase {
    /// Waiting for a name: a plain line is the name.
    Name,
    /// Waiting for the password of `name`: a plain line is the password.
    Password { name: String },
    /// Playing: a plain line is an answer.
    Playing,
}

/// Parse one text-mode line. `Ok(None)` means "nothing to do" (an empty line).
pub fn parse_text(line: &str, phase: &Phase) -> Result<Option<QuizRequest>, ErrorEvent> {
    let line = line.trim();
    if line.is_empty() {
        return Ok(None);
    }
    if is_quit(line) {
        return Ok(Some(QuizRequest::Quit));
    }
    if !line.starts_with('/') {
        return Ok(Some(match phase {
            Phase::Name => QuizRequest::Login { name: line.to_owned(), password: None },
            Phase::Password { name } => {
                QuizRequest::Login { name: name.clone(), password: Some(Secret::new(line)) }
            }
            Phase::Playing => QuizRequest::Answer { id: None, value: line.to_owned() },
        }));
    }
    let (command, rest) = split_word(&line[1..]);
    Ok(Some(match command {
        "scores" | "score" | "top" => QuizRequest::Scores,
        "start" => QuizRequest::Start { name: None, password: None },
        "help" => QuizRequest::Help,
        "login" => {
            let (name, password) = split_word(rest);
            if name.is_empty() {
                return Err(ErrorEvent::usage("/login name [password]"));
            }
            QuizRequest::Login {
                name: name.to_owned(),
                password: (!password.is_empty()).then(|| Secret::new(password)),
            }
        }
        _ => return Err(ErrorEvent::unknown_command(command)),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{Mode, render};

    fn at(s: &str) -> Timestamp {
        chrono::DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    #[test]
    fn plain_lines_by_phase_and_commands() {
        let p = |l: &str, ph: &Phase| parse_text(l, ph).unwrap().unwrap();
        assert_eq!(p("alice", &Phase::Name), QuizRequest::Login { name: "alice".into(), password: None });
        assert_eq!(p(" -36 ", &Phase::Playing), QuizRequest::Answer { id: None, value: "-36".into() });
        assert_eq!(p("abc", &Phase::Playing), QuizRequest::Answer { id: None, value: "abc".into() });
        assert_eq!(p("/scores", &Phase::Playing), QuizRequest::Scores);
        assert_eq!(p("/start", &Phase::Name), QuizRequest::Start { name: None, password: None });
        assert_eq!(p("q", &Phase::Playing), QuizRequest::Quit);
        assert_eq!(parse_text("", &Phase::Playing).unwrap(), None);
        assert_eq!(parse_text("/dance", &Phase::Playing).unwrap_err().code, ErrorCode::UnknownCommand);
    }

    #[test]
    fn answers_accept_strings_and_numbers() {
        let a: QuizRequest = serde_json::from_str(r#"{"type":"answer","id":17,"value":"36"}"#).unwrap();
        assert_eq!(a, QuizRequest::Answer { id: Some(17), value: "36".into() });
        let b: QuizRequest = serde_json::from_str(r#"{"type":"answer","id":17,"value":-4}"#).unwrap();
        assert_eq!(b, QuizRequest::Answer { id: Some(17), value: "-4".into() });
    }

    #[test]
    fn shapes_in_both_modes() {
        let sent = at("2026-11-21T06:11:48.000Z");
        let q = QuizEvent::Question {
            id: 17,
            text: "38 - 94 / 84".into(),
            sent_at: sent,
            deadline_ms: 5000,
            attempt: 1,
        };
        assert_eq!(
            render(&q, Mode::Json),
            "{\"type\":\"question\",\"id\":17,\"text\":\"38 - 94 / 84\",\"sent_at\":\"2026-11-21T06:11:48.000Z\",\"deadline_ms\":5000,\"attempt\":1}\n"
        );
        assert!(render(&q, Mode::Text).starts_with("Q17 ["), "{}", render(&q, Mode::Text));
        assert!(render(&q, Mode::Text).ends_with("] 38 - 94 / 84 = ?\n"));
        let v = QuizEvent::Verdict {
            id: 17,
            result: Outcome::Correct,
            answer: Some("37".into()),
            elapsed_ms: 1234,
            sent_at: sent,
            received_at: at("2026-11-21T06:11:49.234Z"),
            deadline_ms: 5000,
            sum: 36,
            correct: 1,
            attempts: 2,
            played_ms: 123_000,
        };
        let text = render(&v, Mode::Text);
        assert!(text.starts_with("correct (1.23 s) — sum 36 [sent "), "{text}");
        assert!(text.contains("played 2:03]"), "{text}");
        let json: serde_json::Value = serde_json::from_str(&render(&v, Mode::Json)).unwrap();
        assert_eq!(json["result"], "correct");
        assert_eq!(json["elapsed_ms"], 1234);
        assert_eq!(json["received_at"], "2026-11-21T06:11:49.234Z");
        assert_eq!(render(&QuizEvent::Prompt { field: PromptField::Name }, Mode::Json), "");
        let back: QuizEvent = serde_json::from_str(render(&v, Mode::Json).trim()).unwrap();
        assert_eq!(back, v);
    }
}
