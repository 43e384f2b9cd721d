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
