//! Chat rooms across three nodes (processes sharing NATS and a database): membership, topics and
//! lines cross nodes; a node follows a room's subject only while it has members in it.

use std::time::Duration;

use serde_json::json;
use sockhub_store::Role;

use crate::cluster::{Cluster, Nats, enter, one_backend};
use crate::support::{Client, Db, add_account, eventually};
use crate::web::api::get;

/// `sockhub_chat_room_subscriptions` of node `i`.
async fn subscriptions(cluster: &Cluster, i: usize) -> i64 {
    let (_, text) = get(cluster.web(i), "/metrics").await;
    let line = text.lines().find(|l| l.starts_with("sockhub_chat_room_subscriptions ")).unwrap_or_default();
    line.rsplit(' ').next().and_then(|v| v.parse().ok()).unwrap_or(-1)
}

#[tokio::test]
async fn rooms_across_three_nodes() {
    let Some(b) = one_backend() else { return };
    let db = Db::create(&b).await;
    add_account(&db.store, "admin", "admin-pw", Role::Admin).await;
    let nats = Nats::start().await;
    let cluster = Cluster::start(&db, &nats, 3).await;
    let mut alice = enter(cluster.chat(0), "alice", 1).await;
    let mut bob = enter(cluster.chat(1), "bob", 2).await;
    let mut carol = enter(cluster.chat(2), "carol", 3).await;
    alice.until("[carol] joined (3 online)").await;
    bob.until("[carol] joined (3 online)").await;
    // Every node follows #lobby (each has a member in it).
    for i in 0..3 {
        assert_eq!(subscriptions(&cluster, i).await, 1, "node {i}");
    }

    // alice (node A) and bob (node B) meet in #a; carol (node C) stays in #lobby only.
    alice.send("/join #a").await;
    alice.until("[#a] [alice] joined (1 online)").await;
    // Node B hears of alice's place in #a over the bus; bob joins once it has, so that his
    // welcome counts her.
    let mut wendy = Client::chat_json(cluster.chat(1), "wendy").await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        wendy.send_json(json!({"type": "who", "room": "#a"})).await;
        if wendy.json_of("users").await["names"] == json!(["alice"]) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "node B never saw alice in #a");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bob.send("/join #a").await;
    assert_eq!(bob.until_prefix("[#a] [bob] joined").await, "[#a] [bob] joined (2 online)");
    assert_eq!(
        alice.until_prefix("[#a] [bob]").await,
        "[#a] [bob] joined (2 online)",
        "membership crosses nodes"
    );
    assert_eq!(subscriptions(&cluster, 0).await, 2);
    assert_eq!(subscriptions(&cluster, 1).await, 2);
    assert_eq!(subscriptions(&cluster, 2).await, 1, "node C has no member in #a: not subscribed");

    // A line in #a crosses from B to A, and never reaches carol on C.
    bob.send("only #a hears this").await;
    assert_eq!(alice.until_prefix("[#a] [bob] only").await, "[#a] [bob] only #a hears this");
    bob.send("/s #lobby").await;
    bob.send("lobby line").await;
    assert_eq!(carol.until_prefix("[bob]").await, "[bob] lobby line", "nothing of #a came first");
    assert_eq!(alice.until_prefix("[#lobby] [bob]").await, "[#lobby] [bob] lobby line");

    // The room list and `who` see every node's members.
    let mut dave = Client::chat_json(cluster.chat(2), "dave").await;
    dave.send_json(json!({"type": "rooms"})).await;
    let rooms = dave.json_of("rooms").await;
    assert_eq!(rooms["rooms"][0]["name"], "#a");
    assert_eq!(rooms["rooms"][0]["members"], 2);
    dave.send_json(json!({"type": "who", "room": "#a"})).await;
    assert_eq!(dave.json_of("users").await["names"], json!(["alice", "bob"]));

    // A topic set on node C reaches #a's members on A and B.
    let mut admin = Client::chat_login(cluster.chat(2), "admin", "admin-pw").await;
    admin.send_json(json!({"type": "topic", "room": "#a", "topic": "team a"})).await;
    assert_eq!(admin.json_of("topic").await["topic"], "team a");
    assert!(alice.until_prefix("[#a] * topic").await.starts_with("[#a] * topic of #a: team a (set by admin"));
    assert!(bob.until_prefix("[#a] * topic").await.starts_with("[#a] * topic of #a: team a"));

    // When the last member on a node leaves the room, that node stops following it.
    alice.send("/part #a").await;
    alice.until("[#a] [alice] left (1 online)").await;
    assert_eq!(bob.until_prefix("[#a] [alice]").await, "[#a] [alice] left (1 online)");
    eventually("node A to stop following #a", || async {
        (subscriptions(&cluster, 0).await == 1).then_some(())
    })
    .await;
    assert_eq!(subscriptions(&cluster, 1).await, 2);
    assert_eq!(
        carol.silent_or_lines(Duration::from_millis(300)).await.iter().filter(|l| l.contains("#a")).count(),
        0
    );
    cluster.stop().await;
    db.cleanup().await;
}
