//! The HTTP API and the operator endpoints on a running server, over real HTTP (the router's
//! own tests in `crates/web/tests` cover each endpoint's rules with `oneshot`).

use std::net::{IpAddr, SocketAddr};

use serde_json::{Value, json};
use sockhub_store::Role;
use sockhub_store::testing::backends;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::ws::Ws;
use crate::support::{Client, Db, TestServer};

/// Where a request goes, and from which local address (any of 127.0.0.0/8 is loopback on
/// Linux, so a test can be several clients); a plain address lets the system choose.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    pub addr: SocketAddr,
    pub from: Option<IpAddr>,
}

impl Target {
    /// `addr`, from the local address `from`.
    pub fn from(from: IpAddr, addr: SocketAddr) -> Target {
        Target { addr, from: Some(from) }
    }
}

impl From<SocketAddr> for Target {
    fn from(addr: SocketAddr) -> Target {
        Target { addr, from: None }
    }
}

/// One HTTP/1.1 request with `Connection: close`; returns the status, headers and body.
pub async fn request(
    to: impl Into<Target>,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&Value>,
) -> (u16, String, String) {
    let Target { addr, from } = to.into();
    let mut stream = match from {
        Some(ip) => crate::support::connect_from(ip, addr).await,
        None => tokio::net::TcpStream::connect(addr).await.unwrap(),
    };
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if !body.is_empty() {
        req.push_str("Content-Type: application/json\r\n");
    }
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(&body);
    stream.write_all(req.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(crate::support::PATIENCE, stream.read_to_end(&mut raw))
        .await
        .expect("response in time")
        .unwrap();
    let raw = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    // Bodies of unknown length come chunked; the API's JSON bodies have a length.
    (status, head.to_owned(), body.to_owned())
}

/// `GET path`: status and body.
pub async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let (status, _, body) = request(addr, "GET", path, &[], None).await;
    (status, body)
}

/// Log in over HTTP as `name`; the session cookie (`name=value`).
pub async fn login_cookie(web: SocketAddr, name: &str, password: &str) -> String {
    let csrf = [("X-Sockhub-Request", "1")];
    let (status, head, body) =
        request(web, "POST", "/api/login", &csrf, Some(&json!({"name": name, "password": password}))).await;
    assert_eq!(status, 200, "{body}");
    head.lines()
        .find_map(|l| l.strip_prefix("set-cookie: "))
        .and_then(|c| c.split(';').next())
        .expect("a session cookie")
        .to_owned()
}

#[tokio::test]
async fn metrics_count_websocket_and_tcp_connections_per_service() {
    let server = TestServer::start().await;
    let _ws = Ws::chat(server.web(), "alice").await;
    let _tcp = Client::chat_text(server.chat(), "bob").await;
    let (status, text) = get(server.web(), "/metrics").await;
    assert_eq!(status, 200);
    for line in [
        "sockhub_connections{service=\"chat\"} 2",
        "sockhub_users{service=\"chat\"} 2",
        "# TYPE sockhub_messages_per_second gauge",
        "sockhub_log_queue_depth ",
        "sockhub_log_writer_lag_seconds ",
        "sockhub_log_writer_healthy 1",
        "process_resident_memory_bytes ",
        "sockhub_calc_commit_queue_depth 0",
    ] {
        assert!(text.contains(line), "{line:?} missing from:\n{text}");
    }
    let (status, health) = get(server.web(), "/healthz").await;
    assert_eq!(status, 200);
    let health: Value = serde_json::from_str(&health).unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["services"]["chat"]["connections"], 2);
    server.stop().await;
}

/// An admin logs in over HTTP, and the cookie works for the admin API on every backend.
#[tokio::test]
async fn an_admin_session_over_http_on_every_backend() {
    for backend in backends() {
        let db = Db::with_account(&backend, "boss", "s3cret!", Role::Admin).await;
        let server = db.server(|_| {}).await;
        let web = server.web();
        let cookie = login_cookie(web, "boss", "s3cret!").await;
        let auth = [("Cookie", cookie.as_str()), ("X-Sockhub-Request", "1")];
        let (status, _, body) = request(
            web,
            "POST",
            "/api/accounts",
            &auth,
            Some(&json!({"name": "김철수", "password": "pw123456", "student_id": "20231234"})),
        )
        .await;
        assert_eq!(status, 201, "{body}");
        let (status, _, body) = request(web, "GET", "/api/accounts", &auth, None).await;
        assert_eq!(status, 200);
        let names: Vec<Value> = serde_json::from_str::<Vec<Value>>(&body)
            .unwrap()
            .into_iter()
            .map(|a| a["name"].clone())
            .collect();
        assert!(names.contains(&json!("김철수")), "{names:?}");
        // The new member logs in to chat with the password set from the page.
        Client::chat_login(server.chat(), "김철수", "pw123456").await;
        let (status, _, body) = request(web, "GET", "/api/logins", &auth, None).await;
        assert_eq!(status, 200);
        let logins: Vec<Value> = serde_json::from_str(&body).unwrap();
        assert!(
            logins.iter().any(|l| l["service"] == "web" && l["name"] == "boss" && l["outcome"] == "success"),
            "{logins:?}"
        );
        server.stop().await;
        db.cleanup().await;
    }
}

