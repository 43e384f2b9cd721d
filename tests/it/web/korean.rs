//! The page in Korean, in a real headless Chromium: the language switch (remembered across a
//! reload), the page's own words from the server's Fluent messages (`/api/i18n/ko`), and a chat
//! with an `nc`-style user on a Korean server, and every tab of the page as an admin sees it.
//! Screenshots go to `target/e2e-artifacts/`.

use sockhub_i18n::Lang;
use sockhub_store::testing::TestBackend;
use sockhub_store::{Backend, Role};

use super::browser::Browser;
use crate::support::{Client, Db, TestServer};

#[tokio::test]
async fn the_page_speaks_korean_after_the_switch_and_remembers_it() {
    let server = TestServer::with(|c| c.server.language = Lang::Ko).await;
    let b = Browser::start().await;
    let page = format!("http://{}/#chat", server.web());
    b.goto(&page).await;
    // The browser says en-US: English first.
    b.wait_text("#tabs a", "Chat").await;
    b.wait_text("form.login h1", "Join the chat").await;

    b.click(".langs button[data-lang=ko]").await;
    b.wait_text("#tabs a", "채팅").await;
    b.wait_text("form.login h1", "채팅 입장").await;
    assert_eq!(b.js("return document.documentElement.lang;", vec![]).await, "ko");
    // Remembered: a fresh visit stays Korean.
    b.goto(&format!("http://{}/#calc", server.web())).await;
    b.wait_text("#tabs a", "계산기").await;
    b.goto(&page).await;

    let mut nc = Client::chat_text_in(server.chat(), "지수", "* 이름을 입력하세요.").await;
    b.fill("form.login input[name=name]", "민수").await;
    b.click("form.login button[type=submit]").await;
    b.wait_text(".messages .system", "어서와! 민수").await;
    b.wait_text(".composer button[type=submit]", "보내기").await;
    assert_eq!(nc.line().await, "[민수]접속 (현재 2명)");
    nc.send("안녕하세요").await;
    b.wait_text(".messages .message .text", "안녕하세요").await;
    nc.send("q").await;
    b.wait_text(".messages .system", "[지수] 접속 종료 (현재 1명)").await;
    b.screenshot("chat-korean").await;

    // And back to English.
    b.click(".langs button[data-lang=en]").await;
    b.wait_text("#tabs a", "Chat").await;
    b.close().await;
    server.stop().await;
}

