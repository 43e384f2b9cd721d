//! The NATS bus: several nodes sharing rooms.
//!
//! Subjects (`<p>` is `cluster.subject_prefix`):
//! - `<p>.all`: everything a node tells every other node, from heartbeats to chat lines. One
//!   subject per publisher keeps a node's messages in the order it sent them (NATS keeps the order
//!   of one connection's messages), so a snapshot and the joins that follow it arrive in order.
//! - `<p>.node.<boot>`: messages for one node (a whisper for one of its users), `<boot>` being the
//!   random number that names this run of the node.
//! - `<p>.room.<hex>`: the public lines of one chat room, `<hex>` being the room's key in
//!   hexadecimal (so any room name is one valid subject token). A node subscribes while it has
//!   members in the room ([`Bus::watch_room`]) and unsubscribes when the last one leaves, so it
//!   receives only the lines of its users' rooms. Joins, leaves and topics stay on `<p>.all`.
//!
//! Tasks, all stopped by the server's shutdown token:
//! - the **publisher** ([`publisher`]) drains two bounded queues (`cluster.publish_queue` each)
//!   into the client, batching what is queued for one subject into one NATS message. Nothing a
//!   user did is dropped for want of room: its sender waits for a place before the request does
//!   anything (at most `cluster.publish_wait_ms`, then the request is refused), so a bus that
//!   cannot keep up slows the senders down. Chat lines (public, and whispers to other nodes) wait
//!   in the lines queue ([`Bus::reserve_room`], [`Bus::reserve_to`]); what a request causes for
//!   every node (joins, parts, kicks, mutes, topics, bans) in the control queue
//!   ([`Bus::reserve_publish`]). What the node says on its own ([`Bus::publish`], [`Bus::send`]:
//!   snapshots, resync requests; heartbeats after waiting at most one heartbeat interval) only
//!   queues on the control queue when there is room, and is dropped and counted otherwise (apart,
//!   in `state_dropped`, when it only restates state: [`Message::restates`]): the next one
//!   repairs it. The publisher serves the control queue first, so a flood of lines never
//!   starves the heartbeats. While NATS is unreachable both queues are emptied and counted as
//!   dropped instead of piling up, so nobody waits (the lines are delivered on this node and in
//!   the chat log; the resync on reconnection restores membership).
//! - the **receiver** reads both subscriptions, notes who is alive and hands each message (each
//!   of a batch, in order) to the service it is for. Its buffer is `cluster.inbound_queue` NATS
//!   messages per subscription: core NATS has no flow control towards a subscriber, so beyond it
//!   async-nats drops and reports a slow consumer, which is counted
//!   (`sockhub_cluster_inbound_dropped_total`), logged, and answered with a resync. Applying a
//!   message never waits (it is queued to the local connections), so the buffer only fills when
//!   the node is out of CPU.
//! - the **heartbeat** publishes `Beat` with each service's digest every `cluster.heartbeat_ms`
//!   and declares dead any node not heard from for `cluster.node_timeout_secs`: its users leave.
//! - the **lease** keeps this node's row in the shared database alive, retries failed releases and
//!   expires dead nodes' name claims ([`super::lease`]).
//! - the **watcher** follows the client's connection events: one WARN when NATS is lost, one
//!   INFO when it is back, and then a resync: `Hello` (everyone publishes their state) and this
//!   node's own state.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use async_nats::{Client, ConnectOptions, Event};
use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use parking_lot::{Mutex, RwLock};
use serde::Deserialize;
use sockhub_store::Store;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, info, warn};

use super::lease::{Lease, LeaseError};
use super::{Bus, Busy, ClaimError, ClusterStatus, Listener, Message, NodeRef, Slot};
use crate::config::ClusterConfig;
use crate::metrics::{Counter, Gauge, Lateness};

mod liveness;
mod publisher;
mod rooms;

