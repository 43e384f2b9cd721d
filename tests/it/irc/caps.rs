//! IRCv3: CAP LS/REQ/ACK/NAK/LIST/END, SASL PLAIN against sockhub accounts (required in
//! `auth = "accounts"` mode), echo-message, server-time, account-tag, away-notify, and the
//! room's history as a `chathistory` batch on joining.

use sockhub_server::config::Admission;
use sockhub_store::Role;
use sockhub_store::testing::backends;

use super::{IrcClient, from, irc_on, plain, server};
use crate::support::{Client, Db, add_account};

#[tokio::test]
async fn capabilities_are_negotiated_and_tags_follow_them() {
    let server = server(|_| {}).await;
    let mut c = IrcClient::connect(server.addr("irc")).await;
    c.send("CAP LS 302").await;
    let ls = c.expect("CAP").await;
    assert_eq!(ls.params[..2], ["*", "LS"]);
    for cap in [
        "sasl=PLAIN",
        "server-time",
        "message-tags",
        "echo-message",
        "multi-prefix",
        "cap-notify",
        "account-tag",
        "away-notify",
        "batch",
    ] {
        assert!(ls.params[2].split(' ').any(|c| c == cap), "{cap} not in {ls}");
    }
    c.send("CAP REQ :server-time bogus-cap").await;
    assert_eq!(c.expect("CAP").await.params[1], "NAK");
    c.send("CAP REQ :server-time echo-message").await;
    let ack = c.expect("CAP").await;
    assert_eq!(ack.params[1..], ["ACK", "server-time echo-message"]);
    c.send("NICK tagged").await;
    c.send("USER tagged 0 * :T").await;
    // Registration waits for CAP END.
    c.send("PING :waiting").await;
    let (before, _) = c.until("PONG").await;
    assert!(before.iter().all(|m| m.command != "001"), "{before:?}");
    c.send("CAP LIST").await;
    let list = c.expect("CAP").await;
    assert_eq!(list.params[1..], ["LIST", "server-time echo-message cap-notify"]);
    c.send("CAP END").await;
    c.expect("366").await;
    // echo-message: the sender sees its own message, with server-time's tag.
    c.send("@+client-tag=1 PRIVMSG #lobby :echo me").await;
    let echo = c.privmsg().await;
    assert_eq!((from(&echo), echo.params[1].as_str()), ("tagged", "echo me"));
    let time = echo.tags.iter().find(|t| t.key == "time").expect("a time tag");
    assert!(time.value.as_deref().unwrap().ends_with('Z'), "{echo}");
    // A client without the caps gets no tags.
    let mut plain_client = IrcClient::register(server.addr("irc"), "untagged").await;
    c.send("PRIVMSG #lobby :no tags for you").await;
    let m = plain_client.privmsg().await;
    assert!(m.tags.is_empty(), "{m}");
    server.stop().await;
}

#[tokio::test]
async fn sasl_plain_logs_in_to_accounts_and_accounts_mode_requires_it() {
    let db = Db::with_account(&backends()[0], "kim", "kim-secret-1", Role::Member).await;
    add_account(&db.store, "민수", "minsu-secret-1", Role::Member).await;
    let server = db
        .server(|c| {
            irc_on(c);
            c.chat.auth = Admission::Accounts;
        })
        .await;
    let addr = server.addr("irc");
    // No SASL: refused with a reason.
    let mut guest = IrcClient::connect(addr).await;
    guest.send("NICK guest").await;
    guest.send("USER guest 0 * :G").await;
    let lines = guest.raw.closed().await;
    assert!(lines.iter().any(|l| l.contains("FAIL * ACCOUNT_REQUIRED")), "{lines:?}");
    // A wrong password: 904, and the client may try again.
    let mut c = IrcClient::connect(addr).await;
    c.send("CAP LS 302").await;
    c.send("CAP REQ :sasl account-tag").await;
    c.send("NICK kim").await;
    c.send("USER kim 0 * :Kim").await;
    c.send("AUTHENTICATE PLAIN").await;
    c.expect("AUTHENTICATE").await;
    c.send(&format!("AUTHENTICATE {}", plain("kim", "wrong-password"))).await;
    c.expect("904").await;
    c.send("AUTHENTICATE PLAIN").await;
    c.expect("AUTHENTICATE").await;
    c.send(&format!("AUTHENTICATE {}", plain("kim", "kim-secret-1"))).await;
    let logged_in = c.expect("900").await;
    assert_eq!(logged_in.params[2], "kim");
    c.expect("903").await;
    c.send("CAP END").await;
    assert_eq!(c.expect("001").await.params[0], "kim");
    c.expect("366").await;
    // A Hangul account, and account-tag on its messages.
    let mut minsu = IrcClient::sasl(addr, "민수", "minsu-secret-1", "").await;
    minsu.send("PRIVMSG #lobby :안녕하세요").await;
    let m = c.privmsg().await;
    assert_eq!((from(&m), m.params[1].as_str()), ("민수", "안녕하세요"));
    let account = m.tags.iter().find(|t| t.key == "account").expect("an account tag");
    assert_eq!(account.value.as_deref(), Some("민수"));
    c.send("WHOIS 민수").await;
    let whois = c.expect("330").await;
    assert_eq!(whois.params[2], "민수");
    server.stop().await;
    db.cleanup().await;
}

