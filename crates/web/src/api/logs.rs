//! The database logs, for admins: the day's logins and the moderation log.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use serde::Deserialize;
use sockhub_i18n::msg;
use sockhub_store::{LoginFilter, LoginRow, ModerationFilter, ModerationRow};

use super::{Params, page_limit};
use crate::auth::Admin;
use crate::{ApiError, WebState};

#[derive(Deserialize)]
pub struct LoginQuery {
    /// The day, `YYYY-MM-DD` (default: today in `tz_offset_minutes`).
    date: Option<NaiveDate>,
    /// The viewer's time zone as minutes east of UTC (Korea: 540). Default 0 (UTC).
    #[serde(default)]
    tz_offset_minutes: i32,
    /// Only this user.
    user: Option<String>,
    limit: Option<u32>,
}

/// `GET /api/logins?date=2026-11-21&tz_offset_minutes=540`: every login attempt (success,
/// failure, logout; every service) of one day in the viewer's time zone, oldest first.
pub async fn logins(
    _: Admin,
    State(state): State<WebState>,
    Params(q): Params<LoginQuery>,
) -> Result<Json<Vec<LoginRow>>, ApiError> {
    let tz = FixedOffset::east_opt(q.tz_offset_minutes.saturating_mul(60))
        .ok_or_else(|| ApiError::BadRequest(msg!("web-api-tz-offset")))?;
    let date = q.date.unwrap_or_else(|| Utc::now().with_timezone(&tz).date_naive());
    let mut filter = LoginFilter::day(date, &tz);
    filter.user = q.user.filter(|u| !u.trim().is_empty());
    filter.limit = Some(page_limit(&state, q.limit));
    Ok(Json(state.hub.store.logins(&filter).await?))
}

#[derive(Deserialize)]
pub struct ModerationQuery {
    /// Only actions at or after this time (RFC 3339).
    since: Option<DateTime<Utc>>,
    /// Only actions on this user.
    target: Option<String>,
    limit: Option<u32>,
}

/// `GET /api/moderation?since=...&target=...&limit=...`: kicks, mutes and unmutes, the newest
/// `limit` (returned oldest first).
pub async fn moderation(
    _: Admin,
    State(state): State<WebState>,
    Params(q): Params<ModerationQuery>,
) -> Result<Json<Vec<ModerationRow>>, ApiError> {
    let filter = ModerationFilter {
        from: q.since,
        target: q.target.filter(|t| !t.trim().is_empty()),
        limit: Some(page_limit(&state, q.limit)),
        ..Default::default()
    };
    Ok(Json(state.hub.store.moderation_log(&filter).await?))
}