/// The cluster's counters, for `/metrics`.
#[derive(Debug, Default)]
pub struct ClusterMetrics {
    /// 1 while connected to NATS.
    pub connected: Gauge,
    /// Other nodes heard from within the timeout.
    pub peers: Gauge,
    pub published: Counter,
    /// NATS messages published (a batch of several messages is one).
    pub nats_messages: Counter,
    /// Messages not sent: NATS unreachable, or the control queue full for a message past
    /// refusing that waited for a place in vain (see [`crate::bus::place_or_publish`]).
    pub dropped: Counter,
    /// Messages that only restate this node's state ([`Message::restates`]: heartbeats, hellos,
    /// snapshots) not sent because the control queue was full; the next heartbeat or resync
    /// states them again.
    pub state_dropped: Counter,
    /// Chat lines (public, and whispers to other nodes) waiting for the lines queue.
    pub lines: Waits,
    /// Messages a user's request causes (joins, parts, kicks, mutes, topics, bans) waiting for
    /// the control queue.
    pub control: Waits,
    pub received: Counter,
    /// NATS messages async-nats dropped because the receiver was behind (slow consumer).
    pub inbound_dropped: Counter,
    /// Messages from other nodes that could not be decoded (a node of another version?).
    pub malformed: Counter,
    /// Nodes declared dead (silent for the timeout) or gone (said goodbye, restarted).
    pub nodes_down: Counter,
    /// Times this node asked others to publish their state again.
    pub resyncs: Counter,
}

impl crate::metrics::Families for ClusterMetrics {
    fn families(&self, out: &mut crate::metrics::FamilyWriter<'_>) -> std::fmt::Result {
        out.gauge("sockhub_cluster_connected", "1 while connected to NATS.", self.connected.get())?;
        out.gauge(
            "sockhub_cluster_peers",
            "Other nodes heard from within the node timeout.",
            self.peers.get(),
        )?;
        for (name, help, value) in [
            ("sockhub_cluster_published_total", "Messages published to the other nodes.", &self.published),
            (
                "sockhub_cluster_nats_messages_total",
                "NATS messages published (a batch of several messages counts once).",
                &self.nats_messages,
            ),
            (
                "sockhub_cluster_dropped_total",
                "Messages not published (NATS unreachable; the control queue full for a disconnect's leave or another message past refusing after waiting cluster.publish_wait_ms; never a line or a request, which waits or is refused).",
                &self.dropped,
            ),
            (
                "sockhub_cluster_state_dropped_total",
                "Heartbeats, hellos and membership or standings snapshots not published because the control queue was full; the next heartbeat or resync states them again.",
                &self.state_dropped,
            ),
            (
                "sockhub_cluster_publish_waits_total",
                "Chat lines whose sender waited for room in the lines queue.",
                &self.lines.waits,
            ),
            (
                "sockhub_cluster_publish_refused_total",
                "Chat lines refused after waiting cluster.publish_wait_ms for the lines queue.",
                &self.lines.refused,
            ),
            (
                "sockhub_cluster_control_waits_total",
                "Requests (join, part, kick, mute, topic, ban...) that waited for room in the control queue.",
                &self.control.waits,
            ),
            (
                "sockhub_cluster_control_refused_total",
                "Requests refused after waiting cluster.publish_wait_ms for the control queue.",
                &self.control.refused,
            ),
            ("sockhub_cluster_received_total", "Messages received from other nodes.", &self.received),
            (
                "sockhub_cluster_inbound_dropped_total",
                "NATS messages dropped on arrival because this node was behind (slow consumer).",
                &self.inbound_dropped,
            ),
            (
                "sockhub_cluster_malformed_total",
                "Messages from other nodes that could not be decoded.",
                &self.malformed,
            ),
            ("sockhub_cluster_nodes_down_total", "Nodes declared dead or gone.", &self.nodes_down),
            (
                "sockhub_cluster_resyncs_total",
                "Times this node asked the others for their state again.",
                &self.resyncs,
            ),
        ] {
            out.counter(name, help, value.get())?;
        }
        out.histogram(
            "sockhub_cluster_publish_wait_seconds",
            "How long senders of chat lines waited for room in the lines queue.",
            &self.lines.wait,
        )?;
        out.histogram(
            "sockhub_cluster_control_wait_seconds",
            "How long requests waited for room in the control queue.",
            &self.control.wait,
        )?;
        Ok(())
    }
}

/// The senders who found one of the two queues full and waited for a place.
#[derive(Debug, Default)]
pub struct Waits {
    /// Senders who waited.
    pub waits: Counter,
    /// How long they waited.
    pub wait: Lateness,
    /// Refused after waiting `cluster.publish_wait_ms`.
    pub refused: Counter,
}

/// What goes over the wire: the sender, and one message (`msg`) or several for one subject, in
/// the order sent (`batch`, see [`publisher`]). JSON: `{"from":{..},"msg":{..}}` or
/// `{"from":{..},"batch":[{..},{..}]}`.
#[derive(Deserialize)]
struct Envelope {
    from: NodeRef,
    #[serde(default)]
    msg: Option<Message>,
    #[serde(default)]
    batch: Vec<Message>,
}

