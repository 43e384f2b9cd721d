//! Web logins, and the guard against forged requests.
//!
//! **Sessions are kept on the server.** `POST /api/login` checks the name and password with the
//! same [`Authenticator`](sockhub_server::auth::Authenticator) as every service (service name
//! `web`, so failed attempts are throttled per address and per account and every attempt is in
//! the login log) and creates a session under a random 256-bit token. The browser holds only the
//! token, in a cookie that is `HttpOnly` (no script can read it), `SameSite=Strict` (no other
//! site's page can send it) and `Path=/`, with no expiry of its own (it goes when the browser
//! closes). The table is bounded (`[web] max_sessions`; when full, the session unused longest is
//! dropped) and each session expires after `[web] session_ttl_secs` without use, and after
//! `[web] session_max_lifetime_secs` however much it is used (a stolen cookie does not last for
//! ever). Logging out, or a restart of the server, ends it. Server-side sessions were chosen over
//! signed cookies so that logout, removal of an account and a change of role take effect at once.
//!
//! **The account is read on every request**, from the database: an admin demoted or removed
//! (from the page or with `sockhub user`, another process) loses access with the next request,
//! and a session whose account's password has changed since it began (its
//! [`PasswordStamp`] differs) is ended, so a password reset logs out whoever had the old one.
//!
//! **The client's address** is the TCP peer, or, when the peer is one of `[web] trusted_proxies`,
//! what its `X-Forwarded-For` says ([`ClientAddr`]); the login throttle, the login log and
//! WebSocket sessions all see that address.
//!
//! **Bans.** A banned user cannot log in (the authenticator refuses with `banned`), and a web
//! login that is banned later ends at its next request, which gets `banned` (403).
//!
//! **CSRF.** Besides `SameSite=Strict`, every state-changing request (anything but GET, HEAD and
//! OPTIONS) under `/api/` must carry the header `X-Sockhub-Request: 1`, which a form on another
//! site cannot send and a cross-site script cannot send without a CORS preflight this server
//! never approves, and, when the browser names an `Origin` (or `Sec-Fetch-Site`), it must be this
//! server's own (or one of `[web] allowed_origins`). Failures get `403 csrf_rejected`.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::Response;
use parking_lot::Mutex;
use rand::RngCore;
use sockhub_server::auth::PasswordStamp;
use sockhub_server::config::WebConfig;
use sockhub_server::net::cidr::Cidr;
use sockhub_store::Role;
use tokio::time::Instant;

use crate::{ApiError, WebState};

/// The session cookie's name.
pub const COOKIE: &str = "sockhub_session";
/// The header every state-changing API request must carry (value `1`).
pub const REQUEST_HEADER: &str = "x-sockhub-request";

/// One web login.
#[derive(Debug, Clone)]
struct Entry {
    name: String,
    /// The password it logged in with: a session outlives no password change.
    stamp: PasswordStamp,
    created: Instant,
    last_used: Instant,
}

/// A live web login, as [`Sessions::get`] returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    pub name: String,
    pub stamp: PasswordStamp,
}

/// The table of web logins.
pub struct Sessions {
    table: Mutex<HashMap<String, Entry>>,
    ttl: Duration,
    max_lifetime: Duration,
    max: usize,
}

impl Sessions {
    pub fn new(config: &WebConfig) -> Self {
        Sessions {
            table: Mutex::new(HashMap::new()),
            ttl: Duration::from_secs(config.session_ttl_secs),
            max_lifetime: Duration::from_secs(config.session_max_lifetime_secs),
            max: config.max_sessions.max(1),
        }
    }

    /// Start a session for `name`, who logged in with the password `stamp` names; returns its
    /// token.
    pub fn create(&self, name: &str, stamp: PasswordStamp) -> String {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let now = Instant::now();
        let mut table = self.table.lock();
        if table.len() >= self.max {
            table.retain(|_, e| self.alive(e, now));
        }
        if table.len() >= self.max
            && let Some(oldest) = table.iter().min_by_key(|(_, e)| e.last_used).map(|(k, _)| k.clone())
        {
            table.remove(&oldest);
        }
        let entry = Entry { name: name.to_owned(), stamp, created: now, last_used: now };
        table.insert(token.clone(), entry);
        token
    }

