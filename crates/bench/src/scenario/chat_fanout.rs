//! `chat-fanout`: N clients in one room (or spread over `--rooms` rooms), S of them sending R
//! messages/s each for D seconds.
//!
//! Every message is delivered to every client of its room, the sender included (sockhub's chat
//! echoes a line to its sender; a `raw` peer broadcasts to everyone), so a run with one room
//! expects `messages sent × clients` deliveries and reports any that are missing. Over IRC
//! (`--proto irc`, any IRC server) the clients join one channel (`--channel`, or one per room)
//! and the sender is included only when the server acknowledged `echo-message`, which the clients
//! request unless told not to; without it a message is expected at every reader but its sender.
//! The report says how many clients had their lines echoed (`irc_echo_clients`). With several
//! rooms (see [`crate::rooms`]) each room counts on its own: the messages its senders sent times
//! its reading clients, and a message that reaches a client of another room is reported as a
//! foreign delivery, never counted as one. Latency is from the
//! send timestamp in the message to the moment a client read it, over every delivery of every
//! message sent during the measured window.
//!
//! The run: connect and log in everyone (joins are announced to the room, which is why a big room
//! takes a while), warm up, measure, then drain until every expected delivery has arrived or the
//! drain time is over. The engine here, [`fanout`], also runs the slow-consumers scenario.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::Scenario;
use crate::client::{self, Plan, Proto, Sending, Shared, Stats, Target};
use crate::clock::Timeline;
use crate::latency::{Latency, LatencySummary};
use crate::rooms::{Seat, readers_per_room};
use crate::{BenchError, Ctx, Report};

/// How often the coordinator looks at the counters and updates the progress bar.
const POLL: Duration = Duration::from_millis(100);
/// Read buffer budget of the whole generator; each client gets a share, between the bounds below.
const READ_BUFFER_BUDGET: usize = 64 << 20;
const READ_BUFFER_MIN: usize = 4 << 10;
const READ_BUFFER_MAX: usize = 64 << 10;

/// `sockhub bench chat-fanout` options.
#[derive(Debug, Clone, clap::Args, Serialize)]
pub struct Config {
    /// Clients in the room (all of them receive every message).
    #[arg(long, default_value_t = 100)]
    pub clients: usize,
    /// How many of them send.
    #[arg(long, default_value_t = 10)]
    pub senders: usize,
    /// Messages per second per sender.
    #[arg(long, default_value_t = 1000.0)]
    pub rate: f64,
    /// Seconds of measurement.
    #[arg(long, default_value_t = 10.0)]
    pub duration: f64,
    /// Seconds of sending before measurement starts (not counted).
    #[arg(long, default_value_t = 2.0)]
    pub warmup: f64,
    /// Seconds allowed after the measurement for the last deliveries to arrive.
    #[arg(long, default_value_t = 10.0)]
    pub drain: f64,
    /// Bytes per message line (without the newline; at least the timestamp fields).
    #[arg(long, default_value_t = 32)]
    pub size: usize,
    /// `sockhub`: log in to the chat; `raw`: a peer server without login that broadcasts every line.
    #[arg(long, value_enum, default_value_t = Target::Sockhub)]
    pub target: Target,
    /// Chat rooms to spread the clients (and the senders) over: client i joins room i % R. With 1
    /// every client stays in the room the login puts it in, as without rooms.
    #[arg(long, default_value_t = 1)]
    pub rooms: usize,
    /// `text`: sockhub's chat (or a raw peer); `irc`: any IRC server (sockhub's `[irc]` port,
    /// 6667 by default, InspIRCd...): register, join a channel, PRIVMSG to it.
    #[arg(long, value_enum, default_value_t = Proto::Text)]
    pub proto: Proto,
    /// IRC: the channel every client joins (with --rooms R, channel i % R is named after the run).
    #[arg(long, default_value = "#lobby")]
    pub channel: String,
    /// IRC: do not request `echo-message`; every message is then expected at every reader of its
    /// channel but its sender.
    #[arg(long)]
    pub no_echo_message: bool,
}