#[tokio::test]
async fn history_comes_in_a_chathistory_batch_with_server_time() {
    let server = server(|_| {}).await;
    let mut nc = Client::chat_text(server.chat(), "alice").await;
    nc.send("first line").await;
    nc.line().await;
    nc.send("second line").await;
    nc.line().await;
    let mut c = IrcClient::with_caps(server.addr("irc"), "late", "batch server-time").await;
    let start = c.expect("BATCH").await;
    let id = start.params[0].strip_prefix('+').expect("a batch start").to_owned();
    assert_eq!(start.params[1..], ["chathistory", "#lobby"]);
    for text in ["first line", "second line"] {
        let m = c.msg().await;
        assert_eq!((m.command.as_str(), from(&m), m.params[1].as_str()), ("PRIVMSG", "alice", text));
        assert!(m.tags.iter().any(|t| t.key == "batch" && t.value.as_deref() == Some(&id)), "{m}");
        assert!(m.tags.iter().any(|t| t.key == "time"), "{m}");
    }
    let end = c.msg().await;
    assert_eq!((end.command.as_str(), end.params[0].clone()), ("BATCH", format!("-{id}")));
    // Without batch, the history still comes, as plain PRIVMSGs.
    let mut old = IrcClient::connect(server.addr("irc")).await;
    old.send("NICK old").await;
    old.send("USER old 0 * :Old").await;
    let (_, first) = old.until("PRIVMSG").await;
    assert_eq!(first.params[1], "first line");
    server.stop().await;
}

#[tokio::test]
async fn away_is_shown_to_away_notify_clients_and_in_whois() {
    let server = server(|_| {}).await;
    let mut watcher = IrcClient::with_caps(server.addr("irc"), "watcher", "away-notify").await;
    watcher.expect("366").await;
    let mut sleeper = IrcClient::register(server.addr("irc"), "sleeper").await;
    sleeper.send("AWAY :gone fishing").await;
    sleeper.expect("306").await;
    let away = watcher.expect("AWAY").await;
    assert_eq!((from(&away), away.params.as_slice()), ("sleeper", &["gone fishing".to_owned()][..]));
    watcher.send("PRIVMSG sleeper :you there?").await;
    assert_eq!(watcher.expect("301").await.params[1..], ["sleeper", "gone fishing"]);
    watcher.send("WHOIS sleeper").await;
    let (lines, _) = watcher.until("318").await;
    assert!(lines.iter().any(|m| m.command == "301"), "{lines:?}");
    sleeper.send("AWAY").await;
    sleeper.expect("305").await;
    let back = watcher.expect("AWAY").await;
    assert!(back.params.is_empty(), "{back}");
    server.stop().await;
}

