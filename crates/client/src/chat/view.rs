//! How chat events look on the full screen: the same words as the text protocol (so a screen
//! user and an `nc` user read identical lines), with colour saying what kind of line it is.
//!
//! - public messages: plain text, the sender's name in bold (your own name in green);
//! - whispers: magenta, whichever way they go — `>>> [to bob]` when you sent it, `<<< [from
//!   alice]` (marker in bold) when you received it — so a private line never passes for public;
//! - history (sent before you joined): the time first, dimmed, as `(15:11:48)`;
//! - joins and leaves: dark grey, they are background noise;
//! - errors: red; server notices (`*` lines, moderation included) cyan; the final `bye` yellow.

use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use sockhub_proto::ErrorEvent;
use sockhub_proto::chat::ChatEvent;
use sockhub_proto::time;

use super::show;

/// Whispers, both directions.
pub const WHISPER: Style = Style::new().fg(Color::Magenta);
/// `*` lines from the server: welcome, who is online, help.
pub const NOTICE: Style = Style::new().fg(Color::Cyan);
/// Joins and leaves.
pub const PRESENCE: Style = Style::new().fg(Color::DarkGray);
/// Errors, from the server or from the client itself (a mistyped command).
pub use crate::tui::shell::ERROR;
/// The server's last word.
pub const BYE: Style = Style::new().fg(Color::Yellow);
/// The time in front of a history message.
pub const TIME: Style = Style::new().fg(Color::DarkGray);
/// A sender's name in a public message.
pub const NAME: Style = Style::new().add_modifier(Modifier::BOLD);
/// Your own name in a public message.
pub const OWN_NAME: Style = Style::new().fg(Color::Green).add_modifier(Modifier::BOLD);
/// The `[#room] ` before a line from a room other than the current one.
pub const ROOM: Style = Style::new().fg(Color::Blue);

/// The lines for one event (most events are one line; `help` is one per command). `me` is the
/// user's own name; whispers must already be marked outgoing or not (see [`super::mark_outgoing`]).
pub fn event_lines(event: &ChatEvent, me: &str) -> Vec<Line<'static>> {
    let line = match event {
        ChatEvent::Message { from, text, at, history, .. } => {
            let mut spans = Vec::with_capacity(5);
            if *history {
                spans.push(Span::styled(format!("({}) ", time::clock(at)), TIME));
            }
            let name_style = if from == me { OWN_NAME } else { NAME };
            spans.push(Span::styled(format!("[{from}]"), name_style));
            spans.push(Span::raw(format!(" {text}")));
            Line::from(spans)
        }
        ChatEvent::Whisper { to, text, outgoing: true, .. } => Line::from(vec![
            Span::styled(">>> ", WHISPER),
            Span::styled(format!("[to {to}] {text}"), WHISPER),
        ]),
        ChatEvent::Whisper { from, text, outgoing: false, .. } => Line::from(vec![
            Span::styled("<<< ", WHISPER.add_modifier(Modifier::BOLD)),
            Span::styled(format!("[from {from}] {text}"), WHISPER),
        ]),
        // A join of our own may carry the room's topic: a second line, a notice.
        ChatEvent::Joined { .. } | ChatEvent::Left { .. } => {
            let text = show(event);
            let mut lines = text.lines();
            let first = Line::styled(lines.next().unwrap_or_default().to_owned(), PRESENCE);
            return std::iter::once(first).chain(lines.map(|l| Line::styled(l.to_owned(), NOTICE))).collect();
        }
        ChatEvent::Error(e) => return vec![error(e)],
        ChatEvent::Bye { .. } => Line::styled(show(event), BYE),
        // Help renders as several `*` lines; so may any notice.
        ChatEvent::Welcome { .. }
        | ChatEvent::Users { .. }
        | ChatEvent::Help { .. }
        | ChatEvent::Kicked { .. }
        | ChatEvent::Muted { .. }
        | ChatEvent::Unmuted { .. }
        | ChatEvent::Banned { .. }
        | ChatEvent::Unbanned { .. }
        | ChatEvent::Rooms { .. }
        | ChatEvent::Topic { .. }
        | ChatEvent::Switched { .. }
        | ChatEvent::Opped { .. } => {
            return show(event).lines().map(|l| Line::styled(l.to_owned(), NOTICE)).collect();
        }
        // JSON clients are never prompted; nothing to show.
        ChatEvent::Prompt { .. } | ChatEvent::Tagged { .. } => return Vec::new(),
    };
    vec![line]
}

/// An error line, in the protocol's text form `! code: message` (red, as on every screen).
pub fn error(e: &ErrorEvent) -> Line<'static> {
    crate::tui::shell::Shell::error_line(e)
}

/// A line from the client itself rather than the server (shown like the server's notices).
pub fn notice(text: impl Into<String>) -> Line<'static> {
    Line::styled(format!("* {}", text.into()), NOTICE)
}

#[cfg(test)]
mod tests {
    use sockhub_proto::ErrorCode;
    use sockhub_proto::chat::{self, ChatEvent};

    use super::*;