/// A refused request keeps its `code` in every language; its `message` follows the
/// `Accept-Language` the page sends, else the server's `[server] language`. Refusals from the
/// CSRF guard, the login check, a service (a wrong password) and a bad body all follow it.
#[tokio::test]
async fn refusals_speak_the_language_the_request_asks_for() {
    use sockhub_i18n::Lang;
    let backend =
        sockhub_store::testing::TestBackend { backend: sockhub_store::Backend::Sqlite, base_url: None };
    let db = Db::with_account(&backend, "boss", "s3cret!", Role::Admin).await;
    let server = db.server(|_| {}).await;
    let web = server.web();
    let error = |body: &str| -> (String, String) {
        let v: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"));
        assert_eq!(v["type"], "error", "{body}");
        (v["code"].as_str().unwrap().to_owned(), v["message"].as_str().unwrap().to_owned())
    };
    let ko = ("Accept-Language", "ko-KR,ko;q=0.9,en;q=0.8");
    let csrf = ("X-Sockhub-Request", "1");

    // Not logged in.
    let (status, _, body) = request(web, "GET", "/api/accounts", &[], None).await;
    assert_eq!(status, 401);
    assert_eq!(error(&body), ("not_logged_in".into(), "log in first".into()));
    let (status, _, body) = request(web, "GET", "/api/accounts", &[ko], None).await;
    assert_eq!(status, 401);
    assert_eq!(error(&body), ("not_logged_in".into(), "먼저 로그인하세요".into()));
    // The CSRF guard.
    let (status, _, body) = request(web, "POST", "/api/logout", &[ko], None).await;
    assert_eq!(status, 403);
    let (code, message) = error(&body);
    assert_eq!(code, "csrf_rejected");
    assert!(message.contains("이 사이트의 페이지에서"), "{message}");
    // A service's own refusal (a wrong password), and a malformed body.
    let wrong = json!({"name": "boss", "password": "nope"});
    let (status, _, body) = request(web, "POST", "/api/login", &[ko, csrf], Some(&wrong)).await;
    assert_eq!(status, 401);
    assert_eq!(error(&body), ("bad_credentials".into(), "이름 또는 비밀번호가 틀렸습니다".into()));
    let (_, _, body) = request(web, "POST", "/api/login", &[csrf], Some(&wrong)).await;
    assert_eq!(error(&body), ("bad_credentials".into(), "wrong name or password".into()));
    let (status, _, body) = request(web, "GET", "/api/nowhere", &[("Accept-Language", "ko")], None).await;
    assert_eq!(status, 404);
    assert_eq!(error(&body), ("not_found".into(), "그런 API 주소는 없습니다".into()));
    // A logged-in admin's refused request.
    let cookie = login_cookie(web, "boss", "s3cret!").await;
    let admin = [("Cookie", cookie.as_str()), csrf, ko];
    let (status, _, body) = request(web, "DELETE", "/api/accounts/boss", &admin, None).await;
    assert_eq!(status, 400);
    assert_eq!(error(&body), ("bad_request".into(), "자신의 계정은 삭제할 수 없습니다".into()));
    server.stop().await;

    // A Korean server answers in Korean when the request names no language it speaks.
    let server = db.server(|c| c.server.language = Lang::Ko).await;
    let (_, _, body) = request(server.web(), "GET", "/api/me", &[], None).await;
    assert_eq!(error(&body), ("not_logged_in".into(), "먼저 로그인하세요".into()));
    let (_, _, body) = request(server.web(), "GET", "/api/me", &[("Accept-Language", "fr")], None).await;
    assert_eq!(error(&body), ("not_logged_in".into(), "먼저 로그인하세요".into()));
    let (_, _, body) = request(server.web(), "GET", "/api/me", &[("Accept-Language", "en")], None).await;
    assert_eq!(error(&body), ("not_logged_in".into(), "log in first".into()));
    server.stop().await;
    db.cleanup().await;
}
