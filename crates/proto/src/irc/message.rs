//! One IRC message: `[@tags] [:source] COMMAND [params...] [:trailing]`.
//!
//! [`Message::parse`] reads a line as a client sends it (without its CR LF, which the line codec
//! strips) and refuses what Modern IRC forbids: more than [`MAX_LINE`](super::MAX_LINE) bytes
//! of message (the CR LF included) or more than [`MAX_TAGS`](super::MAX_TAGS) bytes of tags, no
//! command, a command that is neither letters nor three digits. [`Message::write`] appends the
//! message with its CR LF, escaping tag values and putting a `:` before the last parameter when
//! it needs one or follows another (the text of a PRIVMSG or a numeric, which simple clients
//! look for after ` :`), so that `parse(write(m)) == m` for every message the type can hold.

use std::fmt;

use super::{MAX_LINE, MAX_PARAMS, MAX_TAGS};

/// One message tag: `key` or `key=value` (the value unescaped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    pub key: String,
    pub value: Option<String>,
}

impl Tag {
    pub fn new(key: impl Into<String>, value: Option<String>) -> Self {
        Tag { key: key.into(), value }
    }
}

/// An IRC message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Message {
    pub tags: Vec<Tag>,
    /// Who it comes from (`nick!user@host` or a server name), without the leading `:`.
    pub source: Option<String>,
    /// The command, in upper case when parsed, or a three-digit numeric.
    pub command: String,
    pub params: Vec<String>,
}

/// Why a line is not an IRC message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("empty message")]
    Empty,
    #[error("message too long: more than {max} bytes")]
    TooLong { max: usize },
    #[error("tags too long: more than {max} bytes")]
    TagsTooLong { max: usize },
    #[error("no command")]
    NoCommand,
    #[error("not a command: {0:?}")]
    BadCommand(String),
}

impl Message {
    /// A message with no tags and no source.
    pub fn new(command: impl Into<String>, params: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Message {
            tags: Vec::new(),
            source: None,
            command: command.into(),
            params: params.into_iter().map(Into::into).collect(),
        }
    }

    /// The same message from `source`.
    pub fn from_source(mut self, source: impl Into<String>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// The same message with one more tag.
    pub fn tag(mut self, key: impl Into<String>, value: Option<String>) -> Self {
        self.tags.push(Tag::new(key, value));
        self
    }

    /// Parameter `i`, if there is one.
    pub fn param(&self, i: usize) -> Option<&str> {
        self.params.get(i).map(String::as_str)
    }

    /// Parse one line (a trailing CR LF or LF is ignored).
    pub fn parse(line: &str) -> Result<Message, ParseError> {
        let line = line.strip_suffix('\n').unwrap_or(line);
        let line = line.strip_suffix('\r').unwrap_or(line);
        let mut rest = line.trim_start_matches(' ');
        let mut tags = Vec::new();
        if let Some(after) = rest.strip_prefix('@') {
            let (raw, tail) = after.split_once(' ').unwrap_or((after, ""));
            // `@`, the tags and the space after them.
            if raw.len() + 2 > MAX_TAGS {
                return Err(ParseError::TagsTooLong { max: MAX_TAGS });
            }
            tags = raw.split(';').filter(|t| !t.is_empty()).map(parse_tag).collect();
            rest = tail.trim_start_matches(' ');
        }
        if rest.len() + 2 > MAX_LINE {
            return Err(ParseError::TooLong { max: MAX_LINE });
        }
        let mut source = None;
        if let Some(after) = rest.strip_prefix(':') {
            let (s, tail) = after.split_once(' ').unwrap_or((after, ""));
            source = Some(s.to_owned());
            rest = tail.trim_start_matches(' ');
        }
        let (command, mut rest) = rest.split_once(' ').unwrap_or((rest, ""));
        if command.is_empty() {
            return Err(if tags.is_empty() && source.is_none() {
                ParseError::Empty
            } else {
                ParseError::NoCommand
            });
        }
        let numeric = command.len() == 3 && command.bytes().all(|b| b.is_ascii_digit());
        if !numeric && !command.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(ParseError::BadCommand(command.to_owned()));
        }
        let mut params = Vec::new();
        loop {
            rest = rest.trim_start_matches(' ');
            if rest.is_empty() {
                break;
            }
            if let Some(trailing) = rest.strip_prefix(':') {
                params.push(trailing.to_owned());
                break;
            }
            if params.len() == MAX_PARAMS - 1 {
                params.push(rest.to_owned());
                break;
            }
            let (param, tail) = rest.split_once(' ').unwrap_or((rest, ""));
            params.push(param.to_owned());
            rest = tail;
        }
        Ok(Message { tags, source, command: command.to_ascii_uppercase(), params })
    }

