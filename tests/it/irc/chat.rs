//! IRC users in the chat with `nc` and JSON users: public messages both ways (no echo without
//! `echo-message`), whispers both ways, long lines split for IRC, kick and mute as IRC shows
//! them, flood control, and IRC lines in the chat log.

use serde_json::json;
use sockhub_store::Role;
use sockhub_store::testing::backends;

use super::{IrcClient, from, irc_on, server};
use crate::support::{Client, Db};

#[tokio::test]
async fn irc_and_nc_and_json_users_talk_in_one_room() {
    let server = server(|_| {}).await;
    let mut nc = Client::chat_text(server.chat(), "alice").await;
    let mut js = Client::chat_json(server.chat(), "jay").await;
    let mut irc = IrcClient::register(server.addr("irc"), "bob").await;
    nc.until("[bob] joined (3 online)").await;
    irc.send("PRIVMSG #lobby :hello from IRC").await;
    assert_eq!(nc.line().await, "[bob] hello from IRC");
    let m = js.json_of("message").await;
    assert_eq!((m["from"].as_str(), m["text"].as_str()), (Some("bob"), Some("hello from IRC")));
    // No echo without echo-message: the next thing bob reads is the answer to his PING.
    irc.send("PING :mark").await;
    assert_eq!(irc.msg().await.command, "PONG");
    nc.send("hi bob").await;
    let m = irc.privmsg().await;
    assert_eq!(m.source.as_deref(), Some("alice!alice@sockhub"));
    assert_eq!(m.params, ["#lobby", "hi bob"]);
    js.send_json(json!({"type": "say", "text": "안녕하세요 bob"})).await;
    let m = irc.privmsg().await;
    assert_eq!((from(&m), m.params[1].as_str()), ("jay", "안녕하세요 bob"));
    // NAMES and WHO list everyone, whatever their transport.
    irc.send("NAMES #lobby").await;
    let names = irc.expect("353").await;
    assert_eq!(names.params[3], "alice bob jay");
    irc.send("WHO #lobby").await;
    let (who, _) = irc.until("315").await;
    let nicks: Vec<&str> = who.iter().filter(|m| m.command == "352").map(|m| m.params[5].as_str()).collect();
    assert_eq!(nicks, ["alice", "bob", "jay"]);
    // Leaving the room is a PART on IRC.
    drop(js);
    let part = irc.expect("PART").await;
    assert_eq!((from(&part), part.params[0].as_str()), ("jay", "#lobby"));
    server.stop().await;
}

#[tokio::test]
async fn whispers_go_both_ways_between_irc_and_nc() {
    let server = server(|_| {}).await;
    let mut nc = Client::chat_text(server.chat(), "alice").await;
    let mut irc = IrcClient::register(server.addr("irc"), "bob").await;
    nc.line().await;
    irc.send("PRIVMSG alice :psst").await;
    assert_eq!(nc.line().await, "<<< [from bob] psst");
    nc.send("/w bob back at you").await;
    assert_eq!(nc.line().await, ">>> [to bob] back at you");
    let m = irc.privmsg().await;
    assert_eq!((from(&m), m.params[0].as_str(), m.params[1].as_str()), ("alice", "bob", "back at you"));
    irc.send("PRIVMSG nobody :hello?").await;
    assert_eq!(irc.expect("401").await.params[1], "nobody");
    irc.send("PRIVMSG #elsewhere :hello?").await;
    assert_eq!(irc.expect("404").await.params[1], "#elsewhere");
    // NOTICE never gets an error back.
    irc.send("NOTICE nobody :hello?").await;
    irc.send("PING :mark").await;
    assert_eq!(irc.msg().await.command, "PONG");
    // WHOIS of an nc user.
    irc.send("WHOIS alice").await;
    let (lines, _) = irc.until("318").await;
    assert!(lines.iter().any(|m| m.command == "311" && m.params[1] == "alice"), "{lines:?}");
    assert!(lines.iter().any(|m| m.command == "319" && m.params[2] == "#lobby"), "{lines:?}");
    server.stop().await;
}

#[tokio::test]
async fn long_messages_from_other_transports_are_split_for_irc_never_cut() {
    let server = server(|_| {}).await;
    let mut nc = Client::chat_text(server.chat(), "alice").await;
    let mut irc = IrcClient::register(server.addr("irc"), "bob").await;
    nc.line().await;
    // Hangul with a space now and then, then words: 2,199 bytes.
    let hangul: String = (0..400).map(|i| if i % 7 == 6 { ' ' } else { '한' }).collect();
    let text = format!("{hangul}{}end", "word ".repeat(200));
    nc.send(&text).await;
    let mut got = String::new();
    let mut lines = 0;
    while got.len() < text.len() {
        let m = irc.privmsg().await;
        assert_eq!(m.params[0], "#lobby");
        got.push_str(&m.params[1]);
        lines += 1;
    }
    assert_eq!(got, text);
    assert!(lines >= 4, "{lines} lines");
    server.stop().await;
}

