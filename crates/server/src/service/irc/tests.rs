//! Session-level tests of the IRC face's rules, on the [`crate::testing`] harness: real IRC and
//! chat sessions, store and flood control, no sockets.

use serde_json::json;
use sockhub_proto::Mode;

use crate::testing::Harness;

async fn harness() -> Harness {
    Harness::start(|c| {
        c.irc.enabled = true;
        c.irc.server_name = "irc.test".into();
        c.irc.ping_secs = 0;
    })
    .await
}

#[tokio::test]
async fn an_irc_user_is_a_chat_member_and_its_own_lines_are_not_echoed() {
    let mut h = harness().await;
    let (chat, irc) = (h.hub().chat.clone().unwrap(), h.hub().irc.clone().unwrap());
    let mut json = h.open(&chat, Mode::Json);
    json.request(json!({"type":"login","name":"jay"})).await;
    json.expect("welcome").await;
    let mut bob = h.open(&irc, Mode::Text);
    bob.send("NICK bob").await;
    bob.send("USER bob 0 * :Bob").await;
    assert_eq!(bob.expect_line(" 001 ").await, ":irc.test 001 bob :Welcome to the sockhub IRC network, bob");
    bob.expect_line(" 366 bob #lobby ").await;
    assert_eq!(json.expect("joined").await["name"], "bob");
    bob.send("PRIVMSG #lobby :hello").await;
    let m = json.expect("message").await;
    assert_eq!(
        (m["from"].as_str(), m["text"].as_str(), m["room"].as_str()),
        (Some("bob"), Some("hello"), Some("#lobby"))
    );
    json.request(json!({"type":"say","text":"hi bob"})).await;
    let line = bob.expect_line("PRIVMSG").await;
    assert_eq!(line, ":jay!jay@sockhub PRIVMSG #lobby :hi bob", "bob's own line was not echoed first");
}

#[tokio::test]
async fn a_muted_irc_user_gets_404_and_a_name_in_use_433() {
    let mut h = harness().await;
    h.account("boss", "boss-pw-1", true).await;
    let (chat, irc) = (h.hub().chat.clone().unwrap(), h.hub().irc.clone().unwrap());
    let mut boss = h.open(&chat, Mode::Json);
    boss.request(json!({"type":"login","name":"boss","password":"boss-pw-1"})).await;
    boss.expect("welcome").await;
    let mut taken = h.open(&irc, Mode::Text);
    taken.send("NICK BOSS").await;
    taken.send("USER x 0 * :X").await;
    assert!(taken.expect_line(" 433 ").await.starts_with(":irc.test 433 BOSS BOSS :"));
    let mut bob = h.open(&irc, Mode::Text);
    bob.send("NICK bob").await;
    bob.send("USER bob 0 * :Bob").await;
    bob.expect_line(" 366 ").await;
    boss.request(json!({"type":"mute","name":"bob"})).await;
    assert_eq!(bob.expect_line("NOTICE").await, ":irc.test NOTICE #lobby :* bob was muted by boss");
    bob.send("PRIVMSG #lobby :let me speak").await;
    assert!(bob.expect_line(" 404 ").await.starts_with(":irc.test 404 bob #lobby :you are muted"));
}

#[tokio::test]
async fn an_unknown_command_gets_421_and_a_nick_irc_cannot_carry_432() {
    let mut h = harness().await;
    let irc = h.hub().irc.clone().unwrap();
    let mut c = h.open(&irc, Mode::Text);
    c.send("NICK a,b").await;
    assert!(c.expect_line(" 432 ").await.starts_with(":irc.test 432 * a,b :"));
    c.send("WHATEVER").await;
    assert_eq!(c.expect_line(" 451 ").await, ":irc.test 451 * WHATEVER :You have not registered");
    c.send("NICK ok").await;
    c.send("USER ok 0 * :Ok").await;
    c.expect_line(" 366 ").await;
    c.send("WHATEVER").await;
    assert_eq!(c.expect_line(" 421 ").await, ":irc.test 421 ok WHATEVER :Unknown command");
}

#[test]
fn names_irc_cannot_carry_show_with_fullwidth_forms_that_find_the_same_user() {
    use super::render::nick;
    assert_eq!(nick("alice"), "alice");
    assert_eq!(nick("김민수"), "김민수");
    assert_eq!(nick("a!b@c:d"), "a！b＠c：d");
    assert_eq!(nick("#x,y*z?.w"), "＃x，y＊z？．w");
    assert_eq!(nick("x#y+"), "x#y+", "only a leading channel or prefix sign is special");
    for name in ["a!b", "#x", "a:b.c", "+v", "%p", "~t", "a*?b"] {
        let shown = nick(name);
        assert!(super::session::check_nick(&shown).is_ok(), "{shown} is a valid IRC nick");
        assert_eq!(crate::names::key(&shown), crate::names::key(name), "{name} -> {shown}");
    }
}
