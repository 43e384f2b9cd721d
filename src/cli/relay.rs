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
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;
use serde_json::{Value, json};
use sockhub_i18n::t;
use sockhub_proto::time::now_ms;
use sockhub_server::app::store_options;
use sockhub_store::{RelayFilter, RelayRow, RelayState, ResendSelector, Store};

use super::ConfigFile;
use super::output::{self, Format, Row};

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

async fn token(command: TokenCommand) -> anyhow::Result<ExitCode> {
    match command {
        TokenCommand::Add { config, source, label } => {
            sockhub_server::service::relay::filter::source_glob(&source)
                .map_err(|e| anyhow::anyhow!("--source: {e}"))?;
            let store = open(&config).await?;
            let (row, token) = store.relay().token_add(&source, &label).await?;
            eprintln!(
                "{}",
                t!("cli-relay-token-added", id = row.id, sources = format!("{:?}", row.source_glob))
            );
            println!("{token}");
            Ok(ExitCode::SUCCESS)
        }
        TokenCommand::List { config, format } => {
            let rows: Vec<TokenRow> = open(&config)
                .await?
                .relay()
                .tokens()
                .await?
                .into_iter()
                .map(|t| TokenRow {
                    id: t.id,
                    sources: t.source_glob,
                    label: t.label,
                    created_at: rfc3339(t.created_ms),
                    revoked_at: t.revoked_ms.map(rfc3339),
                })
                .collect();
            output::print(&rows, format)?;
            Ok(ExitCode::SUCCESS)
        }
        TokenCommand::Revoke { config, id } => {
            if open(&config).await?.relay().token_revoke(id).await? {
                println!("{}", t!("cli-relay-token-revoked", id = id));
                Ok(ExitCode::SUCCESS)
            } else {
                eprintln!("{}", t!("cli-relay-token-missing", id = id));
                Ok(ExitCode::FAILURE)
            }
        }
    }
}

/// A device token as `relay token list` prints it.
#[derive(Serialize)]
struct TokenRow {
    id: i64,
    sources: String,
    label: String,
    created_at: String,
    revoked_at: Option<String>,
}

impl Row for TokenRow {
    const HEADERS: &'static [&'static str] = &["id", "sources", "label", "created", "revoked"];
    fn cells(&self) -> Vec<String> {
        vec![
            self.id.to_string(),
            self.sources.clone(),
            self.label.clone(),
            self.created_at.clone(),
            output::opt(&self.revoked_at),
        ]
    }
}

async fn open(config: &ConfigFile) -> anyhow::Result<Store> {
    let cfg = config.load(&[])?;
    let opts = store_options(&cfg);
    Store::open(&opts).await.with_context(|| t!("cli-relay-opening", db = opts.describe()))
}

async fn status(store: &Store, format: Format) -> anyhow::Result<ExitCode> {
    let sources = store.relay().sources().await?;
    let nodes = store.relay().nodes().await?;
    let last = store.relay().reconciles(1).await?.into_iter().next();
    let now = now_ms();
    if format == Format::Json {
        let nodes: Vec<Value> = nodes
            .iter()
            .map(|(node, updated, status)| {
                let mut v: Value = serde_json::from_str(status).unwrap_or(Value::Null);
                if let Some(o) = v.as_object_mut() {
                    o.insert("node".into(), json!(node));
                    o.insert("status_age_ms".into(), json!(now - updated));
                }
                v
            })
            .collect();
        let sources: Vec<Value> = sources
            .iter()
            .map(|s| {
                json!({
                    "source": s.source, "received": s.received, "kept": s.kept, "forwarded": s.forwarded,
                    "held": s.held, "missing": s.missing, "in_flight": s.queued, "stored": s.stored,
                    "last_seq": s.last_seq, "pending_bytes": s.pending_bytes, "conflicts": s.conflicts,
                    "last_received_at": rfc3339(s.last_ms), "adds_up": s.adds_up(),
                })
            })
            .collect();
        let last = last.map(|r| {
            json!({
                "cause": r.cause, "outcome": r.outcome, "finished_at": rfc3339(r.finished_ms),
                "sources": r.sources, "missing": r.missing, "extra": r.extra, "mismatched": r.mismatched,
                "detail": serde_json::from_str::<Value>(&r.detail).unwrap_or(Value::Null),
            })
        });
        println!(
            "{}",
            serde_json::to_string_pretty(
                &json!({"nodes": nodes, "sources": sources, "last_reconcile": last})
            )?
        );
        return Ok(ExitCode::SUCCESS);
    }
    if nodes.is_empty() {
        println!("{}", t!("cli-relay-no-node"));
    }
    for (node, updated, status) in &nodes {
        let v: Value = serde_json::from_str(status).unwrap_or(Value::Null);
        let age = (now - updated) as f64 / 1000.0;
        let stale = if age > 5.0 { t!("cli-relay-stale", age = format!("{age:.0}")) } else { String::new() };
        let link = &v["link"];
        let downstream = match link["downstream"].as_str() {
            Some(d) => t!(
                "cli-relay-downstream",
                downstream = d,
                state = link["state"].as_str().unwrap_or("?"),
                since = rfc3339(link["since_ms"].as_i64().unwrap_or(0)),
                error = link["last_error"]
                    .as_str()
                    .map(|e| t!("cli-relay-last-error", error = e))
                    .unwrap_or_default()
            ),
            None => t!("cli-relay-sink"),
        };
        println!("{node}: {downstream}{stale}");
        let backpressure = v["backpressure"].as_bool().unwrap_or(false);
        println!(
            "{}",
            t!(
                "cli-relay-node",
                in_flight = link["in_flight"].as_u64().unwrap_or(0),
                lag = format!("{:.1}", v["lag_ms"].as_i64().unwrap_or(0) as f64 / 1000.0),
                backpressure = if backpressure { t!("cli-relay-on") } else { t!("cli-relay-off") },
                records = v["pending_records"].to_string(),
                bytes = v["pending_bytes"].to_string(),
                quota = quota_text(&v["quota"])
            )
        );
    }
    match &last {
        Some(r) => println!(
            "{}",
            t!(
                "cli-relay-last-reconcile",
                outcome = r.outcome.as_str(),
                cause = &r.cause,
                at = rfc3339(r.finished_ms),
                sources = r.sources,
                missing = r.missing,
                extra = r.extra,
                mismatched = r.mismatched
            )
        ),
        None => println!("{}", t!("cli-relay-last-reconcile-none")),
    }
    let rows: Vec<SourceRow> = sources
        .iter()
        .map(|s| SourceRow {
            source: s.source.clone(),
            received: s.received,
            kept: s.kept,
            forwarded: s.forwarded,
            held: s.held,
            missing: s.missing,
            in_flight: s.queued,
            stored: s.stored,
            conflicts: s.conflicts,
            last_seq: s.last_seq,
        })
        .collect();
    output::print(&rows, Format::Table)?;
    Ok(ExitCode::SUCCESS)
}