    fn text(lines: &[Line<'_>]) -> String {
        lines.iter().map(|l| l.to_string()).collect::<Vec<_>>().join("\n")
    }

    fn whisper(from: &str, to: &str, me: &str) -> ChatEvent {
        let mut event = ChatEvent::Whisper {
            from: from.into(),
            to: to.into(),
            text: "psst".into(),
            at: time::now(),
            notice: false,
            id: None,
            tags: Vec::new(),
            outgoing: false,
        };
        super::super::mark_outgoing(&mut event, me);
        event
    }

    /// The style a span ends up drawn with.
    fn style_of(line: &Line<'_>, needle: &str) -> Style {
        let span = line.spans.iter().find(|s| s.content.contains(needle)).unwrap();
        line.style.patch(span.style)
    }

    #[test]
    fn the_words_are_the_text_protocol_s() {
        let at = time::now();
        let events = [
            ChatEvent::Welcome { name: "alice".into(), online: 2, admin: false, room: "#lobby".into() },
            ChatEvent::Message {
                from: "bob".into(),
                text: "안녕".into(),
                at,
                history: false,
                room: "#lobby".into(),
                notice: false,
                id: None,
                tags: Vec::new(),
            },
            ChatEvent::Message {
                from: "bob".into(),
                text: "earlier".into(),
                at,
                history: true,
                room: "#lobby".into(),
                notice: false,
                id: None,
                tags: Vec::new(),
            },
            whisper("alice", "bob", "alice"),
            whisper("bob", "alice", "alice"),
            ChatEvent::Users { names: vec!["alice".into(), "bob".into()], room: "#lobby".into() },
            ChatEvent::Joined { name: "bob".into(), online: 2, room: "#lobby".into(), topic: None },
            ChatEvent::Left { name: "bob".into(), online: 1, room: "#lobby".into(), reason: None },
            ChatEvent::Help { commands: chat::help() },
            ChatEvent::error(ErrorCode::NoSuchUser, "no one called \"carol\" is online"),
            ChatEvent::Bye { reason: "goodbye".into() },
        ];
        for event in events {
            assert_eq!(text(&event_lines(&event, "alice")), show(&event), "{event:?}");
        }
    }

    #[test]
    fn whispers_have_their_own_colour_and_direction_markers() {
        let at = time::now();
        let public = event_lines(
            &ChatEvent::Message {
                from: "bob".into(),
                text: "hi".into(),
                at,
                history: false,
                room: "#lobby".into(),
                notice: false,
                id: None,
                tags: Vec::new(),
            },
            "alice",
        );
        let sent = event_lines(&whisper("alice", "bob", "alice"), "alice");
        let received = event_lines(&whisper("bob", "alice", "alice"), "alice");
        assert!(sent[0].to_string().starts_with(">>> [to bob]"));
        assert!(received[0].to_string().starts_with("<<< [from bob]"));
        for line in [&sent[0], &received[0]] {
            assert_eq!(style_of(line, "psst").fg, Some(Color::Magenta));
            assert_ne!(style_of(line, "psst").fg, style_of(&public[0], "hi").fg);
        }
        assert!(style_of(&received[0], "<<<").add_modifier.contains(Modifier::BOLD));
    }

    #[test]
    fn other_kinds_of_line() {
        let at = time::now();
        let mine = event_lines(
            &ChatEvent::Message {
                from: "alice".into(),
                text: "hi".into(),
                at,
                history: false,
                room: "#lobby".into(),
                notice: false,
                id: None,
                tags: Vec::new(),
            },
            "alice",
        );
        assert_eq!(style_of(&mine[0], "[alice]"), OWN_NAME);
        let old = event_lines(
            &ChatEvent::Message {
                from: "bob".into(),
                text: "hi".into(),
                at,
                history: true,
                room: "#lobby".into(),
                notice: false,
                id: None,
                tags: Vec::new(),
            },
            "alice",
        );
        assert_eq!(old[0].spans[0].content, format!("({}) ", time::clock(&at)));
        assert_eq!(old[0].spans[0].style, TIME);
        let joined = event_lines(
            &ChatEvent::Joined { name: "bob".into(), online: 2, room: "#lobby".into(), topic: None },
            "alice",
        );
        assert_eq!(style_of(&joined[0], "bob").fg, Some(Color::DarkGray));
        let topic = Some("labs at 3".to_owned());
        let mine = event_lines(
            &ChatEvent::Joined { name: "alice".into(), online: 1, room: "#a".into(), topic },
            "alice",
        );
        assert_eq!(mine.len(), 2, "the topic is a line of its own");
        assert_eq!(mine[1].to_string(), "* topic of #a: labs at 3");
        assert_eq!(mine[1].style, NOTICE);
        let err = event_lines(&ChatEvent::error(ErrorCode::NoSuchUser, "nobody"), "alice");
        assert_eq!(style_of(&err[0], "nobody").fg, Some(Color::Red));
        assert!(event_lines(&ChatEvent::Prompt { field: chat::PromptField::Name }, "alice").is_empty());
    }
}
