//! The sockhub server.
//!
//! How a line travels: a [`net::listener`] accepts a TCP connection and spawns its
//! [`net::connection`] task; the task frames bytes into lines and feeds them to
//! [`session::Inbound`], which decides the connection's mode (text or JSON), applies flood control
//! and hands typed requests to the service's [`session::Session`]. The session answers by pushing
//! frames into the connection's [`net::outbox::Outbox`]; shared state (the chat room) pushes the
//! same frame into many outboxes. The connection's writer drains its outbox in batches.
//!
//! Map of the crate:
//! - [`app`]: bind every service, run, shut down ([`app::Server`], [`app::Hub`]).
//! - [`auth`]: login checks and brute-force protection.
//! - [`bus`]: what nodes of a cluster tell each other (NATS), and the single-node bus.
//! - [`config`]: the configuration, its loading and its documentation.
//! - [`export`]: CSV exports shared by the CLI and the web page.
//! - [`names`]: the rules for user names (look-alikes included) and passwords.
//! - [`net`]: listeners, connections, outboxes, limits.
//! - [`session`]: the transport-independent service/session traits and inbound handling.
//! - [`service`]: the services themselves (chat, ...).
//! - [`metrics`]: counters rendered for Prometheus.
//! - [`retention`]: the background task that removes old rows, and `db prune`'s loop.
//! - [`logging`]: the log format and log files.

pub mod app;
pub mod auth;
pub mod bus;
pub mod config;
pub mod export;
pub mod logging;
pub mod metrics;
pub mod names;
pub mod net;
pub mod retention;
pub mod service;
pub mod session;
#[cfg(test)]
pub(crate) mod testing;

pub use app::{Hub, Server, StartError};
pub use config::Config;
