//! IRC over TLS (`[irc] tls_port`): `openssl s_client`, a TLS client nobody here wrote, registers,
//! joins and talks with a plain-text IRC user; the certificate it checks is the one `[tls]`
//! serves.

use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use super::{IrcClient, irc_on};
use crate::support::{PATIENCE, TestServer};
use crate::tls::Certs;

#[tokio::test]
async fn openssl_s_client_speaks_irc_on_the_irc_tls_port() {
    let dir = tempfile::tempdir().unwrap();
    let certs = Certs::make(dir.path());
    let server = TestServer::with(|c| {
        irc_on(c);
        certs.serve(c);
        c.irc.tls_port = Some(0);
    })
    .await;
    let addr = server.addr("irc-tls");

    // -crlf: what we type goes out with CR LF, as IRC wants (and CRs read are left out).
    let mut openssl = tokio::process::Command::new("openssl")
        .args(["s_client", "-quiet", "-crlf", "-verify_return_error", "-verify_ip", "127.0.0.1"])
        .arg("-CAfile")
        .arg(certs.ca())
        .arg("-connect")
        .arg(addr.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("openssl is installed (scripts/setup.sh)");
    let mut input = openssl.stdin.take().unwrap();
    let mut output = BufReader::new(openssl.stdout.take().unwrap()).lines();
    let mut until = async |text: &str| loop {
        let line = tokio::time::timeout(PATIENCE, output.next_line())
            .await
            .unwrap_or_else(|_| panic!("openssl: timed out waiting for {text:?}"))
            .unwrap()
            .unwrap_or_else(|| panic!("openssl: output ended before {text:?}"));
        if line.contains(text) {
            return line;
        }
    };
    input.write_all(b"NICK alice\nUSER alice 0 * :Alice over TLS\n").await.unwrap();
    let welcome = until(" 001 ").await;
    assert!(welcome.starts_with(":irc.test 001 alice "), "{welcome}");
    until(" 366 alice #lobby ").await;

    let mut bob = IrcClient::register(server.addr("irc"), "bob").await;
    until(":bob!bob@sockhub JOIN #lobby").await;
    input.write_all(b"PRIVMSG #lobby :hello over TLS\n").await.unwrap();
    let m = bob.privmsg().await;
    assert_eq!(
        (super::from(&m), m.params.as_slice()),
        ("alice", &["#lobby".to_owned(), "hello over TLS".into()][..])
    );
    bob.send("PRIVMSG alice :hi in plain text").await;
    until(":bob!bob@sockhub PRIVMSG alice :hi in plain text").await;

    input.write_all(b"QUIT\n").await.unwrap();
    until("ERROR :").await;
    let status = tokio::time::timeout(PATIENCE, openssl.wait()).await.expect("openssl exits").unwrap();
    assert!(status.success(), "openssl s_client: {status}");
    server.stop().await;
}
