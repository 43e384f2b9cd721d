//! The chat protocol: requests, events, and the text-mode grammar.
//!
//! JSON mode maps one-to-one onto [`ChatRequest`] and [`ChatEvent`]. Text mode is for people
//! typing into `nc`: [`parse_text`] turns a typed line into the same [`ChatRequest`] (what a line
//! means depends on the session's [`Phase`]: before login a plain line is a name, after it a
//! message), and [`ChatEvent`]'s [`Wire`] impl renders the text lines (`[alice] hi`,
//! `>>> [to bob] psst`, `[bob] joined (3 online)`, `! name_taken: ...`).
//!
//! Rooms (`#lobby`, `#team-1`): a user is in one or more rooms and has a current one, where a
//! plain line goes. Room-scoped events carry their `room`; a text-mode user in more than one
//! room sees them through [`InRoom`], which puts `[#room] ` before each line (see [`rooms`]).

use serde::{Deserialize, Serialize};
use sockhub_i18n::{Msg, msg, t};

use crate::error::{ErrorCode, ErrorEvent};
use crate::notice;
use crate::secret::Secret;
use crate::time::{self, Timestamp};
use crate::wire::{Wire, json_line, text_line};

mod rooms;
pub use rooms::{DEFAULT_ROOM, InRoom, ROOM_NAME_MAX, RoomInfo, check_room_name, is_room_name};

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
    /// Say something to one user only.
    Whisper { to: String, text: String },
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
    /// A private message; both the sender and the target receive it.
    Whisper {
        from: String,
        to: String,
        text: String,
        #[serde(with = "time::ms")]
        at: Timestamp,
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

/// Text mode: one `*   usage  what it does` line per command, usages aligned (every service's
/// `/help` looks like this).
pub fn write_help(out: &mut Vec<u8>, commands: &[HelpEntry]) {
    let width = commands.iter().map(|c| c.usage.chars().count()).max().unwrap_or(0);
    for c in commands {
        text_line(out, format!("*   {:width$}  {}", c.usage, c.does));
    }
}

/// The command list for `/help`.
pub fn help() -> Vec<HelpEntry> {
    [
        ("text", msg!("chat-help-say")),
        ("/w name text", msg!("chat-help-whisper")),
        ("/who [#room]", msg!("chat-help-who")),
        ("/join #room", msg!("chat-help-join")),
        ("/part [#room] [reason]", msg!("chat-help-part")),
        ("/switch #room", msg!("chat-help-switch")),
        ("/rooms", msg!("chat-help-rooms")),
        ("/topic [#room] [text]", msg!("chat-help-topic")),
        ("/help", msg!("common-help-this-list")),
        ("/quit", msg!("chat-help-quit")),
        ("//text", msg!("chat-help-slash")),
        ("/kick name [#room] [reason]", msg!("chat-help-kick")),
        ("/mute name [#room] [minutes] [reason]", msg!("chat-help-mute")),
        ("/unmute name [#room]", msg!("chat-help-unmute")),
        ("/op name [#room]", msg!("chat-help-op")),
        ("/deop name [#room]", msg!("chat-help-deop")),
        ("/ban name [duration] [--address] [reason]", msg!("chat-help-ban")),
        ("/unban name", msg!("chat-help-unban")),
        ("/start", msg!("chat-help-start")),
    ]
    .into_iter()
    .map(|(usage, does)| HelpEntry { usage: usage.into(), does })
    .collect()
}

impl Wire for ChatEvent {
    fn write_json(&self, out: &mut Vec<u8>) {
        if !matches!(self, ChatEvent::Prompt { .. } | ChatEvent::Tagged { .. }) {
            json_line(self, out);
        }
    }

    fn write_text(&self, out: &mut Vec<u8>) {
        let line = match self {
            ChatEvent::Welcome { name, online, .. } => t!("chat-welcome", name = name, online = *online),
            ChatEvent::Message { from, text, history: false, .. } => format!("[{from}] {text}"),
            ChatEvent::Message { from, text, at, history: true, .. } => {
                format!("({}) [{from}] {text}", time::clock(at))
            }
            ChatEvent::Whisper { to, text, outgoing: true, .. } => format!(">>> [to {to}] {text}"),
            ChatEvent::Whisper { from, text, outgoing: false, .. } => format!("<<< [from {from}] {text}"),
            ChatEvent::Users { names, .. } => {
                t!("common-online-list", count = names.len(), names = names.join(", "))
            }
            ChatEvent::Joined { name, online, room, topic } => {
                text_line(out, t!("chat-joined", name = name, online = *online));
                if let Some(topic) = topic {
                    text_line(out, t!("chat-topic-is", room = room, topic = topic));
                }
                return;
            }
            ChatEvent::Left { name, online, reason, .. } => {
                because(t!("chat-left", name = name, online = *online), reason)
            }
            ChatEvent::Help { commands } => return write_help(out, commands),
            ChatEvent::Error(e) => notice::error_text(e),
            ChatEvent::Bye { reason } => notice::bye_text(reason),
            ChatEvent::Tagged { .. } => return,
            ChatEvent::Prompt { field: PromptField::Name } => t!("chat-prompt-name"),
            ChatEvent::Prompt { field: PromptField::Password { name } } => {
                t!("common-prompt-password", name = name)
            }
            ChatEvent::Kicked { name, by, reason, room: None } => {
                because(t!("chat-kicked", name = name, by = by), reason)
            }
            ChatEvent::Kicked { name, by, reason, room: Some(room) } => {
                because(t!("chat-kicked-from", name = name, by = by, room = room), reason)
            }
            ChatEvent::Muted { name, by, until, reason, room } => {
                let text = match (until, room) {
                    (Some(u), None) => t!("chat-muted-until", name = name, by = by, until = time::clock(u)),
                    (None, None) => t!("chat-muted", name = name, by = by),
                    (Some(u), Some(r)) => {
                        t!("chat-muted-in-until", name = name, by = by, room = r, until = time::clock(u))
                    }
                    (None, Some(r)) => t!("chat-muted-in", name = name, by = by, room = r),
                };
                because(text, reason)
            }
            ChatEvent::Unmuted { name, by: Some(by), room: None } => t!("chat-unmuted", name = name, by = by),
            ChatEvent::Unmuted { name, by: None, room: None } => t!("chat-mute-expired", name = name),
            ChatEvent::Unmuted { name, by: Some(by), room: Some(room) } => {
                t!("chat-unmuted-in", name = name, by = by, room = room)
            }
            ChatEvent::Unmuted { name, by: None, room: Some(room) } => {
                t!("chat-mute-expired-in", name = name, room = room)
            }
            ChatEvent::Banned { name, by, until, reason, address } => {
                let address = match address {
                    Some(a) => t!("chat-banned-address", address = a),
                    None => String::new(),
                };
                let text = match until {
                    Some(u) => t!(
                        "chat-banned-until",
                        name = name,
                        by = by,
                        address = address,
                        left = crate::ban::time_left(*u, time::now()),
                        until = time::clock(u)
                    ),
                    None => t!("chat-banned", name = name, by = by, address = address),
                };
                because(text, reason)
            }
            ChatEvent::Unbanned { name, by } => t!("chat-unbanned", name = name, by = by),
            ChatEvent::Rooms { current, rooms } => return rooms::write_rooms(out, current.as_deref(), rooms),
            ChatEvent::Topic { room, topic, by, at } => rooms::topic_text(room, topic, by, at),
            ChatEvent::Switched { room } => t!("chat-switched", room = room),
            ChatEvent::Opped { name, by, room, op: true } => {
                t!("chat-opped", name = name, by = by, room = room)
            }
            ChatEvent::Opped { name, by, room, op: false } => {
                t!("chat-deopped", name = name, by = by, room = room)
            }
        };
        text_line(out, line);
    }
}

/// `text`, or `text: reason` when there is a reason.
pub fn because(text: String, reason: &Option<String>) -> String {
    match reason {
        Some(r) => t!("common-reason", text = text, reason = r),
        None => text,
    }
}

/// Where a chat session is, which decides what a plain text line means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Phase {
    /// Waiting for a name: a plain line is the name.
    Name,
    /// Waiting for the password of `name`: a plain line is the password.
    Password { name: String },
    /// In the room: a plain line is a message.
    Room,
}

