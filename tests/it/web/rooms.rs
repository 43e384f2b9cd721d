//! The chat page's rooms in a real browser, beside JSON clients over TCP: joining a room from the
//! list, its member list, unread counts for a room not shown, selecting it, its topic, leaving it.
//! Screenshots go under `target/e2e-artifacts/` as `chat-room-*.png`.

use serde_json::{Value, json};
use sockhub_store::testing::TestBackend;
use sockhub_store::{Backend, Role};

use super::browser::Browser;
use super::e2e::{PHONE, join, say};
use crate::support::{Client, Db, TestServer};

/// Whether the message row whose text is `arguments[0]` is on screen (not hidden with another
/// room): an expression, 'shown', 'hidden' or 'absent'.
const ROW_SHOWN_CALL: &str = "return ((text) => { const row = [...document.querySelectorAll('.messages .message')]\
    .find(r => r.querySelector('.text').textContent === text); \
    return row ? (row.hidden ? 'hidden' : 'shown') : 'absent'; })(arguments[0])";

/// A script: whether the member list shows exactly `names` (comma-separated, in order).
fn members_are(names: &str) -> String {
    format!(
        "return [...document.querySelectorAll('.people-list .person')].map(p => p.dataset.name).join(',') === {names:?};"
    )
}

async fn row(b: &Browser, text: &str) -> Value {
    b.js(ROW_SHOWN_CALL, vec![json!(text)]).await
}

/// The JSON client's next `ty` event whose `field` is `name`.
async fn next_with(c: &mut Client, ty: &str, field: &str, name: &str) -> Value {
    loop {
        let v = c.json_of(ty).await;
        if v[field] == name {
            return v;
        }
    }
}

/// The next `ty` event about `name` (a join, a leave).
async fn event_about(c: &mut Client, ty: &str, name: &str) -> Value {
    next_with(c, ty, "name", name).await
}

/// The next `ty` event from `name` (a message).
async fn from(c: &mut Client, ty: &str, name: &str) -> Value {
    next_with(c, ty, "from", name).await
}

#[tokio::test]
async fn the_page_joins_a_room_counts_its_unread_messages_shows_its_topic_and_leaves_it() {
    let backend = TestBackend { backend: Backend::Sqlite, base_url: None };
    let db = Db::with_account(&backend, "boss", "s3cret!", Role::Admin).await;
    let server = db.server(|_| {}).await;
    let b = Browser::start().await;
    join(&b, &server, "alice", None).await;
    b.wait_text(".room-list .room.selected .name", "#lobby").await;
    assert_eq!(b.texts(".room-list .room .name").await, ["#lobby"], "one room until another is joined");

    // Join #a from the list's form: it is selected, its members are just us, it has no topic.
    b.fill(".room-join input[name=room]", "#a").await;
    b.click(".room-join button[type=submit]").await;
    b.wait_visible(".room-list .room.selected[data-room=\"#a\"]").await;
    b.wait_js("the member list of #a to be alice alone", &members_are("alice"), vec![]).await;
    b.wait_text(".topic .topic-room", "#a").await;
    b.wait_text(".topic .topic-text", "No topic").await;
    b.screenshot("chat-room-joined").await;

    // Back to #lobby; a message in #a counts as unread there and is not shown in #lobby.
    b.click(".room-list .room[data-room=\"#lobby\"] .room-name").await;
    b.wait_visible(".room-list .room.selected[data-room=\"#lobby\"]").await;
    let mut bob = Client::chat_json(server.chat(), "bob").await;
    bob.send_json(json!({"type": "join", "room": "#a"})).await;
    let joined = event_about(&mut bob, "joined", "bob").await;
    assert_eq!(joined["room"], "#a", "{joined}");
    bob.send_json(json!({"type": "say", "room": "#a", "text": "news for #a only"})).await;
    b.wait_text(".room-list .room[data-room=\"#a\"] .unread", "1").await;
    assert_eq!(row(&b, "news for #a only").await, "hidden", "#a's message is not shown while #lobby is");
    bob.send_json(json!({"type": "say", "room": "#lobby", "text": "hello lobby"})).await;
    b.wait_js("the #lobby line to show", "return [...document.querySelectorAll('.messages .message .text')].some(t => t.textContent === 'hello lobby' && !t.parentElement.hidden);", vec![]).await;
    assert_eq!(
        b.texts(".room-list .room[data-room=\"#lobby\"] .unread").await,
        Vec::<String>::new(),
        "the room shown has nothing unread"
    );
    assert_eq!(b.texts(".room-list .room[data-room=\"#a\"] .unread").await, ["1"]);
    b.screenshot("chat-room-unread").await;

    // Selecting #a shows its message, clears its count, lists its members.
    b.click(".room-list .room[data-room=\"#a\"] .room-name").await;
    b.wait_js("#a's message to show", "return document.querySelector('.room-list .room.selected[data-room=\"#a\"]') && !document.querySelector('.room-list .room[data-room=\"#a\"] .unread');", vec![]).await;
    assert_eq!(row(&b, "news for #a only").await, "shown");
    assert_eq!(row(&b, "hello lobby").await, "hidden", "and #lobby's lines are not");
    b.wait_js("alice and bob in #a", &members_are("alice,bob"), vec![]).await;

    // What the page says goes to the room shown.
    say(&b, "reply in #a").await;
    let message = from(&mut bob, "message", "alice").await;
    assert_eq!(
        (message["room"].as_str(), message["text"].as_str()),
        (Some("#a"), Some("reply in #a")),
        "{message}"
    );

    // An admin sets the topic of #a: it is shown above the messages.
    let mut boss = Client::chat_login(server.chat(), "boss", "s3cret!").await;
    boss.send_json(json!({"type": "join", "room": "#a"})).await;
    event_about(&mut boss, "joined", "boss").await;
    boss.send_json(json!({"type": "topic", "room": "#a", "topic": "lab at 3"})).await;
    b.wait_text(".topic .topic-text", "lab at 3").await;
    b.wait_text(".messages .system", "boss set the topic: lab at 3").await;
    b.screenshot("chat-room-topic").await;
    b.resize(PHONE.0, PHONE.1).await;
    b.screenshot("chat-room-phone").await;
    b.resize(1280, 860).await;

    // Leave #a: it goes from the list, #lobby is shown again, the others see us leave.
    b.click(".room-list .room[data-room=\"#a\"] .leave").await;
    b.wait_js("#a to leave the list", "return !document.querySelector('.room-list .room[data-room=\"#a\"]') && !!document.querySelector('.room-list .room.selected[data-room=\"#lobby\"]');", vec![]).await;
    let left = event_about(&mut bob, "left", "alice").await;
    assert_eq!(left["room"], "#a", "{left}");
    b.wait_text(".messages .system", "You left #a").await;
    assert_eq!(row(&b, "hello lobby").await, "shown");

    b.close().await;
    server.stop().await;
    db.cleanup().await;
}

