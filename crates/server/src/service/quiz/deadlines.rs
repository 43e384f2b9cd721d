//! The quiz's deadlines: one scheduler per node judges every unanswered question at its deadline.
//!
//! Each open question has one entry in [`Deadlines`], a queue sorted by deadline that holds
//! everything needed to time the question out: the player's outbox, the question's id, and the
//! player's standing (which does not change while a question is open). The queue has a lock of
//! its own ([`QuizService::deadlines`]), held only to add, take or look up an entry, never the
//! round's: a pass of the scheduler ([`QuizService::time_out_due`]) does not wait for whatever
//! the round's lock is doing (a join, a leaderboard, a round's start), nor for a thread the kernel
//! preempted while holding it. The scheduler sleeps until the earliest entry and then, in one pass
//! under the queue's lock, judges every question whose deadline has come: `timeout` is queued in
//! the player's outbox (and written to the sockets once the lock is released), the lateness (the
//! instant of that judgement minus the deadline, by the server's clock) goes to
//! `sockhub_deadline_lateness_seconds`, and the player's task is woken to log and record it. So a
//! deadline costs no task of its own: when thousands of questions expire in the same millisecond,
//! one wake-up judges them all, instead of thousands of player tasks each waiting for a core.
//!
//! The scheduler is a thread per core on up to two cores ([`spawn_threads`], `quiz-deadline-0`
//! and `-1`), each pinned to its core and woken by the operating system's timer: they do not wait
//! in the runtime's run queues behind thousands of connection tasks, and whichever wakes first
//! judges what is due. One thread alone is sometimes given its core milliseconds after its timer
//! fired (the core is busy, or on a virtual machine the host is not running that virtual CPU at
//! that moment); two cores are rarely both that late. The threads read the time through the
//! runtime's clock, so with a paused test clock they never judge anything; a task on the runtime
//! ([`QuizService::keep_deadlines`]) sleeps on the same queue with `tokio::time` and judges
//! whatever the threads have not (all of it on a paused clock). A pass takes only what is due when
//! it holds the lock, so no question is judged twice.
//!
//! The race with an answer is settled by the queue's lock: the session stamps an answer when it
//! reads it and takes the question it answers out of the queue ([`QuizService::take_answer`]).
//! Whichever gets the lock first wins: an answer that finds its question still open is judged by
//! its stamp (in time if at or before the deadline); one that finds it already timed out is
//! stamped again at that moment, after the `timeout`, and is late. No question ever gets both a
//! `timeout` and an in-time verdict.
//!
//! Locks: the round's lock may be held while the queue's is taken (a question is asked, judged or
//! forgotten under both), never the other way round. A round's start and end empty the queue under
//! the round's lock, before `round_started` or `round_over` is queued, so no `timeout` can follow
//! a `round_over`.
//!
//! Bounded: a question has at most one entry, removed when it is answered or judged, when its
//! player leaves, and when the round ends; so the queue holds at most one entry per player, and
//! the players' side of it one record per player of the round.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use sockhub_proto::quiz::{Outcome, QuizEvent};
use sockhub_proto::time::Timestamp;
use tokio::sync::Notify;
use tokio::time::{Instant, sleep_until};

use super::QuizService;
use crate::net::fanout::Fanout;
use crate::net::outbox::{Frame, Outbox};

/// A deadline's place in the queue: when, and a sequence number that makes it unique.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Slot {
    pub at: Instant,
    seq: u64,
}

/// An open question, as the scheduler needs it to time it out without the round.
pub struct Open {
    /// The connection it was asked on: only an answer from there takes it.
    pub conn: u64,
    pub id: u64,
    pub sent_at: Timestamp,
    /// The player's standing while it is open (it changes only when a question is judged).
    pub sum: i64,
    pub correct: u32,
    pub attempts: u32,
    /// When the player joined the round, for the verdict's `played_ms`.
    pub first_joined: Instant,
    pub outbox: Outbox,
    /// The player's task, woken when the question is timed out.
    pub timeouts: Arc<Notify>,
}

/// One player's side of the queue.
#[derive(Default)]
struct Side {
    /// The question waiting for an answer.
    open: Option<Slot>,
    /// The last question the scheduler timed out.
    timed_out: Option<Slot>,
}

/// How [`Deadlines::close`] found a question.
#[derive(Debug, PartialEq, Eq)]
pub enum Closed {
    /// The scheduler had timed it out.
    TimedOut,
    /// Open until now, or taken by an answer already: it is the caller's to judge.
    Judged,
}

