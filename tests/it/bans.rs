//! Bans over real sockets: an admin bans in text mode, in JSON, over the web API or with
//! `sockhub user ban`; the banned user is disconnected at once from every service and refused at
//! login with `banned` and the time left, under a look-alike name too, and from the banned
//! address under any name; a ban expires, is lifted, survives a restart, and crosses nodes.

use serde_json::{Value, json};
use sockhub_store::testing::backends;
use sockhub_store::{ModerationAction, ModerationFilter, Role};
use std::net::IpAddr;

use crate::cluster::{Cluster, Nats, enter, one_backend};
use crate::support::{Client, Db, add_account, config_file_for, eventually, run_sockhub};
use crate::web::api::{login_cookie, request};
use crate::web::ws::Ws;

/// Try to enter the chat in text mode as `name`; the refusal line (the prompt comes after it).
async fn refused_text(c: &mut Client, name: &str) -> String {
    c.send(name).await;
    let refusal = c.line().await;
    assert_eq!(c.line().await, "* Your name?", "asked again after {refusal}");
    refusal
}

/// A JSON chat login as `name` (from `from`, if given): the first reply.
async fn json_login(addr: std::net::SocketAddr, from: Option<IpAddr>, name: &str) -> Value {
    let mut c = match from {
        Some(ip) => Client::connect_from(ip, addr).await,
        None => Client::connect(addr).await,
    };
    c.send_json(json!({"type": "login", "name": name})).await;
    c.json().await
}

