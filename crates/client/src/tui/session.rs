//! The I/O around a full-screen session, the same for every service: a task that reads the
//! connection and forwards its events over a channel (reading a line is not cancel-safe, so it
//! cannot sit in a `select!` next to the keyboard), and the signals that mean "leave now".

use serde::de::DeserializeOwned;
use tokio::sync::mpsc;

use crate::conn::{ClientError, JsonReader};

/// What the connection's reader task reports.
#[derive(Debug)]
pub enum Incoming<E> {
    Event(E),
    /// A line that is not an event this client understands (a newer server?); the session goes on.
    Garbled(String),
    /// The server closed the connection.
    Closed,
    /// Reading failed; the connection is unusable.
    Failed(String),
}

/// Read events on a task of their own and forward them; ends after the connection does.
pub fn spawn_reader<E: DeserializeOwned + Send + 'static>(mut rx: JsonReader) -> mpsc::Receiver<Incoming<E>> {
    let (tx, out) = mpsc::channel(256);
    tokio::spawn(async move {
        loop {
            let msg = match rx.recv::<E>().await {
                Ok(Some(event)) => Incoming::Event(event),
                Ok(None) => Incoming::Closed,
                Err(e @ ClientError::Decode { .. }) => Incoming::Garbled(e.to_string()),
                Err(e) => Incoming::Failed(e.to_string()),
            };
            let last = matches!(msg, Incoming::Closed | Incoming::Failed(_));
            if tx.send(msg).await.is_err() || last {
                break;
            }
        }
    });
    out
}

/// Signals that mean "leave now". In raw mode Ctrl-C is a key, not SIGINT, but `kill -INT`, a
/// service manager's SIGTERM, or SIGHUP from a closed terminal window should leave cleanly too.
pub struct StopSignals {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    hangup: tokio::signal::unix::Signal,
}

impl StopSignals {
    pub fn new() -> std::io::Result<StopSignals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(StopSignals { term: signal(SignalKind::terminate())?, hangup: signal(SignalKind::hangup())? })
        }
        #[cfg(not(unix))]
        Ok(StopSignals {})
    }

    pub async fn recv(&mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.term.recv() => {}
            _ = self.hangup.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    }
}