impl Scenario for Config {
    const DEFAULT_PORT: u16 = 7001;

    fn default_port(&self) -> u16 {
        self.proto.default_port()
    }

    async fn run(self, ctx: &Ctx) -> Result<Report, BenchError> {
        let mut report = Report::new("chat-fanout", &self);
        let spec = Spec::from_config(&self, 0)?;
        let outcome = fanout(ctx, &spec, "").await?;
        outcome.fill(&mut report, "");
        outcome.problems(&mut report, "", true);
        Ok(report)
    }
}

/// One fan-out run, as the engine sees it.
#[derive(Debug, Clone)]
pub(crate) struct Spec {
    pub clients: usize,
    pub senders: usize,
    pub rate: f64,
    pub size: usize,
    pub warmup: Duration,
    pub duration: Duration,
    pub drain: Duration,
    pub target: Target,
    /// Rooms the clients are spread over (1: the login's room only).
    pub rooms: usize,
    /// IRC: the channel when there is one room, and whether to request `echo-message`.
    pub channel: String,
    pub echo: bool,
    /// Clients (the last ones) that never read.
    pub non_readers: usize,
    /// Sample the server's memory during the run.
    pub sample_memory: bool,
}

impl Spec {
    pub(crate) fn from_config(c: &Config, non_readers: usize) -> Result<Self, BenchError> {
        Ok(Spec {
            clients: c.clients,
            senders: c.senders,
            rate: c.rate,
            size: c.size,
            warmup: secs(c.warmup),
            duration: secs(c.duration),
            drain: secs(c.drain),
            target: c.proto.target(c.target)?,
            rooms: c.rooms,
            channel: c.channel.clone(),
            echo: !c.no_echo_message,
            non_readers,
            sample_memory: false,
        })
    }

    fn validate(&self) -> Result<(), BenchError> {
        let readers = self.clients.saturating_sub(self.non_readers);
        if self.clients == 0 || readers == 0 {
            return Err(BenchError::Invalid("at least one client must read".into()));
        }
        if self.senders > readers {
            return Err(BenchError::Invalid(format!("{} senders but only {readers} reading clients", self.senders)));
        }
        if self.rooms == 0 || self.rooms > readers {
            return Err(BenchError::Invalid(format!("--rooms {} needs between 1 and {readers} rooms (one reading client each)", self.rooms)));
        }
        if self.rooms > 1 && self.target == Target::Raw {
            return Err(BenchError::Invalid("--rooms needs --target sockhub (a raw peer has no rooms)".into()));
        }
        if self.target == Target::Irc {
            let bad = |c: char| c.is_whitespace() || c == ',' || c == '\0';
            if !self.channel.starts_with(['#', '&']) || self.channel.contains(bad) {
                return Err(BenchError::Invalid(format!("--channel {:?} is not an IRC channel name", self.channel)));
            }
            // `PRIVMSG #channel :` + the text + CR LF within IRC's 512 bytes.
            if self.size + self.channel.len().max(40) + 12 > 512 {
                return Err(BenchError::Invalid("--size is too big for one IRC line (512 bytes)".into()));
            }
        }
        if !(self.rate.is_finite() && self.rate > 0.0) || self.duration.is_zero() {
            return Err(BenchError::Invalid("--rate and --duration must be positive".into()));
        }
        Ok(())
    }
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(if s.is_finite() { s.max(0.0) } else { 0.0 })
}

