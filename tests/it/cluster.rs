//! Several `sockhub serve` nodes as real processes (port 0), sharing a private `nats-server` and
//! one MariaDB or PostgreSQL database: what a user on one node sees of the users on the others.
//!
//! Each test starts its own NATS (the machine's `nats-server` binary, on a free port, in a temp
//! directory) so it can stop and restart it without disturbing any other test, and its own fresh
//! database. A shared database is required: with neither `SOCKHUB_TEST_POSTGRES_URL` nor
//! `SOCKHUB_TEST_MYSQL_URL` set, these tests say so and pass only outside CI (under `CI` they
//! fail, so CI never passes by skipping them). `smoke_on_the_machines_nats` also runs against the
//! machine's NATS when `SOCKHUB_TEST_NATS_URL` is set.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::json;
use sockhub_store::Role;
use sockhub_store::testing::{TestBackend, backends};

use crate::support::{BinaryServer, Client, Db, add_account, eventually};

/// The heartbeat and node timeout the tests run with: a dead node is noticed within seconds.
const HEARTBEAT_MS: u64 = 200;
const NODE_TIMEOUT_SECS: u64 = 2;

/// The shared databases configured for the tests (never SQLite: a cluster refuses it).
fn shared_backends() -> Vec<TestBackend> {
    let shared: Vec<TestBackend> =
        backends().into_iter().filter(|b| b.backend != sockhub_store::Backend::Sqlite).collect();
    if shared.is_empty() {
        assert!(
            std::env::var_os("CI").is_none(),
            "cluster tests need SOCKHUB_TEST_POSTGRES_URL or SOCKHUB_TEST_MYSQL_URL (CI sets both)"
        );
        eprintln!("skipping: cluster tests need SOCKHUB_TEST_POSTGRES_URL or SOCKHUB_TEST_MYSQL_URL");
    }
    shared
}

/// The first shared database, for tests that run once.
pub(crate) fn one_backend() -> Option<TestBackend> {
    let mut all = shared_backends();
    // PostgreSQL first when both are there: the operations guide's recommendation.
    all.sort_by_key(|b| b.backend != sockhub_store::Backend::Postgres);
    all.into_iter().next()
}

/// A private `nats-server`.
pub struct Nats {
    pub port: u16,
    dir: tempfile::TempDir,
    child: Option<std::process::Child>,
}

