//! The relay protocol: devices send records to a relay node, and a relay node forwards records
//! to the next one with the very same messages, plus the reconcile exchange by which two nodes
//! check that nothing went missing between them.
//!
//! **Records.** JSON mode: `{"type":"record","source":"dev1","seq":42,"payload":"..."}`
//! (optional `"at"`: the record's time, RFC 3339 or unix milliseconds). Text mode (the original
//! device format): a line `dev1&&message` is a record from `dev1` whose seq the server assigns.
//!
//! **Acknowledgements** mean *committed to the database*. `{"type":"ack","source":"dev1","seq":42}`
//! (text: `ack dev1 42`) confirms record 42 of `dev1` **and every record of `dev1` sent earlier on
//! the same connection** that was not answered with an error. In JSON mode the server sends one
//! ack per source per commit (the last record of that source in it): acks are cumulative and
//! batched. In text mode every line gets its own ack line. A record that was stored before (a
//! re-send) is acknowledged again and not stored twice: records are idempotent on
//! `(source, seq)` — provided the payload is the same: a different payload under a stored
//! `(source, seq)` is refused with `seq_conflict` and the stored record stays as it is (whoever
//! sent a seq first cannot be overwritten, and a device whose counter restarted learns of it).
//! Seqs are `1..=`[`SEQ_MAX`] (2^53 - 1, so that every seq is exact in a JSON number as
//! JavaScript reads it); others get `bad_seq`. A refused record gets an error that names it:
//! `{"type":"error","code":"payload_too_large","message":"...","source":"dev1","seq":43}`.
//!
//! **Device tokens.** A node with `[relay] auth = "tokens"` takes records only after the
//! connection presented a token: `{"type":"auth","token":"..."}` (text: a line `AUTH <token>`),
//! answered with `{"type":"authenticated","sources":"fan-*"}`. A token covers the sources its
//! glob pattern matches; records of other sources get `forbidden`, anything but `auth`, `help`
//! and `quit` before a token gets `unauthorized`.
//!
//! **Reconcile** (upstream node → downstream node, on the forwarding connection while no record
//! is in flight): `digests` asks for `COUNT(*)` and the sum of the records' 32-bit content
//! digests over ranges of seqs; `listing` asks for the `(seq, digest)` pairs of a small range;
//! `summary` asks for a source's stored range and gaps. The upstream node compares the answers
//! with the same figures over the records it marked forwarded, bisecting ranges that differ
//! until it knows exactly which seqs are missing downstream.
//!
//! Encoding is on the hot path of a relay (every record is decoded once per hop and encoded
//! once per forward), so [`RelayRequest`] decodes in one pass through a flat struct instead of
//! serde's buffered internally-tagged enums, and [`write_record`] writes a record line directly.

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};

use sockhub_i18n::{Msg, msg, t};

use crate::error::{ErrorCode, ErrorEvent};
use crate::notice;
use crate::secret::Secret;
use crate::wire::{Wire, json_line, text_line};

/// One record as a peer sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordMsg {
    pub source: String,
    /// `None`: the server assigns the next seq of the source.
    pub seq: Option<i64>,
    /// The record's time in unix milliseconds; `None`: when the server received it.
    pub at_ms: Option<i64>,
    pub payload: String,
}

/// A request to a relay node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RelayRequest {
    /// Store (and forward) a record.
    Record(RecordMsg),
    /// Which is the highest seq stored for `source`? (A device that starts afresh continues
    /// after it.)
    LastSeq { source: String },
    /// Reconcile: count and digest sum over each inclusive range of `source`'s seqs.
    Digests { source: String, ranges: Vec<(i64, i64)> },
    /// Reconcile: every stored `(seq, digest)` of `source` in `lo..=hi`.
    Listing { source: String, lo: i64, hi: i64 },
    /// Reconcile: `source`'s stored range and gaps.
    Summary { source: String },
    /// Present a device token (nodes with `[relay] auth = "tokens"`).
    Auth { token: Secret },
    /// The formats this port understands (text mode).
    Help,
    /// Leave.
    Quit,
}

impl crate::json::Request for RelayRequest {
    const TYPES: &'static [&'static str] =
        &["record", "last_seq", "digests", "listing", "summary", "auth", "help", "quit"];
}

/// Every field any request may have; decoded in one pass, then checked per type.
#[derive(Deserialize)]
struct Flat {
    #[serde(rename = "type")]
    ty: String,
    #[serde(default, deserialize_with = "text_field::<_, SourceField>")]
    source: Option<String>,
    #[serde(default, deserialize_with = "seq_field")]
    seq: Option<i64>,
    #[serde(default, deserialize_with = "text_field::<_, PayloadField>")]
    payload: Option<String>,
    #[serde(default, deserialize_with = "at_ms")]
    at: Option<i64>,
    ranges: Option<Vec<(i64, i64)>>,
    lo: Option<i64>,
    hi: Option<i64>,
    token: Option<String>,
}

