//! The calculator's results for admins: every result (or one student's) as CSV, the same file
//! as `sockhub calc export --format csv`, streamed page by page so that an export of any size
//! holds only one page in memory.

use axum::body::Body;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use futures_util::stream;
use serde::Deserialize;
use sockhub_server::export::{CALC_RESULT_HEADERS, calc_result_cells, csv_bytes};
use sockhub_store::CalcResultFilter;
use tracing::warn;

use super::Params;
use crate::auth::Admin;
use crate::{ApiError, WebState};

/// Results read per database query while streaming an export.
const PAGE: u32 = 1000;

#[derive(Deserialize)]
pub struct ExportQuery {
    /// Only this student's results.
    student: Option<String>,
}

/// `GET /api/calc/export.csv?student=ID`: every result in commit order, as a download.
pub async fn export(
    _: Admin,
    State(state): State<WebState>,
    Params(q): Params<ExportQuery>,
) -> Result<Response, ApiError> {
    let student = q.student.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    let store = state.hub.store.clone();
    let filter = CalcResultFilter { student_id: student.clone(), after_id: None, limit: Some(PAGE) };
    // The first page is read before answering, so a database failure is a proper error reply
    // rather than a download cut short.
    let first = store.calc().results(&filter).await?;
    let head = stream::iter([Ok::<_, std::io::Error>(csv_bytes(Some(CALC_RESULT_HEADERS), []))]);
    let pages = stream::unfold(Some((first, filter)), move |next| {
        let store = store.clone();
        async move {
            let (page, mut filter) = next?;
            let full = page.len() == PAGE as usize;
            filter.after_id = page.last().map(|r| r.id).or(filter.after_id);
            let chunk = csv_bytes(None, page.iter().map(calc_result_cells));
            let following = if full {
                match store.calc().results(&filter).await {
                    Ok(page) => Some((page, filter)),
                    Err(e) => {
                        warn!(error = %e, "calculator export cut short by a database error");
                        return Some((Err(std::io::Error::other("database error")), None));
                    }
                }
            } else {
                None
            };
            Some((Ok(chunk), following))
        }
    });
    let name = match &student {
        Some(id) if id.chars().all(|c| c.is_ascii_digit()) => {
            format!("attachment; filename=\"calc-{id}.csv\"")
        }
        _ => "attachment; filename=\"calc-results.csv\"".to_owned(),
    };
    let headers =
        [(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()), (header::CONTENT_DISPOSITION, name)];
    Ok((headers, Body::from_stream(futures_util::StreamExt::chain(head, pages))).into_response())
}
