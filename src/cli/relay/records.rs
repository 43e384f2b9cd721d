//! `sockhub relay records`: list stored records by state, source, seq range, age or text.

use std::process::ExitCode;

use serde::Serialize;
use sockhub_store::{RelayFilter, RelayRow, RelayState};

use super::*;
use crate::cli::output::{self, Row};

pub(super) async fn records(a: RecordsArgs) -> anyhow::Result<ExitCode> {
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
pub(super) struct RecordRow {
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
