//! The relay: devices send records; this node stores them, keeps those its rules match and
//! forwards the rest to `downstream`, with acknowledgements at every hop, so that a record a
//! sender was told is accepted is never lost and never stored twice, across crashes.
//!
//! The parts, one file each:
//! - [`session`]: one connection (a device, or an upstream relay): decode, validate, apply the
//!   keep rules, hand the record to the ingest task; also answers reconcile questions.
//! - [`ingest`]: the one task that writes the relay tables. It takes everything waiting (new
//!   records from every connection, downstream's acks) and commits it in **one transaction**
//!   (group commit), then acknowledges the records to their connections (cumulative acks) and
//!   hands the new forwardable ones to the forwarder. It also runs operator requests and keeps
//!   the live status.
//! - [`forwarder`]: streams records downstream with a window in flight, marks them forwarded
//!   when acknowledged, reconnects with backoff and resumes from the database.
//! - [`reconcile`]: compares what this node marked forwarded with what downstream holds.
//! - [`filter`]: the keep rules. [`quota`]: the disk quota (backpressure).
//!
//! **In a cluster** (several nodes on one database, `[cluster]` set) every node ingests, and
//! exactly one forwards: the holder of the cluster-wide role [`FORWARDER_ROLE`], a claim tied to
//! its node lease ([`crate::bus::Bus::hold`]). The others keep checking every `cluster_poll_ms`
//! and take over once the holder's lease is expired (within the node timeout). Records ingested
//! on any node are committed `queued` in the shared tables; the holder re-reads the counters and
//! scans the sources with queued records on the same interval, so it forwards what the others
//! took in. Every node re-reads the counters from the database on that interval too (its own
//! commits only add its own deltas), so the quota, the status and the "highest seq per source"
//! shortcut track the whole cluster.
//!
//! Backpressure is end to end: the channel into the ingest task is bounded, a connection whose
//! record does not fit waits (and so stops reading its socket), and the ingest task stops taking
//! records while the quota is reached.

pub mod error;
pub mod filter;
pub mod forwarder;
pub mod ingest;
pub mod quota;
pub mod reconcile;
pub mod session;
#[cfg(test)]
mod tests;
pub mod window;