impl Nats {
    pub async fn start() -> Nats {
        let port = crate::support::unused_port();
        let mut nats = Nats { port, dir: tempfile::tempdir().unwrap(), child: None };
        nats.restart().await;
        nats
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Start it (again, on the same port).
    pub async fn restart(&mut self) {
        assert!(self.child.is_none());
        let child = std::process::Command::new("/usr/sbin/nats-server")
            .args(["-a", "127.0.0.1", "-p", &self.port.to_string(), "-js", "-sd"])
            .arg(self.dir.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("nats-server runs (it is /usr/sbin/nats-server)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await.is_err() {
            assert!(Instant::now() < deadline, "nats-server did not come up on {}", self.port);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Kill it (as a crash would).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A node's configuration file: chat and calc on port 0, on `db`, in a cluster through `nats`;
/// `extra` is appended (more TOML sections).
fn node_config(dir: &Path, db: &Db, nats_url: &str, node_id: &str, extra: &str) -> PathBuf {
    let url = db.db.opts.url.clone().expect("a shared database");
    let text = format!(
        "[server]\ndata_dir = {data:?}\n\
         [limits]\nrate_per_sec = 1000.0\nburst = 1000\nlinger_ms = 200\n\
         [database]\nurl = {url:?}\n\
         [chat]\nport = 0\n\
         [calc]\nport = 0\nroster = \"open\"\n\
         [quiz]\nport = 0\nduration_secs = 6\npause_secs = [0.0, 0.0]\nscores_every_secs = 0\n\
         [cluster]\nnats_url = {nats_url:?}\nnode_id = {node_id:?}\nheartbeat_ms = {HEARTBEAT_MS}\n\
         node_timeout_secs = {NODE_TIMEOUT_SECS}\n{extra}",
        data = dir.join(node_id),
    );
    let file = dir.join(format!("{node_id}.toml"));
    std::fs::write(&file, text).unwrap();
    file
}

/// A few nodes of one cluster, as processes.
pub(crate) struct Cluster {
    dir: tempfile::TempDir,
    nodes: Vec<Option<BinaryServer>>,
}

impl Cluster {
    pub(crate) async fn start(db: &Db, nats: &Nats, n: usize) -> Cluster {
        Self::start_with(db, nats, n, "").await
    }

    /// [`Cluster::start`], with `extra` TOML in every node's configuration.
    pub(crate) async fn start_with(db: &Db, nats: &Nats, n: usize, extra: &str) -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let mut nodes = Vec::new();
        for i in 0..n {
            nodes.push(Some(Self::node(dir.path(), db, &nats.url(), i, extra).await));
        }
        Cluster { dir, nodes }
    }

    async fn node(dir: &Path, db: &Db, nats_url: &str, i: usize, extra: &str) -> BinaryServer {
        let id = format!("node-{}", (b'a' + i as u8) as char);
        let config = node_config(dir, db, nats_url, &id, extra);
        std::fs::create_dir_all(dir.join(&id)).unwrap();
        BinaryServer::start(&dir.join(&id), &["--config", config.to_str().unwrap()]).await
    }

    pub(crate) fn chat(&self, i: usize) -> SocketAddr {
        self.addr(i, "chat")
    }

    /// The address of node `i`'s listener `service`.
    pub(crate) fn addr(&self, i: usize, service: &str) -> SocketAddr {
        self.nodes[i].as_ref().expect("running").addr(service)
    }

    pub(crate) fn web(&self, i: usize) -> SocketAddr {
        self.nodes[i].as_ref().expect("running").addr("web")
    }

    fn quiz(&self, i: usize) -> SocketAddr {
        self.nodes[i].as_ref().expect("running").addr("quiz")
    }

    fn calc(&self, i: usize) -> SocketAddr {
        self.nodes[i].as_ref().expect("running").addr("calc")
    }

    fn log(&self, i: usize) -> String {
        let id = format!("node-{}", (b'a' + i as u8) as char);
        std::fs::read_to_string(self.dir.path().join(id).join("logs/server.log")).unwrap_or_default()
    }

    /// `kill -9` node `i`.
    async fn kill(&mut self, i: usize) {
        let mut node = self.nodes[i].take().expect("running");
        node.signal("KILL");
        node.child.wait().await.unwrap();
    }

    pub(crate) async fn stop(mut self) {
        for node in self.nodes.iter_mut().filter_map(Option::take) {
            let status = node.stop().await;
            assert!(status.success(), "a node exited with {status}");
        }
    }
}

/// Join the chat on `addr` in text mode as `name`, and wait until the whole cluster is seen:
/// the welcome counts `online`.
pub(crate) async fn enter(addr: SocketAddr, name: &str, online: usize) -> Client {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut c = Client::chat_text(addr, name).await;
        c.send("/who").await;
        let who = c.until_prefix("* ").await;
        if who.starts_with(&format!("* {online} online")) {
            return c;
        }
        assert!(Instant::now() < deadline, "{name} never saw {online} online: {who}");
        c.send("q").await;
        c.closed().await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

impl Client {
    /// Lines arriving in the next `quiet` (for "nothing else came").
    async fn rest(&mut self, quiet: Duration) -> Vec<String> {
        self.silent_or_lines(quiet).await
    }
}

#[tokio::test]
async fn a_line_from_node_a_reaches_nodes_b_and_c_exactly_once() {
    let Some(b) = one_backend() else { return };
    let db = Db::create(&b).await;
    let nats = Nats::start().await;
    let cluster = Cluster::start(&db, &nats, 3).await;

    let mut alice = enter(cluster.chat(0), "alice", 1).await;
    let mut bob = enter(cluster.chat(1), "bob", 2).await;
    assert_eq!(alice.line().await, "[bob] joined (2 online)");
    let mut carol = enter(cluster.chat(2), "캐롤", 3).await;
    assert_eq!(alice.line().await, "[캐롤] joined (3 online)");
    assert_eq!(bob.line().await, "[캐롤] joined (3 online)");
    carol.send("/who").await;
    assert_eq!(carol.line().await, "* 3 online: alice, bob, 캐롤");

    for i in 0..20 {
        alice.send(&format!("hello {i} 안녕")).await;
    }
    for c in [&mut alice, &mut bob, &mut carol] {
        for i in 0..20 {
            assert_eq!(c.line().await, format!("[alice] hello {i} 안녕"));
        }
    }
    // Exactly once: nothing more arrives anywhere.
    for c in [&mut alice, &mut bob, &mut carol] {
        assert_eq!(c.rest(Duration::from_millis(500)).await, Vec::<String>::new());
    }

    // A newcomer gets the lines said on other nodes as history too; then JSON clients see the
    // same live lines, with the sender's time.
    let mut dave = Client::chat_json(cluster.chat(2), "dave").await;
    for i in 0..20 {
        let m = dave.json_of("message").await;
        assert_eq!(
            (m["text"].as_str(), m["history"].as_bool()),
            (Some(&*format!("hello {i} 안녕")), Some(true))
        );
    }
    bob.send("from b").await;
    let m = dave.json_of("message").await;
    assert_eq!((m["from"].as_str(), m["text"].as_str()), (Some("bob"), Some("from b")));

    // Leaving is seen everywhere with the cluster-wide count.
    bob.send("q").await;
    bob.closed().await;
    assert_eq!(alice.until_prefix("[bob] left").await, "[bob] left (3 online)");
    assert_eq!(carol.until_prefix("[bob] left").await, "[bob] left (3 online)");
    assert_eq!(dave.json_of("left").await, json!({"type": "left", "name": "bob", "online": 3}));
    cluster.stop().await;
    db.cleanup().await;
}

#[tokio::test]
async fn a_whisper_crosses_nodes_and_reaches_only_its_target() {
    let Some(b) = one_backend() else { return };
    let db = Db::create(&b).await;
    let nats = Nats::start().await;
    let cluster = Cluster::start(&db, &nats, 3).await;
    let mut alice = enter(cluster.chat(0), "alice", 1).await;
    let mut bob = enter(cluster.chat(1), "Bob", 2).await;
    let mut carol = enter(cluster.chat(2), "carol", 3).await;
    alice.until("[carol] joined (3 online)").await;
    bob.until("[carol] joined (3 online)").await;

    alice.send("/w bob 비밀 psst").await;
    assert_eq!(alice.line().await, ">>> [to Bob] 비밀 psst");
    assert_eq!(bob.line().await, "<<< [from alice] 비밀 psst");
    bob.send("/w ALICE got it").await;
    assert_eq!(bob.line().await, ">>> [to alice] got it");
    assert_eq!(alice.line().await, "<<< [from Bob] got it");
    assert_eq!(carol.rest(Duration::from_millis(500)).await, Vec::<String>::new(), "carol hears no whisper");
    carol.send("/w nobody hi").await;
    assert!(carol.line().await.starts_with("! no_such_user:"));

    // The whisper is logged once, by the sender's node, with its target.
    let lines = eventually("the whisper in the shared log", || async {
        let rows = db.store.chat_log(&sockhub_store::ChatFilter::default()).await.ok()?;
        (rows.iter().filter(|r| r.recipient.is_some()).count() == 2).then_some(rows)
    })
    .await;
    assert!(lines.iter().any(|r| r.sender == "alice" && r.recipient.as_deref() == Some("Bob")));
    cluster.stop().await;
    db.cleanup().await;
}

#[tokio::test]
async fn the_same_name_raced_on_two_nodes_has_exactly_one_winner() {
    for b in shared_backends() {
        let db = Db::create(&b).await;
        let nats = Nats::start().await;
        let cluster = Cluster::start(&db, &nats, 2).await;
        for round in 0..15 {
            let name = format!("같은이름{round}");
            let mut a = Client::connect(cluster.chat(0)).await;
            let mut z = Client::connect(cluster.chat(1)).await;
            a.until("* Your name?").await;
            z.until("* Your name?").await;
            // Both lines leave at once; the nodes claim the name concurrently.
            let login = json!({"type": "login", "name": name}).to_string() + "\n";
            tokio::join!(a.send_raw(login.as_bytes()), z.send_raw(login.as_bytes()));
            let (ra, rz) = tokio::join!(a.json(), z.json());
            let kinds = [ra["type"].as_str().unwrap(), rz["type"].as_str().unwrap()];
            let winners = kinds.iter().filter(|k| **k == "welcome").count();
            assert_eq!(winners, 1, "{}: round {round}: {ra} / {rz}", b.name());
            let loser = if ra["type"] == "welcome" { &rz } else { &ra };
            assert_eq!(loser["code"], "name_taken", "{loser}");
            // The loser is asked again and may take another name.
            let mut loser_conn = if ra["type"] == "welcome" { z } else { a };
            loser_conn.send_json(json!({"type": "login", "name": format!("other{round}")})).await;
            assert_eq!(loser_conn.json_of("welcome").await["name"], format!("other{round}"));
        }
        cluster.stop().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn kick_and_mute_are_enforced_on_the_targets_node() {
    let Some(b) = one_backend() else { return };
    let db = Db::create(&b).await;
    add_account(&db.store, "admin", "admin-pw", Role::Admin).await;
    let nats = Nats::start().await;
    let cluster = Cluster::start(&db, &nats, 3).await;
    let mut bob = enter(cluster.chat(1), "bob", 1).await;
    let mut carol = enter(cluster.chat(2), "carol", 2).await;
    bob.until("[carol] joined (2 online)").await;
    let mut admin = Client::chat_login(cluster.chat(0), "admin", "admin-pw").await;
    bob.until("[admin] joined (3 online)").await;
    carol.until("[admin] joined (3 online)").await;

    // A mute set on node A refuses bob's lines on node B, and everyone is told.
    admin.send_json(json!({"type": "mute", "name": "bob", "reason": "spam"})).await;
    let muted = admin.json_of("muted").await;
    assert_eq!((muted["name"].as_str(), muted["by"].as_str()), (Some("bob"), Some("admin")));
    assert_eq!(bob.line().await, "* bob was muted by admin: spam");
    assert_eq!(carol.line().await, "* bob was muted by admin: spam");
    bob.send("can you hear me").await;
    assert!(bob.line().await.starts_with("! muted: you are muted"), "refused on bob's own node");
    assert_eq!(carol.rest(Duration::from_millis(400)).await, Vec::<String>::new());

    admin.send_json(json!({"type": "unmute", "name": "bob"})).await;
    assert_eq!(bob.line().await, "* bob was unmuted by admin");
    bob.send("back").await;
    assert_eq!(carol.until_prefix("[bob]").await, "[bob] back");

    // A kick from node A closes bob's connection on node B; node C sees the kick and the leave.
    admin.send_json(json!({"type": "kick", "name": "BOB", "reason": "enough"})).await;
    assert_eq!(bob.until_prefix("* bob was kicked").await, "* bob was kicked by admin: enough");
    let rest = bob.closed().await;
    assert_eq!(rest.last().map(String::as_str), Some("* bye: kicked by admin: enough"), "{rest:?}");
    assert_eq!(carol.until_prefix("* bob was kicked").await, "* bob was kicked by admin: enough");
    assert_eq!(carol.line().await, "[bob] left (2 online)");
    let kicked = admin.json_of("kicked").await;
    assert_eq!(kicked["name"], "bob");
    assert_eq!(admin.json_of("left").await["online"], 2);
    // Not an admin: refused, whoever the target's node.
    carol.send("/kick admin").await;
    assert!(carol.line().await.starts_with("! forbidden:"));
    cluster.stop().await;
    db.cleanup().await;
}

#[tokio::test]
async fn a_killed_nodes_users_leave_elsewhere_within_the_timeout_and_their_names_free_up() {
    let Some(b) = one_backend() else { return };
    let db = Db::create(&b).await;
    let nats = Nats::start().await;
    let mut cluster = Cluster::start(&db, &nats, 3).await;
    let mut alice = enter(cluster.chat(0), "alice", 1).await;
    let mut bob = enter(cluster.chat(1), "bob", 2).await;
    let _bob2 = enter(cluster.chat(1), "bob2", 3).await;
    alice.until("[bob2] joined (3 online)").await;
    bob.until("[bob2] joined (3 online)").await;
    let mut carol = enter(cluster.chat(2), "carol", 4).await;
    alice.until("[carol] joined (4 online)").await;

    cluster.kill(1).await;
    let killed = Instant::now();
    let first = alice.until_prefix("[bob").await;
    let second = alice.until_prefix("[bob").await;
    let noticed = killed.elapsed();
    // Both of the dead node's users leave, in either order, counting down.
    let mut names: Vec<&str> = [&first, &second].iter().map(|l| l.split(' ').next().unwrap()).collect();
    names.sort();
    assert_eq!(names, ["[bob2]", "[bob]"]);
    assert!(
        first.ends_with(" left (3 online)") && second.ends_with(" left (2 online)"),
        "{first} / {second}"
    );
    // Within the bound: the timeout plus a heartbeat to notice, and a little for the test itself.
    let bound = Duration::from_secs(NODE_TIMEOUT_SECS) + Duration::from_millis(2 * HEARTBEAT_MS + 1000);
    assert!(noticed <= bound, "noticed after {noticed:?} (bound {bound:?})");
    assert!(
        noticed >= Duration::from_millis(NODE_TIMEOUT_SECS * 1000 - 300),
        "not before the timeout: {noticed:?}"
    );
    carol.until_prefix("[bob2] left").await;
    carol.send("/who").await;
    assert_eq!(carol.until_prefix("* ").await, "* 2 online: alice, carol");

    // The dead node's names are freed in the shared database within the same bound.
    let started = Instant::now();
    let again = loop {
        let mut c = Client::connect(cluster.chat(2)).await;
        c.send_json(json!({"type": "login", "name": "bob"})).await;
        let reply = c.json().await;
        if reply["type"] == "welcome" {
            break c;
        }
        assert_eq!(reply["code"], "name_taken");
        assert!(started.elapsed() < bound, "bob's name was not freed within {bound:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    drop(again);
    let log = cluster.log(0);
    assert!(log.contains("node node-b silent for"), "the survivors say why: {log}");
    cluster.stop().await;
    db.cleanup().await;
}

#[tokio::test]
async fn nats_restarted_under_live_nodes() {
    let Some(b) = one_backend() else { return };
    let db = Db::create(&b).await;
    let mut nats = Nats::start().await;
    let cluster = Cluster::start(&db, &nats, 2).await;
    let mut alice = enter(cluster.chat(0), "alice", 1).await;
    let mut anna = enter(cluster.chat(0), "anna", 2).await;
    let mut bob = enter(cluster.chat(1), "bob", 3).await;
    alice.until("[bob] joined (3 online)").await;
    anna.until("[bob] joined (3 online)").await;

    // A short outage (less than the node timeout): each node keeps serving its own users.
    nats.stop();
    alice.send("during the outage").await;
    assert_eq!(anna.until_prefix("[alice]").await, "[alice] during the outage");
    // Names are still unique: they are claimed in the database, not on NATS.
    let mut dup = Client::connect(cluster.chat(0)).await;
    dup.send_json(json!({"type": "login", "name": "bob"})).await;
    assert_eq!(dup.json().await["code"], "name_taken");
    tokio::time::sleep(Duration::from_millis(500)).await;
    nats.restart().await;

    // Back: lines cross again, and nobody was said to have left.
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut n = 0;
    loop {
        n += 1;
        alice.send(&format!("after {n}")).await;
        let got = bob.silent_or_lines(Duration::from_millis(300)).await;
        if got.iter().any(|l| l.starts_with("[alice] after")) {
            assert!(!got.iter().any(|l| l.contains("left")), "{got:?}");
            break;
        }
        assert!(Instant::now() < deadline, "lines never crossed again after NATS came back");
    }

    // A long outage (more than the node timeout): the others' users leave, then come back.
    nats.stop();
    assert_eq!(alice.until_prefix("[bob]").await, "[bob] left (2 online)");
    // Node B sees both of node A's users leave, in either order, counting down.
    let (first, second) = (bob.until_prefix("[a").await, bob.until_prefix("[a").await);
    assert!(
        first.ends_with("] left (2 online)") && second.ends_with("] left (1 online)"),
        "{first} / {second}"
    );
    nats.restart().await;
    assert_eq!(alice.until_prefix("[bob]").await, "[bob] joined (3 online)");
    bob.until_prefix("[anna] joined").await;
    bob.send("hello again").await;
    assert_eq!(alice.until_prefix("[bob]").await, "[bob] hello again");

    for i in 0..2 {
        let log = cluster.log(i);
        assert!(log.contains("lost the connection to NATS"), "node {i} says so: {log}");
        assert!(log.contains("NATS connection restored"), "node {i} says so: {log}");
    }
    cluster.stop().await;
    db.cleanup().await;
}

#[tokio::test]
async fn calculator_results_are_broadcast_across_nodes() {
    let Some(b) = one_backend() else { return };
    let db = Db::create(&b).await;
    let nats = Nats::start().await;
    let cluster = Cluster::start(&db, &nats, 2).await;
    let calc = |addr: SocketAddr, id: &'static str| async move {
        let mut c = Client::connect(addr).await;
        c.send_json(json!({"type": "login", "student_id": id})).await;
        assert_eq!(c.json_of("welcome").await["student"]["student_id"], id);
        c
    };
    let mut a = calc(cluster.calc(0), "20210001").await;
    let mut z = calc(cluster.calc(1), "20210002").await;
    // Until both nodes know each other, a result may reach only its own node; wait for that.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        a.send_json(json!({"type": "square", "value": "12"})).await;
        assert_eq!(a.json_of("result").await["square"], "144");
        let seen = z.silent_or_lines(Duration::from_millis(300)).await;
        if seen.iter().any(|l| l.contains("\"144\"")) {
            break;
        }
        assert!(Instant::now() < deadline, "no result ever crossed");
    }
    // From now on every result reaches the other node exactly once.
    z.send_json(json!({"type": "square", "value": "-1.5"})).await;
    let mine = z.json_of("result").await;
    assert_eq!((mine["student_id"].as_str(), mine["square"].as_str()), (Some("20210002"), Some("2.25")));
    let theirs = a.json_of("result").await;
    assert_eq!(theirs, mine);
    assert_eq!(a.silent_or_lines(Duration::from_millis(400)).await, Vec::<String>::new());
    // Who is connected covers both nodes too.
    a.send_json(json!({"type": "who"})).await;
    let who = a.json_of("users").await;
    let ids: Vec<&str> =
        who["students"].as_array().unwrap().iter().map(|s| s["student_id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["20210001", "20210002"], "{who}");
    cluster.stop().await;
    db.cleanup().await;
}

/// Answer `n` questions right as `name` on the quiz at `addr`; returns the connection and the
/// round number.
async fn quiz_player(addr: SocketAddr, name: &str, n: usize) -> (Client, u64) {
    let mut c = Client::connect(addr).await;
    c.send_json(json!({"type": "login", "name": name})).await;
    let welcome = c.json_of("welcome").await;
    // A node may still be joining the cluster's round when the player arrives.
    let round = match welcome["state"].as_str() {
        Some("running") => welcome["round"].as_u64().unwrap(),
        _ => c.json_of("round_started").await["round"].as_u64().unwrap(),
    };
    for _ in 0..n {
        let q = c.json_of("question").await;
        let problem = sockhub_proto::problem::Problem::parse(q["text"].as_str().unwrap()).unwrap();
        c.send_json(json!({"type": "answer", "id": q["id"], "value": problem.answer().to_string()})).await;
        assert_eq!(c.json_of("verdict").await["result"], "correct");
    }
    (c, round)
}

#[tokio::test]
async fn one_quiz_round_and_one_leaderboard_across_nodes() {
    let Some(b) = one_backend() else { return };
    let db = Db::create(&b).await;
    let nats = Nats::start().await;
    let cluster = Cluster::start(&db, &nats, 2).await;
    let ((mut ann, round_a), (mut ben, round_b)) =
        tokio::join!(quiz_player(cluster.quiz(0), "ann", 3), quiz_player(cluster.quiz(1), "ben", 2));
    assert_eq!(round_a, round_b, "both nodes play the same round");
    // The same name cannot play on the other node.
    let mut dup = Client::connect(cluster.quiz(1)).await;
    dup.send_json(json!({"type": "login", "name": "ANN"})).await;
    assert_eq!(dup.json_of("error").await["code"], "name_taken");
    // Either node's leaderboard lists both players.
    for c in [&mut ann, &mut ben] {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            c.send_json(json!({"type": "scores"})).await;
            let scores = c.json_of("scores").await;
            let names: Vec<&str> =
                scores["players"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
            if names.len() == 2 {
                assert_eq!(scores["total"], 2);
                assert!(names.contains(&"ann") && names.contains(&"ben"), "{scores}");
                break;
            }
            assert!(Instant::now() < deadline, "the other node's player never showed: {scores}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    // The round ends on both nodes with the same final board, stored once.
    let (over_a, over_b) = tokio::join!(ann.json_of("round_over"), ben.json_of("round_over"));
    assert_eq!(over_a["round"], over_b["round"]);
    let board = |v: &serde_json::Value| -> Vec<(String, u64)> {
        v["players"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p["name"].as_str().unwrap().to_owned(), p["correct"].as_u64().unwrap()))
            .collect()
    };
    assert_eq!(board(&over_a), board(&over_b));
    let mut names: Vec<String> = board(&over_a).into_iter().map(|(n, _)| n).collect();
    let ranked = names.clone();
    names.sort();
    assert_eq!(names, ["ann", "ben"], "{over_a}");
    let stored = eventually("the final leaderboard in the database", || async {
        let rows = db.store.quiz().results(round_a as i64).await.ok()?;
        (!rows.is_empty()).then_some(rows)
    })
    .await;
    assert_eq!(stored.iter().map(|r| r.player.clone()).collect::<Vec<_>>(), ranked, "stored once, as shown");
    cluster.stop().await;
    db.cleanup().await;
}

/// Against the machine's NATS (CI's, on 4222) when `SOCKHUB_TEST_NATS_URL` is set: two nodes in
/// this process, under a subject prefix of their own so that nothing else on that NATS hears them.
#[tokio::test]
async fn smoke_on_the_machines_nats() {
    let Ok(url) = std::env::var("SOCKHUB_TEST_NATS_URL") else {
        eprintln!("skipping: SOCKHUB_TEST_NATS_URL is not set");
        return;
    };
    let Some(b) = one_backend() else { return };
    let db = Db::create(&b).await;
    let prefix = format!("sockhub-test-{}", std::process::id());
    let node = |id: &'static str| {
        let (url, prefix) = (url.clone(), prefix.clone());
        move |c: &mut sockhub_server::Config| {
            c.cluster.nats_url = Some(url);
            c.cluster.node_id = Some(id.into());
            c.cluster.subject_prefix = prefix;
            c.cluster.heartbeat_ms = HEARTBEAT_MS;
            c.cluster.node_timeout_secs = NODE_TIMEOUT_SECS;
        }
    };
    let a = db.server(node("smoke-a")).await;
    let z = db.server(node("smoke-b")).await;
    let mut alice = enter(a.chat(), "alice", 1).await;
    let mut bob = enter(z.chat(), "bob", 2).await;
    assert_eq!(alice.line().await, "[bob] joined (2 online)");
    alice.send("over the machine's NATS").await;
    assert_eq!(bob.until_prefix("[alice]").await, "[alice] over the machine's NATS");
    z.stop().await;
    a.stop().await;
    db.cleanup().await;
}

/// `/healthz` of a node that loses NATS: `degraded` with the reason and `cluster.nats`
/// `disconnected`, still 200 (the node serves its own users); back to `ok` when NATS returns.
#[tokio::test]
async fn healthz_says_when_a_node_has_lost_nats() {
    use crate::web::api::get;
    let Some(b) = one_backend() else { return };
    let db = Db::create(&b).await;
    let mut nats = Nats::start().await;
    let cluster = Cluster::start(&db, &nats, 2).await;
    let web = cluster.nodes[0].as_ref().expect("running").addr("web");
    let health = || async {
        let (status, body) = get(web, "/healthz").await;
        (status, serde_json::from_str::<serde_json::Value>(&body).unwrap())
    };
    eventually("node A sees node B", || async {
        let (status, h) = health().await;
        (status == 200 && h["status"] == "ok" && h["cluster"]["peers"] == 1).then_some(())
    })
    .await;
    let (_, h) = health().await;
    assert_eq!(h["cluster"], json!({"nats": "connected", "node_id": "node-a", "peers": 1}));

    nats.stop();
    let h = eventually("healthz says NATS is lost", || async {
        let (status, h) = health().await;
        (h["cluster"]["nats"] == "disconnected").then_some((status, h))
    })
    .await;
    assert_eq!(h.0, 200, "a node without NATS still serves its users: {}", h.1);
    assert_eq!(h.1["status"], "degraded");
    assert!(h.1["reasons"].to_string().contains("NATS lost"), "{}", h.1);
    let (_, metrics) = get(web, "/metrics").await;
    assert!(metrics.contains("sockhub_cluster_connected 0"), "{metrics}");

    nats.restart().await;
    eventually("healthz is ok again", || async {
        let (status, h) = health().await;
        (status == 200 && h["status"] == "ok" && h["cluster"]["nats"] == "connected").then_some(())
    })
    .await;
    cluster.stop().await;
    db.cleanup().await;
}

/// The admin API's online list covers every node of the cluster, with each user's node.
#[tokio::test]
async fn api_online_lists_users_of_every_node_with_their_node() {
    use crate::web::api::{login_cookie, request};
    let Some(b) = one_backend() else { return };
    let db = Db::create(&b).await;
    add_account(&db.store, "boss", "s3cret!", Role::Admin).await;
    let nats = Nats::start().await;
    let cluster = Cluster::start(&db, &nats, 2).await;
    let mut alice = enter(cluster.chat(0), "alice", 1).await;
    let _bob = enter(cluster.chat(1), "bob", 2).await;
    alice.until("[bob] joined (2 online)").await;

    let web = cluster.nodes[0].as_ref().expect("running").addr("web");
    let cookie = login_cookie(web, "boss", "s3cret!").await;
    let auth = [("Cookie", cookie.as_str()), ("X-Sockhub-Request", "1")];
    let (status, _, body) = request(web, "GET", "/api/online", &auth, None).await;
    assert_eq!(status, 200, "{body}");
    let online: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(online["node"], "node-a");
    assert_eq!(online["chat"], json!(["alice", "bob"]));
    assert_eq!(
        online["chat_members"],
        json!([{"name": "alice", "node": "node-a"}, {"name": "bob", "node": "node-b"}])
    );
    cluster.stop().await;
    db.cleanup().await;
}
