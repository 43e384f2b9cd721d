//! Node leases and name claims: a name claimed by many at once has exactly one winner; a dead
//! node's claims go with it, but never the claims of a node that beat at the last moment.

use sockhub_store::testing::{TestDb, backends};
use sockhub_store::{Claimed, NameClaim};

use crate::common::init_tracing;

fn claim<'a>(name: &'a str, node_id: &'a str, lease: i64, conn: i64) -> NameClaim<'a> {
    NameClaim { service: "chat", name, node_id, lease, conn }
}

#[tokio::test]
async fn a_raced_name_has_exactly_one_winner() {
    init_tracing();
    for b in backends() {
        let db = TestDb::create(&b).await;
        let store = db.open().await;
        for round in 0..5 {
            let name = format!("김민수{round}");
            // Eight "nodes" claim the same name at the same moment, each on its own connection.
            let tasks: Vec<_> = (0..8)
                .map(|n| {
                    let (store, name) = (store.clone(), name.clone());
                    tokio::spawn(async move {
                        let node = format!("node-{n}");
                        store.cluster().claim_name(&claim(&name, &node, n, 1)).await.unwrap()
                    })
                })
                .collect();
            let mut won = 0;
            for t in tasks {
                if t.await.unwrap() == Claimed::Won {
                    won += 1;
                }
            }
            assert_eq!(won, 1, "{}: exactly one of the racers wins {name}", b.name());
        }
        // Case and normalization do not make a different name; another service does.
        store.cluster().claim_name(&claim("Alice", "a", 1, 1)).await.unwrap();
        let again = store.cluster().claim_name(&claim("ALICE", "b", 2, 1)).await.unwrap();
        assert_eq!(again, Claimed::Taken { node_id: "a".into() }, "{}", b.name());
        let quiz = NameClaim { service: "quiz", ..claim("alice", "b", 2, 1) };
        assert_eq!(store.cluster().claim_name(&quiz).await.unwrap(), Claimed::Won);
        // The same node under the same lease, another connection: taken (a local race).
        assert!(matches!(
            store.cluster().claim_name(&claim("alice", "a", 1, 2)).await.unwrap(),
            Claimed::Taken { .. }
        ));
        // Released by the holder only.
        assert!(!store.cluster().release_name("chat", "alice", "a", 2).await.unwrap());
        assert!(store.cluster().release_name("chat", "aLiCe", "a", 1).await.unwrap());
        assert_eq!(store.cluster().claim_name(&claim("alice", "b", 2, 1)).await.unwrap(), Claimed::Won);
        store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_dead_nodes_claims_are_released_but_not_a_live_ones() {
    init_tracing();
    for b in backends() {
        let db = TestDb::create(&b).await;
        let store = db.open().await;
        store.cluster().register_node("a", 11, 1000).await.unwrap();
        store.cluster().register_node("b", 22, 1000).await.unwrap();
        store.cluster().claim_name(&claim("alice", "a", 11, 1)).await.unwrap();
        store.cluster().claim_name(&claim("bob", "b", 22, 1)).await.unwrap();
        let seen = store.cluster().nodes().await.unwrap();
        assert_eq!(seen.len(), 2);
        let a = seen.iter().find(|n| n.node_id == "a").unwrap().clone();
        // `a` beats after it was looked at: expiring what was seen changes nothing.
        assert!(store.cluster().beat_node("a", 11, 2000).await.unwrap());
        assert_eq!(store.cluster().expire_node(&a).await.unwrap(), None, "{}", b.name());
        assert!(matches!(
            store.cluster().claim_name(&claim("alice", "b", 22, 2)).await.unwrap(),
            Claimed::Taken { .. }
        ));
        // Now it stays silent: expired with its claims.
        let a = store.cluster().nodes().await.unwrap().into_iter().find(|n| n.node_id == "a").unwrap();
        assert_eq!(a.beat, 1);
        assert_eq!(store.cluster().expire_node(&a).await.unwrap(), Some(1), "{}", b.name());
        assert!(!store.cluster().beat_node("a", 11, 3000).await.unwrap(), "a lost its lease");
        assert_eq!(store.cluster().claim_name(&claim("alice", "b", 22, 2)).await.unwrap(), Claimed::Won);
        assert_eq!(store.cluster().node_claims("b", 22).await.unwrap().len(), 2);

        // `b` is expired while alive (cut off), registers again and adopts its own claims; what
        // it no longer has is dropped.
        let b_row = store.cluster().nodes().await.unwrap().into_iter().find(|n| n.node_id == "b").unwrap();
        assert_eq!(store.cluster().expire_node(&b_row).await.unwrap(), Some(2));
        store.cluster().claim_name(&claim("bob", "b", 22, 1)).await.unwrap(); // raced in under the old lease
        store.cluster().register_node("b", 23, 4000).await.unwrap();
        assert_eq!(
            store.cluster().claim_name(&claim("bob", "b", 23, 1)).await.unwrap(),
            Claimed::Won,
            "adopted"
        );
        store.cluster().claim_name(&claim("carol", "b", 22, 5)).await.unwrap(); // a stale one
        assert_eq!(store.cluster().drop_stale_claims("b", 23).await.unwrap(), 1);
        let held = store.cluster().node_claims("b", 23).await.unwrap();
        assert_eq!(held.iter().map(|h| h.name_key.as_str()).collect::<Vec<_>>(), ["bob"]);
        // Leaving cleanly takes everything with it.
        assert_eq!(store.cluster().retire_node("b").await.unwrap(), 1);
        assert!(store.cluster().nodes().await.unwrap().is_empty());
        store.close().await;
        db.cleanup().await;
    }
}
