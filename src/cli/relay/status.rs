//! `sockhub relay status`: every node's saved status, every source's counters and the last
//! reconcile, as a table or JSON.

use std::process::ExitCode;

use serde::Serialize;
use serde_json::{Value, json};
use sockhub_i18n::t;
use sockhub_proto::time::now_ms;
use sockhub_store::Store;

use super::*;
use crate::cli::output::{self, Format, Row};

pub(super) async fn status(store: &Store, format: Format) -> anyhow::Result<ExitCode> {
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

pub(super) fn quota_text(q: &Value) -> String {
    let bytes = q["bytes"].as_u64().unwrap_or(0);
    let records = q["records"].as_u64().unwrap_or(0);
    match (bytes, records) {
        (0, 0) => t!("cli-none"),
        (b, 0) => t!("cli-relay-quota-bytes", bytes = b),
        (0, r) => t!("cli-relay-quota-records", records = r),
        (b, r) => t!("cli-relay-quota-both", bytes = b, records = r),
    }
}

/// A source's counters as `relay status` prints them.
#[derive(Serialize)]
pub(super) struct SourceRow {
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