    /// Append the message and its CR LF to `out`.
    pub fn write(&self, out: &mut Vec<u8>) {
        if !self.tags.is_empty() {
            out.push(b'@');
            for (i, tag) in self.tags.iter().enumerate() {
                if i > 0 {
                    out.push(b';');
                }
                out.extend_from_slice(tag.key.as_bytes());
                if let Some(value) = &tag.value {
                    out.push(b'=');
                    escape_value(value, out);
                }
            }
            out.push(b' ');
        }
        if let Some(source) = &self.source {
            out.push(b':');
            out.extend_from_slice(source.as_bytes());
            out.push(b' ');
        }
        out.extend_from_slice(self.command.as_bytes());
        let last = self.params.len().saturating_sub(1);
        for (i, param) in self.params.iter().enumerate() {
            out.push(b' ');
            if i == last && (i > 0 || param.is_empty() || param.starts_with(':') || param.contains(' ')) {
                out.push(b':');
            }
            out.extend_from_slice(param.as_bytes());
        }
        out.extend_from_slice(b"\r\n");
    }

    /// The message as a string, with its CR LF.
    pub fn to_line(&self) -> String {
        let mut out = Vec::new();
        self.write(&mut out);
        String::from_utf8(out).unwrap_or_default()
    }
}

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.to_line().trim_end_matches("\r\n"))
    }
}

fn parse_tag(raw: &str) -> Tag {
    match raw.split_once('=') {
        Some((key, value)) => Tag::new(key, Some(unescape_value(value))),
        None => Tag::new(raw, None),
    }
}