/// `until` of a `banned` error, as seconds from now.
fn secs_left(e: &Value) -> i64 {
    let until = chrono::DateTime::parse_from_rfc3339(e["until"].as_str().expect("until")).unwrap();
    (until.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_seconds()
}

#[tokio::test]
async fn a_ban_in_text_mode_ends_the_session_and_refuses_logins_until_lifted() {
    for b in backends() {
        let db = Db::with_account(&b, "boss", "boss-pw", Role::Admin).await;
        let server = db.server(|_| {}).await;
        let mut boss = Client::chat_text_login(server.chat(), "boss", "boss-pw").await;
        let mut bob = Client::chat_text(server.chat(), "bob").await;
        let mut carol = Client::chat_text(server.chat(), "carol").await;
        bob.until("[carol] joined (3 online)").await;
        boss.until("[carol] joined (3 online)").await;

        carol.send("/ban bob").await;
        assert_eq!(carol.line().await, "! forbidden: only admins may do that");

        boss.send("/ban bob 2h spamming the room").await;
        let lines = bob.closed().await;
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(lines[0].starts_with("! banned: you are banned for 2h more (until "), "{lines:?}");
        assert!(lines[0].ends_with("): spamming the room"), "{lines:?}");
        assert_eq!(lines[1], format!("* bye: {}", &lines[0]["! banned: ".len()..]));
        let done = boss.line().await;
        assert!(done.starts_with("* bob was banned by boss for 2h (until "), "{done}");
        assert!(done.ends_with("): spamming the room"), "{done}");
        assert_eq!(carol.line().await, "[bob] left (2 online)");

        // Refused at login with the time left, under the name and a look-alike of it (Cyrillic о);
        // the connection survives the refusal.
        let mut again = Client::connect(server.chat()).await;
        again.until("* Your name?").await;
        for name in ["bob", "BOB", "bоb"] {
            let refusal = refused_text(&mut again, name).await;
            assert!(refusal.starts_with("! banned: you are banned for 2h more"), "{name}: {refusal}");
        }
        // In JSON: the code, and the end of the ban in `until`.
        let e = json_login(server.chat(), None, "bob").await;
        assert_eq!((e["type"].as_str(), e["code"].as_str()), (Some("error"), Some("banned")), "{e}");
        assert!((7100..=7200).contains(&secs_left(&e)), "{e}");
        // Another name from the same address is fine: this is not an address ban.
        let dave = refused_or_welcome(&mut again, "dave").await;
        assert!(dave.starts_with("* Welcome, dave!"), "{dave}");

        boss.send("/unban bоb").await;
        assert_eq!(boss.until_prefix("* bob was unbanned").await, "* bob was unbanned by boss");
        let mut bob = Client::chat_text(server.chat(), "bob").await;
        bob.send("back").await;
        assert_eq!(bob.line().await, "[bob] back");
        boss.send("/unban bob").await;
        assert_eq!(boss.until_prefix("! ").await, "! not_banned: \"bob\" is not banned");

        let rows = eventually("the ban and the unban in the moderation log", || async {
            let rows = db.store.moderation_log(&ModerationFilter::default()).await.unwrap();
            (rows.len() == 2).then_some(rows)
        })
        .await;
        assert_eq!((rows[0].action, rows[0].target.as_str()), (ModerationAction::Ban, "bob"));
        assert_eq!(rows[0].reason.as_deref(), Some("spamming the room"));
        assert!(rows[0].until.is_some());
        assert_eq!((rows[1].action, rows[1].actor.as_str()), (ModerationAction::Unban, "boss"));
        server.stop().await;
        db.cleanup().await;
    }
}

/// Send `name` at the name prompt; the reply (a welcome or a refusal).
async fn refused_or_welcome(c: &mut Client, name: &str) -> String {
    c.send(name).await;
    c.line().await
}

#[tokio::test]
async fn a_json_ban_reaches_every_service_and_survives_a_restart() {
    for b in backends() {
        let db = Db::with_account(&b, "boss", "boss-pw", Role::Admin).await;
        add_account(&db.store, "kim", "kim-pw-123", Role::Member).await;
        let server = db.server(|c| c.calc.roster = sockhub_server::config::RosterMode::Open).await;
        let mut boss = Client::chat_login(server.chat(), "boss", "boss-pw").await;
        let mut kim_chat = Client::chat_login(server.chat(), "kim", "kim-pw-123").await;
        let mut kim_quiz = Client::connect(server.addr("quiz")).await;
        kim_quiz.send_json(json!({"type": "login", "name": "kim", "password": "kim-pw-123"})).await;
        assert_eq!(kim_quiz.json().await["type"], "welcome");
        let mut kim_ws = Ws::connect(server.web(), "chat").await;
        kim_ws.send(json!({"type": "login", "name": "kim", "password": "kim-pw-123"})).await;
        // kim is in the room over TCP already: the WebSocket login is refused as a duplicate;
        // it is the quiz and the TCP chat that the ban must end.
        assert_eq!(kim_ws.json_of("error").await["code"], "name_taken");

        boss.send_json(json!({"type": "ban", "name": "KIM", "reason": "cheating"})).await;
        let banned = boss.json_of("banned").await;
        assert_eq!(banned, json!({"type": "banned", "name": "kim", "by": "boss", "reason": "cheating"}));
        for c in [&mut kim_chat, &mut kim_quiz] {
            let lines = c.closed().await;
            let error: Value = serde_json::from_str(&lines[lines.len() - 2]).unwrap();
            assert_eq!(error["code"], "banned", "{lines:?}");
            assert_eq!(error["message"], "you are banned until an admin lifts the ban: cheating");
            assert!(error.get("until").is_none(), "a ban without an end: {error}");
            assert!(lines.last().unwrap().contains("\"type\":\"bye\""), "{lines:?}");
        }
        // Once kim has left the room, the WebSocket login, the quiz and the web page refuse kim.
        assert_eq!(boss.json_of("left").await["name"], "kim");
        kim_ws.send(json!({"type": "login", "name": "kim", "password": "kim-pw-123"})).await;
        assert_eq!(kim_ws.json_of("error").await["code"], "banned");
        let mut quiz = Client::connect(server.addr("quiz")).await;
        quiz.send_json(json!({"type": "login", "name": "kim", "password": "kim-pw-123"})).await;
        assert_eq!(quiz.json_of("error").await["code"], "banned");
        let csrf = [("X-Sockhub-Request", "1")];
        let body = json!({"name": "kim", "password": "kim-pw-123"});
        let (status, _, text) = request(server.web(), "POST", "/api/login", &csrf, Some(&body)).await;
        assert_eq!(status, 403, "{text}");
        assert!(text.contains("\"code\":\"banned\""), "{text}");

        // Restart on the same database: the ban is still in force.
        server.stop().await;
        let server = db.server(|_| {}).await;
        let mut kim = Client::connect(server.chat()).await;
        kim.send_json(json!({"type": "login", "name": "kim", "password": "kim-pw-123"})).await;
        let e = kim.json_of("error").await;
        assert_eq!((e["code"].as_str(), e["until"].as_str()), (Some("banned"), None), "{e}");
        server.stop().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_timed_ban_expires_by_itself() {
    let db = Db::with_account(&backends()[0], "boss", "boss-pw", Role::Admin).await;
    let server = db.server(|_| {}).await;
    let mut boss = Client::chat_text_login(server.chat(), "boss", "boss-pw").await;
    boss.send("/ban bob 2s").await;
    assert!(boss.line().await.starts_with("* bob was banned by boss for 2s (until "));
    let e = json_login(server.chat(), None, "bob").await;
    assert_eq!(e["code"], "banned", "{e}");
    assert!(e["message"].as_str().unwrap().starts_with("you are banned for "), "{e}");
    assert!(secs_left(&e) <= 2, "{e}");
    // No one lifts it: within the patience window bob gets in.
    let welcome = eventually("the ban to run out", || async {
        let v = json_login(server.chat(), None, "bob").await;
        (v["type"] == "welcome").then_some(v)
    })
    .await;
    assert_eq!(welcome["name"], "bob");
    server.stop().await;
    db.cleanup().await;
}

#[tokio::test]
async fn an_address_ban_refuses_every_name_from_that_address_on_every_service() {
    let db = Db::with_account(&backends()[0], "boss", "boss-pw", Role::Admin).await;
    let server = db.server(|c| c.calc.roster = sockhub_server::config::RosterMode::Open).await;
    let banned: IpAddr = "127.0.0.2".parse().unwrap();
    let other: IpAddr = "127.0.0.3".parse().unwrap();
    // The admin is behind the same address as bob (a classroom's NAT).
    let boss_login = json!({"type": "login", "name": "boss", "password": "boss-pw"});
    let mut boss = Client::connect_from(banned, server.chat()).await;
    boss.send_json(boss_login.clone()).await;
    assert_eq!(boss.json().await["type"], "welcome");
    let mut bob = Client::connect_from(banned, server.chat()).await;
    bob.send_json(json!({"type": "login", "name": "bob"})).await;
    assert_eq!(bob.json().await["type"], "welcome");
    // A calculator connection from the same address under another identity ends too.
    let mut calc = Client::connect_from(banned, server.calc()).await;
    calc.send_json(json!({"type": "login", "student_id": "2024001"})).await;
    assert_eq!(calc.json_of("welcome").await["type"], "welcome");

    boss.send_json(json!({"type": "ban", "name": "bob", "duration": "1h", "address": true})).await;
    let done = boss.json_of("banned").await;
    assert_eq!(done["address"], "127.0.0.2", "{done}");
    assert_eq!(bob.closed().await.len(), 2);
    let lines = calc.closed().await;
    let error: Value = serde_json::from_str(&lines[lines.len() - 2]).unwrap();
    assert!(error["message"].as_str().unwrap().starts_with("this address is banned for 1h more"), "{error}");

    // Any name from the banned address is refused; bob is refused from anywhere.
    let e = json_login(server.chat(), Some(banned), "carol").await;
    assert_eq!(e["code"], "banned", "{e}");
    assert!(e["message"].as_str().unwrap().starts_with("this address is banned"), "{e}");
    let e = json_login(server.chat(), Some(other), "bob").await;
    assert!(e["message"].as_str().unwrap().starts_with("you are banned"), "{e}");
    let mut calc = Client::connect_from(banned, server.calc()).await;
    calc.send_json(json!({"type": "login", "student_id": "2024002"})).await;
    assert_eq!(calc.json_of("error").await["code"], "banned");
    assert_eq!(json_login(server.chat(), Some(other), "carol").await["type"], "welcome");
    // An address ban holds no admin back: boss is still connected, and logs in again from there.
    boss.send_json(json!({"type": "who"})).await;
    assert_eq!(boss.json_of("users").await["names"], json!(["boss"]));
    let csrf = [("X-Sockhub-Request", "1")];
    let from_banned = crate::web::api::Target::from(banned, server.web());
    let web_login = json!({"name": "boss", "password": "boss-pw"});
    let (status, _, body) = request(from_banned, "POST", "/api/login", &csrf, Some(&web_login)).await;
    assert_eq!(status, 200, "{body}");

    // A ban needs a valid duration, and an admin cannot ban themselves.
    boss.send_json(json!({"type": "ban", "name": "carol", "duration": "soon"})).await;
    assert_eq!(boss.json_of("error").await["code"], "bad_request");
    boss.send_json(json!({"type": "ban", "name": "boss"})).await;
    assert_eq!(boss.json_of("error").await["code"], "bad_request");
    let (_, metrics) = crate::web::api::get(server.web(), "/metrics").await;
    assert!(metrics.contains("sockhub_bans_active 1\n"), "{metrics}");
    assert!(metrics.contains("sockhub_bans_disconnected_total 2\n"), "{metrics}");
    server.stop().await;
    db.cleanup().await;
}

#[tokio::test]
async fn the_web_api_bans_lists_and_unbans_and_a_websocket_user_is_disconnected() {
    let db = Db::with_account(&backends()[0], "boss", "boss-pw", Role::Admin).await;
    add_account(&db.store, "kim", "kim-pw-123", Role::Member).await;
    let server = db.server(|_| {}).await;
    let web = server.web();
    let admin = login_cookie(web, "boss", "boss-pw").await;
    let kim_cookie = login_cookie(web, "kim", "kim-pw-123").await;
    let headers = |cookie: &str| [("X-Sockhub-Request", "1".to_owned()), ("Cookie", cookie.to_owned())];
    let call = |method: &'static str, path: &'static str, cookie: String, body: Option<Value>| async move {
        let h = headers(&cookie);
        let h: Vec<(&str, &str)> = h.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (status, _, body) = request(web, method, path, &h, body.as_ref()).await;
        (status, serde_json::from_str::<Value>(&body).unwrap_or(Value::Null))
    };
    let mut bob = Ws::chat(web, "bob").await;

    // Not an admin: refused.
    let (status, e) = call("POST", "/api/bans", kim_cookie.clone(), Some(json!({"name": "bob"}))).await;
    assert_eq!((status, e["code"].as_str()), (403, Some("forbidden")));

    let ban = json!({"name": "bob", "duration": "30m", "reason": "spam"});
    let (status, made) = call("POST", "/api/bans", admin.clone(), Some(ban)).await;
    assert_eq!(status, 201, "{made}");
    assert_eq!((made["name"].as_str(), made["by"].as_str()), (Some("bob"), Some("boss")));
    let closing = bob.closed().await;
    assert_eq!(closing[0]["code"], "banned", "{closing:?}");
    assert!((1700..=1800).contains(&secs_left(&closing[0])), "{closing:?}");
    assert_eq!(closing[1]["type"], "bye");
    let mut again = Ws::connect(web, "chat").await;
    again.send(json!({"type": "login", "name": "bob"})).await;
    assert_eq!(again.json().await["code"], "banned");

    // kim's web login ends at the next request once kim is banned.
    let (status, _) = call("GET", "/api/me", kim_cookie.clone(), None).await;
    assert_eq!(status, 200);
    let (status, _) = call("POST", "/api/bans", admin.clone(), Some(json!({"name": "kim"}))).await;
    assert_eq!(status, 201);
    let (status, e) = call("GET", "/api/me", kim_cookie.clone(), None).await;
    assert_eq!((status, e["code"].as_str()), (403, Some("banned")), "{e}");

    let (status, list) = call("GET", "/api/bans", admin.clone(), None).await;
    assert_eq!(status, 200);
    let names: Vec<&str> =
        list["bans"].as_array().unwrap().iter().map(|b| b["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["bob", "kim"], "{list}");
    assert_eq!(list["bans"][0]["reason"], "spam");
    assert!(list["bans"][1]["until"].is_null());

    let (status, _) = call("DELETE", "/api/bans/bob", admin.clone(), None).await;
    assert_eq!(status, 204);
    let (status, e) = call("DELETE", "/api/bans/bob", admin.clone(), None).await;
    assert_eq!((status, e["code"].as_str()), (409, Some("not_banned")));
    let _bob = Ws::chat(web, "bob").await;
    server.stop().await;
    db.cleanup().await;
}

#[tokio::test]
async fn the_cli_bans_lists_and_unbans_and_a_running_server_acts_on_it() {
    let db = Db::create(&backends()[0]).await;
    let dir = tempfile::tempdir().unwrap();
    let config = config_file_for(&db.db, dir.path());
    let server = db.server(|c| c.auth.bans_refresh_secs = 1).await;
    let mut bob = Client::connect_from("127.0.0.4".parse().unwrap(), server.chat()).await;
    bob.send_json(json!({"type": "login", "name": "bob"})).await;
    assert_eq!(bob.json().await["type"], "welcome");
    // The address ban names the address of bob's last login, once the login log has it.
    eventually("bob's login in the login log", || async {
        db.store.bans().last_login_peer("bob").await.unwrap()
    })
    .await;

    let (ok, out) = run_sockhub(
        &config,
        &["user", "ban", "bob", "--for", "2h", "--reason", "spam", "--address", "--by", "ops"],
        "",
    )
    .await;
    assert!(ok, "{out}");
    assert!(out.contains("banned bob and the address 127.0.0.4 until "), "{out}");
    // The running server notices within its refresh interval and ends bob's connection.
    let lines = bob.closed().await;
    assert!(lines.iter().any(|l| l.contains("\"code\":\"banned\"")), "{lines:?}");
    let e = json_login(server.chat(), Some("127.0.0.4".parse().unwrap()), "carol").await;
    assert_eq!(e["code"], "banned", "{e}");

    let (ok, out) = run_sockhub(&config, &["user", "bans", "--format", "json"], "").await;
    assert!(ok, "{out}");
    let rows: Value = serde_json::from_str(&out).unwrap();
    assert_eq!((rows[0]["name"].as_str(), rows[0]["by"].as_str()), (Some("bob"), Some("ops")), "{rows}");
    assert_eq!(rows[0]["address"], "127.0.0.4");
    let (ok, table) = run_sockhub(&config, &["user", "bans"], "").await;
    assert!(ok && table.contains("bob") && table.contains("2h") && table.contains("spam"), "{table}");

    let (ok, out) = run_sockhub(&config, &["user", "unban", "BOB"], "").await;
    assert!(ok, "{out}");
    let (ok, out) = run_sockhub(&config, &["user", "unban", "bob"], "").await;
    assert!(!ok && out.contains("is not banned"), "{out}");
    let welcome = eventually("the server to drop the lifted ban", || async {
        let v = json_login(server.chat(), Some("127.0.0.4".parse().unwrap()), "bob").await;
        (v["type"] == "welcome").then_some(v)
    })
    .await;
    assert_eq!(welcome["name"], "bob");
    let actions: Vec<ModerationAction> = db
        .store
        .moderation_log(&ModerationFilter::default())
        .await
        .unwrap()
        .iter()
        .map(|r| r.action)
        .collect();
    assert_eq!(actions, [ModerationAction::Ban, ModerationAction::Unban]);
    server.stop().await;
    db.cleanup().await;
}

#[tokio::test]
async fn a_ban_on_node_a_disconnects_and_refuses_the_user_on_node_b() {
    let Some(b) = one_backend() else { return };
    let db = Db::create(&b).await;
    add_account(&db.store, "admin", "admin-pw", Role::Admin).await;
    let nats = Nats::start().await;
    // The nodes re-read the bans from the database only hourly: what acts at once is the bus.
    let cluster = Cluster::start_with(&db, &nats, 2, "[auth]\nbans_refresh_secs = 3600\n").await;
    let mut bob = enter(cluster.chat(1), "bob", 1).await;
    let mut admin = Client::chat_login(cluster.chat(0), "admin", "admin-pw").await;
    bob.until("[admin] joined (2 online)").await;

    admin.send_json(json!({"type": "ban", "name": "bob", "duration": "7d", "reason": "enough"})).await;
    assert_eq!(admin.json_of("banned").await["name"], "bob");
    let lines = bob.closed().await;
    assert!(lines.iter().any(|l| l.starts_with("! banned: you are banned for 7days more")), "{lines:?}");
    assert_eq!(admin.json_of("left").await["name"], "bob");
    let mut again = Client::connect(cluster.chat(1)).await;
    again.until("* Your name?").await;
    assert!(refused_text(&mut again, "bob").await.starts_with("! banned: you are banned for "));
    cluster.stop().await;
    db.cleanup().await;
}