impl<'de> Deserialize<'de> for RelayRequest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let f = Flat::deserialize(d)?;
        let source = |s: Option<String>| s.ok_or_else(|| de::Error::missing_field("source"));
        Ok(match f.ty.as_str() {
            "record" => RelayRequest::Record(RecordMsg {
                source: source(f.source)?,
                seq: f.seq,
                at_ms: f.at,
                payload: f.payload.ok_or_else(|| de::Error::missing_field("payload"))?,
            }),
            "last_seq" => RelayRequest::LastSeq { source: source(f.source)? },
            "digests" => RelayRequest::Digests {
                source: source(f.source)?,
                ranges: f.ranges.ok_or_else(|| de::Error::missing_field("ranges"))?,
            },
            "listing" => RelayRequest::Listing {
                source: source(f.source)?,
                lo: f.lo.ok_or_else(|| de::Error::missing_field("lo"))?,
                hi: f.hi.ok_or_else(|| de::Error::missing_field("hi"))?,
            },
            "summary" => RelayRequest::Summary { source: source(f.source)? },
            "auth" => RelayRequest::Auth {
                token: Secret::new(f.token.ok_or_else(|| de::Error::missing_field("token"))?),
            },
            "help" => RelayRequest::Help,
            "quit" => RelayRequest::Quit,
            other => return Err(de::Error::unknown_variant(other, <Self as crate::json::Request>::TYPES)),
        })
    }
}

/// Names a text field in error messages.
trait FieldName {
    const NAME: &'static str;
}
struct SourceField;
impl FieldName for SourceField {
    const NAME: &'static str = "source";
}
struct PayloadField;
impl FieldName for PayloadField {
    const NAME: &'static str = "payload";
}

/// A string field whose type error names the field (serde's own message does not).
fn text_field<'de, D: Deserializer<'de>, F: FieldName>(d: D) -> Result<Option<String>, D::Error> {
    struct Text<F>(std::marker::PhantomData<F>);
    impl<F: FieldName> Visitor<'_> for Text<F> {
        type Value = Option<String>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            write!(f, "\"{}\" as a string", F::NAME)
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Some(v.to_owned()))
        }
        fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
    }
    d.deserialize_any(Text::<F>(std::marker::PhantomData))
}

/// `"seq"`: a whole number, or null.
fn seq_field<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    struct Seq;
    impl Visitor<'_> for Seq {
        type Value = Option<i64>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("\"seq\" as a whole number")
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            i64::try_from(v).map(Some).map_err(|_| E::custom("\"seq\" is out of range"))
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
    }
    d.deserialize_any(Seq)
}

/// `"at"`: RFC 3339 text or unix milliseconds.
fn at_ms<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    struct At;
    impl Visitor<'_> for At {
        type Value = Option<i64>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an RFC 3339 time or unix milliseconds")
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            i64::try_from(v).map(Some).map_err(|_| E::custom("\"at\" is out of range"))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            chrono::DateTime::parse_from_rfc3339(v)
                .map(|t| Some(t.timestamp_millis()))
                .map_err(|e| E::custom(format!("\"at\" is not an RFC 3339 time: {e}")))
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
    }
    d.deserialize_any(At)
}

