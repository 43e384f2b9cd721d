//! `sockhub chat` as a user runs it: the full-screen client inside a real terminal (a detached
//! tmux session of a fixed size, driven with `send-keys` and read with `capture-pane`), and the
//! line-by-line client with its stdin and stdout piped, as a script would run it.
//!
//! The other user in the room is a raw socket [`Client`], so what the screen shows can be checked
//! against what actually went over the wire. Nothing sleeps for a fixed time: every check polls
//! the screen until it matches or [`PATIENCE`] runs out, and then fails with the last screen.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::process::Command;

use crate::support::{BIN, Client, PATIENCE, TestServer, spawn_piped};

/// One tmux server of our own, with one session running one command. Its socket is unique to the
/// test and lives in a temporary directory (`tmux -S`); the server is killed and the directory
/// removed when this is dropped, so even a failing test leaves nothing behind.
pub(crate) struct Tmux {
    socket: PathBuf,
    _dir: tempfile::TempDir,
}

/// What the terminal shows: plain text, and the same with the escape codes of its colours.
pub(crate) struct Screen {
    pub(crate) text: String,
    pub(crate) escaped: String,
}

impl Screen {
    fn rows(&self) -> Vec<&str> {
        self.text.lines().collect()
    }

    /// The last non-empty row: the input line.
    fn input_row(&self) -> &str {
        self.text.lines().rev().find(|row| !row.trim().is_empty()).unwrap_or("")
    }
}

impl Tmux {
    /// Start `script` under `sh -c` in a detached `cols`×`rows` terminal.
    pub(crate) async fn start(cols: u16, rows: u16, script: &str) -> Tmux {
        let dir = tempfile::tempdir().unwrap();
        let tmux = Tmux { socket: dir.path().join("tmux"), _dir: dir };
        let (cols, rows) = (cols.to_string(), rows.to_string());
        tmux.run(&["new-session", "-d", "-s", "t", "-x", &cols, "-y", &rows, "sh", "-c", script]).await;
        tmux
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new("tmux");
        // `-f /dev/null`: no user configuration; a UTF-8 locale so Hangul passes through intact.
        cmd.arg("-S")
            .arg(&self.socket)
            .args(["-f", "/dev/null"])
            .env("LANG", "C.UTF-8")
            .env("TERM", "xterm-256color");
        cmd
    }

