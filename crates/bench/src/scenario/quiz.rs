//! `quiz`: N bot players in one round — answers per second, and how exactly the server keeps
//! its deadlines under that load.
//!
//! Every bot logs in (JSON mode), works out each problem (the same arithmetic as the server,
//! [`Problem::answer`]) and answers. Most answers go out at once: they measure answers per second
//! and the time from an answer to its verdict. A share of the questions (`--probe-share`) are
//! answered deliberately close to the limit instead, measured from when the question *arrived*
//! (the server sent it earlier than that, so these are conservative):
//!
//! - **before** probes answer `--margin-ms` before the limit: each must be judged in time
//!   (`correct`); one judged `late` means the server's deadline came early by more than the margin.
//! - **after** probes answer `--margin-ms` after the limit: each must be judged `late`, and the
//!   server first sends `timeout` at the deadline. The report shows how late the timeout arrived
//!   after the limit (bot's clock: timer accuracy plus delivery), and how far past the limit the
//!   server read the late answer (server's clock, its `elapsed_ms - deadline_ms`). A probe whose
//!   problem comes back (after the server's pause, `quiz.pause_secs`) before its answer is read
//!   cannot be judged late; it is counted as void, not as a probe.
//!
//! Every verdict is also checked against the server's own `elapsed_ms`: a `late` with less than
//! the limit, or a `correct` with more, is a misjudgement. A before-probe judged late is not one:
//! the server read it after the limit because the question and the answer together took longer
//! than the margin to travel (the report shows by how much, by the server's clock).
//!
//! With `--metrics`, the report also has the server's own account (`server_deadlines`): how many
//! timeouts it queued during the run and how many of them within 10 ms of the deadline by its
//! clock (the `sockhub_deadline_lateness_seconds` histogram), and the latest one since the server
//! started. That is the judgement alone, without the trip to the bot and the bot's scheduling.
//!
//! The round must be running (`[quiz] start = "auto"`), and the pauses between problems come from
//! the server's `quiz.pause_secs`, so answers per second depend on the server's configuration as
//! much as on its speed; `bench/sockhub-bench.toml` sets short pauses.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sockhub_proto::problem::Problem;
use sockhub_proto::quiz::Outcome;
use tokio::sync::Semaphore;
use tokio::time::{Instant, sleep_until};
use tokio_util::sync::CancellationToken;

use super::Scenario;
use crate::error::ClientError;
use crate::latency::Latency;
use crate::probe::sum_samples;
use crate::lines::JsonLines;
use crate::{BenchError, Ctx, Report};

/// How long a bot may take to connect and join.
const JOIN_TIMEOUT: Duration = Duration::from_secs(30);

/// Options of `sockhub bench quiz`.
#[derive(Debug, Clone, clap::Args, Serialize)]
pub struct Config {
    /// Bot players.
    #[arg(long, default_value_t = 100)]
    pub bots: usize,
    /// Seconds to measure, once every bot has joined.
    #[arg(long, default_value_t = 10.0)]
    pub duration: f64,
    /// Share of questions answered near the limit (half just before, half just after).
    #[arg(long, default_value_t = 0.1)]
    pub probe_share: f64,
    /// How far from the limit the probes answer, in milliseconds.
    #[arg(long, default_value_t = 10)]
    pub margin_ms: u64,
    /// Bot names are this prefix and a number.
    #[arg(long, default_value = "bot")]
    pub prefix: String,
}

/// The server's deadline histogram (`/metrics`), read before and after the measured window.
#[derive(Debug, Clone, Copy, Default)]
struct ServerDeadlines {
    count: u64,
    within_10ms: u64,
    max_secs: f64,
}