/// True for the lines that leave in any phase: `quit`, `q`, `/quit`, `/q`, `/exit`.
pub fn is_quit(line: &str) -> bool {
    matches!(line.trim(), "quit" | "q" | "/quit" | "/q" | "/exit")
}

/// Parse one text-mode line. `Ok(None)` means "nothing to do" (an empty line).
pub fn parse_text(line: &str, phase: &Phase) -> Result<Option<ChatRequest>, ErrorEvent> {
    let line = line.trim();
    if line.is_empty() {
        return Ok(None);
    }
    if is_quit(line) {
        return Ok(Some(ChatRequest::Quit));
    }
    let request = match phase {
        Phase::Password { name } if !line.starts_with('/') => {
            ChatRequest::Login { name: name.clone(), password: Some(Secret::new(line)) }
        }
        Phase::Name if !line.starts_with('/') => ChatRequest::Login { name: line.to_owned(), password: None },
        Phase::Room if line.starts_with("//") => {
            ChatRequest::Say { text: line[1..].to_owned(), room: None, notice: false, tags: Vec::new() }
        }
        Phase::Room if !line.starts_with('/') => {
            ChatRequest::Say { text: line.to_owned(), room: None, notice: false, tags: Vec::new() }
        }
        _ => parse_command(line)?,
    };
    Ok(Some(request))
}

