//! Session-level tests of the quiz player's rules, on the [`crate::testing`] harness: a wrong
//! answer brings the same problem back, a right one adds to the sum, and an answer taken in before
//! the deadline keeps the deadline scheduler off its question — judged by the real round and
//! store, no sockets — and nothing is written to a player's socket under the round's lock, nor
//! does a deadline wait for it.

use std::sync::Arc;

use serde_json::json;
use sockhub_proto::Mode;
use sockhub_proto::problem::Problem;

use crate::net::outbox::TryWrite;
use crate::service::quiz::QuizService;
use crate::session::Service;
use crate::testing::{Client, Harness};

#[tokio::test]
async fn a_wrong_answer_brings_the_same_problem_back_and_a_right_one_scores() {
    // No random pause before a problem: the test need not wait for one.
    let mut h = Harness::start(|c| c.quiz.pause_secs = [0.0, 0.0]).await;
    let quiz = h.hub().quiz.clone().unwrap();
    let mut p = h.open(&quiz, Mode::Json);
    p.request(json!({"type":"login","name":"minsu"})).await;
    p.expect("welcome").await;
    let q = p.expect("question").await;
    let text = q["text"].as_str().unwrap().to_owned();
    let answer = Problem::parse(&text).expect("the question parses").answer();
    p.request(json!({"type":"answer","id":q["id"],"value":(answer + 1).to_string()})).await;
    let v = p.expect("verdict").await;
    assert_eq!((v["result"].as_str(), v["sum"].as_i64()), (Some("wrong"), Some(0)));
    let again = p.expect("question").await;
    assert_eq!(again["text"], text.as_str(), "the same problem comes back");
    assert_eq!(again["attempt"], 2);
    p.request(json!({"type":"answer","id":again["id"],"value":answer.to_string()})).await;
    let v = p.expect("verdict").await;
    assert_eq!((v["result"].as_str(), v["sum"].as_i64()), (Some("correct"), Some(answer)));
}

#[tokio::test]
async fn an_answer_taken_in_before_the_deadline_is_never_timed_out_however_late_its_task_runs() {
    let mut h = Harness::start(|c| {
        c.quiz.pause_secs = [0.0, 0.0];
        c.quiz.answer_secs = 0.2;
    })
    .await;
    let quiz = h.hub().quiz.clone().unwrap();
    let mut answering = h.open(&quiz, Mode::Json);
    answering.request(json!({"type":"login","name":"minsu"})).await;
    let q = answering.expect("question").await;
    let mut silent = h.open(&quiz, Mode::Json);
    silent.request(json!({"type":"login","name":"jiho"})).await;
    silent.expect("question").await;
    // The session takes an answer in (the first connection opened is 1); its player's task has
    // not judged it yet when the deadline passes, and never does in this test.
    let id = q["id"].as_u64();
    let taken = quiz.take_answer(&crate::names::key("minsu"), 1, id, tokio::time::Instant::now());
    assert!(taken.elapsed() < std::time::Duration::from_millis(200), "taken in before the deadline");
    let v = silent.expect("verdict").await;
    assert_eq!(v["result"], "timeout", "the silent player is timed out: {v}");
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let lines = answering.drain().await;
    assert!(
        !lines.iter().any(|l| l.contains("\"verdict\"")),
        "no timeout for an answered question: {lines:?}"
    );
}

/// A quiet socket that notes, for every line written to it, whether the writing thread held the
/// quiz's round lock (a stand-in for a TCP socket, because what is checked is when the write
/// happens, which only the socket sees): it then cannot take the lock itself (another thread holds it only briefly;
/// the writer waits a second for it).
///
/// The probe takes the round's lock inside a write, and a write happens under the outbox's own
/// lock: the reverse of the server's order (round, then outbox). A thread that holds the round's
/// lock and queues a frame for the same player at that moment waits for the outbox's lock while
/// the probe waits for the round's, and the probe reports a write under the lock that was not. So
/// the player logs in once the round runs (not while it starts and queues `round_started`), and
/// the tests push no live leaderboard ([`watched_harness`]).
struct LockWatch {
    quiz: std::sync::Weak<QuizService>,
    lines: std::sync::Mutex<Vec<(String, bool)>>,
}

impl TryWrite for LockWatch {
    fn try_write(&self, bytes: &[u8]) -> std::io::Result<usize> {
        let locked = self
            .quiz
            .upgrade()
            .is_some_and(|q| q.round.try_lock_for(std::time::Duration::from_secs(1)).is_none());
        let mut lines = self.lines.lock().unwrap();
        for line in String::from_utf8_lossy(bytes).lines() {
            lines.push((line.to_owned(), locked));
        }
        Ok(bytes.len())
    }
}

/// Shared with the test, which reads what was written.
impl TryWrite for Arc<LockWatch> {
    fn try_write(&self, bytes: &[u8]) -> std::io::Result<usize> {
        LockWatch::try_write(self, bytes)
    }
}

