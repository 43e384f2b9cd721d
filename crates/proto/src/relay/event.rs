//! What a relay node sends: acknowledgements (cumulative, batched, written directly as JSON),
//! errors naming the refused record, the replies of the reconcile exchange, and their text-mode
//! forms.

use serde::{Deserialize, Serialize};

use sockhub_i18n::{Msg, msg, t};

use crate::error::{ErrorCode, ErrorEvent};
use crate::notice;
use crate::wire::{Wire, json_line, text_line};

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