/// Writes a record request as one JSON line (what a device or a forwarding node sends).
pub fn write_record(out: &mut Vec<u8>, source: &str, seq: i64, at_ms: i64, payload: &str) {
    use std::io::Write;
    out.extend_from_slice(br#"{"type":"record","source":"#);
    let _ = serde_json::to_writer(&mut *out, source);
    let _ = write!(out, r#","seq":{seq},"at":{at_ms},"payload":"#);
    let _ = serde_json::to_writer(&mut *out, payload);
    out.extend_from_slice(b"}\n");
}

/// Writes a request (other than a record) as one JSON line.
pub fn write_request(out: &mut Vec<u8>, req: &RelayRequest) {
    let value = match req {
        RelayRequest::Record(r) => serde_json::json!({
            "type": "record", "source": r.source, "seq": r.seq, "at": r.at_ms, "payload": r.payload,
        }),
        RelayRequest::LastSeq { source } => serde_json::json!({"type": "last_seq", "source": source}),
        RelayRequest::Digests { source, ranges } => {
            serde_json::json!({"type": "digests", "source": source, "ranges": ranges})
        }
        RelayRequest::Listing { source, lo, hi } => {
            serde_json::json!({"type": "listing", "source": source, "lo": lo, "hi": hi})
        }
        RelayRequest::Summary { source } => serde_json::json!({"type": "summary", "source": source}),
        RelayRequest::Auth { token } => serde_json::json!({"type": "auth", "token": token.expose()}),
        RelayRequest::Help => serde_json::json!({"type": "help"}),
        RelayRequest::Quit => serde_json::json!({"type": "quit"}),
    };
    json_line(&value, out);
}

/// Text mode: `name&&message` is a record; `AUTH <token>` presents a device token; `quit`, `q`,
/// `/quit`, `/exit` leave; `/help` helps.
pub fn parse_text(line: &str) -> Result<Option<RelayRequest>, ErrorEvent> {
    let trimmed = line.trim();
    if trimmed.is_empty() {
        return Ok(None);
    }
    if crate::chat::is_quit(trimmed) {
        return Ok(Some(RelayRequest::Quit));
    }
    if trimmed == "/help" || trimmed == "help" {
        return Ok(Some(RelayRequest::Help));
    }
    // A source name has no blanks, so `AUTH <token>` can never be a record's `name&&`.
    if let Some(head) = trimmed.get(..5)
        && head.eq_ignore_ascii_case("auth ")
    {
        let token = trimmed[5..].trim();
        return match token.is_empty() || token.contains(char::is_whitespace) {
            true => Err(ErrorEvent::new(ErrorCode::BadRequest, msg!("relay-auth-usage"))),
            false => Ok(Some(RelayRequest::Auth { token: Secret::new(token) })),
        };
    }
    match line.split_once("&&") {
        Some((name, message)) => Ok(Some(RelayRequest::Record(RecordMsg {
            source: name.trim().to_owned(),
            seq: None,
            at_ms: None,
            payload: message.to_owned(),
        }))),
        None => Err(ErrorEvent::new(ErrorCode::BadRequest, msg!("relay-expected-record"))),
    }
}

/// The lowest seq a record may carry (`last_seq` answers 0 for a source with none).
pub const SEQ_MIN: i64 = 1;
/// The highest seq a record may carry: 2^53 - 1, the largest integer a JSON number holds exactly
/// in JavaScript (the web page) and in every JSON library that reads numbers as doubles.
pub const SEQ_MAX: i64 = (1 << 53) - 1;

/// A seq outside [`SEQ_MIN`]`..=`[`SEQ_MAX`] (sent as `bad_seq`, with this text).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("seq {0} is outside {min}..={max}", min = SEQ_MIN, max = SEQ_MAX)]
pub struct BadSeq(pub i64);

/// Checks a record's seq; the error says what is wrong (sent as `bad_seq`).
pub fn validate_seq(seq: i64) -> Result<(), BadSeq> {
    match (SEQ_MIN..=SEQ_MAX).contains(&seq) {
        true => Ok(()),
        false => Err(BadSeq(seq)),
    }
}

/// The rules for source names: 1 to [`SOURCE_MAX_CHARS`] characters, no whitespace or control
/// characters, and no `&&` (so every name can be sent in text mode).
pub const SOURCE_MAX_CHARS: usize = 128;

/// Why a source name is refused (sent as `invalid_source`, with this text).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BadSource {
    #[error("the source name is empty")]
    Empty,
    #[error("the source name is longer than {max} characters", max = SOURCE_MAX_CHARS)]
    TooLong,
    #[error("the source name contains whitespace, control characters or bidi overrides")]
    BadCharacter,
    #[error("the source name contains \"&&\"")]
    Ampersands,
}

/// Checks a source name; the error says what is wrong.
pub fn validate_source(source: &str) -> Result<(), BadSource> {
    if source.is_empty() {
        return Err(BadSource::Empty);
    }
    if source.chars().count() > SOURCE_MAX_CHARS {
        return Err(BadSource::TooLong);
    }
    if source.chars().any(|c| c.is_whitespace() || c.is_control() || crate::text::forbidden(c)) {
        return Err(BadSource::BadCharacter);
    }
    if source.contains("&&") {
        return Err(BadSource::Ampersands);
    }
    Ok(())
}

/// One acknowledgement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ack {
    pub source: String,
    pub seq: i64,
}

/// A range digest as sent in reply to `digests`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RangeSum {
    pub lo: i64,
    pub hi: i64,
    pub count: i64,
    pub sum: i64,
}

