//! Two nodes (processes sharing a private NATS and a database) under a flood of public lines that
//! the bus cannot carry as fast as they come: no line is dropped between the nodes, each sender's
//! lines arrive in order, the senders are slowed instead (`sockhub_cluster_publish_waits_total`
//! moves), and queued lines leave in batches (fewer NATS messages than lines). Whispers to the
//! other node too.

use std::collections::HashMap;

use crate::cluster::{Cluster, Nats, enter, one_backend};
use crate::support::{Client, Db};
use crate::web::api::get;

/// Node `i`'s metrics, read at once (so counters compared are of the same moment).
pub(crate) async fn scrape(cluster: &Cluster, i: usize) -> String {
    get(cluster.web(i), "/metrics").await.1
}

/// The value of the metric line starting with `name ` (0 when absent).
pub(crate) fn metric(text: &str, name: &str) -> f64 {
    let prefix = format!("{name} ");
    text.lines()
        .find(|l| l.starts_with(&prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

/// `senders` users on node A each send `lines` numbered lines at once (one write each); a user on
/// node B must read every one of them, each sender's in order. Returns the clients.
async fn flood(cluster: &Cluster, senders: usize, lines: usize) -> (Vec<Client>, Client) {
    let mut reader = enter(cluster.chat(1), "reader", 1).await;
    let mut clients = Vec::new();
    for s in 0..senders {
        clients.push(enter(cluster.chat(0), &format!("s{s}"), s + 2).await);
    }
    reader.until(&format!("[s{}] joined ({} online)", senders - 1, senders + 1)).await;
    let writes = clients.iter_mut().enumerate().map(|(s, c)| {
        let burst: String = (0..lines).map(|n| format!("s{s} line {n}\n")).collect();
        async move { c.send_raw(burst.as_bytes()).await }
    });
    futures_util::future::join_all(writes).await;

    let mut next: HashMap<String, usize> = HashMap::new();
    let mut got = 0;
    while got < senders * lines {
        let line = reader.line().await;
        // "[s2] s2 line 17"
        let Some(rest) = line.strip_prefix('[') else { continue };
        let Some((who, text)) = rest.split_once("] ") else { continue };
        let Some(n) = text.strip_prefix(&format!("{who} line ")) else { continue };
        let n: usize = n.parse().unwrap_or_else(|_| panic!("{line}"));
        let expected = next.entry(who.to_owned()).or_default();
        assert_eq!(n, *expected, "{who}'s lines arrive at node B in order, none missing: {line}");
        *expected += 1;
        got += 1;
    }
    (clients, reader)
}

#[tokio::test]
async fn a_flood_through_a_tiny_publish_queue_loses_nothing_and_slows_the_senders() {
    let Some(b) = one_backend() else { return };
    let db = Db::create(&b).await;
    let nats = Nats::start().await;
    let cluster = Cluster::start_with(&db, &nats, 2, "publish_queue = 4\n").await;
    let (senders, lines) = (4, 250);
    let (mut clients, mut reader) = flood(&cluster, senders, lines).await;
    assert!(
        reader
            .silent_or_lines(std::time::Duration::from_millis(300))
            .await
            .iter()
            .all(|l| !l.contains(" line ")),
        "nothing twice"
    );

    // Whispers to node B take the same way: every one arrives, each sender's in order.
    let whispers = 150;
    let writes = clients.iter_mut().enumerate().map(|(s, c)| {
        let burst: String = (0..whispers).map(|n| format!("/w reader w{s} {n}\n")).collect();
        async move { c.send_raw(burst.as_bytes()).await }
    });
    futures_util::future::join_all(writes).await;
    let mut next = vec![0; senders];
    for _ in 0..senders * whispers {
        // "<<< [from s2] w2 17"
        let line = reader.until_prefix("<<< [from ").await;
        let (s, n) = line.rsplit_once("] w").and_then(|(_, rest)| rest.split_once(' ')).expect("a whisper");
        let (s, n): (usize, usize) = (s.parse().unwrap(), n.parse().unwrap());
        assert_eq!(n, next[s], "s{s}'s whispers arrive in order, none missing: {line}");
        next[s] += 1;
    }

    let (a, b) = (scrape(&cluster, 0).await, scrape(&cluster, 1).await);
    let waits = metric(&a, "sockhub_cluster_publish_waits_total");
    assert!(waits > 0.0, "the senders waited for the 4-place queue rather than lose lines");
    assert_eq!(metric(&a, "sockhub_cluster_publish_refused_total"), 0.0);
    assert!(metric(&a, "sockhub_cluster_publish_wait_seconds_count") >= waits);
    let published = metric(&a, "sockhub_cluster_published_total");
    let nats_messages = metric(&a, "sockhub_cluster_nats_messages_total");
    assert!(published >= (senders * (lines + whispers)) as f64, "{published}");
    assert!(
        nats_messages < published,
        "queued lines leave batched: {nats_messages} NATS messages for {published}"
    );
    let received = metric(&b, "sockhub_cluster_received_total");
    assert!(received >= (senders * (lines + whispers)) as f64, "node B counts each of a batch: {received}");
    assert_eq!(metric(&b, "sockhub_cluster_inbound_dropped_total"), 0.0);
    cluster.stop().await;
    db.cleanup().await;
}

/// `publish_batch = 1`: one NATS message per message, the wire of nodes that do not batch.
#[tokio::test]
async fn publish_batch_1_sends_one_nats_message_per_line() {
    let Some(b) = one_backend() else { return };
    let db = Db::create(&b).await;
    let nats = Nats::start().await;
    let cluster = Cluster::start_with(&db, &nats, 2, "publish_queue = 4\npublish_batch = 1\n").await;
    let _ = flood(&cluster, 2, 200).await;
    let a = scrape(&cluster, 0).await;
    let published = metric(&a, "sockhub_cluster_published_total");
    assert!(published >= 400.0, "{published}");
    assert_eq!(metric(&a, "sockhub_cluster_nats_messages_total"), published);
    cluster.stop().await;
    db.cleanup().await;
}