use sockhub_i18n::t;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::{Mutex, RwLock};
use serde::Serialize;
use sockhub_store::{RelaySource, Store, StoreError};
use tokio::sync::{Notify, mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::bus::SharedBus;
use crate::config::RelayConfig;
use crate::metrics::ServiceMetrics;
use crate::net::outbox::Outbox;
use crate::session::{Peer, Service};

pub use error::{ReconcileCause, RelayError, Resent, ResentSource};
pub use filter::KeepRules;
pub(crate) use sockhub_proto::time::now_ms;

/// The cluster-wide role of the one node that forwards downstream.
pub const FORWARDER_ROLE: &str = "relay-forwarder";
pub use session::RelaySession;

/// How the forwarder reaches downstream over TLS.
#[derive(Debug, Clone)]
pub struct DownstreamTls {
    /// The CA that signed downstream's certificate; `None` = the system's roots.
    pub ca: Option<std::path::PathBuf>,
    /// This relay's certificate and key, for a downstream that asks for one.
    pub identity: Option<(std::path::PathBuf, std::path::PathBuf)>,
}

impl DownstreamTls {
    /// Read the files and build the client configuration.
    pub fn client(&self) -> Result<sockhub_tls::ClientTls, sockhub_tls::TlsError> {
        let identity = self.identity.as_ref().map(|(c, k)| (c.as_path(), k.as_path()));
        sockhub_tls::ClientTls::new(self.ca.as_deref(), identity)
    }
}

/// A record on its way from a connection to the ingest task.
pub(crate) struct Incoming {
    pub rec: sockhub_store::RelayRecord,
    /// Where its acknowledgement goes.
    pub conn: Outbox,
    /// Text mode: one ack line per record (JSON mode acks are cumulative).
    pub text: bool,
}

/// A committed record the forwarder should send.
#[derive(Debug, Clone)]
pub(crate) struct FwdRecord {
    pub source: Arc<str>,
    pub seq: i64,
    pub at_ms: i64,
    pub payload: Arc<str>,
}

/// New forwardable records, handed from the ingest task to the forwarder without a database
/// read. Bounded: when the forwarder falls behind, the ingest task stops filling it and says
/// so (`overflowed`), and the forwarder reads what it missed from the database instead.
pub(crate) struct Inbox {
    pub state: Mutex<InboxState>,
    pub notify: Notify,
    pub capacity: usize,
}

pub(crate) struct InboxState {
    pub recs: std::collections::VecDeque<FwdRecord>,
    /// Whether the ingest task may push (false until the forwarder is ready, and after an
    /// overflow until the forwarder has rescanned).
    pub accepting: bool,
    pub overflowed: bool,
}

impl Inbox {
    fn new(capacity: usize) -> Inbox {
        Inbox {
            state: Mutex::new(InboxState { recs: Default::default(), accepting: false, overflowed: false }),
            notify: Notify::new(),
            capacity,
        }
    }
}

/// What the forwarder tells the ingest task to commit; `token` lets it learn when it is.
pub(crate) enum Mark {
    Forwarded(sockhub_store::ForwardedMark, u64),
    Held(sockhub_store::HeldMark, u64),
}

/// Requests to the ingest task that are not records.
pub(crate) enum Control {
    MarkMissing {
        source: Arc<str>,
        seqs: Vec<i64>,
        reason: String,
        reply: oneshot::Sender<Result<i64, StoreError>>,
    },
    Resend {
        selector: sockhub_store::ResendSelector,
        by: String,
        reply: oneshot::Sender<Result<Resent, RelayError>>,
    },
}

/// Requests to the forwarder.
pub(crate) enum FwdControl {
    /// Rescan these sources in the database (records were queued again).
    Rescan(Vec<Arc<str>>),
    /// Reconcile now; settle the operator request `request` (if any) with the result.
    Reconcile { cause: ReconcileCause, request: Option<i64> },
}

/// The state of the link to downstream (`relay status` shows it in lower case).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LinkState {
    /// This node has no downstream: it keeps every record.
    Sink,
    /// Connecting, or about to (also at start).
    #[default]
    Connecting,
    /// Connected; records flow.
    Connected,
    /// Not connected; the forwarder retries after a back-off.
    Down,
    /// A node of a cluster while another node forwards.
    Standby,
}

impl LinkState {
    /// Whether the link is as it should be: connected, or nothing to connect (a sink, or a
    /// standby node of a cluster).
    pub fn is_up(self) -> bool {
        matches!(self, LinkState::Connected | LinkState::Sink | LinkState::Standby)
    }
}

/// What a relay node does in its cluster (a single node is a cluster of one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RelayRole {
    /// It forwards downstream.
    Forwarder,
    /// It has no downstream.
    Sink,
    /// Another node of its cluster forwards.
    Standby,
}

/// The downstream link, as shown by `relay status`.
#[derive(Debug, Clone, Serialize, Default)]
pub struct LinkStatus {
    pub state: LinkState,
    pub downstream: Option<String>,
    /// Unix ms of the last change of state.
    pub since_ms: i64,
    pub last_error: Option<String>,
    pub reconnects: u64,
    pub in_flight: u64,
}

/// Live state shared by the relay's tasks, cheap to read (metrics, status).
pub(crate) struct Shared {
    pub store: Store,
    /// `[relay]`, with its counts at least 1 ([`RelayConfig::clamped`]).
    pub settings: RelayConfig,
    /// `[limits] write_timeout_secs`: how long a write downstream may stall.
    pub write_timeout: Duration,
    pub rules: KeepRules,
    pub sink: bool,
    /// Per source counters, as committed.
    pub sources: RwLock<HashMap<Arc<str>, RelaySource>>,
    pub link: Mutex<LinkStatus>,
    /// Oldest unacknowledged record's receive time (unix ms), per source with any.
    pub oldest: Mutex<HashMap<Arc<str>, i64>>,
    pub backpressure: AtomicBool,
    pub last_reconcile: Mutex<Option<reconcile::ReconcileSummary>>,
    pub committed_batches: AtomicU64,
    pub inbox: Inbox,
    pub shutdown: CancellationToken,
    pub node: Mutex<String>,
    /// How the forwarder learns whether it may forward (see the module documentation).
    pub bus: SharedBus,
    /// Several nodes share the relay tables: counters are re-read from the database.
    pub clustered: bool,
    /// This node forwards now (always, on a single node with a downstream).
    pub holder: AtomicBool,
}

