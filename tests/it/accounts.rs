//! Accounts, passwords and admin moderation in the chat, on every configured database backend.

use std::time::{Duration, Instant};

use serde_json::json;
use sockhub_server::config::Admission;
use sockhub_store::testing::backends;
use sockhub_store::{ModerationAction, ModerationFilter, Role};

use crate::support::{BinaryServer, Client, Db, eventually};

#[tokio::test]
async fn members_log_in_with_their_password_in_both_modes() {
    for b in backends() {
        let db = Db::with_account(&b, "alice", "correct horse", Role::Member).await;
        let server = db.server(|_| {}).await;

        // Text mode: the name, then the password it asks for.
        let mut text = Client::connect(server.chat()).await;
        text.until("* Your name?").await;
        text.send("ALICE").await;
        assert_eq!(text.line().await, "! password_required: this name needs a password");
        assert_eq!(text.line().await, "* Password for ALICE?");
        text.send("wrong").await;
        assert_eq!(text.line().await, "! bad_credentials: wrong name or password");
        assert_eq!(text.line().await, "* Your name?");
        text.send("/login alice correct horse").await;
        assert_eq!(text.line().await, "* Welcome, alice! 1 online. Type /help for commands.", "{}", b.name());
        text.send("q").await;
        text.closed().await;

        // JSON mode: the same steps as messages.
        let mut json = Client::connect(server.chat()).await;
        json.send_json(json!({"type": "login", "name": "Alice"})).await;
        assert_eq!(json.json().await["code"], "password_required");
        json.send_json(json!({"type": "login", "name": "alice", "password": "nope"})).await;
        assert_eq!(
            json.json().await,
            json!({"type": "error", "code": "bad_credentials", "message": "wrong name or password"})
        );
        json.send_json(json!({"type": "login", "name": "alice", "password": "correct horse"})).await;
        assert_eq!(json.json().await["type"], "welcome");
        let mut again = Client::connect(server.chat()).await;
        again.send_json(json!({"type": "login", "name": "alice", "password": "correct horse"})).await;
        assert_eq!(again.json().await["code"], "name_taken", "alice is online already");

        // Guests pick any free name in open mode.
        let guest = Client::chat_json(server.chat(), "guest").await;
        drop(guest);
        server.stop().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn accounts_mode_refuses_strangers_without_telling_them_apart() {
    for b in backends() {
        let db = Db::with_account(&b, "member", "pw-member", Role::Member).await;
        let server = db.server(|c| c.chat.auth = Admission::Accounts).await;

        let mut c = Client::connect(server.chat()).await;
        c.send_json(json!({"type": "login", "name": "stranger"})).await;
        assert_eq!(
            c.json().await["code"],
            "password_required",
            "a stranger is asked for a password like anyone"
        );
        c.send_json(json!({"type": "login", "name": "stranger", "password": "guess"})).await;
        let stranger = c.json().await;
        c.send_json(json!({"type": "login", "name": "member", "password": "guess"})).await;
        let wrong = c.json().await;
        assert_eq!(stranger, wrong, "an unknown name and a wrong password look the same");
        c.send_json(json!({"type": "login", "name": "member", "password": "pw-member"})).await;
        assert_eq!(c.json().await["type"], "welcome");
        server.stop().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn repeated_failures_are_slowed_down_then_refused() {
    let db = Db::with_account(&backends()[0], "victim", "the right one", Role::Member).await;
    let server = db
        .server(|c| {
            c.auth.slow_after = 2;
            c.auth.slow_delay_ms = 400;
            c.auth.lock_after = 4;
        })
        .await;
    let mut c = Client::connect(server.chat()).await;
    let mut attempt = async |password: &str| {
        let started = Instant::now();
        c.send_json(json!({"type": "login", "name": "victim", "password": password})).await;
        let reply = c.json().await;
        (reply["code"].as_str().unwrap_or("").to_owned(), started.elapsed())
    };
    let (code, fast) = attempt("guess1").await;
    assert_eq!(code, "bad_credentials");
    attempt("guess2").await;
    let (code, slowed) = attempt("guess3").await;
    assert_eq!(code, "bad_credentials");
    assert!(
        slowed >= Duration::from_millis(400),
        "the third failure is answered after a delay ({slowed:?} vs {fast:?})"
    );
    attempt("guess4").await;
    let (code, _) = attempt("the right one").await;
    assert_eq!(code, "too_many_attempts", "locked: even the right password is refused for now");
    server.stop().await;
    db.cleanup().await;
}

/// The real binary, debug logging on: after failed and successful logins, no file under the data
/// directory (the log file, the SQLite database and its WAL) contains the password.
#[tokio::test]
async fn passwords_never_reach_the_logs_or_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let add = std::process::Command::new(env!("CARGO_BIN_EXE_sockhub"))
        .args(["user", "add", "alice"])
        .env("SOCKHUB_SERVER_DATA_DIR", dir.path())
        .stdin(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(b"pw-FINDME-right\n")?;
            child.wait()
        })
        .unwrap();
    assert!(add.success());
    let server = BinaryServer::start(dir.path(), &["--log-level", "debug"]).await;
    let mut c = Client::connect(server.addr("chat")).await;
    c.send_json(json!({"type": "login", "name": "alice", "password": "pw-FINDME-wrong"})).await;
    assert_eq!(c.json().await["code"], "bad_credentials");
    c.send("/login alice pw-FINDME-text-mode").await;
    c.send_json(json!({"type": "login", "name": "alice", "password": "pw-FINDME-right"})).await;
    assert_eq!(c.json_of("welcome").await["name"], "alice");
    drop(c);
    assert!(server.stop().await.success());
    let files = walk(dir.path());
    assert!(files.iter().any(|f| f.ends_with("logs/server.log")), "{files:?}");
    for file in files {
        let bytes = std::fs::read(&file).unwrap();
        let found = bytes.windows(b"FINDME".len()).any(|w| w == b"FINDME");
        assert!(!found, "a password is in {}", file.display());
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() { files.extend(walk(&path)) } else { files.push(path) }
    }
    files
}

#[tokio::test]
async fn admins_kick_and_the_room_is_told() {
    for b in backends() {
        let db = Db::with_account(&b, "boss", "pw", Role::Admin).await;
        let server = db.server(|_| {}).await;
        let mut boss = Client::chat_login(server.chat(), "boss", "pw").await;
        let mut bob = Client::chat_text(server.chat(), "bob").await;
        let mut carol = Client::chat_text(server.chat(), "carol").await;
        bob.until("[carol] joined (3 online)").await;

        carol.send("/kick bob").await;
        assert_eq!(carol.line().await, "! forbidden: only admins may do that");
        boss.send_json(json!({"type": "kick", "name": "BOB", "reason": "spam"})).await;
        assert_eq!(bob.closed().await, ["* bob was kicked by boss: spam", "* bye: kicked by boss: spam"]);
        assert_eq!(carol.line().await, "* bob was kicked by boss: spam");
        assert_eq!(carol.line().await, "[bob] left (2 online)");
        let kicked = boss.json_of("kicked").await;
        assert_eq!(kicked, json!({"type": "kicked", "name": "bob", "by": "boss", "reason": "spam"}));

        let rows = eventually("the kick in the moderation log", || async {
            let rows = db.store.moderation_log(&ModerationFilter::default()).await.unwrap();
            (!rows.is_empty()).then_some(rows)
        })
        .await;
        assert_eq!((rows[0].actor.as_str(), rows[0].target.as_str()), ("boss", "bob"));
        assert_eq!((rows[0].action, rows[0].reason.as_deref()), (ModerationAction::Kick, Some("spam")));
        server.stop().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_mute_holds_across_reconnects_and_restarts_until_lifted() {
    for b in backends() {
        let db = Db::with_account(&b, "boss", "pw", Role::Admin).await;
        let server = db.server(|_| {}).await;
        let mut boss = Client::chat_login(server.chat(), "boss", "pw").await;
        let mut bob = Client::chat_text(server.chat(), "bob").await;

        boss.send(r#"{"type":"mute","name":"bob","reason":"too loud"}"#).await;
        assert_eq!(bob.line().await, "* bob was muted by boss: too loud");
        bob.send("hello?").await;
        assert_eq!(bob.line().await, "! muted: you are muted (too loud); your message was not sent");
        bob.send("/w boss sorry").await;
        assert!(bob.line().await.starts_with("! muted:"), "whispers are refused too");

        // Reconnect: still muted, and told so on arrival.
        drop(bob);
        let mut bob = Client::chat_text(server.chat(), "bob").await;
        assert_eq!(bob.line().await, "* bob was muted by boss: too loud");
        bob.send("back").await;
        assert!(bob.line().await.starts_with("! muted:"));
        drop(bob);
        boss.json_of("left").await;

        // Restart the server on the same database: the mute is still in force.
        server.stop().await;
        let server = db.server(|_| {}).await;
        let mut bob = Client::chat_text(server.chat(), "bob").await;
        assert_eq!(bob.line().await, "* bob was muted by boss: too loud");
        let mut boss = Client::chat_login(server.chat(), "boss", "pw").await;
        boss.send(r#"{"type":"unmute","name":"bob"}"#).await;
        assert_eq!(bob.until("* bob was unmuted by boss").await.len(), 1, "only boss's arrival before it");
        bob.send("free").await;
        assert_eq!(bob.line().await, "[bob] free");
        boss.send(r#"{"type":"unmute","name":"bob"}"#).await;
        assert_eq!(boss.json_of("error").await["code"], "not_muted");
        server.stop().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_timed_mute_expires_and_the_room_is_told() {
    let db = Db::with_account(&backends()[0], "boss", "pw", Role::Admin).await;
    let server = db.server(|_| {}).await;
    let mut boss = Client::connect(server.chat()).await;
    boss.send("/login boss pw").await;
    boss.until("* Welcome, boss! 1 online. Type /help for commands.").await;
    let mut bob = Client::chat_text(server.chat(), "bob").await;
    boss.send("/mute bob 0.02 one second").await; // 1.2 s
    let muted = bob.line().await;
    assert!(
        muted.starts_with("* bob was muted by boss until ") && muted.ends_with(": one second"),
        "{muted}"
    );
    bob.send("x").await;
    assert!(bob.line().await.starts_with("! muted: you are muted until "));
    assert_eq!(bob.line().await, "* bob may speak again (the mute expired)");
    bob.send("y").await;
    assert_eq!(bob.line().await, "[bob] y");
    server.stop().await;
    db.cleanup().await;
}

#[tokio::test]
async fn the_terminal_client_logs_in_to_an_account() {
    let db = Db::with_account(&backends()[0], "boss", "s3cret", Role::Admin).await;
    let server = db.server(|_| {}).await;
    let addr = server.chat().to_string();
    let run = |password: Option<&str>| {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_sockhub"));
        cmd.args(["chat", "--name", "boss", "--addr", &addr]);
        cmd.env_remove("SOCKHUB_PASSWORD");
        if let Some(p) = password {
            cmd.env("SOCKHUB_PASSWORD", p);
        }
        cmd.stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped()).kill_on_drop(true);
        let mut child = cmd.spawn().unwrap();
        let mut stdin = child.stdin.take().unwrap();
        async move {
            use tokio::io::AsyncWriteExt;
            stdin.write_all("hello from a script\n/quit\n".as_bytes()).await.unwrap();
            drop(stdin);
            let out = tokio::time::timeout(Duration::from_secs(10), child.wait_with_output())
                .await
                .unwrap()
                .unwrap();
            (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned())
        }
    };
    let (ok, out) = run(Some("s3cret")).await;
    assert!(ok && out.contains("[boss] hello from a script"), "{out}");
    let (ok, out) = run(None).await;
    assert!(
        !ok && out.contains("password_required"),
        "without a password (and no terminal) it says why: {out}"
    );
    server.stop().await;
    db.cleanup().await;
}
