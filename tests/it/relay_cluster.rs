//! The relay when Server1 and Server2 are clusters, with real processes, a private `nats-server`
//! and a shared PostgreSQL or MariaDB database: one node of a Server1 cluster forwards at a time
//! and another takes over when it is `kill -9`ed; several Server2 nodes on one database store
//! each record once whichever of them receives it. Every record a device was told is accepted
//! must end up on Server2 exactly once, per source in the order of its seqs.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;

use sockhub_client::device::{self, DeviceOptions, FirstSeq};
use sockhub_server::app::store_options;
use sockhub_store::{RelayFilter, RelayState, Store};

use crate::cluster::{Nats, one_backend};
use crate::relay::{SETTLE, eventually};
use crate::support::{BinaryServer, Db};

const TOTAL: usize = 12_000;
/// Operator requests are picked up only at a node's start (the first poll) in these tests: the
/// takeover test puts a request into `running` itself, as if the forwarding node had taken it,
/// and a node polling in between could take and finish it first.
const CONTROL_POLL_MS: u64 = 3_600_000;

/// A node's config file: a relay (forwarding to `downstream` if set), on `db` and in a cluster
/// through `nats` if given, else on its own SQLite database.
fn config(dir: &Path, name: &str, db: Option<&Db>, nats: Option<&Nats>, downstream: Option<&str>) -> String {
    let data = dir.join(name);
    std::fs::create_dir_all(&data).unwrap();
    let mut toml = format!(
        "[server]\ndata_dir = {:?}\nshutdown_grace_secs = 2\n\
         [relay]\nretry_initial_ms = 50\nretry_max_ms = 300\ncluster_poll_ms = 200\n\
         control_poll_ms = {CONTROL_POLL_MS}\n",
        data.display().to_string()
    );
    if let Some(d) = downstream {
        toml.push_str(&format!("downstream = {d:?}\n"));
    }
    if let Some(db) = db {
        let url = db.db.opts.url.clone().expect("a shared database");
        toml.push_str(&format!("[database]\nurl = {url:?}\n"));
    }
    if let Some(nats) = nats {
        toml.push_str(&format!(
            "[cluster]\nnats_url = {:?}\nnode_id = {name:?}\nheartbeat_ms = 200\nnode_timeout_secs = 2\n",
            nats.url()
        ));
    }
    let file = dir.join(format!("{name}.toml"));
    std::fs::write(&file, toml).unwrap();
    file.display().to_string()
}

async fn start(dir: &Path, name: &str, config: &str) -> BinaryServer {
    BinaryServer::start(&dir.join(name), &["--log-level", "info", "--config", config]).await
}

async fn store_of(config: &str) -> Store {
    let cfg = sockhub_server::config::load(Some(Path::new(config)), Vec::new(), &[]).unwrap();
    Store::open(&store_options(&cfg)).await.unwrap()
}

fn payloads(source: &str) -> Vec<String> {
    (1..=TOTAL).map(|i| format!("{source} reading {i}: 23.5C")).collect()
}

fn device(addrs: &[SocketAddr], source: &str) -> DeviceOptions {
    DeviceOptions {
        addr: addrs.iter().map(ToString::to_string).collect::<Vec<_>>().join(","),
        source: source.into(),
        first_seq: FirstSeq::At(1),
        window: 500,
        patience: SETTLE,
        rate: 2000,
        token: None,
    }
}

/// Every seq `1..=TOTAL` of `source` exactly once on `store`, in arrival order by seq.
async fn exactly_once_in_order(store: &Store, source: &str) {
    let rows =
        store.relay().list(&RelayFilter { source: Some(source.into()), ..Default::default() }).await.unwrap();
    let seqs: Vec<i64> = rows.iter().map(|r| r.seq).collect();
    assert_eq!(seqs.len(), TOTAL, "{source}: each record stored once");
    assert_eq!(seqs, (1..=TOTAL as i64).collect::<Vec<_>>(), "{source}: every seq, in order");
    let c = store.relay().source(source).await.unwrap().expect("counters");
    assert!(c.adds_up() && c.received == TOTAL as i64, "{source}: {c:?}");
}

