//! Tests of the chat grammar, its text rendering and its JSON shapes.

use super::*;
use crate::error::ErrorCode;
use crate::secret::Secret;
use crate::time;
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
    assert_eq!(
        parse(" 안녕하세요 ", &Phase::Room),
        ChatRequest::Say { text: "안녕하세요".into(), room: None, notice: false, tags: Vec::new() }
    );
    assert_eq!(
        parse("//slash", &Phase::Room),
        ChatRequest::Say { text: "/slash".into(), room: None, notice: false, tags: Vec::new() }
    );
}

#[test]
fn commands() {
    assert_eq!(
        parse("/w bob  hi there", &Phase::Room),
        ChatRequest::Whisper { to: "bob".into(), text: "hi there".into(), notice: false, tags: Vec::new() }
    );
    assert_eq!(
        parse("/msg bob x", &Phase::Room),
        ChatRequest::Whisper { to: "bob".into(), text: "x".into(), notice: false, tags: Vec::new() }
    );
    assert_eq!(parse("/who", &Phase::Room), ChatRequest::Who { room: None });
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
        ChatRequest::Kick { name: "bob".into(), reason: Some("spamming links".into()), room: None }
    );
    assert_eq!(
        parse("/kick bob", &Phase::Room),
        ChatRequest::Kick { name: "bob".into(), reason: None, room: None }
    );
    assert_eq!(
        parse("/mute bob 10 too loud", &Phase::Room),
        ChatRequest::Mute {
            name: "bob".into(),
            minutes: Some(10.0),
            reason: Some("too loud".into()),
            room: None
        }
    );
    assert_eq!(
        parse("/mute bob 0.5", &Phase::Room),
        ChatRequest::Mute { name: "bob".into(), minutes: Some(0.5), reason: None, room: None }
    );
    assert_eq!(
        parse("/mute bob too loud", &Phase::Room),
        ChatRequest::Mute { name: "bob".into(), minutes: None, reason: Some("too loud".into()), room: None }
    );
    assert_eq!(parse_text("/mute bob -3", &Phase::Room).unwrap_err().code, ErrorCode::BadRequest);
    assert_eq!(parse("/unmute bob", &Phase::Room), ChatRequest::Unmute { name: "bob".into(), room: None });
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
        notice: false,
        id: None,
        tags: Vec::new(),
        outgoing,
    };
    assert_eq!(render(&w(true), Mode::Text), ">>> [to bob] psst\n");
    assert_eq!(render(&w(false), Mode::Text), "<<< [from alice] psst\n");
    assert_eq!(
        render(
            &ChatEvent::Joined { name: "민수".into(), online: 3, room: "#lobby".into(), topic: None },
            Mode::Text
        ),
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
    let msg = ChatEvent::Message {
        from: "alice".into(),
        text: "hi".into(),
        at,
        history: false,
        room: "#lobby".into(),
        notice: false,
        id: None,
        tags: Vec::new(),
    };
    assert_eq!(
        render(&msg, Mode::Json),
        "{\"type\":\"message\",\"from\":\"alice\",\"text\":\"hi\",\"at\":\"2026-11-21T06:11:48.123Z\",\"room\":\"#lobby\"}\n"
    );
    let err = ChatEvent::error(ErrorCode::NoSuchUser, "no one called bob");
    assert_eq!(
        render(&err, Mode::Json),
        "{\"type\":\"error\",\"code\":\"no_such_user\",\"message\":\"no one called bob\"}\n"
    );
    let back: ChatEvent = serde_json::from_str(render(&msg, Mode::Json).trim()).unwrap();
    assert_eq!(back, msg);
}

#[test]
fn a_whisper_says_notice_only_when_it_is_one() {
    let at = chrono::DateTime::parse_from_rfc3339("2026-11-21T06:11:48.123Z").unwrap().to_utc();
    let whisper = |notice| ChatEvent::Whisper {
        from: "alice".into(),
        to: "bob".into(),
        text: "psst".into(),
        at,
        notice,
        id: None,
        tags: Vec::new(),
        outgoing: false,
    };
    let plain = "{\"type\":\"whisper\",\"from\":\"alice\",\"to\":\"bob\",\"text\":\"psst\",\"at\":\"2026-11-21T06:11:48.123Z\"}\n";
    assert_eq!(render(&whisper(false), Mode::Json), plain);
    let notice = render(&whisper(true), Mode::Json);
    assert_eq!(notice, plain.replace("}\n", ",\"notice\":true}\n"));
    let back: ChatEvent = serde_json::from_str(notice.trim()).unwrap();
    assert_eq!(back, whisper(true));
    // A request says so the same way, and leaves it out by default.
    let request: ChatRequest =
        serde_json::from_str(r#"{"type":"whisper","to":"bob","text":"hi","notice":true}"#).unwrap();
    assert_eq!(
        request,
        ChatRequest::Whisper { to: "bob".into(), text: "hi".into(), notice: true, tags: Vec::new() }
    );
    let request: ChatRequest = serde_json::from_str(r#"{"type":"whisper","to":"bob","text":"hi"}"#).unwrap();
    assert_eq!(
        request,
        ChatRequest::Whisper { to: "bob".into(), text: "hi".into(), notice: false, tags: Vec::new() }
    );
}
