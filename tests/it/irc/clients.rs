//! Real IRC clients that nobody here wrote: Debian's `ii` (files and FIFOs, easy to script)
//! talks with an `nc` user, whispers both ways and sees a mute and a kick; `irssi` in tmux logs
//! in with SASL in `auth = "accounts"` mode and shows a Hangul message sent from the web page's
//! WebSocket.

use std::path::Path;
use std::time::Duration;

use serde_json::json;
use sockhub_server::config::Admission;
use sockhub_store::Role;
use sockhub_store::testing::backends;

use super::irc_on;
use crate::support::{Client, Db, PATIENCE, add_account};
use crate::tui::Tmux;
use crate::web::ws::Ws;

/// Wait until the file at `path` exists and contains `text`; its contents then.
async fn file_contains(path: &Path, text: &str) -> String {
    one_contains(&[path], text).await
}

/// Wait until one of `paths` contains `text`; that file's contents then.
async fn one_contains(paths: &[&Path], text: &str) -> String {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        for path in paths {
            let now = std::fs::read_to_string(path).unwrap_or_default();
            if now.contains(text) {
                return now;
            }
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {text:?} in {paths:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Write a line into one of ii's FIFOs (waiting for ii to create it).
async fn fifo(path: &Path, line: &str) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !path.exists() {
        assert!(tokio::time::Instant::now() < deadline, "ii did not create {}", path.display());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let path = path.to_owned();
    let line = format!("{line}\n");
    tokio::task::spawn_blocking(move || {
        use std::io::Write;
        std::fs::OpenOptions::new().write(true).open(&path).unwrap().write_all(line.as_bytes()).unwrap();
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn ii_talks_with_nc_whispers_both_ways_and_sees_mute_and_kick() {
    let db = Db::with_account(&backends()[0], "boss", "boss-pw-1", Role::Admin).await;
    let server = db.server(irc_on).await;
    let port = server.addr("irc").port().to_string();
    let mut alice = Client::chat_text(server.chat(), "alice").await;
    let dir = tempfile::tempdir().unwrap();
    let _ii = tokio::process::Command::new("ii")
        .args(["-s", "127.0.0.1", "-p", &port, "-n", "iibot", "-f", "ii bot", "-i"])
        .arg(dir.path())
        .kill_on_drop(true)
        .spawn()
        .expect("ii runs (install it with scripts/setup.sh)");
    alice.until("[iibot] joined (2 online)").await;
    let server_dir = dir.path().join("127.0.0.1");
    let lobby = server_dir.join("#lobby");
    fifo(&server_dir.join("in"), "/j #lobby").await;
    fifo(&lobby.join("in"), "hello from ii").await;
    alice.until("[iibot] hello from ii").await;
    alice.send("hello ii, 안녕").await;
    file_contains(&lobby.join("out"), "<alice> hello ii, 안녕").await;
    // Whispers: alice's reaches ii as a private message; ii answers in the query.
    alice.send("/w iibot psst").await;
    file_contains(&server_dir.join("alice").join("out"), "<alice> psst").await;
    fifo(&server_dir.join("alice").join("in"), "psst back").await;
    alice.until("<<< [from iibot] psst back").await;
    // An admin mutes ii: told in the channel, and its next line is refused.
    let mut boss = Client::chat_login(server.chat(), "boss", "boss-pw-1").await;
    boss.send_json(json!({"type": "mute", "name": "iibot", "reason": "quiet"})).await;
    // The notice comes from the server; ii files it in the channel's or the server's window.
    let (lobby_out, server_out) = (lobby.join("out"), server_dir.join("out"));
    one_contains(&[&lobby_out, &server_out], "iibot was muted by boss").await;
    fifo(&lobby.join("in"), "can I still talk?").await;
    file_contains(&server_dir.join("out"), "you are muted").await;
    // And kicks it.
    boss.send_json(json!({"type": "kick", "name": "iibot", "reason": "bye"})).await;
    let out = file_contains(&lobby.join("out"), "kicked").await;
    assert!(out.contains("iibot"), "{out}");
    alice.until("[iibot] left (2 online)").await;
    server.stop().await;
    db.cleanup().await;
}

#[tokio::test]
async fn irssi_logs_in_with_sasl_and_shows_hangul_from_the_web_page() {
    let db = Db::with_account(&backends()[0], "kim", "kim-secret-1", Role::Member).await;
    add_account(&db.store, "lee", "lee-secret-1", Role::Member).await;
    let server = db
        .server(|c| {
            irc_on(c);
            c.chat.auth = Admission::Accounts;
        })
        .await;
    let port = server.addr("irc").port();
    let home = tempfile::tempdir().unwrap();
    let config = format!(
        r##"servers = ( {{ address = "127.0.0.1"; chatnet = "sockhub"; port = "{port}"; use_tls = "no"; autoconnect = "yes"; }} );
chatnets = {{ sockhub = {{ type = "IRC"; sasl_mechanism = "PLAIN"; sasl_username = "kim"; sasl_password = "kim-secret-1"; }}; }};
channels = ( {{ name = "#lobby"; chatnet = "sockhub"; autojoin = "yes"; }} );
settings = {{ core = {{ real_name = "Kim"; user_name = "kim"; nick = "kim"; }}; "fe-common/core" = {{ theme = "default"; }}; }};
"##
    );
    std::fs::write(home.path().join("config"), config).unwrap();
    let script = format!("irssi --home={} --config={}/config", home.path().display(), home.path().display());
    let tmux = Tmux::start(120, 30, &script).await;
    // irssi is in: it opened the channel's window (window 2); look at it.
    tmux.wait_for_text("End of /MOTD command").await;
    tmux.type_text("/window 2").await;
    tmux.press("Enter").await;
    tmux.wait_for_text("[#lobby").await;
    // The web page logs in after irssi joined, so it finds kim in the room's member list.
    let mut web = Ws::connect(server.web(), "chat").await;
    web.send(json!({"type": "login", "name": "lee", "password": "lee-secret-1"})).await;
    assert_eq!(web.json().await["type"], "welcome");
    web.send(json!({"type": "who"})).await;
    loop {
        let v = web.json().await;
        if v["type"] == "users" {
            assert!(v["names"].as_array().unwrap().iter().any(|n| n == "kim"), "{v}");
            break;
        }
    }
    web.send(json!({"type": "say", "text": "안녕하세요, 키보드 친구들"})).await;
    let screen = tmux.wait_for_text("안녕하세요, 키보드 친구들").await;
    assert!(screen.text.contains("lee"), "{}", screen.text);
    // And kim answers from irssi.
    tmux.type_text("반가워요").await;
    tmux.press("Enter").await;
    loop {
        let v = web.json().await;
        if v["type"] == "message" && v["from"] == "kim" {
            assert_eq!(v["text"], "반가워요");
            break;
        }
    }
    server.stop().await;
    db.cleanup().await;
}
