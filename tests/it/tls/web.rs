//! The web page over HTTPS: curl with HTTP/1.1 and HTTP/2, HSTS and the `Secure` cookie, the
//! redirect from plain HTTP, a WebSocket over TLS, and the web port's limits on slow clients.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use sockhub_store::Role;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{Certs, output, read_to_close};
use crate::support::{Db, PATIENCE, TestServer};
use crate::web::api::request;

/// `curl ARGS`, trusting the test CA and showing the response headers.
async fn curl(certs: &Certs, args: &[&str]) -> (bool, String, String) {
    let mut curl = tokio::process::Command::new("curl");
    curl.args(["-sS", "-i", "--max-time", "10", "--cacert"]).arg(certs.ca()).args(args);
    output(&mut curl).await
}

/// A server whose page is also on an HTTPS port with `certs`.
async fn https_server(certs: &Certs, f: impl FnOnce(&mut sockhub_server::Config)) -> TestServer {
    TestServer::with(|c| {
        certs.serve(c);
        c.web.tls_port = Some(0);
        f(c)
    })
    .await
}

#[tokio::test]
async fn curl_fetches_healthz_over_https_with_http1_and_http2_and_logs_in_with_a_secure_cookie() {
    let dir = tempfile::tempdir().unwrap();
    let certs = Certs::make(dir.path());
    let backend = sockhub_store::testing::backends().remove(0);
    let db = Db::with_account(&backend, "boss", "s3cret!", Role::Admin).await;
    let server = db
        .server(|c| {
            certs.serve(c);
            c.web.tls_port = Some(0);
            c.web.hsts_max_age_secs = 600;
        })
        .await;
    let url = format!("https://{}/healthz", server.addr("web-tls"));
    for (flag, version) in [("--http1.1", "HTTP/1.1 200"), ("--http2", "HTTP/2 200")] {
        let (ok, out, err) = curl(&certs, &[flag, &url]).await;
        assert!(ok, "{err}");
        assert!(out.starts_with(version), "{flag}: {out}");
        assert!(out.to_ascii_lowercase().contains("strict-transport-security: max-age=600"), "{out}");
        assert!(out.contains("\"status\":\"ok\""), "{out}");
    }
    // By name, too.
    let by_name = url.replace("127.0.0.1", "localhost");
    let port = server.addr("web-tls").port().to_string();
    let (ok, _, err) = curl(&certs, &["--resolve", &format!("localhost:{port}:127.0.0.1"), &by_name]).await;
    assert!(ok, "{err}");

    // Logging in over HTTPS sets a Secure cookie; over plain HTTP it does not, and no HSTS.
    let login = format!("https://{}/api/login", server.addr("web-tls"));
    let body = json!({"name": "boss", "password": "s3cret!"}).to_string();
    let (ok, out, err) = curl(
        &certs,
        &["-H", "X-Sockhub-Request: 1", "-H", "Content-Type: application/json", "--data", &body, &login],
    )
    .await;
    assert!(ok, "{err}");
    let cookie = out.lines().find(|l| l.to_ascii_lowercase().starts_with("set-cookie:")).expect(&out);
    assert!(cookie.contains("HttpOnly") && cookie.contains("; Secure"), "{cookie}");
    let body: Value = serde_json::from_str(&body).unwrap();
    let (status, head, _) =
        request(server.web(), "POST", "/api/login", &[("X-Sockhub-Request", "1")], Some(&body)).await;
    assert_eq!(status, 200, "{head}");
    assert!(!head.contains("Secure"), "{head}");
    assert!(!head.to_ascii_lowercase().contains("strict-transport-security"), "{head}");
    server.stop().await;
    db.cleanup().await;
}

#[tokio::test]
async fn plain_http_is_redirected_to_https_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let certs = Certs::make(dir.path());
    let server = https_server(&certs, |c| c.web.redirect_http = true).await;
    let tls_port = server.addr("web-tls").port();
    let plain = format!("http://localhost:{}/healthz?verbose=1", server.web().port());
    let resolve = |port: u16| format!("localhost:{port}:127.0.0.1");
    let (ok, out, err) = curl(&certs, &["--resolve", &resolve(server.web().port()), &plain]).await;
    assert!(ok, "{err}");
    assert!(out.starts_with("HTTP/1.1 308"), "{out}");
    let location = format!("location: https://localhost:{tls_port}/healthz?verbose=1");
    assert!(out.to_ascii_lowercase().contains(&location), "{out}");
    // Followed, it ends on the page over HTTPS.
    let (ok, out, err) = curl(
        &certs,
        &["-L", "--resolve", &resolve(server.web().port()), "--resolve", &resolve(tls_port), &plain],
    )
    .await;
    assert!(ok, "{err}");
    assert!(out.contains("HTTP/2 200") && out.contains("\"status\":\"ok\""), "{out}");
    server.stop().await;
}