#[tokio::test]
async fn after_a_server_restart_the_page_is_back_in_its_rooms() {
    let dir = tempfile::tempdir().unwrap();
    // Ports out of the kernel's ephemeral range, so that they are still free for the restart.
    let mut config = crate::support::test_config(dir.path());
    (config.chat.port, config.web.port) = (crate::support::unused_port(), crate::support::unused_port());
    let server = TestServer::from_config(config.clone()).await;
    let chat = server.chat();
    let b = Browser::start().await;
    join(&b, &server, "alice", None).await;
    b.fill(".room-join input[name=room]", "#a").await;
    b.click(".room-join button[type=submit]").await;
    b.wait_visible(".room-list .room.selected[data-room=\"#a\"]").await;

    server.stop().await;
    b.wait_text(".messages .system", "Disconnected: server shutting down").await;
    let again = TestServer::from_config(config).await;

    // Logged in again (to #lobby), the page joins #a again and shows it, as before.
    b.wait_js(
        "a second welcome, then #a joined and shown again",
        "return [...document.querySelectorAll('.messages .system')].filter(e => e.textContent.includes('Welcome, alice!')).length === 2 \
         && [...document.querySelectorAll('.messages .system')].filter(e => e.textContent.includes('You joined #a')).length === 2 \
         && !!document.querySelector('.room-list .room.selected[data-room=\"#a\"]');",
        vec![],
    )
    .await;
    assert_eq!(b.texts(".room-list .room .name").await, ["#lobby", "#a"]);
    let mut bob = Client::chat_json(chat, "bob").await;
    bob.send_json(json!({"type": "join", "room": "#a"})).await;
    let joined = event_about(&mut bob, "joined", "bob").await;
    assert_eq!(joined["online"], 2, "alice is in #a on the new server: {joined}");
    b.wait_js("alice and bob in #a", &members_are("alice,bob"), vec![]).await;
    bob.send_json(json!({"type": "say", "room": "#a", "text": "still here?"})).await;
    b.wait_js("bob's line in #a", &format!("{ROW_SHOWN_CALL} === 'shown';"), vec![json!("still here?")])
        .await;
    b.close().await;
    again.stop().await;
}
