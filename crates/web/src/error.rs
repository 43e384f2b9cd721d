//! The API's error type: every failure becomes a JSON body with one of the protocol's stable
//! codes, `{"type":"error","code":"not_logged_in","message":"..."}`, and a fitting HTTP status.
//!
//! What a client may read is decided here, once: a service's own error (a wrong password, a user
//! not online) is passed on as it is; a database failure becomes `unavailable` or `internal` with
//! a fixed message, and its details go to the server log only, so no SQL, path or driver message
//! ever reaches a browser.

use axum::Json;
use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sockhub_i18n::{Msg, msg};
use sockhub_proto::ErrorCode;
use sockhub_proto::error::ErrorEvent;
use sockhub_server::auth::LoginError;
use sockhub_store::StoreError;
use tracing::{error, warn};

use crate::lang::ErrorBody;

/// Why an API request failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No web login, or it expired.
    #[error("{}", msg!("web-api-not-logged-in"))]
    NotLoggedIn,
    /// Logged in, but not as an admin.
    #[error("{}", msg!("web-api-forbidden"))]
    Forbidden,
    /// A state-changing request that did not come from the page itself.
    #[error("{}", msg!("web-api-csrf"))]
    Csrf,
    /// The request body is not JSON.
    #[error("{0}")]
    BadJson(Msg),
    /// The request is JSON (or a query) with a missing or malformed field.
    #[error("{0}")]
    BadRequest(Msg),
    /// No such thing.
    #[error("{0}")]
    NotFound(Msg),
    /// Every connection slot is taken; the response asks the client to wait [`BUSY_RETRY_SECS`].
    #[error("{}", msg!("web-api-server-full"))]
    ServerFull,
    /// An error a service reports with its own code (a refused login, a user not online).
    #[error("{}", .0.message)]
    Service(ErrorEvent),
    /// A service's refusal that says when to try again (a login locked for too many attempts):
    /// the response carries `Retry-After` in whole seconds.
    #[error("{}", .error.message)]
    RetryLater { error: ErrorEvent, secs: u64 },
    /// The database failed; the details are logged, not shown.
    #[error("database error")]
    Store(#[from] StoreError),
}

impl ApiError {
    /// The stable code.
    pub fn code(&self) -> ErrorCode {
        match self {
            ApiError::NotLoggedIn => ErrorCode::NotLoggedIn,
            ApiError::Forbidden => ErrorCode::Forbidden,
            ApiError::Csrf => ErrorCode::CsrfRejected,
            ApiError::BadJson(_) => ErrorCode::BadJson,
            ApiError::BadRequest(_) => ErrorCode::BadRequest,
            ApiError::NotFound(_) => ErrorCode::NotFound,
            ApiError::ServerFull => ErrorCode::ServerFull,
            ApiError::Service(e) | ApiError::RetryLater { error: e, .. } => e.code,
            ApiError::Store(StoreError::NotFound(_)) => ErrorCode::NotFound,
            ApiError::Store(StoreError::Conflict(_)) => ErrorCode::NameTaken,
            ApiError::Store(StoreError::Invalid(_)) => ErrorCode::BadRequest,
            ApiError::Store(StoreError::Unavailable(_)) => ErrorCode::Unavailable,
            ApiError::Store(_) => ErrorCode::Internal,
        }
    }

    /// The message a client sees, rendered later in the request's language.
    fn public_message(&self) -> Msg {
        match self {
            ApiError::NotLoggedIn => msg!("web-api-not-logged-in"),
            ApiError::Forbidden => msg!("web-api-forbidden"),
            ApiError::Csrf => msg!("web-api-csrf"),
            ApiError::ServerFull => msg!("web-api-server-full"),
            ApiError::BadJson(m) | ApiError::BadRequest(m) | ApiError::NotFound(m) => m.clone(),
            ApiError::Service(e) | ApiError::RetryLater { error: e, .. } => e.message.clone(),
            ApiError::Store(StoreError::NotFound(m) | StoreError::Conflict(m) | StoreError::Invalid(m)) => {
                Msg::from(m)
            }
            ApiError::Store(StoreError::Unavailable(_)) => msg!("web-api-db-unavailable"),
            ApiError::Store(_) => msg!("web-api-internal"),
        }
    }
}

