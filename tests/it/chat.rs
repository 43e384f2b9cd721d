//! The chat service over real sockets, in text mode (as `nc` users see it) and JSON mode.

use serde_json::json;
use tokio::io::AsyncWriteExt;

use crate::support::{Client, TestServer};

#[tokio::test]
async fn text_and_json_clients_share_one_room() {
    let server = TestServer::start().await;
    let mut alice = Client::chat_text(server.chat(), "alice").await;
    let mut bob = Client::chat_json(server.chat(), "bob").await;
    assert_eq!(alice.line().await, "[bob] joined (2 online)");
    let mut carol = Client::chat_text(server.chat(), "carol").await;
    assert_eq!(alice.line().await, "[carol] joined (3 online)");
    let joined = bob.json().await;
    assert_eq!(
        (joined["type"].as_str(), joined["name"].as_str(), joined["online"].as_u64()),
        (Some("joined"), Some("carol"), Some(3))
    );

    alice.send("hello everyone").await;
    assert_eq!(alice.line().await, "[alice] hello everyone", "the sender sees its own message");
    assert_eq!(carol.line().await, "[alice] hello everyone");
    let msg = bob.json().await;
    assert_eq!(msg["type"], "message");
    assert_eq!(msg["from"], "alice");
    assert_eq!(msg["text"], "hello everyone");
    assert!(msg["at"].as_str().unwrap().ends_with('Z'), "{msg}");

    bob.send_json(json!({"type": "say", "text": "hi from json"})).await;
    assert_eq!(alice.line().await, "[bob] hi from json");
    assert_eq!(carol.line().await, "[bob] hi from json");
    assert_eq!(bob.json().await["text"], "hi from json");

    carol.send("/who").await;
    assert_eq!(carol.line().await, "* 3 online: alice, bob, carol");
    bob.send_json(json!({"type": "who"})).await;
    assert_eq!(bob.json().await, json!({"type": "users", "names": ["alice", "bob", "carol"]}));
    server.stop().await;
}

#[tokio::test]
async fn whispers_reach_only_the_target() {
    let server = TestServer::start().await;
    let mut alice = Client::chat_text(server.chat(), "alice").await;
    let mut bob = Client::chat_text(server.chat(), "bob").await;
    let mut carol = Client::chat_json(server.chat(), "carol").await;
    alice.until("[carol] joined (3 online)").await;
    bob.until("[carol] joined (3 online)").await;

    alice.send("/w bob the password is swordfish").await;
    assert_eq!(alice.line().await, ">>> [to bob] the password is swordfish");
    assert_eq!(bob.line().await, "<<< [from alice] the password is swordfish");
    carol.send_json(json!({"type": "whisper", "to": "ALICE", "text": "case does not matter"})).await;
    let w = carol.json().await;
    assert_eq!(
        (w["type"].as_str(), w["from"].as_str(), w["to"].as_str()),
        (Some("whisper"), Some("carol"), Some("alice"))
    );
    assert_eq!(alice.line().await, "<<< [from carol] case does not matter");

    // A public marker after the whispers: each client's next line must be the marker, so a
    // whisper delivered to the wrong client would show up before it.
    alice.send("marker").await;
    assert_eq!(alice.line().await, "[alice] marker");
    assert_eq!(bob.line().await, "[alice] marker");
    let next = carol.json().await;
    assert_eq!(
        (next["type"].as_str(), next["text"].as_str()),
        (Some("message"), Some("marker")),
        "carol saw {next}"
    );

    alice.send("/w nobody hello?").await;
    assert_eq!(alice.line().await, "! no_such_user: no one called \"nobody\" is online");
    alice.send("/w bob").await;
    assert!(alice.line().await.starts_with("! bad_request: usage: /w name text"));
    server.stop().await;
}

#[tokio::test]
async fn taken_and_invalid_names_are_refused_and_asked_again() {
    let server = TestServer::start().await;
    let _alice = Client::chat_text(server.chat(), "Alice").await;

    let mut text = Client::connect(server.chat()).await;
    text.until("* Your name?").await;
    text.send("alice").await;
    assert!(
        text.line().await.starts_with("! name_taken: already registered user"),
        "names are case-insensitive"
    );
    assert_eq!(text.line().await, "* Your name?");
    text.send("has space").await;
    assert!(text.line().await.starts_with("! invalid_name:"));
    assert_eq!(text.line().await, "* Your name?");
    text.send(&"x".repeat(33)).await;
    assert!(text.line().await.starts_with("! invalid_name:"));
    assert_eq!(text.line().await, "* Your name?");
    text.send("alice2").await;
    assert_eq!(text.line().await, "* Welcome, alice2! 2 online. Type /help for commands.");

    let mut json = Client::connect(server.chat()).await;
    json.send_json(json!({"type": "login", "name": "ALICE"})).await;
    assert_eq!(json.json().await["code"], "name_taken");
    json.send_json(json!({"type": "say", "text": "sneaky"})).await;
    assert_eq!(json.json().await["code"], "not_logged_in");
    json.send_json(json!({"type": "login", "name": "alice3"})).await;
    assert_eq!(json.json().await["type"], "welcome", "JSON clients get no prompt, just the error");
    json.send_json(json!({"type": "login", "name": "again"})).await;
    assert_eq!(json.json().await["code"], "already_logged_in");
    server.stop().await;
}

