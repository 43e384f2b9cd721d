//! `relay`: records per second from M devices through Server1 to Server2, durable on both hops,
//! and the latency of each hop.
//!
//! Each device sends JSON records of `--size` payload bytes with its own seqs, keeping `--window`
//! of them unacknowledged (as `sockhub device` does), to Server1 (`--addr`). Server1 acknowledges
//! a record once it is committed there, and forwards it to Server2, which commits it too.
//!
//! - **Server1 latency**: from a record's send to the (cumulative) ack that covers it.
//! - **End-to-end latency**: from a record's send until Server2 has committed it. Server2 is
//!   asked, every `--poll-ms`, for the highest seq it has stored for each device (`last_seq`, an
//!   ordinary client request, answered from its database): a record counts as committed on
//!   Server2 at the first answer that reaches its seq. Server1 forwards a source's records in
//!   order and Server2 commits them in the order it reads them, so the highest stored seq means
//!   every earlier one is stored too. The figure is therefore exact to within one poll interval
//!   (late, never early).
//!
//! Sources are named `<prefix><device>-<run>` with the run's start time in milliseconds, so every
//! run starts from seq 1 with nothing stored before it.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::Scenario;
use crate::error::ClientError;
use crate::clock::Clock;
use crate::latency::Latency;
use crate::lines::JsonLines;
use crate::{BenchError, Ctx, Report};

/// Give up when nothing is acknowledged (or nothing more reaches Server2) for this long.
const PATIENCE: Duration = Duration::from_secs(30);

