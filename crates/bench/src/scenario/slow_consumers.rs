//! `slow-consumers`: a chat fan-out in which some clients never read.
//!
//! The promise being measured: a client that stops reading costs the server a bounded amount of
//! memory (its outbox holds at most `limits.outbound_queue` frames; then it is disconnected as too
//! slow) and does not slow anyone else down. So the scenario runs the same fan-out twice: first
//! with every client reading (the baseline), then with `--slow-percent` of them never reading,
//! and reports the readers' latency in both, how many slow clients the server disconnected, and
//! the server's memory during the run.

use serde::Serialize;

use super::Scenario;
use super::chat_fanout::{self, Spec, fanout};
use crate::{BenchError, Ctx, Report};

/// `sockhub bench slow-consumers` options.
#[derive(Debug, Clone, clap::Args, Serialize)]
// Its own argument group id: the flattened chat-fanout `Config` already uses the type's name.
#[group(id = "slow_consumers")]
pub struct Config {
    #[command(flatten)]
    #[serde(flatten)]
    pub fanout: chat_fanout::Config,
    /// Percentage of clients that never read (they never send either).
    #[arg(long, default_value_t = 10.0)]
    pub slow_percent: f64,
    /// Skip the baseline run (no slow clients).
    #[arg(long)]
    pub no_baseline: bool,
}

impl Scenario for Config {
    const DEFAULT_PORT: u16 = 7001;

    fn default_port(&self) -> u16 {
        self.fanout.default_port()
    }

    async fn run(self, ctx: &Ctx) -> Result<Report, BenchError> {
        if !(0.0..100.0).contains(&self.slow_percent) {
            return Err(BenchError::Invalid("--slow-percent must be at least 0 and below 100".into()));
        }
        let mut report = Report::new("slow-consumers", &self);
        let slow = ((self.fanout.clients as f64) * self.slow_percent / 100.0).round() as usize;
        let baseline = if self.no_baseline {
            None
        } else {
            let mut spec = Spec::from_config(&self.fanout, 0)?;
            spec.sample_memory = true;
            let outcome = fanout(ctx, &spec, "baseline-").await?;
            outcome.fill(&mut report, "baseline_");
            outcome.problems(&mut report, "baseline: ", false);
            Some(outcome)
        };
        let mut spec = Spec::from_config(&self.fanout, slow)?;
        spec.sample_memory = true;
        let outcome = fanout(ctx, &spec, "slow-").await?;
        outcome.fill(&mut report, "slow_");
        outcome.problems(&mut report, "with slow clients: ", false);
        if let Some(n) = ctx.probe.slow_disconnects().await.ok().flatten() {
            report.set("server_slow_disconnects_total", n);
        }
        if let Some(b) = &baseline {
            let ratio = outcome.latency.p99_us as f64 / b.latency.p99_us.max(1) as f64;
            report.set("readers_p99_ratio", (ratio * 100.0).round() / 100.0);
        }
        Ok(report)
    }
}
