//! Session-level tests of relay ingest, on the [`crate::testing`] harness: a record is
//! acknowledged once stored, a re-sent record is acknowledged again and stored once, and a seq
//! taken by another payload is refused — with the real group commit, no sockets.

use serde_json::json;
use sockhub_proto::Mode;

use crate::testing::Harness;

#[tokio::test]
async fn records_are_acknowledged_once_stored_and_a_resend_is_stored_once() {
    let mut h = Harness::start(|_| {}).await;
    let relay = h.hub().relay.clone().unwrap();
    let mut dev = h.open(&relay, Mode::Json);
    for seq in 1..=3 {
        dev.request(json!({"type":"record","source":"dev1","seq":seq,"payload":format!("line {seq}")})).await;
    }
    // Acks are cumulative: the last one may cover the others.
    let mut acked = 0;
    while acked < 3 {
        acked = dev.expect("ack").await["seq"].as_i64().unwrap();
    }
    dev.request(json!({"type":"record","source":"dev1","seq":2,"payload":"line 2"})).await;
    assert_eq!(dev.expect("ack").await["seq"], 2);
    dev.request(json!({"type":"record","source":"dev1","seq":2,"payload":"other"})).await;
    assert_eq!(dev.expect("error").await["code"], "seq_conflict");
    let status = relay.status();
    let src = status.sources.iter().find(|s| s.source == "dev1").expect("dev1 is counted");
    assert_eq!(src.received, 3, "stored once each: {src:?}");
}

#[tokio::test]
async fn a_text_line_gets_the_next_seq_of_its_source() {
    let mut h = Harness::start(|_| {}).await;
    let relay = h.hub().relay.clone().unwrap();
    let mut dev = h.open(&relay, Mode::Text);
    dev.send("센서-1&&온도 21도").await;
    dev.send("센서-1&&온도 22도").await;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    let mut lines = Vec::new();
    while !lines.iter().any(|l: &String| l == "ack 센서-1 2") {
        assert!(tokio::time::Instant::now() < deadline, "no ack for seq 2: {lines:?}");
        lines.extend(dev.drain().await);
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}
