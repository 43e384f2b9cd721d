//! Who is alive: peers noted from what they send, heartbeats with each service's digest (a
//! mismatch asks for a resync), nodes declared dead after `cluster.node_timeout_secs`, the lease
//! in the shared database, and the watcher of the NATS connection's events (see the module
//! documentation of [`super`]).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use async_nats::Event;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use super::super::lease::{Lease, Renewed};
use super::super::{Bus, ClaimError, Digest, Message, NodeRef};
use super::{NatsBus, Outgoing, PeerState};

impl NatsBus {
    /// Record that `from` is alive. Returns the run it replaced (a restart under the same id),
    /// and whether it is newly heard.
    pub(super) fn note_peer(&self, from: &NodeRef, msg: &Message) -> (Option<NodeRef>, bool) {
        let mut peers = self.peers.lock();
        if matches!(msg, Message::Goodbye) {
            return (None, false);
        }
        let fresh = PeerState { node: from.clone(), last: Instant::now(), mismatches: HashMap::new() };
        let result = match peers.get_mut(&from.id) {
            Some(p) if p.node.boot == from.boot => {
                p.last = Instant::now();
                (None, false)
            }
            Some(p) => {
                let old = std::mem::replace(p, fresh).node;
                (Some(old), true)
            }
            None => {
                peers.insert(Arc::clone(&from.id), fresh);
                (None, true)
            }
        };
        self.metrics.peers.set(peers.len() as i64);
        result
    }

