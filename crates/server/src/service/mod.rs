//! The services. Each is a [`crate::session::Service`]: shared state plus one session per
//! connection, with no knowledge of sockets or wire formats.
//!
//! - [`chat`]: the chat room: names, messages, whispers, presence.
//! - [`relay`]: the log relay: ingest with group commit, keep rules, forwarding with
//!   acknowledgements, reconcile.

pub mod chat;
pub mod relay;
