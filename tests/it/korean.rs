//! `[server] language = "ko"`: a Korean session over raw TCP, as `nc` users see it, for chat, quiz
//! and calc. Prompts, notices, errors and help are Korean; JSON keeps its `type` and `code` values
//! and carries a Korean `message`. One process runs an English and a Korean server side by side:
//! the language belongs to the server, not to the process.

use serde_json::json;
use sockhub_i18n::Lang;
use sockhub_server::config::RosterMode;

use crate::support::{Client, TestServer};

async fn korean() -> TestServer {
    TestServer::with(|c| {
        c.server.language = Lang::Ko;
        c.calc.roster = RosterMode::Open;
    })
    .await
}

/// `line` has Hangul in it.
fn hangul(line: &str) -> bool {
    line.chars().any(|c| ('\u{ac00}'..='\u{d7a3}').contains(&c))
}

#[tokio::test]
async fn a_korean_chat_session_over_tcp() {
    let (ko, en) = tokio::join!(korean(), TestServer::start());

    let mut minsu = Client::connect(ko.chat()).await;
    assert_eq!(
        minsu.line().await,
        "* sockhub 채팅에 오신 것을 환영합니다. 현재 0명 접속 중. 입장한 뒤 /help를 입력하면 명령 목록을 볼 수 있습니다."
    );
    assert_eq!(minsu.line().await, "* 이름을 입력하세요.");
    minsu.send("민수").await;
    assert_eq!(minsu.line().await, "* 어서와! 민수 (현재 1명 접속 중). /help로 명령 목록을 볼 수 있습니다.");

    // The English server next to it is untouched.
    let mut alice = Client::connect(en.chat()).await;
    alice.until("* Your name?").await;

    // The same name again: the original server's words.
    let mut again = Client::connect(ko.chat()).await;
    again.until("* 이름을 입력하세요.").await;
    again.send("민수").await;
    assert_eq!(
        again.line().await,
        "! name_taken: 등록된 사용자: \"민수\"님이 이미 접속해 있습니다. 다른 이름을 입력하세요"
    );
    assert_eq!(again.line().await, "* 이름을 입력하세요.");
    again.send("지수").await;
    again.until_prefix("* 어서와! 지수").await;
    assert_eq!(minsu.line().await, "[지수]접속 (현재 2명)");

    again.send("/춤").await;
    assert_eq!(
        again.line().await,
        "! unknown_command: 유효하지 않은 요청: /춤 명령은 없습니다. /help로 목록을 보세요"
    );
    again.send("/w").await;
    assert_eq!(again.line().await, "! bad_request: 사용법: /w name text");
    again.send("/help").await;
    let help = again.until_prefix("*   text").await;
    assert!(help.ends_with("모두에게 말하기"), "{help}");
    again.send("/who").await;
    assert_eq!(again.until_prefix("* 접속 중").await, "* 접속 중 2명: 민수, 지수");

    again.send("안녕하세요").await;
    assert_eq!(minsu.line().await, "[지수] 안녕하세요");
    assert_eq!(again.line().await, "[지수] 안녕하세요");

    // A JSON client of the Korean server: the same codes, Korean messages.
    let mut program = Client::connect(ko.chat()).await;
    program.send_json(json!({"type": "say", "text": "hi"})).await;
    let e = program.json().await;
    assert_eq!((e["type"].as_str(), e["code"].as_str()), (Some("error"), Some("not_logged_in")));
    assert_eq!(e["message"], "먼저 로그인하세요: 이름을 보내세요");
    program.send_json(json!({"type": "login", "name": "지수"})).await;
    let e = program.json().await;
    assert_eq!(e["code"], "name_taken");
    assert!(e["message"].as_str().unwrap().starts_with("등록된 사용자"), "{e}");
    program.send_json(json!({"type": "dance"})).await;
    let e = program.json().await;
    assert_eq!(e["code"], "unknown_command");
    assert!(hangul(e["message"].as_str().unwrap()), "{e}");

    again.send("q").await;
    assert_eq!(again.closed().await, ["* 연결 종료: 안녕히 가세요"]);
    assert_eq!(minsu.line().await, "[지수] 접속 종료 (현재 1명)");

    // Flood control and framing errors speak Korean too.
    minsu.send_raw(&[0xff, 0xfe, b'\n']).await;
    assert_eq!(minsu.line().await, "! invalid_utf8: UTF-8이 아닌 줄이라 버렸습니다");

    tokio::join!(ko.stop(), en.stop());
}

