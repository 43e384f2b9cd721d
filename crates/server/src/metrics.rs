//! Counters and gauges, kept as plain atomics and rendered in the Prometheus text format.
//!
//! Each service owns a [`ServiceMetrics`]; connections and sessions bump its counters. Nothing
//! here locks or allocates on the hot path: a counter is one relaxed atomic add. [`Lateness`] is
//! a histogram of how late something happened after it was due (the quiz's deadlines).

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

/// A monotonically increasing count.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    pub fn inc(&self) {
        self.add(1);
    }
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A value that goes up and down.
#[derive(Debug, Default)]
pub struct Gauge(AtomicI64);

impl Gauge {
    pub fn inc(&self) -> i64 {
        self.0.fetch_add(1, Ordering::Relaxed) + 1
    }
    pub fn dec(&self) -> i64 {
        self.0.fetch_sub(1, Ordering::Relaxed) - 1
    }
    pub fn set(&self, v: i64) {
        self.0.store(v, Ordering::Relaxed);
    }
    /// Raise to `v` if it is lower (a high-water mark).
    pub fn raise_to(&self, v: i64) {
        self.0.fetch_max(v, Ordering::Relaxed);
    }
    pub fn get(&self) -> i64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Upper bounds of [`Lateness`]'s buckets, in microseconds: 0.5 ms to 1 s.
pub const LATENESS_BOUNDS_US: [u64; 9] =
    [500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000, 1_000_000];

/// How late events happened after they were due: a Prometheus histogram with fixed buckets
/// ([`LATENESS_BOUNDS_US`]), plus the largest value seen. Recording is a few relaxed atomic adds.
#[derive(Debug, Default)]
pub struct Lateness {
    /// Per bucket, the events that fell in it (not cumulative; rendering sums them).
    buckets: [AtomicU64; LATENESS_BOUNDS_US.len()],
    /// Events over the last bound.
    over: AtomicU64,
    sum_us: AtomicU64,
    max_us: AtomicU64,
}

impl Lateness {
    pub fn record(&self, late: Duration) {
        let us = u64::try_from(late.as_micros()).unwrap_or(u64::MAX);
        match LATENESS_BOUNDS_US.iter().position(|&bound| us <= bound) {
            Some(i) => self.buckets[i].fetch_add(1, Ordering::Relaxed),
            None => self.over.fetch_add(1, Ordering::Relaxed),
        };
        self.sum_us.fetch_add(us, Ordering::Relaxed);
        self.max_us.fetch_max(us, Ordering::Relaxed);
    }

    /// Events recorded.
    pub fn count(&self) -> u64 {
        self.buckets.iter().map(|b| b.load(Ordering::Relaxed)).sum::<u64>()
            + self.over.load(Ordering::Relaxed)
    }

    /// The latest any event was.
    pub fn max(&self) -> Duration {
        Duration::from_micros(self.max_us.load(Ordering::Relaxed))
    }

    /// Append the histogram's samples (`name_bucket`, `name_sum`, `name_count`) for `service`.
    fn render(&self, out: &mut String, name: &str, service: &str) {
        let mut cumulative = 0;
        for (bound, bucket) in LATENESS_BOUNDS_US.iter().zip(&self.buckets) {
            cumulative += bucket.load(Ordering::Relaxed);
            let le = *bound as f64 / 1e6;
            let _ = writeln!(out, "{name}_bucket{{service=\"{service}\",le=\"{le}\"}} {cumulative}");
        }
        let count = self.count();
        let _ = writeln!(out, "{name}_bucket{{service=\"{service}\",le=\"+Inf\"}} {count}");
        let sum = self.sum_us.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "{name}_sum{{service=\"{service}\"}} {sum}");
        let _ = writeln!(out, "{name}_count{{service=\"{service}\"}} {count}");
    }
}

/// The counters every service has.
#[derive(Debug, Default)]
pub struct ServiceMetrics {
    /// Open connections now.
    pub connections: Gauge,
    /// Connections accepted since start.
    pub connections_total: Counter,
    /// Connections refused because the server was full.
    pub connections_refused: Counter,
    /// Connections refused by the per-address or not-logged-in caps.
    pub connections_refused_admission: Counter,
    /// Connections closed for not logging in within the login timeout.
    pub login_timeouts: Counter,
    /// Lines (or WebSocket messages) received.
    pub lines_in: Counter,
    /// Frames written to clients (one per recipient).
    pub frames_out: Counter,
    /// Error replies sent.
    pub errors: Counter,
    /// Messages dropped by flood control.
    pub rate_limited: Counter,
    /// Clients disconnected because they did not read fast enough.
    pub slow_disconnects: Counter,
    /// Logged-in users now (chat members, quiz players, calculator students).
    pub users: Gauge,
    /// How long after a deadline its verdict was queued for the player (the quiz's timeouts).
    pub deadline_lateness: Lateness,
}

