//! `sockhub relay status|records|resend|reconcile`: look at and operate a relay node through its
//! database (the same `--config` as the server).
//!
//! `status` and `records` only read (SQLite in WAL mode lets a reader work beside the running
//! server). `resend` and `reconcile` must be carried out by the running server — it owns the
//! forwarding connection and the in-memory state — so they write a request into
//! `relay_requests`, which the server picks up within `relay.control_poll_ms`, and wait for its
//! result. Each request records who asked (`--by`, default `$USER@host`) and when; a request
//! made while the server is down is carried out when it starts.
//!
//! `token add|list|revoke` manage the device tokens of `[relay] auth = "tokens"` in the
//! database (the running server looks them up there): `add` prints the new token once — only
//! its hash is stored.

use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Subcommand, ValueEnum};
use serde_json::Value;
use sockhub_i18n::t;
use sockhub_proto::time::now_ms;
use sockhub_server::app::store_options;
use sockhub_store::Store;

use super::ConfigFile;
use super::output::{self, Format};

mod records;
mod request;
mod status;
mod token;

use records::records;
use request::{reconcile, resend};
use status::status;
use token::token;

#[derive(Debug, Args)]
pub struct RelayArgs {
    #[command(subcommand)]
    command: RelayCommand,
}

#[derive(Debug, Subcommand)]
enum RelayCommand {
    /// Counters per source, the downstream link, lag, quota and the last reconcile.
    Status {
        #[command(flatten)]
        config: ConfigFile,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// List records on this node.
    Records(RecordsArgs),
    /// Re-send held, missing or kept records downstream (carried out by the running server).
    Resend(ResendArgs),
    /// Compare what this node forwarded with what downstream holds, now.
    Reconcile {
        #[command(flatten)]
        config: ConfigFile,
        /// Who asks (recorded with the request). Default: $USER@host.
        #[arg(long)]
        by: Option<String>,
        /// How long to wait for the result, in seconds.
        #[arg(long, default_value_t = 120)]
        wait: u64,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Device tokens (for `[relay] auth = "tokens"`): add, list, revoke.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Make a token for the sources a glob matches; prints it once (only its hash is stored).
    Add {
        #[command(flatten)]
        config: ConfigFile,
        /// Glob over source names: `fan-*`, `lab-[0-9]*`, `*` (every source, e.g. for an
        /// upstream relay's `downstream_token`).
        #[arg(long)]
        source: String,
        /// What the token is for (shown by `list`).
        #[arg(long, default_value = "")]
        label: String,
    },
    /// Every token, revoked ones too (never the tokens themselves).
    List {
        #[command(flatten)]
        config: ConfigFile,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Revoke a token by its id: new connections with it are refused, and connections using it
    /// are closed within seconds.
    Revoke {
        #[command(flatten)]
        config: ConfigFile,
        id: i64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum StateArg {
    Kept,
    Held,
    Missing,
    Forwarded,
    /// Every record this node received, whatever became of it.
    Received,
    /// Accepted and not yet acknowledged by downstream.
    Queued,
}

#[derive(Debug, Args)]
struct RecordsArgs {
    #[command(flatten)]
    config: ConfigFile,
    #[arg(long, value_enum)]
    state: StateArg,
    #[arg(long)]
    source: Option<String>,
    /// Only records received since: an RFC 3339 time, a local date or time (2026-11-21,
    /// "2026-11-21 15:00"), or an age such as 30s, 15m, 2h, 7d.
    #[arg(long)]
    since: Option<String>,
    /// Only these seqs, A..B (inclusive) or one seq.
    #[arg(long)]
    seq: Option<String>,
    /// At most this many records, oldest first (0: all).
    #[arg(long, default_value_t = 1000)]
    limit: u32,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ResendState {
    Held,
    Missing,
    Kept,
}

#[derive(Debug, Args)]
struct ResendArgs {
    #[command(flatten)]
    config: ConfigFile,
    #[arg(long, value_enum)]
    state: ResendState,
    #[arg(long)]
    source: Option<String>,
    /// Only these seqs, A..B (inclusive) or one seq.
    #[arg(long)]
    seq: Option<String>,
    /// Who asks (recorded with the resend). Default: $USER@host.
    #[arg(long)]
    by: Option<String>,
    /// How long to wait for the server to carry it out, in seconds.
    #[arg(long, default_value_t = 30)]
    wait: u64,
}

pub async fn run(args: RelayArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        RelayCommand::Status { config, format } => status(&open(&config).await?, format).await,
        RelayCommand::Records(a) => records(a).await,
        RelayCommand::Resend(a) => resend(a).await,
        RelayCommand::Reconcile { config, by, wait, format } => reconcile(&config, by, wait, format).await,
        RelayCommand::Token { command } => token(command).await,
    }
}

async fn open(config: &ConfigFile) -> anyhow::Result<Store> {
    let cfg = config.load(&[])?;
    let opts = store_options(&cfg);
    Store::open(&opts).await.with_context(|| t!("cli-relay-opening", db = opts.describe()))
}

/// The error a node reported for a request, or "unknown error".
fn error_text(result: &Value) -> String {
    result["error"].as_str().map_or_else(|| t!("cli-unknown-error"), str::to_owned)
}

fn whoami() -> String {
    let user =
        std::env::var("USER").or_else(|_| std::env::var("USERNAME")).unwrap_or_else(|_| "unknown".into());
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".into());
    format!("{user}@{host}")
}

/// `A..B`, `A..=B` or `A`.
fn parse_seqs(s: &str) -> anyhow::Result<(i64, i64)> {
    let parse = |x: &str| {
        x.trim()
            .parse::<i64>()
            .with_context(|| t!("cli-relay-bad-seq", value = format!("{x:?}"), text = format!("{s:?}")))
    };
    let (lo, hi) = match s.split_once("..") {
        Some((a, b)) => (parse(a)?, parse(b.trim_start_matches('='))?),
        None => {
            let v = parse(s)?;
            (v, v)
        }
    };
    if lo > hi {
        bail!(t!("cli-relay-bad-seq-range", text = format!("{s:?}")));
    }
    Ok((lo, hi))
}

/// An RFC 3339 time, a date, or an age (`30s`, `15m`, `2h`, `7d`), as unix ms.
fn parse_since(s: &str) -> anyhow::Result<i64> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(t.timestamp_millis());
    }
    if !s.ends_with(['s', 'm', 'h', 'd']) || s.contains('-') {
        return output::parse_time(s)
            .map(|t| t.timestamp_millis())
            .map_err(|e| anyhow::anyhow!(t!("cli-relay-bad-since", error = e)));
    }
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: i64 = num.parse().with_context(|| t!("cli-relay-bad-since-form", text = format!("{s:?}")))?;
    let ms = match unit {
        "s" => 1000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => bail!(t!("cli-relay-bad-since-unit", text = format!("{s:?}"))),
    };
    Ok(now_ms() - n * ms)
}

fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seq_ranges_and_ages_parse() {
        assert_eq!(parse_seqs("3..7").unwrap(), (3, 7));
        assert_eq!(parse_seqs("3..=7").unwrap(), (3, 7));
        assert_eq!(parse_seqs("5").unwrap(), (5, 5));
        assert!(parse_seqs("7..3").is_err());
        assert!(parse_seqs("x").is_err());
        assert_eq!(parse_since("2026-11-21T00:00:00Z").unwrap(), 1_795_219_200_000);
        assert!((now_ms() - parse_since("15m").unwrap() - 900_000).abs() < 5000);
        assert!(parse_since("15 parsecs").is_err());
    }
}
