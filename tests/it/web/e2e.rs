//! End-to-end: the page in a real headless Chromium against a real server, with `nc`-style TCP
//! clients in the same room. Each test saves screenshots under `target/e2e-artifacts/`.

use serde_json::json;
use sockhub_store::Backend;
use sockhub_store::Role;
use sockhub_store::testing::TestBackend;

use super::browser::Browser;
use crate::support::{Client, Db, TestServer};

/// A phone-sized window (CSS px).
pub(super) const PHONE: (u32, u32) = (390, 844);

pub(super) fn page(server: &TestServer, hash: &str) -> String {
    format!("http://{}/#{hash}", server.web())
}

/// Join the chat from the page as `name` (with `password` for an account).
pub(super) async fn join(b: &Browser, server: &TestServer, name: &str, password: Option<&str>) {
    b.goto(&page(server, "chat")).await;
    b.fill("form.login input[name=name]", name).await;
    if let Some(p) = password {
        b.fill("form.login input[name=password]", p).await;
    }
    b.click("form.login button[type=submit]").await;
    b.wait_visible(".composer .say").await;
    b.wait_text(".messages .system", &format!("Welcome, {name}!")).await;
}

/// Log in on the Admin tab as `boss` (password `s3cret!`).
async fn admin_login(b: &Browser, server: &TestServer) {
    b.goto(&page(server, "admin")).await;
    b.fill("form.login input[name=name]", "boss").await;
    b.fill("form.login input[name=password]", "s3cret!").await;
    b.click("form.login button[type=submit]").await;
    b.wait_text(".admin-head", "signed in as boss").await;
}

pub(super) async fn say(b: &Browser, text: &str) {
    b.fill(".composer .say", text).await;
    b.enter(".composer .say").await;
}

