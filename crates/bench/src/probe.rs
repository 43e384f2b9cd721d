//! What the server says about itself: its resident memory and how many clients it disconnected
//! for reading too slowly.
//!
//! Two sources: the web server's `/metrics` (Prometheus text; `process_resident_memory_bytes` and
//! `sockhub_slow_disconnects_total`), fetched with a plain HTTP/1.0 GET, or `/proc/PID/status`
//! (`VmRSS`) when the server runs on this machine without its web server. Peer servers used for
//! comparison have neither endpoint; `--server-pid` works for them too.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::BenchError;

/// How long one `/metrics` request may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// Where to ask.
#[derive(Debug, Clone)]
pub struct Probe {
    metrics: Option<String>,
    pid: Option<u32>,
}

impl Probe {
    pub fn new(metrics: Option<String>, pid: Option<u32>) -> Self {
        Probe { metrics, pid }
    }

    /// Whether the server's memory can be read at all.
    pub fn can_read_memory(&self) -> bool {
        self.metrics.is_some() || self.pid.is_some()
    }

    /// The server's resident memory in bytes (`/proc` first: it is exact and costs the server
    /// nothing), or `None` if no source was given.
    pub async fn resident_bytes(&self) -> Result<Option<u64>, BenchError> {
        if let Some(pid) = self.pid {
            let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
                .map_err(|e| BenchError::Probe(format!("/proc/{pid}/status: {e}")))?;
            let kib = status
                .lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
                .ok_or_else(|| BenchError::Probe(format!("no VmRSS in /proc/{pid}/status")))?;
            return Ok(Some(kib * 1024));
        }
        match &self.metrics {
            Some(_) => Ok(self.metric("process_resident_memory_bytes").await?.map(|v| v as u64)),
            None => Ok(None),
        }
    }

    /// Clients the server disconnected for not reading, all services together (`None` without
    /// `/metrics`).
    pub async fn slow_disconnects(&self) -> Result<Option<u64>, BenchError> {
        if self.metrics.is_none() {
            return Ok(None);
        }
        Ok(self.metric("sockhub_slow_disconnects_total").await?.map(|v| v as u64))
    }

    async fn metric(&self, name: &str) -> Result<Option<f64>, BenchError> {
        Ok(self.metrics_text().await?.and_then(|text| sum_samples(&text, name)))
    }

    /// The server's whole `/metrics` page (`None` without `/metrics`), for reading several values
    /// of one instant with [`sum_samples`].
    pub async fn metrics_text(&self) -> Result<Option<String>, BenchError> {
        let Some(addr) = &self.metrics else { return Ok(None) };
        let body = tokio::time::timeout(PROBE_TIMEOUT, get(addr, "/metrics"))
            .await
            .map_err(|_| BenchError::Probe(format!("{addr}/metrics did not answer")))?
            .map_err(|e| BenchError::Probe(format!("{addr}/metrics: {e}")))?;
        Ok(Some(body))
    }
}

/// The sum of the samples of `name` in Prometheus text: a family (every label set), or one
/// sample exactly, labels included (`x_bucket{service="quiz",le="0.01"}`).
pub fn sum_samples(text: &str, name: &str) -> Option<f64> {
    let mut found = None;
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some(rest) = line.strip_prefix(name) else { continue };
        if !(rest.starts_with(' ') || rest.starts_with('{')) {
            continue;
        }
        if let Some(v) = rest.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok()) {
            *found.get_or_insert(0.0) += v;
        }
    }
    found
}

/// A minimal HTTP/1.0 GET: the body, if the status is 200.
async fn get(addr: &str, path: &str) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.write_all(format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").as_bytes()).await?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    if !head.starts_with("HTTP/1.1 200") && !head.starts_with("HTTP/1.0 200") {
        return Err(std::io::Error::other(head.lines().next().unwrap_or("no answer").to_owned()));
    }
    Ok(body.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_every_sample_of_a_family() {
        let text = "# TYPE x counter\nx{service=\"chat\"} 2\nx{service=\"quiz\"} 3\nx_total 9\nprocess_resident_memory_bytes 1024\n";
        assert_eq!(sum_samples(text, "x"), Some(5.0));
        assert_eq!(sum_samples(text, "process_resident_memory_bytes"), Some(1024.0));
        assert_eq!(sum_samples(text, "missing"), None);
    }
}
