//! Logins against hostile clients, on a real server: a storm of parallel guesses gets no more
//! password checks than the throttle allows (over HTTP and chat TCP) and runs no more hashes at
//! once than there are permits, and it cannot lock the account's holder out from another
//! address; `X-Forwarded-For` counts only from a trusted proxy; an admin demoted since logging
//! in cannot moderate; a password reset (from another process) ends the account's web sessions;
//! and a web session ends at its absolute lifetime however busy it is.
//!
//! Several client addresses come from binding the client socket to 127.0.0.2: all of
//! 127.0.0.0/8 is loopback on Linux.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::time::Instant;

use serde_json::{Value, json};
use sockhub_server::Config;
use sockhub_store::testing::backends;
use sockhub_store::{LoginFilter, Role};

use crate::support::{Client, Db, add_account, config_file_for, eventually, run_sockhub};
use crate::web::api::{Target, get, login_cookie, request};
use crate::web::ws::Ws;

const PASSWORD: &str = "correct-horse-42";
/// The server's own address for the clients in these tests, and the trusted proxy's.
const HOME: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
/// Another client address.
const ELSEWHERE: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
const CSRF: (&str, &str) = ("X-Sockhub-Request", "1");
const GUESSES: usize = 100;
const LOCK_AFTER: usize = 10;
const PERMITS: usize = 2;
/// How long a lock lasts (the default).
const LOCK_SECS: u64 = 300;

/// Count the attempts exactly: no delays, a lock at [`LOCK_AFTER`], two hashes at a time, and
/// a permit wait long enough that every attempt that has a slot is checked.
fn storm(c: &mut Config) {
    c.auth.slow_after = 1000;
    c.auth.lock_after = LOCK_AFTER as u32;
    c.auth.max_concurrent_hashes = PERMITS;
    c.auth.hash_wait_ms = 60_000;
    c.auth.lock_secs = LOCK_SECS;
}

/// How many times each value occurs.
fn tally<T: Ord + Clone>(values: &[T]) -> BTreeMap<T, usize> {
    let mut counts = BTreeMap::new();
    for v in values {
        *counts.entry(v.clone()).or_default() += 1;
    }
    counts
}

/// One sample from `/metrics`.
fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("{name} missing from /metrics:\n{text}"))
}

async fn web_login(to: impl Into<Target>, password: String) -> u16 {
    let body = json!({"name": "boss", "password": password});
    request(to, "POST", "/api/login", &[CSRF], Some(&body)).await.0
}

/// After a storm: at most [`LOCK_AFTER`] passwords were checked, never more than [`PERMITS`] at
/// once, and every other attempt was refused by the throttle.
async fn assert_the_storm_was_contained(web: SocketAddr) {
    let (_, text) = get(web, "/metrics").await;
    assert_eq!(metric(&text, "sockhub_auth_password_checks_total"), LOCK_AFTER as f64);
    assert_eq!(metric(&text, "sockhub_auth_throttled_total"), (GUESSES - LOCK_AFTER) as f64);
    assert_eq!(metric(&text, "sockhub_auth_hash_permits"), PERMITS as f64);
    let most = metric(&text, "sockhub_auth_hashes_in_flight_max");
    assert!((1.0..=PERMITS as f64).contains(&most), "{most} hashes ran at once");
    assert_eq!(metric(&text, "sockhub_auth_hashes_in_flight"), 0.0);
}

#[tokio::test]
async fn a_storm_of_web_guesses_is_contained_and_cannot_lock_the_holder_out() {
    let db = Db::with_account(&backends()[0], "boss", PASSWORD, Role::Admin).await;
    let server = db.server(storm).await;
    let web = server.web();
    let guesses = (0..GUESSES).map(|i| web_login(web, format!("guess-{i}")));
    let statuses = futures_util::future::join_all(guesses).await;
    assert_eq!(
        tally(&statuses),
        BTreeMap::from([(401, LOCK_AFTER), (429, GUESSES - LOCK_AFTER)]),
        "at most lock_after guesses are checked (401), the rest refused at once (429)"
    );
    assert_the_storm_was_contained(web).await;
    assert_eq!(web_login(web, PASSWORD.into()).await, 429, "the guessing address is blocked for boss");
    // The refusal says when to try again, in whole seconds, no later than the lock ends.
    let body = json!({"name": "boss", "password": PASSWORD});
    let (_, head, _) = request(web, "POST", "/api/login", &[CSRF], Some(&body)).await;
    let retry: u64 = head
        .lines()
        .find_map(|l| l.to_ascii_lowercase().strip_prefix("retry-after:").map(|v| v.trim().to_owned()))
        .unwrap_or_else(|| panic!("no Retry-After in:\n{head}"))
        .parse()
        .unwrap();
    assert!((1..=LOCK_SECS).contains(&retry), "Retry-After: {retry}");
    assert_eq!(
        web_login(Target::from(ELSEWHERE, web), PASSWORD.into()).await,
        200,
        "the holder, elsewhere, is not"
    );
    server.stop().await;
    db.cleanup().await;
}

