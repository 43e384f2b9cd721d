//! `sockhub bench SCENARIO`: the load generator. Runs against a server in another process, shows
//! a progress bar on the terminal, prints a summary (a table, or JSON with `--json`) and exits
//! non-zero if the run found problems (missing deliveries, failed logins...).

use std::io::Write;
use std::process::ExitCode;

use clap::Args;
use sockhub_bench::{Common, Progress, ScenarioArgs};

#[derive(Debug, Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    scenario: ScenarioArgs,
    #[command(flatten)]
    common: Common,
    /// Print the summary as JSON.
    #[arg(long, global = true)]
    json: bool,
}

impl BenchArgs {
    /// The worker threads asked for (`--threads`), if any.
    pub fn threads(&self) -> Option<usize> {
        self.common.threads.map(usize::from)
    }
}

pub async fn run(args: BenchArgs) -> anyhow::Result<ExitCode> {
    let report = sockhub_bench::run(args.scenario, &args.common, Progress::stderr()).await?;
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out)?;
    } else {
        write!(out, "{}", report.to_text())?;
    }
    Ok(if report.ok() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
