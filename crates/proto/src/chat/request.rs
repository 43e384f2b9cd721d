//! What a chat client asks for: [`ChatRequest`], one variant per JSON `type` (text mode parses
//! into the same requests, see [`super::grammar`]). Fields left out of JSON mean "the current
//! room" or "none"; IRC's client tags ride along on `say` but never appear in JSON.

use serde::{Deserialize, Serialize};

use crate::secret::Secret;

/// A request from a chat client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ChatRequest {
    /// Enter the room under `name` (with the account's password when the name has one).
    Login {
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        password: Option<Secret>,
    },
    /// Say something to everyone in a room: `room`, or the current room when absent. `notice`:
    /// a notice rather than a message (IRC's NOTICE: shown as such to IRC users, as a message
    /// to the others; no client answers one automatically).
    Say {
        text: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        room: Option<String>,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        notice: bool,
        /// An IRC client's own tags (`+key=value`), relayed to IRC readers that asked for tags;
        /// not in JSON.
        #[serde(skip)]
        tags: Vec<(String, Option<String>)>,
    },
    /// Say something to one user only; `notice` and `tags` as for `say`.
    Whisper {
        to: String,
        text: String,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        notice: bool,
        #[serde(skip)]
        tags: Vec<(String, Option<String>)>,
    },
    /// List who is in a room: `room`, or the current room when absent.
    Who {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        room: Option<String>,
    },
    /// List the commands.
    Help,
    /// Leave.
    Quit,
    /// Admins: disconnect a user, or with `room` only remove them from that room.
    Kick {
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        room: Option<String>,
    },
    /// Admins: refuse a user's messages for `minutes` (fractions allowed), or until unmuted;
    /// everywhere, or with `room` only in that room.
    Mute {
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        minutes: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        room: Option<String>,
    },
    /// Admins: lift a mute (the server-wide one, or with `room` the one in that room).
    Unmute {
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        room: Option<String>,
    },
    /// Admins: refuse a user's logins on every service for `duration` (`30m`, `2h`, `7d`), or
    /// until unbanned, and disconnect them. `address`: the ban covers the user's address group
    /// too (an IPv4 address, an IPv6 /64), whatever name is used from it.
    Ban {
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        duration: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        address: bool,
    },
    /// Admins: lift a ban.
    Unban { name: String },
    /// Admins: start a quiz round (when the quiz starts rounds manually).
    #[serde(rename = "start")]
    StartQuiz,
    /// Join a room (creating it when the server allows); it becomes the current room.
    Join { room: String },
    /// Leave `room`, or the current room when absent, with an optional `reason` shown to the
    /// room.
    Part {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        room: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// Admins and the room's operators: make `name` (a member) an operator of `room` (absent:
    /// the current room).
    Op {
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        room: Option<String>,
    },
    /// Admins and the room's operators: `name` is no longer an operator of `room`.
    Deop {
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        room: Option<String>,
    },
    /// Make a joined room the current one (where a `say` without `room` goes).
    Switch { room: String },
    /// List the rooms.
    Rooms,
    /// Ask for a room's topic (`topic` absent), or, admins, set it (`""` clears it). `room`
    /// absent: the current room.
    Topic {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        room: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        topic: Option<String>,
    },
}

impl crate::json::Request for ChatRequest {
    const TYPES: &'static [&'static str] = &[
        "login", "say", "whisper", "who", "help", "quit", "kick", "mute", "unmute", "ban", "unban", "start",
        "join", "part", "switch", "rooms", "topic", "op", "deop",
    ];
}
