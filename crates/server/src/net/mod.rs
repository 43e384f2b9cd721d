//! The network layer: everything between a socket and a service session.
//!
//! - [`listener`]: bind with `SO_REUSEADDR`, accept, enforce the connection limit.
//! - [`admission`]: the caps per client address and on connections not yet logged in.
//! - [`proxy`]: the PROXY protocol header from a trusted load balancer.
//! - [`connection`]: one task per TCP connection: the reader and the batching writer, the greeting.
//! - [`input`]: a byte stream read as messages: lines, or quiet-gap bursts for clients without
//!   line ends.
//! - [`outbox`]: the bounded per-connection send queue and the encode-once [`outbox::Frame`].
//! - [`limits`]: flood control (token bucket) and the per-connection limits.
//! - [`cidr`]: address ranges, for settings that say which peers are trusted.
//! - [`tls`]: the certificate of the TLS ports, its reload, and the handshake before the driver.

pub mod admission;
pub mod cidr;
pub mod connection;
pub mod fanout;
pub mod input;
pub mod limits;
pub mod listener;
pub mod outbox;
pub mod proxy;
pub mod tls;