impl ServerDeadlines {
    /// `None` without `/metrics` (or if it cannot be read). One fetch, so the values agree with
    /// each other; before the server's first timeout there are no samples yet: zeros.
    async fn read(ctx: &Ctx) -> Option<ServerDeadlines> {
        let text = ctx.probe.metrics_text().await.ok()??;
        let name = "sockhub_deadline_lateness_seconds";
        let value = |sample: &str| sum_samples(&text, sample).unwrap_or(0.0);
        Some(ServerDeadlines {
            count: value(&format!("{name}_count{{service=\"quiz\"}}")) as u64,
            within_10ms: value(&format!("{name}_bucket{{service=\"quiz\",le=\"0.01\"}}")) as u64,
            max_secs: value("sockhub_deadline_lateness_max_seconds{service=\"quiz\"}"),
        })
    }
}

/// Counters the bots share; each is updated once per event.
#[derive(Default)]
struct Counts {
    joined: AtomicUsize,
    answers: AtomicU64,
    correct: AtomicU64,
    wrong: AtomicU64,
    late: AtomicU64,
    timeouts: AtomicU64,
    before_sent: AtomicU64,
    before_in_time: AtomicU64,
    before_late: AtomicU64,
    misjudged: AtomicU64,
    after_sent: AtomicU64,
    after_late: AtomicU64,
    after_accepted: AtomicU64,
    after_void: AtomicU64,
}

impl Counts {
    fn add(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
    fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

/// What a bot does with one question.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plan {
    Now,
    Before,
    After,
    /// The problem came back (after the timeout and a short pause) before an after-probe's
    /// answer was read: that answer will be judged against the new asking. Not a probe.
    Raced,
}

/// What a bot measured.
#[derive(Default)]
struct BotStats {
    /// Answer sent at once → its verdict.
    answer_to_verdict: Latency,
    /// The limit (question arrival + answer time) → the `timeout` verdict's arrival.
    timeout_lag: Latency,
    /// An after-probe's lateness by the server's clock (`elapsed_ms - deadline_ms`).
    late_by: Latency,
    /// The same for a before-probe that was read after the limit.
    before_late_by: Latency,
    error: Option<String>,
}

/// The events a bot reads (others are skipped).
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Event {
    Welcome { answer_ms: u64, state: String },
    RoundStarted {},
    Question { id: u64, text: String },
    Verdict { id: u64, result: Outcome, elapsed_ms: u64, deadline_ms: u64 },
    Bye {},
    #[serde(other)]
    Other,
}

/// The requests a bot sends.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Request<'a> {
    Login { name: &'a str },
    Answer { id: u64, value: String },
    Quit,
}

/// Whether the measurement window is open, shared by the bots.
struct Window {
    open: std::sync::atomic::AtomicBool,
}

impl Scenario for Config {
    const DEFAULT_PORT: u16 = 7002;

