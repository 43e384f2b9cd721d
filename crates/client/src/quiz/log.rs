//! The quiz client's own log (`sockhub quiz --log FILE`), as the original course's quiz clients
//! kept one: one `YYYY-MM-DD HH:MM:SS [LEVEL]: message` line per thing that happened — connected,
//! each problem received, each answer with its verdict and times, errors — in the client's
//! language. The file is appended to (a second game adds to the first) and every line is flushed
//! as it is written, so the log is complete up to a crash.

use std::fs::{File, OpenOptions};
use std::io::{self, Write as _};
use std::path::Path;

use sockhub_i18n::t;
use sockhub_proto::quiz::{Outcome, QuizEvent};
use sockhub_proto::time;

use super::show;

/// How serious a log line is (the words Python's `logging` uses, as the original clients did).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Warning,
    Error,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Info => "INFO",
            Level::Warning => "WARNING",
            Level::Error => "ERROR",
        }
    }
}

/// An open quiz log.
#[derive(Debug)]
pub struct QuizLog {
    file: File,
}

impl QuizLog {
    /// Open `path` for appending, creating it if needed.
    pub fn create(path: &Path) -> io::Result<QuizLog> {
        Ok(QuizLog { file: OpenOptions::new().create(true).append(true).open(path)? })
    }

    /// Append one line, stamped with the local time. A log that cannot be written is not worth
    /// ending the game for: the error is reported once on stderr and the game goes on.
    pub fn write(&mut self, level: Level, message: &str) {
        let line = format!("{} [{}]: {message}\n", time::log_format(&time::now()), level.as_str());
        if let Err(e) = self.file.write_all(line.as_bytes()).and_then(|()| self.file.flush()) {
            eprintln!("{}", t!("quiz-log-write-failed", error = e.to_string()));
        }
    }

    /// The client connected to `addr` (before logging in).
    pub fn connected(&mut self, addr: &str) {
        self.write(Level::Info, &t!("quiz-log-connected", addr = addr));
    }

    /// A problem of the client's own (the connection failed or was lost).
    pub fn error(&mut self, what: &str) {
        self.write(Level::Error, what);
    }

    /// An event from the server, as it is worth remembering.
    pub fn event(&mut self, event: &QuizEvent) {
        let (level, message) = match event {
            QuizEvent::Welcome { name, .. } => {
                (Level::Info, t!("quiz-log-welcome", name = name, text = show(event)))
            }
            QuizEvent::Question { id, text, sent_at, .. } => (
                Level::Info,
                t!(
                    "quiz-log-problem",
                    id = *id,
                    text = text,
                    sent = time::clock_ms(sent_at),
                    received = time::clock_ms(&time::now())
                ),
            ),
            QuizEvent::Verdict { id, result, answer, .. } => {
                let level = if *result == Outcome::Correct { Level::Info } else { Level::Warning };
                let answer = answer.clone().unwrap_or_else(|| "-".to_owned());
                (level, t!("quiz-log-answer", id = *id, answer = answer, verdict = show(event)))
            }
            QuizEvent::Error(_) => (Level::Error, show(event)),
            QuizEvent::RoundStarted { .. }
            | QuizEvent::RoundOver { .. }
            | QuizEvent::Placed { .. }
            | QuizEvent::Info { .. }
            | QuizEvent::Bye { .. } => {
                // The first line: a leaderboard's rows are in the game, not in the log.
                (Level::Info, show(event).lines().next().unwrap_or_default().to_owned())
            }
            QuizEvent::Scores { .. } | QuizEvent::Help { .. } | QuizEvent::Prompt { .. } => return,
        };
        self.write(level, &message);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sockhub_i18n::Lang;

    #[test]
    fn lines_are_stamped_and_in_the_language_of_the_moment() {
        let dir = std::env::temp_dir().join(format!("sockhub-quiz-log-{}", std::process::id()));
        let _ = std::fs::remove_file(&dir);
        let mut log = QuizLog::create(&dir).unwrap();
        log.connected("127.0.0.1:7002");
        let at = time::now();
        let q =
            QuizEvent::Question { id: 3, text: "12 + 5".into(), sent_at: at, attempt: 1, deadline_ms: 5000 };
        Lang::Ko.scope(|| log.event(&q));
        log.error("the connection was lost");
        let text = std::fs::read_to_string(&dir).unwrap();
        let _ = std::fs::remove_file(&dir);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        for line in &lines {
            let (stamp, rest) = line.split_at(19);
            assert!(chrono::NaiveDateTime::parse_from_str(stamp, "%Y-%m-%d %H:%M:%S").is_ok(), "{line}");
            assert!(rest.starts_with(" [INFO]: ") || rest.starts_with(" [ERROR]: "), "{line}");
        }
        assert!(lines[0].ends_with("[INFO]: connected to 127.0.0.1:7002"), "{}", lines[0]);
        assert!(lines[1].contains("[INFO]: Q3 문제 받음: 12 + 5"), "{}", lines[1]);
        assert!(lines[2].ends_with("[ERROR]: the connection was lost"), "{}", lines[2]);
    }
}
