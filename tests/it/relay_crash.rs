//! Crashes, with the real binary: `kill -9` of Server2 and of Server1 in the middle of a stream,
//! then a restart on the same port and data. Every record the device was told is accepted must
//! end up exactly once where it belongs — kept records on Server1, the others on Server2 —
//! counted by source and seq. The same again with both hops over TLS: the device on Server1's
//! relay TLS port, Server1 on Server2's with a client certificate that Server2 requires.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sockhub_client::device::{self, DeviceOptions, FirstSeq};
use sockhub_server::app::store_options;
use sockhub_store::{RelayFilter, RelayState, Store};

use crate::relay::{SETTLE, eventually};
use crate::support::{BinaryServer, unused_port};

/// A `sockhub serve` process with a relay, its data directory and its port.
struct Proc {
    dir: PathBuf,
    port: u16,
    config: PathBuf,
    server: Option<BinaryServer>,
    /// `port` is the relay's TLS port (the plain one is any free port).
    tls: bool,
}

impl Proc {
    /// Writes a config file for a node on `port` (forwarding to `downstream` if given).
    fn new(root: &Path, name: &str, port: u16, downstream: Option<u16>) -> Proc {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let mut toml = format!(
            "[server]\ndata_dir = {:?}\nshutdown_grace_secs = 2\n[relay]\nport = {port}\nretry_initial_ms = 50\nretry_max_ms = 300\n",
            dir.join("data").display().to_string()
        );
        if let Some(d) = downstream {
            toml.push_str(&format!(
                "downstream = \"127.0.0.1:{d}\"\n[[relay.keep]]\nname = \"errors\"\npayload_regex = \"\\\\bERROR\\\\b\"\n"
            ));
        }
        let config = dir.join("sockhub.toml");
        std::fs::write(&config, toml).unwrap();
        Proc { dir, port, config, server: None, tls: false }
    }

    /// Both hops over TLS with `certs`: `port` becomes the relay's TLS port (requiring a client
    /// certificate on Server2), and Server1 reaches Server2 over TLS with its certificate.
    fn with_tls(mut self, certs: &crate::tls::Certs) -> Proc {
        let toml = std::fs::read_to_string(&self.config).unwrap();
        let file = |name: &str| format!("{:?}", certs.file(name).display().to_string());
        let mut tls = format!("[tls]\ncert = {}\nkey = {}\n", file("server.pem"), file("server-key.pem"));
        // Server2 takes records only from a relay with a client certificate; Server1 takes the
        // device's, which has none.
        let sink = !toml.contains("downstream = ");
        if sink {
            tls.push_str(&format!("client_ca = {}\nrequire_client_cert = true\n", file("ca.pem")));
        }
        let port = format!("port = {}\n", self.port);
        tls.push_str(&toml.replace(&port, &format!("port = 0\ntls_port = {}\n", self.port)));
        let upstream = format!(
            "downstream_tls = true\ndownstream_ca = {}\nclient_cert = {}\nclient_key = {}\ndownstream = ",
            file("ca.pem"),
            file("server1.pem"),
            file("server1-key.pem")
        );
        std::fs::write(&self.config, tls.replace("downstream = ", &upstream)).unwrap();
        self.tls = true;
        self
    }

    async fn start(&mut self) {
        let config = self.config.display().to_string();
        let port = self.port.to_string();
        let mut args = vec!["--log-level", "warn", "--config", &config];
        if !self.tls {
            args.extend(["--relay-port", &port]);
        }
        let server = BinaryServer::start(&self.dir.join("data"), &args).await;
        assert_eq!(server.addr(if self.tls { "relay-tls" } else { "relay" }).port(), self.port);
        self.server = Some(server);
    }

    /// SIGKILL: no shutdown, no flush, whatever was in flight is cut.
    async fn kill9(&mut self) {
        if let Some(mut s) = self.server.take() {
            s.signal("KILL");
            let _ = s.child.wait().await;
        }
    }

    fn addr(&self) -> SocketAddr {
        format!("127.0.0.1:{}", self.port).parse().unwrap()
    }

    async fn store(&self) -> Store {
        let cfg = sockhub_server::config::load(Some(&self.config), Vec::new(), &[]).unwrap();
        Store::open(&store_options(&cfg)).await.unwrap()
    }
}

const TOTAL: usize = 20_000;

fn payloads() -> Vec<String> {
    (1..=TOTAL)
        .map(|i| if i % 97 == 0 { format!("ERROR reading {i}") } else { format!("reading {i}: 23.5C") })
        .collect()
}