    pub(super) fn check_digests(&self, from: &NodeRef, digests: &[(&'static str, Digest)]) {
        let listeners = self.listeners();
        let mut resync = false;
        {
            let mut peers = self.peers.lock();
            let Some(peer) = peers.get_mut(&from.id) else { return };
            for (service, digest) in digests {
                let Some(l) = listeners.iter().find(|l| l.service() == *service) else { continue };
                let misses = peer.mismatches.entry(service).or_default();
                if l.in_sync(from, digest) {
                    *misses = 0;
                } else {
                    // Twice in a row: once can be a heartbeat that overtook an event in flight.
                    *misses += 1;
                    if *misses >= 2 {
                        *misses = 0;
                        resync = true;
                    }
                }
            }
        }
        if resync {
            debug!(node = %from.id, "cluster: out of step with a node; asking for its state");
            self.metrics.resyncs.inc();
            self.send(from, Message::Hello);
        }
    }

    pub(super) fn node_down(&self, node: &NodeRef) {
        self.metrics.nodes_down.inc();
        for l in self.listeners() {
            l.on_node_down(node);
        }
    }

    /// A heartbeat timer; a late tick is taken late rather than made up for in a burst.
    fn heartbeat_timer(&self) -> tokio::time::Interval {
        let mut every = tokio::time::interval(self.heartbeat());
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        every
    }

    /// Wait for the next tick; `false` once the server shuts down.
    async fn next_tick(every: &mut tokio::time::Interval, shutdown: &CancellationToken) -> bool {
        tokio::select! {
            () = shutdown.cancelled() => false,
            _ = every.tick() => true,
        }
    }

    /// Publish one heartbeat. When the control queue is full it waits in line with the requests
    /// waiting there (first come, first served), at most one heartbeat interval (the next takes
    /// its place), then is dropped and counted (`state_dropped`); the digests are read once it
    /// has its place, so they cover every event queued before it.
    pub(super) async fn beat(&self) {
        let Ok(Some(permit)) = self.place(&self.out, self.heartbeat(), None).await else {
            self.metrics.state_dropped.inc();
            return;
        };
        let listeners = self.listeners();
        let digest = |name: &str| {
            listeners.iter().find(|l| l.service() == name).map(|l| l.digest()).unwrap_or_default()
        };
        permit.send(Outgoing::All(Message::Beat { chat: digest("chat"), calc: digest("calc") }));
    }

    pub(super) async fn heartbeats(self: Arc<Self>, shutdown: CancellationToken) {
        let mut every = self.heartbeat_timer();
        while Self::next_tick(&mut every, &shutdown).await {
            if self.connected.load(Ordering::Relaxed) {
                self.beat().await;
            }
            let now = Instant::now();
            let timeout = self.timeout();
            let dead: Vec<NodeRef> = {
                let mut peers = self.peers.lock();
                let dead = peers
                    .values()
                    .filter(|p| now.duration_since(p.last) >= timeout)
                    .map(|p| p.node.clone())
                    .collect::<Vec<_>>();
                peers.retain(|_, p| now.duration_since(p.last) < timeout);
                self.metrics.peers.set(peers.len() as i64);
                dead
            };
            for node in dead {
                warn!(node = %node.id, "cluster: node {} silent for {timeout:?}: declared dead, its users leave", node.id);
                self.node_down(&node);
            }
        }
    }

    pub(super) async fn lease_keeper(self: Arc<Self>, shutdown: CancellationToken) {
        let lease = self.lease.get().expect("started");
        let mut every = self.heartbeat_timer();
        while Self::next_tick(&mut every, &shutdown).await {
            if let Ok(Renewed::Yes) = lease.tick().await {
                self.reclaim(lease).await;
            }
        }
        lease.retire().await;
    }

    /// After a renewed lease: claim every local user's name again; a user whose name someone
    /// else took meanwhile is disconnected.
    async fn reclaim(&self, lease: &Lease) {
        for l in self.listeners() {
            let service = l.service();
            for (name, conn) in l.held_names() {
                match lease.claim(service, &name, conn).await {
                    Ok(()) => {}
                    Err(ClaimError::Taken) => {
                        warn!(user = %name, "cluster: the name was taken on another node while this node was cut off; disconnecting its holder here");
                        l.name_lost(&name, conn);
                    }
                    Err(ClaimError::Unavailable(e)) => {
                        warn!(error = %e, "cluster: could not re-claim names; trying again at the next heartbeat");
                        return;
                    }
                }
            }
        }
        let _ = lease.drop_stale().await;
    }

    pub(super) async fn watcher(
        self: Arc<Self>,
        mut events: mpsc::Receiver<Event>,
        shutdown: CancellationToken,
    ) {
        let mut ever_connected = false;
        loop {
            let event = tokio::select! {
                () = shutdown.cancelled() => break,
                e = events.recv() => match e { Some(e) => e, None => break },
            };
            match event {
                Event::Connected => {
                    self.connected.store(true, Ordering::Relaxed);
                    self.metrics.connected.set(1);
                    if ever_connected {
                        info!("cluster: NATS connection restored; resyncing with the other nodes");
                    } else {
                        info!("cluster: connected to NATS");
                    }
                    ever_connected = true;
                    self.publish(Message::Hello);
                    for l in self.listeners() {
                        l.announce();
                    }
                }
                Event::Disconnected => {
                    self.connected.store(false, Ordering::Relaxed);
                    self.metrics.connected.set(0);
                    warn!(
                        node_timeout_secs = self.config.node_timeout_secs,
                        "cluster: lost the connection to NATS; serving this node's users only, other nodes' users leave after the node timeout; reconnecting"
                    );
                }
                Event::SlowConsumer(_) => {
                    warn!(
                        "cluster: this node fell behind the other nodes' messages and NATS dropped some; resyncing"
                    );
                    self.metrics.resyncs.inc();
                    self.publish(Message::Hello);
                }
                Event::LameDuckMode => info!("cluster: the NATS server is going down (lame duck mode)"),
                Event::ServerError(e) => warn!(error = %self.scrub(&e), "cluster: NATS server error"),
                Event::ClientError(e) => warn!(error = %self.scrub(&e), "cluster: NATS client error"),
                Event::Draining | Event::Closed => {}
            }
        }
    }
}
