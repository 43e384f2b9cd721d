//! The bus: how the services of one node hear what happened on the others.
//!
//! Every service fans out to its *local* connections directly, as a single server does; the bus
//! is what it additionally tells the other nodes. A service publishes *what happened* — a typed
//! [`Message`] ("alice said hi", "bob joined", "a result was stored") — and applies what other
//! nodes published, through the [`Listener`] it attaches. A node never receives its own
//! publications, so a message from a local user is delivered locally once, directly, and
//! published once for the others.
//!
//! Two implementations:
//! - [`local::LocalBus`]: one node, no cluster. [`Bus::is_shared`] is `false`, so services skip
//!   building messages at all; a name claim is answered at once. No NATS code runs.
//! - [`nats::NatsBus`]: NATS (async-nats) for the fan-out, heartbeats and resyncs, and the shared
//!   database ([`lease`]) for what must be agreed on atomically: node leases and name claims.
//!
//! Names are claimed through the bus ([`Bus::claim`]) rather than in a room, because uniqueness
//! has to hold across nodes even when two of them race: the claim is a row in the shared database
//! whose primary key lets exactly one insert win.

pub mod lease;
pub mod local;
pub mod nats;
pub mod replica;

use std::sync::{Arc, Weak};

use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};
use sockhub_i18n::msg;
use sockhub_proto::ErrorCode;
use sockhub_proto::calc::SquareResult;
use sockhub_proto::error::ErrorEvent;
use sockhub_proto::time::{self, Timestamp};
use sockhub_store::{Mute, StoreError};
use tracing::warn;

/// One run of one node: its configured id, and a random number drawn at start, so that a node
/// restarted under the same id is told apart from the one that died.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct NodeRef {
    pub id: Arc<str>,
    pub boot: u64,
}

impl std::fmt::Display for NodeRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.id)
    }
}

/// A summary of one service's replicated state on one node, carried by every heartbeat so that
/// a node that missed an event (a dropped message, an outage) notices and asks for the whole
/// state again.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Digest {
    /// Bumped by every change the node publishes (a join, a leave).
    pub version: u64,
    /// Members the node has now.
    pub count: u64,
}

/// Everything nodes tell each other. JSON on the wire (`{"t":"chat","m":{"e":"said",...}}`):
/// small, debuggable with `nats sub`, and serde checks every field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t", content = "m", rename_all = "snake_case")]
pub enum Message {
    /// "I am alive", with the digest of each service's state here.
    Beat {
        chat: Digest,
        calc: Digest,
    },
    /// "I (re)joined: everyone, publish your state." Sent on every (re)connection to NATS.
    Hello,
    /// "I am shutting down": forget my users now rather than after the timeout.
    Goodbye,
    Chat(ChatMsg),
    Calc(CalcMsg),
    Quiz(QuizMsg),
    /// A ban set or lifted (for every node's bans in memory and its connections).
    Ban(crate::bans::BanMsg),
}

impl Message {
    /// The service a message is for, if it is not the bus's own.
    pub fn service(&self) -> Option<&'static str> {
        match self {
            Message::Chat(_) => Some("chat"),
            Message::Calc(_) => Some("calc"),
            Message::Quiz(_) => Some("quiz"),
            Message::Ban(_) => Some("bans"),
            Message::Beat { .. } | Message::Hello | Message::Goodbye => None,
        }
    }

    /// Whether the message only restates a node's state, which the next heartbeat, or the
    /// resync it starts, states again: a heartbeat, a hello (asking the others for their state),
    /// a membership or standings snapshot. Dropped when the control queue is full, it is counted
    /// apart (`sockhub_cluster_state_dropped_total`): nothing is lost for good.
    pub fn restates(&self) -> bool {
        matches!(
            self,
            Message::Beat { .. }
                | Message::Hello
                | Message::Chat(ChatMsg::Members { .. })
                | Message::Calc(CalcMsg::Members { .. })
                | Message::Quiz(QuizMsg::Standings { .. })
        )
    }
}

/// A chat member as other nodes know it. Two are the same member when name and connection are
/// (their rooms are compared separately, by the chat, so a snapshot with other rooms is not a
/// leave and a join).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RemoteMember {
    pub name: String,
    pub conn: u64,
    /// The rooms the member is in (in snapshots; joins and parts follow as room messages).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rooms: Vec<String>,
}

impl PartialEq for RemoteMember {
    fn eq(&self, other: &Self) -> bool {
        (&self.name, self.conn) == (&other.name, other.conn)
    }
}

impl Eq for RemoteMember {}

impl replica::Member for RemoteMember {
    fn key(&self) -> String {
        crate::names::key(&self.name)
    }
    fn conn(&self) -> u64 {
        self.conn
    }
}

