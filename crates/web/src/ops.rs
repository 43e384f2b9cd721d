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
//! writer) answers 503. `/metrics` is the Prometheus text format: every service's
//! connection and message counters (from the server's metrics registry), messages per second over
//! the last ten seconds, the log writer's and the calculator's queue depths, the log writer's lag
//! and health, the relay's records by state, lag and link, web logins, and the
//! process's resident memory.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use parking_lot::Mutex;
use sockhub_server::service::relay::RelayRole;
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
    let mut out = hub.metrics.render_prometheus();
    let mut family = |name: &str, kind: &str, help: &str, samples: &[(String, f64)]| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (labels, value) in samples {
            let _ = writeln!(out, "{name}{labels} {value}");
        }
    };
    let rates: Vec<(String, f64)> =
        state.rates.per_second().into_iter().map(|(s, r)| (format!("{{service=\"{s}\"}}"), r)).collect();
    family(
        "sockhub_messages_per_second",
        "gauge",
        "Messages received per second, averaged over the last 10 s.",
        &rates,
    );
    let w = hub.journal.stats();
    let one = |v: f64| [(String::new(), v)];
    family("sockhub_log_queue_depth", "gauge", "Log records waiting for the database.", &one(w.depth as f64));
    family("sockhub_log_queue_capacity", "gauge", "The log queue's bound.", &one(w.capacity as f64));
    family(
        "sockhub_log_writer_lag_seconds",
        "gauge",
        "How long the oldest unwritten log record has waited.",
        &one(w.lag.as_secs_f64()),
    );
    family(
        "sockhub_log_writer_healthy",
        "gauge",
        "1 if the log writer's last write succeeded.",
        &one(if w.healthy { 1.0 } else { 0.0 }),
    );
    family("sockhub_log_records_written_total", "counter", "Log records written.", &one(w.written as f64));
    family(
        "sockhub_log_write_failures_total",
        "counter",
        "Failed log write attempts (each retried).",
        &one(w.failed_attempts as f64),
    );
    if let Some(calc) = &hub.calc {
        let stats = calc.commit_stats();
        let load = |c: &std::sync::atomic::AtomicU64| c.load(std::sync::atomic::Ordering::Relaxed) as f64;
        family(
            "sockhub_calc_commit_queue_depth",
            "gauge",
            "Calculator results waiting to be stored.",
            &one(calc.commit_queue_depth() as f64),
        );
        family(
            "sockhub_calc_results_committed_total",
            "counter",
            "Calculator results stored.",
            &one(load(&stats.committed)),
        );
        family(
            "sockhub_calc_commit_failures_total",
            "counter",
            "Calculator results whose commit failed.",
            &one(load(&stats.failed)),
        );
    }
    if let Some(relay) = &hub.relay {
        let st = relay.status();
        let sum = |f: fn(&sockhub_store::RelaySource) -> i64| st.sources.iter().map(f).sum::<i64>() as f64;
        let by_state: Vec<(String, f64)> = [
            ("received", sum(|s| s.received)),
            ("kept", sum(|s| s.kept)),
            ("queued", sum(|s| s.queued)),
            ("forwarded", sum(|s| s.forwarded)),
            ("held", sum(|s| s.held)),
            ("missing", sum(|s| s.missing)),
            ("stored", sum(|s| s.stored)),
            ("pruned", sum(|s| s.pruned)),
        ]
        .into_iter()
        .map(|(state, v)| (format!("{{state=\"{state}\"}}"), v))
        .collect();
        family(
            "sockhub_relay_records",
            "gauge",
            "Relay records by state, every source (received counts them all).",
            &by_state,
        );
        family(
            "sockhub_relay_seq_conflicts_total",
            "counter",
            "Relay records refused with seq_conflict (their seq was stored with another payload), every source.",
            &one(sum(|s| s.conflicts)),
        );
        family(
            "sockhub_relay_lag_seconds",
            "gauge",
            "Age of the oldest record not yet acknowledged downstream.",
            &one(st.lag_ms as f64 / 1000.0),
        );
        family(
            "sockhub_relay_pending_bytes",
            "gauge",
            "Payload bytes not yet delivered downstream.",
            &one(st.pending_bytes as f64),
        );
        family(
            "sockhub_relay_backpressure",
            "gauge",
            "1 while devices are not acknowledged because the quota is reached.",
            &one(if st.backpressure { 1.0 } else { 0.0 }),
        );
        family(
            "sockhub_relay_downstream_up",
            "gauge",
            "1 while the link to downstream is connected (or this node is a sink, or stands by in a cluster).",
            &one(if st.link.state.is_up() { 1.0 } else { 0.0 }),
        );
        family(
            "sockhub_relay_forwarding",
            "gauge",
            "1 while this node is the one that forwards downstream (in a cluster, one node at a time).",
            &one(if st.role == RelayRole::Forwarder { 1.0 } else { 0.0 }),
        );
        family(
            "sockhub_relay_reconnects_total",
            "counter",
            "Reconnections to downstream.",
            &one(st.link.reconnects as f64),
        );
    }
    family("sockhub_web_sessions", "gauge", "Web logins held.", &one(state.sessions.len() as f64));
    let auth = &state.hub.auth;
    let a = auth.metrics();
    for (name, kind, help, value) in [
        ("sockhub_auth_hashes_in_flight", "gauge", "Password checks running now.", a.hashes_in_flight.get()),
        (
            "sockhub_auth_hashes_in_flight_max",
            "gauge",
            "The most password checks that ever ran at once.",
            a.hashes_in_flight_max.get(),
        ),
        (
            "sockhub_auth_hash_permits",
            "gauge",
            "Password checks allowed at once ([auth] max_concurrent_hashes).",
            auth.hash_permits() as i64,
        ),
        (
            "sockhub_auth_password_checks_total",
            "counter",
            "Passwords checked.",
            a.password_checks.get() as i64,
        ),
        (
            "sockhub_auth_throttled_total",
            "counter",
            "Login attempts refused with too_many_attempts.",
            a.throttled.get() as i64,
        ),
        (
            "sockhub_auth_hash_timeouts_total",
            "counter",
            "Logins told to retry because no password check came free within [auth] hash_wait_ms.",
            a.hash_timeouts.get() as i64,
        ),
    ] {
        family(name, kind, help, &one(value as f64));
    }
    if let Some(rss) = resident_memory_bytes() {
        family(
            "process_resident_memory_bytes",
            "gauge",
            "Resident memory of the server process.",
            &one(rss as f64),
        );
    }
    family(
        "sockhub_uptime_seconds",
        "gauge",
        "Seconds since the web server started.",
        &one(state.started.elapsed().as_secs_f64()),
    );
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], out)
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
