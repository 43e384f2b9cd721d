//! IRC over TLS (`[irc] tls_port`): `openssl s_client`, a TLS client nobody here wrote, registers,
//! joins and talks with a plain-text IRC user; the certificate it checks is the one `[tls]`
//! serves.

use super::{IrcClient, irc_on};
use crate::support::TestServer;
use crate::tls::{Certs, SClient};

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
    let mut openssl = SClient::connect(&certs, addr, &["-crlf"]);
    openssl.type_in("NICK alice\nUSER alice 0 * :Alice over TLS\n").await;
    let welcome = openssl.until(" 001 ").await;
    assert!(welcome.starts_with(":irc.test 001 alice "), "{welcome}");
    openssl.until(" 366 alice #lobby ").await;

    let mut bob = IrcClient::register(server.addr("irc"), "bob").await;
    openssl.until(":bob!bob@sockhub JOIN #lobby").await;
    openssl.type_in("PRIVMSG #lobby :hello over TLS\n").await;
    let m = bob.privmsg().await;
    assert_eq!(
        (super::from(&m), m.params.as_slice()),
        ("alice", &["#lobby".to_owned(), "hello over TLS".into()][..])
    );
    bob.send("PRIVMSG alice :hi in plain text").await;
    openssl.until(":bob!bob@sockhub PRIVMSG alice :hi in plain text").await;

    openssl.type_in("QUIT\n").await;
    openssl.until("ERROR :").await;
    openssl.exits_cleanly().await;
    server.stop().await;
}
