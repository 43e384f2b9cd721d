//! Bans from the admin page: the same ban and unban as the chat's `/ban` and `/unban`, acting
//! as the logged-in admin, with the same effects (stored before the reply, logged, told to every
//! node, the user's connections ended), and the list of bans in force.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use sockhub_proto::time::rfc3339_ms;
use sockhub_store::Ban;

use super::Body;
use crate::auth::Admin;
use crate::{ApiError, WebState};

/// A ban as the API shows it.
pub fn to_json(b: &Ban) -> Value {
    json!({
        "name": b.target,
        "address": b.address,
        "until": b.until.as_ref().map(rfc3339_ms),
        "reason": b.reason,
        "by": b.actor,
        "at": rfc3339_ms(&b.at),
    })
}

/// `GET /api/bans`: the bans in force, by name.
pub async fn list(_: Admin, State(state): State<WebState>) -> Json<Value> {
    let bans: Vec<Value> = state.hub.auth.bans().active().iter().map(to_json).collect();
    Json(json!({ "bans": bans }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewBan {
    name: String,
    /// `30m`, `2h`, `7d`; absent or empty: until unbanned.
    #[serde(default)]
    duration: Option<String>,
    #[serde(default)]
    reason: Option<String>,
    /// Ban the user's address group too.
    #[serde(default)]
    address: bool,
}

/// `POST /api/bans {"name","duration"?,"reason"?,"address"?}` → 201 with the ban.
pub async fn add(
    admin: Admin,
    State(state): State<WebState>,
    Body(body): Body<NewBan>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let trimmed = |s: Option<String>| s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    let length = trimmed(body.duration).as_deref().map(sockhub_proto::ban::parse_duration).transpose()?;
    let bans = state.hub.auth.bans();
    let ban = bans.ban(&admin.name, body.name.trim(), length, trimmed(body.reason), body.address).await?;
    Ok((StatusCode::CREATED, Json(to_json(&ban))))
}

/// `DELETE /api/bans/{name}` → 204; `not_banned` (409) if there is no such ban.
pub async fn remove(
    admin: Admin,
    State(state): State<WebState>,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.hub.auth.bans().unban(&admin.name, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}
