//! IRC, as "Modern IRC" (modern.ircdocs.horse) and RFC 2812 describe the client protocol: the
//! [`Message`] type with its parser and serializer ([`message`]), the numeric replies by name
//! ([`numeric`]), and how a long text is split into lines that fit the 512-byte limit without
//! cutting a character ([`split_text`]).
//!
//! Nothing here knows about sockhub's chat; the server's IRC listener translates between these
//! messages and chat requests and events.

pub mod message;
pub mod numeric;

pub use message::{Message, ParseError, Tag, split_text};

/// The longest line without tags, in bytes, including the final CR LF.
pub const MAX_LINE: usize = 512;
/// The longest tag section a client may send, in bytes, including the leading `@` and the space
/// after it.
pub const MAX_CLIENT_TAGS: usize = 4096;
/// The longest tag section any line may carry, in bytes, including the leading `@` and the
/// space after it.
pub const MAX_TAGS: usize = 8191;
/// The most parameters a message may have.
pub const MAX_PARAMS: usize = 15;
