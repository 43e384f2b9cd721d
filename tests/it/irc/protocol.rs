//! Registration, the numerics around it, PING/PONG both ways, QUIT, and what IRC does with bad
//! input: unknown commands, invalid UTF-8, over-long lines, bad nicks, wrong passwords.

use super::{IrcClient, from, server};
use crate::support::Client;

#[tokio::test]
async fn registration_sends_the_welcome_burst_and_joins_the_lobby() {
    let server = server(|_| {}).await;
    let mut c = IrcClient::connect(server.addr("irc")).await;
    c.send("NICK alice").await;
    c.send("USER alice 0 * :Alice Example").await;
    let (_, welcome) = c.until("001").await;
    assert_eq!(welcome.source.as_deref(), Some("irc.test"));
    assert_eq!(welcome.params[0], "alice");
    assert!(welcome.params[1].contains("alice"), "{welcome}");
    assert_eq!(c.msg().await.command, "002");
    assert_eq!(c.msg().await.command, "003");
    let myinfo = c.msg().await;
    assert_eq!((myinfo.command.as_str(), myinfo.params[1].as_str()), ("004", "irc.test"));
    let mut isupport = Vec::new();
    let (before, luser) = c.until("251").await;
    for m in before {
        assert_eq!(m.command, "005");
        isupport.extend(m.params[1..m.params.len() - 1].iter().cloned());
    }
    for token in
        ["CHANTYPES=#", "PREFIX=(ov)@+", "NICKLEN=32", "CHANNELLEN=33", "UTF8ONLY", "NETWORK=sockhub"]
    {
        assert!(isupport.iter().any(|t| t == token), "{token} missing from {isupport:?}");
    }
    assert!(isupport.iter().any(|t| t.starts_with("CASEMAPPING=")), "{isupport:?}");
    assert!(isupport.iter().any(|t| t.starts_with("TOPICLEN=")), "{isupport:?}");
    assert!(luser.params[1].contains("1 users"), "{luser}");
    c.expect("375").await;
    let motd = c.msg().await;
    assert_eq!(motd.command, "372");
    assert!(motd.params[1].contains("sockhub"), "{motd}");
    c.expect("376").await;
    let join = c.msg().await;
    assert_eq!((join.command.as_str(), from(&join), join.params[0].as_str()), ("JOIN", "alice", "#lobby"));
    let names = c.expect("353").await;
    assert_eq!(names.params[2], "#lobby");
    assert_eq!(names.params[3], "alice");
    c.expect("366").await;
    server.stop().await;
}

#[tokio::test]
async fn unknown_commands_get_421_and_unregistered_ones_451() {
    let server = server(|_| {}).await;
    let mut c = IrcClient::connect(server.addr("irc")).await;
    c.send("PRIVMSG #lobby :too early").await;
    let m = c.expect("451").await;
    assert_eq!(m.params[..2], ["*", "PRIVMSG"]);
    c.send("PING :before").await;
    let pong = c.expect("PONG").await;
    assert_eq!(pong.params, ["irc.test", "before"]);
    c.send("NICK bob").await;
    c.send("USER bob 0 * :Bob").await;
    c.expect("366").await;
    c.send("FROBNICATE now").await;
    let m = c.expect("421").await;
    assert_eq!(m.params[..2], ["bob", "FROBNICATE"]);
    c.send("12 x").await;
    assert_eq!(c.expect("421").await.params[1], "12");
    c.send("PING :still-here").await;
    assert_eq!(c.expect("PONG").await.params[1], "still-here");
    server.stop().await;
}

#[tokio::test]
async fn invalid_utf8_and_long_lines_are_refused_and_the_connection_survives() {
    let server = server(|_| {}).await;
    let mut c = IrcClient::register(server.addr("irc"), "carol").await;
    c.raw.send_raw(b"PRIVMSG #lobby :caf\xe9\r\n").await;
    let fail = c.expect("FAIL").await;
    assert_eq!(fail.params[..2], ["*", "INVALID_UTF8"]);
    c.send(&format!("PRIVMSG #lobby :{}", "x".repeat(600))).await;
    let m = c.expect("417").await;
    assert_eq!(m.params[0], "carol");
    c.send("PING :alive").await;
    assert_eq!(c.expect("PONG").await.params[1], "alive");
    server.stop().await;
}

