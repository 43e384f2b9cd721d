//! sockhub's load generator: the scenarios behind `sockhub bench SCENARIO`.
//!
//! A benchmark runs as its own process, beside the server it measures, and drives it over real
//! TCP like any client would. The pieces:
//!
//! - [`scenario`]: one file per scenario (its options and its run), listed once in
//!   `scenario/mod.rs`. Adding a scenario is adding a file and a line there.
//! - [`client`]: one load-generating connection: connect, log in (or not, for a `raw` peer
//!   server), send paced lines that carry their send time, and read with big reads, counting lines
//!   with `memchr` and parsing nothing but the timestamp.
//! - [`scan`]: what a client reads, split into lines and classified (the timestamp is all it
//!   parses).
//! - [`rooms`]: `chat-fanout --rooms`: which room each client sits in, joining it, and telling a
//!   delivery from a message that leaked out of another room.
//! - [`clock`]: the run's single clock (nanoseconds since one `Instant`; one process, one clock)
//!   and its timeline: warm-up, measurement, drain.
//! - [`lines`]: a JSON-lines connection for the service scenarios (quiz, calc, relay), which must
//!   read their events to act on them.
//! - [`latency`]: an HDR histogram of end-to-end latencies, merged from the clients at the end.
//! - [`probe`]: what the server says about itself: resident memory (from its web `/metrics` or
//!   `/proc/PID/status`) and its slow-reader disconnects.
//! - [`report`]: the summary, as a table for people and JSON for programs.
//! - [`progress`]: the progress bar shown while a run goes on.

pub mod client;
pub mod clock;
pub mod error;
pub mod latency;
pub mod lines;
pub mod probe;
pub mod progress;
pub mod report;
pub mod rooms;
pub mod scan;
pub mod scenario;

use std::net::SocketAddr;

pub use progress::Progress;
pub use report::Report;
pub use scenario::ScenarioArgs;

/// What can stop a benchmark from running at all. Problems found *by* a run (missing deliveries,
/// failed logins) are part of its [`Report`] instead.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("cannot resolve {addr}: {source}")]
    Resolve { addr: String, source: std::io::Error },
    #[error("no address given")]
    NoAddress,
    #[error("{0}")]
    Invalid(String),
    #[error("reading the server's memory: {0}")]
    Probe(String),
    #[error("{failed} of {total} clients could not connect or log in; first error: {first}")]
    Clients { failed: usize, total: usize, first: String },
}

/// Options every scenario shares (`sockhub bench` takes them before or after the scenario).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Common {
    /// Server address; repeat the flag or separate with commas for several servers (e.g. the
    /// nodes of a cluster): clients are assigned to them round-robin. Default: 127.0.0.1 and the
    /// scenario's service port.
    #[arg(long = "addr", value_delimiter = ',', global = true, value_name = "HOST:PORT")]
    pub addrs: Vec<String>,
    /// The server's web address (HOST:PORT), to read its resident memory and slow-reader
    /// disconnects from `/metrics`.
    #[arg(long, global = true, value_name = "HOST:PORT")]
    pub metrics: Option<String>,
    /// The server's process id, to read its resident memory from /proc (same machine).
    #[arg(long, global = true, value_name = "PID")]
    pub server_pid: Option<u32>,
    /// Connections being opened (and logged in) at once.
    #[arg(long, global = true, default_value_t = 200)]
    pub connect_concurrency: usize,
    /// Connect with TLS (point --addr at the service's tls_port): chat-fanout, connections, and
    /// relay's devices (Server2 is watched on its plain --server2 address).
    #[arg(long, global = true)]
    pub tls: bool,
    /// With --tls: trust this CA (PEM) instead of the system's roots.
    #[arg(long, global = true, value_name = "FILE", requires = "tls")]
    pub ca: Option<std::path::PathBuf>,
    /// The load generator's worker threads (default: one per core). On the server's own machine,
    /// fewer leave the server more of the CPU: see docs/benchmarks.md.
    #[arg(long, global = true, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,
}

/// Everything a scenario runs with.
pub struct Ctx {
    /// Where clients connect, in round-robin order.
    pub addrs: Vec<SocketAddr>,
    /// How to ask the server about its memory.
    pub probe: probe::Probe,
    pub progress: Progress,
    pub connect_concurrency: usize,
    /// TLS for the clients' connections (`--tls`).
    pub tls: Option<sockhub_tls::ClientTls>,
}

impl Ctx {
    /// The address of client number `i`.
    pub fn addr(&self, i: usize) -> SocketAddr {
        self.addrs[i % self.addrs.len()]
    }
}

/// Run one scenario and return its summary.
pub async fn run(scenario: ScenarioArgs, common: &Common, progress: Progress) -> Result<Report, BenchError> {
    let mut wanted = common.addrs.clone();
    if wanted.is_empty() {
        wanted.push(format!("127.0.0.1:{}", scenario.default_port()));
    }
    let mut addrs = Vec::with_capacity(wanted.len());
    for addr in wanted.iter().map(|a| a.trim()).filter(|a| !a.is_empty()) {
        let found = tokio::net::lookup_host(addr)
            .await
            .map_err(|source| BenchError::Resolve { addr: addr.to_owned(), source })?
            .next()
            .ok_or_else(|| BenchError::Resolve {
                addr: addr.to_owned(),
                source: std::io::ErrorKind::NotFound.into(),
            })?;
        addrs.push(found);
    }
    if addrs.is_empty() {
        return Err(BenchError::NoAddress);
    }
    let probe = probe::Probe::new(common.metrics.clone(), common.server_pid);
    let tls = match common.tls {
        true => Some(
            sockhub_tls::ClientTls::new(common.ca.as_deref(), None)
                .map_err(|e| BenchError::Invalid(format!("--tls: {e}")))?,
        ),
        false => None,
    };
    let ctx = Ctx { addrs, probe, progress, connect_concurrency: common.connect_concurrency.max(1), tls };
    let mut report = scenario.run(&ctx).await?;
    if let serde_json::Value::Object(config) = &mut report.config {
        let addrs = ctx.addrs.iter().map(ToString::to_string).collect::<Vec<_>>();
        config.insert("addr".into(), addrs.into());
        config.insert("tls".into(), ctx.tls.is_some().into());
        let threads = tokio::runtime::Handle::current().metrics().num_workers();
        config.insert("threads".into(), threads.into());
    }
    ctx.progress.finish();
    Ok(report)
}