/// What a fan-out run measured.
#[derive(Debug, Clone)]
pub(crate) struct Outcome {
    pub clients: usize,
    pub readers: usize,
    pub connect_secs: f64,
    pub measured_secs: f64,
    pub offered_per_sec: f64,
    pub sent_measured: u64,
    pub expected: u64,
    pub received: u64,
    pub drain_ms: u64,
    pub latency: LatencySummary,
    pub error_lines: u64,
    pub first_error_line: Option<String>,
    pub readers_closed: usize,
    pub non_readers_closed: usize,
    pub non_readers_told_too_slow: usize,
    pub client_errors: Vec<String>,
    pub rss_before: Option<u64>,
    pub rss_max: Option<u64>,
    pub rss_after: Option<u64>,
    /// Per room (one entry per room; one in all when the run has one room).
    pub rooms: Vec<RoomOutcome>,
    /// Messages that reached a client of another room than their sender's.
    pub foreign: u64,
    /// IRC: how many clients had `echo-message` (their own messages count as deliveries).
    pub irc_echo_clients: Option<usize>,
}

/// One room's deliveries.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RoomOutcome {
    pub expected: u64,
    pub received: u64,
}

impl Outcome {
    pub fn missing(&self) -> u64 {
        self.expected.saturating_sub(self.received)
    }

    pub fn deliveries_per_sec(&self) -> f64 {
        self.received as f64 / self.measured_secs
    }

    /// Write the results under names starting with `prefix`.
    pub fn fill(&self, r: &mut Report, prefix: &str) {
        let k = |name: &str| format!("{prefix}{name}");
        r.set(&k("connect_secs"), round2(self.connect_secs));
        if let Some(echo) = self.irc_echo_clients {
            // Whether a message counts at its sender too: with echo-message it does.
            r.set(&k("irc_echo_clients"), echo);
            let each = match echo {
                0 => "every reader but its sender (no echo-message)",
                e if e == self.clients => "every reader, its sender included (echo-message)",
                _ => "every reader; but its sender where echo-message was refused",
            };
            r.set(&k("irc_deliveries_per_message"), each);
        }
        r.set(&k("messages_sent"), self.sent_measured);
        r.set(&k("messages_per_sec"), round2(self.sent_measured as f64 / self.measured_secs));
        r.set(&k("messages_per_sec_requested"), round2(self.offered_per_sec));
        r.set(&k("expected_deliveries"), self.expected);
        r.set(&k("received_deliveries"), self.received);
        r.set(&k("missing_deliveries"), self.missing());
        r.set(&k("deliveries_per_sec"), self.deliveries_per_sec().round());
        r.set(&k("drain_ms"), self.drain_ms);
        r.latency(&k("latency"), self.latency);
        if self.clients > self.readers {
            r.set(&k("non_readers"), self.clients - self.readers);
            r.set(&k("non_readers_disconnected"), self.non_readers_closed);
            r.set(&k("non_readers_told_too_slow"), self.non_readers_told_too_slow);
        }
        if let Some(b) = self.rss_before {
            r.set(&k("server_rss_before_bytes"), b);
        }
        if let Some(m) = self.rss_max {
            r.set(&k("server_rss_max_bytes"), m);
        }
        if let Some(a) = self.rss_after {
            r.set(&k("server_rss_after_bytes"), a);
        }
        if self.rooms.len() > 1 {
            r.set(&k("rooms"), self.rooms.len());
            r.set(&k("rooms_missing_deliveries"), self.rooms.iter().filter(|o| o.received < o.expected).count());
            r.set(&k("foreign_deliveries"), self.foreign);
        }
    }