/// Every tab in Korean, as an admin: each view's own words (headings, buttons, empty lists,
/// the chat header's "as", the moderation tools) come from `/api/i18n/ko`, and the API's errors
/// shown on the page are Korean too. A screenshot per tab.
#[tokio::test]
async fn every_tab_speaks_korean_for_an_admin() {
    let backend = TestBackend { backend: Backend::Sqlite, base_url: None };
    let db = Db::with_account(&backend, "boss", "s3cret!", Role::Admin).await;
    let minsu = sockhub_store::Student {
        student_id: "20212086".into(),
        name: "김민수".into(),
        department: "컴퓨터공학과".into(),
        email: None,
    };
    db.store.calc().import_students(&[minsu], Default::default()).await.unwrap();
    let server = db.server(|c| c.server.language = Lang::Ko).await;
    let b = Browser::start().await;
    let page = |hash: &str| format!("http://{}/#{hash}", server.web());

    // Admin: the login form, a refused login (the API's message, in Korean), then the page.
    b.goto(&page("admin")).await;
    b.wait_text("form.login h1", "Admin login").await;
    b.click(".langs button[data-lang=ko]").await;
    b.wait_text("form.login h1", "관리자 로그인").await;
    b.fill("form.login input[name=name]", "boss").await;
    b.fill("form.login input[name=password]", "wrong!").await;
    b.click("form.login button[type=submit]").await;
    b.wait_text("form.login .error", "이름 또는 비밀번호가 틀렸습니다").await;
    b.fill("form.login input[name=password]", "s3cret!").await;
    b.click("form.login button[type=submit]").await;
    b.wait_text(".admin-head", "boss(으)로 로그인함").await;
    b.wait_text(".admin-head button", "로그아웃").await;
    b.wait_text("#admin-online h2", "지금 접속 중").await;
    b.wait_text("#admin-bans .empty", "접속 차단된 사용자가 없습니다.").await;
    b.wait_text("#admin-bans button[type=submit]", "접속 차단").await;
    b.wait_text("#admin-accounts th", "역할").await;
    b.wait_text("#admin-accounts option", "관리자").await;
    b.wait_text("#admin-moderation .empty", "아직 강퇴, 채팅 금지, 해제, 접속 차단 기록이 없습니다.").await;
    b.wait_text("#admin-calc .button", "CSV 내려받기").await;
    // A dialog: a new password for an account.
    b.click("#admin-accounts .tools button.ghost").await;
    b.wait_text("#dialog h2", "boss님의 새 비밀번호").await;
    b.wait_text("#dialog button", "취소").await;
    b.screenshot("korean-admin").await;
    b.click("#dialog button.ghost").await;

    // Chat, with someone to moderate.
    let _jisu = Client::chat_text_in(server.chat(), "지수", "* 이름을 입력하세요.").await;
    b.goto(&page("chat")).await;
    b.fill("form.login input[name=name]", "boss").await;
    b.fill("form.login input[name=password]", "s3cret!").await;
    b.click("form.login button[type=submit]").await;
    b.wait_text(".messages .system", "어서와! boss").await;
    b.wait_text(".panel-head .me", "boss(으)로 참여 중").await;
    b.wait_text(".panel-head .badge", "관리자").await;
    b.wait_text(".people-list .person .tools", "강퇴").await;
    b.wait_text(".people-list .person .tools", "채팅 금지").await;
    let you = b
        .js(
            "return getComputedStyle(document.querySelector('.person.self .name'), '::after').content;",
            vec![],
        )
        .await;
    assert_eq!(you, "\" (나)\"");
    b.fill(".composer .say", "/nope").await;
    b.enter(".composer .say").await;
    b.wait_text(".messages .system.error", "사용할 수 있는 명령").await;
    b.screenshot("korean-chat").await;

    // Quiz.
    b.goto(&page("quiz")).await;
    b.wait_text("form.login h1", "퀴즈 참가").await;
    b.fill("form.login input[name=name]", "민수").await;
    b.click("form.login button[type=submit]").await;
    b.wait_text(".quiz-head h1", "퀴즈").await;
    b.wait_text(".quiz-head .me", "민수(으)로 참여 중").await;
    b.wait_text(".quiz .panel-head h2", "순위표").await;
    b.wait_text(".stat .label", "합계").await;
    b.wait_text(".answer-row button", "답하기").await;
    b.screenshot("korean-quiz").await;

    // Calculator.
    b.goto(&page("calc")).await;
    b.wait_text("form.login h1", "제곱 계산기").await;
    b.wait_text("form.login button[type=submit]", "로그인").await;
    b.fill("form.login input[name=name]", "20212086").await;
    b.click("form.login button[type=submit]").await;
    b.wait_text(".student-name", "김민수").await;
    b.wait_text(".square-form button", "제곱").await;
    b.wait_text(".calc-status", "어서 오세요, 김민수님!").await;
    b.wait_text(".calc-feed .count", "명 접속 중").await;
    b.screenshot("korean-calc").await;

    // Relay review.
    b.goto(&page("relay")).await;
    b.wait_text(".relay .panel-head h2", "중계").await;
    b.wait_text("#relay-records .panel-head button", "선택한 기록 재전송").await;
    b.wait_text(".filters option", "보류").await;
    b.wait_text(".filters button", "필터").await;
    b.wait_text("#relay-records", "조건에 맞는 기록이 없습니다.").await;
    b.wait_text(".relay .kpi .label", "다음 노드").await;
    b.wait_text(".legend .key", "받음").await;
    b.screenshot("korean-relay").await;

    b.close().await;
    server.stop().await;
    db.cleanup().await;
}
