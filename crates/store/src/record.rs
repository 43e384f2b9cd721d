//! [`Record`]: what the batched writer inserts, and how each kind maps to its table.
//!
//! Adding a kind (quiz attempts, calculator results, relay bookkeeping) takes four small steps,
//! all in this file: a variant in [`Record`], a `From` impl (the macro below), a [`Table`]
//! constant naming the table and its columns, and one arm in each of `table`, `kind` and
//! `bind_values` binding the values in column order. The writer needs no change: it groups a
//! batch by table and builds multi-row inserts from these descriptions.

use serde::{Deserialize, Serialize};

use crate::model::{
    ChatRecord, LoginRecord, ModerationRecord, clip, column_key, display_name_form, limits, to_ms,
};
use crate::quiz::{ANSWER_MAX_CHARS, QuizAttemptRecord};
use crate::store::SqlBuf;

/// One row for the batched writer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
#[non_exhaustive]
pub enum Record {
    Login(LoginRecord),
    Chat(ChatRecord),
    Moderation(ModerationRecord),
    QuizAttempt(QuizAttemptRecord),
}

macro_rules! record_from {
    ($($variant:ident($ty:ty)),+ $(,)?) => {$(
        impl From<$ty> for Record {
            fn from(r: $ty) -> Record {
                Record::$variant(r)
            }
        }
    )+};
}

record_from!(
    Login(LoginRecord),
    Chat(ChatRecord),
    Moderation(ModerationRecord),
    QuizAttempt(QuizAttemptRecord),
);

/// A table the writer inserts into: its name and the columns `bind_values` fills, in order.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Table {
    pub(crate) name: &'static str,
    pub(crate) columns: &'static [&'static str],
}

const LOGINS: Table =
    Table { name: "logins", columns: &["name", "name_key", "peer", "service", "outcome", "at_ms"] };

const CHAT_MESSAGES: Table = Table {
    name: "chat_messages",
    columns: &["sender", "sender_key", "recipient", "recipient_key", "body", "at_ms", "room", "room_key"],
};

const MODERATION: Table = Table {
    name: "moderation",
    columns: &["actor", "actor_key", "target", "target_key", "action", "reason", "until_ms", "at_ms", "room"],
};

const QUIZ_ATTEMPTS: Table = Table {
    name: "quiz_attempts",
    columns: &[
        "round_id",
        "player",
        "player_key",
        "problem_id",
        "ask",
        "problem",
        "expected",
        "answer",
        "verdict",
        "sent_at_ms",
        "received_at_ms",
        "elapsed_ms",
    ],
};