#[tokio::test]
async fn a_korean_quiz_session_over_tcp() {
    let server = korean().await;
    let mut p = Client::connect(server.addr("quiz")).await;
    let greeting = p.line().await;
    assert!(greeting.starts_with("* sockhub 퀴즈에 오신 것을 환영합니다."), "{greeting}");
    assert_eq!(p.line().await, "* 이름을 입력하세요.");
    p.send("/scores").await;
    let scores = p.line().await;
    assert!(scores.starts_with("* ") && scores.contains("라운드 점수 (0명"), "{scores}");
    p.send("민수").await;
    let welcome = p.until_prefix("* 어서와! 민수").await;
    assert!(welcome.contains("문제마다") && welcome.contains("안에 답하세요"), "{welcome}");
    p.send("/help").await;
    let line = p.until_prefix("*   /scores").await;
    assert!(line.ends_with("순위표 보기"), "{line}");
    p.send("/start").await;
    let e = p.until_prefix("! ").await;
    assert!(e.starts_with("! forbidden: ") || e.starts_with("! round_running: "), "{e}");
    assert!(hangul(&e), "{e}");

    // JSON: the codes of the English server, Korean messages.
    let mut program = Client::connect(server.addr("quiz")).await;
    program.send_json(json!({"type": "answer", "value": "36"})).await;
    let e = program.json().await;
    assert_eq!(e["code"], "not_logged_in");
    assert_eq!(e["message"], "먼저 로그인하세요: 이름을 보내세요");
    program.send_json(json!({"type": "login", "name": "민수"})).await;
    let e = program.json().await;
    assert_eq!(e["code"], "name_taken");
    assert!(e["message"].as_str().unwrap().starts_with("등록된 사용자"), "{e}");
    server.stop().await;
}

#[tokio::test]
async fn a_korean_calculator_session_over_tcp() {
    let server = korean().await;
    let mut s = Client::connect(server.calc()).await;
    let greeting = s.line().await;
    assert!(greeting.starts_with("* sockhub 제곱 계산기에 오신 것을 환영합니다."), "{greeting}");
    assert_eq!(s.line().await, "* 학번을 입력하세요.");
    s.send("minsu").await;
    assert_eq!(
        s.line().await,
        "! invalid_student_id: 학번은 숫자만 쓸 수 있습니다 (예: 20212086). 받은 값: \"minsu\""
    );
    s.send("20212086").await;
    assert_eq!(s.until_prefix("* 어서와!").await, "* 어서와! 학생 (20212086). 현재 1명 접속 중.");
    assert_eq!(s.line().await, "* 아직 결과가 없습니다.");
    assert_eq!(s.line().await, "* 숫자를 입력하면 제곱을 계산합니다. /help로 명령 목록을 볼 수 있습니다.");
    s.send("1,5").await;
    let e = s.line().await;
    assert!(e.starts_with("! invalid_number: 유효하지 않은 입력: \"1,5\"은(는) 숫자가 아닙니다."), "{e}");
    s.send("12").await;
    assert!(s.line().await.ends_with("12² = 144"));
    s.send("/history").await;
    assert_eq!(s.line().await, "* 최근 결과 1개 (아래가 최신):");

    let mut program = Client::connect(server.calc()).await;
    program.send_json(json!({"type": "square", "value": "3"})).await;
    let e = program.json().await;
    assert_eq!(e["code"], "not_logged_in");
    assert_eq!(e["message"], "먼저 로그인하세요: 학번을 보내세요");
    server.stop().await;
}
