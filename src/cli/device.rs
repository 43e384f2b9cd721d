//! `sockhub device`: a device simulator for the relay. Sends each line of a file (or stdin) as a
//! record of `--source`, waits for the acknowledgements, re-sends what was not acknowledged after
//! a reconnect, shows a progress bar with records/s (on a terminal), and exits non-zero if
//! anything stays unacknowledged. `--generate N --size B` sends N synthetic records instead (a
//! load generator).

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use sockhub_client::device::{self, DeviceOptions, FirstSeq, Generated, Records};

#[derive(Debug, Args)]
pub struct DeviceArgs {
    /// The source name the records carry.
    #[arg(long)]
    source: String,
    /// The relay's address, or several comma-separated (nodes of one cluster): the next one is
    /// used whenever a connection fails or is lost.
    #[arg(long, default_value = "127.0.0.1:7004")]
    addr: String,
    #[command(flatten)]
    tls: super::TlsArgs,
    /// A file with one record per line; `-` or nothing reads stdin.
    file: Option<PathBuf>,
    /// Send N synthetic records instead of reading lines.
    #[arg(long, value_name = "N", conflicts_with = "file")]
    generate: Option<usize>,
    /// Payload size of generated records, in bytes.
    #[arg(long, default_value_t = 200)]
    size: usize,
    /// Seq of the first record, or `auto`: after the last seq the relay has for the source.
    #[arg(long, default_value = "auto")]
    first_seq: String,
    /// Records in flight (sent, not yet acknowledged) at most.
    #[arg(long, default_value_t = 10_000)]
    window: usize,
    /// Records per second at most (0: as fast as the relay acknowledges).
    #[arg(long, default_value_t = 0)]
    rate: u64,
    /// Give up after this many seconds without an acknowledgement (also while reconnecting).
    #[arg(long, default_value_t = 30)]
    patience: u64,
    /// The device token to present (for a relay with `[relay] auth = "tokens"`; made with
    /// `sockhub relay token add`). Also read from SOCKHUB_DEVICE_TOKEN, which keeps it out of
    /// the process list.
    #[arg(long, env = "SOCKHUB_DEVICE_TOKEN", hide_env_values = true)]
    token: Option<String>,
}

pub async fn run(args: DeviceArgs) -> anyhow::Result<ExitCode> {
    let first_seq = match args.first_seq.as_str() {
        "auto" => FirstSeq::Auto,
        n => FirstSeq::At(
            n.parse().with_context(|| format!("--first-seq must be a number or auto, not {n:?}"))?,
        ),
    };
    sockhub_proto::relay::validate_source(&args.source).map_err(|e| anyhow::anyhow!("--source: {e}"))?;
    let records: Box<dyn Records> = match args.generate {
        Some(count) => Box::new(Generated { count, size: args.size }),
        None => Box::new(read_lines(args.file.as_ref())?),
    };
    let opts = DeviceOptions {
        addr: args.addr.clone(),
        source: args.source.clone(),
        first_seq,
        window: args.window.max(1),
        patience: Duration::from_secs(args.patience.max(1)),
        rate: args.rate,
        token: args.token.clone().map(sockhub_proto::secret::Secret::new),
    };
    let bar = ProgressBar::with_draw_target(
        Some(records.len() as u64),
        if std::io::stderr().is_terminal() {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        },
    );
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} acknowledged  {per_sec}  eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let tls = args.tls.client()?;
    let report =
        device::run_over(&opts, tls.as_ref(), records.as_ref(), |acked, _| bar.set_position(acked as u64))
            .await;
    bar.finish_and_clear();
    let secs = report.elapsed.as_secs_f64().max(1e-6);
    let last = report.first_seq + report.total as i64 - 1;
    println!(
        "{}: {} of {} records acknowledged (seqs {}..{}), {} refused, {} reconnects, {:.2}s, {:.0} records/s",
        args.source,
        report.acked,
        report.total,
        report.first_seq,
        last,
        report.refused.len(),
        report.reconnects,
        secs,
        report.acked as f64 / secs
    );
    for (seq, why) in report.refused.iter().take(20) {
        eprintln!("refused: seq {seq}: {why}");
    }
    if let Some(why) = &report.gave_up {
        eprintln!(
            "gave up: {why}; {} records not acknowledged",
            report.total - report.acked - report.refused.len()
        );
    }
    Ok(if report.complete() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn read_lines(file: Option<&PathBuf>) -> anyhow::Result<Vec<String>> {
    let reader: Box<dyn BufRead> = match file {
        Some(p) if p.as_os_str() != "-" => Box::new(std::io::BufReader::new(
            std::fs::File::open(p).with_context(|| format!("opening {}", p.display()))?,
        )),
        _ => Box::new(std::io::stdin().lock()),
    };
    let mut lines = Vec::new();
    for line in reader.lines() {
        let line = line.context("reading records")?;
        let line = line.trim_end_matches('\r');
        if !line.is_empty() {
            lines.push(line.to_owned());
        }
    }
    Ok(lines)
}
