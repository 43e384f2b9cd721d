//! End-to-end latencies in an HDR histogram.
//!
//! Each client keeps its own histogram (no sharing, no locks on the hot path) and the run merges
//! them at the end. Values are microseconds with two significant digits (1 % resolution), from
//! 1 µs to 60 s; slower values are recorded as 60 s. Two digits keep a histogram at about 20 KiB,
//! so a thousand clients' histograms cost 20 MiB rather than the 300 MiB of three digits in
//! nanoseconds.

use hdrhistogram::Histogram;
use serde::Serialize;

/// The slowest latency tracked, in microseconds.
const HIGHEST_US: u64 = 60_000_000;

/// A latency histogram.
#[derive(Debug, Clone)]
pub struct Latency {
    hist: Histogram<u64>,
}

impl Latency {
    pub fn new() -> Self {
        Latency { hist: Histogram::new_with_bounds(1, HIGHEST_US, 2).expect("valid histogram bounds") }
    }

    /// Record one latency of `ns` nanoseconds.
    #[inline]
    pub fn record_ns(&mut self, ns: u64) {
        self.hist.saturating_record((ns / 1000).clamp(1, HIGHEST_US));
    }

    /// Record `n` latencies of `ns` nanoseconds each.
    pub fn record_n_ns(&mut self, ns: u64, n: u64) {
        self.hist.saturating_record_n((ns / 1000).clamp(1, HIGHEST_US), n);
    }

    /// Add another client's latencies.
    pub fn merge(&mut self, other: &Latency) {
        // Same bounds on both sides, so this cannot fail.
        let _ = self.hist.add(&other.hist);
    }

    pub fn count(&self) -> u64 {
        self.hist.len()
    }

    /// The percentiles a report shows.
    pub fn summary(&self) -> LatencySummary {
        let q = |q: f64| if self.hist.is_empty() { 0 } else { self.hist.value_at_quantile(q) };
        LatencySummary {
            count: self.hist.len(),
            p50_us: q(0.5),
            p90_us: q(0.9),
            p99_us: q(0.99),
            p999_us: q(0.999),
            max_us: if self.hist.is_empty() { 0 } else { self.hist.max() },
            mean_us: if self.hist.is_empty() { 0.0 } else { (self.hist.mean() * 10.0).round() / 10.0 },
        }
    }
}

impl Default for Latency {
    fn default() -> Self {
        Self::new()
    }
}

/// Percentiles of a latency histogram, in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LatencySummary {
    pub count: u64,
    pub p50_us: u64,
    pub p90_us: u64,
    pub p99_us: u64,
    pub p999_us: u64,
    pub max_us: u64,
    pub mean_us: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_come_from_merged_clients() {
        let mut a = Latency::new();
        let mut b = Latency::new();
        for _ in 0..99 {
            a.record_ns(100_000);
        }
        b.record_ns(5_000_000);
        a.merge(&b);
        let s = a.summary();
        assert_eq!(s.count, 100);
        assert_eq!(s.p50_us, 100);
        assert!(s.max_us >= 4_950 && s.max_us <= 5_050, "{s:?}");
    }
}
