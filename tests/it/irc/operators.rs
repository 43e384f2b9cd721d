//! Room operators on IRC: the creator of a channel is its operator (`@` in NAMES, WHO and
//! WHOIS), may KICK and set the TOPIC there and hand operator status on with `MODE +o`/`-o`,
//! but has no power in another channel, nor over an admin; a PART reason reaches the channel,
//! and a NOTICE to a channel or a nick stays a NOTICE for IRC readers.

use sockhub_store::Role;
use sockhub_store::testing::backends;

use super::{IrcClient, irc_on, server};
use crate::support::{Client, Db};

#[tokio::test]
async fn the_creator_of_a_channel_is_its_operator_in_names_who_and_whois() {
    let server = server(|_| {}).await;
    let mut alice = IrcClient::register(server.addr("irc"), "alice").await;
    let mut bob = IrcClient::register(server.addr("irc"), "bob").await;
    alice.send("JOIN #new").await;
    assert_eq!(alice.expect("353").await.params[3], "@alice");
    bob.send("JOIN #new").await;
    assert_eq!(bob.expect("353").await.params[3], "@alice bob");
    bob.send("WHO #new").await;
    let (who, _) = bob.until("315").await;
    let flags: Vec<(&str, &str)> = who
        .iter()
        .filter(|m| m.command == "352")
        .map(|m| (m.params[5].as_str(), m.params[6].as_str()))
        .collect();
    assert_eq!(flags, [("alice", "H@"), ("bob", "H")]);
    bob.send("WHOIS alice").await;
    let channels = bob.expect("319").await;
    let mut list: Vec<&str> = channels.params[2].split(' ').collect();
    list.sort_unstable();
    assert_eq!(list, ["#lobby", "@#new"], "an operator of #new only");
    // The default room has no operator but admins.
    bob.send("NAMES #lobby").await;
    assert_eq!(bob.expect("353").await.params[3], "alice bob");
    // Leaving ends it: back in #new (kept alive by bob), alice is a plain member.
    alice.send("PART #new").await;
    alice.expect("PART").await;
    alice.send("JOIN #new").await;
    assert_eq!(alice.expect("353").await.params[3], "alice bob");
    server.stop().await;
}

#[tokio::test]
async fn a_channel_operator_kicks_sets_the_topic_and_passes_operator_status_on() {
    let server = server(|_| {}).await;
    let mut alice = IrcClient::register(server.addr("irc"), "alice").await;
    let mut bob = IrcClient::register(server.addr("irc"), "bob").await;
    alice.send("JOIN #new").await;
    alice.expect("366").await;
    bob.send("JOIN #new").await;
    bob.expect("366").await;
    // A member is refused.
    bob.send("TOPIC #new :mine").await;
    assert_eq!(bob.expect("482").await.params[1], "#new");
    bob.send("KICK #new alice").await;
    bob.expect("482").await;
    bob.send("MODE #new +o bob").await;
    bob.expect("482").await;
    // The operator may.
    alice.send("TOPIC #new :hello").await;
    let topic = bob.expect("TOPIC").await;
    assert_eq!(topic.params, ["#new", "hello"]);
    assert_eq!(alice.expect("TOPIC").await.params, ["#new", "hello"]);
    alice.send("MODE #new +o bob").await;
    let mode = bob.expect("MODE").await;
    assert_eq!(super::from(&mode), "alice");
    assert_eq!(mode.params, ["#new", "+o", "bob"]);
    bob.send("NAMES #new").await;
    assert_eq!(bob.expect("353").await.params[3], "@alice @bob");
    bob.send("TOPIC #new :now mine").await;
    assert_eq!(alice.expect("TOPIC").await.params, ["#new", "now mine"]);
    alice.send("MODE #new -o bob").await;
    assert_eq!(bob.expect("MODE").await.params, ["#new", "-o", "bob"]);
    bob.send("TOPIC #new :again").await;
    bob.expect("482").await;
    // No power in another channel.
    alice.send("KICK #lobby bob").await;
    assert_eq!(alice.expect("482").await.params[1], "#lobby");
    alice.send("TOPIC #lobby :mine").await;
    alice.expect("482").await;
    alice.send("KICK #new bob :out").await;
    let kick = bob.expect("KICK").await;
    assert_eq!(kick.params, ["#new", "bob", "out"]);
    bob.send("NAMES #new").await;
    assert_eq!(bob.expect("353").await.params[3], "@alice");
    // bob is still connected, and in #lobby.
    bob.send("PRIVMSG #lobby :still here").await;
    assert_eq!(alice.privmsg().await.params, ["#lobby", "still here"]);
    server.stop().await;
}

