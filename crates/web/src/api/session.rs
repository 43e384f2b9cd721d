//! Logging in and out of the web page, and what the page needs to know before anyone logs in.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use sockhub_i18n::msg;
use sockhub_proto::secret::Secret;
use sockhub_server::config::Admission;
use tracing::info;

use super::Body;
use crate::auth::{self, ClientAddr, Member};
use crate::{ApiError, WebState};

/// `GET /api/services`: which services run, and how chat admits people, so the page shows only
/// what exists and asks for a password only where one is needed.
pub async fn services(State(state): State<WebState>) -> Json<serde_json::Value> {
    let hub = &state.hub;
    let chat_auth = match hub.config.chat.auth {
        Admission::Open => "open",
        Admission::Accounts => "accounts",
    };
    Json(json!({
        "chat": hub.chat.is_some(),
        "quiz": hub.quiz.is_some(),
        "quiz_manual": hub.quiz.as_ref().is_some_and(|q| q.starts_manually()),
        "calc": hub.calc.is_some(),
        "relay": hub.relay.is_some(),
        "chat_auth": chat_auth,
    }))
}

#[derive(Deserialize)]
pub struct Login {
    name: String,
    password: Secret,
}

/// `POST /api/login {"name","password"}`: check the account and start a web session.
pub async fn login(
    State(state): State<WebState>,
    ClientAddr(addr): ClientAddr,
    Body(body): Body<Login>,
) -> Result<Response, ApiError> {
    if body.name.trim().is_empty() {
        return Err(ApiError::BadRequest(msg!("web-api-name-empty")));
    }
    let identity = state
        .hub
        .auth
        .login(addr, "web", body.name.trim(), Some(&body.password), Admission::Accounts)
        .await?;
    let stamp = identity.password_stamp.expect("a login to an account has its password's stamp");
    let token = state.sessions.create(&identity.name, stamp);
    info!(peer = %addr, name = %identity.name, role = %identity.role, "logged in to the web page");
    let cookie = auth::session_cookie(&token, state.config());
    let body = json!({"name": identity.name, "role": identity.role});
    Ok(([(header::SET_COOKIE, cookie)], Json(body)).into_response())
}

/// `POST /api/logout`: end the session (if any) and clear the cookie.
pub async fn logout(State(state): State<WebState>, headers: HeaderMap) -> Response {
    if let Some(token) = auth::token(&headers) {
        state.sessions.remove(&token);
    }
    (StatusCode::NO_CONTENT, [(header::SET_COOKIE, auth::cleared_cookie())]).into_response()
}

/// `GET /api/me`: who this web login is.
pub async fn me(member: Member) -> Json<serde_json::Value> {
    Json(json!({"name": member.name, "role": member.role}))
}

/// `GET /api/i18n/{lang}`: every message of `lang` (`en`, `ko`) by id, with `{$name}`
/// placeholders for the page to fill: the page speaks the same sentences as the terminal.
pub async fn messages(Path(lang): Path<String>) -> Result<Json<serde_json::Value>, ApiError> {
    let lang: sockhub_i18n::Lang =
        lang.parse().map_err(|e: sockhub_i18n::UnknownLang| ApiError::NotFound(e.to_string().into()))?;
    Ok(Json(json!(lang.catalog())))
}
