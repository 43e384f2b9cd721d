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
//!
//! `request.rs` holds what peers send ([`RelayRequest`], decoded in one pass, and the writers
//! of request lines), `event.rs` what a node answers ([`RelayEvent`]); this file holds the
//! rules for seqs and source names that both sides check.

mod event;
mod request;
#[cfg(test)]
mod tests;

pub use event::{Ack, RangeSum, RelayEvent, help};
pub use request::{RecordMsg, RelayRequest, parse_text, write_record, write_request};

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

/// The nodes of a relay address: `host:port`, or several separated by commas (the nodes of one
/// relay cluster, which share a database, so any of them will do). Blanks around and between
/// commas are ignored; an empty list yields nothing.
pub fn node_addrs(list: &str) -> Vec<&str> {
    list.split(',').map(str::trim).filter(|a| !a.is_empty()).collect()
}