#[tokio::test]
async fn hangul_names_and_text() {
    let server = TestServer::start().await;
    let mut minsu = Client::chat_text(server.chat(), "김민수").await;
    let mut json = Client::chat_json(server.chat(), "이서연").await;
    assert_eq!(minsu.line().await, "[이서연] joined (2 online)");
    minsu.send("안녕하세요! 반갑습니다 😀").await;
    assert_eq!(minsu.line().await, "[김민수] 안녕하세요! 반갑습니다 😀");
    assert_eq!(json.json().await["text"], "안녕하세요! 반갑습니다 😀");
    json.send_json(json!({"type": "whisper", "to": "김민수", "text": "비밀"})).await;
    assert_eq!(minsu.line().await, "<<< [from 이서연] 비밀");
    server.stop().await;
}

#[tokio::test]
async fn every_way_of_leaving_is_announced_with_the_count() {
    let server = TestServer::start().await;
    let mut watcher = Client::chat_text(server.chat(), "watcher").await;
    for (i, quit) in ["/quit", "quit", "q"].into_iter().enumerate() {
        let name = format!("leaver{i}");
        let mut c = Client::chat_text(server.chat(), &name).await;
        assert_eq!(watcher.line().await, format!("[{name}] joined (2 online)"));
        c.send(quit).await;
        assert_eq!(c.closed().await, ["* bye: goodbye"], "{quit}: the leaver gets a bye, then EOF");
        assert_eq!(watcher.line().await, format!("[{name}] left (1 online)"));
    }
    let mut json = Client::chat_json(server.chat(), "jsonleaver").await;
    watcher.line().await;
    json.send_json(json!({"type": "quit"})).await;
    let rest = json.closed().await;
    assert_eq!(rest.len(), 1);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&rest[0]).unwrap(),
        json!({"type": "bye", "reason": "goodbye"})
    );
    assert_eq!(watcher.line().await, "[jsonleaver] left (1 online)");

    // A client that just drops its socket.
    let dropper = Client::chat_text(server.chat(), "dropper").await;
    assert_eq!(watcher.line().await, "[dropper] joined (2 online)");
    drop(dropper);
    assert_eq!(watcher.line().await, "[dropper] left (1 online)");
    server.stop().await;
}

#[tokio::test]
async fn a_half_closed_client_still_gets_every_reply() {
    let server = TestServer::start().await;
    let mut c = Client::connect(server.chat()).await;
    c.send_raw("carol\nhello\n/who\n".as_bytes()).await;
    c.writer.shutdown().await.unwrap();
    let lines = c.closed().await;
    assert_eq!(
        &lines[2..],
        [
            "* Welcome, carol! 1 online. Type /help for commands.",
            "[carol] hello",
            "* 1 online: carol",
            "* bye: connection closed"
        ]
    );
    server.stop().await;
}

#[tokio::test]
async fn newcomers_receive_recent_history() {
    let server = TestServer::with(|c| c.chat.history = 2).await;
    let mut alice = Client::chat_text(server.chat(), "alice").await;
    for text in ["one", "two", "three"] {
        alice.send(text).await;
        alice.line().await;
    }
    let mut bob = Client::connect(server.chat()).await;
    bob.send_json(json!({"type": "login", "name": "bob"})).await;
    assert_eq!(bob.json().await["type"], "welcome");
    for expected in ["two", "three"] {
        let m = bob.json().await;
        assert_eq!((m["text"].as_str(), m["history"].as_bool()), (Some(expected), Some(true)));
    }
    alice.send("live").await;
    let m = bob.json().await;
    assert_eq!((m["text"].as_str(), m.get("history")), (Some("live"), None));
    server.stop().await;
}

#[tokio::test]
async fn help_and_unknown_commands() {
    let server = TestServer::start().await;
    let mut c = Client::chat_text(server.chat(), "alice").await;
    c.send("/help").await;
    let mut help = Vec::new();
    for _ in sockhub_proto::chat::help() {
        help.push(c.line().await);
    }
    assert!(help.iter().any(|l| l.contains("/w name text") && l.contains("whisper")), "{help:?}");
    c.send("/dance").await;
    assert_eq!(c.line().await, "! unknown_command: unknown command /dance; type /help for the list");
    c.send("still here").await;
    assert_eq!(c.line().await, "[alice] still here", "the connection lives on");
    server.stop().await;
}