/// The relay service.
pub struct RelayService {
    pub(crate) shared: Arc<Shared>,
    pub(crate) ingest_tx: mpsc::Sender<Incoming>,
    pub(crate) control_tx: mpsc::Sender<Control>,
    pub(crate) fwd_tx: Option<mpsc::Sender<FwdControl>>,
    metrics: Arc<ServiceMetrics>,
}

/// A snapshot of the relay's state, for `relay status` and metrics.
#[derive(Debug, Clone, Serialize)]
pub struct RelayStatus {
    pub node: String,
    pub role: RelayRole,
    pub link: LinkStatus,
    /// Age of the oldest record not yet acknowledged by downstream, ms.
    pub lag_ms: i64,
    /// Devices are not being acknowledged because the quota is reached.
    pub backpressure: bool,
    pub pending_records: i64,
    pub pending_bytes: i64,
    pub quota: quota::Quota,
    pub last_reconcile: Option<reconcile::ReconcileSummary>,
    pub sources: Vec<RelaySource>,
    pub updated_ms: i64,
}

impl RelayService {
    /// Start the relay: load the counters, start the ingest task (and the forwarder when
    /// `downstream` is set) on `tracker`.
    async fn launch(
        config: &RelayConfig,
        store: Store,
        write_timeout: Duration,
        shutdown: CancellationToken,
        tracker: &TaskTracker,
        bus: SharedBus,
    ) -> Result<Arc<RelayService>, StoreError> {
        let settings = config.clamped();
        let rules = KeepRules::compile(&config.keep).map_err(|e| StoreError::Invalid(e.to_string()))?;
        let sink = settings.downstream.is_none();
        if sink && !rules.is_empty() {
            tracing::warn!(
                "relay: keep rules have no effect on a sink (no downstream): every record is stored as received"
            );
        }
        let sources = store
            .relay()
            .sources()
            .await?
            .into_iter()
            .map(|s| (Arc::<str>::from(s.source.as_str()), s))
            .collect();
        let window = settings.window;
        let shared = Arc::new(Shared {
            store,
            rules,
            sink,
            sources: RwLock::new(sources),
            link: Mutex::new(LinkStatus {
                state: if sink { LinkState::Sink } else { LinkState::Connecting },
                downstream: settings.downstream.clone(),
                since_ms: now_ms(),
                ..Default::default()
            }),
            oldest: Mutex::new(HashMap::new()),
            backpressure: AtomicBool::new(false),
            last_reconcile: Mutex::new(None),
            committed_batches: AtomicU64::new(0),
            inbox: Inbox::new(window.max(1024) * 2),
            shutdown: shutdown.clone(),
            node: Mutex::new(String::from("relay")),
            clustered: bus.is_shared(),
            holder: AtomicBool::new(false),
            bus,
            settings,
            write_timeout,
        });
        let (ingest_tx, ingest_rx) = mpsc::channel(shared.settings.ingest_queue);
        let (control_tx, control_rx) = mpsc::channel(16);
        let (marks_tx, marks_rx) = mpsc::channel(1024);
        let (committed_tx, committed_rx) = tokio::sync::watch::channel(0u64);
        let (fwd_tx, fwd_rx) = if sink {
            (None, None)
        } else {
            let (tx, rx) = mpsc::channel(64);
            (Some(tx), Some(rx))
        };
        let task = ingest::Ingest::new(
            Arc::clone(&shared),
            ingest_rx,
            control_rx,
            marks_rx,
            committed_tx,
            fwd_tx.clone(),
        );
        tracker.spawn(task.run());
        if let Some(rx) = fwd_rx {
            let fwd = forwarder::Forwarder::new(
                Arc::clone(&shared),
                marks_tx,
                committed_rx,
                rx,
                control_tx.clone(),
            );
            tracker.spawn(fwd.run());
        }
        Ok(Arc::new(RelayService { shared, ingest_tx, control_tx, fwd_tx, metrics: Arc::default() }))
    }

