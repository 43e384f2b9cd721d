//! Counters and gauges, kept as plain atomics, and the registry that exposes them in the
//! Prometheus text format through the `prometheus-client` crate.
//!
//! Each service owns a [`ServiceMetrics`]; connections and sessions bump its counters. Nothing
//! here locks or allocates on the hot path: a counter is one relaxed atomic add. [`Lateness`] is
//! a histogram of how late something happened after it was due (the quiz's deadlines).
//!
//! [`Registry`] wraps a `prometheus_client` registry. Whatever has metrics adds a
//! [`Collector`] to it when it starts (the services, the cluster, TLS, retention, bans, the log
//! writer, logins); at each scrape every collector reads its atomics and writes its typed families
//! through [`Families`], and `prometheus_client` encodes the text format.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::{Mutex, RwLock};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;

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

    /// This histogram's buckets (each bound in seconds with the events in it, not cumulative),
    /// sum in seconds and count.
    fn snapshot(&self) -> (Vec<(f64, u64)>, f64, u64) {
        let buckets = LATENESS_BOUNDS_US
            .iter()
            .zip(&self.buckets)
            .map(|(bound, n)| (*bound as f64 / 1e6, n.load(Ordering::Relaxed)))
            .collect();
        (buckets, self.sum_us.load(Ordering::Relaxed) as f64 / 1e6, self.count())
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

/// Every metric family of a server, for `/metrics`. Clones share the registry.
#[derive(Clone)]
pub struct Registry {
    inner: Arc<Mutex<prometheus_client::registry::Registry>>,
    services: Services,
}

/// The registered services' counters, by service name.
type Services = Arc<RwLock<Vec<(&'static str, Arc<ServiceMetrics>)>>>;

impl Default for Registry {
    fn default() -> Self {
        let services = Arc::new(RwLock::new(Vec::new()));
        let mut inner = prometheus_client::registry::Registry::default();
        inner.register_collector(Box::new(ServicesCollector(Arc::clone(&services))));
        Registry { inner: Arc::new(Mutex::new(inner)), services }
    }
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry").field("services", &self.services.read().len()).finish()
    }
}

impl Registry {
    /// Add a service's counters (its families carry `service="<name>"`).
    pub fn register(&self, service: &'static str, metrics: Arc<ServiceMetrics>) {
        self.services.write().push((service, metrics));
    }

    /// Each registered service's name and metrics.
    pub fn services(&self) -> impl Iterator<Item = (&'static str, Arc<ServiceMetrics>)> + use<> {
        self.services.read().iter().map(|(name, m)| (*name, Arc::clone(m))).collect::<Vec<_>>().into_iter()
    }

    /// Add families read at each scrape.
    pub fn collect(&self, collector: impl Collector) {
        self.inner.lock().register_collector(Box::new(collector));
    }

    /// Render in the Prometheus text exposition format.
    pub fn render_prometheus(&self) -> String {
        let mut out = String::new();
        let _ = prometheus_client::encoding::prometheus_text::encode(&mut out, &self.inner.lock());
        out
    }
}

/// Encode `collector`'s families alone (what is known only at one scrape).
pub fn render_once(collector: impl Collector) -> String {
    let mut registry = prometheus_client::registry::Registry::default();
    registry.register_collector(Box::new(collector));
    let mut out = String::new();
    let _ = prometheus_client::encoding::prometheus_text::encode(&mut out, &registry);
    out
}

/// A [`Collector`] over something shared: `Shared(Arc::clone(&metrics))`.
pub struct Shared<T>(pub Arc<T>);

impl<T> std::fmt::Debug for Shared<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(std::any::type_name::<T>())
    }
}

/// What a shared part of the server writes at each scrape.
pub trait Families: Send + Sync + 'static {
    /// Write this part's families.
    fn families(&self, out: &mut FamilyWriter<'_>) -> std::fmt::Result;
}

impl<T: Families> Collector for Shared<T> {
    fn encode(&self, encoder: DescriptorEncoder) -> std::fmt::Result {
        self.0.families(&mut FamilyWriter(encoder))
    }
}

/// Writes typed families, through `prometheus_client`'s encoder. A counter's name is given with
/// its `_total`, as it is exposed.
pub struct FamilyWriter<'a>(DescriptorEncoder<'a>);

