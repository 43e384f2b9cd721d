//! The shared square calculator: students log in with their ID, send numbers, get exact squares;
//! every result is stored before it is acknowledged and broadcast to everyone connected.
//!
//! - [`CalcService`] holds the shared parts: the [`board::Board`] (who is connected, and the one
//!   place results are broadcast), the [`commit::Committer`] (group commit of results to the
//!   database), the store (roster lookups and history reads) and the settings.
//! - [`session::CalcSession`]: one connection: student ID (and, with `[calc] auth =
//!   "accounts"`, the password of the account named as the ID), then numbers and commands.
//! - [`number`]: the number grammar and exact squaring.
//! - [`roster`]: reading and checking a roster CSV (for `sockhub roster import`).

pub mod board;
pub mod commit;
pub mod number;
pub mod roster;
pub mod session;

use sockhub_i18n::t;
use std::sync::Arc;

use sockhub_store::{Journal, Store};
use tokio_util::sync::CancellationToken;

use crate::bus::replica::Change;
use crate::bus::{CalcMsg, Digest, Listener, Message, NodeRef, SharedBus, publish_in_parts};
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
    /// Checks passwords (and throttles guesses) when `auth = "accounts"`.
    pub(crate) auth: Arc<crate::auth::Authenticator>,
    metrics: Arc<ServiceMetrics>,
    /// Set during shutdown, so departures are not logged one by one as the board empties.
    pub(crate) closing: CancellationToken,
}

impl CalcService {
    /// The service, with its group-commit task started on `store`. Results also go to the other
    /// nodes through `bus` (attach the service to it with [`CalcService::attach`]).
    fn new(
        config: &CalcConfig,
        store: Store,
        journal: Journal,
        auth: Arc<crate::auth::Authenticator>,
        closing: CancellationToken,
        bus: SharedBus,
    ) -> Self {
        let committer = Committer::spawn(store.clone(), config.commit_queue, config.commit_batch);
        CalcService {
            config: config.clone(),
            board: board::Board::new(bus),
            committer,
            store,
            journal,
            auth,
            metrics: Arc::default(),
            closing,
        }
    }

    /// Receive the other nodes' results and connections.
    fn attach(self: &Arc<Self>, bus: &SharedBus) {
        let listener: Arc<dyn Listener> = Arc::clone(self) as _;
        bus.attach(Arc::downgrade(&listener));
    }

    /// Connections logged in now.
    pub fn online(&self) -> usize {
        self.board.online()
    }

    /// The students connected now, each once, sorted by ID.
    pub fn students(&self) -> Vec<sockhub_proto::calc::StudentInfo> {
        self.board.students()
    }

    /// Results waiting for the group commit now.
    pub fn commit_queue_depth(&self) -> usize {
        self.committer.queue_depth()
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
        let greeting = t!("calc-greeting", online = self.board.online());
        format!("{greeting}\n{}\n", t!("calc-prompt-id"))
    }

    fn open(self: &Arc<Self>, peer: Peer, outbox: Outbox) -> CalcSession {
        CalcSession::new(Arc::clone(self), peer, outbox)
    }

    fn metrics(&self) -> &Arc<ServiceMetrics> {
        &self.metrics
    }
}

/// The calculator's part in a cluster: other nodes' results are shown here, and their connections
/// count in the online figure and `/who`.
impl Listener for CalcService {
    fn service(&self) -> &'static str {
        "calc"
    }

    fn on_message(&self, from: &NodeRef, msg: Message) {
        let Message::Calc(msg) = msg else { return };
        let in_step = match msg {
            CalcMsg::Result { result } => {
                self.board.deliver(result);
                true
            }
            CalcMsg::Joined { student, conn, version } => {
                self.board.apply_remote(|r| r.join(from, crate::bus::CalcMember { student, conn }, version))
            }
            CalcMsg::Left { conn, version } => {
                self.board.apply_remote(|r| r.leave(from, &conn.to_string(), conn, version))
            }
            CalcMsg::Members { version, members, first, last } => {
                self.board.apply_remote(|r| r.snapshot(from, version, members, first, last))
            }
        };
        if !in_step {
            self.board.bus().send(from, Message::Hello);
        }
    }

    fn on_node_down(&self, node: &NodeRef) {
        self.board.apply_remote(|r| Change { left: r.drop_node(node), ..Change::default() });
    }

    fn announce(&self) {
        let (version, members) = self.board.snapshot();
        publish_in_parts(self.board.bus().as_ref(), members, |members, first, last| {
            Message::Calc(CalcMsg::Members { version, members, first, last })
        });
    }

    fn digest(&self) -> Digest {
        self.board.digest()
    }

    fn in_sync(&self, node: &NodeRef, digest: &Digest) -> bool {
        self.board.remote_matches(node, digest)
    }
}

impl crate::metrics::Families for CalcService {
    fn families(&self, out: &mut crate::metrics::FamilyWriter<'_>) -> std::fmt::Result {
        let stats = self.commit_stats();
        let load = |c: &std::sync::atomic::AtomicU64| c.load(std::sync::atomic::Ordering::Relaxed);
        out.gauge(
            "sockhub_calc_commit_queue_depth",
            "Calculator results waiting to be stored.",
            self.commit_queue_depth(),
        )?;
        out.counter(
            "sockhub_calc_results_committed_total",
            "Calculator results stored.",
            load(&stats.committed),
        )?;
        out.counter(
            "sockhub_calc_commit_failures_total",
            "Calculator results whose commit failed.",
            load(&stats.failed),
        )
    }
}

impl crate::service::Start for CalcService {
    fn ports(config: &crate::config::Config) -> Option<(u16, Option<u16>)> {
        config.calc.enabled.then_some((config.calc.port, config.calc.tls_port))
    }

    /// Create the service with its group commit, attached to the bus.
    async fn start(
        config: &crate::config::Config,
        hub: &crate::app::Hub,
    ) -> Result<Arc<Self>, crate::app::StartError> {
        let calc = Arc::new(CalcService::new(
            &config.calc,
            hub.store.clone(),
            hub.journal.clone(),
            Arc::clone(&hub.auth),
            hub.net.shutdown.clone(),
            Arc::clone(&hub.bus),
        ));
        calc.attach(&hub.bus);
        hub.metrics.collect(crate::metrics::Shared(Arc::clone(&calc)));
        Ok(calc)
    }
}
