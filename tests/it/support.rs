//! Shared test helpers: a server on port 0 with a temporary data directory, and a raw TCP client
//! that reads lines with a timeout so a missing reply fails the test instead of hanging it.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use sockhub_server::{Config, Server};
use sockhub_store::testing::TestDb;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// How long a test waits for an expected line before failing.
pub const PATIENCE: Duration = Duration::from_secs(10);
/// How long a test waits for a server process to be ready: a restart after `kill -9` recovers
/// its database first, and on a loaded machine (CI building in parallel) that can take longer
/// than a reply.
pub const START_PATIENCE: Duration = Duration::from_secs(30);

/// A free port on 127.0.0.1 that the kernel never hands out on its own, for a server that must
/// come back on the same port after a restart (or a peer that must be told the port before it
/// starts).
///
/// A port reserved by binding port 0 and letting go comes from the ephemeral range, where any
/// outgoing connection of a test running alongside may take it before the server binds it
/// again. This picks at random below that range, never twice in one test run, and checks that
/// nobody listens there.
pub fn unused_port() -> u16 {
    static GIVEN: std::sync::Mutex<std::collections::BTreeSet<u16>> =
        std::sync::Mutex::new(std::collections::BTreeSet::new());
    let (low, high) = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|text| {
            let mut bounds = text.split_whitespace().map(|n| n.parse::<u16>().ok());
            Some((bounds.next()??, bounds.next()??))
        })
        .unwrap_or((32768, 60999));
    // Below the range if there is room, else above it.
    let span = if low > 11024 { 10000..low } else { high.saturating_add(1)..u16::MAX };
    loop {
        let port = rand::random_range(span.clone());
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() && GIVEN.lock().unwrap().insert(port) {
            return port;
        }
    }
}

/// A configuration for tests: every port 0, data in `dir`, generous flood control.
pub fn test_config(dir: &Path) -> Config {
    let mut c = Config::ephemeral(dir);
    c.limits.rate_per_sec = 1000.0;
    c.limits.burst = 1000;
    c.limits.linger_ms = 200;
    // No background deletion under a test's feet (fixtures use fixed, old timestamps); the
    // retention tests turn it on.
    c.retention.chat_days = 0;
    c.retention.logins_days = 0;
    c.retention.quiz_days = 0;
    c.retention.relay_days = 0;
    c
}

/// Point `config` at the test database `db` (any backend).
pub fn use_db(config: &mut Config, db: &TestDb) {
    match &db.opts.url {
        Some(url) => config.database.url = Some(url.clone()),
        None => {
            let path = db.sqlite_path();
            config.server.data_dir = path.parent().unwrap().to_path_buf();
            config.database.sqlite_file = path.file_name().unwrap().to_string_lossy().into_owned();
        }
    }
}

/// A server running in this process.
pub struct TestServer {
    pub addrs: BTreeMap<String, SocketAddr>,
    /// The server's `data_dir` (logs, and the SQLite file unless on another database).
    data_dir: std::path::PathBuf,
    shutdown: CancellationToken,
    handle: JoinHandle<()>,
    _dir: Option<tempfile::TempDir>,
}

impl TestServer {
    /// Start with the test defaults.
    pub async fn start() -> TestServer {
        Self::with(|_| {}).await
    }

    /// Start with the test defaults changed by `f`.
    pub async fn with(f: impl FnOnce(&mut Config)) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let mut config = test_config(dir.path());
        f(&mut config);
        let mut s = Self::from_config(config).await;
        s._dir = Some(dir);
        s
    }

    /// Start on a test database (`sockhub_store::testing::TestDb`): SQLite in its temp dir, or a
    /// fresh database on the configured MariaDB/PostgreSQL. Tests that touch storage run once per
    /// backend: `for b in backends() { let db = TestDb::create(&b).await; ... db.cleanup().await }`.
    pub async fn on_db(db: &TestDb, f: impl FnOnce(&mut Config)) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let mut config = test_config(dir.path());
        use_db(&mut config, db);
        f(&mut config);
        let mut s = Self::from_config(config).await;
        s._dir = Some(dir);
        s
    }

    /// Start with exactly this configuration.
    pub async fn from_config(config: Config) -> TestServer {
        let data_dir = config.server.data_dir.clone();
        let mut server = Server::bind(config).await.expect("server binds");
        sockhub_web::attach(&mut server).expect("the web server binds");
        let addrs = server.addrs();
        let shutdown = server.hub().shutdown_token().clone();
        let handle = tokio::spawn(server.run());
        TestServer { addrs, data_dir, shutdown, handle, _dir: None }
    }

    pub fn addr(&self, service: &str) -> SocketAddr {
        self.addrs[service]
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    pub fn chat(&self) -> SocketAddr {
        self.addr("chat")
    }

    pub fn calc(&self) -> SocketAddr {
        self.addr("calc")
    }

    pub fn web(&self) -> SocketAddr {
        self.addr("web")
    }

    /// Shut down as on SIGTERM and wait until the server has finished.
    pub async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(PATIENCE, self.handle).await.expect("server stops in time").unwrap();
    }
}

