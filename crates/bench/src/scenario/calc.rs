//! `calc`: N students squaring numbers and receiving everyone's results — results per second,
//! broadcast deliveries, and the latency from a request to its own result and to the broadcast
//! seen by the others.
//!
//! A result is sent only after it is committed, and it goes to everyone connected to the
//! calculator (the sender's copy is its acknowledgement). Each student keeps `--window` squares
//! in flight: it sends the next one when a result of its own comes back. The number a student
//! squares is the send time (nanoseconds since the run's start): the server echoes it in the
//! result's `input`, so every receiver can compute the latency from the result alone. Student IDs
//! are `9` followed by the student's number, so the server must take IDs that are not on the
//! roster (`[calc] roster = "open"`, as in `bench/sockhub-bench-services.toml`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::Scenario;
use crate::error::ClientError;
use crate::clock::{Clock, Phase, Timeline};
use crate::latency::Latency;
use crate::lines::JsonLines;
use crate::{BenchError, Ctx, Report};

/// How long a student may take to connect and log in.
const LOGIN_TIMEOUT: Duration = Duration::from_secs(30);

/// Options of `sockhub bench calc`.
#[derive(Debug, Clone, clap::Args, Serialize)]
pub struct Config {
    /// Students connected (all receive every result).
    #[arg(long, default_value_t = 50)]
    pub students: usize,
    /// Of them, how many send squares (default: all).
    #[arg(long)]
    pub senders: Option<usize>,
    /// Squares each sender keeps in flight.
    #[arg(long, default_value_t = 1)]
    pub window: usize,
    /// Seconds of warm-up (sent, not counted).
    #[arg(long, default_value_t = 1.0)]
    pub warmup: f64,
    /// Seconds to measure.
    #[arg(long, default_value_t = 10.0)]
    pub duration: f64,
    /// Seconds to wait after the measurement for the last results.
    #[arg(long, default_value_t = 5.0)]
    pub drain: f64,
}

/// Counters the students share.
#[derive(Default)]
struct Counts {
    logged_in: AtomicUsize,
    /// Squares sent while measuring.
    sent: AtomicU64,
    /// Own results received for squares sent while measuring.
    results: AtomicU64,
    /// Result lines received (own and others') for squares sent while measuring.
    deliveries: AtomicU64,
    errors: AtomicU64,
}

/// What one student measured.
#[derive(Default)]
struct Stats {
    own: Latency,
    broadcast: Latency,
    error: Option<String>,
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Request<'a> {
    Login { student_id: &'a str },
    Square { value: String },
    Quit,
}

/// The parts of a line a student looks at.
#[derive(Deserialize)]
struct Line<'a> {
    #[serde(rename = "type", borrow)]
    kind: &'a str,
    #[serde(default, borrow)]
    student_id: Option<&'a str>,
    #[serde(default, borrow)]
    input: Option<&'a str>,
}

impl Scenario for Config {
    const DEFAULT_PORT: u16 = 7003;

