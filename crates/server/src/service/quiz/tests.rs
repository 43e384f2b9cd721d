//! Session-level tests of the quiz player's rules, on the [`crate::testing`] harness: a wrong
//! answer brings the same problem back, a right one adds to the sum, and an answer taken in before
//! the deadline keeps the deadline scheduler off its question — judged by the real round and
//! store, no sockets.

use serde_json::json;
use sockhub_proto::Mode;
use sockhub_proto::problem::Problem;

use crate::testing::Harness;

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
