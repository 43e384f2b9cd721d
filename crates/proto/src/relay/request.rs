//! What a peer sends a relay node: records and the other [`RelayRequest`]s, decoded from a
//! JSON line in one pass through a flat struct (the hot path of every hop), parsed from a text
//! line (`name&&message`, `AUTH <token>`), and written as JSON lines by devices and forwarding
//! nodes.

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

use sockhub_i18n::msg;

use crate::error::{ErrorCode, ErrorEvent};
use crate::secret::Secret;
use crate::wire::json_line;

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