impl LockWatch {
    /// Wait (up to 5 s) for a line of JSON `type` and say whether the round was locked when it
    /// was written.
    async fn written_locked(&self, ty: &str) -> bool {
        let wanted = format!("\"type\":\"{ty}\"");
        for _ in 0..500 {
            if let Some((_, locked)) = self.lines.lock().unwrap().iter().find(|(l, _)| l.contains(&wanted)) {
                return *locked;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("no {ty} was written: {:?}", self.lines.lock().unwrap());
    }
}

/// Services for a test with a [`LockWatch`]: `edit`'s configuration, with no live leaderboard
/// (see [`LockWatch`]).
async fn watched_harness(edit: impl FnOnce(&mut crate::config::Config)) -> Harness {
    Harness::start(|c| {
        c.quiz.scores_every_secs = 0;
        edit(c);
    })
    .await
}

/// A quiz player whose outbox writes to a [`LockWatch`] (attached before anything is sent, so every
/// line goes to it: a quiet socket, always), logged in; its welcome was written after the lock.
/// With rounds that start by themselves, the player logs in once the round runs (see [`LockWatch`]).
async fn logged_in_with_a_watch(h: &mut Harness) -> (Arc<QuizService>, Client<QuizService>, Arc<LockWatch>) {
    let quiz = h.hub().quiz.clone().unwrap();
    if !quiz.starts_manually() {
        let mut running = quiz.running.subscribe();
        let started = tokio::time::timeout(std::time::Duration::from_secs(5), running.wait_for(|r| *r)).await;
        assert!(matches!(started, Ok(Ok(_))), "the round started");
    }
    let mut p = h.open(&quiz, Mode::Json);
    let watch = Arc::new(LockWatch { quiz: Arc::downgrade(&quiz), lines: Default::default() });
    let socket: Box<dyn TryWrite> = Box::new(Arc::clone(&watch));
    p.outbox().attach_direct(socket, std::time::Duration::ZERO, Arc::clone(quiz.metrics()));
    p.request(json!({"type":"login","name":"minsu"})).await;
    assert!(!watch.written_locked("welcome").await, "the welcome was written under the round's lock");
    (quiz, p, watch)
}

/// Every answer and question of a round takes the round's lock, so a write to a
/// player's socket (a system call) must not happen under it: a welcome, a question and a verdict to
/// a quiet socket are queued under the lock and written once it is released.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn welcomes_questions_and_verdicts_are_written_after_the_rounds_lock_is_released() {
    let mut h = watched_harness(|c| c.quiz.pause_secs = [0.0, 0.0]).await;
    let (_quiz, mut p, watch) = logged_in_with_a_watch(&mut h).await;
    assert!(!watch.written_locked("question").await, "the question was written under the round's lock");
    let (id, text) = {
        let lines = watch.lines.lock().unwrap();
        let line = &lines.iter().find(|(l, _)| l.contains("\"question\"")).unwrap().0;
        let q: serde_json::Value = serde_json::from_str(line).unwrap();
        (q["id"].clone(), q["text"].as_str().unwrap().to_owned())
    };
    let answer = Problem::parse(&text).expect("the question parses").answer();
    p.request(json!({"type":"answer","id":id,"value":answer.to_string()})).await;
    assert!(!watch.written_locked("verdict").await, "the verdict was written under the round's lock");
}

/// The round's start goes to every player at once: queued under the round's lock, written to the
/// quiet sockets once it is released (as the live leaderboard is, through the same `push_all`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_round_start_is_written_after_the_rounds_lock_is_released() {
    let mut h = watched_harness(|c| {
        c.quiz.start = crate::config::QuizStart::Manual;
        c.quiz.pause_secs = [0.0, 0.0];
    })
    .await;
    let (quiz, _p, watch) = logged_in_with_a_watch(&mut h).await;
    quiz.request_start().expect("a waiting round starts on request");
    assert!(!watch.written_locked("round_started").await, "the round's start was written under its lock");
}

/// The deadline scheduler keeps its own lock, not the round's: a question's deadline passes while
/// another thread holds the round's lock (as a preempted join or leaderboard push would), and its
/// `timeout` is queued and written all the same, before that lock is released.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deadline_is_judged_while_the_rounds_lock_is_held() {
    let mut h = watched_harness(|c| {
        c.quiz.pause_secs = [0.0, 0.0];
        c.quiz.answer_secs = 0.2;
    })
    .await;
    let (quiz, _p, watch) = logged_in_with_a_watch(&mut h).await;
    watch.written_locked("question").await;
    let timed_out = || watch.lines.lock().unwrap().iter().any(|(l, _)| l.contains("\"timeout\""));
    let round = quiz.round.lock();
    let until = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !timed_out() && std::time::Instant::now() < until {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let judged = timed_out();
    drop(round);
    assert!(judged, "no timeout while the round's lock was held: {:?}", watch.lines.lock().unwrap());
}

/// The deadlines are kept by a thread on each of two cores (where the process may use two), so a
/// core that runs its thread late does not make a deadline late.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deadlines_are_kept_by_a_thread_on_each_of_two_cores() {
    let h = Harness::start(|_| {}).await;
    let quiz = h.hub().quiz.clone().unwrap();
    let mut threads = None;
    for _ in 0..500 {
        threads = quiz.deadline_threads.get();
        if threads.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let names: Vec<&str> =
        threads.expect("the deadline threads started").iter().filter_map(|t| t.name()).collect();
    let cores = std::thread::available_parallelism().map_or(1, |p| p.get()).min(2);
    let expected: Vec<String> = (0..cores).map(|i| format!("quiz-deadline-{i}")).collect();
    assert_eq!(names, expected);
}

/// The round's end goes to every player at once too: `round_over` is queued under the round's
/// lock and written to the quiet sockets once it is released.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_round_over_is_written_after_the_rounds_lock_is_released() {
    let mut h = watched_harness(|c| c.quiz.duration_secs = 1).await;
    let (_quiz, _p, watch) = logged_in_with_a_watch(&mut h).await;
    assert!(!watch.written_locked("round_over").await, "the round's end was written under its lock");
}