enum Outgoing {
    All(Message),
    To(NodeRef, Message),
    Room(String, Message),
}

/// Another node, as this one hears it.
struct PeerState {
    node: NodeRef,
    last: Instant,
    /// Consecutive heartbeats whose digest did not match, per service.
    mismatches: HashMap<&'static str, u32>,
}

/// The NATS bus. Created before the services (they hold it), started once the node knows its id.
pub struct NatsBus {
    config: ClusterConfig,
    store: Store,
    node: OnceLock<NodeRef>,
    client: OnceLock<Client>,
    lease: OnceLock<Lease>,
    /// The control queue: everything but chat lines; what a user's request causes is sent into
    /// a place its sender waited for, what the node says on its own only if there is room.
    out: mpsc::Sender<Outgoing>,
    /// The lines queue: chat lines, each sent into a place its sender waited for.
    lines: mpsc::Sender<Outgoing>,
    out_rx: Mutex<Option<(mpsc::Receiver<Outgoing>, mpsc::Receiver<Outgoing>)>>,
    listeners: RwLock<Vec<Weak<dyn Listener>>>,
    peers: Mutex<HashMap<Arc<str>, PeerState>>,
    connected: AtomicBool,
    metrics: Arc<ClusterMetrics>,
    /// The room subjects followed now, by room key; cancelling stops (and unsubscribes) one.
    rooms: Mutex<HashMap<String, CancellationToken>>,
    /// Where room subscriptions run: the server's tracker and shutdown token (set at start).
    tasks: OnceLock<(TaskTracker, CancellationToken)>,
    /// This bus, for the room receivers it starts from `&self`.
    myself: Weak<NatsBus>,
}

/// Why the cluster could not start.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("bad cluster.nats_url: {0}")]
    Url(String),
    #[error(transparent)]
    Lease(#[from] LeaseError),
    #[error("cannot subscribe on NATS: {0}")]
    Subscribe(String),
}

impl NatsBus {
    /// Count a message the control queue had no room for: apart when it only restated state.
    fn count_dropped(&self, restates: bool) {
        if restates { self.metrics.state_dropped.inc() } else { self.metrics.dropped.inc() }
    }

    pub fn new(config: &ClusterConfig, store: Store) -> Arc<NatsBus> {
        let (out, out_rx) = mpsc::channel(config.publish_queue);
        let (lines, lines_rx) = mpsc::channel(config.publish_queue);
        Arc::new_cyclic(|myself| NatsBus {
            config: config.clone(),
            store,
            node: OnceLock::new(),
            client: OnceLock::new(),
            lease: OnceLock::new(),
            out,
            lines,
            out_rx: Mutex::new(Some((out_rx, lines_rx))),
            listeners: RwLock::new(Vec::new()),
            peers: Mutex::new(HashMap::new()),
            connected: AtomicBool::new(false),
            metrics: Arc::default(),
            rooms: Mutex::new(HashMap::new()),
            tasks: OnceLock::new(),
            myself: myself.clone(),
        })
    }

    pub fn metrics(&self) -> &Arc<ClusterMetrics> {
        &self.metrics
    }

    /// A NATS error message with any credential of `nats_url` in it replaced by `***`.
    fn scrub(&self, e: &dyn std::fmt::Display) -> String {
        crate::config::render::scrub_url_secrets(
            &e.to_string(),
            self.config.nats_url.as_deref().unwrap_or_default(),
        )
    }

    fn prefix(&self) -> &str {
        &self.config.subject_prefix
    }

    fn subject_all(&self) -> String {
        format!("{}.all", self.prefix())
    }

    fn subject_for(&self, node: &NodeRef) -> String {
        format!("{}.node.{:016x}", self.prefix(), node.boot)
    }

    fn myself(&self) -> Option<Arc<NatsBus>> {
        self.myself.upgrade()
    }

    fn timeout(&self) -> Duration {
        Duration::from_secs(self.config.node_timeout_secs)
    }

    fn heartbeat(&self) -> Duration {
        Duration::from_millis(self.config.heartbeat_ms)
    }

    fn listeners(&self) -> Vec<Arc<dyn Listener>> {
        self.listeners.read().iter().filter_map(Weak::upgrade).collect()
    }

