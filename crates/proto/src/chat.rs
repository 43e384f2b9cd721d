//! The chat protocol: requests, events, and the text-mode grammar.
//!
//! JSON mode maps one-to-one onto [`ChatRequest`] and [`ChatEvent`]. Text mode is for people
//! typing into `nc`: [`parse_text`] turns a typed line into the same [`ChatRequest`] (what a line
//! means depends on the session's [`Phase`]: before login a plain line is a name, after it a
//! message), and [`ChatEvent`]'s [`Wire`] impl renders the text lines (`[alice] hi`,
//! `>>> [to bob] psst`, `[bob] joined (3 online)`, `! name_taken: ...`).

use serde::{Deserialize, Serialize};
use sockhub_i18n::{Msg, msg, t};

use crate::error::{ErrorCode, ErrorEvent};
use crate::notice;
use crate::secret::Secret;
use crate::time::{self, Timestamp};
use crate::wire::{Wire, json_line, text_line};

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
    /// Say something to everyone.
    Say { text: String },
    /// Say something to one user only.
    Whisper { to: String, text: String },
    /// List who is online.
    Who,
    /// List the commands.
    Help,
    /// Leave.
    Quit,
    /// Admins: disconnect a user.
    Kick {
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// Admins: refuse a user's messages for `minutes` (fractions allowed), or until unmuted.
    Mute {
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        minutes: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// Admins: lift a mute.
    Unmute { name: String },
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
}

impl crate::json::Request for ChatRequest {
    const TYPES: &'static [&'static str] = &[
        "login", "say", "whisper", "who", "help", "quit", "kick", "mute", "unmute", "ban", "unban", "start",
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
    Welcome {
        name: String,
        online: usize,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        admin: bool,
    },
    /// A public message. `history` marks messages sent before the recipient joined.
    Message {
        from: String,
        text: String,
        #[serde(with = "time::ms")]
        at: Timestamp,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        history: bool,
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
    /// Who is online, sorted.
    Users { names: Vec<String> },
    /// Someone entered the room.
    Joined { name: String, online: usize },
    /// Someone left the room.
    Left { name: String, online: usize },
    /// The command list.
    Help { commands: Vec<HelpEntry> },
    /// A request failed; the session goes on.
    Error(ErrorEvent),
    /// The last line before the server closes the connection.
    Bye { reason: Msg },
    /// Text mode asks the user for something (JSON clients get no prompt).
    Prompt { field: PromptField },
    /// `name` was disconnected by admin `by`. The target receives it too, just before its `bye`.
    Kicked {
        name: String,
        by: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// `name` may not send messages until `until` (absent: until unmuted).
    Muted {
        name: String,
        by: String,
        #[serde(default, skip_serializing_if = "Option::is_none", with = "time::ms_opt")]
        until: Option<Timestamp>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// `name` may speak again: lifted by admin `by`, or `by` is absent when the mute expired.
    Unmuted {
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        by: Option<String>,
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
        ("/who", msg!("chat-help-who")),
        ("/help", msg!("common-help-this-list")),
        ("/quit", msg!("chat-help-quit")),
        ("//text", msg!("chat-help-slash")),
        ("/kick name [reason]", msg!("chat-help-kick")),
        ("/mute name [minutes] [reason]", msg!("chat-help-mute")),
        ("/unmute name", msg!("chat-help-unmute")),
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
        if !matches!(self, ChatEvent::Prompt { .. }) {
            json_line(self, out);
        }
    }

    fn write_text(&self, out: &mut Vec<u8>) {
        let line = match self {
            ChatEvent::Welcome { name, online, .. } => t!("chat-welcome", name = name, online = *online),
            ChatEvent::Message { from, text, history: false, .. } => format!("[{from}] {text}"),
            ChatEvent::Message { from, text, at, history: true } => {
                format!("({}) [{from}] {text}", time::clock(at))
            }
            ChatEvent::Whisper { to, text, outgoing: true, .. } => format!(">>> [to {to}] {text}"),
            ChatEvent::Whisper { from, text, outgoing: false, .. } => format!("<<< [from {from}] {text}"),
            ChatEvent::Users { names } => {
                t!("common-online-list", count = names.len(), names = names.join(", "))
            }
            ChatEvent::Joined { name, online } => t!("chat-joined", name = name, online = *online),
            ChatEvent::Left { name, online } => t!("chat-left", name = name, online = *online),
            ChatEvent::Help { commands } => return write_help(out, commands),
            ChatEvent::Error(e) => notice::error_text(e),
            ChatEvent::Bye { reason } => notice::bye_text(reason),
            ChatEvent::Prompt { field: PromptField::Name } => t!("chat-prompt-name"),
            ChatEvent::Prompt { field: PromptField::Password { name } } => {
                t!("common-prompt-password", name = name)
            }
            ChatEvent::Kicked { name, by, reason } => {
                because(t!("chat-kicked", name = name, by = by), reason)
            }
            ChatEvent::Muted { name, by, until: Some(until), reason } => {
                because(t!("chat-muted-until", name = name, by = by, until = time::clock(until)), reason)
            }
            ChatEvent::Muted { name, by, until: None, reason } => {
                because(t!("chat-muted", name = name, by = by), reason)
            }
            ChatEvent::Unmuted { name, by: Some(by) } => t!("chat-unmuted", name = name, by = by),
            ChatEvent::Unmuted { name, by: None } => t!("chat-mute-expired", name = name),
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
        Phase::Room if line.starts_with("//") => ChatRequest::Say { text: line[1..].to_owned() },
        Phase::Room if !line.starts_with('/') => ChatRequest::Say { text: line.to_owned() },
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
        "who" => ChatRequest::Who,
        "kick" => {
            let (name, reason) = split_word(rest);
            if name.is_empty() {
                return Err(usage("/kick name [reason]"));
            }
            ChatRequest::Kick { name: name.to_owned(), reason: non_empty(reason) }
        }
        "mute" => {
            let (name, rest) = split_word(rest);
            if name.is_empty() {
                return Err(usage("/mute name [minutes] [reason]"));
            }
            let (first, after) = split_word(rest);
            match first.parse::<f64>() {
                Ok(m) if m.is_finite() && m > 0.0 => {
                    ChatRequest::Mute { name: name.to_owned(), minutes: Some(m), reason: non_empty(after) }
                }
                Ok(_) => return Err(usage("/mute name [minutes] [reason] (minutes > 0)")),
                Err(_) => ChatRequest::Mute { name: name.to_owned(), minutes: None, reason: non_empty(rest) },
            }
        }
        "unmute" => {
            let (name, _) = split_word(rest);
            if name.is_empty() {
                return Err(usage("/unmute name"));
            }
            ChatRequest::Unmute { name: name.to_owned() }
        }
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
mod tests {
    use super::*;
    use crate::wire::{Mode, render};

    fn parse(line: &str, phase: &Phase) -> ChatRequest {
        parse_text(line, phase).unwrap().unwrap()
    }

    #[test]
    fn a_plain_line_means_name_password_or_message_by_phase() {
        assert_eq!(parse("alice", &Phase::Name), ChatRequest::Login { name: "alice".into(), password: None });
        assert_eq!(
            parse("s3cret", &Phase::Password { name: "alice".into() }),
            ChatRequest::Login { name: "alice".into(), password: Some(Secret::new("s3cret")) }
        );
        assert_eq!(parse(" 안녕하세요 ", &Phase::Room), ChatRequest::Say { text: "안녕하세요".into() });
        assert_eq!(parse("//slash", &Phase::Room), ChatRequest::Say { text: "/slash".into() });
    }

    #[test]
    fn commands() {
        assert_eq!(
            parse("/w bob  hi there", &Phase::Room),
            ChatRequest::Whisper { to: "bob".into(), text: "hi there".into() }
        );
        assert_eq!(
            parse("/msg bob x", &Phase::Room),
            ChatRequest::Whisper { to: "bob".into(), text: "x".into() }
        );
        assert_eq!(parse("/who", &Phase::Room), ChatRequest::Who);
        for quit in ["q", "quit", "/quit", " /q ", "/exit"] {
            assert_eq!(parse(quit, &Phase::Name), ChatRequest::Quit);
            assert_eq!(parse(quit, &Phase::Room), ChatRequest::Quit);
        }
        assert_eq!(parse_text("   ", &Phase::Room).unwrap(), None);
        assert_eq!(parse_text("/dance", &Phase::Room).unwrap_err().code, ErrorCode::UnknownCommand);
        assert_eq!(parse_text("/w bob", &Phase::Room).unwrap_err().code, ErrorCode::BadRequest);
        assert_eq!(
            parse("/login alice pw", &Phase::Name),
            ChatRequest::Login { name: "alice".into(), password: Some(Secret::new("pw")) }
        );
    }

    #[test]
    fn moderation_commands() {
        assert_eq!(
            parse("/kick bob spamming links", &Phase::Room),
            ChatRequest::Kick { name: "bob".into(), reason: Some("spamming links".into()) }
        );
        assert_eq!(parse("/kick bob", &Phase::Room), ChatRequest::Kick { name: "bob".into(), reason: None });
        assert_eq!(
            parse("/mute bob 10 too loud", &Phase::Room),
            ChatRequest::Mute { name: "bob".into(), minutes: Some(10.0), reason: Some("too loud".into()) }
        );
        assert_eq!(
            parse("/mute bob 0.5", &Phase::Room),
            ChatRequest::Mute { name: "bob".into(), minutes: Some(0.5), reason: None }
        );
        assert_eq!(
            parse("/mute bob too loud", &Phase::Room),
            ChatRequest::Mute { name: "bob".into(), minutes: None, reason: Some("too loud".into()) }
        );
        assert_eq!(parse_text("/mute bob -3", &Phase::Room).unwrap_err().code, ErrorCode::BadRequest);
        assert_eq!(parse("/unmute bob", &Phase::Room), ChatRequest::Unmute { name: "bob".into() });
        let ban = |name: &str, duration: Option<&str>, reason: Option<&str>, address| ChatRequest::Ban {
            name: name.into(),
            duration: duration.map(Into::into),
            reason: reason.map(Into::into),
            address,
        };
        assert_eq!(
            parse("/ban bob 2h spam again", &Phase::Room),
            ban("bob", Some("2h"), Some("spam again"), false)
        );
        assert_eq!(parse("/ban bob --address 7d", &Phase::Room), ban("bob", Some("7d"), None, true));
        assert_eq!(parse("/ban bob 30m --address x", &Phase::Room), ban("bob", Some("30m"), Some("x"), true));
        assert_eq!(parse("/ban bob spam 2h", &Phase::Room), ban("bob", None, Some("spam 2h"), false));
        assert_eq!(parse("/ban bob", &Phase::Room), ban("bob", None, None, false));
        assert_eq!(parse_text("/ban", &Phase::Room).unwrap_err().code, ErrorCode::BadRequest);
        assert_eq!(parse("/unban bob", &Phase::Room), ChatRequest::Unban { name: "bob".into() });
        assert_eq!(parse_text("/kick", &Phase::Room).unwrap_err().code, ErrorCode::BadRequest);
    }

    #[test]
    fn text_rendering() {
        let at = time::now();
        let w = |outgoing| ChatEvent::Whisper {
            from: "alice".into(),
            to: "bob".into(),
            text: "psst".into(),
            at,
            outgoing,
        };
        assert_eq!(render(&w(true), Mode::Text), ">>> [to bob] psst\n");
        assert_eq!(render(&w(false), Mode::Text), "<<< [from alice] psst\n");
        assert_eq!(
            render(&ChatEvent::Joined { name: "민수".into(), online: 3 }, Mode::Text),
            "[민수] joined (3 online)\n"
        );
        assert_eq!(
            render(&ChatEvent::error(ErrorCode::NameTaken, "already registered user"), Mode::Text),
            "! name_taken: already registered user\n"
        );
        assert_eq!(render(&ChatEvent::Prompt { field: PromptField::Name }, Mode::Json), "");
    }

    #[test]
    fn json_shapes() {
        let at = chrono::DateTime::parse_from_rfc3339("2026-11-21T06:11:48.123Z").unwrap().to_utc();
        let msg = ChatEvent::Message { from: "alice".into(), text: "hi".into(), at, history: false };
        assert_eq!(
            render(&msg, Mode::Json),
            "{\"type\":\"message\",\"from\":\"alice\",\"text\":\"hi\",\"at\":\"2026-11-21T06:11:48.123Z\"}\n"
        );
        let err = ChatEvent::error(ErrorCode::NoSuchUser, "no one called bob");
        assert_eq!(
            render(&err, Mode::Json),
            "{\"type\":\"error\",\"code\":\"no_such_user\",\"message\":\"no one called bob\"}\n"
        );
        let back: ChatEvent = serde_json::from_str(render(&msg, Mode::Json).trim()).unwrap();
        assert_eq!(back, msg);
    }
}
