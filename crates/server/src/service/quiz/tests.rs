//! Session-level tests of the quiz player's rules, on the [`crate::testing`] harness: a wrong
//! answer brings the same problem back, a right one adds to the sum — judged by the real round
//! and store, no sockets.

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
