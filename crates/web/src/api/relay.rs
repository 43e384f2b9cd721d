//! The relay review screen's API, for admins: the live status (the downstream link, lag, quota,
//! counters per source), records per minute by state for the chart, the records themselves with
//! filters and paging, re-sending selected records, and reconciling now.

use sockhub_i18n::msg;
use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use sockhub_proto::time::now_ms;
use sockhub_server::service::relay::{RelayService, RelayStatus};
use sockhub_store::{RelayFilter, RelayRow, RelayState, ResendSelector};
use tracing::info;

use super::{Body, Params, page_limit};
use crate::auth::Admin;
use crate::flow::Minute;
use crate::lang::Speaks;
use crate::{ApiError, WebState};

fn relay(state: &WebState) -> Result<&Arc<RelayService>, ApiError> {
    state.hub.relay.as_ref().ok_or_else(|| ApiError::NotFound(msg!("web-api-relay-off")))
}

fn failed(e: sockhub_server::service::relay::RelayError) -> ApiError {
    ApiError::Service(sockhub_proto::ErrorEvent::new(sockhub_proto::ErrorCode::Unavailable, e.to_string()))
}

/// `GET /api/relay/status`.
pub async fn status(_: Admin, State(state): State<WebState>) -> Result<Json<RelayStatus>, ApiError> {
    Ok(Json(relay(&state)?.status()))
}

#[derive(Deserialize)]
pub struct ChartQuery {
    minutes: Option<usize>,
}

/// `GET /api/relay/chart?minutes=60`: records per minute by state, oldest minute first.
pub async fn chart(
    _: Admin,
    State(state): State<WebState>,
    Params(q): Params<ChartQuery>,
) -> Result<Json<Value>, ApiError> {
    relay(&state)?;
    let minutes: Vec<Minute> =
        state.flow.minutes(now_ms(), q.minutes.unwrap_or(60).clamp(1, crate::flow::KEEP_MINUTES));
    Ok(Json(json!({ "minutes": minutes })))
}

#[derive(Deserialize)]
pub struct RecordsQuery {
    /// `held`, `missing`, `kept`, `queued`, `forwarded`, `received`; absent: every state.
    state: Option<String>,
    source: Option<String>,
    /// Only records received at or after this time.
    since: Option<DateTime<Utc>>,
    /// Only records whose text contains this (case-insensitive).
    text: Option<String>,
    /// The page after this cursor (`next_before` of the previous page).
    before: Option<i64>,
    limit: Option<u32>,
}

/// `GET /api/relay/records?state=held&source=&since=&text=&before=&limit=`: newest first.
pub async fn records(
    _: Admin,
    State(state): State<WebState>,
    Params(q): Params<RecordsQuery>,
) -> Result<Json<Value>, ApiError> {
    let relay = relay(&state)?;
    let wanted = match q.state.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => Some(
            s.parse::<RelayState>()
                .map_err(|_| ApiError::BadRequest(msg!("web-api-unknown-state", state = s)))?,
        ),
        None => None,
    };
    let limit = page_limit(&state, q.limit);
    let filter = RelayFilter {
        state: wanted,
        source: q.source.filter(|s| !s.trim().is_empty()),
        since_ms: q.since.map(|t| t.timestamp_millis()),
        text: q.text.filter(|t| !t.trim().is_empty()),
        before_id: q.before,
        newest_first: true,
        limit: Some(limit + 1),
        ..Default::default()
    };
    let mut rows: Vec<RelayRow> = relay.records(&filter).await?;
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let next_before = if more { rows.last().map(|r| r.id) } else { None };
    Ok(Json(json!({ "records": rows, "next_before": next_before })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pick {
    source: String,
    seq: i64,
    state: RelayState,
}

#[derive(Deserialize)]
#[serde(untagged)]
pub enum Resend {
    /// Chosen records.
    Records { records: Vec<Pick> },
    /// Everything in a state (optionally of one source, in a seq range).
    Selector(ResendSelector),
}

/// `POST /api/relay/resend {"records":[{"source","seq","state"}]}` or
/// `{"state":"held","source"?,"seqs"?:[lo,hi]}`: queue them again for forwarding.
pub async fn resend(
    admin: Admin,
    State(state): State<WebState>,
    Body(body): Body<Resend>,
) -> Result<Json<Value>, ApiError> {
    let relay = relay(&state)?;
    let selectors = match body {
        Resend::Selector(sel) => vec![sel],
        Resend::Records { records } => ranges(records)?,
    };
    let mut queued = 0;
    for sel in selectors {
        let done = relay.resend(sel, &admin.name).await.map_err(failed)?;
        queued += done.queued;
    }
    info!(admin = %admin.name, queued, "re-sent relay records from the web page");
    Ok(Json(json!({ "queued": queued })))
}

/// Group picked records into one selector per run of consecutive seqs of one source and state.
fn ranges(records: Vec<Pick>) -> Result<Vec<ResendSelector>, ApiError> {
    if records.is_empty() {
        return Err(ApiError::BadRequest(msg!("web-api-no-records-chosen")));
    }
    let mut groups: BTreeMap<(String, &'static str), (RelayState, Vec<i64>)> = BTreeMap::new();
    for p in records {
        if !matches!(p.state, RelayState::Held | RelayState::Missing | RelayState::Kept) {
            return Err(ApiError::BadRequest(msg!("web-api-not-resendable", state = p.state.as_str())));
        }
        groups.entry((p.source, p.state.as_str())).or_insert((p.state, Vec::new())).1.push(p.seq);
    }
    let mut out = Vec::new();
    for ((source, _), (state, mut seqs)) in groups {
        seqs.sort_unstable();
        seqs.dedup();
        let mut start = seqs[0];
        let mut prev = seqs[0];
        for &s in &seqs[1..] {
            if s != prev + 1 {
                out.push(ResendSelector { state, source: Some(source.clone()), seqs: Some((start, prev)) });
                start = s;
            }
            prev = s;
        }
        out.push(ResendSelector { state, source: Some(source), seqs: Some((start, prev)) });
    }
    Ok(out)
}

/// `POST /api/relay/reconcile`: compare with downstream now.
pub async fn reconcile(
    admin: Admin,
    Speaks(lang): Speaks,
    State(state): State<WebState>,
) -> Result<Json<Value>, ApiError> {
    relay(&state)?.reconcile_now().await.map_err(failed)?;
    info!(admin = %admin.name, "asked for a relay reconcile from the web page");
    Ok(Json(json!({ "message": msg!("web-api-reconciling").render(lang) })))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pick(source: &str, seq: i64, state: RelayState) -> Pick {
        Pick { source: source.into(), seq, state }
    }

    #[test]
    fn picked_records_become_one_selector_per_run() {
        let picks = vec![
            pick("a", 5, RelayState::Held),
            pick("a", 3, RelayState::Held),
            pick("a", 4, RelayState::Held),
            pick("a", 9, RelayState::Held),
            pick("a", 4, RelayState::Held),
            pick("b", 1, RelayState::Missing),
        ];
        let got = ranges(picks).unwrap();
        let sel = |state, source: &str, lo, hi| ResendSelector {
            state,
            source: Some(source.into()),
            seqs: Some((lo, hi)),
        };
        assert_eq!(
            got,
            [
                sel(RelayState::Held, "a", 3, 5),
                sel(RelayState::Held, "a", 9, 9),
                sel(RelayState::Missing, "b", 1, 1)
            ]
        );
        assert!(ranges(vec![]).is_err());
        assert!(ranges(vec![pick("a", 1, RelayState::Forwarded)]).is_err(), "only held, missing or kept");
    }
}