/// A TCP connection to `addr` from the local address `from` (port chosen by the system).
pub async fn connect_from(from: std::net::IpAddr, addr: SocketAddr) -> TcpStream {
    let socket = match from {
        std::net::IpAddr::V4(_) => tokio::net::TcpSocket::new_v4(),
        std::net::IpAddr::V6(_) => tokio::net::TcpSocket::new_v6(),
    }
    .unwrap();
    socket.bind(SocketAddr::new(from, 0)).expect("bind the client's local address");
    socket.connect(addr).await.expect("connect")
}

/// A raw line client.
pub struct Client {
    pub reader: BufReader<OwnedReadHalf>,
    pub writer: OwnedWriteHalf,
}

impl Client {
    pub async fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).await.expect("connect");
        let (r, w) = stream.into_split();
        Client { reader: BufReader::new(r), writer: w }
    }

    /// Connect from the local address `from` (another client address on loopback).
    pub async fn connect_from(from: std::net::IpAddr, addr: SocketAddr) -> Client {
        let (r, w) = connect_from(from, addr).await.into_split();
        Client { reader: BufReader::new(r), writer: w }
    }

    /// Connect with a small receive buffer, for clients that are meant to fall behind.
    pub async fn connect_with_recv_buffer(addr: SocketAddr, bytes: u32) -> Client {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(bytes).unwrap();
        let stream = socket.connect(addr).await.expect("connect");
        let (r, w) = stream.into_split();
        Client { reader: BufReader::new(r), writer: w }
    }

    /// Send raw bytes.
    pub async fn send_raw(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).await.expect("send");
    }

    /// Send one line (adds `\n`).
    pub async fn send(&mut self, line: &str) {
        self.send_raw(format!("{line}\n").as_bytes()).await;
    }

    /// Send a JSON value as one line.
    pub async fn send_json(&mut self, v: Value) {
        self.send(&v.to_string()).await;
    }

    /// The next line, without its newline. Panics on EOF or timeout.
    pub async fn line(&mut self) -> String {
        self.try_line().await.expect("expected a line, got end of stream")
    }

    /// The next line, or `None` at end of stream. Panics on timeout.
    pub async fn try_line(&mut self) -> Option<String> {
        self.line_within().await.expect("timed out waiting for a line")
    }

    /// The next line (`None` at end of stream), or `Err` when none came within [`PATIENCE`].
    async fn line_within(&mut self) -> Result<Option<String>, tokio::time::error::Elapsed> {
        let mut buf = Vec::new();
        let n = tokio::time::timeout(PATIENCE, self.reader.read_until(b'\n', &mut buf)).await?.unwrap_or(0);
        if n == 0 {
            return Ok(None);
        }
        let s = String::from_utf8(buf).expect("server sent invalid UTF-8");
        Ok(Some(s.trim_end_matches('\n').to_owned()))
    }

    /// Read lines until one equals `expected`; returns the lines skipped before it.
    pub async fn until(&mut self, expected: &str) -> Vec<String> {
        let mut skipped = Vec::new();
        loop {
            // On a timeout, what came instead says why (an error reply, say).
            let line = match self.line_within().await {
                Ok(Some(line)) => line,
                Ok(None) => panic!("end of stream before {expected:?}; read instead: {skipped:?}"),
                Err(_) => panic!("no {expected:?} within {PATIENCE:?}; read instead: {skipped:?}"),
            };
            if line == expected {
                return skipped;
            }
            skipped.push(line);
        }
    }

    /// Read lines until one starts with `prefix`, and return it.
    pub async fn until_prefix(&mut self, prefix: &str) -> String {
        loop {
            let line = self.line().await;
            if line.starts_with(prefix) {
                return line;
            }
        }
    }

    /// The next JSON line, skipping text lines (the greeting).
    pub async fn json(&mut self) -> Value {
        loop {
            let line = self.line().await;
            if line.starts_with('{') {
                return serde_json::from_str(&line).unwrap_or_else(|e| panic!("bad JSON {line:?}: {e}"));
            }
        }
    }

    /// The next JSON message whose type is `ty`, skipping others.
    pub async fn json_of(&mut self, ty: &str) -> Value {
        loop {
            let v = self.json().await;
            if v["type"] == ty {
                return v;
            }
        }
    }

    /// Assert the server closes the connection (EOF or reset) within the patience window,
    /// returning the lines that came before.
    pub async fn closed(&mut self) -> Vec<String> {
        let mut lines = Vec::new();
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match tokio::time::timeout(PATIENCE, self.reader.read_until(b'\n', &mut buf)).await {
                Err(_) => panic!("the server did not close the connection; lines so far: {lines:?}"),
                Ok(Ok(0)) | Ok(Err(_)) => return lines,
                Ok(Ok(_)) => lines.push(String::from_utf8_lossy(&buf).trim_end().to_owned()),
            }
        }
    }

    /// Connect to chat in text mode and enter as `name`; the welcome line has been read.
    pub async fn chat_text(addr: SocketAddr, name: &str) -> Client {
        let mut c = Client::connect(addr).await;
        c.until("* Your name?").await;
        c.send(name).await;
        let welcome = c.line().await;
        assert!(welcome.starts_with(&format!("* Welcome, {name}!")), "{welcome}");
        c
    }

    /// [`Client::chat_text`] on a server whose name prompt is `prompt` (another language).
    pub async fn chat_text_in(addr: SocketAddr, name: &str, prompt: &str) -> Client {
        let mut c = Client::connect(addr).await;
        c.until(prompt).await;
        c.send(name).await;
        let welcome = c.line().await;
        assert!(welcome.contains(name), "{welcome}");
        c
    }

    /// Connect to chat in JSON mode and log in as `name`; the welcome has been read.
    pub async fn chat_json(addr: SocketAddr, name: &str) -> Client {
        let mut c = Client::connect(addr).await;
        c.send_json(serde_json::json!({"type": "login", "name": name})).await;
        let welcome = c.json().await;
        assert_eq!(welcome["type"], "welcome", "{welcome}");
        assert_eq!(welcome["name"], name);
        c
    }
}

