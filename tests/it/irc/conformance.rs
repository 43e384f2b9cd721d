//! What the IRC community's server test suite (irctest) checks, kept here over raw sockets so a
//! regression fails `cargo test` too: USER's empty real name, `userhost-in-names`, SASL's
//! unknown mechanisms, chunk limits and SASL after registration, the client tag limit,
//! USERHOST's away flag, LIST of channels that exist, WHO masks (everyone being invisible),
//! WHOIS's user name, KICK on a channel that does not exist, the topic burst on join (332 and
//! 333), the PREFIX token, and names IRC cannot carry shown in fullwidth.

use sockhub_store::Role;
use sockhub_store::testing::backends;

use super::{IrcClient, irc_on, plain, server};
use crate::support::Db;

#[tokio::test]
async fn user_with_an_empty_real_name_needs_more_params() {
    let server = server(|_| {}).await;
    let mut c = IrcClient::connect(server.addr("irc")).await;
    c.send("NICK alice").await;
    c.send("USER alice 0 * :").await;
    let m = c.expect("461").await;
    assert_eq!(m.params[..2], ["alice", "USER"]);
    // The registration goes on once USER is right.
    c.send("USER alice 0 * :Alice").await;
    c.expect("001").await;
    server.stop().await;
}

#[tokio::test]
async fn userhost_in_names_shows_full_sources_and_prefix_names_voice() {
    let server = server(|_| {}).await;
    let _bob = IrcClient::register(server.addr("irc"), "bob").await;
    let mut c = IrcClient::connect(server.addr("irc")).await;
    c.send("CAP LS 302").await;
    let ls = c.expect("CAP").await;
    assert!(ls.params[2].split(' ').any(|c| c == "userhost-in-names"), "{ls}");
    c.send("CAP REQ :multi-prefix userhost-in-names").await;
    let ack = c.expect("CAP").await;
    assert_eq!(ack.params[1..], ["ACK", "multi-prefix userhost-in-names"]);
    c.send("NICK alice").await;
    c.send("USER ali 0 * :Alice").await;
    c.send("CAP END").await;
    let (burst, _) = c.until("251").await;
    let isupport: Vec<&str> = burst
        .iter()
        .filter(|m| m.command == "005")
        .flat_map(|m| m.params.iter().map(String::as_str))
        .collect();
    assert!(isupport.contains(&"PREFIX=(ov)@+"), "{isupport:?}");
    let names = c.expect("353").await;
    assert_eq!(names.params[3], "alice!ali@sockhub bob!bob@sockhub");
    server.stop().await;
}

#[tokio::test]
async fn sasl_chunks_are_bounded_and_sasl_after_registration_is_refused_to_guests() {
    let b = &backends()[0];
    let db = Db::with_account(b, "sam", "sam-pw-1", Role::Member).await;
    let server = db.server(irc_on).await;
    let mut c = IrcClient::connect(server.addr("irc")).await;
    c.send("CAP REQ :sasl").await;
    c.expect("CAP").await;
    // A mechanism sockhub does not offer: 904 at once, then the ones it does.
    c.send("AUTHENTICATE FOO").await;
    let (before, _) = c.until("904").await;
    assert!(before.iter().all(|m| m.command != "908"), "{before:?}");
    assert_eq!(c.msg().await.params[1], "PLAIN");
    c.send("AUTHENTICATE PLAIN").await;
    assert_eq!(c.expect("AUTHENTICATE").await.params, ["+"]);
    // One line over 400 bytes: too long.
    c.send(&format!("AUTHENTICATE {}", "A".repeat(404))).await;
    c.expect("905").await;
    // 400-byte chunks without end: the exchange fails once they outgrow any PLAIN payload.
    c.send("AUTHENTICATE PLAIN").await;
    assert_eq!(c.expect("AUTHENTICATE").await.params, ["+"]);
    for _ in 0..10 {
        c.send(&format!("AUTHENTICATE {}", "eHh4".repeat(100))).await;
    }
    let (before, _) = c.until("904").await;
    assert!(before.iter().all(|m| m.command != "903"), "{before:?}");
    // The connection goes on, and a real login works afterwards.
    c.send("AUTHENTICATE PLAIN").await;
    assert_eq!(c.expect("AUTHENTICATE").await.params, ["+"]);
    c.send(&format!("AUTHENTICATE {}", plain("sam", "sam-pw-1"))).await;
    c.expect("903").await;
    c.send("NICK sam").await;
    c.send("USER sam 0 * :Sam").await;
    c.send("CAP END").await;
    c.expect("001").await;
    c.send("AUTHENTICATE PLAIN").await;
    assert_eq!(c.expect("907").await.params[0], "sam");
    // A guest cannot become an account by SASL once registered.
    let mut guest = IrcClient::register(server.addr("irc"), "gus").await;
    guest.send("AUTHENTICATE PLAIN").await;
    guest.expect("462").await;
    server.stop().await;
    db.cleanup().await;
}

