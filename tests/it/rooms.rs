//! Chat rooms over real sockets: join, part, switch, the room list, topics and `who` in text,
//! JSON and WebSocket; what reaches whom; history per room; moderation per room and server-wide;
//! the admin-only mode; limits; persistent rooms across a restart; `logs chat --room`.

use std::time::Duration;

use serde_json::json;
use sockhub_server::config::{RoomCreation, RoomSetting};
use sockhub_store::testing::{TestBackend, backends};
use sockhub_store::{ModerationAction, ModerationFilter, Role};

use crate::support::{Client, Db, TestServer, config_file_for, eventually, run_sockhub};
use crate::web::ws::Ws;

const QUIET: Duration = Duration::from_millis(300);

/// A database with one account, the admin `boss`.
async fn with_boss(backend: &TestBackend) -> Db {
    Db::with_account(backend, "boss", "boss-pw", Role::Admin).await
}

/// `boss` logged in to the chat in JSON mode (the welcome read).
async fn login_boss(server: &TestServer) -> Client {
    Client::chat_login(server.chat(), "boss", "boss-pw").await
}

/// Wait until the moderation log holds exactly `expected`: each action and its room, in order.
async fn moderation_log_becomes(db: &Db, what: &str, expected: &[(ModerationAction, Option<&str>)]) {
    eventually(what, || async {
        let log = db.store.moderation_log(&ModerationFilter::default()).await.unwrap();
        let actions: Vec<(ModerationAction, Option<&str>)> =
            log.iter().map(|r| (r.action, r.room.as_deref())).collect();
        (actions == expected).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_line_in_a_room_reaches_its_members_only_and_a_member_of_two_sees_it_once_prefixed() {
    let server = TestServer::start().await;
    let mut alice = Client::chat_text(server.chat(), "alice").await;
    let mut bob = Client::chat_json(server.chat(), "bob").await;
    alice.until("[bob] joined (2 online)").await;
    let mut carol = Client::chat_text(server.chat(), "carol").await;
    alice.until("[carol] joined (3 online)").await;
    bob.json_of("joined").await;

    // alice joins #a (created by joining): she now sees every room line prefixed.
    alice.send("/join #a").await;
    assert_eq!(alice.line().await, "[#a] [alice] joined (1 online)");
    // bob (JSON) joins #a: alice is told in #a; bob gets his own joined, with the room.
    bob.send_json(json!({"type": "join", "room": "#a"})).await;
    let joined = bob.json_of("joined").await;
    assert_eq!(joined, json!({"type": "joined", "name": "bob", "online": 2, "room": "#a"}));
    assert_eq!(alice.line().await, "[#a] [bob] joined (2 online)");

    // A line in #a (bob's current room): alice sees it once, prefixed; carol (only #lobby) never.
    bob.send_json(json!({"type": "say", "text": "just us"})).await;
    assert_eq!(alice.line().await, "[#a] [bob] just us");
    let m = bob.json_of("message").await;
    assert_eq!((m["room"].as_str(), m["text"].as_str()), (Some("#a"), Some("just us")));
    // A line in #lobby, named explicitly: alice sees it prefixed, carol unprefixed as before.
    bob.send_json(json!({"type": "say", "text": "hi lobby", "room": "#LOBBY"})).await;
    assert_eq!(alice.line().await, "[#lobby] [bob] hi lobby");
    assert_eq!(carol.line().await, "[bob] hi lobby");
    assert_eq!(bob.json_of("message").await["room"], "#lobby");
    assert_eq!(carol.silent_or_lines(QUIET).await, Vec::<String>::new(), "carol never sees #a");
    assert_eq!(alice.silent_or_lines(QUIET).await, Vec::<String>::new(), "each line once");

    // Plain lines go to the current room; /switch changes it.
    alice.send("to a").await;
    assert_eq!(alice.line().await, "[#a] [alice] to a");
    alice.send("/s #lobby").await;
    assert_eq!(alice.line().await, "* plain lines now go to #lobby");
    alice.send("to lobby").await;
    assert_eq!(alice.line().await, "[#lobby] [alice] to lobby");
    assert_eq!(carol.until_prefix("[alice]").await, "[alice] to lobby");

    // /part #a: back in one room, lines are unprefixed again.
    alice.send("/part #a").await;
    assert_eq!(alice.line().await, "[#a] [alice] left (1 online)");
    assert_eq!(
        bob.json_of("left").await,
        json!({"type": "left", "name": "alice", "online": 1, "room": "#a"})
    );
    alice.send("single again").await;
    assert_eq!(alice.line().await, "[alice] single again");
    server.stop().await;
}

#[tokio::test]
async fn rooms_topics_who_and_errors_in_text_mode_and_the_connection_survives() {
    let db = with_boss(&backends()[0]).await;
    let server = db.server(|c| c.chat.max_rooms_per_user = 2).await;
    let mut boss = login_boss(&server).await;
    let mut kim = Client::chat_text(server.chat(), "kim").await;
    boss.json_of("joined").await;

    kim.send("/join #Lab").await;
    assert_eq!(kim.line().await, "[#Lab] [kim] joined (1 online)");
    kim.send("/topic #lobby new topic").await;
    assert!(kim.line().await.starts_with("! forbidden:"), "only admins and the room's operators set topics");
    boss.send_json(json!({"type": "topic", "room": "#lab", "topic": "lab 3 at 2pm"})).await;
    let topic = boss.json_of("topic").await;
    assert_eq!(
        (topic["room"].as_str(), topic["topic"].as_str(), topic["by"].as_str()),
        (Some("#Lab"), Some("lab 3 at 2pm"), Some("boss"))
    );
    assert!(kim.line().await.starts_with("[#Lab] * topic of #Lab: lab 3 at 2pm (set by boss, "));
    kim.send("/topic").await;
    assert!(kim.line().await.starts_with("[#Lab] * topic of #Lab: lab 3 at 2pm"));

    kim.send("/rooms").await;
    assert_eq!(kim.line().await, "* 2 rooms; plain lines go to #Lab (> current, + joined):");
    assert_eq!(kim.line().await, "*  > #Lab    1 online  lab 3 at 2pm");
    assert_eq!(kim.line().await, "*  + #lobby  2 online");
    kim.send("/who #lobby").await;
    assert_eq!(kim.line().await, "[#lobby] * 2 online: boss, kim");

    // Errors, each clear, and the connection lives on.
    kim.send("/join lab").await;
    assert_eq!(kim.line().await, "! bad_request: usage: /join #room");
    kim.send("/join #no space").await;
    assert!(kim.line().await.starts_with("! bad_request:"));
    boss.send_json(json!({"type": "join", "room": "#a,b"})).await;
    assert_eq!(boss.json_of("error").await["code"], "bad_room_name");
    kim.send("/join #third").await;
    assert!(kim.line().await.starts_with("! too_many_rooms: you are in 2 rooms"), "max_rooms_per_user = 2");
    kim.send("/switch #nowhere").await;
    assert!(kim.line().await.starts_with("! not_in_room:"));
    kim.send("/topic #nowhere").await;
    assert!(kim.line().await.starts_with("! no_such_room:"));
    kim.send("/part").await;
    kim.until("[#Lab] [kim] left (0 online)").await;
    kim.send("/part").await;
    assert_eq!(kim.line().await, "[kim] left (1 online)");
    kim.send("anyone?").await;
    assert!(kim.line().await.starts_with("! not_in_room: you are in no room"));
    kim.send("/rooms").await;
    assert_eq!(kim.line().await, "* 1 room; you are in none (/join #room):", "#Lab vanished with kim");
    assert_eq!(kim.line().await, "*    #lobby  1 online");
    kim.send("/join #lobby").await;
    assert_eq!(kim.line().await, "[kim] joined (2 online)");
    server.stop().await;
    db.cleanup().await;
}

#[tokio::test]
async fn history_is_per_room_and_rooms_come_back_after_a_restart() {
    for b in backends() {
        let db = with_boss(&b).await;
        let configured = |c: &mut sockhub_server::config::Config| {
            c.chat.room = vec![RoomSetting { name: "#news".into(), topic: Some("announcements".into()) }];
        };
        let server = db.server(configured).await;
        let mut boss = login_boss(&server).await;
        // An admin's room is persistent; a member's is not.
        boss.send_json(json!({"type": "join", "room": "#staff"})).await;
        boss.json_of("joined").await;
        boss.send_json(json!({"type": "say", "text": "staff only"})).await;
        boss.json_of("message").await;
        boss.send_json(json!({"type": "say", "text": "lobby line", "room": "#lobby"})).await;
        boss.json_of("message").await;
        let mut kim = Client::chat_text(server.chat(), "kim").await;
        kim.send("/join #tmp").await;
        kim.send("tmp line").await;
        kim.until("[#tmp] [kim] tmp line").await;
        server.stop().await;

        let server = db.server(configured).await;
        let mut lee = Client::chat_json(server.chat(), "lee").await;
        lee.send_json(json!({"type": "rooms"})).await;
        let rooms = lee.json_of("rooms").await;
        let names: Vec<(&str, bool)> = rooms["rooms"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["name"].as_str().unwrap(), r["persistent"].as_bool().unwrap()))
            .collect();
        assert_eq!(names, [("#lobby", true), ("#news", true), ("#staff", true)], "{}: {rooms}", b.name());
        assert_eq!(rooms["rooms"][1]["topic"], "announcements");
        assert_eq!(rooms["current"], "#lobby");
        lee.send_json(json!({"type": "join", "room": "#staff"})).await;
        let joined = lee.json_of("joined").await;
        assert_eq!(joined["room"], "#staff");
        let history = lee.json_of("message").await;
        assert_eq!(
            (history["text"].as_str(), history["room"].as_str(), history["history"].as_bool()),
            (Some("staff only"), Some("#staff"), Some(true)),
            "{}: only #staff's lines",
            b.name()
        );
        // A transient room vanished with its last member, but its lines are in the log.
        lee.send_json(json!({"type": "join", "room": "#tmp"})).await;
        lee.json_of("joined").await;
        let history = lee.json_of("message").await;
        assert_eq!((history["text"].as_str(), history["room"].as_str()), (Some("tmp line"), Some("#tmp")));
        server.stop().await;

        let dir = tempfile::tempdir().unwrap();
        let config = config_file_for(&db.db, dir.path());
        let config = config.to_str().unwrap();
        let (ok, out) = run_sockhub(
            std::path::Path::new(config),
            &["logs", "chat", "--room", "#STAFF", "--format", "json"],
            "",
        )
        .await;
        assert!(ok, "{out}");
        let rows: serde_json::Value = serde_json::from_str(&out).unwrap();
        let texts: Vec<&str> = rows.as_array().unwrap().iter().map(|r| r["text"].as_str().unwrap()).collect();
        assert_eq!(texts, ["staff only"], "{}", b.name());
        assert_eq!(rows[0]["room"], "#staff");
        db.cleanup().await;
    }
}

#[tokio::test]
async fn kick_and_mute_in_one_room_or_everywhere() {
    for b in backends() {
        let db = with_boss(&b).await;
        let server = db.server(|_| {}).await;
        let mut boss = login_boss(&server).await;
        let mut kim = Client::chat_text(server.chat(), "kim").await;
        boss.json_of("joined").await;
        boss.send_json(json!({"type": "join", "room": "#a"})).await;
        boss.json_of("joined").await;
        kim.send("/join #a").await;
        kim.until("[#a] [kim] joined (2 online)").await;

        // Muted in #a only: refused there, heard in #lobby.
        boss.send_json(json!({"type": "mute", "name": "kim", "room": "#a", "reason": "off topic"})).await;
        let muted = boss.json_of("muted").await;
        assert_eq!((muted["room"].as_str(), muted["name"].as_str()), (Some("#a"), Some("kim")));
        assert_eq!(kim.line().await, "* kim was muted in #a by boss: off topic");
        kim.send("in a").await;
        assert!(kim.line().await.starts_with("! muted: you are muted in #a (off topic)"));
        kim.send("/s #lobby").await;
        kim.until("* plain lines now go to #lobby").await;
        kim.send("in lobby").await;
        assert_eq!(kim.line().await, "[#lobby] [kim] in lobby");
        boss.send_json(json!({"type": "unmute", "name": "kim"})).await;
        assert_eq!(boss.json_of("error").await["code"], "not_muted", "no server-wide mute to lift");
        boss.send_json(json!({"type": "unmute", "name": "kim", "room": "#a"})).await;
        assert_eq!(kim.line().await, "* kim was unmuted in #a by boss");

        // Kicked from #a: out of the room, still connected and in #lobby.
        boss.send_json(json!({"type": "kick", "name": "kim", "room": "#a", "reason": "bye"})).await;
        assert_eq!(kim.line().await, "* kim was removed from #a by boss: bye");
        assert_eq!(kim.line().await, "[#a] [kim] left (1 online)");
        kim.send("still here").await;
        assert_eq!(kim.line().await, "[kim] still here");
        let kicked = boss.json_of("kicked").await;
        assert_eq!(kicked["room"], "#a");

        // A server-wide mute covers every room.
        boss.send_json(json!({"type": "mute", "name": "kim"})).await;
        assert_eq!(kim.line().await, "* kim was muted by boss");
        kim.send("x").await;
        assert!(kim.line().await.starts_with("! muted: you are muted;"));

        let expected = [
            (ModerationAction::Mute, Some("#a")),
            (ModerationAction::Unmute, Some("#a")),
            (ModerationAction::Kick, Some("#a")),
            (ModerationAction::Mute, None),
        ];
        moderation_log_becomes(&db, "the moderation log with rooms", &expected).await;
        server.stop().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn admin_mode_lets_only_admins_create_rooms_and_the_room_limit_holds() {
    let db = with_boss(&backends()[0]).await;
    let server = db
        .server(|c| {
            c.chat.rooms = RoomCreation::Admin;
            c.chat.max_rooms = 2;
        })
        .await;
    let mut kim = Client::chat_text(server.chat(), "kim").await;
    kim.send("/join #mine").await;
    assert!(kim.line().await.starts_with("! rooms_admin_only: only admins may create rooms"));
    let mut boss = login_boss(&server).await;
    boss.send_json(json!({"type": "join", "room": "#class"})).await;
    assert_eq!(boss.json_of("joined").await["room"], "#class");
    boss.send_json(json!({"type": "join", "room": "#another"})).await;
    assert_eq!(boss.json_of("error").await["code"], "room_limit", "#lobby and #class make 2");
    kim.send("/join #class").await;
    assert_eq!(
        kim.until_prefix("[#class]").await,
        "[#class] [kim] joined (2 online)",
        "an existing room is open to all"
    );
    server.stop().await;
    db.cleanup().await;
}

#[tokio::test]
async fn rooms_over_websocket() {
    let server = TestServer::start().await;
    let mut ws = Ws::connect(server.web(), "chat").await;
    ws.send(json!({"type": "login", "name": "web"})).await;
    let welcome = ws.json_of("welcome").await;
    assert_eq!(welcome["room"], "#lobby");
    let mut tcp = Client::chat_text(server.chat(), "tcp").await;
    assert_eq!(ws.json_of("joined").await, json!({"type": "joined", "name": "tcp", "online": 2}));
    ws.send(json!({"type": "join", "room": "#web"})).await;
    assert_eq!(ws.json_of("joined").await["room"], "#web");
    tcp.send("/join #web").await;
    tcp.until("[#web] [tcp] joined (2 online)").await;
    tcp.send("hello web").await;
    let m = ws.json_of("message").await;
    assert_eq!((m["room"].as_str(), m["text"].as_str()), (Some("#web"), Some("hello web")));
    ws.send(json!({"type": "who", "room": "#web"})).await;
    assert_eq!(ws.json_of("users").await, json!({"type": "users", "names": ["tcp", "web"], "room": "#web"}));
    ws.send(json!({"type": "switch", "room": "#lobby"})).await;
    assert_eq!(ws.json_of("switched").await, json!({"type": "switched", "room": "#lobby"}));
    ws.send(json!({"type": "part", "room": "#web"})).await;
    assert_eq!(ws.json_of("left").await["room"], "#web");
    assert_eq!(tcp.until_prefix("[#web] [web] left").await, "[#web] [web] left (1 online)");
    server.stop().await;
}

#[tokio::test]
async fn the_creator_of_a_room_moderates_that_room_only_and_passes_it_on() {
    let db = with_boss(&backends()[0]).await;
    let server = db.server(|_| {}).await;
    let mut kim = Client::chat_text(server.chat(), "kim").await;
    let mut jay = Client::chat_json(server.chat(), "jay").await;
    kim.send("/join #kim").await;
    kim.until_prefix("[#kim] [kim] joined").await;
    jay.send_json(json!({"type": "join", "room": "#kim"})).await;
    jay.json_of("joined").await;
    kim.until_prefix("[#kim] [jay] joined").await;

    // A member is no operator.
    jay.send_json(json!({"type": "kick", "name": "kim", "room": "#kim"})).await;
    assert_eq!(jay.json_of("error").await["code"], "forbidden");
    jay.send_json(json!({"type": "topic", "room": "#kim", "topic": "mine"})).await;
    assert_eq!(jay.json_of("error").await["code"], "forbidden");
    // The creator moderates #kim, and only #kim.
    kim.send("/mute jay #kim 5 spam").await;
    kim.until_prefix("* jay was muted in #kim by kim until").await;
    let muted = jay.json_of("muted").await;
    assert_eq!((muted["room"].as_str(), muted["by"].as_str()), (Some("#kim"), Some("kim")));
    kim.send("/unmute jay #kim").await;
    kim.until("* jay was unmuted in #kim by kim").await;
    kim.send("/mute jay").await;
    assert!(kim.until_prefix("! ").await.starts_with("! forbidden: only admins may do that"));
    kim.send("/kick jay #lobby").await;
    assert!(kim.until_prefix("! ").await.starts_with("! forbidden: only admins and the operators of #lobby"));
    kim.send("/kick jay").await;
    assert!(kim.until_prefix("! ").await.starts_with("! forbidden:"), "no server-wide kick");
    // Passing it on: jay may set the topic, and take kim's status away.
    kim.send("/op jay #kim").await;
    kim.until("* jay is now an operator of #kim (by kim)").await;
    let opped = jay.json_of("opped").await;
    assert_eq!(opped, json!({"type": "opped", "name": "jay", "by": "kim", "room": "#kim", "op": true}));
    jay.send_json(json!({"type": "topic", "room": "#kim", "topic": "jay's room"})).await;
    assert_eq!(jay.json_of("topic").await["topic"], "jay's room");
    jay.send_json(json!({"type": "deop", "name": "kim", "room": "#kim"})).await;
    kim.until("* kim is no longer an operator of #kim (by jay)").await;
    kim.send("/topic #kim back").await;
    assert!(kim.until_prefix("! ").await.starts_with("! forbidden:"));
    // Never over an admin.
    let mut boss = login_boss(&server).await;
    boss.send_json(json!({"type": "join", "room": "#kim"})).await;
    boss.json_of("joined").await;
    jay.send_json(json!({"type": "kick", "name": "boss", "room": "#kim"})).await;
    let refused = jay.json_of("error").await;
    assert_eq!(refused["code"], "forbidden", "{refused}");
    // A part with a reason: the room sees it.
    jay.send_json(json!({"type": "part", "room": "#kim", "reason": "dinner"})).await;
    kim.until("[#kim] [jay] left (2 online): dinner").await;

    let expected = [
        (ModerationAction::Mute, Some("#kim")),
        (ModerationAction::Unmute, Some("#kim")),
        (ModerationAction::Op, Some("#kim")),
        (ModerationAction::Topic, Some("#kim")),
        (ModerationAction::Deop, Some("#kim")),
    ];
    moderation_log_becomes(&db, "the moderation log of the room operators", &expected).await;
    server.stop().await;
    db.cleanup().await;
}
