//! The shared square calculator: students log in with their ID, send numbers, get exact squares;
//! every result is stored before it is acknowledged and broadcast to everyone connected.
//!
//! - [`CalcService`] holds the shared parts: the [`board::Board`] (who is connected, and the one
//!   place results are broadcast), the [`commit::Committer`] (group commit of results to the
//!   database), the store (roster lookups and history reads) and the settings.
//! - [`session::CalcSession`]: one connection: student ID, then numbers and commands.
//! - [`number`]: the number grammar and exact squaring.
//! - [`roster`]: reading and checking a roster CSV (for `sockhub roster import`).

pub mod board;
pub mod commit;
pub mod number;
pub mod roster;
pub mod session;

use std::sync::Arc;

use sockhub_store::{Journal, Store};
use tokio_util::sync::CancellationToken;

use crate::config::CalcConfig;
use crate::metrics::ServiceMetrics;
use crate::net::outbox::Outbox;
use crate::session::{Peer, Service};

pub use commit::{CommitStats, Committer};
pub use session::CalcSession;

/// The calculator's shared state.
pub struct CalcService {
    pub(crate) config: CalcConfig,
    pub(crate) board: board::Board,
    pub(crate) committer: Committer,
    pub(crate) store: Store,
    pub(crate) journal: Journal,
    metrics: Arc<ServiceMetrics>,
    /// Set during shutdown, so departures are not logged one by one as the board empties.
    pub(crate) closing: CancellationToken,
}

impl CalcService {
    /// The service, with its group-commit task started on `store`.
    pub fn new(config: &CalcConfig, store: Store, journal: Journal, closing: CancellationToken) -> Self {
        let committer = Committer::spawn(store.clone(), config.commit_queue, config.commit_batch);
        CalcService {
            config: config.clone(),
            board: board::Board::default(),
            committer,
            store,
            journal,
            metrics: Arc::default(),
            closing,
        }
    }

    /// Connections logged in now.
    pub fn online(&self) -> usize {
        self.board.online()
    }

    /// The group commit's counters (results stored, transactions used).
    pub fn commit_stats(&self) -> &CommitStats {
        self.committer.stats()
    }
}

impl Service for CalcService {
    type Session = CalcSession;

    fn name(&self) -> &'static str {
        "calc"
    }

    fn greeting(&self) -> String {
        format!(
            "* Welcome to the sockhub square calculator. {} online. Type /help after you log in.\n\
             * Your student ID?\n",
            self.board.online()
        )
    }

    fn open(self: &Arc<Self>, peer: Peer, outbox: Outbox) -> CalcSession {
        CalcSession::new(Arc::clone(self), peer, outbox)
    }

    fn metrics(&self) -> &Arc<ServiceMetrics> {
        &self.metrics
    }
}
