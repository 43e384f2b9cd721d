//! A player's problem stream: one task per connected player, one timer at a time.
//!
//! The task runs `pause → question → answer or timeout` over and over. It sleeps on tokio's timer
//! wheel for its pauses (a paused clock in tests drives it), never polls. Answers reach it from
//! the session through a small channel, each stamped with the instant its line was read (or, if
//! the deadline scheduler timed the question out before the answer reached the deadline queue, the
//! instant it did): lateness is judged from that instant, not from when the task gets to
//! it, so a busy server never turns an answer given in time into a late one (and never the
//! reverse). The deadline is not this task's timer: the node's deadline scheduler
//! ([`super::deadlines`]) judges a question nobody answered at its deadline and wakes the task,
//! which then logs and records the timeout.
//!
//! - **Correct and on time**: the value is added to the sum; a new problem follows.
//! - **Wrong**, **invalid** (not a whole number): the same problem comes back.
//! - **No answer by the deadline**: the scheduler tells the player (`timeout`), and the same
//!   problem comes back. An answer to it that arrives after that, before the problem is asked
//!   again, is **late**; so is one read after the deadline but before the scheduler got to it.
//! - Every problem, the first time or again, comes after a pause drawn from `pause_secs`.
//!
//! State changes and the frames that report them happen together under the round's lock (see
//! [`super::round`]); the per-player log, the server log and the attempt record are written after
//! the lock is released.

use sockhub_i18n::{Msg, msg};
use std::sync::Arc;

use sockhub_proto::ErrorCode;
use sockhub_proto::quiz::{Outcome, QuizEvent};
use sockhub_proto::time::Timestamp;
use sockhub_store::QuizAttemptRecord;
use tokio::sync::{Notify, mpsc};
use tokio::time::{Instant, sleep_until};
use tokio_util::sync::CancellationToken;
use tracing::info;

use super::QuizService;
use super::deadlines::{Closed, Open, Slot};
use crate::net::fanout::Fanout;
use crate::net::outbox::Frame;
use sockhub_proto::problem::parse_answer;

/// An answer as the session read it.
#[derive(Debug)]
pub struct Answer {
    /// The question it answers, if the client said (JSON mode).
    pub id: Option<u64>,
    pub value: String,
    /// When its line was read.
    pub at: Instant,
}

/// One sending of a problem.
#[derive(Debug, Clone)]
pub struct Ask {
    pub id: u64,
    pub text: String,
    pub expected: i64,
    pub asks: u32,
    pub sent: Instant,
    pub sent_at: Timestamp,
    pub deadline: Instant,
    /// Its deadline's place in the scheduler's queue.
    pub slot: Slot,
}

/// What the task learned from handling an answer.
enum Handled {
    /// Judged: the ask is over.
    Judged,
    /// Not an answer to this ask (a closed question id, or the round is over): keep waiting.
    Ignored,
    /// The scheduler timed the ask out before this answer was taken in: the answer is late, to be
    /// judged once the timeout is logged.
    TimedOut(Answer),
}

/// The player task. Ends when `stop` is cancelled (the connection left or the round ended).
pub(super) async fn play(
    quiz: Arc<QuizService>,
    key: String,
    stop: CancellationToken,
    timeouts: Arc<Notify>,
    mut answers: mpsc::Receiver<Answer>,
) {
    let mut rounds = quiz.running.subscribe();
    // Before the round starts, answers have nothing to answer.
    while !*rounds.borrow_and_update() {
        tokio::select! {
            biased;
            () = stop.cancelled() => return,
            changed = rounds.changed() => if changed.is_err() { return },
            Some(a) = answers.recv() => quiz.no_question(&key, &stop, a.id, msg!("quiz-not-started")),
        }
    }
    // The ask that last went unanswered: an answer to it before it is asked again is late.
    let mut expired: Option<Ask> = None;
    loop {
        let Some(pause) = quiz.with_player(&key, &stop, |p| p.pause(quiz.pause)) else { return };
        let until = Instant::now() + pause;
        loop {
            tokio::select! {
                biased;
                () = stop.cancelled() => return,
                Some(a) = answers.recv() => match &expired {
                    Some(ask) if a.id.is_none_or(|id| id == ask.id) => {
                        quiz.judge(&key, &stop, ask, a, true).await;
                    }
                    _ => quiz.no_question(&key, &stop, a.id, msg!("quiz-wait-next")),
                },
                () = sleep_until(until) => break,
            }
        }
        let Some(ask) = quiz.ask(&key, &stop) else { return };
        expired = None;
        // Whether the scheduler timed the ask out, and an answer taken in after that.
        let (timed_out, late) = loop {
            tokio::select! {
                // A timeout first: every answer to this ask still in the channel came after it;
                // and a timeout already told is logged even if the player has just left.
                biased;
                () = timeouts.notified() => if quiz.has_timed_out(&key, &ask) {
                    break (true, None);
                },
                () = stop.cancelled() => return,
                Some(a) = answers.recv() => match quiz.judge(&key, &stop, &ask, a, false).await {
                    Handled::Judged => break (false, None),
                    Handled::Ignored => {}
                    Handled::TimedOut(a) => break (true, Some(a)),
                },
            }
        };
        if timed_out {
            quiz.timed_out(&key, &ask).await;
            if let Some(a) = late {
                quiz.judge(&key, &stop, &ask, a, true).await;
            }
            expired = Some(ask);
        }
    }
}

