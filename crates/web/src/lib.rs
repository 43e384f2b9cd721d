//! sockhub's web page and its server side.
//!
//! One axum application on `[web] port` (and on `tls_port` over HTTPS) serves everything a browser needs: the page itself (plain
//! HTML, CSS and JavaScript modules embedded in the binary, [`assets`]), the WebSocket endpoints
//! `/ws/chat`, `/ws/quiz`, `/ws/calc` that carry the services' JSON messages to the *same*
//! sessions TCP clients use ([`ws`]), an HTTP API under `/api/` for what is not a live session
//! ([`api`]), and `/healthz` and `/metrics` for operators ([`ops`]).
//!
//! Map of the crate:
//! - [`app`]: the router, testable with `tower::ServiceExt::oneshot`; [`attach`] adds it to a
//!   [`Server`] so that `sockhub serve`, its ready file, SIGTERM and the tests' servers include it.
//! - [`http`]: the accept loops of both ports: TLS, HTTP/1.1 and HTTP/2, header and idle
//!   timeouts, the connection limit, HSTS and `Secure` cookies over HTTPS, the redirect to HTTPS.
//! - [`ws`]: the WebSocket transport, a thin [`Output`](sockhub_server::net::connection::Output)
//!   and input stream for the shared connection driver.
//! - [`auth`]: web logins (server-side sessions behind an `HttpOnly`, `SameSite=Strict` cookie),
//!   the CSRF guard, and the `Member` / `Admin` extractors.
//! - [`api`]: the JSON endpoints; [`error`]: their error type, with the protocol's stable codes.
//! - [`ops`]: health and Prometheus metrics; [`flow`]: the relay's records per minute.

pub mod api;
pub mod assets;
pub mod auth;
pub mod error;
pub mod flow;
pub mod http;
pub mod lang;
pub mod ops;
pub mod ws;

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use sockhub_server::app::AcceptLoop;
use sockhub_server::net::cidr::Cidr;
use sockhub_server::net::listener::{self, NetContext};
use sockhub_server::{Hub, Server, StartError};
use tokio::net::TcpListener;

pub use error::ApiError;

/// Largest HTTP request body the API reads (account forms, moderation actions).
const MAX_BODY_BYTES: usize = 64 * 1024;

/// What every handler shares: the server's hub and the web logins.
#[derive(Clone)]
pub struct WebState {
    pub hub: Hub,
    pub sessions: Arc<auth::Sessions>,
    pub rates: Arc<ops::Rates>,
    /// The relay's records per minute, for the review screen's chart.
    pub flow: Arc<flow::FlowChart>,
    pub started: Instant,
    /// `[web] trusted_proxies`, read once: whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Arc<[Cidr]>,
}

impl WebState {
    pub fn new(hub: Hub) -> Self {
        let sessions = Arc::new(auth::Sessions::new(&hub.config.web));
        // Validated with the rest of the configuration; nothing is left out here.
        let trusted_proxies = hub.config.web.proxy_ranges().unwrap_or_default().into();
        WebState {
            hub,
            sessions,
            rates: Arc::default(),
            flow: Arc::default(),
            started: Instant::now(),
            trusted_proxies,
        }
    }

    /// The `[web]` section.
    pub fn config(&self) -> &sockhub_server::config::WebConfig {
        &self.hub.config.web
    }
}

/// The whole web application.
pub fn app(state: WebState) -> Router {
    Router::new()
        .merge(assets::routes())
        .merge(ws::routes())
        .nest("/api", api::routes(state.clone()))
        .route("/healthz", get(ops::healthz))
        .route("/metrics", get(ops::metrics))
        .fallback(|| async { ApiError::NotFound("no such page".into()) })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

/// Bind `[web] port` (when the section is enabled), and `tls_port` when set, and add the web
/// server to `server`, so it is served, listed in `addrs()` as `web` (and `web-tls`) and shut
/// down with everything else.
pub fn attach(server: &mut Server) -> Result<(), StartError> {
    let hub = server.hub().clone();
    let web = &hub.config.web;
    if !web.enabled {
        return Ok(());
    }
    let bind = |port: u16, service: &'static str| {
        let addr = hub.config.listen_addr(port);
        listener::bind(addr).map_err(|source| StartError::Bind { service, addr, source })
    };
    let limits = http::HttpLimits::new(web);
    let state = WebState::new(hub.clone());
    let application = app(state.clone());
    // `[tls] plain_ports = false` leaves the plain port closed, unless it is to redirect.
    let plain = web.tls_port.is_none() || hub.config.tls.plain_ports || web.redirect_http;
    // The once-a-second sampling behind the rates and the relay chart runs with the first port.
    let mut sampler = Some(state);
    if let Some(tls_port) = web.tls_port {
        let Some(tls) = hub.tls.clone() else {
            return Err(StartError::Tls(sockhub_tls::TlsError::Config(
                "web.tls_port needs [tls] cert and key".into(),
            )));
        };
        let bound = bind(tls_port, "web-tls")?;
        // The plain port redirects to the port actually bound (tls_port 0 picks one).
        let https_port = bound.local_addr().map_or(tls_port, |a| a.port());
        let site = http::Site {
            app: application.clone(),
            scheme: http::Scheme::Https,
            tls: Some(tls),
            limits: Arc::clone(&limits),
        };
        add_site(server, "web-tls", bound, site, if plain { None } else { sampler.take() });
        if web.redirect_http {
            let site = http::Site {
                app: http::redirect_to_https(https_port),
                scheme: http::Scheme::Http,
                tls: None,
                limits: Arc::clone(&limits),
            };
            add_site(server, "web", bind(web.port, "web")?, site, sampler.take());
            return Ok(());
        }
    }
    if plain {
        let site = http::Site { app: application, scheme: http::Scheme::Http, tls: None, limits };
        add_site(server, "web", bind(web.port, "web")?, site, sampler.take());
    }
    Ok(())
}

/// Serve `site` on `bound` as `name`; with `sampler`, this port's loop also starts the sampling.
fn add_site(
    server: &mut Server,
    name: &'static str,
    bound: TcpListener,
    site: http::Site,
    sampler: Option<WebState>,
) {
    let serve: AcceptLoop = Box::new(move |listener, net: NetContext| {
        if let Some(state) = sampler {
            net.tracker.spawn(sample_rates(state, net.shutdown.clone()));
        }
        Box::pin(http::accept_loop(listener, site, net))
    });
    server.add_listener(name, bound, serve);
}

/// Once a second, sample the message counters (for `sockhub_messages_per_second`) and the
/// relay's counters (for its records-per-minute chart).
async fn sample_rates(state: WebState, shutdown: tokio_util::sync::CancellationToken) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {
                state.rates.sample(&state.hub);
                if let Some(relay) = &state.hub.relay {
                    state.flow.sample(chrono::Utc::now().timestamp_millis(), flow::totals(&relay.status()));
                }
            }
        }
    }
}