fn escape_value(value: &str, out: &mut Vec<u8>) {
    for c in value.chars() {
        match c {
            ';' => out.extend_from_slice(b"\\:"),
            ' ' => out.extend_from_slice(b"\\s"),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\n' => out.extend_from_slice(b"\\n"),
            c => {
                let mut buf = [0; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
}

fn unescape_value(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        // A lone `\` at the end is dropped; an unknown escape stands for its character.
        match chars.next() {
            Some(':') => out.push(';'),
            Some('s') => out.push(' '),
            Some('r') => out.push('\r'),
            Some('n') => out.push('\n'),
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

/// Split `text` into pieces of at most `max` bytes that concatenate back to `text`, breaking
/// after a space where the piece has one and never inside a character. `max` below 4 is taken
/// as 4 (one character always fits).
pub fn split_text(text: &str, max: usize) -> Vec<&str> {
    let max = max.max(4);
    let mut pieces = Vec::new();
    let mut rest = text;
    while rest.len() > max {
        let mut end = max;
        while !rest.is_char_boundary(end) {
            end -= 1;
        }
        if let Some(space) = rest[..end].rfind(' ').filter(|&i| i > 0) {
            end = space + 1;
        }
        pieces.push(&rest[..end]);
        rest = &rest[end..];
    }
    if !rest.is_empty() || pieces.is_empty() {
        pieces.push(rest);
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn p(line: &str) -> Message {
        Message::parse(line).unwrap()
    }

    #[test]
    fn parses_the_parts_of_a_message() {
        let m = p("@time=2026-01-01T00:00:00.000Z;+draft/x :alice!a@host PRIVMSG #lobby :hello there");
        assert_eq!(
            m.tags,
            vec![Tag::new("time", Some("2026-01-01T00:00:00.000Z".into())), Tag::new("+draft/x", None)]
        );
        assert_eq!(m.source.as_deref(), Some("alice!a@host"));
        assert_eq!(m.command, "PRIVMSG");
        assert_eq!(m.params, ["#lobby", "hello there"]);
    }

    #[test]
    fn commands_are_upper_cased_and_params_tolerate_extra_spaces() {
        let m = p("nick   alice  \r\n");
        assert_eq!(m.command, "NICK");
        assert_eq!(m.params, ["alice"]);
        assert_eq!(p("USER a 0 * :Real Name").params, ["a", "0", "*", "Real Name"]);
        assert_eq!(p("PRIVMSG bob ::)").params, ["bob", ":)"]);
        assert_eq!(p("TOPIC #a :").params, ["#a", ""]);
    }

    #[test]
    fn numerics_and_bad_commands() {
        assert_eq!(p(":srv 001 alice :Welcome").command, "001");
        assert_eq!(Message::parse(""), Err(ParseError::Empty));
        assert_eq!(Message::parse("@a=b"), Err(ParseError::NoCommand));
        assert_eq!(Message::parse("12 x"), Err(ParseError::BadCommand("12".into())));
        assert_eq!(Message::parse("PRIV-MSG x"), Err(ParseError::BadCommand("PRIV-MSG".into())));
    }

    #[test]
    fn the_fifteenth_parameter_takes_the_rest() {
        let line = format!("CMD {}", (1..=17).map(|i| i.to_string()).collect::<Vec<_>>().join(" "));
        let m = p(&line);
        assert_eq!(m.params.len(), 15);
        assert_eq!(m.params[14], "15 16 17");
    }

    #[test]
    fn lengths_are_limited_apart_from_tags() {
        let body = format!("PRIVMSG #a :{}", "x".repeat(510 - 12));
        assert_eq!(body.len(), 510);
        assert!(Message::parse(&body).is_ok());
        assert_eq!(Message::parse(&format!("{body}x")), Err(ParseError::TooLong { max: 512 }));
        let tags = format!("@k={} {body}", "v".repeat(8000));
        assert!(Message::parse(&tags).is_ok(), "tags do not count against the 512 bytes");
        let tags = format!("@k={} {body}", "v".repeat(8190));
        assert_eq!(Message::parse(&tags), Err(ParseError::TagsTooLong { max: 8191 }));
    }

    #[test]
    fn tag_values_are_escaped_and_unescaped() {
        let m = Message::new("TAGMSG", ["#a"]).tag("k", Some("a; b\\c\r\n".into()));
        assert_eq!(m.to_line(), "@k=a\\:\\sb\\\\c\\r\\n TAGMSG #a\r\n");
        assert_eq!(p(m.to_line().trim_end()), m);
        assert_eq!(p("@k=a\\b\\ TAGMSG #a").tags[0].value.as_deref(), Some("ab"));
    }

    #[test]
    fn writes_a_trailing_colon_only_when_needed() {
        let m = Message::new("PRIVMSG", ["#a", "hi"]).from_source("alice!a@h");
        assert_eq!(m.to_line(), ":alice!a@h PRIVMSG #a :hi\r\n");
        assert_eq!(Message::new("JOIN", ["#a"]).to_line(), "JOIN #a\r\n");
        assert_eq!(Message::new("QUIT", ["bye now"]).to_line(), "QUIT :bye now\r\n");
        assert_eq!(Message::new("PRIVMSG", ["#a", "hi there"]).to_line(), "PRIVMSG #a :hi there\r\n");
        assert_eq!(Message::new("PRIVMSG", ["#a", ""]).to_line(), "PRIVMSG #a :\r\n");
        assert_eq!(Message::new("PRIVMSG", ["#a", ":)"]).to_line(), "PRIVMSG #a ::)\r\n");
        assert_eq!(Message::new("PRIVMSG", ["#한국", "안녕"]).to_line(), "PRIVMSG #한국 :안녕\r\n");
    }

    #[test]
    fn split_never_cuts_a_character_and_prefers_spaces() {
        assert_eq!(split_text("hello world again", 12), ["hello world ", "again"]);
        assert_eq!(split_text("가나다라", 7), ["가나", "다라"]);
        assert_eq!(split_text("", 10), [""]);
        assert_eq!(split_text("abcdefgh", 4), ["abcd", "efgh"]);
    }

    fn middle() -> impl Strategy<Value = String> {
        "[a-zA-Z0-9#&!@.*가-힣-]{1,12}"
    }

    fn message() -> impl Strategy<Value = Message> {
        let tag = ("[a-z+/.-]{1,8}", proptest::option::of("[ -~가-힣\r\n;\\\\]{0,12}"));
        (
            proptest::collection::vec(tag, 0..4),
            proptest::option::of("[a-zA-Z0-9!@.가-힣]{1,16}"),
            prop_oneof!["[A-Z]{1,10}", "[0-9]{3}"],
            proptest::collection::vec(middle(), 0..5),
            proptest::option::of("[ -~가-힣]{0,40}"),
        )
            .prop_map(|(tags, source, command, mut params, trailing)| {
                params.extend(trailing);
                Message {
                    tags: tags.into_iter().map(|(k, v)| Tag::new(k, v)).collect(),
                    source,
                    command,
                    params,
                }
            })
    }

    proptest! {
        /// Every message survives a trip through its own line.
        #[test]
        fn round_trip(m in message()) {
            let line = m.to_line();
            prop_assert!(line.ends_with("\r\n"));
            prop_assert_eq!(Message::parse(&line).unwrap(), m);
        }

        /// Any text splits into pieces that fit and concatenate back to it.
        #[test]
        fn split_round_trip(text in "[ a-z가-힣😀]{0,200}", max in 1usize..40) {
            let pieces = split_text(&text, max);
            prop_assert_eq!(pieces.concat(), text.clone());
            for piece in pieces {
                prop_assert!(piece.len() <= max.max(4));
            }
        }

        /// Parsing never panics, whatever the line.
        #[test]
        fn parse_never_panics(line in "\\PC{0,100}") {
            let _ = Message::parse(&line);
        }
    }
}