fn expected_kept() -> BTreeSet<i64> {
    (1..=TOTAL as i64).filter(|i| i % 97 == 0).collect()
}

/// Every record exactly once where it belongs.
async fn check_exactly_once(s1: &Store, s2: &Store) {
    let kept = expected_kept();
    let forwarded: BTreeSet<i64> = (1..=TOTAL as i64).filter(|i| !kept.contains(i)).collect();
    eventually("Server1 has forwarded everything", || async {
        s1.relay().source("dev").await.unwrap().is_some_and(|c| c.forwarded == forwarded.len() as i64)
    })
    .await;
    let on1 = s1.relay().list(&RelayFilter::default()).await.unwrap();
    let on2 = s2.relay().list(&RelayFilter::default()).await.unwrap();
    assert_eq!(on1.len(), TOTAL, "Server1 stored each record once");
    let kept1: BTreeSet<i64> = on1.iter().filter(|r| r.state == RelayState::Kept).map(|r| r.seq).collect();
    assert_eq!(kept1, kept);
    let seqs2: Vec<i64> = on2.iter().map(|r| r.seq).collect();
    assert_eq!(seqs2.len(), forwarded.len(), "Server2 stored each forwarded record once");
    assert_eq!(seqs2.iter().copied().collect::<BTreeSet<_>>(), forwarded);
    let c1 = s1.relay().source("dev").await.unwrap().unwrap();
    assert!(c1.adds_up() && c1.queued == 0, "{c1:?}");
    assert_eq!(s2.relay().source("dev").await.unwrap().unwrap().received, forwarded.len() as i64);
}

fn device(addr: SocketAddr) -> DeviceOptions {
    DeviceOptions {
        addr: addr.to_string(),
        source: "dev".into(),
        first_seq: FirstSeq::At(1),
        window: 500,
        patience: SETTLE,
        rate: 8000,
        token: None,
    }
}

/// Which node is killed mid-stream.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Victim {
    Server1,
    Server2,
}

/// Streams records through Server1 to Server2, `kill -9`s the victim mid-stream, restarts it on
/// the same port and data, and checks that everything ended up exactly once where it belongs.
async fn crash_mid_stream(victim: Victim, tls: bool) {
    let root = tempfile::tempdir().unwrap();
    let (p1, p2) = (unused_port(), unused_port());
    let mut s2 = Proc::new(root.path(), "s2", p2, None);
    let mut s1 = Proc::new(root.path(), "s1", p1, Some(p2));
    let certs = tls.then(|| crate::tls::Certs::make(&root.path().join("certs")));
    if let Some(certs) = &certs {
        (s1, s2) = (s1.with_tls(certs), s2.with_tls(certs));
    }
    s2.start().await;
    s1.start().await;
    let store1 = s1.store().await;
    let store2 = s2.store().await;

    let opts = device(s1.addr());
    let client = certs.as_ref().map(crate::tls::Certs::client);
    let sender =
        tokio::spawn(async move { device::run_over(&opts, client.as_ref(), &payloads(), |_, _| {}).await });
    // Mid-stream: records in flight both ways, commits and acks racing the kill.
    eventually("records are flowing through both nodes", || async {
        store2.relay().source("dev").await.unwrap().is_some_and(|c| c.received > 3000)
    })
    .await;
    let node = if victim == Victim::Server1 { &mut s1 } else { &mut s2 };
    node.kill9().await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    node.start().await;
    let report = sender.await.unwrap();
    assert!(report.complete(), "{report:?}");
    if victim == Victim::Server1 {
        assert!(report.reconnects >= 1, "the device had to reconnect: {report:?}");
    }
    check_exactly_once(&store1, &store2).await;
    s1.kill9().await;
    s2.kill9().await;
}

#[tokio::test]
async fn kill_9_of_server2_mid_stream_loses_and_duplicates_nothing() {
    crash_mid_stream(Victim::Server2, false).await;
}

#[tokio::test]
async fn kill_9_of_server2_with_both_hops_on_tls_loses_and_duplicates_nothing() {
    crash_mid_stream(Victim::Server2, true).await;
}

#[tokio::test]
async fn kill_9_of_server1_with_both_hops_on_tls_loses_and_duplicates_nothing() {
    crash_mid_stream(Victim::Server1, true).await;
}

#[tokio::test]
async fn kill_9_of_server1_mid_stream_loses_and_duplicates_nothing() {
    crash_mid_stream(Victim::Server1, false).await;
}