#[tokio::test]
async fn client_tags_over_4094_bytes_get_417_and_are_not_relayed() {
    let server = server(|_| {}).await;
    let mut alice = IrcClient::with_caps(server.addr("irc"), "alice", "message-tags").await;
    alice.expect("366").await;
    let mut bob = IrcClient::register(server.addr("irc"), "bob").await;
    alice.expect("JOIN").await;
    alice.send(&format!("@+example={} PRIVMSG #lobby :monster", "a".repeat(4096))).await;
    let m = alice.expect("417").await;
    assert_eq!(m.params[0], "alice");
    // A tag section just within the limit is taken; bob sees that line, and not the monster.
    alice.send(&format!("@+example={} PRIVMSG #lobby :fits", "a".repeat(4094 - 9))).await;
    let m = bob.privmsg().await;
    assert_eq!(m.params, ["#lobby", "fits"]);
    server.stop().await;
}

#[tokio::test]
async fn userhost_shows_the_user_name_and_away_state() {
    let server = server(|_| {}).await;
    let mut alice = IrcClient::register(server.addr("irc"), "alice").await;
    let mut bob = IrcClient::connect(server.addr("irc")).await;
    bob.send("NICK bob").await;
    bob.send("USER bobby 0 * :Bob").await;
    bob.expect("366").await;
    alice.send("USERHOST bob").await;
    assert_eq!(alice.expect("302").await.params[1], "bob=+bobby@sockhub");
    bob.send("AWAY :lunch").await;
    bob.expect("306").await;
    alice.send("USERHOST bob").await;
    assert_eq!(alice.expect("302").await.params[1], "bob=-bobby@sockhub");
    server.stop().await;
}

#[tokio::test]
async fn list_shows_only_channels_with_members_and_only_those_named() {
    let server = server(|c| c.irc.auto_join = false).await;
    let mut c = IrcClient::connect(server.addr("irc")).await;
    c.send("NICK carol").await;
    c.send("USER carol 0 * :Carol").await;
    c.expect("376").await;
    // #lobby exists for the chat but nobody is in it: no such IRC channel.
    c.send("LIST").await;
    let (lines, _) = c.until("323").await;
    assert!(lines.iter().all(|m| m.command != "322"), "{lines:?}");
    c.send("JOIN #one,#two").await;
    c.expect("366").await;
    c.expect("366").await;
    c.send("LIST #two").await;
    let (lines, _) = c.until("323").await;
    let listed: Vec<&str> =
        lines.iter().filter(|m| m.command == "322").map(|m| m.params[1].as_str()).collect();
    assert_eq!(listed, ["#two"]);
    c.send("LIST #nonexistent").await;
    let (lines, _) = c.until("323").await;
    assert!(lines.iter().all(|m| m.command == "321"), "{lines:?}");
    server.stop().await;
}

#[tokio::test]
async fn who_takes_masks_and_whois_shows_the_user_name() {
    let server = server(|_| {}).await;
    let mut cool = IrcClient::connect(server.addr("irc")).await;
    cool.send("NICK coolNick").await;
    cool.send("USER myusernam 0 * :My Real Name").await;
    cool.expect("366").await;
    let mut other = IrcClient::register(server.addr("irc"), "otherNick").await;
    other.send("WHO coolni*").await;
    let (replies, end) = other.until("315").await;
    let replies: Vec<_> = replies.into_iter().filter(|m| m.command == "352").collect();
    assert_eq!(replies.len(), 1, "{replies:?}");
    assert_eq!(replies[0].params[1..7], ["*", "myusernam", "sockhub", "irc.test", "coolNick", "H"]);
    assert_eq!(replies[0].params[7], "0 My Real Name");
    assert_eq!(end.params[1], "coolni*");
    other.send("WHO zz*").await;
    let (replies, _) = other.until("315").await;
    assert!(replies.iter().all(|m| m.command != "352"), "{replies:?}");
    other.send("WHOIS coolnick").await;
    let user = other.expect("311").await;
    assert_eq!(user.params[1..5], ["coolNick", "myusernam", "sockhub", "*"]);
    assert_eq!(user.params[5], "My Real Name");
    server.stop().await;
}

#[tokio::test]
async fn kick_on_a_channel_that_does_not_exist_is_403() {
    let server = server(|_| {}).await;
    let mut c = IrcClient::register(server.addr("irc"), "nick").await;
    c.send("KICK #nonexistent other :go").await;
    let m = c.expect("403").await;
    assert_eq!(m.params[1], "#nonexistent");
    // On a channel that exists a member still needs to be an operator.
    c.send("KICK #lobby other").await;
    c.expect("482").await;
    server.stop().await;
}

