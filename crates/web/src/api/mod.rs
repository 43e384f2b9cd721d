//! The HTTP API under `/api/`: what is not a live session.
//!
//! Every body is JSON; every error is [`ApiError`]'s `{"type":"error","code":...}`, its
//! `message` in the request's language ([`crate::lang`]). GET
//! requests read; every other method changes something and passes the CSRF guard first
//! ([`crate::auth::csrf_guard`]). Who may call what:
//! - anyone: `GET /api/services`, `GET /api/i18n/{lang}`, `POST /api/login`, `POST /api/logout`;
//! - a web login: `GET /api/me`;
//! - admins: everything else ([`accounts`], [`bans`], [`logs`], [`moderation`], [`quiz`], [`calc`], [`relay`], `GET /api/online`).
//!
//! Lists that can grow without bound take `limit` (at most `[web] max_page_rows`).

pub mod accounts;
pub mod bans;
pub mod calc;
pub mod logs;
pub mod moderation;
pub mod quiz;
pub mod relay;
pub mod session;

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::middleware;
use axum::routing::{delete, get, patch, post};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use sockhub_i18n::msg;

use crate::auth::csrf_guard;
use crate::{ApiError, WebState};

pub fn routes(state: WebState) -> Router<WebState> {
    Router::new()
        .route("/services", get(session::services))
        .route("/i18n/{lang}", get(session::messages))
        .route("/login", post(session::login))
        .route("/logout", post(session::logout))
        .route("/me", get(session::me))
        .route("/online", get(moderation::online))
        .route("/accounts", get(accounts::list).post(accounts::add))
        .route("/accounts/{name}", patch(accounts::change).delete(accounts::remove))
        .route("/logins", get(logs::logins))
        .route("/moderation", get(logs::moderation).post(moderation::act))
        .route("/bans", get(bans::list).post(bans::add))
        .route("/bans/{name}", delete(bans::remove))
        .route("/quiz/rounds", get(quiz::rounds))
        .route("/quiz/rounds/{round}", get(quiz::results))
        .route("/quiz/export.csv", get(quiz::export))
        .route("/quiz/start", post(quiz::start))
        .route("/calc/export.csv", get(calc::export))
        .route("/relay/status", get(relay::status))
        .route("/relay/chart", get(relay::chart))
        .route("/relay/records", get(relay::records))
        .route("/relay/resend", post(relay::resend))
        .route("/relay/reconcile", post(relay::reconcile))
        .fallback(|| async { ApiError::NotFound(msg!("web-api-no-endpoint")) })
        .layer(middleware::from_fn_with_state(state.clone(), csrf_guard))
        .layer(middleware::from_fn_with_state(state, crate::lang::localize))
}

/// A JSON body whose rejections are [`ApiError`]s (`bad_json`, `bad_request`).
pub struct Body<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(Body(v)),
            Err(JsonRejection::JsonSyntaxError(e)) => {
                Err(ApiError::BadJson(msg!("web-api-not-json", error = e.body_text())))
            }
            Err(JsonRejection::MissingJsonContentType(_)) => {
                Err(ApiError::BadJson(msg!("web-api-json-content-type")))
            }
            Err(e) => Err(ApiError::BadRequest(e.body_text().into())),
        }
    }
}

/// A query string whose rejections are `bad_request`.
pub struct Params<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(q) => Ok(Params(q.0)),
            Err(e @ QueryRejection::FailedToDeserializeQueryString(_)) => {
                Err(ApiError::BadRequest(e.body_text().into()))
            }
            Err(e) => Err(ApiError::BadRequest(e.body_text().into())),
        }
    }
}

/// A requested page size, capped by `[web] max_page_rows`.
pub fn page_limit(state: &WebState, asked: Option<u32>) -> u32 {
    let max = state.config().max_page_rows;
    asked.unwrap_or(max).clamp(1, max)
}
