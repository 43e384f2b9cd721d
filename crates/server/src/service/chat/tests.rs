//! Session-level tests of the chat's rules, on the [`crate::testing`] harness: real sessions,
//! store and flood control, no sockets.

use serde_json::json;
use sockhub_proto::Mode;

use crate::session::Ending;
use crate::testing::Harness;

#[tokio::test]
async fn a_message_reaches_everyone_and_a_whisper_only_its_two_ends() {
    let mut h = Harness::start(|_| {}).await;
    let chat = h.hub().chat.clone().unwrap();
    let mut alice = h.open(&chat, Mode::Json);
    let mut bob = h.open(&chat, Mode::Json);
    let mut carol = h.open(&chat, Mode::Json);
    for (c, name) in [(&mut alice, "alice"), (&mut bob, "bob"), (&mut carol, "carol")] {
        c.request(json!({"type":"login","name":name})).await;
        assert_eq!(c.expect("welcome").await["name"], name);
    }
    alice.request(json!({"type":"say","text":"hi all"})).await;
    for c in [&mut alice, &mut bob, &mut carol] {
        let m = c.expect("message").await;
        assert_eq!((m["from"].as_str(), m["text"].as_str()), (Some("alice"), Some("hi all")));
    }
    alice.request(json!({"type":"whisper","to":"bob","text":"psst"})).await;
    assert_eq!(bob.expect("whisper").await["text"], "psst");
    assert_eq!(alice.expect("whisper").await["to"], "bob", "the sender gets its copy");
    carol.request(json!({"type":"who"})).await;
    carol.expect("users").await;
    let seen = carol.drain().await;
    assert!(seen.iter().all(|l| !l.contains("psst")), "carol saw the whisper: {seen:?}");
}

#[tokio::test]
async fn a_name_in_use_is_refused_and_the_session_may_try_another() {
    let mut h = Harness::start(|_| {}).await;
    let chat = h.hub().chat.clone().unwrap();
    let mut first = h.open(&chat, Mode::Json);
    first.request(json!({"type":"login","name":"mina"})).await;
    first.expect("welcome").await;
    let mut second = h.open(&chat, Mode::Json);
    second.request(json!({"type":"login","name":"MINA"})).await;
    assert_eq!(second.expect("error").await["code"], "name_taken");
    second.request(json!({"type":"login","name":"mina2"})).await;
    second.expect("welcome").await;
    assert_eq!(first.expect("joined").await["name"], "mina2");
}

#[tokio::test]
async fn a_muted_user_is_told_and_nobody_hears_them_until_unmuted() {
    let mut h = Harness::start(|_| {}).await;
    h.account("teacher", "teacher-pw", true).await;
    let chat = h.hub().chat.clone().unwrap();
    let mut teacher = h.open(&chat, Mode::Json);
    teacher.request(json!({"type":"login","name":"teacher","password":"teacher-pw"})).await;
    teacher.expect("welcome").await;
    let mut bob = h.open(&chat, Mode::Json);
    bob.request(json!({"type":"login","name":"bob"})).await;
    bob.expect("welcome").await;

    bob.request(json!({"type":"mute","name":"teacher"})).await;
    assert_eq!(bob.expect("error").await["code"], "forbidden", "members cannot mute");

    teacher.request(json!({"type":"mute","name":"bob","reason":"spam"})).await;
    assert_eq!(bob.expect("muted").await["reason"], "spam");
    bob.request(json!({"type":"say","text":"can you hear me"})).await;
    assert_eq!(bob.expect("error").await["code"], "muted");
    teacher.request(json!({"type":"unmute","name":"bob"})).await;
    bob.expect("unmuted").await;
    bob.request(json!({"type":"say","text":"back"})).await;
    let heard = teacher.expect("message").await;
    assert_eq!(heard["text"], "back");
    assert!(teacher.drain().await.iter().all(|l| !l.contains("can you hear me")));
}

#[tokio::test]
async fn leaving_tells_the_room_and_frees_the_name() {
    let mut h = Harness::start(|_| {}).await;
    let chat = h.hub().chat.clone().unwrap();
    let mut alice = h.open(&chat, Mode::Json);
    alice.request(json!({"type":"login","name":"alice"})).await;
    alice.expect("welcome").await;
    let mut bob = h.open(&chat, Mode::Json);
    bob.request(json!({"type":"login","name":"bob"})).await;
    bob.expect("welcome").await;
    bob.close(Ending::PeerGone).await;
    assert_eq!(alice.expect("left").await["name"], "bob");
    let mut again = h.open(&chat, Mode::Json);
    again.request(json!({"type":"login","name":"bob"})).await;
    again.expect("welcome").await;
}

#[tokio::test]
async fn rooms_keep_their_lines_apart_and_a_disconnect_leaves_every_room() {
    let mut h = Harness::start(|_| {}).await;
    let chat = h.hub().chat.clone().unwrap();
    let mut alice = h.open(&chat, Mode::Text);
    let mut bob = h.open(&chat, Mode::Json);
    alice.send("alice").await;
    bob.request(json!({"type":"login","name":"bob"})).await;
    let welcome = bob.expect("welcome").await;
    assert_eq!(welcome["room"], "#lobby");
    alice.send("/join #x").await;
    bob.request(json!({"type":"join","room":"#X"})).await;
    let joined = bob.expect("joined").await;
    assert_eq!((joined["room"].as_str(), joined["online"].as_u64()), (Some("#x"), Some(2)));
    bob.request(json!({"type":"say","text":"in x"})).await;
    let m = bob.expect("message").await;
    assert_eq!((m["room"].as_str(), m["text"].as_str()), (Some("#x"), Some("in x")));
    bob.request(json!({"type":"say","text":"nowhere","room":"#y"})).await;
    assert_eq!(bob.expect("error").await["code"], "not_in_room");
    let seen = alice.drain().await;
    assert!(seen.iter().any(|l| l == "[#x] [bob] in x"), "{seen:?}");
    assert!(!seen.iter().any(|l| l.contains("nowhere")), "{seen:?}");

    // A disconnect: bob is told in both rooms, and #x (made by a join) stays while bob is in it.
    alice.close(Ending::PeerGone).await;
    let mut left: Vec<String> = [bob.expect("left").await, bob.expect("left").await]
        .iter()
        .map(|l| l["room"].as_str().unwrap_or_default().to_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["#lobby", "#x"], "bob is in two rooms: each `left` names its room");
    assert_eq!(chat.room_list("bob").1.len(), 2);
    bob.request(json!({"type":"part","room":"#x"})).await;
    bob.expect("left").await;
    assert_eq!(chat.room_list("bob").1.len(), 1, "#x vanished with its last member");
}