    /// The session under `token`, renewed, unless it has expired (unused for the idle ttl, or
    /// older than the absolute lifetime).
    pub fn get(&self, token: &str) -> Option<SessionInfo> {
        let now = Instant::now();
        let mut table = self.table.lock();
        let entry = table.get_mut(token)?;
        if !self.alive(entry, now) {
            table.remove(token);
            return None;
        }
        entry.last_used = now;
        Some(SessionInfo { name: entry.name.clone(), stamp: entry.stamp })
    }

    /// Give the session under `token` a new password stamp (its holder changed their own
    /// password, and stays logged in).
    pub fn restamp(&self, token: &str, stamp: PasswordStamp) {
        if let Some(entry) = self.table.lock().get_mut(token) {
            entry.stamp = stamp;
        }
    }

    fn alive(&self, e: &Entry, now: Instant) -> bool {
        now.duration_since(e.last_used) < self.ttl && now.duration_since(e.created) < self.max_lifetime
    }

    /// End one session.
    pub fn remove(&self, token: &str) {
        self.table.lock().remove(token);
    }

    /// End every session of `name` (its account was removed).
    pub fn remove_user(&self, name: &str) {
        let key = sockhub_store::name_key(name);
        self.table.lock().retain(|_, e| sockhub_store::name_key(&e.name) != key);
    }

    /// Sessions held now.
    pub fn len(&self) -> usize {
        self.table.lock().len()
    }

    /// True when no one is logged in.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The `Set-Cookie` value that starts a session.
pub fn session_cookie(token: &str, config: &WebConfig) -> HeaderValue {
    let secure = if config.secure_cookie { "; Secure" } else { "" };
    HeaderValue::from_str(&format!("{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict{secure}"))
        .expect("a hex token is a valid header value")
}

/// The `Set-Cookie` value that ends a session.
pub fn cleared_cookie() -> HeaderValue {
    HeaderValue::from_static("sockhub_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")
}

/// The session token in the request's cookies, if any.
pub fn token(headers: &HeaderMap) -> Option<String> {
    headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).find_map(|cookies| {
        cookies.split(';').find_map(|c| {
            let (name, value) = c.trim().split_once('=')?;
            (name == COOKIE && !value.is_empty()).then(|| value.to_owned())
        })
    })
}

/// The client's address: the TCP peer, unless the peer is a trusted proxy (`[web]
/// trusted_proxies`), when it is the address its `X-Forwarded-For` names (see [`client_addr`]).
/// `0.0.0.0:0` when the app runs without a socket, in tests. Every handler that needs to know who
/// is calling (the login throttle and log, WebSocket sessions, limits) takes this extractor.
pub struct ClientAddr(pub SocketAddr);

impl FromRequestParts<WebState> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &WebState) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0)
            .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)));
        Ok(ClientAddr(client_addr(peer, &parts.headers, &state.trusted_proxies)))
    }
}

/// Most `X-Forwarded-For` hops looked at: more than any real chain of proxies.
const MAX_FORWARDED_HOPS: usize = 16;

/// Who is on the other end of a request from `peer`. A peer that is not a trusted proxy is the
/// client, whatever its headers say (anyone can send `X-Forwarded-For`). From a trusted proxy,
/// the hops in `X-Forwarded-For` (each proxy appends the address it received the request from)
/// are read from the last: the first one that is not itself a trusted proxy is the client. A
/// malformed hop ends the walk at the last address known to be good. The forwarded address has
/// no port (`:0`) unless the hop names one.
pub fn client_addr(peer: SocketAddr, headers: &HeaderMap, trusted: &[Cidr]) -> SocketAddr {
    if !Cidr::any_contains(trusted, peer.ip()) {
        return peer;
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev().take(MAX_FORWARDED_HOPS) {
        let Some(addr) = parse_hop(hop) else { break };
        client = addr;
        if !Cidr::any_contains(trusted, addr.ip()) {
            break;
        }
    }
    client
}

/// One `X-Forwarded-For` entry: `203.0.113.7`, `2001:db8::1`, `[2001:db8::1]:443` or
/// `203.0.113.7:5123`.
fn parse_hop(hop: &str) -> Option<SocketAddr> {
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(SocketAddr::new(ip.to_canonical(), 0));
    }
    hop.parse::<SocketAddr>().ok().map(|a| SocketAddr::new(a.ip().to_canonical(), a.port()))
}