/// Which node of `nodes` (relay address) its status row says forwards now.
async fn forwarders(store: &Store, nodes: &[SocketAddr]) -> Vec<SocketAddr> {
    let rows = store.relay().nodes().await.unwrap();
    let roles: BTreeMap<u16, String> = rows
        .iter()
        .filter_map(|(node, _, status)| {
            let port = node.rsplit(':').next()?.parse().ok()?;
            let status: serde_json::Value = serde_json::from_str(status).ok()?;
            Some((port, status["role"].as_str()?.to_owned()))
        })
        .collect();
    nodes.iter().copied().filter(|a| roles.get(&a.port()).is_some_and(|r| r == "forwarder")).collect()
}

#[tokio::test]
async fn the_forwarder_lease_moves_to_another_node_when_its_holder_is_killed() {
    let Some(b) = one_backend() else { return };
    let db = Db::create(&b).await;
    let nats = Nats::start().await;
    let root = tempfile::tempdir().unwrap();
    let dir = root.path();

    // Server2: one sink on a database of its own.
    let s2_config = config(dir, "s2", None, None, None);
    let s2 = start(dir, "s2", &s2_config).await;
    let s2_store = store_of(&s2_config).await;
    let down = s2.addr("relay").to_string();

    // Server1: two nodes of one cluster, both forwarding to Server2 if they hold the lease.
    let configs = [
        config(dir, "s1-a", Some(&db), Some(&nats), Some(&down)),
        config(dir, "s1-b", Some(&db), Some(&nats), Some(&down)),
    ];
    let mut nodes =
        [Some(start(dir, "s1-a", &configs[0]).await), Some(start(dir, "s1-b", &configs[1]).await)];
    let relay: Vec<SocketAddr> = nodes.iter().map(|n| n.as_ref().unwrap().addr("relay")).collect();

    // Exactly one of them forwards.
    eventually("one Server1 node holds the forwarder lease", || async {
        forwarders(&db.store, &relay).await.len() == 1
    })
    .await;

    // One device starts on each node (and moves to the other one if its node goes away).
    let (a, z) = (device(&relay, "dev-a"), device(&[relay[1], relay[0]], "dev-b"));
    let send_a = tokio::spawn(async move { device::run(&a, &payloads("dev-a"), |_, _| {}).await });
    let send_b = tokio::spawn(async move { device::run(&z, &payloads("dev-b"), |_, _| {}).await });

    // Mid-stream, records of both devices reach Server2 (the non-holder's through the database).
    eventually("records of both devices flow to Server2", || async {
        let got = |s: &'static str| {
            let st = s2_store.clone();
            async move { st.relay().source(s).await.unwrap().map_or(0, |c| c.received) }
        };
        got("dev-a").await > 2000 && got("dev-b").await > 2000
    })
    .await;
    let holder = forwarders(&db.store, &relay).await;
    assert_eq!(holder.len(), 1, "one forwarder at a time");
    let victim = relay.iter().position(|a| *a == holder[0]).unwrap();
    // An operator request the forwarding node is running when it dies.
    let request = db.store.relay().request_add("reconcile", "ops", "{}").await.unwrap();
    db.store.relay().request_start(request).await.unwrap();
    let mut node = nodes[victim].take().unwrap();
    node.signal("KILL");
    node.child.wait().await.unwrap();

    // The other node takes over within the node timeout and forwards the rest.
    let survivor = relay[1 - victim];
    eventually("the surviving node forwards", || async {
        forwarders(&db.store, &[survivor]).await == [survivor]
    })
    .await;
    // The node that took over settles it, so `sockhub relay reconcile` does not wait forever.
    eventually("the interrupted request is settled", || async {
        db.store.relay().request(request).await.unwrap().is_some_and(|r| r.status == "failed")
    })
    .await;
    let web = nodes[1 - victim].as_ref().expect("running").addr("web");
    let (_, metrics) = crate::web::api::get(web, "/metrics").await;
    assert!(metrics.contains("sockhub_relay_forwarding 1"), "{metrics}");
    for sender in [send_a, send_b] {
        let report = sender.await.unwrap();
        assert!(report.complete(), "{report:?}");
    }
    eventually("Server1 has forwarded everything", || async {
        let mut done = true;
        for s in ["dev-a", "dev-b"] {
            done &= db.store.relay().source(s).await.unwrap().is_some_and(|c| c.forwarded == TOTAL as i64);
        }
        done
    })
    .await;
    for s in ["dev-a", "dev-b"] {
        // Server1's shared counters, updated by both nodes, add up and nothing is left queued.
        let c = db.store.relay().source(s).await.unwrap().unwrap();
        assert!(c.adds_up() && c.queued == 0 && c.received == TOTAL as i64, "{s}: {c:?}");
        exactly_once_in_order(&s2_store, s).await;
    }
    let log =
        std::fs::read_to_string(dir.join(format!("s1-{}", ["a", "b"][1 - victim])).join("logs/server.log"))
            .unwrap_or_default();
    assert!(log.contains("this node is the cluster's forwarder now"), "{log}");

    for mut n in nodes.iter_mut().filter_map(Option::take) {
        n.signal("KILL");
        let _ = n.child.wait().await;
    }
    let mut s2 = s2;
    s2.signal("KILL");
    let _ = s2.child.wait().await;
    db.cleanup().await;
}