    /// Join the cluster as `node_id`: register in the shared database, connect to NATS (in the
    /// background: a node whose NATS is down at start serves its own users and joins when NATS
    /// comes up), subscribe, and start the tasks.
    pub async fn start(
        self: &Arc<Self>,
        node_id: &str,
        tracker: &TaskTracker,
        shutdown: &CancellationToken,
    ) -> Result<(), ClusterError> {
        let node = NodeRef { id: Arc::from(node_id), boot: rand::random::<u64>() };
        let _ = self.node.set(node.clone());
        let lease = Lease::register(self.store.clone(), node_id, self.heartbeat(), self.timeout()).await?;
        let _ = self.lease.set(lease);

        let (events_tx, events_rx) = mpsc::channel::<Event>(64);
        let metrics = Arc::clone(&self.metrics);
        let url = self.config.nats_url.clone().unwrap_or_default();
        let options = ConnectOptions::new()
            .name(format!("sockhub {node_id}"))
            .no_echo()
            .retry_on_initial_connect()
            .max_reconnects(None)
            // A dead link to NATS is noticed within half the node timeout.
            .ping_interval((self.timeout() / 2).max(Duration::from_secs(1)))
            .client_capacity(self.config.publish_queue.clamp(64, 4096))
            .subscription_capacity(self.config.inbound_queue)
            .event_callback(move |event| {
                let events_tx = events_tx.clone();
                // One event per message dropped; counted here, as the watcher may miss some.
                if matches!(event, Event::SlowConsumer(_)) {
                    metrics.inbound_dropped.inc();
                }
                async move {
                    // Connection events are rare; if the watcher is behind, the state it reads
                    // from the client is current anyway.
                    let _ = events_tx.try_send(event);
                }
            });
        // The URL may carry credentials: what is logged or returned shows them as `***`.
        let shown = crate::config::render::redact_url_list(&url);
        let scrub =
            |e: &dyn std::fmt::Display| crate::config::render::scrub_url_secrets(&e.to_string(), &url);
        let addrs: Vec<async_nats::ServerAddr> = url
            .split(',')
            .map(|u| {
                u.trim().parse::<async_nats::ServerAddr>().map_err(|e| {
                    ClusterError::Url(format!(
                        "{}: {}",
                        crate::config::render::redact_password(u.trim()),
                        scrub(&e)
                    ))
                })
            })
            .collect::<Result<_, _>>()?;
        let client = options.connect(addrs).await.map_err(|e| ClusterError::Url(scrub(&e)))?;
        let all =
            client.subscribe(self.subject_all()).await.map_err(|e| ClusterError::Subscribe(e.to_string()))?;
        let direct = client
            .subscribe(self.subject_for(&node))
            .await
            .map_err(|e| ClusterError::Subscribe(e.to_string()))?;
        let _ = self.client.set(client);
        let _ = self.tasks.set((tracker.clone(), shutdown.clone()));
        info!(node = %node_id, nats = %shown, "cluster: joining through NATS");

        let (control, lines) = self.out_rx.lock().take().expect("started once");
        tracker.spawn(Arc::clone(self).publisher(control, lines, shutdown.clone()));
        tracker.spawn(Arc::clone(self).receiver(all, direct, shutdown.clone()));
        tracker.spawn(Arc::clone(self).heartbeats(shutdown.clone()));
        tracker.spawn(Arc::clone(self).lease_keeper(shutdown.clone()));
        tracker.spawn(Arc::clone(self).watcher(events_rx, shutdown.clone()));
        Ok(())
    }

    async fn receiver(
        self: Arc<Self>,
        mut all: async_nats::Subscriber,
        mut direct: async_nats::Subscriber,
        shutdown: CancellationToken,
    ) {
        loop {
            let message = tokio::select! {
                () = shutdown.cancelled() => break,
                m = all.next() => m,
                m = direct.next() => m,
            };
            let Some(message) = message else { break };
            self.on_payload(&message.subject, &message.payload);
        }
    }

    /// Apply one NATS message: its message, or each of its batch in order.
    fn on_payload(&self, subject: &str, payload: &[u8]) {
        match serde_json::from_slice::<Envelope>(payload) {
            Ok(Envelope { from, msg, batch }) if msg.is_some() || !batch.is_empty() => {
                for msg in msg.into_iter().chain(batch) {
                    self.metrics.received.inc();
                    self.on_envelope(&from, msg);
                }
            }
            Ok(_) => {
                self.metrics.malformed.inc();
                debug!(subject = %subject, "cluster: a message without a message");
            }
            Err(e) => {
                self.metrics.malformed.inc();
                debug!(error = %e, subject = %subject, "cluster: a message could not be decoded");
            }
        }
    }