/// What a relay node sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RelayEvent {
    /// The record and every earlier one of its source on this connection are committed.
    Ack(Ack),
    /// Several acks written as consecutive lines (never sent as one object).
    #[serde(skip)]
    Acks(Vec<Ack>),
    /// A request failed; `source` and `seq` name the record when it was one.
    Error {
        code: ErrorCode,
        message: Msg,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        source: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seq: Option<i64>,
    },
    /// Reply to `last_seq` (0 when the source is unknown).
    LastSeq { source: String, seq: i64 },
    /// Reply to `digests`.
    Digests { source: String, ranges: Vec<RangeSum> },
    /// Reply to `listing`: `[seq, digest]` pairs, by seq.
    Listing { source: String, lo: i64, hi: i64, items: Vec<(i64, i64)> },
    /// Reply to `summary`.
    Summary {
        source: String,
        count: i64,
        first: Option<i64>,
        last: Option<i64>,
        gaps: Vec<(i64, i64)>,
        gaps_total: i64,
        /// The highest seq of `source` this node's retention removed (absent: none). Reconcile
        /// compares only the seqs above it: a pruned range is not missing.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pruned_seq: Option<i64>,
    },
    /// Reply to `auth`: records of the sources this glob pattern matches are taken.
    Authenticated { sources: String },
    /// Reply to `help`.
    Help { formats: Vec<Msg> },
    /// The last line before the server closes.
    Bye { reason: Msg },
}

impl RelayEvent {
    /// An error about one record.
    pub fn record_error(code: ErrorCode, message: impl Into<Msg>, source: &str, seq: Option<i64>) -> Self {
        RelayEvent::Error { code, message: message.into(), source: Some(source.to_owned()), seq }
    }
}

/// The formats, for `help`.
pub fn help() -> Vec<Msg> {
    let line = |usage: &str, does: Msg| msg!("relay-help-line", usage = usage, does = does);
    vec![
        line("name&&message", msg!("relay-help-record")),
        line(r#"{"type":"record","source":"dev1","seq":42,"payload":"..."}"#, msg!("relay-help-json")),
        line("AUTH <token>", msg!("relay-help-auth", json = r#"{"type":"auth","token":"..."}"#)),
        line("quit", msg!("relay-help-quit")),
    ]
}

impl Wire for RelayEvent {
    fn write_json(&self, out: &mut Vec<u8>) {
        match self {
            RelayEvent::Acks(acks) => {
                for a in acks {
                    write_ack_json(out, &a.source, a.seq);
                }
            }
            RelayEvent::Ack(a) => write_ack_json(out, &a.source, a.seq),
            other => json_line(other, out),
        }
    }

    fn write_text(&self, out: &mut Vec<u8>) {
        let line = match self {
            RelayEvent::Acks(acks) => {
                for a in acks {
                    text_line(out, format!("ack {} {}", a.source, a.seq));
                }
                return;
            }
            RelayEvent::Ack(a) => format!("ack {} {}", a.source, a.seq),
            RelayEvent::Error { code, message, .. } => {
                notice::error_text(&ErrorEvent::new(*code, message.clone()))
            }
            RelayEvent::LastSeq { source, seq } => format!("* last seq of {source}: {seq}"),
            RelayEvent::Digests { source, ranges } => format!("* digests of {source}: {ranges:?}"),
            RelayEvent::Listing { source, items, .. } => format!("* listing of {source}: {items:?}"),
            RelayEvent::Summary { source, count, first, last, gaps_total, .. } => format!(
                "* {source}: {count} records, seqs {}..{}, {gaps_total} gaps",
                first.unwrap_or(0),
                last.unwrap_or(0)
            ),
            RelayEvent::Authenticated { sources } => {
                t!("relay-authenticated", sources = sources)
            }
            RelayEvent::Help { formats } => {
                for f in formats {
                    text_line(out, format!("*   {f}"));
                }
                return;
            }
            RelayEvent::Bye { reason } => notice::bye_text(reason),
        };
        text_line(out, line);
    }
}

fn write_ack_json(out: &mut Vec<u8>, source: &str, seq: i64) {
    use std::io::Write;
    out.extend_from_slice(br#"{"type":"ack","source":"#);
    let _ = serde_json::to_writer(&mut *out, source);
    let _ = writeln!(out, r#","seq":{seq}}}"#);
}

/// The nodes of a relay address: `host:port`, or several separated by commas (the nodes of one
/// relay cluster, which share a database, so any of them will do). Blanks around and between
/// commas are ignored; an empty list yields nothing.
pub fn node_addrs(list: &str) -> Vec<&str> {
    list.split(',').map(str::trim).filter(|a| !a.is_empty()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_addrs_splits_a_cluster_list() {
        assert_eq!(node_addrs("127.0.0.1:7104"), ["127.0.0.1:7104"]);
        assert_eq!(node_addrs(" a:1 , b:2,, "), ["a:1", "b:2"]);
        assert!(node_addrs(" , ").is_empty());
    }
    use crate::json::decode;
    use crate::wire::{Mode, render};

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
            decode(r#"{"type":"record","source":"d","payload":"y","at":"2026-11-21T06:11:48.123Z"}"#)
                .unwrap();
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
        let e =
            decode::<RelayRequest>(r#"{"type":"record","source":"d","seq":"x","payload":""}"#).unwrap_err();
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
        let acks =
            RelayEvent::Acks(vec![Ack { source: "a".into(), seq: 1 }, Ack { source: "b".into(), seq: 2 }]);
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
}
