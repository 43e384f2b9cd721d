//! The relay's own vocabulary for what went wrong and why something ran: [`RelayError`] for a
//! failed exchange with downstream, a failed reconcile or a refused operator request (what the
//! status, the reconcile table and the web page show, via `Display`), [`ReconcileCause`] for why
//! a reconcile ran, and [`Resent`] for what a resend queued again. Renaming a case is a compile
//! error wherever it is used.

use std::fmt;

use serde::Serialize;
use sockhub_store::StoreError;

/// Why a relay operation failed.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// Downstream did not take a request, or did not answer, in time (`what` was happening).
    #[error("timed out {0}")]
    TimedOut(&'static str),
    /// Writing to downstream failed.
    #[error("write failed: {0}")]
    Write(#[source] std::io::Error),
    /// Downstream closed the connection.
    #[error("downstream closed the connection")]
    Closed,
    /// Downstream ended the session with a `bye` and this reason.
    #[error("downstream said bye: {0}")]
    Bye(String),
    /// Downstream wants a (valid) device token.
    #[error("downstream requires a device token (relay.downstream_token): {0}")]
    Unauthorized(String),
    /// A line from downstream that is not a relay event.
    #[error("unreadable reply {line:?}: {error}")]
    Unreadable { line: String, error: String },
    /// A line too long or not UTF-8.
    #[error("downstream sent a bad line")]
    BadLine,
    /// Downstream answered `request` with something else.
    #[error("unexpected reply to {request}: {reply}")]
    Unexpected { request: &'static str, reply: String },
    /// This node's database failed.
    #[error("database: {0}")]
    Store(#[from] StoreError),
    /// The operation does not apply here, for this reason (a sink has nothing to re-send, a
    /// node that does not forward cannot reconcile).
    #[error("{0}")]
    NotHere(&'static str),
    /// An operator request whose parameters do not parse.
    #[error("bad request parameters: {0}")]
    BadRequest(String),
    /// The relay is shutting down.
    #[error("the relay is shutting down")]
    ShuttingDown,
}

/// Why a reconcile ran. Stored and shown in lower case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ReconcileCause {
    /// Every new connection to downstream starts with one.
    Reconnect,
    /// `[relay] reconcile_interval_secs` came round.
    Periodic,
    /// An operator asked (`sockhub relay reconcile`, the web page).
    Manual,
}

impl ReconcileCause {
    pub fn as_str(self) -> &'static str {
        match self {
            ReconcileCause::Reconnect => "reconnect",
            ReconcileCause::Periodic => "periodic",
            ReconcileCause::Manual => "manual",
        }
    }
}

impl fmt::Display for ReconcileCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a resend queued again.
#[derive(Debug, Clone, Serialize)]
pub struct Resent {
    /// The operator request it settled (`relay_requests`).
    pub request: i64,
    /// Records queued again, in all.
    pub queued: i64,
    pub sources: Vec<ResentSource>,
}

/// Records of one source queued again.
#[derive(Debug, Clone, Serialize)]
pub struct ResentSource {
    pub source: String,
    pub count: i64,
}