#[tokio::test]
async fn nicks_are_sockhub_names_and_unique_across_transports() {
    let server = server(|_| {}).await;
    let mut nc = Client::chat_text(server.chat(), "alice").await;
    let mut c = IrcClient::connect(server.addr("irc")).await;
    c.send("NICK a!b").await;
    assert_eq!(c.expect("432").await.params[1], "a!b");
    c.send("NICK ALICE").await;
    c.send("USER x 0 * :X").await;
    let m = c.expect("433").await;
    assert_eq!(m.params[1], "ALICE");
    // The client picks another nick, as IRC clients do; Hangul is a name like any other.
    c.send("NICK 민수").await;
    let welcome = c.expect("001").await;
    assert_eq!(welcome.params[0], "민수");
    assert_eq!(nc.line().await, "[민수] joined (2 online)");
    // And a name taken on IRC is taken for nc.
    let mut other = Client::connect(server.chat()).await;
    other.until("* Your name?").await;
    other.send("민수").await;
    assert!(other.line().await.starts_with("! name_taken"));
    server.stop().await;
}

#[tokio::test]
async fn the_connection_password_is_checked() {
    let server = server(|c| c.irc.password = Some("letmein".into())).await;
    let mut wrong = IrcClient::connect(server.addr("irc")).await;
    wrong.send("PASS nope").await;
    wrong.send("NICK dave").await;
    wrong.send("USER dave 0 * :Dave").await;
    let lines = wrong.raw.closed().await;
    assert!(lines.iter().any(|l| l.contains(" 464 ")), "{lines:?}");
    assert!(lines.last().unwrap().starts_with("ERROR "), "{lines:?}");
    let mut right = IrcClient::connect(server.addr("irc")).await;
    right.send("PASS letmein").await;
    right.send("NICK dave").await;
    right.send("USER dave 0 * :Dave").await;
    right.expect("001").await;
    server.stop().await;
}

#[tokio::test]
async fn the_server_pings_a_quiet_client_and_drops_it_when_it_does_not_answer() {
    let server = server(|c| {
        c.irc.ping_secs = 1;
        c.irc.ping_timeout_secs = 1;
    })
    .await;
    let mut c = IrcClient::register(server.addr("irc"), "erin").await;
    let ping = c.expect("PING").await;
    assert_eq!(ping.params, ["irc.test"]);
    c.send("PONG :irc.test").await;
    // Answered: it is pinged again later rather than dropped.
    assert_eq!(c.expect("PING").await.command, "PING");
    // Not answered: dropped.
    let lines = c.raw.closed().await;
    assert_eq!(lines.last().map(String::as_str), Some("ERROR :Closing link: Ping timeout"), "{lines:?}");
    server.stop().await;
}

#[tokio::test]
async fn quit_says_goodbye_and_the_room_sees_the_user_leave() {
    let server = server(|_| {}).await;
    let mut nc = Client::chat_text(server.chat(), "frank").await;
    let mut c = IrcClient::register(server.addr("irc"), "gina").await;
    assert_eq!(nc.line().await, "[gina] joined (2 online)");
    c.send("QUIT :bye all").await;
    let lines = c.raw.closed().await;
    assert!(lines.last().unwrap().starts_with("ERROR "), "{lines:?}");
    assert_eq!(nc.line().await, "[gina] left (1 online)");
    server.stop().await;
}

#[tokio::test]
async fn without_auto_join_an_irc_user_starts_in_no_channel() {
    let server = server(|c| c.irc.auto_join = false).await;
    let mut nc = Client::chat_text(server.chat(), "alice").await;
    let mut c = IrcClient::connect(server.addr("irc")).await;
    c.send("NICK bob").await;
    c.send("USER bobuser 0 * :Bob Real").await;
    c.expect("376").await;
    c.send("WHO bob").await;
    let (before, who) = c.until("352").await;
    assert!(before.iter().all(|m| m.command != "JOIN"), "{before:?}");
    assert_eq!(
        (who.params[1].as_str(), who.params[2].as_str(), who.params[7].as_str()),
        ("*", "bobuser", "0 Bob Real")
    );
    c.send("JOIN #lobby").await;
    let join = c.expect("JOIN").await;
    assert_eq!((from(&join), join.params[0].as_str()), ("bob", "#lobby"));
    assert_eq!(c.expect("353").await.params[3], "alice bob");
    assert_eq!(nc.line().await, "[bob] joined (2 online)");
    server.stop().await;
}