/// What the chat room publishes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "e", rename_all = "snake_case")]
pub enum ChatMsg {
    Joined {
        name: String,
        conn: u64,
        version: u64,
    },
    Left {
        name: String,
        conn: u64,
        version: u64,
    },
    /// The node's whole membership, in parts of at most [`SNAPSHOT_PART`] members; applied when
    /// the part with `last` arrives.
    Members {
        version: u64,
        members: Vec<RemoteMember>,
        first: bool,
        last: bool,
    },
    /// A public line, on the room's own subject (see [`Bus::publish_room`]).
    Said {
        from: String,
        text: String,
        #[serde(with = "time::ms")]
        at: Timestamp,
        room: String,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        notice: bool,
        /// The line's id (`msgid`), the same on every node.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        /// The sender's IRC client-only tags.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        tags: Vec<(String, Option<String>)>,
    },
    /// `name` (a member of the sending node) joined `room`; `persistent`: an admin created it.
    RoomJoined {
        room: String,
        name: String,
        #[serde(default)]
        persistent: bool,
    },
    /// `name` (a member of the sending node) left `room`, saying `reason`.
    RoomLeft {
        room: String,
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// The topic of `room` was set (`topic`) or cleared (`None`) by admin `by`.
    Topic {
        room: String,
        topic: Option<String>,
        by: String,
        #[serde(with = "time::ms")]
        at: Timestamp,
    },
    /// Sent to the target's node only.
    Whisper {
        from: String,
        to: String,
        to_conn: u64,
        text: String,
        #[serde(with = "time::ms")]
        at: Timestamp,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        notice: bool,
        /// The whisper's id (`msgid`), the same as on the sender's copy.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        /// The sender's IRC client-only tags.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        tags: Vec<(String, Option<String>)>,
    },
    /// Everyone shows it; the node holding connection `conn` of `node` closes it.
    Kicked {
        name: String,
        node: NodeRef,
        conn: u64,
        by: String,
        reason: Option<String>,
        /// Only removed from this room (absent: disconnected).
        #[serde(default)]
        room: Option<String>,
    },
    Muted {
        mute: WireMute,
    },
    Unmuted {
        name: String,
        by: String,
        #[serde(default)]
        room: Option<String>,
    },
}

/// The most members one snapshot message carries (NATS messages are limited to 1 MiB by default;
/// 500 names of at most 32 characters stay far below).
pub const SNAPSHOT_PART: usize = 500;

/// A mute as it travels between nodes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireMute {
    pub target: String,
    #[serde(with = "time::ms_opt", default)]
    pub until: Option<Timestamp>,
    pub reason: Option<String>,
    pub actor: String,
    #[serde(with = "time::ms")]
    pub at: Timestamp,
    #[serde(default)]
    pub room: Option<String>,
}

impl From<&Mute> for WireMute {
    fn from(m: &Mute) -> Self {
        WireMute {
            target: m.target.clone(),
            until: m.until,
            reason: m.reason.clone(),
            actor: m.actor.clone(),
            at: m.at,
            room: m.room.clone(),
        }
    }
}

impl From<WireMute> for Mute {
    fn from(m: WireMute) -> Self {
        Mute { target: m.target, until: m.until, reason: m.reason, actor: m.actor, at: m.at, room: m.room }
    }
}

/// What the calculator publishes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "e", rename_all = "snake_case")]
pub enum CalcMsg {
    /// A stored result, to show to everyone.
    Result {
        result: SquareResult,
    },
    /// A student's connection logged in.
    Joined {
        student: sockhub_proto::calc::StudentInfo,
        conn: u64,
        version: u64,
    },
    Left {
        conn: u64,
        version: u64,
    },
    Members {
        version: u64,
        members: Vec<CalcMember>,
        first: bool,
        last: bool,
    },
}

/// A calculator connection as other nodes know it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalcMember {
    pub student: sockhub_proto::calc::StudentInfo,
    pub conn: u64,
}

impl replica::Member for CalcMember {
    fn key(&self) -> String {
        self.conn.to_string()
    }
    fn conn(&self) -> u64 {
        self.conn
    }
}

/// What the quiz publishes: this node's players' standings in the round, so every node's
/// leaderboard covers the whole cluster, and the start of a round.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "e", rename_all = "snake_case")]
pub enum QuizMsg {
    /// All of this node's players in `round` (on resync).
    Standings { round: u64, players: Vec<sockhub_proto::quiz::Standing> },
    /// One player's standing changed (after each judged answer).
    Standing { round: u64, standing: sockhub_proto::quiz::Standing },
    /// A round started here (an admin's `/start`, or the clock): nodes waiting for a manual start
    /// join it.
    Started { round: u64 },
}