    /// Name this node in its status row (its relay address).
    pub fn set_node_name(&self, addr: SocketAddr) {
        *self.shared.node.lock() = format!("relay@{addr}");
    }

    /// Whether this node forwards (has a downstream).
    pub fn is_sink(&self) -> bool {
        self.shared.sink
    }

    /// The live state: counters per source (as committed), link, lag, quota, last reconcile.
    pub fn status(&self) -> RelayStatus {
        status_of(&self.shared)
    }

    /// Queue records again (held, missing or kept) for forwarding, on behalf of `by`; the
    /// resend is recorded. The web review screen calls this; `sockhub relay resend` reaches it
    /// through the database.
    pub async fn resend(
        &self,
        selector: sockhub_store::ResendSelector,
        by: &str,
    ) -> Result<Resent, RelayError> {
        let (reply, rx) = oneshot::channel();
        self.control_tx
            .send(Control::Resend { selector, by: by.to_owned(), reply })
            .await
            .map_err(|_| RelayError::ShuttingDown)?;
        rx.await.map_err(|_| RelayError::ShuttingDown)?
    }

    /// Records on this node (the review screen's list): by state, source, time, seqs.
    pub async fn records(
        &self,
        filter: &sockhub_store::RelayFilter,
    ) -> Result<Vec<sockhub_store::RelayRow>, StoreError> {
        self.shared.store.relay().list(filter).await
    }

    /// Retention removed confirmed records of a source (committed with the counters): bring the
    /// counters in memory along, so the status and `/metrics` show it at once.
    pub fn note_pruned(&self, pruned: &sockhub_store::RelayPruned) {
        if let Some(s) = self.shared.sources.write().get_mut(pruned.source.as_str()) {
            s.forwarded -= pruned.count;
            s.pruned += pruned.count;
            s.pruned_seq = s.pruned_seq.max(pruned.max_seq);
        }
    }

    /// Ask the forwarder to reconcile now (the result lands in the status and the database).
    pub async fn reconcile_now(&self) -> Result<(), RelayError> {
        let tx = self
            .fwd_tx
            .as_ref()
            .ok_or(RelayError::NotHere("this node has no downstream to reconcile with"))?;
        tx.send(FwdControl::Reconcile { cause: ReconcileCause::Manual, request: None })
            .await
            .map_err(|_| RelayError::ShuttingDown)
    }
}

pub(crate) fn status_of(shared: &Shared) -> RelayStatus {
    let sources: Vec<RelaySource> = {
        let map = shared.sources.read();
        let mut v: Vec<RelaySource> = map.values().cloned().collect();
        v.sort_by(|a, b| a.source.cmp(&b.source));
        v
    };
    let now = now_ms();
    let lag_ms = shared.oldest.lock().values().min().map_or(0, |t| (now - t).max(0));
    let pending_records = sources.iter().map(|s| s.queued + s.held + s.missing).sum();
    let pending_bytes = sources.iter().map(|s| s.pending_bytes).sum();
    RelayStatus {
        node: shared.node.lock().clone(),
        role: if shared.sink {
            RelayRole::Sink
        } else if shared.clustered && !shared.holder.load(Ordering::Relaxed) {
            RelayRole::Standby
        } else {
            RelayRole::Forwarder
        },
        link: shared.link.lock().clone(),
        lag_ms,
        backpressure: shared.backpressure.load(Ordering::Relaxed),
        pending_records,
        pending_bytes,
        quota: shared.settings.quota(),
        last_reconcile: shared.last_reconcile.lock().clone(),
        sources,
        updated_ms: now,
    }
}

impl Service for RelayService {
    type Session = RelaySession;

