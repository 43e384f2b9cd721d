//! `connections`: open N idle chat connections, log each in, hold them, and report how much
//! memory the server spends per connection.
//!
//! The server's resident memory is read before the first connection and again once every
//! client is logged in and the room has gone quiet (every join is announced to everyone already
//! there, so N joins make about N²/2 notices, which the clients keep reading and discarding).
//! The difference divided by N is the cost of one logged-in connection: its task, buffers,
//! outbox, session and room entry, plus the allocator's overhead for them. With `--proto irc` the
//! clients register over IRC and join `--channel` instead (sockhub's `[irc]` port or any IRC
//! server).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::Scenario;
use crate::client::{self, Plan, Proto, Shared, Target};
use crate::{BenchError, Ctx, Report};

const POLL: Duration = Duration::from_millis(100);
/// Idle clients read only notices; a small buffer each keeps the generator itself small.
const READ_BUFFER: usize = 4 << 10;
/// The room counts as quiet once no line has arrived for this long.
const QUIET: Duration = Duration::from_secs(1);

/// `sockhub bench connections` options.
#[derive(Debug, Clone, clap::Args, Serialize)]
pub struct Config {
    /// Connections to open and log in.
    #[arg(long, default_value_t = 1000)]
    pub clients: usize,
    /// Seconds to hold them once everyone is in and the room is quiet, before measuring.
    #[arg(long, default_value_t = 2.0)]
    pub hold: f64,
    /// Seconds to wait at most for the join announcements to stop.
    #[arg(long, default_value_t = 120.0)]
    pub settle: f64,
    /// `sockhub`: log in to the chat; `raw`: a peer server without login.
    #[arg(long, value_enum, default_value_t = Target::Sockhub)]
    pub target: Target,
    /// `text`: sockhub's chat; `irc`: register over IRC and join `--channel`.
    #[arg(long, value_enum, default_value_t = Proto::Text)]
    pub proto: Proto,
    /// IRC: the channel every client joins.
    #[arg(long, default_value = "#lobby")]
    pub channel: String,
}

impl Scenario for Config {
    const DEFAULT_PORT: u16 = 7001;

    fn default_port(&self) -> u16 {
        self.proto.default_port()
    }

    async fn run(self, ctx: &Ctx) -> Result<Report, BenchError> {
        if self.clients == 0 {
            return Err(BenchError::Invalid("--clients must be at least 1".into()));
        }
        if !ctx.probe.can_read_memory() {
            return Err(BenchError::Invalid(
                "connections needs --metrics HOST:PORT (the server's web address) or --server-pid PID".into(),
            ));
        }
        let target = self.proto.target(self.target)?;
        let mut report = Report::new("connections", &self);
        let before = ctx.probe.resident_bytes().await?.unwrap_or(0);
        let shared = Arc::new(Shared::new(ctx.connect_concurrency));
        let prefix = format!("c{:x}", std::process::id() & 0xffff);
        let started = Instant::now();
        let handles: Vec<_> = (0..self.clients)
            .map(|i| {
                let plan = Plan {
                    addr: ctx.addr(i),
                    target,
                    name: format!("{prefix}-{i}"),
                    reads: true,
                    send: None,
                    sender_id: i,
                    read_buffer: READ_BUFFER,
                    tls: ctx.tls.clone(),
                    seat: None,
                    channel: self.channel.clone(),
                    echo: false,
                };
                tokio::spawn(client::run(plan, Arc::clone(&shared)))
            })
            .collect();

        shared.wait_connected(self.clients, &ctx.progress, "").await;
        let connect_secs = started.elapsed().as_secs_f64();

        // Wait for the join announcements to die down.
        ctx.progress.phase("settle", 0, "");
        let settle_deadline = Instant::now() + Duration::from_secs_f64(self.settle.max(0.0));
        let mut last = (shared.lines.load(Ordering::Relaxed), Instant::now());
        while Instant::now() < settle_deadline {
            tokio::time::sleep(POLL).await;
            let lines = shared.lines.load(Ordering::Relaxed);
            ctx.progress.set(0, format!("{lines} notices read"));
            if lines != last.0 {
                last = (lines, Instant::now());
            } else if last.1.elapsed() >= QUIET {
                break;
            }
        }
        let settled = last.1.elapsed() >= QUIET;
        let settle_secs = started.elapsed().as_secs_f64() - connect_secs;
        ctx.progress.phase("hold", 0, "");
        tokio::time::sleep(Duration::from_secs_f64(self.hold.max(0.0))).await;
        let after = ctx.probe.resident_bytes().await?.unwrap_or(0);
        let open = shared.ready.load(Ordering::Relaxed);
        shared.stop.cancel();
        let mut closed = 0;
        for h in handles {
            let stats = h.await.unwrap_or_default();
            closed += usize::from(stats.closed_by_server);
        }
        let held = open - closed;

        report.set("connected", open);
        report.set("failed", shared.failed.load(Ordering::Relaxed));
        report.set("closed_by_server", closed);
        report.set("connect_secs", (connect_secs * 100.0).round() / 100.0);
        report.set("settle_secs", (settle_secs * 100.0).round() / 100.0);
        report.set("notices_read", shared.lines.load(Ordering::Relaxed));
        report.set("server_rss_before_bytes", before);
        report.set("server_rss_after_bytes", after);
        let per = after.saturating_sub(before) as f64 / held.max(1) as f64;
        report.set("server_bytes_per_connection", per.round());
        report.set("server_kib_per_connection", (per / 1024.0 * 100.0).round() / 100.0);

        if let Some(e) = shared.first_error.lock().expect("not poisoned").clone() {
            report.problem(format!("{} clients could not connect or log in, e.g. {e}", shared.failed.load(Ordering::Relaxed)));
        }
        if closed > 0 {
            report.problem(format!("the server closed {closed} of the held connections"));
        }
        if !settled {
            report.problem("the join announcements had not stopped by --settle; the memory figure includes queues");
        }
        Ok(report)
    }
}