impl Client {
    /// Collect whatever lines arrive until nothing has come for `quiet`.
    pub async fn silent_or_lines(&mut self, quiet: Duration) -> Vec<String> {
        let mut lines = Vec::new();
        loop {
            let mut buf = Vec::new();
            match tokio::time::timeout(quiet, self.reader.read_until(b'\n', &mut buf)).await {
                Ok(Ok(n)) if n > 0 => lines.push(String::from_utf8_lossy(&buf).trim_end().to_owned()),
                _ => return lines,
            }
        }
    }
}

/// Create an account directly in the database (what `sockhub user add` does).
pub async fn add_account(
    store: &sockhub_store::Store,
    name: &str,
    password: &str,
    role: sockhub_store::Role,
) {
    let hash = sockhub_store::password::hash(password).await.unwrap();
    let account = sockhub_store::NewAccount { role, ..sockhub_store::NewAccount::member(name, hash) };
    store.accounts().add(&account).await.unwrap();
}

/// Poll `check` until it returns `Some`, for at most the patience window.
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(tokio::time::Instant::now() < deadline, "gave up waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A config file that points `sockhub` commands at the same database as `db`.
pub fn config_file_for(db: &TestDb, dir: &Path) -> std::path::PathBuf {
    let mut toml = String::new();
    match &db.opts.url {
        Some(url) => toml.push_str(&format!("[database]\nurl = {url:?}\n")),
        None => {
            let path = db.sqlite_path();
            toml.push_str(&format!(
                "[server]\ndata_dir = {:?}\n[database]\nsqlite_file = {:?}\n",
                path.parent().unwrap(),
                path.file_name().unwrap()
            ));
        }
    }
    let file = dir.join("sockhub.toml");
    std::fs::write(&file, toml).unwrap();
    file
}

/// A fresh test database (any backend) with a store open on it, for tests that set up accounts or
/// read back what the server wrote.
pub struct Db {
    pub db: TestDb,
    pub store: sockhub_store::Store,
}

impl Db {
    pub async fn create(backend: &sockhub_store::testing::TestBackend) -> Db {
        let db = TestDb::create(backend).await;
        let store = db.open().await;
        Db { db, store }
    }

    /// A database with one account already in it.
    pub async fn with_account(
        backend: &sockhub_store::testing::TestBackend,
        name: &str,
        password: &str,
        role: sockhub_store::Role,
    ) -> Db {
        let db = Self::create(backend).await;
        add_account(&db.store, name, password, role).await;
        db
    }

    /// A server on this database.
    pub async fn server(&self, f: impl FnOnce(&mut Config)) -> TestServer {
        TestServer::on_db(&self.db, f).await
    }

    /// Close the store and drop the database.
    pub async fn cleanup(self) {
        self.store.close().await;
        self.db.cleanup().await;
    }
}

impl Client {
    /// Connect to chat in JSON mode and log in to an account; the welcome has been read.
    pub async fn chat_login(addr: SocketAddr, name: &str, password: &str) -> Client {
        let mut c = Client::connect(addr).await;
        c.send_json(serde_json::json!({"type": "login", "name": name, "password": password})).await;
        let welcome = c.json().await;
        assert_eq!(welcome["type"], "welcome", "{welcome}");
        c
    }

    /// Connect to chat in text mode and log in to an account as someone typing into `nc` would:
    /// the name, then the password it is asked for; the welcome line has been read.
    pub async fn chat_text_login(addr: SocketAddr, name: &str, password: &str) -> Client {
        let mut c = Client::connect(addr).await;
        c.until("* Your name?").await;
        c.send(name).await;
        assert_eq!(c.line().await, "! password_required: this name needs a password");
        assert_eq!(c.line().await, format!("* Password for {name}?"));
        c.send(password).await;
        assert!(c.line().await.starts_with(&format!("* Welcome, {name}!")));
        c
    }
}

/// The real `sockhub serve` binary in a child process, for tests of signals, crashes and logs.
/// The `sockhub` binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_sockhub");

/// Run `sockhub ARGS -c CONFIG` to its end with `stdin` as its input, as an operator would from
/// a shell; whether it succeeded, and its stdout then stderr. Asynchronous, so that a server in
/// this process goes on meanwhile (and can let go of the database the command needs).
pub async fn run_sockhub(config: &Path, args: &[&str], stdin: &str) -> (bool, String) {
    let mut command = tokio::process::Command::new(BIN);
    command.args(args).arg("-c").arg(config);
    let out = run_to_end(command, stdin).await;
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

/// Run `command` (a `sockhub` command line) to its end with `stdin` as its input; its output.
pub async fn run_to_end(mut command: tokio::process::Command, stdin: &str) -> std::process::Output {
    use tokio::io::AsyncWriteExt as _;
    let mut child = command
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn sockhub");
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.as_bytes()).await.unwrap();
    drop(input);
    tokio::time::timeout(PATIENCE, child.wait_with_output()).await.expect("sockhub ends").unwrap()
}

/// Start `sockhub ARGS` with stdin, stdout and stderr piped, as a script would drive a client.
pub fn spawn_piped(args: &[&str]) -> tokio::process::Child {
    tokio::process::Command::new(BIN)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn sockhub")
}

pub struct BinaryServer {
    pub child: tokio::process::Child,
    pub addrs: BTreeMap<String, SocketAddr>,
}

impl BinaryServer {
    /// Start `sockhub serve` with every service on port 0 and `data_dir`, plus `args`; wait until
    /// its ready file lists the bound addresses. What the server prints goes to a log file in
    /// `data_dir`, whose end the panic shows if it exits or takes too long to get ready.
    pub async fn start(data_dir: &Path, args: &[&str]) -> BinaryServer {
        Self::start_with(data_dir, args, |_| {}).await
    }

    /// [`BinaryServer::start`], with `configure` applied to the command before it is spawned.
    pub async fn start_with(
        data_dir: &Path,
        args: &[&str],
        configure: impl FnOnce(&mut tokio::process::Command),
    ) -> BinaryServer {
        let suffix = rand_suffix();
        let ready = data_dir.join(format!("ready-{suffix}.json"));
        let log = data_dir.join(format!("serve-{suffix}.log"));
        std::fs::create_dir_all(data_dir).unwrap();
        // Port 0 for every service whose port `args` does not choose, so that tests running at
        // once never compete for a default port.
        let ports: Vec<&str> = ["--chat-port", "--quiz-port", "--calc-port", "--relay-port", "--web-port"]
            .into_iter()
            .filter(|flag| !args.contains(flag))
            .flat_map(|flag| [flag, "0"])
            .collect();
        let mut command = tokio::process::Command::new(BIN);
        configure(&mut command);
        let mut child = command
            .arg("serve")
            .args(&ports)
            .arg("--data-dir")
            .arg(data_dir)
            .arg("--ready-file")
            .arg(&ready)
            .args(args)
            .env_remove("RUST_LOG")
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn sockhub serve");
        let printed = || {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            lines[lines.len().saturating_sub(20)..].join("\n")
        };
        let deadline = tokio::time::Instant::now() + START_PATIENCE;
        let addrs = loop {
            if let Ok(text) = std::fs::read_to_string(&ready) {
                let raw: BTreeMap<String, String> = serde_json::from_str(&text).unwrap();
                break raw.into_iter().map(|(k, v)| (k, v.parse().unwrap())).collect();
            }
            if let Some(status) = child.try_wait().unwrap() {
                panic!(
                    "`sockhub serve {}` exited ({status}) before it was ready:\n{}",
                    args.join(" "),
                    printed()
                );
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{} never appeared; the server printed:\n{}",
                ready.display(),
                printed()
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        };
        BinaryServer { child, addrs }
    }

    pub fn addr(&self, service: &str) -> SocketAddr {
        self.addrs[service]
    }

    /// Send a signal (`TERM`, `INT`, `KILL`) to the process.
    pub fn signal(&self, name: &str) {
        let pid = self.child.id().expect("still running").to_string();
        let ok =
            std::process::Command::new("kill").args([&format!("-{name}"), &pid]).status().unwrap().success();
        assert!(ok, "kill -{name} {pid}");
    }

    /// SIGTERM, then wait for a clean exit.
    pub async fn stop(mut self) -> std::process::ExitStatus {
        self.signal("TERM");
        tokio::time::timeout(PATIENCE, self.child.wait()).await.expect("exits in time").unwrap()
    }
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    u64::from(std::process::id()) << 20 | N.fetch_add(1, Ordering::Relaxed)
}

/// Limits for slow-reader tests: a 32-frame outbound queue, a 2 s write timeout, no flood control.
pub fn small_outbox(c: &mut Config) {
    c.limits.outbound_queue = 32;
    c.limits.write_timeout_secs = 2;
    c.limits.rate_per_sec = 0.0;
}

/// Rounds of 16 large chat messages (half of a 32-frame outbound queue) sent by the first of
/// `clients`, every one of which keeps reading them, until `leaver` (a client that never reads)
/// is announced as gone. Returns whether it left and how many messages everyone else received
/// meanwhile. The clients are in chat's JSON mode.
pub async fn flood_until_left(clients: &mut [&mut Client], leaver: &str) -> (bool, usize) {
    let line = serde_json::json!({"type": "say", "text": "s".repeat(4000)}).to_string() + "\n";
    let (mut left, mut delivered) = (false, 0);
    for _round in 0..250 {
        clients[0].send_raw(line.repeat(16).as_bytes()).await;
        for client in clients.iter_mut() {
            let mut got = 0;
            while got < 16 {
                let m = client.json().await;
                match m["type"].as_str() {
                    Some("message") => got += 1,
                    Some("left") => {
                        assert_eq!(m["name"], leaver, "only {leaver} may be dropped: {m}");
                        left = true;
                    }
                    other => panic!("unexpected {other:?}: {m}"),
                }
            }
        }
        delivered += 16;
        if left {
            break;
        }
    }
    (left, delivered)
}