impl QuizService {
    /// Run `f` on the player under the lock, unless the task was stopped.
    fn with_player<T>(
        &self,
        key: &str,
        stop: &CancellationToken,
        f: impl FnOnce(&mut super::round::Player) -> T,
    ) -> Option<T> {
        let mut round = self.round.lock();
        if stop.is_cancelled() {
            return None;
        }
        round.players.get_mut(key).map(f)
    }

    /// Send the next problem (or the same one again). `None` when the task must end.
    fn ask(&self, key: &str, stop: &CancellationToken) -> Option<Ask> {
        // Declared before the guard: the question is written to the socket after the round's lock
        // is released (see `judge`).
        let mut fanout = Fanout::new();
        let mut guard = self.round.lock();
        if stop.is_cancelled() || !guard.is_running() {
            return None;
        }
        let round = &mut *guard;
        let player = round.players.get_mut(key)?;
        player.online.as_ref()?;
        let current = player.next_problem();
        let sent = Instant::now();
        let deadline = sent + self.answer;
        let sent_at = self.clock.wall(sent);
        let online = player.online.as_ref()?;
        let open = Open {
            conn: online.conn,
            id: current.id,
            sent_at,
            sum: player.sum,
            correct: player.correct,
            attempts: player.attempts,
            first_joined: player.first_joined,
            outbox: online.outbox.clone(),
            timeouts: Arc::clone(&online.timeouts),
        };
        let (slot, earliest) = self.deadlines.lock().insert(deadline, key, open);
        if earliest {
            self.wake_deadlines();
        }
        let ask = Ask {
            id: current.id,
            text: current.problem.text(),
            expected: current.expected,
            asks: current.asks,
            sent,
            sent_at,
            deadline,
            slot,
        };
        let question = Frame::new(QuizEvent::Question {
            id: ask.id,
            text: ask.text.clone(),
            sent_at: ask.sent_at,
            deadline_ms: self.answer.as_millis() as u64,
            attempt: ask.asks,
        });
        fanout.push(&online.outbox, &question);
        let (name, file) = (Arc::clone(&player.name), Arc::clone(&player.log_file));
        drop(guard);
        drop(fanout);
        let again = if ask.asks > 1 { format!(" (asked {} times)", ask.asks) } else { String::new() };
        let message = format!("Q{} sent to {name}: {} = ?{again}", ask.id, ask.text);
        self.logs.write(&file, ask.sent_at, "INFO", &message);
        info!("{message}");
        Some(ask)
    }

    /// Judge an answer to `ask` and tell the player. `expired`: the scheduler timed `ask` out
    /// (and the task has logged it), so the answer came after that and is late.
    async fn judge(
        &self,
        key: &str,
        stop: &CancellationToken,
        ask: &Ask,
        a: Answer,
        expired: bool,
    ) -> Handled {
        let received_at = self.clock.wall(a.at);
        let elapsed_ms = a.at.saturating_duration_since(ask.sent).as_millis() as u64;
        // The lock is taken in a block of its own so that it is never held across an await. The
        // verdict is queued under it and written to the socket once it is released (`fanout`,
        // declared before the guard): a write to a quiet socket is a system call, and every
        // answer and question of the round waits for this lock.
        let mut fanout = Fanout::new();
        let judged = {
            let mut guard = self.round.lock();
            if stop.is_cancelled() || !guard.is_running() {
                return Handled::Ignored;
            }
            let round = &mut *guard;
            let Some(player) = round.players.get_mut(key) else { return Handled::Ignored };
            let Some(online) = player.online.as_ref() else { return Handled::Ignored };
            if let Some(id) = a.id.filter(|&id| id != ask.id) {
                online.outbox.send(QuizEvent::error(
                    ErrorCode::NoQuestion,
                    msg!("quiz-not-open", id = id, open = ask.id),
                ));
                return Handled::Ignored;
            }
            // An answer the session took in before this ask was sent (read during the pause) is
            // judged against it here: the ask leaves the deadline queue now, unless the scheduler
            // has timed it out.
            if self.deadlines.lock().close(key, ask.slot) == Closed::TimedOut && !expired {
                return Handled::TimedOut(a);
            }
            let outcome = if expired || a.at > ask.deadline {
                Outcome::Late
            } else {
                match parse_answer(&a.value) {
                    None => Outcome::Invalid,
                    Some(v) if v == ask.expected => Outcome::Correct,
                    Some(_) => Outcome::Wrong,
                }
            };
            player.attempts += 1;
            if outcome == Outcome::Correct {
                player.sum = player.sum.saturating_add(ask.expected);
                player.correct += 1;
                player.stream.current = None;
            }
            let played_ms = a.at.saturating_duration_since(player.first_joined).as_millis() as u64;
            let verdict = Frame::new(QuizEvent::Verdict {
                id: ask.id,
                result: outcome,
                answer: Some(a.value.clone()),
                elapsed_ms,
                sent_at: ask.sent_at,
                received_at,
                deadline_ms: self.answer.as_millis() as u64,
                sum: player.sum,
                correct: player.correct,
                attempts: player.attempts,
                played_ms,
            });
            fanout.push(&online.outbox, &verdict);
            let standing = (player.sum, player.correct, player.attempts, played_ms);
            (outcome, Arc::clone(&player.name), Arc::clone(&player.log_file), standing, round.number)
        };
        drop(fanout);
        let (outcome, name, file, (sum, correct, attempts, played_ms), number) = judged;
        // The answer is judged already: its standing waits for a place on the way to the other
        // nodes, and goes anyway after the bounded wait (see `crate::bus::place_or_publish`).
        if let Some(slot) = crate::bus::place_or_publish(self.bus.as_ref()).await {
            let standing =
                sockhub_proto::quiz::Standing { rank: 0, name: name.to_string(), sum, correct, attempts };
            let msg = crate::bus::QuizMsg::Standing { round: number, standing };
            slot.send(crate::bus::Message::Quiz(msg));
        }

        let value = a.value.trim();
        let shown: String = value.chars().take(64).collect();
        let at = format!("after {}.{:03} s", elapsed_ms / 1000, elapsed_ms % 1000);
        let received = format!("Q{} answer received from {name}: {shown:?} {at}", ask.id);
        let verdict = format!(
            "Q{} {} for {name}: {} = {} — sum {sum} ({correct} correct of {attempts}), played {}",
            ask.id,
            verdict_word(outcome),
            ask.text,
            ask.expected,
            sockhub_proto::quiz::duration_text(played_ms)
        );
        let level = if outcome == Outcome::Invalid { "WARN" } else { "INFO" };
        self.logs.write(&file, received_at, "INFO", &received);
        self.logs.write(&file, received_at, level, &verdict);
        info!("{received}");
        if outcome == Outcome::Invalid {
            tracing::warn!("{verdict}");
        } else {
            info!("{verdict}");
        }
        self.record(number, &name, ask, Some(a.value), outcome, received_at, elapsed_ms).await;
        Handled::Judged
    }