#[tokio::test]
async fn client_only_tags_and_msgid_reach_message_tags_readers_only() {
    let server = server(|_| {}).await;
    let mut alice = IrcClient::with_caps(server.addr("irc"), "alice", "message-tags").await;
    alice.expect("366").await;
    let mut bob = IrcClient::with_caps(server.addr("irc"), "bob", "message-tags echo-message").await;
    bob.expect("366").await;
    let mut carol = IrcClient::register(server.addr("irc"), "carol").await;
    let mut js = crate::support::Client::chat_json(server.chat(), "jay").await;
    alice.send("@+baz=bat;fizz=buzz PRIVMSG #lobby :hi").await;
    let m = bob.privmsg().await;
    assert_eq!(m.params, ["#lobby", "hi"]);
    let tag = |m: &sockhub_proto::irc::Message, key: &str| {
        m.tags.iter().find(|t| t.key == key).map(|t| t.value.clone().unwrap_or_default())
    };
    assert_eq!(tag(&m, "+baz").as_deref(), Some("bat"));
    assert_eq!(tag(&m, "fizz"), None, "only client-only tags are relayed");
    let first = tag(&m, "msgid").expect("a msgid");
    let m = carol.privmsg().await;
    assert!(m.tags.is_empty(), "no tags without message-tags: {m}");
    let json = js.json_of("message").await;
    assert_eq!(json["id"].as_str(), Some(first.as_str()), "the same id in JSON");
    // bob's own line, echoed: his tags, another id.
    bob.send("@+bat=baz PRIVMSG #lobby :hi yourself").await;
    let echo = bob.privmsg().await;
    let m = alice.privmsg().await;
    for m in [&echo, &m] {
        assert_eq!(tag(m, "+bat").as_deref(), Some("baz"));
        assert_ne!(tag(m, "msgid").as_deref(), Some(first.as_str()));
    }
    assert_eq!(tag(&echo, "msgid"), tag(&m, "msgid"));
    // TAGMSG: to tag readers only; carol and jay get nothing.
    alice.send("@+typing=active;other=x TAGMSG #lobby").await;
    let t = bob.expect("TAGMSG").await;
    assert_eq!((super::from(&t), t.params.as_slice()), ("alice", &["#lobby".to_owned()][..]));
    assert_eq!(tag(&t, "+typing").as_deref(), Some("active"));
    assert_eq!(tag(&t, "other"), None);
    assert!(tag(&t, "msgid").is_some());
    alice.send("PRIVMSG #lobby :after the tags").await;
    let (before, m) = carol.until("PRIVMSG").await;
    assert_eq!(m.params[1], "hi yourself");
    let (more, m) = carol.until("PRIVMSG").await;
    assert_eq!(m.params[1], "after the tags");
    assert!(before.iter().chain(&more).all(|m| m.command != "TAGMSG"), "{more:?}");
    let json = js.json_of("message").await;
    assert_eq!(json["text"], "hi yourself");
    assert_eq!(js.json().await["text"], "after the tags", "nothing for JSON readers in between");
    // A private message keeps its client-only tags too, for a reader that asked for them (and in
    // the sender's echo); not for one that did not, and not in JSON.
    assert_eq!(bob.privmsg().await.params[1], "after the tags");
    alice.send("@+draft/reply=abc;other=x PRIVMSG bob :psst").await;
    let m = bob.privmsg().await;
    assert_eq!(m.params, ["bob", "psst"]);
    assert_eq!(tag(&m, "+draft/reply").as_deref(), Some("abc"));
    assert_eq!(tag(&m, "other"), None);
    let whisper_id = tag(&m, "msgid").expect("a msgid on a private message");
    bob.send("@+react=yes NOTICE alice :ok").await;
    let (echo, m) = (bob.expect("NOTICE").await, alice.expect("NOTICE").await);
    for m in [&echo, &m] {
        assert_eq!(tag(m, "+react").as_deref(), Some("yes"));
    }
    assert_eq!(tag(&echo, "msgid"), tag(&m, "msgid"), "the echo has the same id");
    assert_ne!(tag(&m, "msgid"), Some(whisper_id.clone()));
    alice.send("@+draft/reply=abc PRIVMSG carol :psst").await;
    assert!(carol.privmsg().await.tags.is_empty());
    alice.send("@+draft/reply=abc PRIVMSG jay :psst").await;
    let w = js.json_of("whisper").await;
    assert_eq!(w.as_object().unwrap().keys().collect::<Vec<_>>(), ["at", "from", "id", "text", "to", "type"]);
    assert_ne!(w["id"].as_str(), Some(whisper_id.as_str()));
    server.stop().await;
}