    async fn run(self, ctx: &Ctx) -> Result<Report, BenchError> {
        let senders = self.senders.unwrap_or(self.students).min(self.students);
        if self.students == 0 || self.window == 0 || self.duration <= 0.0 {
            return Err(BenchError::Invalid("need --students > 0, --window > 0 and --duration > 0".into()));
        }
        let clock = Clock::new();
        let counts = Arc::new(Counts::default());
        let (timeline_tx, timeline_rx) = tokio::sync::watch::channel(None::<Timeline>);
        let stop = CancellationToken::new();
        let connecting = Arc::new(Semaphore::new(ctx.connect_concurrency));
        ctx.progress.phase("logging in", self.students as u64, "students");
        let mut tasks = Vec::with_capacity(self.students);
        for i in 0..self.students {
            let student = Student {
                id: format!("9{i:07}"),
                addr: ctx.addr(i),
                sends: i < senders,
                window: self.window,
                clock,
            };
            tasks.push(tokio::spawn(student.run(
                Arc::clone(&counts),
                timeline_rx.clone(),
                stop.clone(),
                Arc::clone(&connecting),
            )));
        }
        let started = Instant::now();
        loop {
            let ready = counts.logged_in.load(Ordering::Relaxed);
            let finished = tasks.iter().filter(|t| t.is_finished()).count();
            ctx.progress.set(ready as u64, "");
            if ready + finished >= self.students || started.elapsed() > LOGIN_TIMEOUT {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let logged_in = counts.logged_in.load(Ordering::Relaxed);

        let warm = Duration::from_secs_f64(self.warmup.max(0.0));
        let measure = Duration::from_secs_f64(self.duration);
        let timeline = Timeline::starting(clock.now_ns(), warm, measure);
        timeline_tx.send_replace(Some(timeline));
        ctx.progress.phase("measuring", (warm + measure).as_secs().max(1), "s");
        let t0 = Instant::now();
        while t0.elapsed() < warm + measure {
            tokio::time::sleep(Duration::from_millis(200)).await;
            ctx.progress.set(t0.elapsed().as_secs(), format!("{} results", counts.results.load(Ordering::Relaxed)));
        }
        // Senders stop at the end of the measurement (they check the timeline); wait for every
        // measured result to reach everyone.
        let sent = || counts.sent.load(Ordering::Relaxed);
        let drain_until = Instant::now() + Duration::from_secs_f64(self.drain.max(0.0));
        while counts.deliveries.load(Ordering::Relaxed) < sent() * logged_in as u64 && Instant::now() < drain_until {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        stop.cancel();
        let mut own = Latency::new();
        let mut broadcast = Latency::new();
        let mut first_error = None;
        for task in tasks {
            if let Ok(stats) = task.await {
                own.merge(&stats.own);
                broadcast.merge(&stats.broadcast);
                if first_error.is_none() {
                    first_error = stats.error;
                }
            }
        }

        let secs = timeline.measured_secs();
        let sent = sent();
        let results = counts.results.load(Ordering::Relaxed);
        let deliveries = counts.deliveries.load(Ordering::Relaxed);
        let expected = sent * logged_in as u64;
        let mut report = Report::new("calc", &self);
        report.set("students_logged_in", logged_in);
        report.set("squares_sent", sent);
        report.set("results", results);
        report.set("results_per_sec", (results as f64 / secs).round());
        report.set("expected_deliveries", expected);
        report.set("received_deliveries", deliveries);
        report.set("missing_deliveries", expected.saturating_sub(deliveries));
        report.set("deliveries_per_sec", (deliveries as f64 / secs).round());
        report.latency("latency_own_result", own.summary());
        report.latency("latency_broadcast", broadcast.summary());
        if logged_in < self.students {
            report.problem(format!(
                "{} of {} students could not log in; first error: {}",
                self.students - logged_in,
                self.students,
                first_error.clone().unwrap_or_default()
            ));
        }
        let errors = counts.errors.load(Ordering::Relaxed);
        if errors > 0 {
            report.problem(format!("{errors} squares were answered with an error"));
        }
        if deliveries < expected {
            report.problem(format!("{} result deliveries are missing", expected - deliveries));
        }
        if results < sent {
            report.problem(format!("{} squares got no result", sent - results));
        }
        Ok(report)
    }
}

/// One student.
struct Student {
    id: String,
    addr: std::net::SocketAddr,
    sends: bool,
    window: usize,
    clock: Clock,
}

impl Student {
    async fn run(
        self,
        counts: Arc<Counts>,
        mut timeline: tokio::sync::watch::Receiver<Option<Timeline>>,
        stop: CancellationToken,
        connecting: Arc<Semaphore>,
    ) -> Stats {
        let mut stats = Stats::default();
        let mut conn = {
            let _permit = connecting.acquire().await.expect("never closed");
            match tokio::time::timeout(LOGIN_TIMEOUT, self.login()).await {
                Ok(Ok(conn)) => conn,
                Ok(Err(e)) => {
                    stats.error = Some(e.to_string());
                    return stats;
                }
                Err(_) => {
                    stats.error = Some("no welcome in time".into());
                    return stats;
                }
            }
        };
        counts.logged_in.fetch_add(1, Ordering::Relaxed);
        let Ok(timeline) = timeline.wait_for(Option::is_some).await.map(|t| t.expect("is some")) else {
            return stats;
        };
        let mut in_flight = 0;
        let mut sending = self.sends;
        loop {
            // Top up the window, in one write.
            while sending && in_flight < self.window {
                let now = self.clock.now_ns();
                match timeline.phase(now) {
                    Phase::After => sending = false,
                    phase => {
                        if phase == Phase::Measured {
                            counts.sent.fetch_add(1, Ordering::Relaxed);
                        }
                        conn.push(&Request::Square { value: now.to_string() });
                        in_flight += 1;
                    }
                }
            }
            if let Err(e) = conn.flush().await {
                stats.error = Some(e.to_string());
                break;
            }
            let line = tokio::select! {
                () = stop.cancelled() => break,
                line = conn.next_line() => line,
            };
            let Some(Ok(line)) = line else { break };
            let now = self.clock.now_ns();
            let Ok(line) = serde_json::from_str::<Line>(&line) else { continue };
            match line.kind {
                "result" => {
                    let mine = line.student_id == Some(self.id.as_str());
                    if mine {
                        in_flight -= 1;
                    }
                    let Some(sent) = line.input.and_then(|i| i.parse::<u64>().ok()) else { continue };
                    if timeline.phase(sent) != Phase::Measured {
                        continue;
                    }
                    counts.deliveries.fetch_add(1, Ordering::Relaxed);
                    if mine {
                        counts.results.fetch_add(1, Ordering::Relaxed);
                        stats.own.record_ns(now.saturating_sub(sent));
                    } else {
                        stats.broadcast.record_ns(now.saturating_sub(sent));
                    }
                }
                "error" => {
                    counts.errors.fetch_add(1, Ordering::Relaxed);
                    in_flight = in_flight.saturating_sub(1);
                }
                _ => {}
            }
        }
        let _ = conn.send(&Request::Quit).await;
        stats
    }

    async fn login(&self) -> Result<JsonLines, ClientError> {
        let mut conn = JsonLines::connect(self.addr).await?;
        conn.send(&Request::Login { student_id: &self.id }).await?;
        conn.expect::<serde_json::Value>(|v| v["type"] == "welcome").await?;
        Ok(conn)
    }
}