    /// Whether the deadline scheduler has timed `ask` out.
    fn has_timed_out(&self, key: &str, ask: &Ask) -> bool {
        self.deadlines.lock().has_timed_out(key, ask.slot)
    }

    /// The scheduler told the player their time was up ([`QuizService::time_out_due`]): log and
    /// record it; the same problem comes back.
    async fn timed_out(&self, key: &str, ask: &Ask) {
        let at = self.clock.wall(ask.deadline);
        let elapsed_ms = self.answer.as_millis() as u64;
        let told = {
            let round = self.round.lock();
            let Some(player) = round.players.get(key) else { return };
            (Arc::clone(&player.name), Arc::clone(&player.log_file), round.number)
        };
        let (name, file, number) = told;
        let message = format!("Q{} no answer from {name} within {} ms; it comes back", ask.id, elapsed_ms);
        self.logs.write(&file, at, "INFO", &message);
        info!("{message}");
        self.record(number, &name, ask, None, Outcome::Timeout, at, elapsed_ms).await;
    }

    /// An answer with no open question to go to.
    fn no_question(&self, key: &str, stop: &CancellationToken, id: Option<u64>, why: Msg) {
        let round = self.round.lock();
        if stop.is_cancelled() {
            return;
        }
        let Some(player) = round.players.get(key) else { return };
        if let Some(online) = &player.online {
            let message = match id {
                Some(id) => msg!("quiz-no-question-id", id = id, why = why),
                None => msg!("quiz-no-question", why = why),
            };
            online.outbox.send(QuizEvent::error(ErrorCode::NoQuestion, message));
        }
    }

    /// The attempt log, through the batched writer: after the verdict is out, so a slow
    /// database delays at most this player's next pause, never a verdict.
    #[allow(clippy::too_many_arguments)]
    async fn record(
        &self,
        round: u64,
        name: &str,
        ask: &Ask,
        answer: Option<String>,
        outcome: Outcome,
        received_at: Timestamp,
        elapsed_ms: u64,
    ) {
        let record = QuizAttemptRecord {
            round: round as i64,
            player: name.to_owned(),
            problem_id: ask.id as i64,
            ask: i64::from(ask.asks),
            problem: ask.text.clone(),
            expected: ask.expected,
            answer,
            verdict: outcome.as_str().to_owned(),
            sent_at: sockhub_store::truncate_ms(ask.sent_at),
            received_at: sockhub_store::truncate_ms(received_at),
            elapsed_ms: elapsed_ms as i64,
        };
        if let Err(e) = self.journal.send(record).await {
            tracing::warn!("attempt not recorded: {e}");
        }
    }
}

/// How a verdict reads in the logs.
fn verdict_word(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Correct => "correct",
        Outcome::Wrong => "wrong",
        Outcome::Late => "too late",
        Outcome::Invalid => "invalid input",
        Outcome::Timeout => "time's up",
    }
}
