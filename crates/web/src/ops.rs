//! For operators: `GET /healthz` and `GET /metrics`.
//!
//! `/healthz` answers `200 {"status":"ok",...}` while the database answers and the log writer is
//! keeping up, and `503 {"status":"degraded",...}` otherwise, with the reason, so a load balancer
//! or a person can tell at a glance (`reasons` lists what is wrong).
//!
//! On a node of a cluster the body has a `cluster` object (`nats`: `connected` or
//! `disconnected`, `node_id`, `peers`: other nodes heard from). A node that lost NATS reports
//! `degraded` but still answers **200**: it keeps serving its own users, and a load balancer
//! that drained it would disconnect people who are fine — and if NATS itself is down, every node
//! would be drained at once. Only what breaks the node for its own users (the database, the log
//! writer) answers 503. `/metrics` is the Prometheus text format: the server's metrics registry,
//! where every service, the log writer, logins, bans, TLS, retention and the cluster registered
//! their families when they started (this file names none of them), then what only the web server
//! knows: messages per second over the last ten seconds, whether the database answers a ping
//! (`sockhub_database_up`, asked at each scrape), web logins, uptime and the process's resident
//! memory. The alert rules in `ops/prometheus-rules.yml` use these names; a test keeps them in step.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use parking_lot::Mutex;
use prometheus_client::encoding::prometheus_text::CONTENT_TYPE;
use sockhub_server::metrics::{Families, FamilyWriter, Shared, render_once};
use tokio::time::Instant;

use crate::WebState;

/// How long `/healthz` waits for the database to answer a ping.
const PING_TIMEOUT: Duration = Duration::from_secs(2);
/// The window over which messages per second are averaged.
pub const RATE_WINDOW: Duration = Duration::from_secs(10);

pub async fn healthz(State(state): State<WebState>) -> impl IntoResponse {
    let hub = &state.hub;
    let database = match tokio::time::timeout(PING_TIMEOUT, hub.store.ping()).await {
        Ok(Ok(())) => "ok",
        Ok(Err(_)) => "unreachable",
        Err(_) => "timeout",
    };
    let writer = hub.journal.stats();
    let ok = database == "ok" && writer.healthy;
    // In a cluster: NATS lost makes the node `degraded` but keeps 200 (see the module docs).
    let cluster = hub.cluster.as_ref().map(|_| hub.bus.status());
    let nats_lost = cluster.as_ref().is_some_and(|c| !c.connected);
    let mut reasons = Vec::new();
    if database != "ok" {
        reasons.push(format!("database {database}"));
    }
    if !writer.healthy {
        reasons.push("log writer failing".to_owned());
    }
    if nats_lost {
        reasons.push("NATS lost: serving this node's users only".to_owned());
    }
    let services: serde_json::Map<String, serde_json::Value> = hub
        .metrics
        .services()
        .map(|(name, m)| (name.to_owned(), serde_json::json!({"connections": m.connections.get()})))
        .collect();
    let mut body = serde_json::json!({
        "status": if ok && !nats_lost { "ok" } else { "degraded" },
        "reasons": reasons,
        "database": database,
        "log_writer": {
            "healthy": writer.healthy,
            "depth": writer.depth,
            "capacity": writer.capacity,
            "lag_ms": writer.lag.as_millis() as u64,
        },
        "services": services,
        "uptime_secs": state.started.elapsed().as_secs(),
    });
    if let Some(c) = cluster {
        body["cluster"] = serde_json::json!({
            "nats": if c.connected { "connected" } else { "disconnected" },
            "node_id": c.node_id,
            "peers": c.peers.len(),
        });
    }
    let status = if ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(body))
}

pub async fn metrics(State(state): State<WebState>) -> impl IntoResponse {
    let hub = &state.hub;
    // Asked at each scrape, as `/healthz` does, so an alert can tell the database is down.
    let database_up = matches!(tokio::time::timeout(PING_TIMEOUT, hub.store.ping()).await, Ok(Ok(())));
    let mut out = hub.metrics.render_prometheus();
    out.push_str(&render_once(Shared(Arc::new(WebFamilies {
        rates: state.rates.per_second(),
        database_up,
        sessions: state.sessions.len(),
        uptime: state.started.elapsed(),
    }))));
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], out)
}

/// What only the web server knows, read at one scrape.
struct WebFamilies {
    rates: Vec<(&'static str, f64)>,
    database_up: bool,
    sessions: usize,
    uptime: std::time::Duration,
}

impl Families for WebFamilies {
    fn families(&self, out: &mut FamilyWriter<'_>) -> std::fmt::Result {
        out.gauges(
            "sockhub_messages_per_second",
            "Messages received per second, averaged over the last 10 s.",
            "service",
            self.rates.iter().map(|(s, r)| (*s, *r)),
        )?;
        out.gauge(
            "sockhub_database_up",
            "1 if the database answered a ping within 2 s during this scrape.",
            self.database_up,
        )?;
        out.gauge("sockhub_web_sessions", "Web logins held.", self.sessions)?;
        if let Some(rss) = resident_memory_bytes() {
            out.gauge(
                "process_resident_memory_bytes",
                "Resident memory of the server process.",
                i64::try_from(rss).unwrap_or(i64::MAX),
            )?;
        }
        out.gauge(
            "sockhub_uptime_seconds",
            "Seconds since the web server started.",
            self.uptime.as_secs_f64(),
        )
    }
}

/// The process's resident set size, from `/proc/self/status` (Linux; `None` elsewhere).
pub fn resident_memory_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Samples of each service's received-message counter, one per second, for a rate that does
/// not depend on how often `/metrics` is scraped.
#[derive(Default)]
pub struct Rates {
    samples: Mutex<VecDeque<Sample>>,
}

/// Each service's received-message count at one instant.
type Sample = (Instant, Vec<(&'static str, u64)>);

impl Rates {
    /// Record the counters now, keeping one window of samples.
    pub fn sample(&self, hub: &sockhub_server::Hub) {
        let now = Instant::now();
        let counts = hub.metrics.services().map(|(name, m)| (name, m.lines_in.get())).collect();
        let mut samples = self.samples.lock();
        samples.push_back((now, counts));
        while samples.front().is_some_and(|(t, _)| now.duration_since(*t) > RATE_WINDOW) {
            samples.pop_front();
        }
    }

    /// Messages per second for each service over the samples held.
    pub fn per_second(&self) -> Vec<(&'static str, f64)> {
        let samples = self.samples.lock();
        let (Some((t0, first)), Some((t1, last))) = (samples.front(), samples.back()) else {
            return Vec::new();
        };
        let secs = t1.duration_since(*t0).as_secs_f64();
        last.iter()
            .map(|(name, n)| {
                let before = first.iter().find(|(s, _)| s == name).map_or(*n, |(_, c)| *c);
                (*name, if secs > 0.0 { n.saturating_sub(before) as f64 / secs } else { 0.0 })
            })
            .collect()
    }
}