fn parse_command(line: &str) -> Result<ChatRequest, ErrorEvent> {
    let (command, rest) = split_word(&line[1..]);
    let usage = ErrorEvent::usage;
    Ok(match command {
        "w" | "msg" | "whisper" => {
            let (to, text) = split_word(rest);
            if to.is_empty() || text.is_empty() {
                return Err(usage("/w name text"));
            }
            ChatRequest::Whisper { to: to.to_owned(), text: text.to_owned() }
        }
        "who" => ChatRequest::Who { room: rooms::optional_room(rest).0 },
        "join" | "j" => match rooms::optional_room(rest) {
            (Some(room), "") => ChatRequest::Join { room },
            _ => return Err(usage("/join #room")),
        },
        "part" | "leave" => {
            let (room, reason) = rooms::optional_room(rest);
            ChatRequest::Part { room, reason: non_empty(reason) }
        }
        "op" | "deop" => {
            let (name, rest) = split_word(rest);
            let (room, extra) = rooms::optional_room(rest);
            if name.is_empty() || !extra.is_empty() {
                return Err(usage(if command == "op" { "/op name [#room]" } else { "/deop name [#room]" }));
            }
            let name = name.to_owned();
            if command == "op" { ChatRequest::Op { name, room } } else { ChatRequest::Deop { name, room } }
        }
        "switch" | "s" => match rooms::optional_room(rest) {
            (Some(room), "") => ChatRequest::Switch { room },
            _ => return Err(usage("/switch #room")),
        },
        "rooms" => ChatRequest::Rooms,
        "topic" => rooms::parse_topic(rest),
        "kick" => {
            let (name, rest) = split_word(rest);
            if name.is_empty() {
                return Err(usage("/kick name [#room] [reason]"));
            }
            let (room, reason) = rooms::optional_room(rest);
            ChatRequest::Kick { name: name.to_owned(), reason: non_empty(reason), room }
        }
        "mute" => {
            let (name, rest) = split_word(rest);
            if name.is_empty() {
                return Err(usage("/mute name [#room] [minutes] [reason]"));
            }
            let (room, rest) = rooms::optional_room(rest);
            let (first, after) = split_word(rest);
            let (minutes, reason) = match first.parse::<f64>() {
                Ok(m) if m.is_finite() && m > 0.0 => (Some(m), after),
                Ok(_) => return Err(usage("/mute name [#room] [minutes] [reason] (minutes > 0)")),
                Err(_) => (None, rest),
            };
            ChatRequest::Mute { name: name.to_owned(), minutes, reason: non_empty(reason), room }
        }
        "unmute" => match split_word(rest) {
            ("", _) => return Err(usage("/unmute name [#room]")),
            (name, rest) => ChatRequest::Unmute { name: name.to_owned(), room: rooms::optional_room(rest).0 },
        },
        "ban" => parse_ban(rest).ok_or_else(|| usage("/ban name [duration] [--address] [reason]"))?,
        "unban" => {
            let (name, _) = split_word(rest);
            if name.is_empty() {
                return Err(usage("/unban name"));
            }
            ChatRequest::Unban { name: name.to_owned() }
        }
        "help" => ChatRequest::Help,
        "start" => ChatRequest::StartQuiz,
        "login" => {
            let (name, password) = split_word(rest);
            if name.is_empty() {
                return Err(usage("/login name [password]"));
            }
            ChatRequest::Login {
                name: name.to_owned(),
                password: (!password.is_empty()).then(|| Secret::new(password)),
            }
        }
        _ => return Err(ErrorEvent::unknown_command(command)),
    })
}

/// `name [duration] [--address] [reason]`: the duration and the flag, in either order, come
/// before the reason. A duration that does not parse is passed on for the server to refuse.
fn parse_ban(rest: &str) -> Option<ChatRequest> {
    let (name, mut rest) = split_word(rest);
    if name.is_empty() {
        return None;
    }
    let (mut duration, mut address) = (None, false);
    loop {
        let (word, after) = split_word(rest);
        if word == "--address" && !address {
            address = true;
        } else if duration.is_none() && crate::ban::is_duration(word) {
            duration = Some(word.to_owned());
        } else {
            break;
        }
        rest = after;
    }
    Some(ChatRequest::Ban { name: name.to_owned(), duration, reason: non_empty(rest), address })
}

fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_owned())
}

/// Split off the first whitespace-separated word; the rest is trimmed.
pub fn split_word(s: &str) -> (&str, &str) {
    let s = s.trim_start();
    match s.find(char::is_whitespace) {
        Some(i) => (&s[..i], s[i..].trim()),
        None => (s, ""),
    }
}

#[cfg(test)]
mod tests;
