//! Rooms in the chat protocol: what a room name is, the room list, topics, the text grammar of
//! the room commands, and [`InRoom`], the `[#room] ` prefix for text-mode users in several rooms.
//!
//! A room name is `#` followed by 1 to [`ROOM_NAME_MAX`] letters (of any script), digits, `-`,
//! `_` or `.`: no spaces, commas, colons or control characters, so a name is one word in text
//! mode and on IRC. The server compares names case-insensitively (as it compares user names).
//!
//! A public line reaches a text-mode user as `[alice] hi` while they are in one room and as
//! `[#a] [alice] hi` while they are in more than one. The server keeps one shared frame of each
//! kind per message and picks one per recipient when it queues it, so nothing is encoded per
//! recipient; JSON never differs (every room-scoped event carries `room`).

use serde::{Deserialize, Serialize};
use sockhub_i18n::{msg, t};

use super::{ChatEvent, ChatRequest, split_word};
use crate::error::{ErrorCode, ErrorEvent};
use crate::time::{self, Timestamp};
use crate::wire::{Wire, text_line};

/// The room everyone is put in at login unless `[chat] default_room` says otherwise.
pub const DEFAULT_ROOM: &str = "#lobby";

/// The most characters after the `#` of a room name.
pub const ROOM_NAME_MAX: usize = 32;

/// One room in the `rooms` list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomInfo {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    /// Members on every node.
    pub members: usize,
    /// Whether the user who asked is in it.
    pub joined: bool,
    /// Whether it stays when empty (the default room, configured rooms, rooms an admin made).
    pub persistent: bool,
}