#[tokio::test]
async fn a_websocket_over_tls_reaches_the_same_chat_as_tcp() {
    let dir = tempfile::tempdir().unwrap();
    let certs = Certs::make(dir.path());
    let server = https_server(&certs, |_| {}).await;
    let addr = server.addr("web-tls");
    let tcp = TcpStream::connect(addr).await.unwrap();
    let tls = certs.client().connect("localhost", tcp).await.unwrap();
    let url = format!("wss://localhost:{}/ws/chat", addr.port());
    let (mut ws, _) = tokio_tungstenite::client_async(url, tls).await.expect("WebSocket upgrade over TLS");
    ws.send(tokio_tungstenite::tungstenite::Message::text(
        json!({"type": "login", "name": "wsalice"}).to_string(),
    ))
    .await
    .unwrap();
    let mut bob = crate::support::Client::chat_json(server.chat(), "bob").await;
    let welcome = next_json(&mut ws).await;
    assert_eq!(welcome["type"], "welcome", "{welcome}");
    ws.send(tokio_tungstenite::tungstenite::Message::text(
        json!({"type": "say", "text": "over wss"}).to_string(),
    ))
    .await
    .unwrap();
    loop {
        let v = bob.json().await;
        if v["text"] == "over wss" {
            assert_eq!(v["from"], "wsalice", "{v}");
            break;
        }
    }
    server.stop().await;
}

async fn next_json<S>(ws: &mut tokio_tungstenite::WebSocketStream<S>) -> Value
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let msg = tokio::time::timeout(PATIENCE, ws.next()).await.expect("a message in time").unwrap().unwrap();
    serde_json::from_str(msg.to_text().unwrap()).unwrap()
}

/// Read until the server closes; panics if it does not within the patience window.
async fn closed(mut stream: TcpStream) -> Vec<u8> {
    read_to_close(&mut stream, PATIENCE).await
}

/// `GET /healthz` on a new connection; its status.
async fn healthz(web: SocketAddr) -> u16 {
    crate::web::api::get(web, "/healthz").await.0
}

#[tokio::test]
async fn hundreds_of_half_sent_requests_are_closed_at_the_header_timeout_while_healthz_answers() {
    const SLOW: usize = 300;
    let server = TestServer::with(|c| c.web.header_timeout_secs = 2).await;
    let web = server.web();
    let started = Instant::now();
    let mut slow = Vec::new();
    for _ in 0..SLOW {
        let mut s = TcpStream::connect(web).await.unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nUser-Agent: slo").await.unwrap();
        slow.push(s);
    }
    // While they hang, the page answers.
    assert_eq!(healthz(web).await, 200);
    let all = futures_util::future::join_all(slow.into_iter().map(closed)).await;
    let took = started.elapsed();
    for got in &all {
        // Closed, with at most an error status; never a 200 for half a request.
        let text = String::from_utf8_lossy(got);
        assert!(got.is_empty() || text.starts_with("HTTP/1.1 408"), "{text}");
    }
    assert!(took >= Duration::from_secs(2), "closed before the timeout: {took:?}");
    assert_eq!(healthz(web).await, 200);
    server.stop().await;
}

#[tokio::test]
async fn the_web_port_closes_connections_beyond_max_connections() {
    let server = TestServer::with(|c| c.web.max_connections = 2).await;
    let web = server.web();
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut s = TcpStream::connect(web).await.unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n").await.unwrap();
        let mut buf = [0u8; 12];
        s.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"HTTP/1.1 200");
        held.push(s);
    }
    let third = TcpStream::connect(web).await.unwrap();
    let got = closed(third).await;
    assert!(String::from_utf8_lossy(&got).starts_with("HTTP/1.1 503"), "{got:?}");
    drop(held);
    // Their slots come back once they close.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let (status, _, _) = request(web, "GET", "/healthz", &[], None).await;
        if status == 200 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "slots never freed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server.stop().await;
}

#[tokio::test]
async fn chromium_uses_the_page_over_https_and_its_websocket_over_wss() {
    let dir = tempfile::tempdir().unwrap();
    let certs = Certs::make(dir.path());
    let server = https_server(&certs, |c| c.web.redirect_http = true).await;
    // The test CA is not in the browser's store: for this test only, certificate errors are
    // ignored (the certificate itself is checked by the curl and client tests).
    let b = crate::web::browser::Browser::start_with(&["--ignore-certificate-errors"]).await;
    // Through the redirect from the plain port.
    b.goto(&format!("http://{}/#chat", server.web())).await;
    let at = b
        .wait_js(
            "the page is on https",
            "return location.protocol === 'https:' ? location.href : null",
            vec![],
        )
        .await;
    assert!(at.as_str().unwrap().contains(&format!(":{}/", server.addr("web-tls").port())), "{at}");
    b.fill("form.login input[name=name]", "alice").await;
    b.click("form.login button[type=submit]").await;
    b.wait_text(".messages .system", "Welcome, alice!").await;

    let mut bob = crate::support::Client::chat_text(server.chat(), "bob").await;
    b.wait_text(".messages .system", "bob joined (2 online)").await;
    bob.send("hello over wss").await;
    b.wait_text(".messages .message .text", "hello over wss").await;
    b.fill(".composer .say", "and back").await;
    b.enter(".composer .say").await;
    bob.until("[alice] and back").await;
    b.close().await;
    server.stop().await;
}