/// A request from someone logged in on the web (any role).
#[derive(Debug, Clone)]
pub struct Member {
    pub name: String,
    pub role: Role,
    pub token: String,
}

impl FromRequestParts<WebState> for Member {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &WebState) -> Result<Self, ApiError> {
        let token = token(&parts.headers).ok_or(ApiError::NotLoggedIn)?;
        let session = state.sessions.get(&token).ok_or(ApiError::NotLoggedIn)?;
        // The account as it is now: removed, or its password changed since this login, ends the
        // session; the role is the current one. A ban (of the account, or of the address the
        // request comes from) ends it too.
        match state.hub.store.accounts().find(&session.name).await? {
            Some(account) if PasswordStamp::of(&account.password_hash) == session.stamp => {
                let ClientAddr(addr) =
                    ClientAddr::from_request_parts(parts, state).await.unwrap_or_else(|e| match e {});
                let admin = account.role == Role::Admin;
                if let Some(e) = state.hub.auth.bans().refusal(&account.name, addr.ip(), admin) {
                    state.sessions.remove(&token);
                    return Err(ApiError::Service(e));
                }
                Ok(Member { name: account.name, role: account.role, token })
            }
            _ => {
                state.sessions.remove(&token);
                Err(ApiError::NotLoggedIn)
            }
        }
    }
}

/// A request from a logged-in admin; the role is checked against the database every time.
#[derive(Debug, Clone)]
pub struct Admin {
    pub name: String,
    /// The session's token (to keep it when the admin changes their own password).
    pub token: String,
}

impl FromRequestParts<WebState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &WebState) -> Result<Self, ApiError> {
        let member = Member::from_request_parts(parts, state).await?;
        match member.role {
            Role::Admin => Ok(Admin { name: member.name, token: member.token }),
            _ => Err(ApiError::Forbidden),
        }
    }
}

/// Middleware for `/api/`: refuse state-changing requests that did not come from our own page.
pub async fn csrf_guard(
    State(state): State<WebState>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    if !matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        check_same_site(request.headers(), state.config())?;
    }
    Ok(next.run(request).await)
}