/// The open questions by deadline, and each player's side of them.
#[derive(Default)]
pub struct Deadlines {
    queue: BTreeMap<Slot, (String, Open)>,
    players: HashMap<String, Side>,
    next: u64,
}

impl Deadlines {
    /// Queue player `key`'s question, due `at`; returns its slot and whether it is now the
    /// earliest. A question the player still had open is forgotten.
    pub fn insert(&mut self, at: Instant, key: &str, open: Open) -> (Slot, bool) {
        self.next += 1;
        let slot = Slot { at, seq: self.next };
        let side = match self.players.get_mut(key) {
            Some(side) => side,
            None => self.players.entry(key.to_owned()).or_default(),
        };
        if let Some(old) = side.open.replace(slot) {
            self.queue.remove(&old);
        }
        self.queue.insert(slot, (key.to_owned(), open));
        let earliest = self.queue.first_key_value().is_some_and(|(first, _)| *first == slot);
        (slot, earliest)
    }

    /// An answer from connection `conn` of player `key` to question `id` (in text mode, no id:
    /// the open one) takes the question out of the queue; false if it was not open.
    pub fn answer(&mut self, key: &str, conn: u64, id: Option<u64>) -> bool {
        let Some(side) = self.players.get_mut(key) else { return false };
        let Some(slot) = side.open else { return false };
        let Some((_, open)) = self.queue.get(&slot) else { return false };
        if open.conn != conn || id.is_some_and(|id| id != open.id) {
            return false;
        }
        side.open = None;
        self.queue.remove(&slot);
        true
    }

    /// Close player `key`'s question `slot` for judging, unless the scheduler timed it out.
    pub fn close(&mut self, key: &str, slot: Slot) -> Closed {
        let Some(side) = self.players.get_mut(key) else { return Closed::Judged };
        if side.timed_out == Some(slot) {
            return Closed::TimedOut;
        }
        if side.open == Some(slot) {
            side.open = None;
            self.queue.remove(&slot);
        }
        Closed::Judged
    }

    /// Whether the scheduler has timed out player `key`'s question `slot`.
    pub fn has_timed_out(&self, key: &str, slot: Slot) -> bool {
        self.players.get(key).is_some_and(|side| side.timed_out == Some(slot))
    }

    /// Player `key` left: nobody is there to judge, so their open question leaves the queue (it
    /// comes back when they rejoin).
    pub fn forget(&mut self, key: &str) {
        if let Some(slot) = self.players.get_mut(key).and_then(|side| side.open.take()) {
            self.queue.remove(&slot);
        }
    }

    /// The earliest deadline.
    pub fn earliest(&self) -> Option<Instant> {
        self.queue.first_key_value().map(|(slot, _)| slot.at)
    }

    /// The earliest question if its deadline is at or before `now`, taken out of the queue and
    /// marked timed out.
    fn pop_due(&mut self, now: Instant) -> Option<(Slot, Open)> {
        let entry = self.queue.first_entry()?;
        if entry.key().at > now {
            return None;
        }
        let (slot, (key, open)) = entry.remove_entry();
        if let Some(side) = self.players.get_mut(&key) {
            side.open = None;
            side.timed_out = Some(slot);
        }
        Some((slot, open))
    }

    /// Empty the queue: a round starts or ends.
    pub fn clear(&mut self) {
        self.queue.clear();
        self.players.clear();
    }

    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }
}

/// How many cores get a deadline thread of their own, at most.
pub const THREADS: usize = 2;

/// Start the scheduler's threads: one per core on up to [`THREADS`] of the cores this process may
/// run on, each pinned to its core. They sleep on the same queue, and whichever wakes first judges
/// what is due (the other then finds nothing). A thread woken by its timer can wait milliseconds
/// for its core (a busy core, or, on a virtual machine, a virtual CPU the host is not running at
/// that moment; see benchmarks.md), and two cores are rarely both that late. They end
/// when the server shuts down (or the service is gone).
///
/// A thread that cannot be started is left out (and said in the log); so is every thread when
/// none can be, and then the task alone keeps the deadlines.
pub(super) fn spawn_threads(quiz: &Arc<QuizService>) -> Vec<std::thread::Thread> {
    let mut threads = Vec::new();
    for (i, core) in cores(THREADS).into_iter().enumerate() {
        match spawn_thread(quiz, i, core) {
            Ok(thread) => threads.push(thread),
            Err(e) => tracing::warn!(error = %e, "quiz: a deadline thread could not be started"),
        }
    }
    threads
}

