//! The relay protocol's decoding, encoding and validation, in both modes.

use super::*;
use crate::error::ErrorCode;
use crate::json::decode;
use crate::secret::Secret;
use crate::wire::{Mode, render};

#[test]
fn node_addrs_splits_a_cluster_list() {
    assert_eq!(node_addrs("127.0.0.1:7104"), ["127.0.0.1:7104"]);
    assert_eq!(node_addrs(" a:1 , b:2,, "), ["a:1", "b:2"]);
    assert!(node_addrs(" , ").is_empty());
}

#[test]
fn decodes_records_with_and_without_optional_fields() {
    let r: RelayRequest = decode(r#"{"type":"record","source":"dev1","seq":42,"payload":"x"}"#).unwrap();
    assert_eq!(
        r,
        RelayRequest::Record(RecordMsg {
            source: "dev1".into(),
            seq: Some(42),
            at_ms: None,
            payload: "x".into()
        })
    );
    let r: RelayRequest =
        decode(r#"{"type":"record","source":"d","payload":"y","at":"2026-11-21T06:11:48.123Z"}"#).unwrap();
    let RelayRequest::Record(m) = r else { panic!() };
    assert_eq!((m.seq, m.at_ms), (None, Some(1_795_241_508_123)));
    let r: RelayRequest = decode(r#"{"payload":"y","at":5,"source":"d","type":"record"}"#).unwrap();
    let RelayRequest::Record(m) = r else { panic!() };
    assert_eq!(m.at_ms, Some(5));
}

#[test]
fn bad_records_are_classified() {
    let e = decode::<RelayRequest>(r#"{"type":"record","source":"dev1","seq":1}"#).unwrap_err();
    assert_eq!(e.code, ErrorCode::BadRequest);
    assert!(e.message.contains("payload"), "{}", e.message);
    let e = decode::<RelayRequest>(r#"{"type":"record","source":"d","seq":"x","payload":""}"#).unwrap_err();
    assert_eq!(e.code, ErrorCode::BadRequest);
    let e = decode::<RelayRequest>(r#"{"type":"recrod"}"#).unwrap_err();
    assert_eq!(e.code, ErrorCode::UnknownCommand);
    let e = decode::<RelayRequest>("{oops").unwrap_err();
    assert_eq!(e.code, ErrorCode::BadJson);
    let e = decode::<RelayRequest>(r#"{"type":"record","source":"d","payload":"","at":"yesterday"}"#)
        .unwrap_err();
    assert!(e.message.contains("RFC 3339"), "{}", e.message);
}

#[test]
fn the_written_record_decodes_back() {
    let mut out = Vec::new();
    write_record(&mut out, "센서-1", 7, 1234, "line \"quoted\"\n\ttab");
    let line = std::str::from_utf8(&out).unwrap().trim_end();
    let r: RelayRequest = decode(line).unwrap();
    assert_eq!(
        r,
        RelayRequest::Record(RecordMsg {
            source: "센서-1".into(),
            seq: Some(7),
            at_ms: Some(1234),
            payload: "line \"quoted\"\n\ttab".into()
        })
    );
    let mut out = Vec::new();
    write_request(&mut out, &RelayRequest::Digests { source: "a".into(), ranges: vec![(1, 2)] });
    assert_eq!(
        decode::<RelayRequest>(std::str::from_utf8(&out).unwrap().trim_end()).unwrap(),
        RelayRequest::Digests { source: "a".into(), ranges: vec![(1, 2)] }
    );
}

#[test]
fn text_mode_is_name_and_message() {
    let r = parse_text("dev1&&hello && goodbye").unwrap().unwrap();
    assert_eq!(
        r,
        RelayRequest::Record(RecordMsg {
            source: "dev1".into(),
            seq: None,
            at_ms: None,
            payload: "hello && goodbye".into()
        })
    );
    assert_eq!(parse_text("q").unwrap(), Some(RelayRequest::Quit));
    assert_eq!(parse_text("   ").unwrap(), None);
    assert_eq!(parse_text("no separator").unwrap_err().code, ErrorCode::BadRequest);
}

#[test]
fn acks_render_in_both_modes() {
    let acks = RelayEvent::Acks(vec![Ack { source: "a".into(), seq: 1 }, Ack { source: "b".into(), seq: 2 }]);
    assert_eq!(render(&acks, Mode::Text), "ack a 1\nack b 2\n");
    assert_eq!(
        render(&acks, Mode::Json),
        "{\"type\":\"ack\",\"source\":\"a\",\"seq\":1}\n{\"type\":\"ack\",\"source\":\"b\",\"seq\":2}\n"
    );
    let back: RelayEvent = serde_json::from_str(r#"{"type":"ack","source":"a","seq":1}"#).unwrap();
    assert_eq!(back, RelayEvent::Ack(Ack { source: "a".into(), seq: 1 }));
    let e = RelayEvent::record_error(ErrorCode::PayloadTooLarge, "too big", "a", Some(3));
    assert_eq!(render(&e, Mode::Text), "! payload_too_large: too big\n");
    let back: RelayEvent = serde_json::from_str(render(&e, Mode::Json).trim_end()).unwrap();
    assert_eq!(back, e);
}

#[test]
fn auth_in_both_modes() {
    let r: RelayRequest = decode(r#"{"type":"auth","token":"abc"}"#).unwrap();
    assert_eq!(r, RelayRequest::Auth { token: Secret::new("abc") });
    assert_eq!(format!("{r:?}"), r#"Auth { token: "***" }"#);
    assert_eq!(decode::<RelayRequest>(r#"{"type":"auth"}"#).unwrap_err().code, ErrorCode::BadRequest);
    assert_eq!(parse_text("AUTH abc ").unwrap(), Some(RelayRequest::Auth { token: Secret::new("abc") }));
    assert_eq!(parse_text("auth abc").unwrap(), Some(RelayRequest::Auth { token: Secret::new("abc") }));
    assert_eq!(parse_text("AUTH a b").unwrap_err().code, ErrorCode::BadRequest);
    let ok = RelayEvent::Authenticated { sources: "fan-*".into() };
    assert_eq!(render(&ok, Mode::Json), "{\"type\":\"authenticated\",\"sources\":\"fan-*\"}\n");
    let mut out = Vec::new();
    write_request(&mut out, &RelayRequest::Auth { token: Secret::new("t") });
    assert_eq!(out, b"{\"token\":\"t\",\"type\":\"auth\"}\n");
}

#[test]
fn seq_bounds() {
    assert!(validate_seq(1).is_ok());
    assert!(validate_seq(SEQ_MAX).is_ok());
    assert!(validate_seq(0).is_err());
    assert!(validate_seq(-1).is_err());
    assert!(validate_seq(SEQ_MAX + 1).is_err());
    assert_eq!(SEQ_MAX as f64 as i64, SEQ_MAX);
}

#[test]
fn source_rules() {
    assert!(validate_source("lab-7").is_ok());
    assert!(validate_source("센서").is_ok());
    assert!(validate_source("").is_err());
    assert!(validate_source("a b").is_err());
    assert!(validate_source("a&&b").is_err());
    assert!(validate_source("fan\u{202e}1").is_err(), "a bidi override");
    assert!(validate_source(&"x".repeat(129)).is_err());
}

mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn any_record_round_trips(source in "[^\\s&]{1,20}", seq in 0i64..i64::MAX, at in any::<i64>(), payload in ".*") {
            let mut out = Vec::new();
            write_record(&mut out, &source, seq, at, &payload);
            let line = std::str::from_utf8(&out).unwrap();
            prop_assert!(line.ends_with('\n') && !line[..line.len() - 1].contains('\n'));
            let r: RelayRequest = decode(line.trim_end_matches('\n')).unwrap();
            prop_assert_eq!(r, RelayRequest::Record(RecordMsg { source, seq: Some(seq), at_ms: Some(at), payload }));
        }

        #[test]
        fn text_lines_never_panic(line in ".*") {
            let _ = parse_text(&line);
        }

        /// Whatever bytes arrive, the record decoder answers with a request or a clean
        /// error (one of the parse codes), never a panic.
        #[test]
        fn arbitrary_bytes_decode_cleanly(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let line = String::from_utf8_lossy(&bytes);
            check_decode(&line)?;
            let _ = parse_text(&line);
        }

        /// Near misses of a record: every field with values of every JSON type.
        #[test]
        fn malformed_records_decode_cleanly(
            ty in prop_oneof![Just("\"record\""), Just("\"auth\""), Just("\"listing\""), Just("1"), Just("null")],
            source in json_value(), seq in json_value(), payload in json_value(), at in json_value(),
            extra in json_value(),
        ) {
            let line = format!(
                r#"{{"type":{ty},"source":{source},"seq":{seq},"payload":{payload},"at":{at},"token":{extra},"ranges":{extra},"lo":{seq}}}"#
            );
            check_decode(&line)?;
        }
    }

    fn check_decode(line: &str) -> Result<(), TestCaseError> {
        if let Err(e) = decode::<RelayRequest>(line) {
            prop_assert!(
                matches!(e.code, ErrorCode::BadJson | ErrorCode::BadRequest | ErrorCode::UnknownCommand),
                "{line:?}: {e:?}"
            );
            prop_assert!(!e.message.is_empty());
        }
        Ok(())
    }

    /// A JSON value of any type, including numbers past every integer range.
    fn json_value() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("null".to_owned()),
            Just("true".to_owned()),
            any::<i64>().prop_map(|n| n.to_string()),
            Just("18446744073709551616".to_owned()),
            Just("-9223372036854775809".to_owned()),
            Just("1e400".to_owned()),
            Just("1.5".to_owned()),
            ".{0,8}".prop_map(|t| serde_json::to_string(&t).unwrap()),
            Just("[]".to_owned()),
            Just("[[1,2],[3]]".to_owned()),
            Just("{}".to_owned()),
        ]
    }

    proptest! {
        #[test]
        fn seqs_in_range_are_valid(seq in any::<i64>()) {
            prop_assert_eq!(validate_seq(seq).is_ok(), (1..=SEQ_MAX).contains(&seq));
        }
    }
}
