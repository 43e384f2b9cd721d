//! The quiz's deadlines: one scheduler per node judges every unanswered question at its deadline.
//!
//! Each open question has one entry in [`Deadlines`], a queue sorted by deadline that lives in the
//! round (under the round's lock, beside the players it refers to). The scheduler sleeps until the
//! earliest entry and then, in one pass under the lock ([`QuizService::time_out_due`]), judges
//! every question whose deadline has come: `timeout` is queued in the player's outbox (and written
//! to the sockets once the lock is released), the lateness
//! (the instant of that judgement minus the deadline, by the server's clock) goes to
//! `sockhub_deadline_lateness_seconds`, and the player's task is woken to log and record it. So a
//! deadline costs no task of its own: when thousands of questions expire in the same millisecond,
//! one wake-up judges them all, instead of thousands of player tasks each waiting for a core.
//!
//! The scheduler is a thread of its own ([`spawn_thread`], `quiz-deadlines`), woken by the
//! operating system's timer: it does not wait in the runtime's run queues behind thousands of
//! connection tasks, and a thread that sleeps almost all the time is given a core soon after it
//! wakes. It reads the time through the runtime's clock, so with a paused test clock it never
//! judges anything; a task on the runtime ([`QuizService::keep_deadlines`]) sleeps on the same
//! queue with `tokio::time` and judges whatever the thread has not (all of it on a paused clock).
//! A pass takes only what is due when it holds the lock, so the two never judge one question
//! twice.
//!
//! The race with an answer is settled by the lock: the session stamps an answer when it reads it
//! and, under the round's lock, takes the question it answers out of the queue
//! ([`QuizService::take_answer`]). Whichever gets the lock first wins: an answer that finds its
//! question still open is judged by its stamp (in time if at or before the deadline); one that
//! finds it already timed out is stamped again at that moment, after the `timeout`, and is late.
//! No question ever gets both a `timeout` and an in-time verdict.
//!
//! Bounded: a question has at most one entry, removed when it is answered or judged, when its
//! player leaves, and when the round ends; so the queue holds at most one entry per player.

use std::collections::BTreeMap;
use std::sync::Arc;

use sockhub_proto::quiz::{Outcome, QuizEvent};
use tokio::time::{Instant, sleep_until};

use super::QuizService;
use crate::net::fanout::Fanout;
use crate::net::outbox::Frame;

/// A deadline's place in the queue: when, and a sequence number that makes it unique.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Slot {
    pub at: Instant,
    seq: u64,
}

/// The open questions by deadline, each with its player's key.
#[derive(Default)]
pub struct Deadlines {
    queue: BTreeMap<Slot, String>,
    next: u64,
}

impl Deadlines {
    /// Queue player `key`'s deadline; returns its slot and whether it is now the earliest.
    pub fn insert(&mut self, at: Instant, key: &str) -> (Slot, bool) {
        self.next += 1;
        let slot = Slot { at, seq: self.next };
        self.queue.insert(slot, key.to_owned());
        let earliest = self.queue.first_key_value().is_some_and(|(first, _)| *first == slot);
        (slot, earliest)
    }

    pub fn remove(&mut self, slot: Slot) {
        self.queue.remove(&slot);
    }

    /// The earliest deadline.
    pub fn earliest(&self) -> Option<Instant> {
        self.queue.first_key_value().map(|(slot, _)| slot.at)
    }

    /// The earliest entry if its deadline is at or before `now`, taken out of the queue.
    fn pop_due(&mut self, now: Instant) -> Option<(Slot, String)> {
        let entry = self.queue.first_entry()?;
        if entry.key().at > now {
            return None;
        }
        Some(entry.remove_entry())
    }

    pub fn clear(&mut self) {
        self.queue.clear();
    }

    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }
}

/// The question a player has open: what the scheduler needs to judge it without its task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Waiting {
    pub id: u64,
    pub slot: Slot,
    pub sent_at: sockhub_proto::time::Timestamp,
}

/// Start the scheduler's thread; it ends when the server shuts down (or the service is gone).
pub(super) fn spawn_thread(quiz: &Arc<QuizService>) -> std::io::Result<std::thread::Thread> {
    let runtime = tokio::runtime::Handle::current();
    let quiz = Arc::downgrade(quiz);
    let thread = std::thread::Builder::new().name("quiz-deadlines".into()).spawn(move || {
        // The runtime's clock: `Instant::now()` here is the runtime's time (paused in tests).
        let _clock = runtime.enter();
        loop {
            let Some(quiz) = quiz.upgrade() else { return };
            if quiz.shutdown.is_cancelled() {
                return;
            }
            let next = quiz.round.lock().deadlines.earliest();
            let now = Instant::now();
            let wait = match next {
                Some(at) if at <= now => {
                    quiz.time_out_due();
                    continue;
                }
                Some(at) => at - now,
                // Woken by the first question (or the shutdown); the limit only bounds how long
                // a service dropped without shutting down keeps this thread.
                None => std::time::Duration::from_secs(1),
            };
            drop(quiz);
            std::thread::park_timeout(wait);
        }
    })?;
    Ok(thread.thread().clone())
}