/// A service that takes part in the cluster.
pub trait Listener: Send + Sync + 'static {
    /// `chat`, `calc`, `quiz`, `bans`: which [`Message`]s it receives.
    fn service(&self) -> &'static str;

    /// Apply a message another node published (or sent to this node).
    fn on_message(&self, from: &NodeRef, msg: Message);

    /// `node` is gone — dead, shut down, or restarted under a new boot number: forget its part
    /// (its users leave).
    fn on_node_down(&self, node: &NodeRef);

    /// Publish this node's whole state (a peer said hello, or this node reconnected), and
    /// re-read from the database what other nodes may have changed while unreachable.
    fn announce(&self);

    /// This node's digest, for heartbeats.
    fn digest(&self) -> Digest {
        Digest::default()
    }

    /// Whether what this node knows of `node` matches the digest it sent.
    fn in_sync(&self, _node: &NodeRef, _digest: &Digest) -> bool {
        true
    }

    /// Names this node's users hold (`(name, conn)`), to claim again after a lost lease.
    fn held_names(&self) -> Vec<(String, u64)> {
        Vec::new()
    }

    /// A name this node held was taken by someone else while the node was cut off from the
    /// database: end that user's session.
    fn name_lost(&self, _name: &str, _conn: u64) {}
}

/// Why a name could not be claimed.
#[derive(Debug, thiserror::Error)]
pub enum ClaimError {
    #[error("the name is taken")]
    Taken,
    #[error("the shared database cannot be reached: {0}")]
    Unavailable(StoreError),
}

/// Whether the bus reaches the other nodes, for logs, `/healthz` and metrics.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClusterStatus {
    /// False for a single node.
    pub clustered: bool,
    pub node_id: String,
    /// Connected to NATS now.
    pub connected: bool,
    /// Other nodes heard from within the timeout.
    pub peers: Vec<String>,
}

/// The seam between the services and the other nodes. See the module documentation.
pub trait Bus: Send + Sync + 'static {
    /// This node.
    fn node(&self) -> NodeRef;

    /// Whether anyone else listens. `false` on a single node: callers skip building messages.
    fn is_shared(&self) -> bool;

    /// Tell every other node. Never blocks: when the way out is full or NATS is unreachable,
    /// the message is dropped and counted. For what the node says on its own and the next one
    /// repairs (snapshots, resync requests); what a user's request causes, which nothing
    /// repairs, goes through [`Bus::reserve_publish`], and a public line through
    /// [`Bus::reserve_room`] (see `docs/architecture.md`).
    fn publish(&self, msg: Message);

    /// Tell one node (a whisper for one of its users).
    fn send(&self, to: &NodeRef, msg: Message);

    /// Tell the nodes that follow the room under `room_key` (a public line in it): only nodes
    /// with members in a room receive its lines. By default, every node.
    fn publish_room(&self, room_key: &str, msg: Message) {
        let _ = room_key;
        self.publish(msg);
    }

    /// Wait for room in the way out for one public line of the room under `room_key`, so that
    /// the line is never dropped for want of it: a fast sender waits here (its reads stop, and
    /// TCP slows it down) while the bus catches up. [`Slot::send`] then queues the line without
    /// waiting. Fails after a bounded wait (`cluster.publish_wait_ms`): the caller refuses the
    /// line rather than hang. By default (one node), room at once, and [`Bus::publish_room`].
    fn reserve_room<'a>(&'a self, room_key: &'a str) -> BoxFuture<'a, Result<Slot<'a>, Busy>> {
        Box::pin(async move { Ok(Slot::new(move |msg| self.publish_room(room_key, msg))) })
    }

    /// [`Bus::reserve_room`] for a whisper to a user of `to`: the way a [`Bus::send`] of a chat
    /// line waits for room instead of being dropped. By default, room at once, and [`Bus::send`].
    fn reserve_to<'a>(&'a self, to: &'a NodeRef) -> BoxFuture<'a, Result<Slot<'a>, Busy>> {
        Box::pin(async move { Ok(Slot::new(move |msg| self.send(to, msg))) })
    }

    /// [`Bus::reserve_room`] for a message to every node that a user's request causes (a join,
    /// a part, a kick, a mute, a topic, a ban): a place in the control queue, waited for (at
    /// most `cluster.publish_wait_ms`) before the request does anything, so that the message is
    /// never dropped for want of room. By default, room at once, and [`Bus::publish`].
    fn reserve_publish(&self) -> BoxFuture<'_, Result<Slot<'_>, Busy>> {
        Box::pin(async move { Ok(Slot::new(move |msg| self.publish(msg))) })
    }

    /// Follow (`true`) or stop following the room under `room_key`: a node follows exactly the
    /// rooms it has members in. Following is in place when the future completes. By default
    /// (one node), nothing to do.
    fn watch_room<'a>(&'a self, room_key: &'a str, watch: bool) -> BoxFuture<'a, ()> {
        let _ = (room_key, watch);
        Box::pin(async {})
    }

    /// How many rooms this node follows now.
    fn watched_rooms(&self) -> usize {
        0
    }

    /// Take `name` for connection `conn` of `service`, cluster-wide and atomically.
    fn claim<'a>(
        &'a self,
        service: &'static str,
        name: &'a str,
        conn: u64,
    ) -> BoxFuture<'a, Result<(), ClaimError>>;

    /// Give a claimed name back. A failure is logged and retried with the heartbeat.
    fn release<'a>(&'a self, service: &'static str, name: &'a str, conn: u64) -> BoxFuture<'a, ()>;

    /// Take, or keep, the cluster-wide role `role` (one node at a time: the relay's forwarder).
    /// `Ok(true)` while this node holds it. The role is a claim tied to this node's lease in the
    /// shared database, so it passes to another node only when this one leaves, or stops beating
    /// for the node timeout and is expired. A single node always holds every role.
    fn hold<'a>(&'a self, role: &'a str) -> BoxFuture<'a, Result<bool, StoreError>>;

    /// Receive messages for `listener.service()`. Held weakly: the bus never keeps a service
    /// alive.
    fn attach(&self, listener: Weak<dyn Listener>);

    /// Connected or not, and to whom.
    fn status(&self) -> ClusterStatus;
}

