//! The page in Korean, in a real headless Chromium: the language switch (remembered across a
//! reload), the page's own words from the server's Fluent messages (`/api/i18n/ko`), and a chat
//! with an `nc`-style user on a Korean server. Screenshots go to `target/e2e-artifacts/`.

use sockhub_i18n::Lang;

use super::browser::Browser;
use crate::support::{Client, TestServer};

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
