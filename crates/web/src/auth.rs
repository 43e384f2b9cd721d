//! Web logins, and the guard against forged requests.
//!
//! **Sessions are kept on the server.** `POST /api/login` checks the name and password with the
//! same [`Authenticator`](sockhub_server::auth::Authenticator) as every service (service name
//! `web`, so failed attempts are throttled per address and per account and every attempt is in
//! the login log) and creates a session under a random 256-bit token. The browser holds only the
//! token, in a cookie that is `HttpOnly` (no script can read it), `SameSite=Strict` (no other
//! site's page can send it) and `Path=/`, with no expiry of its own (it goes when the browser
//! closes). The table is bounded (`[web] max_sessions`; when full, the session unused longest is
//! dropped) and each session expires after `[web] session_ttl_secs` without use. Logging out,
//! or a restart of the server, ends it. Server-side sessions were chosen over signed cookies so
//! that logout, removal of an account and a change of role take effect at once.
//!
//! **Admin rights are checked on every request**, against the database: an admin demoted or
//! removed (from the page or with `sockhub user`) loses access with the next request.
//!
//! **CSRF.** Besides `SameSite=Strict`, every state-changing request (anything but GET, HEAD and
//! OPTIONS) under `/api/` must carry the header `X-Sockhub-Request: 1`, which a form on another
//! site cannot send and a cross-site script cannot send without a CORS preflight this server
//! never approves, and, when the browser names an `Origin` (or `Sec-Fetch-Site`), it must be this
//! server's own (or one of `[web] allowed_origins`). Failures get `403 csrf_rejected`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::Response;
use parking_lot::Mutex;
use rand::RngCore;
use sockhub_server::config::WebConfig;
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
    role: Role,
    last_used: Instant,
}

/// The table of web logins.
pub struct Sessions {
    table: Mutex<HashMap<String, Entry>>,
    ttl: Duration,
    max: usize,
}

impl Sessions {
    pub fn new(config: &WebConfig) -> Self {
        Sessions {
            table: Mutex::new(HashMap::new()),
            ttl: Duration::from_secs(config.session_ttl_secs),
            max: config.max_sessions.max(1),
        }
    }

    /// Start a session for `name`; returns its token.
    pub fn create(&self, name: &str, role: Role) -> String {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let now = Instant::now();
        let mut table = self.table.lock();
        if table.len() >= self.max {
            table.retain(|_, e| now.duration_since(e.last_used) < self.ttl);
        }
        if table.len() >= self.max
            && let Some(oldest) = table.iter().min_by_key(|(_, e)| e.last_used).map(|(k, _)| k.clone())
        {
            table.remove(&oldest);
        }
        table.insert(token.clone(), Entry { name: name.to_owned(), role, last_used: now });
        token
    }

    /// The session under `token`, renewed, unless it has expired.
    pub fn get(&self, token: &str) -> Option<(String, Role)> {
        let now = Instant::now();
        let mut table = self.table.lock();
        let entry = table.get_mut(token)?;
        if now.duration_since(entry.last_used) >= self.ttl {
            table.remove(token);
            return None;
        }
        entry.last_used = now;
        Some((entry.name.clone(), entry.role))
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

/// The client's address (the TCP peer; `0.0.0.0:0` when the app runs without a socket, in tests).
pub struct ClientAddr(pub SocketAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let addr = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0)
            .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)));
        Ok(ClientAddr(addr))
    }
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
        let (name, role) = state.sessions.get(&token).ok_or(ApiError::NotLoggedIn)?;
        Ok(Member { name, role, token })
    }
}

/// A request from a logged-in admin; the role is checked against the database every time.
#[derive(Debug, Clone)]
pub struct Admin {
    pub name: String,
}

impl FromRequestParts<WebState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &WebState) -> Result<Self, ApiError> {
        let member = Member::from_request_parts(parts, state).await?;
        match state.hub.store.find_account(&member.name).await? {
            Some(account) if account.is_admin() => Ok(Admin { name: account.name }),
            Some(_) => Err(ApiError::Forbidden),
            None => {
                state.sessions.remove(&member.token);
                Err(ApiError::NotLoggedIn)
            }
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
        WebConfig { max_sessions: max, session_ttl_secs: 60, ..WebConfig::default() }
    }

    #[tokio::test(start_paused = true)]
    async fn sessions_expire_unless_used_and_the_table_is_bounded() {
        let s = Sessions::new(&config(2));
        let a = s.create("a", Role::Admin);
        tokio::time::advance(Duration::from_secs(40)).await;
        assert!(s.get(&a).is_some(), "used after 40 s: renewed");
        tokio::time::advance(Duration::from_secs(40)).await;
        assert!(s.get(&a).is_some(), "40 s after the last use");
        tokio::time::advance(Duration::from_secs(61)).await;
        assert!(s.get(&a).is_none(), "unused for longer than the ttl");

        let b = s.create("b", Role::Member);
        tokio::time::advance(Duration::from_secs(1)).await;
        let c = s.create("c", Role::Member);
        tokio::time::advance(Duration::from_secs(1)).await;
        let d = s.create("d", Role::Member);
        assert_eq!(s.len(), 2);
        assert!(s.get(&b).is_none(), "the one unused longest went");
        assert!(s.get(&c).is_some() && s.get(&d).is_some());
        assert_ne!(c, d);
        assert_eq!(c.len(), 64);
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