impl FamilyWriter<'_> {
    /// A counter with one sample.
    pub fn counter(&mut self, name: &str, help: &str, value: u64) -> std::fmt::Result {
        let name = name.strip_suffix("_total").unwrap_or(name);
        let mut m = self.0.encode_descriptor(name, help, None, MetricType::Counter)?;
        m.encode_counter::<NoLabelSet, _, u64>(&value, None)
    }

    /// A gauge with one sample.
    pub fn gauge(&mut self, name: &str, help: &str, value: impl Into<GaugeValue>) -> std::fmt::Result {
        let mut m = self.0.encode_descriptor(name, help, None, MetricType::Gauge)?;
        value.into().encode(&mut m)
    }

    /// A counter with one sample per value of `label`.
    pub fn counters<'l>(
        &mut self,
        name: &str,
        help: &str,
        label: &str,
        samples: impl IntoIterator<Item = (&'l str, u64)>,
    ) -> std::fmt::Result {
        let name = name.strip_suffix("_total").unwrap_or(name);
        let mut m = self.0.encode_descriptor(name, help, None, MetricType::Counter)?;
        for (value, n) in samples {
            let labels = [(label, value)];
            m.encode_family(&labels)?.encode_counter::<NoLabelSet, _, u64>(&n, None)?;
        }
        Ok(())
    }

    /// A gauge with one sample per value of `label`.
    pub fn gauges<'l, V: Into<GaugeValue>>(
        &mut self,
        name: &str,
        help: &str,
        label: &str,
        samples: impl IntoIterator<Item = (&'l str, V)>,
    ) -> std::fmt::Result {
        let mut m = self.0.encode_descriptor(name, help, None, MetricType::Gauge)?;
        for (value, v) in samples {
            let labels = [(label, value)];
            v.into().encode(&mut m.encode_family(&labels)?)?;
        }
        Ok(())
    }

    /// A [`Lateness`] histogram with one sample.
    pub fn histogram(&mut self, name: &str, help: &str, lateness: &Lateness) -> std::fmt::Result {
        let mut m = self.0.encode_descriptor(name, help, None, MetricType::Histogram)?;
        let (buckets, sum, count) = lateness.snapshot();
        m.encode_histogram::<NoLabelSet>(sum, count, &buckets, None)
    }

    /// A [`Lateness`] histogram per value of `label`.
    fn histograms<'l>(
        &mut self,
        name: &str,
        help: &str,
        label: &str,
        samples: impl IntoIterator<Item = (&'l str, &'l Lateness)>,
    ) -> std::fmt::Result {
        let mut m = self.0.encode_descriptor(name, help, None, MetricType::Histogram)?;
        for (value, lateness) in samples {
            let labels = [(label, value)];
            let (buckets, sum, count) = lateness.snapshot();
            m.encode_family(&labels)?.encode_histogram::<NoLabelSet>(sum, count, &buckets, None)?;
        }
        Ok(())
    }
}

/// A gauge's value: whole numbers are written without a decimal point.
#[derive(Debug, Clone, Copy)]
pub enum GaugeValue {
    Int(i64),
    Float(f64),
}

impl GaugeValue {
    fn encode(self, m: &mut MetricEncoder<'_>) -> std::fmt::Result {
        match self {
            GaugeValue::Int(v) => m.encode_gauge(&v),
            GaugeValue::Float(v) if v.fract() == 0.0 && v.abs() < 9.0e15 => m.encode_gauge(&(v as i64)),
            GaugeValue::Float(v) => m.encode_gauge(&v),
        }
    }
}

impl From<i64> for GaugeValue {
    fn from(v: i64) -> Self {
        GaugeValue::Int(v)
    }
}

impl From<f64> for GaugeValue {
    fn from(v: f64) -> Self {
        GaugeValue::Float(v)
    }
}

impl From<bool> for GaugeValue {
    fn from(v: bool) -> Self {
        GaugeValue::Int(i64::from(v))
    }
}

impl From<usize> for GaugeValue {
    fn from(v: usize) -> Self {
        GaugeValue::Int(i64::try_from(v).unwrap_or(i64::MAX))
    }
}

/// Every service's counters, one family per counter with a `service` label.
struct ServicesCollector(Services);

impl std::fmt::Debug for ServicesCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServicesCollector")
    }
}

/// A counter family of every service: name, help, and how to read it.
type CounterFamily = (&'static str, &'static str, fn(&ServiceMetrics) -> u64);

impl Collector for ServicesCollector {
    fn encode(&self, encoder: DescriptorEncoder) -> std::fmt::Result {
        let services = self.0.read();
        let mut out = FamilyWriter(encoder);
        let each = || services.iter().map(|(name, m)| (*name, m.as_ref()));
        out.gauges(
            "sockhub_connections",
            "Open connections.",
            "service",
            each().map(|(s, m)| (s, m.connections.get())),
        )?;
        let counters: [CounterFamily; 9] = [
            ("sockhub_connections_total", "Connections accepted.", |m| m.connections_total.get()),
            ("sockhub_connections_refused_total", "Connections refused (server full).", |m| {
                m.connections_refused.get()
            }),
            (
                "sockhub_connections_refused_admission_total",
                "Connections refused by the per-address or not-logged-in caps.",
                |m| m.connections_refused_admission.get(),
            ),
            ("sockhub_login_timeouts_total", "Connections closed for not logging in in time.", |m| {
                m.login_timeouts.get()
            }),
            ("sockhub_lines_in_total", "Lines received.", |m| m.lines_in.get()),
            ("sockhub_frames_out_total", "Frames written (one per recipient).", |m| m.frames_out.get()),
            ("sockhub_errors_total", "Error replies sent.", |m| m.errors.get()),
            ("sockhub_rate_limited_total", "Messages dropped by flood control.", |m| m.rate_limited.get()),
            ("sockhub_slow_disconnects_total", "Clients disconnected for not reading.", |m| {
                m.slow_disconnects.get()
            }),
        ];
        for (name, help, value) in counters {
            out.counters(name, help, "service", each().map(|(s, m)| (s, value(m))))?;
        }
        out.gauges("sockhub_users", "Logged-in users.", "service", each().map(|(s, m)| (s, m.users.get())))?;
        let timed: Vec<_> = each().filter(|(_, m)| m.deadline_lateness.count() > 0).collect();
        if !timed.is_empty() {
            out.histograms(
                "sockhub_deadline_lateness_seconds",
                "How long after a deadline its verdict was queued for the player.",
                "service",
                timed.iter().map(|(s, m)| (*s, &m.deadline_lateness)),
            )?;
            out.gauges(
                "sockhub_deadline_lateness_max_seconds",
                "The latest a deadline's verdict was queued.",
                "service",
                timed.iter().map(|(s, m)| (*s, m.deadline_lateness.max().as_secs_f64())),
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lateness_is_a_cumulative_histogram_with_its_maximum() {
        let registry = Registry::default();
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
