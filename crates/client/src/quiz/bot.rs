//! A quiz bot: logs in, answers every problem after a random thinking time, right with a given
//! probability, and reports what happened. `sockhub quiz --bot` runs one; a load generator runs
//! thousands through [`bot`].

use std::collections::BTreeMap;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sockhub_proto::problem::Problem;
use sockhub_proto::quiz::{Outcome, QuizEvent, QuizRequest, Standing};
use sockhub_proto::secret::Secret;
use tokio::time::{Instant, sleep_until};

use super::{Incoming, login, spawn_reader};
use crate::conn::ClientError;

/// How a bot plays.
#[derive(Debug, Clone)]
pub struct BotOptions {
    /// Probability of answering right (otherwise the answer is off by one). Default 0.8.
    pub accuracy: f64,
    /// Thinking time before each answer, drawn from `[min, max]`. Default 500–3000 ms.
    pub think: (Duration, Duration),
    /// Seed of the bot's own randomness; `None` = random.
    pub seed: Option<u64>,
    pub password: Option<Secret>,
}

impl Default for BotOptions {
    fn default() -> Self {
        BotOptions {
            accuracy: 0.8,
            think: (Duration::from_millis(500), Duration::from_millis(3000)),
            seed: None,
            password: None,
        }
    }
}

/// What a bot saw.
#[derive(Debug, Clone, Default)]
pub struct BotReport {
    /// Questions received (re-asks included).
    pub questions: u64,
    /// Answers sent.
    pub answers: u64,
    /// Verdicts by outcome.
    pub verdicts: BTreeMap<&'static str, u64>,
    /// The sum at the last verdict.
    pub sum: i64,
    /// The final leaderboard, if the round ended while the bot played.
    pub final_board: Option<Vec<Standing>>,
    /// The bot's own final place, when it was not on the final board.
    pub placed: Option<Standing>,
    /// The server's last word (`bye` reason), if it said one.
    pub bye: Option<String>,
    /// The refusal, if the login was refused.
    pub refused: Option<String>,
}

/// Play as `name` on the quiz at `addr` until the server ends the session. `on_event` sees every
/// event (to print it, or to measure). Returns what happened.
pub async fn bot(
    to: impl Into<crate::conn::Endpoint>,
    name: &str,
    opts: &BotOptions,
    mut on_event: impl FnMut(&QuizEvent),
) -> Result<BotReport, ClientError> {
    let mut report = BotReport::default();
    let (rx, mut tx, first) = login(to, name, opts.password.clone()).await?;
    on_event(&first);
    if !matches!(first, QuizEvent::Welcome { .. }) {
        report.refused = Some(super::show(&first));
        return Ok(report);
    }
    let mut rng = match opts.seed {
        Some(seed) => StdRng::seed_from_u64(seed),
        None => StdRng::from_os_rng(),
    };
    let mut incoming = spawn_reader(rx, None);
    // The answer waiting to be sent, and when.
    let mut pending: Option<(Instant, u64, String)> = None;
    loop {
        let due = pending.as_ref().map(|(at, _, _)| *at);
        tokio::select! {
            msg = incoming.recv() => {
                let event = match msg {
                    Some(Incoming::Event(event)) => event,
                    Some(Incoming::Closed(_)) | None => break,
                };
                on_event(&event);
                match &event {
                    QuizEvent::Question { id, text, .. } => {
                        report.questions += 1;
                        let Some(problem) = Problem::parse(text) else { continue };
                        let right = problem.answer();
                        let value = if rng.random_bool(opts.accuracy.clamp(0.0, 1.0)) { right } else { right + 1 };
                        let (lo, hi) = (opts.think.0.as_millis() as u64, opts.think.1.as_millis() as u64);
                        let think = Duration::from_millis(rng.random_range(lo..=hi.max(lo)));
                        pending = Some((Instant::now() + think, *id, value.to_string()));
                    }
                    QuizEvent::Verdict { result, sum, .. } => {
                        report.sum = *sum;
                        *report.verdicts.entry(result.as_str()).or_default() += 1;
                        if *result == Outcome::Timeout {
                            pending = None;
                        }
                    }
                    QuizEvent::RoundOver { players, .. } => report.final_board = Some(players.clone()),
                    QuizEvent::Placed { standing, .. } => report.placed = Some(standing.clone()),
                    QuizEvent::Bye { reason } => report.bye = Some(reason.to_string()),
                    _ => {}
                }
            }
            () = async { sleep_until(due.unwrap_or_else(Instant::now)).await }, if due.is_some() => {
                if let Some((_, id, value)) = pending.take() {
                    report.answers += 1;
                    tx.send(&QuizRequest::Answer { id: Some(id), value }).await?;
                }
            }
        }
    }
    Ok(report)
}
