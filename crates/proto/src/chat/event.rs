//! What the chat service sends: [`ChatEvent`], one variant per JSON `type`, and the pieces some
//! events carry (a `/help` line, what a text-mode prompt asks for). How each event looks as a
//! text line is in [`super::render`].

use serde::{Deserialize, Serialize};
use sockhub_i18n::Msg;

use super::RoomInfo;
use crate::error::{ErrorCode, ErrorEvent};
use crate::time::{self, Timestamp};

/// One line of `/help`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HelpEntry {
    pub usage: String,
    /// What it does, in the server's language.
    pub does: Msg,
}

/// What a prompt asks for (text mode only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PromptField {
    Name,
    Password { name: String },
}

/// An event sent by the chat service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ChatEvent {
    /// Login succeeded. `admin` (sent only when true) tells a client to offer the admin tools.
    /// `room` is the room the user was put in (the default room).
    Welcome {
        name: String,
        online: usize,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        admin: bool,
        #[serde(default)]
        room: String,
    },
    /// A public message in `room`. `history` marks messages sent before the recipient joined;
    /// `notice`, one sent as a notice (see the `say` request).
    Message {
        from: String,
        text: String,
        #[serde(with = "time::ms")]
        at: Timestamp,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        history: bool,
        #[serde(default)]
        room: String,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        notice: bool,
        /// The line's unique id (IRC's `msgid`), absent on history.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        /// The sender's IRC client-only tags (see `say`); not in JSON.
        #[serde(skip)]
        tags: Vec<(String, Option<String>)>,
    },
    /// A private message; both the sender and the target receive it. `notice`: one sent as a
    /// notice (see the `whisper` request).
    Whisper {
        from: String,
        to: String,
        text: String,
        #[serde(with = "time::ms")]
        at: Timestamp,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        notice: bool,
        /// The whisper's unique id (IRC's `msgid`), the same on both copies.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        /// The sender's IRC client-only tags; not in JSON.
        #[serde(skip)]
        tags: Vec<(String, Option<String>)>,
        /// True on the sender's copy. Not on the wire (a client compares `from` with its own
        /// name); text mode uses it to mark the line `>>>` rather than `<<<`.
        #[serde(skip)]
        outgoing: bool,
    },
    /// Who is in `room`, sorted. `room` is left out (empty) when the request named no room and
    /// the user is in one room only, so a client that never mentions rooms sees what it always saw.
    Users {
        names: Vec<String>,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        room: String,
    },
    /// Someone entered `room`; `online` counts its members. The newcomer's own copy carries the
    /// room's `topic` (when it has one). `room` is left out (empty) for a recipient in one room
    /// only (that room), so a client that never mentions rooms sees what it always saw.
    Joined {
        name: String,
        online: usize,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        room: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        topic: Option<String>,
    },
    /// Someone left `room` (the one who parts gets it too); `online` counts who is left. `room`
    /// is left out as for `joined`. `reason`: what the one who left said, when they said
    /// something.
    Left {
        name: String,
        online: usize,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        room: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// The command list.
    Help { commands: Vec<HelpEntry> },
    /// A request failed; the session goes on.
    Error(ErrorEvent),
    /// The last line before the server closes the connection.
    Bye { reason: Msg },
    /// Text mode asks the user for something (JSON clients get no prompt).
    Prompt { field: PromptField },
    /// `name` was disconnected by admin `by`. The target receives it too, just before its `bye`.
    /// With `room`: only removed from that room.
    Kicked {
        name: String,
        by: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        room: Option<String>,
    },
    /// `name` may not send messages until `until` (absent: until unmuted).
    Muted {
        name: String,
        by: String,
        #[serde(default, skip_serializing_if = "Option::is_none", with = "time::ms_opt")]
        until: Option<Timestamp>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
        /// Only in this room (absent: everywhere).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        room: Option<String>,
    },
    /// `name` may speak again: lifted by admin `by`, or `by` is absent when the mute expired.
    Unmuted {
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        by: Option<String>,
        /// The mute lifted was the one in this room (absent: the server-wide one).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        room: Option<String>,
    },
    /// To the admin who banned: `name` is banned until `until` (absent: until unbanned);
    /// `address` is the banned address group when the ban covers one.
    Banned {
        name: String,
        by: String,
        #[serde(default, skip_serializing_if = "Option::is_none", with = "time::ms_opt")]
        until: Option<Timestamp>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        address: Option<String>,
    },
    /// To the admin who unbanned: `name` may log in again.
    Unbanned { name: String, by: String },
    /// The rooms, sorted by name; `current` is where a plain `say` goes (absent: in no room).
    Rooms {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        current: Option<String>,
        rooms: Vec<RoomInfo>,
    },
    /// A room's topic: the answer to a query, and to every member when it changes. `topic`
    /// absent: unset or cleared (`by` then names who cleared it, when someone did).
    Topic {
        room: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        topic: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        by: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none", with = "time::ms_opt")]
        at: Option<Timestamp>,
    },
    /// The answer to `switch`: plain lines now go to `room`.
    Switched { room: String },
    /// IRC's TAGMSG to `room`: the client-only `tags` of `from`, with the line id `id`. Only
    /// IRC readers that asked for tags see it; text and JSON readers get nothing.
    Tagged { from: String, room: String, id: String, tags: Vec<(String, Option<String>)> },
    /// `name` became (`op`) or is no longer an operator of `room`, by `by`; to the room's
    /// members.
    Opped { name: String, by: String, room: String, op: bool },
}

impl ChatEvent {
    pub fn error(code: ErrorCode, message: impl Into<Msg>) -> Self {
        ChatEvent::Error(ErrorEvent::new(code, message))
    }
}
