//! Arbitrary bytes into every decoder a peer can reach: the line codec, each service's JSON
//! requests and text grammar. Whatever arrives, decoding never panics, and every refusal is one
//! of the protocol's stable error codes with a message for the person who sent it.

use bytes::BytesMut;
use proptest::prelude::*;
use sockhub_proto::json::{self, Request};
use sockhub_proto::{ErrorEvent, LineCodec, LineItem, calc, chat, quiz, relay};
use tokio_util::codec::Decoder;

/// What a hostile peer sends: raw bytes, or lines that look like the protocol's JSON with the
/// wrong types, huge numbers, nesting and control characters in every field.
fn hostile_line() -> impl Strategy<Value = String> {
    let scalar = prop_oneof![
        Just("null".to_owned()),
        Just("true".to_owned()),
        Just("1e999".to_owned()),
        Just("-9223372036854775809".to_owned()),
        Just("18446744073709551616".to_owned()),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|f| format!("{f}")),
        any::<String>().prop_map(|s| serde_json::to_string(&s).unwrap()),
        Just("\"\\u0000\\n\\u001b[2J\\u202e\"".to_owned()),
        Just("[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]".to_owned()),
        Just("{\"a\":{\"b\":{}}}".to_owned()),
    ];
    let key = prop_oneof![
        Just("type"),
        Just("name"),
        Just("password"),
        Just("text"),
        Just("to"),
        Just("value"),
        Just("id"),
        Just("student_id"),
        Just("limit"),
        Just("source"),
        Just("seq"),
        Just("payload"),
        Just("at"),
        Just("ranges"),
        Just("lo"),
        Just("hi"),
        Just("minutes"),
        Just("reason"),
    ];
    let ty = prop_oneof![
        Just("login"),
        Just("say"),
        Just("whisper"),
        Just("answer"),
        Just("square"),
        Just("history"),
        Just("record"),
        Just("digests"),
        Just("listing"),
        Just("kick"),
        Just("mute"),
        Just("nonsense"),
    ];
    let object = (ty, proptest::collection::vec((key, scalar), 0..6)).prop_map(|(ty, fields)| {
        let mut s = format!("{{\"type\":\"{ty}\"");
        for (k, v) in fields {
            s.push_str(&format!(",\"{k}\":{v}"));
        }
        s.push('}');
        s
    });
    prop_oneof![
        object,
        any::<String>(),
        "[/{]?[a-z&]{0,8}[ &]{0,3}.{0,40}",
        proptest::collection::vec(any::<u8>(), 0..200).prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
    ]
}

/// A refusal must carry a stable code and say something.
fn clean<T>(result: Result<T, ErrorEvent>) -> Result<(), TestCaseError> {
    if let Err(e) = result {
        prop_assert!(!e.message.is_empty(), "an error without a message: {:?}", e.code);
        prop_assert!(sockhub_proto::ErrorCode::ALL.contains(&e.code));
    }
    Ok(())
}

fn decode<R: Request>(line: &str) -> Result<(), TestCaseError> {
    clean(json::decode::<R>(line))
}

fn every_decoder(line: &str) -> Result<(), TestCaseError> {
    decode::<chat::ChatRequest>(line)?;
    decode::<quiz::QuizRequest>(line)?;
    decode::<calc::CalcRequest>(line)?;
    decode::<relay::RelayRequest>(line)?;
    for phase in [chat::Phase::Name, chat::Phase::Password { name: "a".into() }, chat::Phase::Room] {
        clean(chat::parse_text(line, &phase))?;
    }
    for phase in [quiz::Phase::Name, quiz::Phase::Password { name: "a".into() }, quiz::Phase::Playing] {
        clean(quiz::parse_text(line, &phase))?;
    }
    for phase in [calc::Phase::StudentId, calc::Phase::Calculating] {
        clean(calc::parse_text(line, phase))?;
    }
    clean(relay::parse_text(line))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn every_request_decoder_refuses_cleanly(line in hostile_line()) {
        every_decoder(&line)?;
    }

    /// Raw bytes through the line codec (as TCP delivers them), then every decoder on each line.
    #[test]
    fn raw_bytes_through_the_codec_and_every_decoder(
        bytes in proptest::collection::vec(any::<u8>(), 0..2000),
        max in 1usize..512,
    ) {
        let mut codec = LineCodec::new(max);
        let mut buf = BytesMut::from(&bytes[..]);
        let mut items = Vec::new();
        while let Some(item) = codec.decode(&mut buf).unwrap() {
            items.push(item);
        }
        if let Some(item) = codec.decode_eof(&mut buf).unwrap() {
            items.push(item);
        }
        for item in items {
            match item {
                LineItem::Line(line) => {
                    prop_assert!(line.len() <= max && !line.contains('\n'));
                    every_decoder(&line)?;
                }
                LineItem::TooLong { limit } => prop_assert_eq!(limit, max),
                LineItem::InvalidUtf8 => {}
            }
        }
    }
}
