//! The chat service: rooms, unique names, accounts, public messages, whispers, presence,
//! moderation, and the database log of all of it.
//!
//! [`ChatService`] holds the presence ([`room::Room`]: who is online), the [`rooms::Rooms`] (who
//! is in which room, topics, history) and the [`moderation::Moderation`] state; each connection
//! gets a [`session::ChatSession`] that moves through the phases name → (password) → room and
//! turns requests into room operations through the room API in `room_api.rs` (which another
//! front end, such as an IRC listener, can call as well). Names follow [`names`].
//! Every public line and whisper is written to the chat log (through the batched writer) before it
//! is delivered, so the log never misses a line that someone saw.
//!
//! In a cluster (`cluster`), the room also tells the other nodes what happens here through the
//! [`crate::bus::Bus`] and applies what happens there; names are claimed cluster-wide before a
//! user enters.

mod cluster;
pub mod moderation;
mod ops;
pub mod room;
mod room_api;
pub mod rooms;
pub mod session;
#[cfg(test)]
mod tests;

use sockhub_i18n::t;
use std::sync::Arc;
use std::time::Duration;

use sockhub_proto::error::ErrorEvent;
use sockhub_store::{Journal, Store, StoreError};
use tracing::info;

use crate::app::Hub;
use crate::auth::Authenticator;
use crate::bus::SharedBus;
use crate::config::ChatConfig;
use crate::metrics::ServiceMetrics;
use crate::net::outbox::Outbox;
use crate::session::{Peer, Service};

pub use session::ChatSession;

/// The chat service's shared state.
pub struct ChatService {
    pub(crate) config: ChatConfig,
    pub(crate) room: room::Room,
    pub(crate) rooms: rooms::Rooms,
    /// Totals over every room, for `/metrics`.
    pub room_metrics: Arc<RoomMetrics>,
    pub(crate) moderation: moderation::Moderation,
    pub(crate) auth: Arc<Authenticator>,
    pub(crate) journal: Journal,
    /// How long a line waits for room in a full log queue before it is refused.
    pub(crate) log_wait: Duration,
    metrics: Arc<ServiceMetrics>,
    /// Cancelled at shutdown, so that departures are not announced to a room that is closing.
    pub(crate) closing: tokio_util::sync::CancellationToken,
    /// The quiz on the same server, for an admin's `/start` typed in the chat.
    pub(crate) quiz: std::sync::OnceLock<Arc<crate::service::quiz::QuizService>>,
    /// The other nodes (a no-op on a single node).
    pub(crate) bus: SharedBus,
    pub(crate) store: Store,
    /// The next public line's number, for its id (see `room_api.rs`).
    pub(crate) line_ids: std::sync::atomic::AtomicU64,
    /// This service, for what needs an `Arc` of it from `&self` (bus callbacks, mute timers).
    myself: std::sync::Weak<ChatService>,
}

impl ChatService {
    /// Create the service: load the recent history and the mutes in force from the database.
    async fn load(config: &ChatConfig, hub: &Hub) -> Result<Arc<Self>, StoreError> {
        let store: &Store = &hub.store;
        let rooms = room_api::load_rooms(config, store).await?;
        let mutes = store.active_mutes(sockhub_store::now()).await?;
        info!(
            rooms = rooms.count(),
            mutes = mutes.len(),
            "chat: loaded the rooms, their recent history and the mutes in force"
        );
        let service = Arc::new_cyclic(|myself| ChatService {
            config: config.clone(),
            room: room::Room::new(),
            rooms,
            room_metrics: Arc::default(),
            moderation: moderation::Moderation::new(
                store.clone(),
                hub.journal.clone(),
                hub.net.tracker.clone(),
                hub.net.shutdown.clone(),
                Duration::from_millis(hub.config.database.log_wait_ms),
            ),
            auth: Arc::clone(&hub.auth),
            journal: hub.journal.clone(),
            log_wait: Duration::from_millis(hub.config.database.log_wait_ms),
            quiz: std::sync::OnceLock::new(),
            metrics: Arc::default(),
            closing: hub.net.shutdown.clone(),
            bus: Arc::clone(&hub.bus),
            store: store.clone(),
            line_ids: Default::default(),
            myself: myself.clone(),
        });
        for mute in mutes {
            service.moderation.remember(&service, mute);
        }
        let listener: Arc<dyn crate::bus::Listener> = Arc::clone(&service) as _;
        hub.bus.attach(Arc::downgrade(&listener));
        Ok(service)
    }

