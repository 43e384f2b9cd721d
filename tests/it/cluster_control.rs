//! Two nodes under a storm of requests the other node must hear of — logins, room joins and
//! parts, topics set twice, disconnects — all on node A at once, through a two-place publish
//! queue: every one reaches node B (its room list ends exactly as the requests left A's, each
//! room's last topic included), the requests wait for room instead of being dropped
//! (`sockhub_cluster_control_waits_total` moves), and none is dropped or refused.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::json;
use tokio::time::Instant;

use crate::cluster::{Cluster, Nats, enter, one_backend};
use crate::cluster_flood::{metric, scrape};
use crate::support::{Client, Db, PATIENCE};

/// Users logging in to node A at once, and the rounds of rooms each goes through.
const USERS: usize = 24;
const ROUNDS: usize = 6;

/// A room list: name → (members on every node, topic).
type Rooms = BTreeMap<String, (u64, Option<String>)>;

/// User `i`'s requests, in one write: join `#shared`; then, each round, create `#r<i>-<k>` (and
/// so be its operator), set its topic twice, and leave it again in the odd rounds.
fn burst(i: usize) -> String {
    let mut out = String::from("/join #shared\n");
    for k in 0..ROUNDS {
        let room = format!("#r{i}-{k}");
        out += &format!("/join {room}\n/topic {room} first\n/topic {room} t{i}-{k}\n");
        if k % 2 == 1 {
            out += &format!("/part {room}\n");
        }
    }
    out
}

/// What every node must show while users `first..USERS` are online, beside the four who stay
/// (two on each node): `#lobby`, `#shared`, and each user's rooms of the even rounds, with the
/// topic set last.
fn expected(first: usize) -> Rooms {
    let online = (USERS - first) as u64;
    let mut rooms = Rooms::from([("#lobby".to_owned(), (online + 4, None))]);
    if online > 0 {
        rooms.insert("#shared".to_owned(), (online, None));
    }
    for i in first..USERS {
        for k in (0..ROUNDS).step_by(2) {
            rooms.insert(format!("#r{i}-{k}"), (1, Some(format!("t{i}-{k}"))));
        }
    }
    rooms
}

/// The room list `client` (in JSON mode) gets.
async fn rooms(client: &mut Client) -> Rooms {
    client.send_json(json!({"type": "rooms"})).await;
    let list = client.json_of("rooms").await;
    let rooms = list["rooms"].as_array().expect("a list of rooms");
    rooms
        .iter()
        .map(|r| {
            let name = r["name"].as_str().expect("a name").to_owned();
            (name, (r["members"].as_u64().expect("a count"), r["topic"].as_str().map(str::to_owned)))
        })
        .collect()
}

/// Wait until `client`'s node shows exactly `want`.
async fn until_rooms(client: &mut Client, want: &Rooms, node: &str) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let seen = rooms(client).await;
        if &seen == want {
            return;
        }
        assert!(Instant::now() < deadline, "node {node} shows {seen:?}\nwhere it should show {want:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_storm_of_requests_through_a_tiny_control_queue_loses_none() {
    let Some(b) = one_backend() else { return };
    let db = Db::create(&b).await;
    let nats = Nats::start().await;
    let cluster = Cluster::start_with(&db, &nats, 2, "publish_queue = 2\n").await;
    // The nodes know each other (each has had the other's state) before the storm.
    let _anchor = enter(cluster.chat(0), "anchor", 1).await;
    let _sync = enter(cluster.chat(1), "sync", 2).await;
    let mut watcher = Client::chat_json(cluster.chat(1), "watcher").await;
    let mut here = Client::chat_json(cluster.chat(0), "here").await;
    let before = scrape(&cluster, 0).await;

    let names: Vec<String> = (0..USERS).map(|i| format!("u{i}")).collect();
    let logins = names.iter().map(|name| Client::chat_text(cluster.chat(0), name));
    let mut users = futures_util::future::join_all(logins).await;
    let writes = users.iter_mut().enumerate().map(|(i, c)| {
        let burst = burst(i);
        async move { c.send_raw(burst.as_bytes()).await }
    });
    futures_util::future::join_all(writes).await;
    let want = expected(0);
    until_rooms(&mut here, &want, "A").await;
    until_rooms(&mut watcher, &want, "B").await;

    // Half of them disconnect at once: their `left` crosses too, and their rooms go everywhere.
    drop(users.drain(..USERS / 2));
    let want = expected(USERS / 2);
    until_rooms(&mut here, &want, "A").await;
    until_rooms(&mut watcher, &want, "B").await;

    let (a, b) = (scrape(&cluster, 0).await, scrape(&cluster, 1).await);
    let waits = metric(&a, "sockhub_cluster_control_waits_total");
    assert!(waits > 0.0, "the requests waited for the two-place queue rather than be dropped");
    assert_eq!(metric(&a, "sockhub_cluster_control_refused_total"), 0.0);
    assert!(metric(&a, "sockhub_cluster_control_wait_seconds_count") >= waits);
    // Heartbeats and snapshots may be dropped when the two places stay taken (the next heartbeat
    // states them again; `sockhub_cluster_state_dropped_total`); nothing else may.
    assert_eq!(
        metric(&a, "sockhub_cluster_dropped_total"),
        metric(&before, "sockhub_cluster_dropped_total"),
        "nothing but restated state was dropped during the storm"
    );
    assert_eq!(metric(&b, "sockhub_cluster_inbound_dropped_total"), 0.0);
    drop(users);
    cluster.stop().await;
    db.cleanup().await;
}