/// Room reserved in the bus's way out for one message ([`Bus::reserve_room`]); dropped unused, the
/// room is given back.
pub struct Slot<'a>(Box<dyn FnOnce(Message) + Send + 'a>);

impl<'a> Slot<'a> {
    pub fn new(send: impl FnOnce(Message) + Send + 'a) -> Slot<'a> {
        Slot(Box::new(send))
    }

    /// Queue `msg` in the reserved room.
    pub fn send(self, msg: Message) {
        (self.0)(msg);
    }
}

/// The way out stayed full for the whole bounded wait ([`Bus::reserve_room`]).
#[derive(Debug, thiserror::Error)]
#[error("the cluster's publish queue stayed full for {0:?}")]
pub struct Busy(pub std::time::Duration);

impl Busy {
    /// The `unavailable` error of a request refused for it (logged as `what`): nothing was
    /// done. `line`: a chat line or whisper (its own wording: "your message was not sent").
    pub fn refusal(&self, what: &str, line: bool) -> ErrorEvent {
        warn!(error = %self, "{what} is refused: the cluster is behind");
        let message = if line { msg!("chat-cluster-behind") } else { msg!("error-cluster-behind") };
        ErrorEvent::new(ErrorCode::Unavailable, message)
    }
}

/// A place for the message to every node that a user's request (logged as `what`) causes, to
/// take before the request does anything ([`Bus::reserve_publish`]): `None` on a single node
/// (nothing to send), the `unavailable` refusal when the bus stayed behind for the whole wait.
pub async fn place<'a>(bus: &'a dyn Bus, what: &str) -> Result<Option<Slot<'a>>, ErrorEvent> {
    if !bus.is_shared() {
        return Ok(None);
    }
    bus.reserve_publish().await.map(Some).map_err(|e| e.refusal(what, false))
}

/// [`place`] for a message that must go out whatever happens, past the point where its cause
/// could be refused (a disconnected user's `Left`, a kick being carried out, the standing of a
/// judged quiz answer, a quiz round's start): after the same bounded wait it goes without a
/// place (queued if there is room by then, else dropped and counted). `None` on a single node.
pub async fn place_or_publish(bus: &dyn Bus) -> Option<Slot<'_>> {
    if !bus.is_shared() {
        return None;
    }
    Some(bus.reserve_publish().await.unwrap_or_else(|e| {
        warn!(error = %e, "cluster: a message goes out without a place: the cluster is behind");
        Slot::new(move |msg| bus.publish(msg))
    }))
}

/// The bus a server uses: a [`local::LocalBus`] unless `[cluster]` is configured.
pub type SharedBus = Arc<dyn Bus>;

/// Publish a node's whole membership as snapshot messages of at most [`SNAPSHOT_PART`] members
/// each (at least one, so an empty membership is announced too).
pub fn publish_in_parts<M: Clone>(
    bus: &dyn Bus,
    members: Vec<M>,
    message: impl Fn(Vec<M>, bool, bool) -> Message,
) {
    let parts = members.len().div_ceil(SNAPSHOT_PART).max(1);
    let mut chunks = members.chunks(SNAPSHOT_PART);
    for i in 0..parts {
        let part = chunks.next().map(<[M]>::to_vec).unwrap_or_default();
        bus.publish(message(part, i == 0, i + 1 == parts));
    }
}
