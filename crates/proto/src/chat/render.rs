//! How chat events look on the wire: JSON as serde writes them (less the events JSON readers
//! never get), and the text lines `nc` users read (`[alice] hi`, `>>> [to bob] psst`,
//! `[bob] joined (3 online)`, `! name_taken: ...`), in the server's language. The `/help` layout
//! here is shared with the other services.

use sockhub_i18n::t;

use super::{ChatEvent, HelpEntry, PromptField, rooms};
use crate::notice;
use crate::time;
use crate::wire::{Wire, json_line, text_line};

/// Text mode: one `*   usage  what it does` line per command, usages aligned (every service's
/// `/help` looks like this).
pub fn write_help(out: &mut Vec<u8>, commands: &[HelpEntry]) {
    let width = commands.iter().map(|c| c.usage.chars().count()).max().unwrap_or(0);
    for c in commands {
        text_line(out, format!("*   {:width$}  {}", c.usage, c.does));
    }
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