#[tokio::test]
async fn joining_a_channel_with_a_topic_shows_332_and_333() {
    let b = &backends()[0];
    let db = Db::with_account(b, "boss", "boss-pw-1", Role::Admin).await;
    let server = db.server(irc_on).await;
    let mut boss = IrcClient::sasl(server.addr("irc"), "boss", "boss-pw-1", "").await;
    boss.send("JOIN #plans").await;
    boss.expect("366").await;
    boss.send("TOPIC #plans :Sprint 3").await;
    boss.expect("TOPIC").await;
    let mut bob = IrcClient::register(server.addr("irc"), "bob").await;
    bob.send("JOIN #plans").await;
    let (burst, _) = bob.until("366").await;
    let commands: Vec<&str> = burst.iter().map(|m| m.command.as_str()).collect();
    assert_eq!(commands, ["JOIN", "332", "333", "353"], "{burst:?}");
    assert_eq!(burst[1].params[1..], ["#plans", "Sprint 3"]);
    assert_eq!(burst[2].params[1..3], ["#plans", "boss"]);
    let at: i64 = burst[2].params[3].parse().expect("seconds since the epoch");
    assert!(at > 1_600_000_000, "{at}");
    assert!(burst.iter().all(|m| m.command != "TOPIC"), "{burst:?}");
    server.stop().await;
}

#[tokio::test]
async fn names_irc_cannot_carry_show_in_fullwidth_and_still_reach_their_user() {
    let server = server(|_| {}).await;
    let mut bob = IrcClient::register(server.addr("irc"), "bob").await;
    // Legal sockhub names (no spaces, not starting with `/`) that mean something to IRC.
    let mut odd = crate::support::Client::chat_text(server.chat(), "a!b:c").await;
    let mut hash = crate::support::Client::chat_text(server.chat(), "#x.y").await;
    let join = bob.expect("JOIN").await;
    assert_eq!(join.source.as_deref(), Some("a！b：c!a！b：c@sockhub"));
    let join = bob.expect("JOIN").await;
    assert_eq!(join.source.as_deref(), Some("＃x．y!＃x．y@sockhub"));
    bob.send("NAMES #lobby").await;
    assert_eq!(bob.expect("353").await.params[3], "＃x．y a！b：c bob");
    // What they say comes from the shown nick; what bob sends to it reaches them.
    odd.send("hello IRC").await;
    let m = bob.privmsg().await;
    assert_eq!((super::from(&m), m.params[1].as_str()), ("a！b：c", "hello IRC"));
    bob.send("PRIVMSG a！b：c :psst").await;
    assert_eq!(odd.until_prefix("<<< [from bob]").await, "<<< [from bob] psst");
    bob.send("PRIVMSG ＃x．y :psst too").await;
    assert_eq!(hash.until_prefix("<<< [from bob]").await, "<<< [from bob] psst too");
    bob.send("WHOIS ＃x．y").await;
    assert_eq!(bob.expect("311").await.params[1], "＃x．y");
    bob.send("ISON a!b:c a！b：c nobody").await;
    assert_eq!(bob.expect("303").await.params[1], "a！b：c a！b：c");
    bob.send("USERHOST a!b:c").await;
    assert_eq!(bob.expect("302").await.params[1], "a！b：c=+a！b：c@sockhub");
    bob.send("CAP REQ userhost-in-names").await;
    bob.expect("CAP").await;
    bob.send("NAMES #lobby").await;
    let names = bob.expect("353").await;
    assert_eq!(names.params[3], "＃x．y!＃x．y@sockhub a！b：c!a！b：c@sockhub bob!bob@sockhub");
    // An IRC user cannot take the shown form of a name that is online.
    let mut eve = IrcClient::connect(server.addr("irc")).await;
    eve.send("NICK a！b：c").await;
    eve.send("USER eve 0 * :Eve").await;
    eve.expect("433").await;
    server.stop().await;
}

#[tokio::test]
async fn who_masks_find_only_users_sharing_a_room_as_everyone_is_invisible() {
    let server = server(|c| c.irc.auto_join = false).await;
    let mut evan = IrcClient::connect(server.addr("irc")).await;
    evan.send("NICK evan").await;
    evan.send("USER evan 0 * :Evan").await;
    evan.expect("376").await;
    evan.send("MODE evan").await;
    assert_eq!(evan.expect("221").await.params[1], "+i");
    let mut shiv = IrcClient::connect(server.addr("irc")).await;
    shiv.send("NICK shivaram").await;
    shiv.send("USER shiv 0 * :Shivaram").await;
    shiv.expect("376").await;
    let who = async |c: &mut IrcClient, mask: &str| -> Vec<String> {
        c.send(&format!("WHO {mask}")).await;
        let (lines, _) = c.until("315").await;
        lines.into_iter().filter(|m| m.command == "352").map(|m| m.params[5].clone()).collect()
    };
    assert!(who(&mut shiv, "eva*").await.is_empty());
    assert_eq!(who(&mut shiv, "*").await, ["shivaram"], "the asker sees themself");
    assert_eq!(who(&mut shiv, "evan").await, ["evan"], "a plain nick finds anyone online");
    evan.send("JOIN #test").await;
    evan.expect("366").await;
    shiv.send("JOIN #test").await;
    shiv.expect("366").await;
    assert_eq!(who(&mut shiv, "eva*").await, ["evan"]);
    server.stop().await;
}
