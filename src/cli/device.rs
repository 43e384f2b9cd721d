//! `sockhub device`: a device for the relay. Sends each line of stdin, of a file, or of a file
//! followed like `tail -F` (`--follow`) as a record of `--source` the moment it is read, waits
//! for the acknowledgements, re-sends what was not acknowledged after a reconnect, and at the
//! end of input or on Ctrl-C/SIGTERM waits (at most `--drain-timeout`) for what is outstanding
//! and reports what was acknowledged; it exits non-zero if anything stays unacknowledged. With
//! `--spool DIR` unacknowledged records survive a restart of the device. A progress line (on a
//! terminal) counts acknowledgements. `--generate N --size B` sends N synthetic records instead
//! (a load generator); `--show-spool` prints what a spool holds.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use sockhub_client::device::{self, DeviceOptions, DeviceReport, FirstSeq, Generated, Input, StreamOptions};
use sockhub_i18n::t;
use tokio_util::sync::CancellationToken;

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
    /// A file with one record per line, read to its end; `-` or nothing reads stdin as it comes
    /// (`tail -f app.log | sockhub device --source app -`).
    file: Option<PathBuf>,
    /// Follow this file like `tail -F`: send its lines, then each line appended, across rotation
    /// (a new file at the path) and truncation. Runs until stopped.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["file", "generate"])]
    follow: Option<PathBuf>,
    /// How often a followed file is looked at for new lines, rotation and truncation, in ms.
    #[arg(long, value_name = "MS", default_value_t = 250)]
    poll_ms: u64,
    /// Send N synthetic records instead of reading lines.
    #[arg(long, value_name = "N", conflicts_with = "file")]
    generate: Option<usize>,
    /// Payload size of generated records, in bytes.
    #[arg(long, default_value_t = 200)]
    size: usize,
    /// Seq of the first record, or `auto`: after the last seq the relay has for the source (a
    /// spool's own numbering, once it has one, comes first).
    #[arg(long, default_value = "auto")]
    first_seq: String,
    /// Records in flight (sent, not yet acknowledged) at most.
    #[arg(long, default_value_t = 10_000)]
    window: usize,
    /// Records read and not yet acknowledged at most (in memory and in the spool); when
    /// reached, reading pauses until acknowledgements make room.
    #[arg(long, value_name = "N", default_value_t = device::DEFAULT_MAX_PENDING)]
    max_pending: usize,
    /// Payload bytes of those records at most (the same pause).
    #[arg(long, value_name = "BYTES", default_value_t = device::DEFAULT_MAX_PENDING_BYTES)]
    max_pending_bytes: usize,
    /// Longest input line, in bytes; a longer line is skipped (and reported), never buffered.
    #[arg(long, value_name = "BYTES", default_value_t = 64 * 1024)]
    max_line_bytes: usize,
    /// Records per second at most (0: as fast as the relay acknowledges).
    #[arg(long, default_value_t = 0)]
    rate: u64,
    /// Give up after this many seconds without an acknowledgement while records are
    /// outstanding (also while reconnecting); 0: never. Default 30 for a file or --generate, 0
    /// for stdin and --follow (a streaming device keeps trying; its spool keeps the records).
    #[arg(long, value_name = "SECS")]
    patience: Option<u64>,
    /// At the end of input, give up once no acknowledgement came for this long; on Ctrl-C or
    /// SIGTERM, wait at most this long for outstanding acknowledgements. Seconds.
    #[arg(long, value_name = "SECS", default_value_t = device::DEFAULT_DRAIN_TIMEOUT.as_secs())]
    drain_timeout: u64,
    /// Keep records not yet acknowledged (and the numbering, and the place in a followed file)
    /// in this directory, so that a restarted device sends them and goes on where it stopped.
    #[arg(long, value_name = "DIR")]
    spool: Option<PathBuf>,
    /// Print what the spool holds and exit.
    #[arg(long, requires = "spool")]
    show_spool: bool,
    /// The device token to present (for a relay with `[relay] auth = "tokens"`; made with
    /// `sockhub relay token add`). Also read from SOCKHUB_DEVICE_TOKEN, which keeps it out of
    /// the process list.
    #[arg(long, env = "SOCKHUB_DEVICE_TOKEN", hide_env_values = true)]
    token: Option<String>,
}

