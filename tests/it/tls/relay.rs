//! The relay's second hop over mutual TLS: Server1 shows its client certificate to Server2's
//! relay TLS port and every record arrives once; a Server1 without one is refused and keeps its
//! records queued. A device reaches Server1's own TLS port with `--tls`.

use sockhub_client::device::{self, DeviceOptions, FirstSeq};
use sockhub_store::RelayState;

use super::Certs;
use crate::relay::{Node, SETTLE, eventually};

const RECORDS: usize = 500;

fn payloads(tag: &str) -> Vec<String> {
    (0..RECORDS).map(|i| format!("{tag} record {i}")).collect()
}

/// Server2: a sink whose relay TLS port requires a client certificate signed by the class CA.
async fn server2(certs: &Certs) -> Node {
    Node::start(None, |c| {
        certs.serve(c);
        c.relay.tls_port = Some(0);
        c.tls.client_ca = Some(certs.ca());
        c.tls.require_client_cert = true;
    })
    .await
}

/// Server1 forwarding to `s2`'s TLS port, with the client certificate when `identity`.
async fn server1(certs: &Certs, s2: &Node, identity: bool) -> Node {
    let downstream = s2.server.as_ref().unwrap().addr("relay-tls");
    Node::start(Some(downstream), |c| {
        certs.serve(c);
        c.relay.tls_port = Some(0);
        c.relay.downstream_tls = true;
        c.relay.downstream_ca = Some(certs.ca());
        if identity {
            c.relay.client_cert = Some(certs.file("server1.pem"));
            c.relay.client_key = Some(certs.file("server1-key.pem"));
        }
    })
    .await
}

#[tokio::test]
async fn a_relay_pair_over_mutual_tls_delivers_every_record_once() {
    let dir = tempfile::tempdir().unwrap();
    let certs = Certs::make(dir.path());
    let s2 = server2(&certs).await;
    let s1 = server1(&certs, &s2, true).await;

    // The device speaks TLS to Server1's relay TLS port.
    let opts = DeviceOptions {
        addr: s1.server.as_ref().unwrap().addr("relay-tls").to_string(),
        source: "lab-tls".into(),
        first_seq: FirstSeq::At(1),
        window: 100,
        patience: SETTLE,
        rate: 0,
        token: None,
    };
    let report = device::run_over(&opts, Some(&certs.client()), &payloads("tls"), |_, _| {}).await;
    assert!(report.complete(), "{report:?}");

    eventually("Server2 holds every record", || async { s2.records(None).await.len() == RECORDS }).await;
    eventually("Server1 marked every record forwarded", || async {
        s1.records(Some(RelayState::Forwarded)).await.len() == RECORDS
    })
    .await;
    let mut seqs: Vec<i64> = s2.records(None).await.iter().map(|r| r.seq).collect();
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=RECORDS as i64).collect::<Vec<_>>(), "each record once, none missing");
}

#[tokio::test]
async fn a_server1_without_the_client_certificate_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let certs = Certs::make(dir.path());
    let s2 = server2(&certs).await;
    let s1 = server1(&certs, &s2, false).await;
    let report = crate::relay::send(s1.addr(), "lab-anon", payloads("anon"), 1).await;
    assert!(report.complete(), "Server1 itself takes the records: {report:?}");

    // Server2 refuses its handshakes again and again ...
    let web2 = s2.server.as_ref().unwrap().web();
    eventually("Server2 refused Server1's handshakes", || async {
        let (_, metrics) = crate::web::api::get(web2, "/metrics").await;
        metrics
            .lines()
            .find_map(|l| l.strip_prefix("sockhub_tls_handshake_failures_total "))
            .and_then(|n| n.parse::<u64>().ok())
            .is_some_and(|n| n >= 3)
    })
    .await;
    // ... so nothing arrived, and everything is still queued on Server1.
    assert!(s2.records(None).await.is_empty());
    assert_eq!(s1.records(Some(RelayState::Queued)).await.len(), RECORDS);
}