    fn on_envelope(&self, from: &NodeRef, msg: Message) {
        let me = self.node();
        if from.boot == me.boot {
            return;
        }
        if from.id == me.id {
            warn!(node = %from.id, "cluster: another process uses this node's node_id; give every node its own");
        }
        let (gone, new) = self.note_peer(from, &msg);
        if let Some(old) = gone {
            info!(node = %old.id, "cluster: node restarted");
            self.node_down(&old);
        }
        if new {
            info!(node = %from.id, "cluster: node is here");
            // Whatever it sent first, ask for its whole state, unless it is sending it already.
            if !matches!(msg, Message::Hello | Message::Goodbye) {
                self.send(from, Message::Hello);
            }
        }
        match msg {
            Message::Beat { chat, calc } => self.check_digests(from, &[("chat", chat), ("calc", calc)]),
            Message::Hello => {
                for l in self.listeners() {
                    l.announce();
                }
            }
            Message::Goodbye => {
                info!(node = %from.id, "cluster: node left");
                self.peers.lock().remove(&from.id);
                self.metrics.peers.set(self.peers.lock().len() as i64);
                self.node_down(from);
            }
            msg => {
                let service = msg.service();
                if let Some(l) = self.listeners().into_iter().find(|l| Some(l.service()) == service) {
                    l.on_message(from, msg);
                }
            }
        }
    }
}

impl Bus for NatsBus {
    fn node(&self) -> NodeRef {
        self.node.get().cloned().unwrap_or_else(|| NodeRef { id: Arc::from("starting"), boot: 0 })
    }

    fn is_shared(&self) -> bool {
        true
    }

    fn publish(&self, msg: Message) {
        let restates = msg.restates();
        if self.out.try_send(Outgoing::All(msg)).is_err() {
            self.count_dropped(restates);
        }
    }

    fn send(&self, to: &NodeRef, msg: Message) {
        let restates = msg.restates();
        if self.out.try_send(Outgoing::To(to.clone(), msg)).is_err() {
            self.count_dropped(restates);
        }
    }

    fn publish_room(&self, room_key: &str, msg: Message) {
        if self.lines.try_send(Outgoing::Room(self.subject_room(room_key), msg)).is_err() {
            self.metrics.dropped.inc();
        }
    }

    fn reserve_room<'a>(&'a self, room_key: &'a str) -> BoxFuture<'a, Result<Slot<'a>, Busy>> {
        Box::pin(self.reserve_line(publisher::LineTo::Room(room_key)))
    }

    fn reserve_to<'a>(&'a self, to: &'a NodeRef) -> BoxFuture<'a, Result<Slot<'a>, Busy>> {
        Box::pin(self.reserve_line(publisher::LineTo::Node(to)))
    }

    fn reserve_publish(&self) -> BoxFuture<'_, Result<Slot<'_>, Busy>> {
        Box::pin(self.reserve_control())
    }

    fn watch_room<'a>(&'a self, room_key: &'a str, watch: bool) -> BoxFuture<'a, ()> {
        Box::pin(self.watch(room_key, watch))
    }

    fn watched_rooms(&self) -> usize {
        self.rooms.lock().len()
    }

    fn claim<'a>(
        &'a self,
        service: &'static str,
        name: &'a str,
        conn: u64,
    ) -> BoxFuture<'a, Result<(), ClaimError>> {
        Box::pin(async move {
            match self.lease.get() {
                Some(lease) => lease.claim(service, name, conn).await,
                None => Ok(()),
            }
        })
    }

    fn release<'a>(&'a self, service: &'static str, name: &'a str, conn: u64) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            if let Some(lease) = self.lease.get() {
                lease.release(service, name, conn).await;
            }
        })
    }

    fn hold<'a>(&'a self, role: &'a str) -> BoxFuture<'a, Result<bool, sockhub_store::StoreError>> {
        Box::pin(async move {
            match self.lease.get() {
                Some(lease) => lease.hold(role).await,
                // Not registered yet: nobody may act for the cluster from here.
                None => Ok(false),
            }
        })
    }

    fn attach(&self, listener: Weak<dyn Listener>) {
        self.listeners.write().push(listener);
    }

    fn status(&self) -> ClusterStatus {
        let mut peers: Vec<String> = self.peers.lock().values().map(|p| p.node.id.to_string()).collect();
        peers.sort();
        ClusterStatus {
            clustered: true,
            node_id: self.node().id.to_string(),
            connected: self.connected.load(Ordering::Relaxed),
            peers,
        }
    }
}