pub async fn run(args: DeviceArgs) -> anyhow::Result<ExitCode> {
    let first_seq = match args.first_seq.as_str() {
        "auto" => FirstSeq::Auto,
        n => FirstSeq::At(n.parse().with_context(|| t!("cli-device-first-seq", value = format!("{n:?}")))?),
    };
    sockhub_proto::relay::validate_source(&args.source).map_err(|e| anyhow::anyhow!("--source: {e}"))?;
    if args.show_spool {
        return show_spool(args.spool.as_deref().unwrap_or(Path::new(".")), &args.source);
    }
    let stdin = args.generate.is_none()
        && args.follow.is_none()
        && args.file.as_ref().is_none_or(|f| f.as_os_str() == "-");
    let streaming = stdin || args.follow.is_some();
    let opts = DeviceOptions {
        addr: args.addr.clone(),
        source: args.source.clone(),
        first_seq,
        window: args.window.max(1),
        patience: Duration::from_secs(args.patience.unwrap_or(if streaming { 0 } else { 30 })),
        rate: args.rate,
        token: args.token.clone().map(sockhub_proto::secret::Secret::new),
    };
    let limits = StreamOptions {
        max_pending: args.max_pending.max(1),
        max_pending_bytes: args.max_pending_bytes.max(1),
        drain_timeout: Duration::from_secs(args.drain_timeout),
        spool: args.spool.clone(),
    };
    let generated = args.generate.map(|count| Generated { count, size: args.size });
    let max_line = args.max_line_bytes.max(1);
    let file = args.file.clone().filter(|p| p.as_os_str() != "-" && generated.is_none());
    if let Some(p) = &file {
        std::fs::File::open(p).with_context(|| t!("cli-opening", path = p.display().to_string()))?;
    }
    let poll = Duration::from_millis(args.poll_ms.max(1));
    let follow = args.follow.clone();
    let generated = generated.as_ref();
    let make_input = move |from| match (file, follow, generated) {
        (Some(path), _, _) => device::file(path, from, max_line),
        (None, Some(path), _) => device::follow(path, from, poll, max_line),
        (None, None, Some(g)) => Input::Records { records: g, next: 0 },
        (None, None, None) => device::stdin(max_line),
    };

    let bar = ProgressBar::with_draw_target(
        None,
        if std::io::stderr().is_terminal() {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        },
    );
    bar.set_style(
        ProgressStyle::with_template("{spinner} {pos}/{len} {msg}  {per_sec}  {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.set_message(t!("cli-device-progress"));
    let stop = CancellationToken::new();
    tokio::spawn(super::serve::stop_on_signal(stop.clone()));
    let tls = args.tls.client()?;
    let report = device::stream(&opts, &limits, tls.as_ref(), make_input, stop, |acked, total| {
        bar.set_length(total as u64);
        bar.set_position(acked as u64);
    })
    .await
    .with_context(|| t!("cli-device-spool-context"))?;
    bar.finish_and_clear();
    print_report(&args, &report);
    let ok = report.complete() && report.gave_up.is_none() && report.input_error.is_none();
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn print_report(args: &DeviceArgs, report: &DeviceReport) {
    let secs = report.elapsed.as_secs_f64().max(1e-6);
    let seqs = match report.last_seq {
        Some(last) => t!("cli-device-seqs", first = report.first_seq, last = last),
        None => t!("cli-device-no-records"),
    };
    let mut line = t!(
        "cli-device-report",
        source = &args.source,
        acked = report.acked,
        total = report.total,
        seqs = seqs,
        refused = report.refused.len(),
        reconnects = report.reconnects,
        secs = format!("{secs:.2}"),
        rate = format!("{:.0}", report.acked as f64 / secs)
    );
    if report.restored > 0 {
        line.push_str(&t!("cli-device-restored", count = report.restored));
    }
    if report.skipped > 0 {
        line.push_str(&t!("cli-device-skipped-lines", count = report.skipped));
    }
    if args.spool.is_some() {
        line.push_str(&t!("cli-device-left-in-spool", count = report.unsettled));
    }
    println!("{line}");
    for why in &report.skipped_why {
        eprintln!("{}", t!("cli-device-skipped", why = why));
    }
    for (seq, why) in report.refused.iter().take(20) {
        eprintln!("{}", t!("cli-device-refused", seq = *seq, why = why));
    }
    if let Some(why) = &report.input_error {
        eprintln!("{}", t!("cli-device-input", why = why));
    }
    if let Some(why) = &report.gave_up {
        let kept = match &args.spool {
            Some(dir) => t!("cli-device-kept", dir = dir.display().to_string()),
            None => String::new(),
        };
        eprintln!("{}", t!("cli-device-gave-up", why = why, count = report.unsettled, kept = kept));
    }
}

fn show_spool(dir: &Path, source: &str) -> anyhow::Result<ExitCode> {
    let Some(state) = device::inspect_spool(dir)? else {
        println!("{}", t!("cli-device-no-spool", dir = dir.display().to_string()));
        return Ok(ExitCode::SUCCESS);
    };
    let holder = state.source.as_deref().unwrap_or(source);
    let seqs = match (state.records.first(), state.records.last()) {
        (Some(a), Some(b)) => t!("cli-device-spool-seqs", first = a.seq, last = b.seq),
        _ => String::new(),
    };
    let next =
        state.next_seq.map_or_else(|| t!("cli-device-not-numbered"), |n| t!("cli-device-next-seq", seq = n));
    let dir = dir.display().to_string();
    let count = state.records.len();
    println!(
        "{}",
        t!("cli-device-spool", source = holder, count = count, dir = dir, seqs = seqs, next = next)
    );
    Ok(ExitCode::SUCCESS)
}
