//! The text-mode grammar: what a line typed into `nc` means. A plain line depends on the
//! session's [`Phase`] (a name, a password, or a message); a line starting with `/` is a
//! command (`/w bob hi`, `/join #team`, `/ban name 2h --address spam`), and `//` starts a message
//! that begins with a slash. [`help`] lists the commands as `/help` shows them.

use sockhub_i18n::msg;

use super::{ChatRequest, HelpEntry, rooms};
use crate::error::ErrorEvent;
use crate::secret::Secret;

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
            ChatRequest::Whisper { to: to.to_owned(), text: text.to_owned(), notice: false, tags: Vec::new() }
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
