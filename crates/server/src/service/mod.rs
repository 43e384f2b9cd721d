//! The services. Each is a [`crate::session::Service`]: shared state plus one session per
//! connection, with no knowledge of sockets or wire formats.
//!
//! - [`calc`]: the shared square calculator: roster, exact squares, durable history.
//! - [`chat`]: the chat room: names, messages, whispers, presence.
//! - [`irc`]: the chat's IRC face: IRC clients as chat members, channels as rooms.
//! - [`quiz`]: the timed arithmetic quiz: rounds, problem streams, scoring, per-player logs.
//! - [`relay`]: the log relay: ingest with group commit, keep rules, forwarding with
//!   acknowledgements, reconcile.

pub mod calc;
pub mod chat;
pub mod irc;
pub mod quiz;
pub mod relay;

use std::net::SocketAddr;
use std::sync::Arc;

use crate::app::{Hub, StartError};
use crate::config::Config;
use crate::net::limits::Limits;
use crate::net::tls;
use crate::session::Service;

/// How every service is started, the same way: `app.rs` calls [`Start::start`] for each service
/// whose section is on, binds [`Start::ports`], and registers the service's metrics.
pub trait Start: Service + Sized {
    /// Whether the service is on, and its port and TLS port (from its section).
    fn ports(config: &Config) -> Option<(u16, Option<u16>)>;

    /// What its TLS port serves.
    const TLS: tls::Port = tls::Port::Lines;

    /// The service's connection limits, when they are not `[limits]`'s.
    fn limits(_config: &Config) -> Option<Limits> {
        None
    }

    /// Create the service from the configuration and what every service shares; tasks it needs
    /// go on the hub's task tracker.
    fn start(config: &Config, hub: &Hub) -> impl Future<Output = Result<Arc<Self>, StartError>> + Send;

    /// Its first port is bound at `addr`.
    fn bound(&self, _addr: SocketAddr) {}
}