    pub(crate) fn myself(&self) -> Option<Arc<ChatService>> {
        self.myself.upgrade()
    }

    /// Everyone online in the chat, on every node of the cluster, with the id of their node.
    pub fn online_members(&self) -> Vec<(String, String)> {
        self.room.names_by_node(&self.bus.node().id)
    }

    /// Admin `actor` disconnects `target`, as `/kick` does (for the web API).
    pub async fn kick(&self, actor: &str, target: &str, reason: Option<String>) -> Result<(), ErrorEvent> {
        self.moderation.kick(self, actor, target, reason, None).await
    }

    /// Admin `actor` mutes `target` for `minutes` (or until unmuted), as `/mute` does.
    pub async fn mute(
        self: &Arc<Self>,
        actor: &str,
        target: &str,
        minutes: Option<f64>,
        reason: Option<String>,
    ) -> Result<(), ErrorEvent> {
        self.moderation.mute(self, actor, target, minutes, reason, None).await
    }

    /// Admin `actor` lifts `target`'s mute, as `/unmute` does.
    pub async fn unmute(&self, actor: &str, target: &str) -> Result<(), ErrorEvent> {
        self.moderation.unmute(self, actor, target, None).await
    }

    /// The mutes in force now, by name.
    pub fn mutes(&self) -> Vec<sockhub_store::Mute> {
        self.moderation.active(sockhub_store::now())
    }
}

impl Service for ChatService {
    type Session = ChatSession;

    fn name(&self) -> &'static str {
        "chat"
    }

    fn greeting(&self) -> String {
        let greeting = t!("chat-greeting", online = self.room.online());
        format!("{greeting}\n{}\n", t!("chat-prompt-name"))
    }

    fn open(self: &Arc<Self>, peer: Peer, outbox: Outbox) -> ChatSession {
        ChatSession::new(Arc::clone(self), peer, outbox)
    }

    fn metrics(&self) -> &Arc<ServiceMetrics> {
        &self.metrics
    }
}

impl crate::service::Start for ChatService {
    fn ports(config: &crate::config::Config) -> Option<(u16, Option<u16>)> {
        config.chat.enabled.then_some((config.chat.port, config.chat.tls_port))
    }

    async fn start(config: &crate::config::Config, hub: &Hub) -> Result<Arc<Self>, crate::app::StartError> {
        let chat = ChatService::load(&config.chat, hub).await.map_err(crate::app::StartError::Service)?;
        hub.metrics.collect(crate::metrics::Shared(Arc::clone(&chat.room_metrics)));
        Ok(chat)
    }
}

/// The chat rooms' metrics: totals over every room (never labelled by room, so the label set
/// stays bounded however many rooms there are).
#[derive(Debug, Default)]
pub struct RoomMetrics {
    /// Rooms that exist now on this node (with members here or elsewhere, or persistent).
    pub rooms: crate::metrics::Gauge,
    /// Joins of a room by a user of this node.
    pub joins: crate::metrics::Counter,
    /// Public lines said in a room by users of this node.
    pub messages: crate::metrics::Counter,
    /// Room subjects this node follows on the bus now (rooms with members here; 0 on one node).
    pub subscriptions: crate::metrics::Gauge,
}

impl crate::metrics::Families for RoomMetrics {
    fn families(&self, out: &mut crate::metrics::FamilyWriter<'_>) -> std::fmt::Result {
        out.gauge("sockhub_chat_rooms", "Chat rooms that exist now.", self.rooms.get())?;
        out.counter("sockhub_chat_room_joins_total", "Rooms joined by this node's users.", self.joins.get())?;
        out.counter(
            "sockhub_chat_room_messages_total",
            "Public lines said in rooms by this node's users.",
            self.messages.get(),
        )?;
        out.gauge(
            "sockhub_chat_room_subscriptions",
            "Room subjects this node follows on the bus (rooms with members here).",
            self.subscriptions.get(),
        )
    }
}