    fn name(&self) -> &'static str {
        "relay"
    }

    fn greeting(&self) -> String {
        format!("{}\n", t!("relay-greeting"))
    }

    fn open(self: &Arc<Self>, peer: Peer, outbox: Outbox) -> RelaySession {
        RelaySession::new(Arc::clone(self), peer, outbox)
    }

    fn metrics(&self) -> &Arc<ServiceMetrics> {
        &self.metrics
    }
}

impl crate::metrics::Families for RelayService {
    fn families(&self, out: &mut crate::metrics::FamilyWriter<'_>) -> std::fmt::Result {
        let st = self.status();
        let sum = |f: fn(&RelaySource) -> i64| st.sources.iter().map(f).sum::<i64>();
        type State = (&'static str, fn(&RelaySource) -> i64);
        let by_state: [State; 8] = [
            ("received", |s| s.received),
            ("kept", |s| s.kept),
            ("queued", |s| s.queued),
            ("forwarded", |s| s.forwarded),
            ("held", |s| s.held),
            ("missing", |s| s.missing),
            ("stored", |s| s.stored),
            ("pruned", |s| s.pruned),
        ];
        out.gauges(
            "sockhub_relay_records",
            "Relay records by state, every source (received counts them all).",
            "state",
            by_state.into_iter().map(|(state, f)| (state, sum(f))),
        )?;
        out.counter(
            "sockhub_relay_seq_conflicts_total",
            "Relay records refused with seq_conflict (their seq was stored with another payload), every source.",
            u64::try_from(sum(|s| s.conflicts)).unwrap_or(0),
        )?;
        out.gauge(
            "sockhub_relay_lag_seconds",
            "Age of the oldest record not yet acknowledged downstream.",
            st.lag_ms as f64 / 1000.0,
        )?;
        out.gauge(
            "sockhub_relay_pending_bytes",
            "Payload bytes not yet delivered downstream.",
            st.pending_bytes,
        )?;
        out.gauge(
            "sockhub_relay_backpressure",
            "1 while devices are not acknowledged because the quota is reached.",
            st.backpressure,
        )?;
        out.gauge(
            "sockhub_relay_downstream_up",
            "1 while the link to downstream is connected (or this node is a sink, or stands by in a cluster).",
            st.link.state.is_up(),
        )?;
        out.gauge(
            "sockhub_relay_forwarding",
            "1 while this node is the one that forwards downstream (in a cluster, one node at a time).",
            st.role == RelayRole::Forwarder,
        )?;
        out.counter("sockhub_relay_reconnects_total", "Reconnections to downstream.", st.link.reconnects)
    }
}

impl crate::service::Start for RelayService {
    fn ports(config: &crate::config::Config) -> Option<(u16, Option<u16>)> {
        config.relay.enabled.then_some((config.relay.port, config.relay.tls_port))
    }

    const TLS: crate::net::tls::Port = crate::net::tls::Port::Relay;

    /// The relay has its own line limit and flood control: devices send in bursts, and the group
    /// commit (with its backpressure) is what paces them.
    fn limits(config: &crate::config::Config) -> Option<crate::net::limits::Limits> {
        let mut limits = crate::net::limits::Limits::of(config);
        limits.max_line = config.relay.max_line_bytes;
        limits.rate_per_sec = config.relay.rate_per_sec;
        Some(limits)
    }

    /// Check the TLS files for the second hop (bad ones fail the start, not every reconnect),
    /// then start the relay's tasks.
    async fn start(
        config: &crate::config::Config,
        hub: &crate::app::Hub,
    ) -> Result<Arc<Self>, crate::app::StartError> {
        if let Some(tls) = config.relay.tls_to_downstream() {
            tls.client()?;
        }
        let relay = RelayService::launch(
            &config.relay,
            hub.store.clone(),
            hub.net.limits.write_timeout,
            hub.net.shutdown.clone(),
            &hub.net.tracker,
            Arc::clone(&hub.bus),
        )
        .await
        .map_err(|source| crate::app::StartError::Store { what: "relay".into(), source })?;
        hub.metrics.collect(crate::metrics::Shared(Arc::clone(&relay)));
        Ok(relay)
    }

    fn bound(&self, addr: SocketAddr) {
        self.set_node_name(addr);
    }
}