fn check_same_site(headers: &HeaderMap, config: &WebConfig) -> Result<(), ApiError> {
    let value = |name| headers.get(name).and_then(|v: &HeaderValue| v.to_str().ok());
    if value(REQUEST_HEADER) != Some("1") {
        return Err(ApiError::Csrf);
    }
    if let Some(site) = value("sec-fetch-site")
        && !matches!(site, "same-origin" | "none")
    {
        return Err(ApiError::Csrf);
    }
    if let Some(origin) = value("origin") {
        let host = value("host").unwrap_or_default();
        let own = [format!("http://{host}"), format!("https://{host}")];
        if !own.iter().any(|o| o == origin) && !config.allowed_origins.iter().any(|o| o == origin) {
            return Err(ApiError::Csrf);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(max: usize) -> WebConfig {
        WebConfig {
            max_sessions: max,
            session_ttl_secs: 60,
            session_max_lifetime_secs: 1000,
            ..WebConfig::default()
        }
    }

    fn stamp() -> PasswordStamp {
        PasswordStamp::of("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA")
    }

    #[tokio::test(start_paused = true)]
    async fn sessions_expire_unless_used_and_the_table_is_bounded() {
        let s = Sessions::new(&config(2));
        let a = s.create("a", stamp());
        tokio::time::advance(Duration::from_secs(40)).await;
        assert!(s.get(&a).is_some(), "used after 40 s: renewed");
        tokio::time::advance(Duration::from_secs(40)).await;
        assert!(s.get(&a).is_some(), "40 s after the last use");
        tokio::time::advance(Duration::from_secs(61)).await;
        assert!(s.get(&a).is_none(), "unused for longer than the ttl");

        let b = s.create("b", stamp());
        tokio::time::advance(Duration::from_secs(1)).await;
        let c = s.create("c", stamp());
        tokio::time::advance(Duration::from_secs(1)).await;
        let d = s.create("d", stamp());
        assert_eq!(s.len(), 2);
        assert!(s.get(&b).is_none(), "the one unused longest went");
        assert!(s.get(&c).is_some() && s.get(&d).is_some());
        assert_ne!(c, d);
        assert_eq!(c.len(), 64);
    }

    #[tokio::test(start_paused = true)]
    async fn a_session_in_constant_use_still_ends_at_its_lifetime() {
        let s = Sessions::new(&config(10));
        let a = s.create("a", stamp());
        for _ in 0..33 {
            tokio::time::advance(Duration::from_secs(30)).await;
            assert_eq!(s.get(&a), Some(SessionInfo { name: "a".into(), stamp: stamp() }));
        }
        tokio::time::advance(Duration::from_secs(10)).await;
        assert!(s.get(&a).is_none(), "1000 s after it began, however busy");
        assert!(s.is_empty());
    }

    #[test]
    fn forwarded_for_counts_only_from_trusted_proxies() {
        let trusted: Vec<Cidr> = ["127.0.0.1", "10.0.0.0/8"].iter().map(|c| c.parse().unwrap()).collect();
        let xff = |values: &[&'static str]| {
            let mut h = HeaderMap::new();
            for v in values {
                h.append("x-forwarded-for", HeaderValue::from_static(v));
            }
            h
        };
        let at = |peer: &str, h: &HeaderMap| client_addr(peer.parse().unwrap(), h, &trusted).to_string();
        assert_eq!(at("192.0.2.9:4000", &xff(&["203.0.113.5"])), "192.0.2.9:4000", "an untrusted peer");
        assert_eq!(at("127.0.0.1:4000", &xff(&[])), "127.0.0.1:4000", "a proxy that says nothing");
        assert_eq!(at("127.0.0.1:4000", &xff(&["203.0.113.5"])), "203.0.113.5:0");
        // The client forged a first hop; the proxy appended the real one.
        assert_eq!(at("127.0.0.1:4000", &xff(&["6.6.6.6, 203.0.113.5"])), "203.0.113.5:0");
        // Two proxies (10.1.1.1 in front of 127.0.0.1), over two header lines.
        assert_eq!(at("127.0.0.1:4000", &xff(&["203.0.113.5", "10.1.1.1"])), "203.0.113.5:0");
        assert_eq!(at("[::ffff:127.0.0.1]:4000", &xff(&["[2001:db8::7]:443"])), "[2001:db8::7]:443");
        // Garbage stops the walk at the last good address.
        assert_eq!(at("127.0.0.1:4000", &xff(&["203.0.113.5, 10.1.1.1, nonsense"])), "127.0.0.1:4000");
        assert_eq!(at("127.0.0.1:4000", &xff(&["nonsense, 10.1.1.1"])), "10.1.1.1:0");
    }

    #[test]
    fn the_token_is_read_from_among_other_cookies() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_static("theme=dark; sockhub_session=abc; x=1"));
        assert_eq!(token(&h).as_deref(), Some("abc"));
        h.insert(header::COOKIE, HeaderValue::from_static("sockhub_session="));
        assert_eq!(token(&h), None);
    }

    #[test]
    fn same_site_checks() {
        let c =
            WebConfig { allowed_origins: vec!["https://chat.example.org".into()], ..WebConfig::default() };
        let headers = |pairs: &[(&'static str, &'static str)]| {
            let mut h = HeaderMap::new();
            for (k, v) in pairs {
                h.insert(*k, HeaderValue::from_static(v));
            }
            h
        };
        let ok = |pairs| check_same_site(&headers(pairs), &c).is_ok();
        assert!(ok(&[(REQUEST_HEADER, "1")]), "a non-browser client with the header");
        assert!(!ok(&[]), "no header");
        assert!(ok(&[
            (REQUEST_HEADER, "1"),
            ("host", "127.0.0.1:8080"),
            ("origin", "http://127.0.0.1:8080")
        ]));
        assert!(!ok(&[(REQUEST_HEADER, "1"), ("host", "127.0.0.1:8080"), ("origin", "http://evil.example")]));
        assert!(ok(&[(REQUEST_HEADER, "1"), ("host", "10.1.1.1"), ("origin", "https://chat.example.org")]));
        assert!(!ok(&[(REQUEST_HEADER, "1"), ("sec-fetch-site", "cross-site")]));
        assert!(ok(&[(REQUEST_HEADER, "1"), ("sec-fetch-site", "same-origin")]));
    }
}
