//! sockhub's web page and its server side.
//!
//! One axum server on `[web] port` serves everything a browser needs: the page itself (plain
//! HTML, CSS and JavaScript modules embedded in the binary, [`assets`]), the WebSocket endpoints
//! `/ws/chat`, `/ws/quiz`, `/ws/calc` that carry the services' JSON messages to the *same*
//! sessions TCP clients use ([`ws`]), an HTTP API under `/api/` for what is not a live session
//! ([`api`]), and `/healthz` and `/metrics` for operators ([`ops`]).
//!
//! Map of the crate:
//! - [`app`]: the router, testable with `tower::ServiceExt::oneshot`; [`attach`] adds it to a
//!   [`Server`] so that `sockhub serve`, its ready file, SIGTERM and the tests' servers include it.
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
pub mod ops;
pub mod ws;

use std::net::SocketAddr;
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
use tracing::warn;

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

/// Bind `[web] port` (when the section is enabled) and add the web server to `server`, so it is
/// served, listed in `addrs()` as `web` and shut down with everything else.
pub fn attach(server: &mut Server) -> Result<(), StartError> {
    let hub = server.hub().clone();
    if !hub.config.web.enabled {
        return Ok(());
    }
    let addr = hub.config.listen_addr(hub.config.web.port);
    let bound = listener::bind(addr).map_err(|source| StartError::Bind { service: "web", addr, source })?;
    let state = WebState::new(hub);
    let serve: AcceptLoop = Box::new(move |listener, net| Box::pin(serve(listener, state, net)));
    server.add_listener("web", bound, serve);
    Ok(())
}

/// Serve HTTP until shutdown. Idle keep-alive connections are closed then; WebSocket sessions
/// run on the server's task tracker and end through the connection driver's shutdown path.
async fn serve(listener: TcpListener, state: WebState, net: NetContext) {
    use axum::serve::ListenerExt;
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    net.tracker.spawn(sample_rates(state.clone(), net.shutdown.clone()));
    let app = app(state).into_make_service_with_connect_info::<SocketAddr>();
    let shutdown = net.shutdown.clone();
    if let Err(e) =
        axum::serve(listener, app).with_graceful_shutdown(async move { shutdown.cancelled().await }).await
    {
        warn!(error = %e, "the web server stopped with an error");
    }
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
