//! End-to-end: the page in a real headless Chromium against a real server, with `nc`-style TCP
//! clients in the same room. Each test saves screenshots under `target/e2e-artifacts/`.

use serde_json::json;
use sockhub_store::Role;
use sockhub_store::testing::TestBackend;
use sockhub_store::Backend;

use super::browser::Browser;
use crate::support::{Client, Db, TestServer};

/// A phone-sized window (CSS px).
const PHONE: (u32, u32) = (390, 844);

fn page(server: &TestServer, hash: &str) -> String {
    format!("http://{}/#{hash}", server.web())
}

/// Join the chat from the page as `name` (with `password` for an account).
async fn join(b: &Browser, server: &TestServer, name: &str, password: Option<&str>) {
    b.goto(&page(server, "chat")).await;
    b.fill("form.login input[name=name]", name).await;
    if let Some(p) = password {
        b.fill("form.login input[name=password]", p).await;
    }
    b.click("form.login button[type=submit]").await;
    b.wait_visible(".composer .say").await;
    b.wait_text(".messages .system", &format!("Welcome, {name}!")).await;
}

async fn say(b: &Browser, text: &str) {
    b.fill(".composer .say", text).await;
    b.enter(".composer .say").await;
}

#[tokio::test]
async fn a_browser_user_and_a_tcp_user_chat_with_each_other() {
    let server = TestServer::start().await;
    let b = Browser::start().await;
    join(&b, &server, "alice", None).await;

    let mut bob = Client::chat_text(server.chat(), "bob").await;
    b.wait_text(".messages .system", "bob joined (2 online)").await;
    b.wait_text(".people-list .person", "bob").await;

    bob.send("hello from nc, 안녕하세요").await;
    b.wait_text(".messages .message .text", "hello from nc, 안녕하세요").await;
    let from = b.texts(".messages .message .from").await;
    assert_eq!(from.last().map(String::as_str), Some("bob"), "{from:?}");

    say(&b, "hi from the browser").await;
    bob.until("[alice] hi from the browser").await;
    b.wait_text(".messages .message.mine .text", "hi from the browser").await;
    b.screenshot("chat-desktop").await;

    b.resize(PHONE.0, PHONE.1).await;
    bob.send("a reply for the phone").await;
    b.wait_text(".messages .message .text", "a reply for the phone").await;
    b.screenshot("chat-phone").await;

    bob.send("q").await;
    b.wait_text(".messages .system", "bob left (1 online)").await;
    b.close().await;
    server.stop().await;
}

#[tokio::test]
async fn markup_in_messages_stays_text() {
    let server = TestServer::start().await;
    let b = Browser::start().await;
    join(&b, &server, "alice", None).await;
    let mut mallory = Client::chat_json(server.chat(), "mallory").await;
    let attacks = [
        "<script>window.__pwned = 1</script>",
        "<img src=x onerror=\"window.__pwned = 2\">",
        "<b>bold?</b> &amp; &lt;",
    ];
    for text in attacks {
        mallory.send_json(json!({"type": "say", "text": text})).await;
    }
    mallory.send_json(json!({"type": "whisper", "to": "alice", "text": "<img src=y onerror=\"window.__pwned = 3\">"})).await;
    b.wait_text(".messages .whisper .text", "<img src=y").await;
    let shown = b.texts(".messages .message .text").await;
    for text in attacks {
        assert!(shown.iter().any(|s| s == text), "{text:?} is shown as typed: {shown:?}");
    }
    let harmless = b
        .js(
            "return window.__pwned === undefined && !document.querySelector('.messages img, .messages script, .messages b');",
            vec![],
        )
        .await;
    assert_eq!(harmless, json!(true), "no markup from a message became an element or ran");
    b.screenshot("chat-markup-as-text").await;
    b.close().await;
    server.stop().await;
}

#[tokio::test]
async fn a_whisper_reaches_only_its_target_and_clicking_it_replies() {
    let server = TestServer::start().await;
    let b = Browser::start().await;
    join(&b, &server, "alice", None).await;
    let mut bob = Client::chat_text(server.chat(), "bob").await;
    let mut carol = Client::chat_text(server.chat(), "carol").await;
    bob.until("[carol] joined (3 online)").await;
    b.wait_text(".messages .system", "carol joined (3 online)").await;

    bob.send("/w alice are you there?").await;
    bob.until(">>> [to alice] are you there?").await;
    b.wait_text(".messages .whisper.in .text", "are you there?").await;
    assert_eq!(b.texts(".messages .whisper.in .mark").await, ["<<<"]);
    assert_eq!(b.texts(".messages .whisper.in .from").await, ["[from bob]"]);
    let colour = b
        .js(
            "const w = getComputedStyle(document.querySelector('.messages .whisper.in')).color; \
             const m = getComputedStyle(document.querySelector('.messages .system')).color; return [w, m];",
            vec![],
        )
        .await;
    assert_ne!(colour[0], colour[1], "whispers have their own colour: {colour}");

    b.click(".messages .whisper.in").await;
    b.wait_text(".reply-chip", "Whispering to bob").await;
    b.screenshot("chat-reply-mode").await;
    say(&b, "yes, just for you").await;
    bob.until("<<< [from alice] yes, just for you").await;
    b.wait_text(".messages .whisper.out .text", "yes, just for you").await;
    assert_eq!(b.texts(".messages .whisper.out .mark").await, [">>>"]);
    assert_eq!(b.texts(".messages .whisper.out .from").await, ["[to bob]"]);

    // Esc leaves reply mode: the next line is public again.
    b.enter(".composer .say").await;
    b.client.find(fantoccini::Locator::Css(".composer .say")).await.unwrap().send_keys("\u{E00C}").await.unwrap();
    b.wait_js("reply mode to end", "return document.querySelector('.reply-chip').hidden;", vec![]).await;
    say(&b, "back to everyone").await;
    carol.until("[alice] back to everyone").await;
    let carol_saw = carol.silent_or_lines(std::time::Duration::from_millis(300)).await;
    assert!(carol_saw.is_empty(), "{carol_saw:?}");
    bob.until("[alice] back to everyone").await;

    b.close().await;
    server.stop().await;
}

#[tokio::test]
async fn an_admin_kicks_a_user_from_the_online_list() {
    let backend = TestBackend { backend: Backend::Sqlite, base_url: None };
    let db = Db::with_account(&backend, "boss", "s3cret!", Role::Admin).await;
    let server = db.server(|_| {}).await;
    let b = Browser::start().await;
    join(&b, &server, "boss", Some("s3cret!")).await;
    b.wait_text(".panel-head .badge", "admin").await;

    let mut mallory = Client::chat_text(server.chat(), "mallory").await;
    let row = ".people-list .person[data-name=\"mallory\"]";
    b.wait_visible(row).await;
    b.screenshot("chat-admin-tools").await;
    b.click(&format!("{row} button.danger")).await;
    b.fill("#dialog input[name=reason]", "spamming").await;
    b.screenshot("chat-kick-dialog").await;
    b.click("#dialog button[type=submit]").await;

    let rest = mallory.closed().await;
    assert!(rest.contains(&"* mallory was kicked by boss: spamming".to_owned()), "{rest:?}");
    assert_eq!(rest.last().map(String::as_str), Some("* bye: kicked by boss: spamming"));
    b.wait_text(".messages .system.mod", "mallory was kicked by boss: spamming").await;
    b.wait_js(
        "mallory to leave the list",
        "return !document.querySelector('.people-list .person[data-name=\"mallory\"]');",
        vec![],
    )
    .await;
    b.close().await;
    server.stop().await;
    db.cleanup().await;
}