    async fn run(self, ctx: &Ctx) -> Result<Report, BenchError> {
        if self.bots == 0 || !(0.0..=1.0).contains(&self.probe_share) || self.duration <= 0.0 {
            return Err(BenchError::Invalid("need --bots > 0, --duration > 0 and --probe-share in 0..=1".into()));
        }
        let counts = Arc::new(Counts::default());
        let window = Arc::new(Window { open: false.into() });
        let stop = CancellationToken::new();
        let joining = Arc::new(Semaphore::new(ctx.connect_concurrency));
        ctx.progress.phase("joining", self.bots as u64, "bots");
        let mut tasks = Vec::with_capacity(self.bots);
        for i in 0..self.bots {
            let bot = Bot {
                name: format!("{}{i}", self.prefix),
                addr: ctx.addr(i),
                probe_share: self.probe_share,
                margin: Duration::from_millis(self.margin_ms),
                // Spread probes evenly instead of drawing them at random: reproducible, and
                // every bot contributes.
                seed: i as u64,
            };
            tasks.push(tokio::spawn(bot.run(
                Arc::clone(&counts),
                Arc::clone(&window),
                stop.clone(),
                Arc::clone(&joining),
            )));
        }
        // Wait for everyone to join (or fail).
        let started = Instant::now();
        loop {
            let joined = counts.joined.load(Ordering::Relaxed);
            let finished = tasks.iter().filter(|t| t.is_finished()).count();
            ctx.progress.set(joined as u64, "");
            if joined + finished >= self.bots || started.elapsed() > JOIN_TIMEOUT {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let joined = counts.joined.load(Ordering::Relaxed);

        // Measure.
        let server_before = ServerDeadlines::read(ctx).await;
        let measure = Duration::from_secs_f64(self.duration);
        ctx.progress.phase("measuring", measure.as_secs().max(1), "s");
        window.open.store(true, Ordering::Relaxed);
        let t0 = Instant::now();
        while t0.elapsed() < measure {
            tokio::time::sleep(Duration::from_millis(200).min(measure.saturating_sub(t0.elapsed()))).await;
            ctx.progress.set(t0.elapsed().as_secs(), format!("{} answers", Counts::get(&counts.answers)));
        }
        window.open.store(false, Ordering::Relaxed);
        let measured_secs = t0.elapsed().as_secs_f64();
        // Let the probes in flight be judged (an after-probe needs the limit plus the margin).
        tokio::time::sleep(Duration::from_millis(200)).await;
        stop.cancel();
        let server_after = ServerDeadlines::read(ctx).await;

        let mut answer_to_verdict = Latency::new();
        let mut timeout_lag = Latency::new();
        let mut late_by = Latency::new();
        let mut before_late_by = Latency::new();
        let mut first_error = None;
        for task in tasks {
            if let Ok(stats) = task.await {
                answer_to_verdict.merge(&stats.answer_to_verdict);
                timeout_lag.merge(&stats.timeout_lag);
                late_by.merge(&stats.late_by);
                before_late_by.merge(&stats.before_late_by);
                if first_error.is_none() {
                    first_error = stats.error;
                }
            }
        }

        let c = &counts;
        let answers = Counts::get(&c.answers);
        let mut report = Report::new("quiz", &self);
        report.set("bots_joined", joined);
        report.set("measured_secs", (measured_secs * 100.0).round() / 100.0);
        report.set("answers", answers);
        report.set("answers_per_sec", (answers as f64 / measured_secs).round());
        report.set(
            "verdicts",
            serde_json::json!({
                "correct": Counts::get(&c.correct),
                "wrong": Counts::get(&c.wrong),
                "late": Counts::get(&c.late),
                "timeout": Counts::get(&c.timeouts),
            }),
        );
        report.latency("answer_to_verdict", answer_to_verdict.summary());
        report.set(
            "before_limit_probes",
            serde_json::json!({
                "sent": Counts::get(&c.before_sent),
                "in_time": Counts::get(&c.before_in_time),
                "judged_late": Counts::get(&c.before_late),
            }),
        );
        report.set(
            "after_limit_probes",
            serde_json::json!({
                "sent": Counts::get(&c.after_sent),
                "judged_late": Counts::get(&c.after_late),
                "accepted": Counts::get(&c.after_accepted),
                "void": Counts::get(&c.after_void),
            }),
        );
        let lag = timeout_lag.summary();
        report.latency("timeout_after_limit", lag);
        report.latency("late_answer_read_after_limit", late_by.summary());
        report.latency("before_probe_read_after_limit", before_late_by.summary());
        report.set("misjudged_by_server_clock", Counts::get(&c.misjudged));
        let margin_us = self.margin_ms * 1000;
        report.set("deadlines_within_margin", lag.max_us <= margin_us && Counts::get(&c.before_late) == 0);
        if let (Some(before), Some(after)) = (server_before, server_after) {
            let timeouts = after.count.saturating_sub(before.count);
            let within = after.within_10ms.saturating_sub(before.within_10ms);
            report.set(
                "server_deadlines",
                serde_json::json!({
                    "timeouts": timeouts,
                    "within_10ms": within,
                    "max_ms_since_start": (after.max_secs * 1e6).round() / 1e3,
                }),
            );
            if within < timeouts {
                report.problem(format!(
                    "{} of {timeouts} timeouts were queued more than 10 ms after the deadline by the server's clock",
                    timeouts - within
                ));
            }
        }

        if joined < self.bots {
            report.problem(format!(
                "{} of {} bots could not join; first error: {}",
                self.bots - joined,
                self.bots,
                first_error.clone().unwrap_or_default()
            ));
        }
        if Counts::get(&c.after_accepted) > 0 {
            report.problem(format!(
                "{} answers sent after the limit were accepted as in time",
                Counts::get(&c.after_accepted)
            ));
        }
        if Counts::get(&c.before_late) > 0 {
            report.problem(format!(
                "{} answers sent {} ms before the limit (by the bot's clock) were read after it by the \
                 server: the question and the answer took longer than the margin to travel",
                Counts::get(&c.before_late),
                self.margin_ms
            ));
        }
        if Counts::get(&c.misjudged) > 0 {
            report.problem(format!(
                "{} verdicts contradict the server's own elapsed time",
                Counts::get(&c.misjudged)
            ));
        }
        if answers == 0 {
            report.problem("no answer was judged while measuring (is a round running?)");
        }
        Ok(report)
    }
}

/// One bot player.
struct Bot {
    name: String,
    addr: std::net::SocketAddr,
    probe_share: f64,
    margin: Duration,
    seed: u64,
}

/// The question a bot is working on.
struct Open {
    id: u64,
    plan: Plan,
    arrived: Instant,
    /// When the answer is to be sent; `None` once sent.
    send_at: Option<Instant>,
    answer: i64,
    sent: Option<Instant>,
    /// Whether the question arrived while measuring.
    measured: bool,
}

impl Bot {
    async fn run(
        self,
        counts: Arc<Counts>,
        window: Arc<Window>,
        stop: CancellationToken,
        joining: Arc<Semaphore>,
    ) -> BotStats {
        let mut stats = BotStats::default();
        let conn = {
            let _permit = joining.acquire().await.expect("never closed");
            tokio::select! {
                () = stop.cancelled() => return stats,
                r = tokio::time::timeout(JOIN_TIMEOUT, self.join()) => match r {
                    Ok(Ok(joined)) => joined,
                    Ok(Err(e)) => { stats.error = Some(e.to_string()); return stats; }
                    Err(_) => { stats.error = Some("no welcome in time".into()); return stats; }
                },
            }
        };
        counts.joined.fetch_add(1, Ordering::Relaxed);
        let (mut conn, answer_ms) = conn;
        let answer_time = Duration::from_millis(answer_ms);
        let mut open: Option<Open> = None;
        let mut questions = self.seed;
        // Probes go to every `every`-th question, alternating before and after.
        let every = if self.probe_share > 0.0 { (1.0 / self.probe_share).round().max(1.0) as u64 } else { u64::MAX };
        let far = Instant::now() + Duration::from_secs(86_400);
        loop {
            let wake = open.as_ref().and_then(|o| o.send_at).unwrap_or(far);
            tokio::select! {
                () = stop.cancelled() => break,
                () = sleep_until(wake) => {
                    if let Some(o) = open.as_mut() {
                        o.send_at = None;
                        o.sent = Some(Instant::now());
                        if let Err(e) = conn.send(&Request::Answer { id: o.id, value: o.answer.to_string() }).await {
                            stats.error = Some(e.to_string());
                            break;
                        }
                    }
                }
                line = conn.next_line() => {
                    let Some(Ok(line)) = line else { break };
                    let now = Instant::now();
                    let Ok(event) = serde_json::from_str::<Event>(&line) else { continue };
                    match event {
                        Event::Question { id, text } => {
                            let Some(problem) = Problem::parse(&text) else {
                                stats.error = Some(format!("cannot read the problem {text:?}"));
                                break;
                            };
                            questions += 1;
                            let plan = match questions % every {
                                0 if (questions / every) % 2 == 0 => Plan::Before,
                                0 => Plan::After,
                                _ => Plan::Now,
                            };
                            let send_at = match plan {
                                Plan::Now | Plan::Raced => now,
                                Plan::Before => now + answer_time.saturating_sub(self.margin),
                                Plan::After => now + answer_time + self.margin,
                            };
                            let measured = window.open.load(Ordering::Relaxed);
                            if let Some(o) = open.as_ref().filter(|o| o.id == id && o.plan == Plan::After) {
                                // The server's pause after the timeout was shorter than the
                                // probe's margin: the probe cannot be judged late any more.
                                if o.measured {
                                    Counts::add(&counts.after_void);
                                }
                                if o.sent.is_some() {
                                    // Its answer is on the way; the verdict will be about it.
                                    open = Some(Open { id, plan: Plan::Raced, arrived: now, send_at: None, answer: o.answer, sent: o.sent, measured });
                                    continue;
                                }
                            }
                            open = Some(Open { id, plan, arrived: now, send_at: Some(send_at), answer: problem.answer(), sent: None, measured });
                            if plan == Plan::Now {
                                // Answer at once, without a trip through the timer.
                                let o = open.as_mut().expect("just set");
                                o.send_at = None;
                                o.sent = Some(now);
                                if let Err(e) = conn.send(&Request::Answer { id, value: o.answer.to_string() }).await {
                                    stats.error = Some(e.to_string());
                                    break;
                                }
                            }
                        }
                        Event::Verdict { id, result, elapsed_ms, deadline_ms } => {
                            let Some(o) = open.as_ref().filter(|o| o.id == id) else { continue };
                            if !o.measured {
                                if result != Outcome::Timeout {
                                    open = None;
                                }
                                continue;
                            }
                            match result {
                                Outcome::Timeout => {
                                    Counts::add(&counts.timeouts);
                                    let limit = o.arrived + answer_time;
                                    stats.timeout_lag.record_ns(now.saturating_duration_since(limit).as_nanos() as u64);
                                    // The answer (an after-probe's) is still to come: keep the question.
                                    continue;
                                }
                                Outcome::Correct => Counts::add(&counts.correct),
                                Outcome::Late => Counts::add(&counts.late),
                                _ => Counts::add(&counts.wrong),
                            }
                            Counts::add(&counts.answers);
                            // The server's verdict against its own clock (whole milliseconds).
                            if (result == Outcome::Late && elapsed_ms < deadline_ms)
                                || (result == Outcome::Correct && elapsed_ms > deadline_ms)
                            {
                                Counts::add(&counts.misjudged);
                            }
                            match o.plan {
                                Plan::Now => {
                                    if let Some(sent) = o.sent {
                                        stats.answer_to_verdict.record_ns(now.saturating_duration_since(sent).as_nanos() as u64);
                                    }
                                }
                                Plan::Before => {
                                    Counts::add(&counts.before_sent);
                                    if result == Outcome::Late {
                                        Counts::add(&counts.before_late);
                                        stats.before_late_by.record_ns(elapsed_ms.saturating_sub(deadline_ms) * 1_000_000);
                                    } else {
                                        Counts::add(&counts.before_in_time);
                                    }
                                }
                                Plan::Raced => {}
                                Plan::After => {
                                    Counts::add(&counts.after_sent);
                                    if result == Outcome::Late {
                                        Counts::add(&counts.after_late);
                                        stats.late_by.record_ns(elapsed_ms.saturating_sub(deadline_ms) * 1_000_000);
                                    } else {
                                        Counts::add(&counts.after_accepted);
                                    }
                                }
                            }
                            open = None;
                        }
                        Event::Bye {} => break,
                        _ => {}
                    }
                }
            }
        }
        let _ = conn.send(&Request::Quit).await;
        stats
    }

    /// Connect, log in and wait until the round is running; the connection and the answer time.
    async fn join(&self) -> Result<(JsonLines, u64), ClientError> {
        let mut conn = JsonLines::connect(self.addr).await?;
        conn.send(&Request::Login { name: &self.name }).await?;
        let (answer_ms, running) = match conn.expect::<Event>(|e| matches!(e, Event::Welcome { .. })).await? {
            Event::Welcome { answer_ms, state } => (answer_ms, state == "running"),
            _ => unreachable!("only a welcome is accepted"),
        };
        if !running {
            conn.expect::<Event>(|e| matches!(e, Event::RoundStarted {})).await?;
        }
        Ok((conn, answer_ms))
    }
}