#[tokio::test]
async fn two_server2_nodes_on_one_database_store_each_record_once_across_a_reconnect() {
    let Some(b) = one_backend() else { return };
    let db = Db::create(&b).await;
    let nats = Nats::start().await;
    let root = tempfile::tempdir().unwrap();
    let dir = root.path();

    // Server2: two sinks of one cluster on the shared database.
    let c2 = [
        config(dir, "s2-a", Some(&db), Some(&nats), None),
        config(dir, "s2-b", Some(&db), Some(&nats), None),
    ];
    let mut s2a = start(dir, "s2-a", &c2[0]).await;
    let s2b = start(dir, "s2-b", &c2[1]).await;
    let down = format!("{},{}", s2a.addr("relay"), s2b.addr("relay"));

    // Server1: one node on its own database, knowing both.
    let c1 = config(dir, "s1", None, None, Some(&down));
    let s1 = start(dir, "s1", &c1).await;
    let s1_store = store_of(&c1).await;
    let opts = device(&[s1.addr("relay")], "dev");
    let sender = tokio::spawn(async move { device::run(&opts, &payloads("dev"), |_, _| {}).await });

    // Mid-stream, the sink Server1 is connected to dies; it reconnects to the other one, which
    // receives again what the first one stored but whose acknowledgement was lost.
    eventually("records flow to the first sink", || async {
        db.store.relay().source("dev").await.unwrap().is_some_and(|c| c.received > 3000)
    })
    .await;
    s2a.signal("KILL");
    s2a.child.wait().await.unwrap();
    let report = sender.await.unwrap();
    assert!(report.complete(), "{report:?}");
    eventually("Server1 has forwarded everything", || async {
        s1_store.relay().source("dev").await.unwrap().is_some_and(|c| c.forwarded == TOTAL as i64)
    })
    .await;
    let c1 = s1_store.relay().source("dev").await.unwrap().unwrap();
    assert!(c1.adds_up() && c1.queued == 0, "{c1:?}");
    assert!(
        s1_store
            .relay()
            .list(&RelayFilter::default())
            .await
            .unwrap()
            .iter()
            .all(|r| r.state == RelayState::Forwarded)
    );
    exactly_once_in_order(&db.store, "dev").await;
    let status = s1_store.relay().nodes().await.unwrap();
    assert!(
        status.iter().any(|(_, _, s)| s.contains(&s2b.addr("relay").to_string())),
        "Server1 moved to the second sink: {status:?}"
    );

    for mut n in [s1, s2b] {
        n.signal("KILL");
        let _ = n.child.wait().await;
    }
    db.cleanup().await;
}