/// Options of `sockhub bench relay`.
#[derive(Debug, Clone, clap::Args, Serialize)]
pub struct Config {
    /// Server2's relay address (HOST:PORT), asked for what it has committed.
    #[arg(long)]
    pub server2: String,
    /// Devices sending at once (one connection each).
    #[arg(long, default_value_t = 1)]
    pub devices: usize,
    /// Records each device sends.
    #[arg(long, default_value_t = 100_000)]
    pub records: u64,
    /// Payload bytes per record.
    #[arg(long, default_value_t = 200)]
    pub size: usize,
    /// Records a device keeps unacknowledged at most.
    #[arg(long, default_value_t = 20_000)]
    pub window: usize,
    /// How often Server2 is asked for its highest stored seqs, in milliseconds.
    #[arg(long, default_value_t = 10)]
    pub poll_ms: u64,
    /// Source names start with this.
    #[arg(long, default_value = "bench")]
    pub prefix: String,
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Request<'a> {
    Record { source: &'a str, seq: u64, payload: &'a str },
    LastSeq { source: &'a str },
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Event {
    Ack {
        source: String,
        seq: u64,
    },
    LastSeq {
        source: String,
        #[serde(default)]
        seq: u64,
    },
    Error {
        message: String,
    },
    #[serde(other)]
    Other,
}

/// When each record of one device was sent (index `seq - 1`), in [`Clock`] nanoseconds.
type SendTimes = Arc<Vec<AtomicU64>>;

impl Scenario for Config {
    const DEFAULT_PORT: u16 = 7004;

    async fn run(self, ctx: &Ctx) -> Result<Report, BenchError> {
        if self.devices == 0 || self.records == 0 || self.window == 0 || self.size == 0 {
            return Err(BenchError::Invalid("need --devices, --records, --window and --size above 0".into()));
        }
        let server2 = tokio::net::lookup_host(&self.server2)
            .await
            .ok()
            .and_then(|mut a| a.next())
            .ok_or_else(|| BenchError::Invalid(format!("cannot resolve --server2 {}", self.server2)))?;
        let run_id = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0);
        let sources: Vec<String> = (0..self.devices).map(|i| format!("{}{i}-{run_id}", self.prefix)).collect();
        let times: Vec<SendTimes> =
            (0..self.devices).map(|_| Arc::new((0..self.records).map(|_| AtomicU64::new(0)).collect())).collect();
        let clock = Clock::new();
        let stop = CancellationToken::new();
        let acked = Arc::new(AtomicU64::new(0));
        let total = self.records * self.devices as u64;

        // Server2's watcher starts first so it sees the first commit.
        let watcher = tokio::spawn(watch(server2, sources.clone(), times.clone(), clock, self.records, self.poll_ms, stop.clone()));
        let mut devices = Vec::with_capacity(self.devices);
        for (i, source) in sources.iter().enumerate() {
            let device = Device {
                addr: ctx.addr(i),
                source: source.clone(),
                records: self.records,
                size: self.size,
                window: self.window,
                times: Arc::clone(&times[i]),
                clock,
                acked: Arc::clone(&acked),
                tls: ctx.tls.clone(),
            };
            devices.push(tokio::spawn(device.run(stop.clone())));
        }
        ctx.progress.phase("sending", total, "records");
        let started = Instant::now();
        while !devices.iter().all(|d| d.is_finished()) {
            tokio::time::sleep(Duration::from_millis(100)).await;
            ctx.progress.set(acked.load(Ordering::Relaxed), "");
        }
        let mut server1 = Latency::new();
        let mut first_error = None;
        for d in devices {
            match d.await {
                Ok(Ok(latency)) => server1.merge(&latency),
                Ok(Err(e)) => {
                    first_error.get_or_insert(e.to_string());
                }
                Err(e) => {
                    first_error.get_or_insert(e.to_string());
                }
            }
        }
        let acked_secs = started.elapsed().as_secs_f64();
        let acked = acked.load(Ordering::Relaxed);
        ctx.progress.phase("forwarding", total, "records");
        let seen = watcher.await.unwrap_or_else(|e| Watched { error: Some(e.to_string()), ..Watched::default() });
        let forwarded_secs = seen.last_at.map(|t| t.duration_since(started).as_secs_f64());

        let mut report = Report::new("relay", &self);
        report.set("records", total);
        report.set("record_bytes", self.size);
        report.set("acknowledged_by_server1", acked);
        report.set("server1_records_per_sec", (acked as f64 / acked_secs).round());
        report.set("committed_on_server2", seen.committed);
        if let Some(secs) = forwarded_secs {
            report.set("end_to_end_records_per_sec", (seen.committed as f64 / secs).round());
            report.set("end_to_end_secs", (secs * 100.0).round() / 100.0);
        }
        report.latency("latency_server1_ack", server1.summary());
        report.latency("latency_server2_commit", seen.latency.summary());
        if acked < total {
            report.problem(format!(
                "{} of {total} records were not acknowledged by Server1; first error: {}",
                total - acked,
                first_error.unwrap_or_default()
            ));
        }
        if seen.committed < total {
            report.problem(format!(
                "{} of {total} records did not reach Server2 within {PATIENCE:?}{}",
                total - seen.committed,
                seen.error.map(|e| format!(": {e}")).unwrap_or_default()
            ));
        }
        Ok(report)
    }
}

/// One device: sends its records with a window and records how long each took to be acked.
struct Device {
    addr: SocketAddr,
    source: String,
    records: u64,
    size: usize,
    window: usize,
    times: SendTimes,
    clock: Clock,
    acked: Arc<AtomicU64>,
    /// `--tls`: to Server1's relay TLS port.
    tls: Option<sockhub_tls::ClientTls>,
}

impl Device {
    async fn run(self, stop: CancellationToken) -> Result<Latency, ClientError> {
        let mut latency = Latency::new();
        let mut conn = JsonLines::connect_with(self.addr, self.tls.as_ref()).await?;
        let payload: String = (0..self.size).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
        let mut next = 1u64;
        let mut unacked: VecDeque<u64> = VecDeque::with_capacity(self.window);
        let mut last_progress = Instant::now();
        while next <= self.records || !unacked.is_empty() {
            // Fill the window, many records per write (as `sockhub device` does).
            while next <= self.records && unacked.len() < self.window {
                self.times[(next - 1) as usize].store(self.clock.now_ns(), Ordering::Relaxed);
                conn.push(&Request::Record { source: &self.source, seq: next, payload: &payload });
                unacked.push_back(next);
                next += 1;
            }
            conn.flush().await?;
            let line = tokio::select! {
                () = stop.cancelled() => return Err(ClientError::Stopped),
                () = tokio::time::sleep_until(last_progress + PATIENCE) => {
                    return Err(ClientError::Stalled(PATIENCE));
                }
                line = conn.next_line() => line,
            };
            let line = match line {
                Some(line) => line?,
                None => return Err(ClientError::Closed("Server1 closed the connection".into())),
            };
            match serde_json::from_str::<Event>(&line) {
                Ok(Event::Ack { source, seq }) if source == self.source => {
                    let now = self.clock.now_ns();
                    let mut n = 0;
                    while let Some(&first) = unacked.front() {
                        if first > seq {
                            break;
                        }
                        unacked.pop_front();
                        latency.record_ns(now.saturating_sub(self.times[(first - 1) as usize].load(Ordering::Relaxed)));
                        n += 1;
                    }
                    self.acked.fetch_add(n, Ordering::Relaxed);
                    last_progress = Instant::now();
                }
                Ok(Event::Error { message }) => {
                    return Err(ClientError::Refused(format!("Server1 refused a record: {message}")));
                }
                _ => {}
            }
        }
        Ok(latency)
    }
}

/// What the watcher of Server2 saw.
#[derive(Default)]
struct Watched {
    committed: u64,
    latency: Latency,
    /// When the last record was seen committed.
    last_at: Option<Instant>,
    error: Option<String>,
}

/// Ask Server2 for every source's highest stored seq every `poll_ms` until all records are
/// there (or nothing moves for [`PATIENCE`] after the devices are done).
async fn watch(
    addr: SocketAddr,
    sources: Vec<String>,
    times: Vec<SendTimes>,
    clock: Clock,
    records: u64,
    poll_ms: u64,
    stop: CancellationToken,
) -> Watched {
    let mut seen = Watched::default();
    let mut conn = match JsonLines::connect(addr).await {
        Ok(c) => c,
        Err(e) => {
            seen.error = Some(format!("Server2: {e}"));
            return seen;
        }
    };
    let mut highest = vec![0u64; sources.len()];
    let total = records * sources.len() as u64;
    let mut last_progress = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(poll_ms.max(1)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    while seen.committed < total {
        tokio::select! {
            () = stop.cancelled() => break,
            _ = tick.tick() => {}
        }
        if last_progress.elapsed() > PATIENCE {
            seen.error = Some(format!("Server2 stored nothing new for {PATIENCE:?}"));
            break;
        }
        for source in &sources {
            conn.push(&Request::LastSeq { source });
        }
        if let Err(e) = conn.flush().await {
            seen.error = Some(format!("Server2: {e}"));
            break;
        }
        // One answer per source, in order.
        let mut answered = 0;
        while answered < sources.len() {
            let line = match conn.next_line().await {
                Some(Ok(line)) => line,
                Some(Err(e)) => {
                    seen.error = Some(format!("Server2: {e}"));
                    return seen;
                }
                None => {
                    seen.error = Some("Server2 closed the connection".into());
                    return seen;
                }
            };
            let Ok(Event::LastSeq { source, seq }) = serde_json::from_str::<Event>(&line) else { continue };
            answered += 1;
            let Some(i) = sources.iter().position(|s| *s == source) else { continue };
            let seq = seq.min(records);
            if seq > highest[i] {
                let now = clock.now_ns();
                for s in highest[i] + 1..=seq {
                    seen.latency.record_ns(now.saturating_sub(times[i][(s - 1) as usize].load(Ordering::Relaxed)));
                }
                seen.committed += seq - highest[i];
                highest[i] = seq;
                last_progress = Instant::now();
                seen.last_at = Some(last_progress);
            }
        }
    }
    seen
}