    /// Record what went wrong; `rate_matters`: whether falling short of the requested send rate
    /// is a problem (it is for a throughput run).
    pub fn problems(&self, r: &mut Report, label: &str, rate_matters: bool) {
        if self.missing() > 0 {
            r.problem(format!("{label}{} of {} deliveries missing", self.missing(), self.expected));
        }
        if self.rooms.len() > 1 {
            let short = self.rooms.iter().enumerate().filter(|(_, o)| o.received != o.expected);
            for (i, o) in short.take(3) {
                r.problem(format!("{label}room {i}: {} of {} deliveries arrived", o.received, o.expected));
            }
        }
        if self.foreign > 0 {
            r.problem(format!("{label}{} messages reached a client of another room", self.foreign));
        }
        if self.received > self.expected {
            r.problem(format!("{label}{} deliveries more than expected", self.received - self.expected));
        }
        if self.error_lines > 0 {
            r.problem(format!(
                "{label}{} error replies, e.g. {}",
                self.error_lines,
                self.first_error_line.as_deref().unwrap_or("?")
            ));
        }
        if self.readers_closed > 0 {
            r.problem(format!("{label}the server closed {} reading clients", self.readers_closed));
        }
        if let Some(e) = self.client_errors.first() {
            r.problem(format!("{label}{} client errors, e.g. {e}", self.client_errors.len()));
        }
        let achieved = self.sent_measured as f64 / self.measured_secs;
        if rate_matters && achieved < 0.95 * self.offered_per_sec {
            r.problem(format!(
                "{label}senders sent {achieved:.0} messages/s of the {:.0} requested (server or generator saturated)",
                self.offered_per_sec
            ));
        }
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Run one fan-out: connect everyone, warm up, measure, drain, collect.
pub(crate) async fn fanout(ctx: &Ctx, spec: &Spec, label: &str) -> Result<Outcome, BenchError> {
    spec.validate()?;
    let readers = spec.clients - spec.non_readers;
    let shared = Arc::new(Shared::with_rooms(ctx.connect_concurrency, spec.rooms));
    let rss_before = ctx.probe.resident_bytes().await?;
    let read_buffer = (READ_BUFFER_BUDGET / spec.clients).clamp(READ_BUFFER_MIN, READ_BUFFER_MAX);
    // Names unique to this process and run, so a previous run's departing clients never collide.
    let prefix = format!("b{:x}{}", std::process::id() & 0xffff, label.trim_end_matches('-'));

    let started = Instant::now();
    let handles: Vec<_> = (0..spec.clients)
        .map(|i| {
            let plan = Plan {
                addr: ctx.addr(i),
                target: spec.target,
                name: format!("{prefix}-{i}"),
                reads: i < readers,
                send: (i < spec.senders).then_some(Sending { rate: spec.rate, size: spec.size }),
                sender_id: i,
                read_buffer,
                tls: ctx.tls.clone(),
                seat: Seat::of(i, spec.rooms, &prefix),
                channel: spec.channel.clone(),
                echo: spec.echo,
            };
            tokio::spawn(client::run(plan, Arc::clone(&shared)))
        })
        .collect();

    let failed = shared.wait_connected(spec.clients, &ctx.progress, label).await;
    if failed > 0 {
        shared.stop.cancel();
        for h in handles {
            let _ = h.await;
        }
        let first = shared.first_error.lock().expect("not poisoned").clone().unwrap_or_default();
        return Err(BenchError::Clients { failed, total: spec.clients, first });
    }
    let connect_secs = started.elapsed().as_secs_f64();

    let timeline = Timeline::starting(shared.clock.now_ns(), spec.warmup, spec.duration);
    shared.start(timeline);
    let sampler = spec.sample_memory.then(|| tokio::spawn(sample_memory(ctx.probe.clone(), shared.stop.clone())));

    let total = (spec.warmup + spec.duration).as_secs();
    ctx.progress.phase(&format!("{label}run"), total, "s");
    let mut last = (shared.clock.now_ns(), 0u64);
    loop {
        tokio::time::sleep(POLL * 5).await;
        let now = shared.clock.now_ns();
        let lines = shared.lines.load(Ordering::Relaxed);
        let rate = (lines - last.1) as f64 / ((now - last.0) as f64 / 1e9);
        last = (now, lines);
        let phase = if now < timeline.measure_start { "warm-up" } else { "measuring" };
        ctx.progress.set((now - timeline.warm_start) / 1_000_000_000, format!("{phase}, {rate:.0} lines/s received"));
        if now >= timeline.measure_end {
            break;
        }
    }

    // Drain: wait for the senders' final counts, then for every expected delivery.
    ctx.progress.phase(&format!("{label}drain"), 0, "");
    let drain_deadline = tokio::time::Instant::now() + spec.drain;
    while shared.senders_done.load(Ordering::Relaxed) < spec.senders && tokio::time::Instant::now() < drain_deadline {
        tokio::time::sleep(POLL / 10).await;
    }
    let sent_measured = shared.sent_measured.load(Ordering::Relaxed);
    let mut rooms: Vec<RoomOutcome> = readers_per_room(readers, spec.rooms)
        .into_iter()
        .zip(shared.sent_by_room.iter().zip(&shared.unechoed_by_room))
        .map(|(readers, (sent, unechoed))| {
            // A sender always reads (the senders are the first clients): a message it does not
            // get back is expected at one reader fewer.
            let expected = sent.load(Ordering::Relaxed) * readers - unechoed.load(Ordering::Relaxed);
            RoomOutcome { expected, received: 0 }
        })
        .collect();
    let expected = rooms.iter().map(|r| r.expected).sum();
    ctx.progress.phase(&format!("{label}drain"), expected, "deliveries");
    while shared.received.load(Ordering::Relaxed) < expected && tokio::time::Instant::now() < drain_deadline {
        ctx.progress.set(shared.received.load(Ordering::Relaxed), "");
        tokio::time::sleep(POLL / 10).await;
    }
    let drain_ms = shared.clock.now_ns().saturating_sub(timeline.measure_end) / 1_000_000;
    let rss_after = ctx.probe.resident_bytes().await.ok().flatten();
    shared.stop.cancel();
    let rss_max = match sampler {
        Some(s) => s.await.ok().flatten(),
        None => None,
    };

    let mut latency = Latency::new();
    let mut outcome = Outcome {
        clients: spec.clients,
        readers,
        connect_secs,
        measured_secs: timeline.measured_secs(),
        offered_per_sec: spec.rate * spec.senders as f64,
        sent_measured,
        expected,
        received: 0,
        drain_ms,
        latency: latency.summary(),
        error_lines: 0,
        first_error_line: None,
        readers_closed: 0,
        non_readers_closed: 0,
        non_readers_told_too_slow: 0,
        client_errors: Vec::new(),
        rss_before,
        rss_max: rss_max.map(|m: u64| m.max(rss_after.unwrap_or(0))),
        rss_after,
        rooms: Vec::new(),
        foreign: 0,
        irc_echo_clients: (spec.target == Target::Irc).then(|| shared.echo_clients.load(Ordering::Relaxed)),
    };
    for (i, h) in handles.into_iter().enumerate() {
        let stats: Stats = h.await.unwrap_or_default();
        outcome.foreign += stats.foreign;
        if i < readers {
            latency.merge(&stats.latency);
            outcome.received += stats.measured;
            rooms[i % spec.rooms].received += stats.measured;
            if stats.closed_by_server {
                outcome.readers_closed += 1;
            }
        } else {
            outcome.non_readers_closed += usize::from(stats.closed_by_server);
            outcome.non_readers_told_too_slow +=
                usize::from(stats.bye.as_deref().is_some_and(|b| b.contains("too slow")));
        }
        outcome.error_lines += stats.error_lines;
        if outcome.first_error_line.is_none() {
            outcome.first_error_line = stats.first_error_line;
        }
        if let Some(e) = stats.error.filter(|_| i < readers) {
            outcome.client_errors.push(e);
        }
    }
    outcome.latency = latency.summary();
    outcome.rooms = rooms;
    Ok(outcome)
}

/// The highest resident memory seen, sampled twice a second until `stop`.
async fn sample_memory(probe: crate::probe::Probe, stop: tokio_util::sync::CancellationToken) -> Option<u64> {
    let mut max = None;
    loop {
        if let Ok(Some(rss)) = probe.resident_bytes().await {
            max = Some(max.unwrap_or(0).max(rss));
        }
        tokio::select! {
            _ = stop.cancelled() => return max,
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
        }
    }
}