/// Whether `name` is a room name: `#` and 1 to [`ROOM_NAME_MAX`] letters, digits, `-`, `_`, `.`.
pub fn is_room_name(name: &str) -> bool {
    let Some(rest) = name.strip_prefix('#') else { return false };
    let count = rest.chars().count();
    (1..=ROOM_NAME_MAX).contains(&count)
        && rest.chars().all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// [`is_room_name`] as the protocol's error, `bad_room_name`, quoting the name (escaped).
pub fn check_room_name(name: &str) -> Result<(), ErrorEvent> {
    if is_room_name(name) {
        return Ok(());
    }
    let shown = crate::text::escape(name).into_owned();
    Err(ErrorEvent::new(
        ErrorCode::BadRoomName,
        msg!("chat-bad-room-name", room = shown, max = ROOM_NAME_MAX),
    ))
}

impl ChatEvent {
    /// The room a room-scoped event belongs to (a public message, a join, a leave, a member list,
    /// a topic): the one [`InRoom`] names.
    pub fn room(&self) -> Option<&str> {
        match self {
            ChatEvent::Message { room, .. }
            | ChatEvent::Joined { room, .. }
            | ChatEvent::Left { room, .. }
            | ChatEvent::Users { room, .. }
            | ChatEvent::Topic { room, .. } => Some(room),
            _ => None,
        }
    }
}

/// A room-scoped event as a text-mode user in more than one room sees it: each text line starts
/// with `[#room] `. JSON is the event's own.
#[derive(Debug, Clone, PartialEq)]
pub struct InRoom(pub ChatEvent);

impl Wire for InRoom {
    fn write_json(&self, out: &mut Vec<u8>) {
        self.0.write_json(out);
    }

    fn write_text(&self, out: &mut Vec<u8>) {
        let Some(room) = self.0.room().filter(|r| !r.is_empty()) else {
            return self.0.write_text(out);
        };
        let mut plain = Vec::with_capacity(64);
        self.0.write_text(&mut plain);
        for line in plain.split_inclusive(|&b| b == b'\n') {
            out.push(b'[');
            out.extend_from_slice(room.as_bytes());
            out.extend_from_slice(b"] ");
            out.extend_from_slice(line);
        }
    }
}

/// Split an optional leading `#room` word off `rest`: `("#a", "the rest")` or `(None, rest)`.
pub(super) fn optional_room(rest: &str) -> (Option<String>, &str) {
    let (word, after) = split_word(rest);
    if word.starts_with('#') { (Some(word.to_owned()), after) } else { (None, rest.trim()) }
}

/// `/topic [#room] [text]`: no text asks, `--clear` clears, any other text sets.
pub(super) fn parse_topic(rest: &str) -> ChatRequest {
    let (room, text) = optional_room(rest);
    let topic = match text {
        "" => None,
        "--clear" => Some(String::new()),
        text => Some(text.to_owned()),
    };
    ChatRequest::Topic { room, topic }
}

/// Text mode: the room list, one line per room (`>` marks the current room, `+` another joined
/// one).
pub(super) fn write_rooms(out: &mut Vec<u8>, current: Option<&str>, rooms: &[RoomInfo]) {
    let header = match current {
        Some(c) => t!("chat-rooms-header", count = rooms.len(), current = c),
        None => t!("chat-rooms-header-none", count = rooms.len()),
    };
    text_line(out, header);
    let width = rooms.iter().map(|r| r.name.chars().count()).max().unwrap_or(0);
    for r in rooms {
        let mark = if Some(r.name.as_str()) == current {
            '>'
        } else if r.joined {
            '+'
        } else {
            ' '
        };
        let members = t!("chat-rooms-members", members = r.members);
        let line = match &r.topic {
            Some(topic) => format!("*  {mark} {:width$}  {members}  {topic}", r.name),
            None => format!("*  {mark} {:width$}  {members}", r.name),
        };
        text_line(out, line.trim_end());
    }
}

/// Text mode: a room's topic, who set it and when, or that it has none or was cleared.
pub(super) fn topic_text(
    room: &str,
    topic: &Option<String>,
    by: &Option<String>,
    at: &Option<Timestamp>,
) -> String {
    match (topic, by) {
        (Some(topic), Some(by)) => {
            let at = at.as_ref().map(time::log_format).unwrap_or_default();
            t!("chat-topic-set", room = room, topic = topic, by = by, at = at)
        }
        (Some(topic), None) => t!("chat-topic-is", room = room, topic = topic),
        (None, Some(by)) => t!("chat-topic-cleared", room = room, by = by),
        (None, None) => t!("chat-topic-none", room = room),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::{Phase, parse_text};
    use crate::wire::{Mode, render};

    fn parse(line: &str) -> ChatRequest {
        parse_text(line, &Phase::Room).unwrap().unwrap()
    }

    #[test]
    fn room_names() {
        for ok in ["#lobby", "#a", "#팀-1", "#x.y_z", "#Lab2", &format!("#{}", "a".repeat(32))] {
            assert!(is_room_name(ok), "{ok}");
        }
        for bad in ["lobby", "#", "#a b", "#a,b", "#a:b", "#a\nb", "##", &format!("#{}", "a".repeat(33))] {
            assert!(!is_room_name(bad), "{bad:?}");
            assert_eq!(check_room_name(bad).unwrap_err().code, ErrorCode::BadRoomName);
        }
    }

    #[test]
    fn room_commands() {
        let room = |r: &str| Some(r.to_owned());
        assert_eq!(parse("/join #a"), ChatRequest::Join { room: "#a".into() });
        assert_eq!(parse_text("/join", &Phase::Room).unwrap_err().code, ErrorCode::BadRequest);
        assert_eq!(parse_text("/join a", &Phase::Room).unwrap_err().code, ErrorCode::BadRequest);
        assert_eq!(parse("/part"), ChatRequest::Part { room: None, reason: None });
        assert_eq!(parse("/part #a"), ChatRequest::Part { room: room("#a"), reason: None });
        assert_eq!(
            parse("/part #a bye now"),
            ChatRequest::Part { room: room("#a"), reason: Some("bye now".into()) }
        );
        assert_eq!(parse("/op bob #a"), ChatRequest::Op { name: "bob".into(), room: room("#a") });
        assert_eq!(parse("/deop bob"), ChatRequest::Deop { name: "bob".into(), room: None });
        assert_eq!(parse("/s #a"), ChatRequest::Switch { room: "#a".into() });
        assert_eq!(parse("/switch #a"), ChatRequest::Switch { room: "#a".into() });
        assert_eq!(parse("/rooms"), ChatRequest::Rooms);
        assert_eq!(parse("/who"), ChatRequest::Who { room: None });
        assert_eq!(parse("/who #b"), ChatRequest::Who { room: room("#b") });
        assert_eq!(parse("/topic"), ChatRequest::Topic { room: None, topic: None });
        assert_eq!(parse("/topic #a"), ChatRequest::Topic { room: room("#a"), topic: None });
        assert_eq!(
            parse("/topic #a lab at 3"),
            ChatRequest::Topic { room: room("#a"), topic: Some("lab at 3".into()) }
        );
        assert_eq!(parse("/topic hello"), ChatRequest::Topic { room: None, topic: Some("hello".into()) });
        assert_eq!(
            parse("/topic #a --clear"),
            ChatRequest::Topic { room: room("#a"), topic: Some("".into()) }
        );
        assert_eq!(
            parse("/kick bob #a spam"),
            ChatRequest::Kick { name: "bob".into(), reason: Some("spam".into()), room: room("#a") }
        );
        assert_eq!(
            parse("/mute bob #a 5 loud"),
            ChatRequest::Mute {
                name: "bob".into(),
                minutes: Some(5.0),
                reason: Some("loud".into()),
                room: room("#a")
            }
        );
        assert_eq!(
            parse("/mute bob #a"),
            ChatRequest::Mute { name: "bob".into(), minutes: None, reason: None, room: room("#a") }
        );
        assert_eq!(parse("/unmute bob #a"), ChatRequest::Unmute { name: "bob".into(), room: room("#a") });
    }

    #[test]
    fn json_requests() {
        let decode = |s: &str| crate::json::decode::<ChatRequest>(s).unwrap();
        assert_eq!(
            decode(r##"{"type":"say","text":"hi"}"##),
            ChatRequest::Say { text: "hi".into(), room: None, notice: false, tags: Vec::new() }
        );
        assert_eq!(
            decode(r##"{"type":"say","text":"hi","room":"#a"}"##),
            ChatRequest::Say { text: "hi".into(), room: Some("#a".into()), notice: false, tags: Vec::new() }
        );
        assert_eq!(decode(r#"{"type":"who"}"#), ChatRequest::Who { room: None });
        assert_eq!(decode(r#"{"type":"part"}"#), ChatRequest::Part { room: None, reason: None });
        assert_eq!(decode(r#"{"type":"rooms"}"#), ChatRequest::Rooms);
        assert_eq!(
            decode(r##"{"type":"topic","room":"#a","topic":""}"##),
            ChatRequest::Topic { room: Some("#a".into()), topic: Some(String::new()) }
        );
    }

    #[test]
    fn prefixed_text_and_shared_json() {
        let at = time::now();
        let m = ChatEvent::Message {
            from: "alice".into(),
            text: "hi".into(),
            at,
            history: false,
            room: "#a".into(),
            notice: false,
            id: None,
            tags: Vec::new(),
        };
        assert_eq!(render(&m, Mode::Text), "[alice] hi\n");
        assert_eq!(render(&InRoom(m.clone()), Mode::Text), "[#a] [alice] hi\n");
        assert_eq!(render(&InRoom(m.clone()), Mode::Json), render(&m, Mode::Json));
        let joined = ChatEvent::Joined {
            name: "bob".into(),
            online: 2,
            room: "#a".into(),
            topic: Some("labs".into()),
        };
        assert_eq!(
            render(&InRoom(joined), Mode::Text),
            "[#a] [bob] joined (2 online)\n[#a] * topic of #a: labs\n"
        );
    }

    #[test]
    fn room_events() {
        let list = ChatEvent::Rooms {
            current: Some("#a".into()),
            rooms: vec![
                RoomInfo { name: "#a".into(), topic: None, members: 2, joined: true, persistent: false },
                RoomInfo {
                    name: "#lobby".into(),
                    topic: Some("hi".into()),
                    members: 3,
                    joined: true,
                    persistent: true,
                },
                RoomInfo { name: "#z".into(), topic: None, members: 1, joined: false, persistent: false },
            ],
        };
        assert_eq!(
            render(&list, Mode::Text),
            "* 3 rooms; plain lines go to #a (> current, + joined):\n*  > #a      2 online\n*  + #lobby  3 online  hi\n*    #z      1 online\n"
        );
        assert_eq!(
            render(&list, Mode::Json),
            "{\"type\":\"rooms\",\"current\":\"#a\",\"rooms\":[{\"name\":\"#a\",\"members\":2,\"joined\":true,\"persistent\":false},{\"name\":\"#lobby\",\"topic\":\"hi\",\"members\":3,\"joined\":true,\"persistent\":true},{\"name\":\"#z\",\"members\":1,\"joined\":false,\"persistent\":false}]}\n"
        );
        let topic = ChatEvent::Topic { room: "#a".into(), topic: None, by: None, at: None };
        assert_eq!(render(&topic, Mode::Text), "* #a has no topic\n");
        assert_eq!(render(&topic, Mode::Json), "{\"type\":\"topic\",\"room\":\"#a\"}\n");
        let switched = ChatEvent::Switched { room: "#b".into() };
        assert_eq!(render(&switched, Mode::Text), "* plain lines now go to #b\n");
    }
}
