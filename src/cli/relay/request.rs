//! `sockhub relay resend|reconcile`: write an operator request for the running server and
//! wait for its result.

use std::process::ExitCode;
use std::time::Duration;

use serde_json::Value;
use sockhub_i18n::t;
use sockhub_store::{RelayState, ResendSelector, Store};

use super::*;
use crate::cli::ConfigFile;
use crate::cli::output::Format;

pub(super) async fn resend(a: ResendArgs) -> anyhow::Result<ExitCode> {
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

pub(super) async fn reconcile(
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
pub(super) async fn wait_for(store: &Store, id: i64, wait: u64) -> anyhow::Result<Option<(String, Value)>> {
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