#[tokio::test]
async fn kick_and_mute_look_as_irc_expects() {
    let b = &backends()[0];
    let db = Db::with_account(b, "boss", "boss-pw-1", Role::Admin).await;
    add(&db, "kim", Role::Member).await;
    let server = db.server(irc_on).await;
    let mut boss = Client::chat_login(server.chat(), "boss", "boss-pw-1").await;
    let mut admin = IrcClient::sasl(server.addr("irc"), "boss2", "boss-pw-2", "multi-prefix").await;
    let mut bob = IrcClient::register(server.addr("irc"), "bob").await;
    let mut carol = IrcClient::register(server.addr("irc"), "carol").await;
    // Admins are channel operators.
    carol.send("NAMES #lobby").await;
    assert_eq!(carol.expect("353").await.params[3], "bob @boss @boss2 carol");
    // A member cannot kick.
    carol.send("KICK #lobby bob :go").await;
    assert_eq!(carol.expect("482").await.params[1], "#lobby");
    // An admin on the web/JSON side mutes bob: he is told, and cannot speak.
    boss.send_json(json!({"type": "mute", "name": "bob", "reason": "calm down"})).await;
    let notice = bob.expect("NOTICE").await;
    assert_eq!(notice.params[0], "#lobby");
    assert!(notice.params[1].contains("bob was muted by boss"), "{notice}");
    bob.send("PRIVMSG #lobby :but why").await;
    let m = bob.expect("404").await;
    assert_eq!(m.params[..2], ["bob", "#lobby"]);
    // An admin on IRC kicks bob from the channel: everyone sees the KICK (and no PART after it);
    // bob stays connected, out of the room.
    admin.send("KICK #lobby bob :enough").await;
    let kick = carol.expect("KICK").await;
    assert_eq!(
        (from(&kick), kick.params.as_slice()),
        ("boss2", &["#lobby".to_owned(), "bob".into(), "enough".into()][..])
    );
    let kick = bob.expect("KICK").await;
    assert_eq!(kick.params[..2], ["#lobby", "bob"]);
    bob.send("PRIVMSG #lobby :am I still here?").await;
    let refused = bob.msg().await;
    assert_eq!((refused.command.as_str(), refused.params[1].as_str()), ("404", "#lobby"), "{refused}");
    carol.send("PING :after-kick").await;
    let (between, _) = carol.until("PONG").await;
    assert!(between.iter().all(|m| m.command != "PART"), "{between:?}");
    // And kicks an nc user from it.
    let mut nc = Client::chat_text(server.chat(), "dan").await;
    admin.send("KICK #lobby dan").await;
    nc.until_prefix("* dan was removed from #lobby by boss2").await;
    admin.send("KICK #lobby nobody").await;
    assert_eq!(admin.expect("441").await.params[1], "nobody");
    server.stop().await;
    db.cleanup().await;
}

async fn add(db: &Db, name: &str, role: Role) {
    crate::support::add_account(&db.store, name, &format!("{name}-pw-1"), role).await;
    if name == "kim" {
        crate::support::add_account(&db.store, "boss2", "boss-pw-2", Role::Admin).await;
    }
}

#[tokio::test]
async fn flood_control_holds_for_irc_and_the_connection_survives() {
    let server = server(|c| {
        c.limits.rate_per_sec = 1.0;
        c.limits.burst = 5;
    })
    .await;
    let mut irc = IrcClient::register(server.addr("irc"), "bob").await;
    for i in 0..10 {
        irc.send(&format!("PRIVMSG #lobby :spam {i}")).await;
    }
    let fail = irc.expect("FAIL").await;
    assert_eq!(fail.params[..2], ["*", "RATE_LIMITED"]);
    server.stop().await;
}

#[tokio::test]
async fn irc_lines_are_in_the_chat_log() {
    let b = &backends()[0];
    let db = Db::create(b).await;
    let server = db.server(irc_on).await;
    let mut irc = IrcClient::register(server.addr("irc"), "logger").await;
    let mut nc = Client::chat_text(server.chat(), "reader").await;
    irc.send("PRIVMSG #lobby :for the record").await;
    assert_eq!(nc.until_prefix("[logger]").await, "[logger] for the record");
    irc.send("PRIVMSG reader :just you").await;
    assert_eq!(nc.line().await, "<<< [from logger] just you");
    server.stop().await;
    let rows = db.store.recent_public_messages(10).await.unwrap();
    assert!(rows.iter().any(|r| r.sender == "logger" && r.text == "for the record"));
    db.cleanup().await;
}