/// One deadline thread, `quiz-deadline-<i>`, pinned to `core` if given.
fn spawn_thread(
    quiz: &Arc<QuizService>,
    i: usize,
    core: Option<usize>,
) -> std::io::Result<std::thread::Thread> {
    let runtime = tokio::runtime::Handle::current();
    let quiz = Arc::downgrade(quiz);
    let thread = std::thread::Builder::new().name(format!("quiz-deadline-{i}")).spawn(move || {
        if let Some(core) = core
            && !pin(core)
        {
            tracing::debug!(
                core,
                "quiz: a deadline thread could not be pinned to its core; it runs unpinned"
            );
        }
        // The runtime's clock: `Instant::now()` here is the runtime's time (paused in tests).
        let _clock = runtime.enter();
        loop {
            let Some(quiz) = quiz.upgrade() else { return };
            if quiz.shutdown.is_cancelled() {
                return;
            }
            let next = quiz.deadlines.lock().earliest();
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

/// Up to `n` of the cores this process may run on; one unknown core where they cannot be read.
#[cfg(target_os = "linux")]
fn cores(n: usize) -> Vec<Option<usize>> {
    use nix::sched::{CpuSet, sched_getaffinity};
    let allowed = match sched_getaffinity(nix::unistd::Pid::from_raw(0)) {
        Ok(set) => {
            (0..CpuSet::count()).filter(|&c| set.is_set(c).unwrap_or(false)).take(n).map(Some).collect()
        }
        Err(_) => Vec::new(),
    };
    if allowed.is_empty() { vec![None] } else { allowed }
}

/// Pin the calling thread to `core`; false if the system refused.
#[cfg(target_os = "linux")]
fn pin(core: usize) -> bool {
    use nix::sched::{CpuSet, sched_setaffinity};
    let mut set = CpuSet::new();
    set.set(core).is_ok() && sched_setaffinity(nix::unistd::Pid::from_raw(0), &set).is_ok()
}

/// Elsewhere: as many unpinned threads as there are cores, up to `n`.
#[cfg(not(target_os = "linux"))]
fn cores(n: usize) -> Vec<Option<usize>> {
    vec![None; std::thread::available_parallelism().map_or(1, |p| p.get()).min(n)]
}

#[cfg(not(target_os = "linux"))]
fn pin(_core: usize) -> bool {
    false
}

impl QuizService {
    /// Wake the scheduler (the threads and the task): a deadline earlier than any before was
    /// queued, or the server is shutting down.
    pub(super) fn wake_deadlines(&self) {
        self.deadlines_changed.notify_one();
        for thread in self.deadline_threads.get().into_iter().flatten() {
            thread.unpark();
        }
    }

    /// The deadline scheduler's task on the runtime; runs until the server shuts down.
    pub(super) async fn keep_deadlines(self: Arc<Self>) {
        loop {
            let next = self.deadlines.lock().earliest();
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

    /// Judge every question whose deadline has come, in one pass under the queue's lock (never
    /// the round's): `timeout` to each player, and their task woken to log and record it. The
    /// verdicts are queued under the lock and written to the sockets after it is released (a
    /// [`Fanout`]), so thousands of timeouts due at once do not hold the queue while their writes
    /// go out.
    pub(super) fn time_out_due(&self) {
        // Declared before the guard, so dropped (and flushed) after it.
        let mut fanout = Fanout::new();
        let mut deadlines = self.deadlines.lock();
        let now = Instant::now();
        let answer_ms = self.answer.as_millis() as u64;
        while let Some((slot, open)) = deadlines.pop_due(now) {
            let played_ms = slot.at.saturating_duration_since(open.first_joined).as_millis() as u64;
            let verdict = Frame::new(QuizEvent::Verdict {
                id: open.id,
                result: Outcome::Timeout,
                answer: None,
                elapsed_ms: answer_ms,
                sent_at: open.sent_at,
                received_at: self.clock.wall(slot.at),
                deadline_ms: answer_ms,
                sum: open.sum,
                correct: open.correct,
                attempts: open.attempts,
                played_ms,
            });
            fanout.push(&open.outbox, &verdict);
            open.timeouts.notify_one();
            // How well the server keeps its deadlines (`/metrics`, `sockhub bench quiz`): the
            // instant this verdict was decided and queued, after the deadline.
            self.metrics.deadline_lateness.record(Instant::now().saturating_duration_since(slot.at));
        }
    }

    /// Take in an answer from connection `conn` of player `key`, read at `read`; returns its
    /// stamp. If it answers the open question (`id`, or no id in text mode), that question leaves
    /// the deadline queue under the queue's lock, so the scheduler cannot time it out while the
    /// player's task judges it, and the stamp is `read`. Otherwise (no question open: the
    /// scheduler may have timed it out between `read` and this lock) the stamp is now, after any
    /// such `timeout`.
    pub(super) fn take_answer(&self, key: &str, conn: u64, id: Option<u64>, read: Instant) -> Instant {
        let mut deadlines = self.deadlines.lock();
        if deadlines.answer(key, conn, id) {
            return read;
        }
        Instant::now().max(read)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn open(conn: u64, id: u64) -> Open {
        Open {
            conn,
            id,
            sent_at: sockhub_proto::time::now(),
            sum: 0,
            correct: 0,
            attempts: 0,
            first_joined: Instant::now(),
            outbox: Outbox::new(4),
            timeouts: Arc::default(),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_queue_gives_due_deadlines_in_order_and_forgets_removed_ones() {
        let mut d = Deadlines::default();
        let t0 = Instant::now();
        let (late, first) = d.insert(t0 + Duration::from_millis(20), "b", open(2, 1));
        assert!(first, "the only deadline is the earliest");
        let (early, first) = d.insert(t0 + Duration::from_millis(10), "a", open(1, 1));
        assert!(first);
        let (_, first) = d.insert(t0 + Duration::from_millis(10), "c", open(3, 1));
        assert!(!first, "equal deadlines keep their order of arrival");
        assert_eq!(d.earliest(), Some(early.at));
        assert!(d.pop_due(t0 + Duration::from_millis(9)).is_none());
        d.forget("c");
        let due =
            |d: &mut Deadlines| d.pop_due(t0 + Duration::from_millis(30)).map(|(slot, o)| (slot, o.conn));
        assert_eq!(due(&mut d), Some((early, 1)));
        assert_eq!(due(&mut d), Some((late, 2)));
        assert!(due(&mut d).is_none());
        assert!(d.is_empty() && d.earliest().is_none());
        assert!(d.has_timed_out("a", early) && d.has_timed_out("b", late));
        assert_eq!(d.close("a", early), Closed::TimedOut, "a timed-out question is not judged in time");
    }

    /// Each deadline thread runs on a core of its own: the cores are distinct, and a thread pinned
    /// to one is allowed on that one only.
    #[cfg(target_os = "linux")]
    #[test]
    fn the_deadline_threads_get_distinct_cores_and_stay_on_them() {
        let cores: Vec<usize> = cores(THREADS).into_iter().flatten().collect();
        let parallel = std::thread::available_parallelism().map_or(1, |p| p.get());
        assert_eq!(cores.len(), parallel.clamp(1, THREADS), "one per core, up to {THREADS}: {cores:?}");
        assert!(cores.windows(2).all(|w| w[0] != w[1]), "distinct cores: {cores:?}");
        for core in cores {
            let status = std::thread::spawn(move || {
                assert!(pin(core), "pinned to core {core}");
                std::fs::read_to_string("/proc/thread-self/status").unwrap()
            })
            .join()
            .unwrap();
            let allowed = status.lines().find_map(|l| l.strip_prefix("Cpus_allowed_list:")).unwrap().trim();
            assert_eq!(allowed, core.to_string());
        }
    }

    #[tokio::test(start_paused = true)]
    async fn only_the_asked_connection_and_question_take_an_answer_and_once() {
        let mut d = Deadlines::default();
        let (slot, _) = d.insert(Instant::now() + Duration::from_secs(1), "a", open(7, 3));
        assert!(!d.answer("a", 8, None), "another connection of the same name");
        assert!(!d.answer("a", 7, Some(2)), "another question");
        assert!(!d.answer("b", 7, None), "another player");
        assert!(d.answer("a", 7, Some(3)));
        assert!(!d.answer("a", 7, Some(3)), "taken once");
        assert!(d.is_empty());
        assert_eq!(d.close("a", slot), Closed::Judged);
        assert!(!d.has_timed_out("a", slot));
        // Closing a question for judging takes it out of the queue too.
        let (slot, _) = d.insert(Instant::now() + Duration::from_secs(1), "a", open(7, 4));
        assert_eq!(d.close("a", slot), Closed::Judged);
        assert!(d.is_empty() && !d.answer("a", 7, None));
    }
}
