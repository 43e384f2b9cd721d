//! Why a simulated client stopped. Scenarios keep the first error of each client and the report
//! prints it (`Display`), so each variant says what failed in the words a person running a
//! benchmark needs.

use std::time::Duration;

use tokio_util::codec::LinesCodecError;

/// A simulated client's failure.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// A socket call failed: `what` names it (`connect 127.0.0.1:7001`, `write`, `login`).
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    /// A line from the server could not be read (too long, or the connection broke).
    #[error("read: {0}")]
    Read(#[from] LinesCodecError),
    /// The server answered with an error line (shown as sent).
    #[error("refused: {0}")]
    Refused(String),
    /// The server closed the connection; the text says when.
    #[error("{0}")]
    Closed(String),
    /// The server stopped answering.
    #[error("no acknowledgement for {0:?}")]
    Stalled(Duration),
    /// The run was stopped before the client finished.
    #[error("stopped")]
    Stopped,
}

impl ClientError {
    /// An I/O error of the step `what`.
    pub fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> ClientError {
        let what = what.into();
        move |source| ClientError::Io { what, source }
    }
}