#[tokio::test]
async fn a_channel_operator_has_no_power_over_an_admin() {
    let db = Db::with_account(&backends()[0], "boss", "boss-secret-1", Role::Admin).await;
    let server = db.server(irc_on).await;
    let mut alice = IrcClient::register(server.addr("irc"), "alice").await;
    let mut boss = IrcClient::sasl(server.addr("irc"), "boss", "boss-secret-1", "").await;
    alice.send("JOIN #new").await;
    alice.expect("366").await;
    boss.send("JOIN #new").await;
    assert_eq!(boss.expect("353").await.params[3], "@alice @boss");
    alice.send("KICK #new boss").await;
    alice.expect("482").await;
    alice.send("MODE #new -o boss").await;
    alice.expect("482").await;
    // The admin is an operator everywhere, the creator's too.
    boss.send("MODE #new -o alice").await;
    assert_eq!(alice.expect("MODE").await.params, ["#new", "-o", "alice"]);
    boss.send("KICK #new alice :bye").await;
    assert_eq!(alice.expect("KICK").await.params, ["#new", "alice", "bye"]);
    server.stop().await;
}

#[tokio::test]
async fn a_part_reason_reaches_the_channel() {
    let server = server(|_| {}).await;
    let mut alice = IrcClient::register(server.addr("irc"), "alice").await;
    let mut bob = IrcClient::register(server.addr("irc"), "bob").await;
    alice.send("PART #lobby :see you later").await;
    let part = bob.expect("PART").await;
    assert_eq!(super::from(&part), "alice");
    assert_eq!(part.params, ["#lobby", "see you later"]);
    assert_eq!(alice.expect("PART").await.params, ["#lobby", "see you later"]);
    server.stop().await;
}

/// A server with alice at `nc`, jay in JSON, and bob and carol on IRC, all in the lobby.
async fn four_in_the_lobby() -> (crate::support::TestServer, Client, Client, IrcClient, IrcClient) {
    let server = server(|_| {}).await;
    let mut nc = Client::chat_text(server.chat(), "alice").await;
    let js = Client::chat_json(server.chat(), "jay").await;
    let bob = IrcClient::register(server.addr("irc"), "bob").await;
    let carol = IrcClient::register(server.addr("irc"), "carol").await;
    nc.until("[carol] joined (4 online)").await;
    (server, nc, js, bob, carol)
}

#[tokio::test]
async fn a_notice_to_a_channel_is_a_notice_on_irc_and_a_message_elsewhere() {
    let (server, mut nc, mut js, mut bob, mut carol) = four_in_the_lobby().await;
    bob.send("NOTICE #lobby :heads up").await;
    let m = carol.expect("NOTICE").await;
    assert_eq!(super::from(&m), "bob");
    assert_eq!(m.params, ["#lobby", "heads up"]);
    assert_eq!(nc.line().await, "[bob] heads up");
    let m = js.json_of("message").await;
    assert_eq!((m["text"].as_str(), m["notice"].as_bool()), (Some("heads up"), Some(true)));
    // A JSON `say` with `notice` is a NOTICE too; a plain one a PRIVMSG.
    js.send_json(serde_json::json!({"type": "say", "text": "fyi", "notice": true})).await;
    assert_eq!(carol.expect("NOTICE").await.params, ["#lobby", "fyi"]);
    js.send_json(serde_json::json!({"type": "say", "text": "hi"})).await;
    assert_eq!(carol.expect("PRIVMSG").await.params, ["#lobby", "hi"]);
    server.stop().await;
}

#[tokio::test]
async fn a_notice_to_a_nick_is_a_notice_on_irc_and_a_whisper_elsewhere() {
    let (server, mut nc, mut js, mut bob, mut carol) = four_in_the_lobby().await;
    // Not a PRIVMSG: a bot that answers private messages must never answer a notice.
    bob.send("NOTICE carol :heads up").await;
    let (before, m) = carol.until("NOTICE").await;
    assert!(before.iter().all(|m| m.command != "PRIVMSG"), "{before:?}");
    assert_eq!((super::from(&m), m.params.as_slice()), ("bob", &["carol".to_owned(), "heads up".into()][..]));
    // Elsewhere it is a whisper; JSON says it was a notice.
    bob.send("NOTICE alice :psst").await;
    assert_eq!(nc.line().await, "<<< [from bob] psst");
    bob.send("NOTICE jay :psst").await;
    let w = js.json_of("whisper").await;
    assert_eq!(
        (w["from"].as_str(), w["text"].as_str(), w["notice"].as_bool()),
        (Some("bob"), Some("psst"), Some(true))
    );
    // A JSON `whisper` with `notice` is a NOTICE on IRC; a plain one a PRIVMSG.
    js.send_json(serde_json::json!({"type": "whisper", "to": "carol", "text": "fyi", "notice": true})).await;
    assert_eq!(carol.expect("NOTICE").await.params, ["carol", "fyi"]);
    js.send_json(serde_json::json!({"type": "whisper", "to": "carol", "text": "hi"})).await;
    assert_eq!(carol.expect("PRIVMSG").await.params, ["carol", "hi"]);
    // An away user's notice gets no RPL_AWAY back (no automatic reply to a notice), a PRIVMSG does.
    carol.send("AWAY :lunch").await;
    carol.expect("306").await;
    bob.send("NOTICE carol :still there?").await;
    bob.send("PING :mark").await;
    let (before, _) = bob.until("PONG").await;
    assert!(before.iter().all(|m| m.command != "301"), "{before:?}");
    bob.send("PRIVMSG carol :still there?").await;
    assert_eq!(bob.expect("301").await.params[1..], ["carol", "lunch"]);
    server.stop().await;
}
