//! Wire types and codecs shared by the sockhub server and its clients.
//!
//! Everything a peer sends or receives is defined here, and nothing here knows about sockets,
//! databases or tasks: the server and the clients both depend on this crate, so a change of the
//! protocol is a change in one place.
//!
//! - [`codec`]: the newline-delimited line codec with a length limit and UTF-8 checking (and,
//!   for clients that send no line ends, messages delimited by quiet gaps). Bad
//!   lines are reported as items, not stream errors, so one bad line never ends a connection.
//! - [`wire`]: how a server message becomes bytes in each mode (JSON line or text line).
//! - [`error`]: the stable error codes every service replies with.
//! - [`notice`]: errors, final "bye" lines and notices that any service may send.
//! - [`ban`]: a ban's length (`2h`), the time left, and the `banned` login error.
//! - [`calc`]: the square calculator's requests and events, its text grammar, the student-ID rule.
//! - [`chat`]: chat requests and events, plus the text-mode grammar that `nc` users type.
//! - [`problem`]: quiz problems, their floating-point answer and the exact-arithmetic fairness check.
//! - [`quiz`]: quiz requests and events, plus the text grammar of a player in `nc`.
//! - [`relay`]: relay records and acknowledgements, the `name&&message` format, and the
//!   reconcile exchange between two relay nodes.
//! - [`irc`]: IRC messages (parsing, serializing, the 512-byte limit) and numeric replies.
//! - [`json`]: decoding a JSON request line with errors that say what was wrong.
//! - [`secret`]: a string type for passwords that never shows up in logs.
//! - [`text`]: what text shown to other people may carry (no line breaks, escapes or bidi
//!   overrides), and how anything else is shown escaped.
//! - [`time`]: the timestamp formats used on the wire and in logs.

pub mod ban;
pub mod calc;
pub mod chat;
pub mod codec;
pub mod error;
pub mod irc;
pub mod json;
pub mod notice;
pub mod problem;
pub mod quiz;
pub mod relay;
pub mod secret;
pub mod text;
pub mod time;
pub mod wire;

pub use codec::{Framing, LineCodec, LineItem};
pub use error::{ErrorCode, ErrorEvent};
pub use wire::{Mode, Wire};