    async fn run(&self, args: &[&str]) -> String {
        let out = match self.command().args(args).output().await {
            Ok(out) => out,
            Err(e) => panic!("cannot run tmux ({e}); install it first: bash scripts/setup.sh"),
        };
        assert!(out.status.success(), "tmux {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).expect("tmux prints UTF-8")
    }

    /// Type text literally (no key names).
    pub(crate) async fn type_text(&self, text: &str) {
        self.run(&["send-keys", "-t", "t", "-l", text]).await;
    }

    /// Press keys by name (`Enter`, `C-c`).
    pub(crate) async fn press(&self, key: &str) {
        self.run(&["send-keys", "-t", "t", key]).await;
    }

    pub(crate) async fn screen(&self) -> Screen {
        Screen {
            text: self.run(&["capture-pane", "-p", "-t", "t"]).await,
            escaped: self.run(&["capture-pane", "-p", "-e", "-t", "t"]).await,
        }
    }

    /// The cursor's column and row.
    async fn cursor(&self) -> (usize, usize) {
        let out = self.run(&["display-message", "-p", "-t", "t", "#{cursor_x} #{cursor_y}"]).await;
        let (x, y) = out.trim().split_once(' ').expect("two numbers");
        (x.parse().unwrap(), y.parse().unwrap())
    }

    /// Poll the screen until `ok` holds.
    pub(crate) async fn wait_for(&self, what: &str, ok: impl Fn(&Screen) -> bool) -> Screen {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let screen = self.screen().await;
            if ok(&screen) {
                return screen;
            }
            if tokio::time::Instant::now() > deadline {
                panic!("timed out waiting for {what}; the screen was:\n{}", screen.text);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub(crate) async fn wait_for_text(&self, text: &str) -> Screen {
        self.wait_for(&format!("{text:?} on screen"), |s| s.text.contains(text)).await
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        // Ignore failure: the server is already gone when the session's command has ended.
        let _ = std::process::Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .arg("kill-server")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// The foreground colour in effect where `needle` first appears in a `capture-pane -e` dump,
/// as the SGR parameters that set it (`None`: the terminal's default colour).
pub(crate) fn colour_at(escaped: &str, needle: &str) -> Option<String> {
    let end = escaped.find(needle).unwrap_or_else(|| panic!("{needle:?} not in the capture"));
    let mut fg = None;
    let mut rest = &escaped[..end];
    while let Some(start) = rest.find("\u{1b}[") {
        rest = &rest[start + 2..];
        let Some(len) = rest.find(|c: char| !(c.is_ascii_digit() || c == ';')) else { break };
        if rest[len..].starts_with('m') {
            let params: Vec<&str> = rest[..len].split(';').collect();
            let mut i = 0;
            while i < params.len() {
                match params[i] {
                    "" | "0" | "39" => fg = None,
                    p @ ("30" | "31" | "32" | "33" | "34" | "35" | "36" | "37" | "90" | "91" | "92"
                    | "93" | "94" | "95" | "96" | "97") => fg = Some(p.to_owned()),
                    // Extended colours carry their arguments: 38;5;N or 38;2;R;G;B (48 for the
                    // background, skipped the same way).
                    p @ ("38" | "48") => {
                        let n = if params.get(i + 1) == Some(&"2") { 4 } else { 2 };
                        if p == "38" {
                            fg = Some(params[i..(i + 1 + n).min(params.len())].join(";"));
                        }
                        i += n;
                    }
                    _ => {}
                }
                i += 1;
            }
        }
        rest = &rest[len..];
    }
    fg
}

/// `sh -c` script: run the client, then record its exit status in `status_file`.
fn client_script(name: &str, addr: &str, status_file: &Path, then: &str) -> String {
    format!("'{BIN}' chat --name '{name}' --addr '{addr}'; echo EXIT=$? > '{}'{then}", status_file.display())
}

/// Wait until the client's exit status has been written.
pub(crate) async fn exit_status(file: &Path) -> String {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        if let Ok(s) = std::fs::read_to_string(file)
            && s.ends_with('\n')
        {
            return s.trim().to_owned();
        }
        assert!(tokio::time::Instant::now() < deadline, "the client did not exit");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A server with bob in its chat (a socket) and alice's full-screen client in a 100×30 terminal,
/// which writes its exit status to `status` in the directory returned.
async fn alice_beside_bob() -> (TestServer, Client, Tmux, tempfile::TempDir) {
    let server = TestServer::start().await;
    let bob = Client::chat_text(server.chat(), "bob").await;
    let dir = tempfile::tempdir().unwrap();
    let script = client_script("alice", &server.chat().to_string(), &dir.path().join("status"), "");
    let tmux = Tmux::start(100, 30, &script).await;
    (server, bob, tmux, dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_full_screen_client_in_a_real_terminal() {
    let (server, mut bob, tmux, dir) = alice_beside_bob().await;
    let (addr, status) = (server.chat().to_string(), dir.path().join("status"));

    // The screen opens with the status bar, and bob sees alice arrive.
    tmux.wait_for_text(&format!("sockhub chat │ {addr} │ alice │ 2 online")).await;
    assert_eq!(bob.line().await, "[alice] joined (2 online)");

    // What alice types reaches the room.
    tmux.type_text("hello from the screen").await;
    tmux.press("Enter").await;
    assert_eq!(bob.line().await, "[alice] hello from the screen");
    tmux.wait_for_text("[alice] hello from the screen").await;

    // A message arriving while alice is half-way through a line leaves that line alone.
    tmux.type_text("half typed 안녕").await;
    tmux.wait_for("the half-typed line", |s| s.input_row() == "> half typed 안녕").await;
    bob.send("a message while alice types").await;
    assert_eq!(bob.line().await, "[bob] a message while alice types");
    let screen = tmux.wait_for_text("[bob] a message while alice types").await;
    assert_eq!(screen.input_row(), "> half typed 안녕", "the input line is intact");
    let input_y = screen.rows().iter().rposition(|row| row.starts_with("> half")).unwrap();
    assert_eq!(tmux.cursor().await, (2 + 11 + 4, input_y), "the cursor is after 안녕, two cells each");
    tmux.press("Enter").await;
    assert_eq!(bob.line().await, "[alice] half typed 안녕");

    // A whisper stands out: marked <<<, in a colour that public messages do not have.
    bob.send("/w alice psst, a secret").await;
    assert_eq!(bob.line().await, ">>> [to alice] psst, a secret");
    let screen = tmux.wait_for_text("<<< [from bob] psst, a secret").await;
    let whisper = colour_at(&screen.escaped, "[from bob] psst");
    let public = colour_at(&screen.escaped, " a message while alice types");
    assert!(whisper.is_some(), "a whisper has a colour:\n{}", screen.escaped);
    assert_ne!(whisper, public, "whispers and public messages differ in colour");

    // /r replies to the last whisperer, which the status bar announces.
    tmux.wait_for_text("reply: /r → bob").await;
    tmux.type_text("/r got it").await;
    tmux.press("Enter").await;
    assert_eq!(bob.line().await, "<<< [from alice] got it");
    let screen = tmux.wait_for_text(">>> [to bob] got it").await;
    assert_eq!(colour_at(&screen.escaped, "[to bob] got it"), whisper, "both directions share the colour");

    // Ctrl-C leaves cleanly: the server sees a quit (not a dropped connection), the exit status
    // is 0, and the terminal is back to the normal screen with the server's goodbye on it.
    tmux.type_text("never sent").await;
    tmux.press("C-c").await;
    assert_eq!(bob.line().await, "[alice] left (1 online)");
    assert_eq!(exit_status(&status).await, "EXIT=0");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_full_screen_client_in_two_rooms() {
    let (server, mut bob, tmux, dir) = alice_beside_bob().await;
    let status = dir.path().join("status");
    tmux.wait_for_text("alice │ 2 online │ #lobby").await;
    assert_eq!(bob.line().await, "[alice] joined (2 online)");

    // /join #team: the status bar shows it as the current room, with its one member.
    tmux.type_text("/join #team").await;
    tmux.press("Enter").await;
    tmux.wait_for_text("alice │ 1 online │ #team").await;

    // A line in #lobby is shown with its room, and #lobby counts as unread.
    bob.send("anyone in the lobby?").await;
    assert_eq!(bob.line().await, "[bob] anyone in the lobby?");
    tmux.wait_for_text("[#lobby] [bob] anyone in the lobby?").await;
    tmux.wait_for_text("#team │ unread: #lobby(1)").await;

    // A plain line goes to the current room, #team, where bob is not.
    tmux.type_text("only for the team").await;
    tmux.press("Enter").await;
    tmux.wait_for("the line for #team, unprefixed", |s| {
        s.rows().iter().any(|r| r.starts_with("[alice] only for the team"))
    })
    .await;

    // /switch #lobby: current again, nothing unread; plain lines go there.
    tmux.type_text("/switch #lobby").await;
    tmux.press("Enter").await;
    tmux.wait_for("#lobby current and nothing unread", |s| {
        s.text.contains("alice │ 2 online │ #lobby") && !s.text.contains("unread:")
    })
    .await;
    tmux.type_text("back in the lobby").await;
    tmux.press("Enter").await;
    assert_eq!(bob.line().await, "[alice] back in the lobby", "bob never saw the line for #team");

    tmux.press("C-c").await;
    assert_eq!(exit_status(&status).await, "EXIT=0");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_login_fails_before_the_screen_opens() {
    let server = TestServer::start().await;
    let addr = server.chat().to_string();
    let _bob = Client::chat_text(server.chat(), "bob").await;
    let dir = tempfile::tempdir().unwrap();
    let status = dir.path().join("status");
    // The shell stays after the client so the pane (and what it printed) can be read.
    let tmux = Tmux::start(100, 10, &client_script("BOB", &addr, &status, "; sleep 60")).await;
    assert_eq!(exit_status(&status).await, "EXIT=1");
    tmux.wait_for_text("! name_taken: already registered user").await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_the_server_ends_the_session_the_reason_stays_until_a_key() {
    let server = TestServer::start().await;
    let addr = server.chat().to_string();
    let dir = tempfile::tempdir().unwrap();
    let status = dir.path().join("status");
    let tmux = Tmux::start(100, 10, &client_script("alice", &addr, &status, "; sleep 60")).await;
    tmux.wait_for_text("alice │ 1 online").await;
    server.stop().await;
    tmux.wait_for_text("server said bye: server shutting down — press a key to exit").await;
    assert!(!status.exists(), "the client waits for the user");
    tmux.press("x").await;
    assert_eq!(exit_status(&status).await, "EXIT=0");
    // Back on the normal screen, the reason is the last thing the client printed.
    tmux.wait_for_text("* bye: server shutting down").await;
}

/// Run `sockhub chat --name NAME` with stdin piped from `input` (not a terminal) to its end; it
/// must succeed.
async fn line_client(server: &TestServer, name: &str, input: &str) -> std::process::Output {
    let mut child = spawn_piped(&["chat", "--name", name, "--addr", &server.chat().to_string()]);
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input.as_bytes()).await.unwrap();
    drop(stdin);
    let out =
        tokio::time::timeout(PATIENCE, child.wait_with_output()).await.expect("the client exits").unwrap();
    assert!(out.status.success(), "{out:?}");
    out
}

#[tokio::test]
async fn without_a_terminal_the_client_works_line_by_line() {
    let server = TestServer::start().await;
    let mut bob = Client::chat_text(server.chat(), "bob").await;
    let out = line_client(&server, "alice", "hello from a script\n/w bob 비밀\n/dance\n/who\nq\n").await;
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().lines().collect::<Vec<_>>(),
        [
            "* Welcome, alice! 2 online. Type /help for commands.",
            "[alice] hello from a script",
            ">>> [to bob] 비밀",
            "* 2 online: alice, bob",
            "* bye: goodbye",
        ]
    );
    assert_eq!(
        String::from_utf8(out.stderr).unwrap().trim(),
        "! unknown_command: unknown command /dance; type /help for the list"
    );
    for expected in ["[alice] joined (2 online)", "[alice] hello from a script", "<<< [from alice] 비밀"] {
        assert_eq!(bob.line().await, expected);
    }
    assert_eq!(bob.line().await, "[alice] left (1 online)");

    // A refused name: the reason on stdout, a failing exit status.
    let out = Command::new(BIN)
        .args(["chat", "--name", "BOB", "--addr", &server.chat().to_string()])
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8(out.stdout).unwrap().starts_with("! name_taken: "));
    server.stop().await;
}

#[tokio::test]
async fn line_by_line_in_two_rooms_the_lines_name_their_room() {
    let server = TestServer::start().await;
    let mut bob = Client::chat_text(server.chat(), "bob").await;
    let out =
        line_client(&server, "alice", "/join #team\nhi team\n/switch #lobby\nhi lobby\n/part #team\nq\n")
            .await;
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().lines().collect::<Vec<_>>(),
        [
            "* Welcome, alice! 2 online. Type /help for commands.",
            "[#team] [alice] joined (1 online)",
            "[#team] [alice] hi team",
            "* plain lines now go to #lobby",
            "[#lobby] [alice] hi lobby",
            "[alice] left (0 online)",
            "* bye: goodbye",
        ],
        "prefixed while in two rooms, as text mode shows them"
    );
    for expected in ["[alice] joined (2 online)", "[alice] hi lobby", "[alice] left (1 online)"] {
        assert_eq!(bob.line().await, expected, "bob, in #lobby only, sees nothing of #team");
    }
    server.stop().await;
}