/// The error a node reported for a request, or "unknown error".
fn error_text(result: &Value) -> String {
    result["error"].as_str().map_or_else(|| t!("cli-unknown-error"), str::to_owned)
}

fn quota_text(q: &Value) -> String {
    let bytes = q["bytes"].as_u64().unwrap_or(0);
    let records = q["records"].as_u64().unwrap_or(0);
    match (bytes, records) {
        (0, 0) => t!("cli-none"),
        (b, 0) => t!("cli-relay-quota-bytes", bytes = b),
        (0, r) => t!("cli-relay-quota-records", records = r),
        (b, r) => t!("cli-relay-quota-both", bytes = b, records = r),
    }
}

async fn records(a: RecordsArgs) -> anyhow::Result<ExitCode> {
    let store = open(&a.config).await?;
    let state = match a.state {
        StateArg::Kept => Some(RelayState::Kept),
        StateArg::Held => Some(RelayState::Held),
        StateArg::Missing => Some(RelayState::Missing),
        StateArg::Forwarded => Some(RelayState::Forwarded),
        StateArg::Queued => Some(RelayState::Queued),
        StateArg::Received => None,
    };
    let filter = RelayFilter {
        state,
        source: a.source.clone(),
        since_ms: a.since.as_deref().map(parse_since).transpose()?,
        seqs: a.seq.as_deref().map(parse_seqs).transpose()?,
        limit: (a.limit > 0).then_some(a.limit),
        ..Default::default()
    };
    let rows: Vec<RecordRow> = store.relay().list(&filter).await?.iter().map(RecordRow::from).collect();
    output::print(&rows, a.format)?;
    Ok(ExitCode::SUCCESS)
}

/// A record as `relay records` prints it.
#[derive(Serialize)]
struct RecordRow {
    source: String,
    seq: i64,
    state: RelayState,
    rule: Option<String>,
    reason: Option<String>,
    at: String,
    received_at: String,
    resends: i64,
    payload: String,
}

impl From<&RelayRow> for RecordRow {
    fn from(r: &RelayRow) -> Self {
        RecordRow {
            source: r.source.clone(),
            seq: r.seq,
            state: r.state,
            rule: r.rule.clone(),
            reason: r.reason.clone(),
            at: rfc3339(r.at_ms),
            received_at: rfc3339(r.received_ms),
            resends: r.resends,
            payload: r.payload.clone(),
        }
    }
}

impl Row for RecordRow {
    const HEADERS: &'static [&'static str] =
        &["source", "seq", "state", "rule", "reason", "at", "received_at", "resends", "payload"];
    fn cells(&self) -> Vec<String> {
        vec![
            self.source.clone(),
            self.seq.to_string(),
            self.state.to_string(),
            output::opt(&self.rule),
            output::opt(&self.reason),
            self.at.clone(),
            self.received_at.clone(),
            self.resends.to_string(),
            self.payload.clone(),
        ]
    }
}