#[tokio::test]
async fn a_browser_user_and_a_tcp_user_chat_with_each_other() {
    let server = TestServer::start().await;
    let mut early = Client::chat_text(server.chat(), "early").await;
    early.send("said before alice came").await;
    early.until("[early] said before alice came").await;
    early.send("q").await;
    early.closed().await;
    let b = Browser::start().await;
    join(&b, &server, "alice", None).await;
    b.wait_text(".messages .message.history .text", "said before alice came").await;
    b.wait_text(".messages .divider", "earlier messages").await;

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
    mallory
        .send_json(
            json!({"type": "whisper", "to": "alice", "text": "<img src=y onerror=\"window.__pwned = 3\">"}),
        )
        .await;
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
    b.client
        .find(fantoccini::Locator::Css(".composer .say"))
        .await
        .unwrap()
        .send_keys("\u{E00C}")
        .await
        .unwrap();
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
    b.resize(PHONE.0, PHONE.1).await;
    b.screenshot("chat-admin-phone").await;
    b.resize(1280, 860).await;
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

#[tokio::test]
async fn the_page_rejoins_by_itself_when_the_server_restarts() {
    let dir = tempfile::tempdir().unwrap();
    // Ports out of the kernel's ephemeral range, so that they are still free for the restart.
    let mut config = crate::support::test_config(dir.path());
    (config.chat.port, config.web.port) = (crate::support::unused_port(), crate::support::unused_port());
    let server = TestServer::from_config(config.clone()).await;
    let chat = server.chat();
    let b = Browser::start().await;
    b.goto(&page(&server, "chat")).await;
    b.screenshot("chat-login").await;
    join(&b, &server, "alice", None).await;
    say(&b, "before the restart").await;
    b.wait_text(".messages .message .text", "before the restart").await;

    server.stop().await;
    b.wait_text(".messages .system", "Disconnected: server shutting down").await;
    b.wait_js(
        "the status to say so",
        "return document.getElementById('conn').dataset.state !== 'online';",
        vec![],
    )
    .await;
    b.screenshot("chat-reconnecting").await;

    let again = TestServer::from_config(config).await;
    b.wait_js(
        "a second welcome",
        "return [...document.querySelectorAll('.messages .system')].filter(e => e.textContent.includes('Welcome, alice!')).length === 2;",
        vec![],
    )
    .await;
    let mut bob = Client::chat_text(chat, "bob").await;
    bob.send("welcome back").await;
    b.wait_text(".messages .message .text", "welcome back").await;
    let before = b.texts(".messages .message .text").await;
    assert_eq!(
        before.iter().filter(|t| *t == "before the restart").count(),
        1,
        "the history sent on rejoining is not shown twice: {before:?}"
    );
    b.close().await;
    again.stop().await;
}

#[tokio::test]
async fn the_admin_page_manages_accounts_and_shows_logins_and_moderation() {
    let backend = TestBackend { backend: Backend::Sqlite, base_url: None };
    let db = Db::with_account(&backend, "boss", "s3cret!", Role::Admin).await;
    let server = db.server(|_| {}).await;
    let mut mallory = Client::chat_text(server.chat(), "mallory").await;
    let _bob = Client::chat_text(server.chat(), "bob").await;
    mallory.until("[bob] joined (2 online)").await;

    let b = Browser::start().await;
    b.goto(&page(&server, "admin")).await;
    b.fill("form.login input[name=name]", "boss").await;
    b.fill("form.login input[name=password]", "wrong").await;
    b.click("form.login button[type=submit]").await;
    b.wait_text("form.login .error", "wrong name or password").await;
    b.fill("form.login input[name=password]", "s3cret!").await;
    b.click("form.login button[type=submit]").await;
    b.wait_text(".admin-head", "signed in as boss").await;

    // Online now, with moderation.
    b.wait_text(".online-grid .person .name", "mallory").await;
    b.click(".online-grid .person[data-name=\"mallory\"] button.ghost").await; // Mute
    b.fill("#dialog input[name=minutes]", "5").await;
    b.fill("#dialog input[name=reason]", "cool down").await;
    b.click("#dialog button[type=submit]").await;
    while !mallory.line().await.starts_with("* mallory was muted by boss until") {}
    b.wait_text(".online-grid .muted-tag", "muted until").await;
    mallory.send("can I talk?").await;
    let refused = mallory.line().await;
    assert!(refused.starts_with("! muted: you are muted until"), "{refused}");

    // Accounts: add one, make it an admin.
    b.fill(".inline-form input[name=name]", "김철수").await;
    b.fill(".inline-form input[name=password]", "pw123456").await;
    b.fill(".inline-form input[name=student_id]", "20231234").await;
    b.click(".inline-form button[type=submit]").await;
    b.wait_text(".table td", "김철수").await;
    Client::chat_login(server.chat(), "김철수", "pw123456").await;

    // The day's logins include the web login, the failed one and the chat logins.
    b.click("#admin-moderation .panel-head button").await;
    b.wait_text(".table td", "cool down").await;
    b.js("document.querySelector('input[type=date]').dispatchEvent(new Event('change'));", vec![]).await;
    b.wait_text(".table td", "failure").await;
    b.wait_text(".table td", "web").await;
    b.screenshot("admin-desktop").await;
    b.resize(PHONE.0, PHONE.1).await;
    b.screenshot("admin-phone").await;

    // Kick from the admin page.
    b.resize(1280, 860).await;
    b.click(".online-grid .person[data-name=\"mallory\"] button.danger").await;
    b.click("#dialog button[type=submit]").await;
    let rest = mallory.closed().await;
    assert_eq!(rest.last().map(String::as_str), Some("* bye: kicked by boss"), "{rest:?}");
    b.wait_js(
        "mallory to leave the online list",
        "return !document.querySelector('.online-grid .person[data-name=\"mallory\"]');",
        vec![],
    )
    .await;
    b.close().await;
    server.stop().await;
    db.cleanup().await;
}

/// The raw problem on the page (`data-problem`), once a question is open.
async fn open_problem(b: &Browser) -> (sockhub_proto::problem::Problem, String) {
    let text = b
        .wait_js(
            "a question",
            "const p = document.querySelector('.problem:not(.idle) .problem-text'); return p && p.dataset.problem;",
            vec![],
        )
        .await;
    let text = text.as_str().unwrap().to_owned();
    (sockhub_proto::problem::Problem::parse(&text).expect("a problem the page shows parses"), text)
}

#[tokio::test]
async fn a_quiz_problem_is_answered_in_the_page() {
    const ROUND: std::time::Duration = std::time::Duration::from_secs(12);
    let server = TestServer::with(|c| {
        c.quiz.duration_secs = ROUND.as_secs();
        c.quiz.pause_secs = [0.0, 0.2];
        c.quiz.answer_secs = 5.0;
    })
    .await;
    let b = Browser::start().await;
    b.goto(&page(&server, "quiz")).await;
    b.fill("form.login input[name=name]", "alice").await;
    b.click("form.login button[type=submit]").await;
    b.wait_text(".quiz-head", "Round 1").await;
    // The round started before this: it is over by `ROUND` from now.
    let round_over_by = tokio::time::Instant::now() + ROUND;

    // A TCP player in the same round, answering right once.
    let mut bob = Client::connect(server.addr("quiz")).await;
    bob.send_json(json!({"type": "login", "name": "bob"})).await;
    let q = bob.json_of("question").await;
    let answer = sockhub_proto::problem::Problem::parse(q["text"].as_str().unwrap()).unwrap().answer();
    bob.send_json(json!({"type": "answer", "id": q["id"], "value": answer})).await;
    assert_eq!(bob.json_of("verdict").await["result"], "correct");

    // A wrong answer: the verdict says so, and the same problem comes back.
    let (problem, text) = open_problem(&b).await;
    b.fill(".answer", &(problem.answer() + 1).to_string()).await;
    b.enter(".answer").await;
    b.wait_text(".verdict-title.bad", "Wrong").await;
    b.wait_text(".problem-meta", "asked 2 times").await;
    assert_eq!(open_problem(&b).await.1, text, "the same problem is asked again");
    // The right answer: the sum grows by the problem's value; the server's times are shown.
    b.fill(".answer", &problem.answer().to_string()).await;
    b.enter(".answer").await;
    b.wait_text(".verdict-title.ok", "Correct").await;
    b.wait_text(".stat.sum .value", &problem.answer().to_string()).await;
    let times = b.texts(".verdict .times dd").await;
    assert_eq!(times.len(), 3, "{times:?}");
    assert!(times[2].ends_with("of 5.00 s"), "{times:?}");
    b.wait_text(".leaderboard .who", "bob").await;
    b.wait_text(".leaderboard .who", "alice").await;
    b.screenshot("quiz-desktop").await;
    b.resize(PHONE.0, PHONE.1).await;
    b.screenshot("quiz-phone").await;
    b.resize(1280, 860).await;

    // The round ends: the final leaderboard and the player's place. The steps above may take
    // less than the round's length less the wait's patience: wait out the round first.
    tokio::time::sleep_until(round_over_by).await;
    b.wait_text(".final h2", "Round 1 is over").await;
    b.wait_text(".final .place", "of 2 with a sum of").await;
    assert_eq!(b.texts(".final-board li .who").await.len(), 2);
    b.screenshot("quiz-round-over").await;
    b.close().await;
    server.stop().await;
}

#[tokio::test]
async fn the_admin_page_starts_a_quiz_round_and_exports_it() {
    let backend = TestBackend { backend: Backend::Sqlite, base_url: None };
    let db = Db::with_account(&backend, "boss", "s3cret!", Role::Admin).await;
    let server = db
        .server(|c| {
            c.quiz.start = sockhub_server::config::QuizStart::Manual;
            c.quiz.duration_secs = 3;
            c.quiz.pause_secs = [0.0, 0.1];
        })
        .await;
    let mut bob = Client::connect(server.addr("quiz")).await;
    bob.send_json(json!({"type": "login", "name": "bob"})).await;
    assert_eq!(bob.json_of("welcome").await["state"], "waiting");

    let b = Browser::start().await;
    admin_login(&b, &server).await;
    b.wait_text(".online-grid .names li", "bob").await;
    b.click("#admin-quiz .panel-head button.primary").await;

    let q = bob.json_of("question").await;
    let answer = sockhub_proto::problem::Problem::parse(q["text"].as_str().unwrap()).unwrap().answer();
    bob.send_json(json!({"type": "answer", "id": q["id"], "value": answer})).await;
    assert_eq!(bob.json_of("verdict").await["result"], "correct");
    bob.json_of("round_over").await;

    b.wait_text("#admin-quiz td", &format!("bob ({answer})")).await;
    b.click("#admin-quiz td button").await;
    b.wait_text(".round-results td", "bob").await;
    b.screenshot("admin-quiz").await;
    let csv = b
        .client
        .execute_async(
            "fetch('/api/quiz/export.csv?round=1').then(r => r.text()).then(arguments[0]);",
            vec![],
        )
        .await
        .unwrap();
    let csv = csv.as_str().unwrap();
    assert!(csv.starts_with(&sockhub_server::export::QUIZ_ATTEMPT_HEADERS.join(",")), "{csv}");
    assert!(csv.lines().any(|l| l.starts_with("1,bob,1,1,") && l.contains(",correct,")), "{csv}");
    b.close().await;
    server.stop().await;
    db.cleanup().await;
}

#[tokio::test]
async fn a_calculator_result_reaches_a_second_browser() {
    let backend = TestBackend { backend: Backend::Sqlite, base_url: None };
    let db = Db::create(&backend).await;
    let student = |id: &str, name: &str, dept: &str| sockhub_store::Student {
        student_id: id.into(),
        name: name.into(),
        department: dept.into(),
        email: None,
    };
    let roster = [student("20212086", "김민수", "컴퓨터공학과"), student("20212087", "이영희", "전자공학과")];
    db.store.calc().import_students(&roster, Default::default()).await.unwrap();
    let server = db.server(|_| {}).await;

    let (minsu, younghee) = tokio::join!(Browser::start(), Browser::start());
    for (b, id) in [(&minsu, "20212086"), (&younghee, "20212087")] {
        b.goto(&page(&server, "calc")).await;
        b.fill("form.login input[name=name]", id).await;
        b.click("form.login button[type=submit]").await;
        b.wait_visible(".square-form .number").await;
    }
    minsu.wait_text(".student-name", "김민수").await;
    minsu.wait_text(".student .muted", "20212086 · 컴퓨터공학과").await;

    minsu.fill(".square-form .number", "-1.5").await;
    minsu.enter(".square-form .number").await;
    minsu.wait_text(".history-list .eq", "(-1.5)² = 2.25").await;
    younghee.wait_text(".feed li", "20212086 김민수").await;
    younghee.wait_text(".feed .eq", "(-1.5)² = 2.25").await;

    let big = "12345678901234567890".repeat(3);
    younghee.fill(".square-form .number", &big).await;
    younghee.enter(".square-form .number").await;
    minsu.wait_text(".feed .eq", &format!("{big}² = ")).await;
    younghee.wait_text(".feed li.mine .eq", &big).await;
    minsu.fill(".square-form .number", "twelve").await;
    minsu.enter(".square-form .number").await;
    minsu
        .wait_js("an error", "return document.querySelector('.calc-status.error')?.textContent;", vec![])
        .await;
    minsu.screenshot("calc-desktop").await;
    younghee.resize(PHONE.0, PHONE.1).await;
    younghee.screenshot("calc-phone").await;

    // History persists: a fresh page (a new connection) logs in and finds the result.
    minsu.client.refresh().await.unwrap();
    minsu.fill("form.login input[name=name]", "20212086").await;
    minsu.click("form.login button[type=submit]").await;
    minsu.wait_text(".history-list .eq", "(-1.5)² = 2.25").await;

    minsu.close().await;
    younghee.close().await;
    server.stop().await;
    db.cleanup().await;
}

#[tokio::test]
async fn a_held_relay_record_is_resent_from_the_review_table() {
    use crate::relay::{Node, eventually, send};
    // Server2 refuses long records at first, so Server1 holds one.
    let mut s2 = Node::start(None, |c| c.relay.max_payload_bytes = 40).await;
    let s2_port = s2.addr().port();
    let s1 = Node::start(Some(s2.addr()), |c| c.relay.max_attempts = 3).await;
    crate::support::add_account(&s1.store, "boss", "s3cret!", Role::Admin).await;
    let mut payloads: Vec<String> = (1..=30).map(|i| format!("pressure {i} kPa")).collect();
    payloads[6] = format!("ALARM pressure high: {}", "9".repeat(40)); // seq 7
    assert!(send(s1.addr(), "pump-1", payloads, 1).await.complete());
    eventually("seq 7 is held", || async { s1.counters("pump-1").await.held == 1 }).await;
    eventually("the rest is forwarded", || async { s1.counters("pump-1").await.forwarded == 29 }).await;

    // Server2 comes back with room for it; the operator reviews and re-sends.
    s2.stop().await;
    s2.config.relay.max_payload_bytes = 4096;
    s2.restart(s2_port).await;
    let server = s1.server.as_ref().unwrap();
    let b = Browser::start().await;
    admin_login(&b, server).await;
    b.goto(&page(server, "relay")).await;
    b.wait_text("#relay-records td", "ALARM pressure high").await;
    b.wait_text(".relay .table td", "pump-1").await;
    b.fill(".filters input[name=text]", "alarm").await;
    b.click(".filters button[type=submit]").await;
    b.wait_js(
        "one held record",
        "return document.querySelectorAll('#relay-records tbody tr').length === 1;",
        vec![],
    )
    .await;
    b.wait_text(".legend .key", "Received").await;
    b.screenshot("relay-held").await;

    b.click("#relay-records tbody input[type=checkbox]").await;
    b.wait_text("#relay-records .panel-head button", "Re-send 1 selected").await;
    b.click("#relay-records .panel-head button.primary").await;
    eventually("seq 7 is forwarded", || async { s1.counters("pump-1").await.forwarded == 30 }).await;
    b.wait_text("#relay-records", "No records match.").await;
    let s2_rows = s2.records(None).await;
    assert!(s2_rows.iter().any(|r| r.seq == 7 && r.payload.starts_with("ALARM")), "Server2 has it now");
    let again = s1
        .store
        .relay()
        .list(&sockhub_store::RelayFilter { seqs: Some((7, 7)), ..Default::default() })
        .await
        .unwrap();
    assert_eq!((again[0].state, again[0].resends), (sockhub_store::RelayState::Forwarded, 1));
    b.screenshot("relay-after-resend").await;
    b.resize(PHONE.0, PHONE.1).await;
    b.screenshot("relay-phone").await;
    b.close().await;
}

#[tokio::test]
async fn the_admin_page_bans_a_user_and_lifts_the_ban() {
    let backend = TestBackend { backend: Backend::Sqlite, base_url: None };
    let db = Db::with_account(&backend, "boss", "s3cret!", Role::Admin).await;
    let server = db.server(|_| {}).await;
    let mut bob = Client::chat_text(server.chat(), "bob").await;

    let b = Browser::start().await;
    admin_login(&b, &server).await;
    b.wait_text("#admin-bans .empty", "No one is banned.").await;
    b.fill(".ban-form input[name=name]", "bob").await;
    b.fill(".ban-form input[name=duration]", "2h").await;
    b.fill(".ban-form input[name=reason]", "spamming").await;
    b.click(".ban-form button[type=submit]").await;
    let rest = bob.closed().await;
    assert!(rest.iter().any(|l| l.starts_with("! banned: you are banned for 2h more")), "{rest:?}");
    b.wait_text("#admin-bans .ban-row", "spamming").await;
    b.screenshot("admin-bans").await;
    let mut e = Client::connect(server.chat()).await;
    e.send_json(json!({"type": "login", "name": "bob"})).await;
    assert_eq!(e.json().await["code"], "banned");

    b.click("#admin-bans .ban-row[data-name=\"bob\"] button").await;
    b.wait_text("#admin-bans .empty", "No one is banned.").await;
    b.click("#admin-moderation .panel-head button").await;
    b.wait_text("#admin-moderation td", "unban").await;
    Client::chat_text(server.chat(), "bob").await;
    b.close().await;
    server.stop().await;
    db.cleanup().await;
}
