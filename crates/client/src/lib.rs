//! sockhub's client side: a JSON-lines connection and the terminal clients built on it.
//!
//! - [`conn`]: [`conn::JsonConn`], a TCP connection speaking JSON mode, used by every client.
//! - [`chat`]: `sockhub chat`, the terminal chat client.
//!
//! The clients parse what the user types with the same text grammar the server uses for `nc`
//! users (`sockhub_proto::chat::parse_text`) and send the resulting request as JSON, so `/w bob
//! hi` means the same thing typed into `nc` or into `sockhub chat`.

pub mod chat;
pub mod conn;