#[tokio::test]
async fn a_login_that_gets_no_password_check_in_time_is_told_to_retry_and_not_counted() {
    let db = Db::with_account(&backends()[0], "boss", PASSWORD, Role::Admin).await;
    let server = db
        .server(|c| {
            c.auth.slow_after = 1000;
            c.auth.lock_after = 20;
            c.auth.max_concurrent_hashes = 1;
            c.auth.hash_wait_ms = 0;
        })
        .await;
    let web = server.web();
    let body = |i| json!({"name": "boss", "password": format!("guess-{i}")});
    let replies = futures_util::future::join_all(
        (0..20).map(|i| async move { request(web, "POST", "/api/login", &[CSRF], Some(&body(i))).await }),
    )
    .await;
    let statuses: Vec<u16> = replies.iter().map(|r| r.0).collect();
    let busy = statuses.iter().filter(|&&s| s == 503).count();
    let checked = statuses.iter().filter(|&&s| s == 401).count();
    assert_eq!(busy + checked, 20, "{statuses:?}");
    assert!(busy >= 1 && checked >= 1, "one check at a time, no waiting: {statuses:?}");
    let told = replies.iter().find(|r| r.0 == 503).unwrap();
    assert!(told.2.contains(r#""code":"unavailable""#) && told.2.contains("try again"), "{}", told.2);
    let (_, text) = get(web, "/metrics").await;
    assert_eq!(metric(&text, "sockhub_auth_hash_timeouts_total"), busy as f64);
    assert_eq!(metric(&text, "sockhub_auth_password_checks_total"), checked as f64);
    // Had the unchecked attempts counted, this address would have 20 and be locked.
    assert_eq!(web_login(web, PASSWORD.into()).await, 200);
    server.stop().await;
    db.cleanup().await;
}

#[tokio::test]
async fn a_storm_of_chat_guesses_is_contained_and_cannot_lock_the_holder_out() {
    let db = Db::with_account(&backends()[0], "boss", PASSWORD, Role::Admin).await;
    let server = db.server(storm).await;
    let chat = server.chat();
    let guess = async |from: Option<IpAddr>, password: String| {
        let mut c = match from {
            Some(ip) => Client::connect_from(ip, chat).await,
            None => Client::connect(chat).await,
        };
        c.send_json(json!({"type": "login", "name": "boss", "password": password})).await;
        let reply = c.json().await;
        reply["code"].as_str().or(reply["type"].as_str()).unwrap_or_default().to_owned()
    };
    let codes = futures_util::future::join_all((0..GUESSES).map(|i| guess(None, format!("guess-{i}")))).await;
    let expected =
        [("bad_credentials".to_owned(), LOCK_AFTER), ("too_many_attempts".to_owned(), GUESSES - LOCK_AFTER)];
    assert_eq!(tally(&codes), BTreeMap::from(expected));
    assert_the_storm_was_contained(server.web()).await;
    assert_eq!(guess(None, PASSWORD.into()).await, "too_many_attempts");
    assert_eq!(guess(Some(ELSEWHERE), PASSWORD.into()).await, "welcome");
    server.stop().await;
    db.cleanup().await;
}

#[tokio::test]
async fn x_forwarded_for_counts_only_from_a_trusted_proxy() {
    let db = Db::with_account(&backends()[0], "boss", PASSWORD, Role::Admin).await;
    let server = db
        .server(|c| {
            c.auth.slow_after = 1000;
            c.auth.lock_after = 3;
            c.web.trusted_proxies = vec!["127.0.0.1".into()];
        })
        .await;
    let web = server.web();
    let login = async |from: IpAddr, forwarded: &str, password: &str| {
        let body = json!({"name": "boss", "password": password});
        let headers = [CSRF, ("X-Forwarded-For", forwarded)];
        request(Target::from(from, web), "POST", "/api/login", &headers, Some(&body)).await.0
    };

    // An untrusted peer's header is ignored: its guesses count against its own address, and
    // naming a fresh address in the header does not lift the block.
    for i in 0..3 {
        assert_eq!(login(ELSEWHERE, &format!("203.0.113.{i}"), "wrong").await, 401);
    }
    assert_eq!(login(ELSEWHERE, "203.0.113.77", PASSWORD).await, 429);

    // Through the trusted proxy the client it names is counted, not the proxy.
    for _ in 0..3 {
        assert_eq!(login(HOME, "198.51.100.9", "wrong").await, 401);
    }
    assert_eq!(login(HOME, "198.51.100.9", PASSWORD).await, 429, "that client is blocked");
    assert_eq!(
        login(HOME, "6.6.6.6, 198.51.100.10", PASSWORD).await,
        200,
        "another client behind the proxy is not, whatever it put before the proxy's entry"
    );

    // The login log names the clients.
    let rows = eventually("the web logins in the log", || async {
        let rows = db.store.logins(&LoginFilter::default()).await.unwrap();
        (rows.iter().filter(|r| r.service == "web").count() == 9).then_some(rows)
    })
    .await;
    let ips: Vec<String> = rows
        .iter()
        .filter(|r| r.service == "web")
        .map(|r| r.peer.parse::<SocketAddr>().unwrap().ip().to_string())
        .collect();
    let expected = [("127.0.0.2", 4), ("198.51.100.10", 1), ("198.51.100.9", 4)];
    assert_eq!(tally(&ips), BTreeMap::from(expected.map(|(ip, n)| (ip.to_owned(), n))));
    server.stop().await;
    db.cleanup().await;
}

/// Run `sockhub ARGS` on `db`'s database, as an operator would from a shell (another process);
/// it must succeed.
async fn sockhub(db: &Db, dir: &Path, args: &[&str], stdin: &str) {
    let (ok, output) = run_sockhub(&config_file_for(&db.db, dir), args, stdin).await;
    assert!(ok, "sockhub {args:?}: {output}");
}

#[tokio::test]
async fn a_demoted_admin_cannot_moderate_with_a_session_opened_before() {
    let db = Db::with_account(&backends()[0], "boss", PASSWORD, Role::Admin).await;
    add_account(&db.store, "deputy", PASSWORD, Role::Admin).await;
    let server = db.server(|_| {}).await;
    let (chat, web) = (server.chat(), server.web());
    let mut boss = Client::chat_login(chat, "boss", PASSWORD).await;
    let mut deputy = Ws::connect(web, "chat").await;
    deputy.send(json!({"type": "login", "name": "deputy", "password": PASSWORD})).await;
    assert_eq!(deputy.json().await["admin"], true);
    let cookie = login_cookie(web, "boss", PASSWORD).await;
    let mut bob = Client::chat_json(chat, "bob").await;

    // While they are admins, they may.
    deputy.send(json!({"type": "mute", "name": "bob"})).await;
    assert_eq!(deputy.json_of("muted").await["name"], "bob");
    boss.send_json(json!({"type": "unmute", "name": "bob"})).await;
    assert_eq!(boss.json_of("unmuted").await["name"], "bob");

    let dir = tempfile::tempdir().unwrap();
    sockhub(&db, dir.path(), &["user", "role", "boss", "member"], "").await;
    sockhub(&db, dir.path(), &["user", "role", "deputy", "member"], "").await;

    for request in [json!({"type": "kick", "name": "bob"}), json!({"type": "mute", "name": "bob"})] {
        boss.send_json(request.clone()).await;
        assert_eq!(boss.json_of("error").await["code"], "forbidden", "{request} over TCP");
        deputy.send(request.clone()).await;
        assert_eq!(deputy.json_of("error").await["code"], "forbidden", "{request} over WebSocket");
    }
    let kick = json!({"action": "kick", "name": "bob"});
    let auth = [("Cookie", cookie.as_str()), CSRF];
    let (status, _, body) = request(web, "POST", "/api/moderation", &auth, Some(&kick)).await;
    assert_eq!(status, 403, "{body}");
    // Bob is still there, and not muted.
    bob.send_json(json!({"type": "say", "text": "still here"})).await;
    bob.send_json(json!({"type": "who"})).await;
    let users: Value = bob.json_of("users").await;
    assert!(users["names"].as_array().unwrap().contains(&json!("bob")), "{users}");
    assert_eq!(boss.json_of("message").await["text"], "still here");
    server.stop().await;
    db.cleanup().await;
}

async fn me(web: SocketAddr, cookie: &str) -> u16 {
    request(web, "GET", "/api/me", &[("Cookie", cookie)], None).await.0
}

#[tokio::test]
async fn a_password_reset_ends_the_accounts_web_sessions() {
    let db = Db::with_account(&backends()[0], "boss", PASSWORD, Role::Admin).await;
    add_account(&db.store, "deputy", PASSWORD, Role::Member).await;
    let server = db.server(|_| {}).await;
    let web = server.web();
    let boss = login_cookie(web, "boss", PASSWORD).await;
    let deputy = [login_cookie(web, "deputy", PASSWORD).await, login_cookie(web, "deputy", PASSWORD).await];
    assert_eq!(me(web, &deputy[0]).await, 200);

    // From the command line, another process: every session of deputy ends, boss's does not.
    let dir = tempfile::tempdir().unwrap();
    sockhub(&db, dir.path(), &["user", "passwd", "deputy"], "second-password-7\n").await;
    for cookie in &deputy {
        assert_eq!(me(web, cookie).await, 401);
    }
    assert_eq!(me(web, &boss).await, 200);

    // From the page: the same.
    let deputy = login_cookie(web, "deputy", "second-password-7").await;
    let auth = [("Cookie", boss.as_str()), CSRF];
    let reset = json!({"password": "third-password-9"});
    let (status, _, body) = request(web, "PATCH", "/api/accounts/deputy", &auth, Some(&reset)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(me(web, &deputy).await, 401);

    // An admin who changes their own password stays logged in here, and nowhere else.
    let elsewhere = login_cookie(web, "boss", PASSWORD).await;
    let (status, _, body) = request(web, "PATCH", "/api/accounts/boss", &auth, Some(&reset)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(me(web, &boss).await, 200);
    assert_eq!(me(web, &elsewhere).await, 401);
    server.stop().await;
    db.cleanup().await;
}

#[tokio::test]
async fn a_web_session_ends_at_its_absolute_lifetime_however_busy() {
    let db = Db::with_account(&backends()[0], "boss", PASSWORD, Role::Admin).await;
    let server = db.server(|c| c.web.session_max_lifetime_secs = 2).await;
    let web = server.web();
    let logged_in = Instant::now();
    let cookie = login_cookie(web, "boss", PASSWORD).await;
    assert_eq!(me(web, &cookie).await, 200);
    // Used all the time (every 50 ms), so the idle ttl never ends it; the lifetime does.
    eventually("the session to end", || async { (me(web, &cookie).await == 401).then_some(()) }).await;
    let lasted = logged_in.elapsed();
    assert!(lasted.as_secs_f64() >= 2.0, "it ended after {lasted:?}, before its lifetime");
    server.stop().await;
    db.cleanup().await;
}

/// Behind a TLS-terminating proxy the web port is plain HTTP: the cookie is still `Secure` and
/// HSTS is sent when a trusted proxy says the client came over HTTPS — and only then.
#[tokio::test]
async fn x_forwarded_proto_from_a_trusted_proxy_makes_the_cookie_secure() {
    let db = Db::with_account(&backends()[0], "boss", PASSWORD, Role::Admin).await;
    let server = db.server(|c| c.web.trusted_proxies = vec!["127.0.0.1".into()]).await;
    let web = server.web();
    let body = json!({"name": "boss", "password": PASSWORD});
    let login = async |from: IpAddr, proto: &str| {
        let headers = [CSRF, ("X-Forwarded-Proto", proto)];
        let (status, head, _) =
            request(Target::from(from, web), "POST", "/api/login", &headers, Some(&body)).await;
        assert_eq!(status, 200, "{head}");
        let head = head.to_ascii_lowercase();
        let cookie = head.lines().find(|l| l.starts_with("set-cookie:")).unwrap_or_default().to_owned();
        (cookie.contains("; secure"), head.contains("strict-transport-security"))
    };
    assert_eq!(login(HOME, "https").await, (true, true), "through the trusted proxy, over HTTPS");
    assert_eq!(login(HOME, "http").await, (false, false), "through the trusted proxy, over HTTP");
    assert_eq!(login(ELSEWHERE, "https").await, (false, false), "anyone else's header is ignored");
    server.stop().await;
    db.cleanup().await;
}