impl QuizService {
    /// Wake the scheduler (the thread and the task): a deadline earlier than any before was
    /// queued, or the server is shutting down.
    pub(super) fn wake_deadlines(&self) {
        self.deadlines_changed.notify_one();
        if let Some(thread) = self.deadline_thread.get() {
            thread.unpark();
        }
    }

    /// The deadline scheduler's task on the runtime; runs until the server shuts down.
    pub(super) async fn keep_deadlines(self: Arc<Self>) {
        loop {
            let next = self.round.lock().deadlines.earliest();
            let due = async {
                match next {
                    Some(at) => sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                biased;
                () = self.shutdown.cancelled() => return,
                // A deadline earlier than the one slept for was queued.
                () = self.deadlines_changed.notified() => {}
                () = due => self.time_out_due(),
            }
        }
    }

    /// Judge every question whose deadline has come, in one pass under the lock: `timeout` to
    /// each player, and their task woken to log and record it. The verdicts are queued under the
    /// lock and written to the sockets after it is released (a [`Fanout`]), so thousands of
    /// timeouts due at once do not hold the round while their writes go out.
    pub(super) fn time_out_due(&self) {
        // Declared before the guard, so dropped (and flushed) after it.
        let mut fanout = Fanout::new();
        let mut guard = self.round.lock();
        let round = &mut *guard;
        if !round.is_running() {
            // Between rounds nothing is asked: nothing to judge.
            round.deadlines.clear();
            return;
        }
        let now = Instant::now();
        let answer_ms = self.answer.as_millis() as u64;
        while let Some((slot, key)) = round.deadlines.pop_due(now) {
            let Some(player) = round.players.get_mut(&key) else { continue };
            let Some(waiting) = player.open.filter(|w| w.slot == slot) else { continue };
            player.open = None;
            let Some(online) = player.online.as_ref() else { continue };
            let played_ms = slot.at.saturating_duration_since(player.first_joined).as_millis() as u64;
            let verdict = Frame::new(QuizEvent::Verdict {
                id: waiting.id,
                result: Outcome::Timeout,
                answer: None,
                elapsed_ms: answer_ms,
                sent_at: waiting.sent_at,
                received_at: self.clock.wall(slot.at),
                deadline_ms: answer_ms,
                sum: player.sum,
                correct: player.correct,
                attempts: player.attempts,
                played_ms,
            });
            fanout.push(&online.outbox, &verdict);
            player.timed_out = Some(slot);
            online.timeouts.notify_one();
            // How well the server keeps its deadlines (`/metrics`, `sockhub bench quiz`): the
            // instant this verdict was decided and queued, after the deadline.
            self.metrics.deadline_lateness.record(Instant::now().saturating_duration_since(slot.at));
        }
    }

    /// Take in an answer from connection `conn` of player `key`, read at `read`; returns its
    /// stamp. If it answers the open question (`id`, or no id in text mode), that question leaves
    /// the deadline queue under the lock, so the scheduler cannot time it out while the player's
    /// task judges it, and the stamp is `read`. Otherwise (no question open: the scheduler may have
    /// timed it out between `read` and this lock) the stamp is now, after any such `timeout`.
    pub(super) fn take_answer(&self, key: &str, conn: u64, id: Option<u64>, read: Instant) -> Instant {
        let mut guard = self.round.lock();
        let round = &mut *guard;
        if let Some(player) = round.players.get_mut(key)
            && player.online.as_ref().is_some_and(|o| o.conn == conn)
            && let Some(waiting) = player.open.filter(|w| id.is_none_or(|id| id == w.id))
        {
            round.deadlines.remove(waiting.slot);
            player.open = None;
            return read;
        }
        Instant::now().max(read)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn the_queue_gives_due_deadlines_in_order_and_forgets_removed_ones() {
        let mut d = Deadlines::default();
        let t0 = Instant::now();
        let (late, first) = d.insert(t0 + Duration::from_millis(20), "b");
        assert!(first, "the only deadline is the earliest");
        let (early, first) = d.insert(t0 + Duration::from_millis(10), "a");
        assert!(first);
        let (same, first) = d.insert(t0 + Duration::from_millis(10), "c");
        assert!(!first, "equal deadlines keep their order of arrival");
        assert_eq!(d.earliest(), Some(early.at));
        assert!(d.pop_due(t0 + Duration::from_millis(9)).is_none());
        d.remove(same);
        assert_eq!(d.pop_due(t0 + Duration::from_millis(30)), Some((early, "a".to_owned())));
        assert_eq!(d.pop_due(t0 + Duration::from_millis(30)), Some((late, "b".to_owned())));
        assert!(d.pop_due(t0 + Duration::from_millis(30)).is_none());
        assert!(d.is_empty() && d.earliest().is_none());
    }
}