/// How long a client refused for want of room (every connection slot taken, or its address at a
/// connection cap) is asked to wait before it tries again: the `Retry-After` of those refusals,
/// in seconds. Nothing frees at a known time, so it is a hint that keeps a retry loop from
/// hammering the server, not a promise.
pub const BUSY_RETRY_SECS: u64 = 5;

/// The HTTP status that goes with a code.
pub fn status_for(code: ErrorCode) -> StatusCode {
    use ErrorCode::*;
    match code {
        NotLoggedIn | BadCredentials | PasswordRequired | Unauthorized => StatusCode::UNAUTHORIZED,
        Forbidden | CsrfRejected | Banned => StatusCode::FORBIDDEN,
        NotFound | NoSuchUser => StatusCode::NOT_FOUND,
        NameTaken | AlreadyLoggedIn | NotMuted | NotBanned | SeqConflict => StatusCode::CONFLICT,
        TooManyAttempts | RateLimited | TooManyConnections => StatusCode::TOO_MANY_REQUESTS,
        Unavailable | ServerFull => StatusCode::SERVICE_UNAVAILABLE,
        LineTooLong => StatusCode::PAYLOAD_TOO_LARGE,
        Internal => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    }
}

impl From<LoginError> for ApiError {
    fn from(e: LoginError) -> Self {
        match e.retry_after_secs() {
            Some(secs) => ApiError::RetryLater { error: e.to_event(), secs },
            None => ApiError::Service(e.to_event()),
        }
    }
}

impl From<ErrorEvent> for ApiError {
    fn from(e: ErrorEvent) -> Self {
        ApiError::Service(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match (&self, self.code()) {
            (ApiError::Store(e), ErrorCode::Unavailable) => {
                warn!(error = %e, "web request: database unavailable")
            }
            (ApiError::Store(e), ErrorCode::Internal) => error!(error = %e, "web request failed"),
            _ => {}
        }
        let code = self.code();
        let retry_after = match &self {
            ApiError::RetryLater { secs, .. } => Some(*secs),
            ApiError::ServerFull => Some(BUSY_RETRY_SECS),
            _ => None,
        };
        // The same object, in the same field order, as an error on the wire (with a service's
        // own extra fields, such as a ban's `until`).
        let body = match self {
            ApiError::Service(e) | ApiError::RetryLater { error: e, .. } => {
                sockhub_proto::notice::Notice::Error(e)
            }
            other => sockhub_proto::notice::Notice::error(code, other.public_message()),
        };
        // Rendered here in English; `lang::localize` renders it again in the request's language.
        let mut res = (status_for(code), Json(body.clone())).into_response();
        res.extensions_mut().insert(ErrorBody(body));
        if let Some(secs) = retry_after {
            res.headers_mut().insert(RETRY_AFTER, HeaderValue::from(secs));
        }
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internals_never_show() {
        let e = ApiError::Store(StoreError::Other("syntax error near SELECT in /srv/db".into()));
        assert_eq!(e.code(), ErrorCode::Internal);
        assert!(!e.public_message().contains("SELECT"));
        let e = ApiError::Store(StoreError::Unavailable("connection refused 10.0.0.5:3306".into()));
        assert_eq!(e.code(), ErrorCode::Unavailable);
        assert!(!e.public_message().contains("10.0.0.5"));
    }

    #[test]
    fn every_code_has_a_status() {
        for code in ErrorCode::ALL {
            let status = status_for(*code);
            assert!(status.is_client_error() || status.is_server_error(), "{code}: {status}");
        }
    }
}
