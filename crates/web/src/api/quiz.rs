//! Quiz rounds for admins: the list of rounds with their winners, a round's final leaderboard,
//! every attempt as CSV (the same file as `sockhub quiz export`), and starting a round when
//! rounds start manually.

use sockhub_i18n::msg;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use sockhub_server::export::{QUIZ_ATTEMPT_HEADERS, csv_bytes, quiz_attempt_cells};
use sockhub_server::service::quiz::QuizService;
use sockhub_store::{QuizResult, QuizRoundRow};
use tracing::info;

use super::Params;
use crate::auth::Admin;
use crate::lang::Speaks;
use crate::{ApiError, WebState};

fn quiz(state: &WebState) -> Result<&Arc<QuizService>, ApiError> {
    state.hub.quiz.as_ref().ok_or_else(|| ApiError::NotFound(msg!("web-api-quiz-off")))
}

/// `GET /api/quiz/rounds`: every round, oldest first, with its winner.
pub async fn rounds(_: Admin, State(state): State<WebState>) -> Result<Json<Vec<QuizRoundRow>>, ApiError> {
    Ok(Json(state.hub.store.quiz().rounds().await?))
}

/// `GET /api/quiz/rounds/{round}`: the round's final leaderboard.
pub async fn results(
    _: Admin,
    State(state): State<WebState>,
    Path(round): Path<i64>,
) -> Result<Json<Vec<QuizResult>>, ApiError> {
    Ok(Json(state.hub.store.quiz().results(round).await?))
}

#[derive(Deserialize)]
pub struct ExportQuery {
    /// Only this round (default: every round).
    round: Option<i64>,
}

/// `GET /api/quiz/export.csv?round=N`: every attempt, one row each, as a download.
pub async fn export(
    _: Admin,
    State(state): State<WebState>,
    Params(q): Params<ExportQuery>,
) -> Result<Response, ApiError> {
    let rows = state.hub.store.quiz().attempts(q.round).await?;
    let csv = csv_bytes(Some(QUIZ_ATTEMPT_HEADERS), rows.iter().map(quiz_attempt_cells));
    let file = match q.round {
        Some(r) => format!("attachment; filename=\"quiz-round-{r}.csv\""),
        None => "attachment; filename=\"quiz-attempts.csv\"".to_owned(),
    };
    let headers =
        [(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()), (header::CONTENT_DISPOSITION, file)];
    Ok((headers, csv).into_response())
}

/// `POST /api/quiz/start`: start a round (when rounds start manually).
pub async fn start(
    admin: Admin,
    Speaks(lang): Speaks,
    State(state): State<WebState>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let said = quiz(&state)?.request_start()?;
    info!(admin = %admin.name, said = %said, "asked for a quiz round from the web page");
    Ok(Json(json!({"message": said.render(lang)})))
}
