//! The chat protocol: requests, events, and the text-mode grammar.
//!
//! JSON mode maps one-to-one onto [`ChatRequest`] and [`ChatEvent`]. Text mode is for people
//! typing into `nc`: [`parse_text`] turns a typed line into the same [`ChatRequest`] (what a line
//! means depends on the session's [`Phase`]: before login a plain line is a name, after it a
//! message), and [`ChatEvent`]'s [`Wire`](crate::wire::Wire) impl renders the text lines
//! (`[alice] hi`, `>>> [to bob] psst`, `[bob] joined (3 online)`, `! name_taken: ...`).
//!
//! Rooms (`#lobby`, `#team-1`): a user is in one or more rooms and has a current one, where a
//! plain line goes. Room-scoped events carry their `room`; a text-mode user in more than one
//! room sees them through [`InRoom`], which puts `[#room] ` before each line (see [`rooms`]).
//!
//! The module is split by concern: [`ChatRequest`] (in `request`), [`ChatEvent`] (in `event`),
//! the text grammar (in `grammar`), the text rendering (in `render`) and rooms (in `rooms`);
//! everything public is re-exported here.

mod event;
mod grammar;
mod render;
mod request;
mod rooms;

pub use event::{ChatEvent, HelpEntry, PromptField};
pub use grammar::{Phase, help, is_quit, parse_text, split_word};
pub use render::{because, write_help};
pub use request::ChatRequest;
pub use rooms::{DEFAULT_ROOM, InRoom, ROOM_NAME_MAX, RoomInfo, check_room_name, is_room_name};

#[cfg(test)]
mod tests;
