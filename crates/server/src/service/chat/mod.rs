//! The chat service: one room, unique names, public messages, whispers, presence.
//!
//! [`ChatService`] holds the [`room::Room`]; each connection gets a [`session::ChatSession`]
//! that moves through the phases name → (password) → room and turns requests into room
//! operations. Names follow [`names`].

pub mod names;
pub mod room;
pub mod session;

use std::sync::Arc;

use crate::config::ChatConfig;
use crate::metrics::ServiceMetrics;
use crate::net::outbox::Outbox;
use crate::session::{Peer, Service};

pub use session::ChatSession;

/// The chat service's shared state.
pub struct ChatService {
    pub(crate) room: room::Room,
    metrics: Arc<ServiceMetrics>,
    /// Set during shutdown so that departures are not announced to a room that is closing.
    pub(crate) closing: tokio_util::sync::CancellationToken,
}

impl ChatService {
    pub fn new(config: &ChatConfig, closing: tokio_util::sync::CancellationToken) -> Self {
        ChatService { room: room::Room::new(config.history), metrics: Arc::default(), closing }
    }

    /// Names online, sorted.
    pub fn online_names(&self) -> Vec<String> {
        self.room.names()
    }
}

impl Service for ChatService {
    type Session = ChatSession;

    fn name(&self) -> &'static str {
        "chat"
    }

    fn greeting(&self) -> String {
        format!(
            "* Welcome to sockhub chat. {} online. Type /help after you join.\n* Your name?\n",
            self.room.online()
        )
    }

    fn open(self: &Arc<Self>, peer: Peer, outbox: Outbox) -> ChatSession {
        ChatSession::new(Arc::clone(self), peer, outbox)
    }

    fn metrics(&self) -> &Arc<ServiceMetrics> {
        &self.metrics
    }
}
