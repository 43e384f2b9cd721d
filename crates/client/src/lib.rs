//! sockhub's client side: a JSON-lines connection and the terminal clients built on it.
//!
//! - [`conn`]: a TCP connection speaking JSON mode ([`conn::connect`]), used by every client.
//! - [`device`]: a relay device: sends records, re-sends what was not acknowledged after a
//!   reconnect (`sockhub device`).
//! - [`tui`]: the pieces every full-screen client is made of (terminal setup and restore, the
//!   input line, the scrollback pane, the status bar); they know nothing about any service.
//! - [`calc`]: `sockhub calc`, the calculator client, and [`calc::CalcConn`] for programs.
//! - [`line_mode`]: the line-by-line loop every client uses when it is scripted.
//! - [`chat`]: `sockhub chat`, the terminal chat client (full screen on a terminal, line by line
//!   when scripted).
//! - [`quiz`]: `sockhub quiz`, the quiz client (full screen with a live countdown, or line by line),
//!   and the quiz bot ([`quiz::bot`]) that demos and load generators use.
//!
//! The clients parse what the user types with the same text grammar the server uses for `nc`
//! users (`sockhub_proto::chat::parse_text`) and send the resulting request as JSON, so `/w bob
//! hi` means the same thing typed into `nc` or into `sockhub chat`.

pub mod calc;
pub mod chat;
pub mod conn;
pub mod device;
pub mod line_mode;
pub mod quiz;
pub mod tui;