/// A metric family: name, type, help, and how to read it from a service's metrics.
type Family = (&'static str, &'static str, &'static str, fn(&ServiceMetrics) -> f64);

/// All services' metrics, for `/metrics`.
#[derive(Debug, Default, Clone)]
pub struct Registry {
    services: Vec<(&'static str, Arc<ServiceMetrics>)>,
    cluster: Option<Arc<crate::bus::nats::ClusterMetrics>>,
    tls: Option<Arc<crate::net::tls::TlsMetrics>>,
    retention: Option<Arc<crate::retention::RetentionMetrics>>,
    bans: Option<Arc<crate::bans::BanMetrics>>,
    rooms: Option<Arc<RoomMetrics>>,
}

/// The chat rooms' metrics: totals over every room (never labelled by room, so the label set
/// stays bounded however many rooms there are).
#[derive(Debug, Default)]
pub struct RoomMetrics {
    /// Rooms that exist now on this node (with members here or elsewhere, or persistent).
    pub rooms: Gauge,
    /// Joins of a room by a user of this node.
    pub joins: Counter,
    /// Public lines said in a room by users of this node.
    pub messages: Counter,
    /// Room subjects this node follows on the bus now (rooms with members here; 0 on one node).
    pub subscriptions: Gauge,
}

impl Registry {
    pub fn register(&mut self, service: &'static str, metrics: Arc<ServiceMetrics>) {
        self.services.push((service, metrics));
    }

    /// Each registered service's name and metrics.
    pub fn services(&self) -> impl Iterator<Item = (&'static str, &Arc<ServiceMetrics>)> {
        self.services.iter().map(|(name, m)| (*name, m))
    }

    /// Add the cluster's metrics (a node with `[cluster]`).
    pub fn set_cluster(&mut self, metrics: Arc<crate::bus::nats::ClusterMetrics>) {
        self.cluster = Some(metrics);
    }

    /// Add the TLS ports' metrics (a server with a `[tls]` certificate).
    pub fn set_tls(&mut self, metrics: Arc<crate::net::tls::TlsMetrics>) {
        self.tls = Some(metrics);
    }

    /// Add the retention task's metrics.
    pub fn set_retention(&mut self, metrics: Arc<crate::retention::RetentionMetrics>) {
        self.retention = Some(metrics);
    }

    /// Add the chat rooms' metrics.
    pub fn set_rooms(&mut self, metrics: Arc<RoomMetrics>) {
        self.rooms = Some(metrics);
    }

    /// Add the bans' metrics.
    pub fn set_bans(&mut self, metrics: Arc<crate::bans::BanMetrics>) {
        self.bans = Some(metrics);
    }

    /// Render in the Prometheus text exposition format.
    pub fn render_prometheus(&self) -> String {
        let mut out = String::new();
        let families: [Family; 11] = [
            ("sockhub_connections", "gauge", "Open connections.", |m| m.connections.get() as f64),
            ("sockhub_connections_total", "counter", "Connections accepted.", |m| {
                m.connections_total.get() as f64
            }),
            ("sockhub_connections_refused_total", "counter", "Connections refused (server full).", |m| {
                m.connections_refused.get() as f64
            }),
            (
                "sockhub_connections_refused_admission_total",
                "counter",
                "Connections refused by the per-address or not-logged-in caps.",
                |m| m.connections_refused_admission.get() as f64,
            ),
            (
                "sockhub_login_timeouts_total",
                "counter",
                "Connections closed for not logging in in time.",
                |m| m.login_timeouts.get() as f64,
            ),
            ("sockhub_lines_in_total", "counter", "Lines received.", |m| m.lines_in.get() as f64),
            ("sockhub_frames_out_total", "counter", "Frames written (one per recipient).", |m| {
                m.frames_out.get() as f64
            }),
            ("sockhub_errors_total", "counter", "Error replies sent.", |m| m.errors.get() as f64),
            ("sockhub_rate_limited_total", "counter", "Messages dropped by flood control.", |m| {
                m.rate_limited.get() as f64
            }),
            ("sockhub_slow_disconnects_total", "counter", "Clients disconnected for not reading.", |m| {
                m.slow_disconnects.get() as f64
            }),
            ("sockhub_users", "gauge", "Logged-in users.", |m| m.users.get() as f64),
        ];
        for (name, kind, help, value) in families {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for (service, m) in &self.services {
                let _ = writeln!(out, "{name}{{service=\"{service}\"}} {}", value(m));
            }
        }
        let timed: Vec<_> = self.services.iter().filter(|(_, m)| m.deadline_lateness.count() > 0).collect();
        if !timed.is_empty() {
            let name = "sockhub_deadline_lateness_seconds";
            let _ = writeln!(
                out,
                "# HELP {name} How long after a deadline its verdict was queued for the player.\n# TYPE {name} histogram"
            );
            for (service, m) in &timed {
                m.deadline_lateness.render(&mut out, name, service);
            }
            let name = "sockhub_deadline_lateness_max_seconds";
            let _ = writeln!(
                out,
                "# HELP {name} The latest a deadline's verdict was queued.\n# TYPE {name} gauge"
            );
            for (service, m) in &timed {
                let _ = writeln!(
                    out,
                    "{name}{{service=\"{service}\"}} {}",
                    m.deadline_lateness.max().as_secs_f64()
                );
            }
        }
        if let Some(c) = &self.cluster {
            type ClusterFamily =
                (&'static str, &'static str, &'static str, fn(&crate::bus::nats::ClusterMetrics) -> i64);
            let families: [ClusterFamily; 8] = [
                ("sockhub_cluster_connected", "gauge", "1 while connected to NATS.", |c| c.connected.get()),
                ("sockhub_cluster_peers", "gauge", "Other nodes heard from within the node timeout.", |c| {
                    c.peers.get()
                }),
                (
                    "sockhub_cluster_published_total",
                    "counter",
                    "Messages published to the other nodes.",
                    |c| c.published.get() as i64,
                ),
                (
                    "sockhub_cluster_dropped_total",
                    "counter",
                    "Messages not published (NATS unreachable or the publish queue full).",
                    |c| c.dropped.get() as i64,
                ),
                ("sockhub_cluster_received_total", "counter", "Messages received from other nodes.", |c| {
                    c.received.get() as i64
                }),
                (
                    "sockhub_cluster_malformed_total",
                    "counter",
                    "Messages from other nodes that could not be decoded.",
                    |c| c.malformed.get() as i64,
                ),
                ("sockhub_cluster_nodes_down_total", "counter", "Nodes declared dead or gone.", |c| {
                    c.nodes_down.get() as i64
                }),
                (
                    "sockhub_cluster_resyncs_total",
                    "counter",
                    "Times this node asked the others for their state again.",
                    |c| c.resyncs.get() as i64,
                ),
            ];
            for (name, kind, help, value) in families {
                write_family(&mut out, name, kind, help, value(c));
            }
        }
        if let Some(tls) = &self.tls {
            tls.render(&mut out);
        }
        if let Some(retention) = &self.retention {
            retention.render(&mut out);
        }
        if let Some(r) = &self.rooms {
            write_families(
                &mut out,
                &[
                    ("sockhub_chat_rooms", "gauge", "Chat rooms that exist now.", r.rooms.get()),
                    (
                        "sockhub_chat_room_joins_total",
                        "counter",
                        "Rooms joined by this node's users.",
                        r.joins.get() as i64,
                    ),
                    (
                        "sockhub_chat_room_messages_total",
                        "counter",
                        "Public lines said in rooms by this node's users.",
                        r.messages.get() as i64,
                    ),
                    (
                        "sockhub_chat_room_subscriptions",
                        "gauge",
                        "Room subjects this node follows on the bus (rooms with members here).",
                        r.subscriptions.get(),
                    ),
                ],
            );
        }
        if let Some(b) = &self.bans {
            write_families(
                &mut out,
                &[
                    ("sockhub_bans_active", "gauge", "Bans in force.", b.active.get()),
                    (
                        "sockhub_bans_refused_total",
                        "counter",
                        "Logins refused with banned.",
                        b.refused.get() as i64,
                    ),
                    (
                        "sockhub_bans_disconnected_total",
                        "counter",
                        "Connections ended because their user or address was banned.",
                        b.disconnected.get() as i64,
                    ),
                ],
            );
        }
        out
    }
}

/// [`write_family`] for each `(name, type, help, value)`.
fn write_families(out: &mut String, families: &[(&str, &str, &str, i64)]) {
    for (name, kind, help, value) in families {
        write_family(out, name, kind, help, value);
    }
}

/// Append a family with one unlabelled sample, in the Prometheus text format.
pub fn write_family(out: &mut String, name: &str, kind: &str, help: &str, value: impl std::fmt::Display) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lateness_is_a_cumulative_histogram_with_its_maximum() {
        let mut registry = Registry::default();
        let quiz = Arc::new(ServiceMetrics::default());
        registry.register("chat", Arc::default());
        registry.register("quiz", Arc::clone(&quiz));
        assert!(!registry.render_prometheus().contains("lateness"), "nothing before the first event");
        for ms in [0, 3, 3, 40, 2000] {
            quiz.deadline_lateness.record(Duration::from_millis(ms));
        }
        let text = registry.render_prometheus();
        for line in [
            r#"sockhub_deadline_lateness_seconds_bucket{service="quiz",le="0.0005"} 1"#,
            r#"sockhub_deadline_lateness_seconds_bucket{service="quiz",le="0.002"} 1"#,
            r#"sockhub_deadline_lateness_seconds_bucket{service="quiz",le="0.005"} 3"#,
            r#"sockhub_deadline_lateness_seconds_bucket{service="quiz",le="0.05"} 4"#,
            r#"sockhub_deadline_lateness_seconds_bucket{service="quiz",le="1"} 4"#,
            r#"sockhub_deadline_lateness_seconds_bucket{service="quiz",le="+Inf"} 5"#,
            r#"sockhub_deadline_lateness_seconds_sum{service="quiz"} 2.046"#,
            r#"sockhub_deadline_lateness_seconds_count{service="quiz"} 5"#,
            r#"sockhub_deadline_lateness_max_seconds{service="quiz"} 2"#,
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line} in\n{text}");
        }
        assert!(!text.contains(r#"lateness_seconds_count{service="chat"}"#));
    }
}