/// A source's counters as `relay status` prints them.
#[derive(Serialize)]
struct SourceRow {
    source: String,
    received: i64,
    kept: i64,
    forwarded: i64,
    held: i64,
    missing: i64,
    in_flight: i64,
    stored: i64,
    /// Records refused with `seq_conflict`.
    conflicts: i64,
    last_seq: i64,
}

impl Row for SourceRow {
    const HEADERS: &'static [&'static str] = &[
        "source",
        "received",
        "kept",
        "forwarded",
        "held",
        "missing",
        "in flight",
        "stored",
        "conflicts",
        "last seq",
    ];
    fn cells(&self) -> Vec<String> {
        vec![
            self.source.clone(),
            self.received.to_string(),
            self.kept.to_string(),
            self.forwarded.to_string(),
            self.held.to_string(),
            self.missing.to_string(),
            self.in_flight.to_string(),
            self.stored.to_string(),
            self.conflicts.to_string(),
            self.last_seq.to_string(),
        ]
    }
}

async fn resend(a: ResendArgs) -> anyhow::Result<ExitCode> {
    let store = open(&a.config).await?;
    let selector = ResendSelector {
        state: match a.state {
            ResendState::Held => RelayState::Held,
            ResendState::Missing => RelayState::Missing,
            ResendState::Kept => RelayState::Kept,
        },
        source: a.source.clone(),
        seqs: a.seq.as_deref().map(parse_seqs).transpose()?,
    };
    let by = a.by.clone().unwrap_or_else(whoami);
    let id = store.relay().request_add("resend", &by, &serde_json::to_string(&selector)?).await?;
    match wait_for(&store, id, a.wait).await? {
        Some((status, result)) if status == "done" => {
            println!(
                "{}",
                t!("cli-relay-resend-done", id = id, by = &by, count = result["queued"].to_string())
            );
            Ok(ExitCode::SUCCESS)
        }
        Some((_, result)) => {
            eprintln!("{}", t!("cli-relay-resend-failed", id = id, error = error_text(&result)));
            Ok(ExitCode::FAILURE)
        }
        None => {
            println!("{}", t!("cli-relay-resend-recorded", id = id, by = &by));
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn reconcile(
    config: &ConfigFile,
    by: Option<String>,
    wait: u64,
    format: Format,
) -> anyhow::Result<ExitCode> {
    let store = open(config).await?;
    let by = by.unwrap_or_else(whoami);
    let id = store.relay().request_add("reconcile", &by, "{}").await?;
    match wait_for(&store, id, wait).await? {
        Some((status, result)) => {
            if format == Format::Json {
                println!("{}", serde_json::to_string_pretty(&result)?);
            } else if status == "done" {
                println!(
                    "{}",
                    t!(
                        "cli-relay-reconcile-done",
                        outcome = result["outcome"].as_str().unwrap_or("?"),
                        sources = result["sources"].to_string(),
                        missing = result["missing"].to_string(),
                        extra = result["extra"].to_string(),
                        mismatched = result["mismatched"].to_string()
                    )
                );
                for d in result["detail"].as_array().into_iter().flatten() {
                    let n = |v: &Value| v.to_string();
                    let down = &d["downstream"];
                    println!(
                        "{}",
                        t!(
                            "cli-relay-reconcile-source",
                            source = d["source"].as_str().unwrap_or("?"),
                            forwarded = n(&d["forwarded"]),
                            kept = n(&d["kept_not_forwarded"]),
                            count = n(&down["count"]),
                            first = n(&down["first"]),
                            last = n(&down["last"]),
                            gaps = n(&down["gaps"]),
                            missing = n(&d["missing"]),
                            requeued = n(&d["requeued"]),
                            extra = n(&d["extra"]),
                            mismatched = n(&d["mismatched"])
                        )
                    );
                }
            } else {
                eprintln!("{}", t!("cli-relay-reconcile-failed", error = error_text(&result)));
            }
            Ok(if status == "done" { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
        None => {
            eprintln!("{}", t!("cli-relay-reconcile-timeout", id = id, secs = wait));
            Ok(ExitCode::FAILURE)
        }
    }
}

/// Waits for a request to be settled: `(status, result)`, or `None` on timeout.
async fn wait_for(store: &Store, id: i64, wait: u64) -> anyhow::Result<Option<(String, Value)>> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(wait);
    loop {
        if let Some(r) = store.relay().request(id).await?
            && (r.status == "done" || r.status == "failed")
        {
            let result =
                r.result.as_deref().and_then(|s| serde_json::from_str(s).ok()).unwrap_or(Value::Null);
            return Ok(Some((r.status, result)));
        }
        if tokio::time::Instant::now() >= deadline {
            return Ok(None);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
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