impl Record {
    /// Short name of the kind, for logs and metrics: `login`, `chat`, `moderation`.
    pub fn kind(&self) -> &'static str {
        match self {
            Record::Login(_) => "login",
            Record::Chat(_) => "chat",
            Record::Moderation(_) => "moderation",
            Record::QuizAttempt(_) => "quiz_attempt",
        }
    }

    pub(crate) fn table(&self) -> &'static Table {
        match self {
            Record::Login(_) => &LOGINS,
            Record::Chat(_) => &CHAT_MESSAGES,
            Record::Moderation(_) => &MODERATION,
            Record::QuizAttempt(_) => &QUIZ_ATTEMPTS,
        }
    }

    /// Appends `(v1, v2, ...)` for this record, in the order of `self.table().columns`.
    ///
    /// Values are clipped to [`crate::limits`]: a log line must be written even when a client
    /// sent an absurdly long name, and clipping the same way on every backend keeps them alike.
    pub(crate) fn bind_values(&self, b: &mut SqlBuf) {
        let mut v = Values { b, first: true };
        let name = |s: &str| clip(&display_name_form(s), limits::NAME_MAX_CHARS).into_owned();
        match self {
            Record::Login(r) => {
                let n = name(&r.name);
                let key = column_key(&n);
                v.val(n)
                    .val(key)
                    .val(clip(&r.peer, limits::PEER_MAX_CHARS).into_owned())
                    .val(clip(&r.service, limits::SERVICE_MAX_CHARS).into_owned())
                    .val(r.outcome.as_str())
                    .val(to_ms(r.at));
            }
            Record::Chat(r) => {
                let sender = name(&r.sender);
                let sender_key = column_key(&sender);
                let recipient = r.recipient.as_deref().map(name);
                let recipient_key = recipient.as_deref().map(column_key);
                let room = match (&r.room, &r.recipient) {
                    (Some(room), _) => clip(room, limits::NAME_MAX_CHARS).into_owned(),
                    (None, Some(_)) => String::new(),
                    (None, None) => crate::DEFAULT_ROOM.to_owned(),
                };
                v.val(sender)
                    .val(sender_key)
                    .val(recipient)
                    .val(recipient_key)
                    .val(clip(&r.text, limits::BODY_MAX_CHARS).into_owned())
                    .val(to_ms(r.at))
                    .val(room.clone())
                    .val(column_key(&room));
            }
            Record::Moderation(r) => {
                let actor = name(&r.actor);
                let actor_key = column_key(&actor);
                let target = name(&r.target);
                let target_key = column_key(&target);
                v.val(actor)
                    .val(actor_key)
                    .val(target)
                    .val(target_key)
                    .val(r.action.as_str())
                    .val(r.reason.as_deref().map(|s| clip(s, limits::REASON_MAX_CHARS).into_owned()))
                    .val(r.until.map(to_ms))
                    .val(to_ms(r.at))
                    .val(r.room.as_deref().map(|s| clip(s, limits::NAME_MAX_CHARS).into_owned()));
            }
            Record::QuizAttempt(r) => {
                let player = name(&r.player);
                let key = column_key(&player);
                v.val(r.round)
                    .val(player)
                    .val(key)
                    .val(r.problem_id)
                    .val(r.ask)
                    .val(clip(&r.problem, 64).into_owned())
                    .val(r.expected)
                    .val(r.answer.as_deref().map(|a| clip(a, ANSWER_MAX_CHARS).into_owned()))
                    .val(clip(&r.verdict, 16).into_owned())
                    .val(to_ms(r.sent_at))
                    .val(to_ms(r.received_at))
                    .val(r.elapsed_ms);
            }
        }
        v.b.push(")");
    }
}

/// Writes a parenthesised, comma-separated value list into a [`SqlBuf`].
struct Values<'a> {
    b: &'a mut SqlBuf,
    first: bool,
}

impl Values<'_> {
    fn val<'q, T>(&mut self, value: T) -> &mut Self
    where
        T: sqlx::Encode<'q, sqlx::Any> + sqlx::Type<sqlx::Any> + 'q,
    {
        self.b.push(if self.first { "(" } else { ", " });
        self.first = false;
        self.b.bind(value);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{LoginOutcome, ModerationAction};
    use crate::store::Backend;

    #[test]
    fn every_kind_binds_one_value_per_column() {
        let records: Vec<Record> = vec![
            LoginRecord::new("kim", "127.0.0.1:1", "chat", LoginOutcome::Success).into(),
            ChatRecord::public("kim", "hi").into(),
            ChatRecord::whisper("kim", "lee", "psst").into(),
            ModerationRecord::new("root", "kim", ModerationAction::Mute).with_reason("spam").into(),
            QuizAttemptRecord {
                round: 1,
                player: "kim".into(),
                problem_id: 1,
                ask: 1,
                problem: "1 + 2 * 3".into(),
                expected: 7,
                answer: Some("7".into()),
                verdict: "correct".into(),
                sent_at: crate::now(),
                received_at: crate::now(),
                elapsed_ms: 0,
            }
            .into(),
        ];
        for r in records {
            let mut b = SqlBuf::new(Backend::Postgres);
            r.bind_values(&mut b);
            assert_eq!(b.arg_count(), r.table().columns.len(), "{}", r.kind());
        }
    }
}