#[tokio::test]
async fn channels_are_rooms_shared_with_nc_users() {
    let db = Db::with_account(&backends()[0], "boss", "boss-pw-1", Role::Admin).await;
    let server = db.server(irc_on).await;
    let mut nc = Client::chat_text(server.chat(), "alice").await;
    let mut irc = IrcClient::register(server.addr("irc"), "bob").await;
    // Joining creates the room; the joiner gets JOIN and the names (as its operator).
    irc.send("JOIN #team-1").await;
    let join = irc.expect("JOIN").await;
    assert_eq!((from(&join), join.params[0].as_str()), ("bob", "#team-1"));
    assert_eq!(irc.expect("353").await.params[3], "@bob");
    nc.send("/join #team-1").await;
    let join = irc.expect("JOIN").await;
    assert_eq!((from(&join), join.params[0].as_str()), ("alice", "#team-1"));
    // A line in #team-1 reaches bob there; one in #lobby reaches him in #lobby.
    nc.send("/switch #team-1").await;
    nc.send("team talk").await;
    let m = irc.privmsg().await;
    assert_eq!(m.params, ["#team-1", "team talk"]);
    irc.send("PRIVMSG #team-1 :team answer").await;
    nc.until("[#team-1] [bob] team answer").await;
    // A member of only #lobby does not see #team-1.
    let mut carol = IrcClient::register(server.addr("irc"), "carol").await;
    irc.send("PRIVMSG #team-1 :secret plans").await;
    irc.send("PRIVMSG #lobby :lobby news").await;
    let m = carol.privmsg().await;
    assert_eq!(m.params, ["#lobby", "lobby news"]);
    // LIST and NAMES.
    carol.send("LIST").await;
    let (list, _) = carol.until("323").await;
    let rooms: Vec<(&str, &str)> = list
        .iter()
        .filter(|m| m.command == "322")
        .map(|m| (m.params[1].as_str(), m.params[2].as_str()))
        .collect();
    assert_eq!(rooms, [("#lobby", "3"), ("#team-1", "2")]);
    carol.send("NAMES #team-1").await;
    assert_eq!(carol.expect("353").await.params[3], "alice @bob");
    // Topics: only admins and the room's operators set them (nobody but admins in the default
    // room); every member sees the change; TOPIC asks.
    irc.send("TOPIC #lobby :plans").await;
    assert_eq!(irc.expect("482").await.params[1], "#lobby");
    let mut boss = IrcClient::sasl(server.addr("irc"), "boss", "boss-pw-1", "").await;
    boss.send("JOIN #team-1").await;
    boss.expect("366").await;
    boss.send("TOPIC #team-1 :Sprint 3 plans").await;
    let topic = irc.expect("TOPIC").await;
    assert_eq!(
        (from(&topic), topic.params.as_slice()),
        ("boss", &["#team-1".to_owned(), "Sprint 3 plans".into()][..])
    );
    carol.send("TOPIC #team-1").await;
    assert_eq!(carol.expect("332").await.params[1..], ["#team-1", "Sprint 3 plans"]);
    // PART leaves the room: bob sees his own PART, alice sees it too.
    irc.send("PART #team-1").await;
    let part = irc.expect("PART").await;
    assert_eq!((from(&part), part.params[0].as_str()), ("bob", "#team-1"));
    nc.until_prefix("[#team-1] [bob] left").await;
    irc.send("PRIVMSG #team-1 :still here?").await;
    assert_eq!(irc.expect("404").await.params[1], "#team-1");
    irc.send("PART #team-1").await;
    assert_eq!(irc.expect("442").await.params[1], "#team-1");
    irc.send("JOIN bad,name").await;
    assert_eq!(irc.expect("476").await.params[1], "bad");
    // A member of one room other than the default one sees joins in that room.
    irc.send("JOIN #solo").await;
    irc.expect("366").await;
    irc.send("PART #lobby").await;
    assert_eq!(irc.expect("PART").await.params[0], "#lobby");
    nc.send("/join #solo").await;
    let join = irc.expect("JOIN").await;
    assert_eq!((from(&join), join.params[0].as_str()), ("alice", "#solo"));
    server.stop().await;
    db.cleanup().await;
}
