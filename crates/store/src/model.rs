//! The store's data types: accounts, mutes, the log records the writer inserts, the rows the
//! report queries return, and the filters those queries take.
//!
//! These are plain values with no database types in them, so the server, the web layer and the
//! CLI can build and read them without knowing SQL. Times are `DateTime<Utc>` here and BIGINT
//! milliseconds in the database; anything finer than a millisecond is dropped on the way in,
//! so use [`now`] (already truncated) when you want what you write to compare equal to what you
//! read back. Names are compared case-insensitively through [`name_key`].

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

use crate::error::StoreError;

/// Column sizes shared by all backends. MySQL needs bounded VARCHARs for indexed columns; the
/// store applies the same bounds on SQLite and PostgreSQL so that the three behave alike.
///
/// Account fields over a bound are refused ([`StoreError::Invalid`]); log records are *clipped*
/// instead, because a login attempt with a 10 kB name (attacker-controlled) must still be logged
/// and must not wedge the writer.
pub mod limits {
    /// Account, sender, recipient, actor and target names, display names (characters).
    pub const NAME_MAX_CHARS: usize = 255;
    /// Student IDs (characters).
    pub const STUDENT_ID_MAX_CHARS: usize = 64;
    /// Password hash strings (an argon2id PHC string is about 100).
    pub const PASSWORD_HASH_MAX_CHARS: usize = 255;
    /// Peer addresses in the login log.
    pub const PEER_MAX_CHARS: usize = 255;
    /// Service names in the login log (`chat`, `quiz`, ...).
    pub const SERVICE_MAX_CHARS: usize = 64;
    /// Moderation reasons.
    pub const REASON_MAX_CHARS: usize = 4096;
    /// Chat message bodies. The server's line limit is expected to be far lower.
    pub const BODY_MAX_CHARS: usize = 65_536;
}

/// The case-insensitive key of a user name: Unicode NFC, then lowercase.
///
/// NFC first so that a Hangul name typed as precomposed syllables (`한`) and one sent as
/// conjoining jamo (`ᄒ ᅡ ᆫ`, as some input methods do) are the same user. The store uses this
/// for account uniqueness and every lookup by name; the server should use it too wherever it
/// compares names (presence, whisper targets) so the two never disagree.
///
/// ASCII, which is already in NFC, skips the normalizer: every logged chat line computes two of
/// these.
pub fn name_key(name: &str) -> String {
    if name.is_ascii() {
        return name.to_ascii_lowercase();
    }
    name.nfc().collect::<String>().to_lowercase()
}

/// The confusable skeleton of a user name (Unicode UTS #39, of its [`name_key`]): names whose
/// skeletons are equal look alike (`teacher`, `tеacher` with a Cyrillic `е`, fullwidth
/// `ｔｅａｃｈｅｒ`) and count as the same name wherever people see names: who is online, name
/// claims across nodes, and accounts (a login as a look-alike of an account's name is a login to
/// that account). The mapping is deliberately broad (`rn` looks like `m`, `1` like `l`), which
/// costs a few harmless refusals and buys no impersonation.
pub fn name_skeleton(name: &str) -> String {
    unicode_security::skeleton(&name_key(name)).collect()
}

/// [`name_skeleton`] cut to the key columns' size.
pub(crate) fn column_skeleton(name: &str) -> String {
    clip(&name_skeleton(name), limits::NAME_MAX_CHARS).into_owned()
}

/// [`name_key`] cut to the key columns' size: lowercasing can lengthen a string (`İ` becomes
/// two characters), so a name at the limit could otherwise yield a key over it.
pub(crate) fn column_key(name: &str) -> String {
    clip(&name_key(name), limits::NAME_MAX_CHARS).into_owned()
}

/// The stored (display) form of a name: NFC, case kept.
pub(crate) fn display_name_form(name: &str) -> String {
    if name.is_ascii() {
        return name.to_owned();
    }
    name.nfc().collect()
}

/// Cuts `s` to at most `max` characters (not bytes: MySQL's VARCHAR(n) counts characters).
pub(crate) fn clip(s: &str, max: usize) -> Cow<'_, str> {
    match s.char_indices().nth(max) {
        Some((cut, _)) => Cow::Borrowed(&s[..cut]),
        None => Cow::Borrowed(s),
    }
}

/// The current time, truncated to the millisecond precision the database stores.
pub fn now() -> DateTime<Utc> {
    truncate_ms(Utc::now())
}

/// `t` truncated to whole milliseconds.
pub fn truncate_ms(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(t.timestamp_millis()).unwrap_or(t)
}

pub(crate) fn to_ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub(crate) fn from_ms(ms: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_millis(ms)
        .ok_or_else(|| StoreError::other(format!("timestamp out of range: {ms} ms")))
}

string_enum! {
    /// What an account may do.
    Role {
        /// May chat and use the services.
        Member => "member",
        /// May also kick, mute and unmute.
        Admin => "admin",
    }
}

string_enum! {
    /// What happened in a login-log row.
    LoginOutcome {
        /// The user got in.
        Success => "success",
        /// Wrong name or password (or refused for another reason).
        Failure => "failure",
        /// The user left (quit, disconnect, kick).
        Logout => "logout",
    }
}

string_enum! {
    /// An admin's moderation action.
    ModerationAction {
        /// Disconnected the target.
        Kick => "kick",
        /// Stopped the target's messages (until a time or until lifted).
        Mute => "mute",
        /// Lifted a mute.
        Unmute => "unmute",
        /// Refused the target's logins (until a time or until lifted) and disconnected them.
        Ban => "ban",
        /// Lifted a ban.
        Unban => "unban",
        /// Set or cleared a room's topic (the topic is the row's `reason`).
        Topic => "topic",
        /// Made the target an operator of a room.
        Op => "op",
        /// Took the target's operator status in a room away.
        Deop => "deop",
    }
}

/// An account to create. `password_hash` comes from [`crate::password::hash`]; the store never
/// sees a password.
#[derive(Clone, PartialEq, Eq)]
pub struct NewAccount {
    /// The login name as the user chose it (stored NFC-normalized; unique case-insensitively).
    pub name: String,
    /// argon2id PHC string.
    pub password_hash: String,
    pub role: Role,
    /// The student's ID, for the calculator roster and reports.
    pub student_id: Option<String>,
    /// A friendlier name to show, if any.
    pub display_name: Option<String>,
}

impl NewAccount {
    /// A member account with no student ID or display name.
    pub fn member(name: impl Into<String>, password_hash: impl Into<String>) -> Self {
        NewAccount {
            name: name.into(),
            password_hash: password_hash.into(),
            role: Role::Member,
            student_id: None,
            display_name: None,
        }
    }
}

// By hand: the hash is not a password, but it is still a secret worth keeping out of logs.
impl fmt::Debug for NewAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewAccount")
            .field("name", &self.name)
            .field("password_hash", &"<redacted>")
            .field("role", &self.role)
            .field("student_id", &self.student_id)
            .field("display_name", &self.display_name)
            .finish()
    }
}

/// A stored account.
#[derive(Clone, PartialEq, Eq)]
pub struct Account {
    pub id: i64,
    /// The name as stored (NFC, case as chosen).
    pub name: String,
    /// argon2id PHC string; check a password with [`crate::password::verify`].
    pub password_hash: String,
    pub role: Role,
    pub student_id: Option<String>,
    pub display_name: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl Account {
    /// Whether this account may moderate.
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

impl fmt::Debug for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Account")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("password_hash", &"<redacted>")
            .field("role", &self.role)
            .field("student_id", &self.student_id)
            .field("display_name", &self.display_name)
            .field("created_at", &self.created_at)
            .finish()
    }
}

/// The mute state of one user (one row per muted name).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mute {
    /// The muted user's name.
    pub target: String,
    /// When the mute ends; `None` = until an admin lifts it.
    pub until: Option<DateTime<Utc>>,
    pub reason: Option<String>,
    /// The admin who muted.
    pub actor: String,
    /// When the mute was set.
    pub at: DateTime<Utc>,
    /// The room the mute is in; `None` = everywhere.
    #[serde(default)]
    pub room: Option<String>,
}

impl Mute {
    /// Whether the mute is in force at `now` (an end time is exclusive).
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.until.is_none_or(|until| until > now)
    }
}

/// The ban state of one user (one row per banned name): their logins are refused on every
/// service, and with `address` set, every login from that address group too.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ban {
    /// The banned user's name.
    pub target: String,
    /// The banned address group when the ban covers one: an IPv4 address, or an IPv6 /64 network
    /// written as its first address (`2001:db8:1:2::`).
    pub address: Option<String>,
    /// When the ban ends; `None` = until an admin lifts it.
    pub until: Option<DateTime<Utc>>,
    pub reason: Option<String>,
    /// The admin who banned.
    pub actor: String,
    /// When the ban was set.
    pub at: DateTime<Utc>,
}

impl Ban {
    /// Whether the ban is in force at `now` (an end time is exclusive).
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.until.is_none_or(|until| until > now)
    }
}

/// One login attempt, login or logout, as queued to the writer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginRecord {
    /// The name the client gave (may not be an account for a failure).
    pub name: String,
    /// The client's address, e.g. `127.0.0.1:50412`.
    pub peer: String,
    /// Which service: `chat`, `quiz`, `calc`, `relay`, `web`.
    pub service: String,
    pub outcome: LoginOutcome,
    pub at: DateTime<Utc>,
}

impl LoginRecord {
    /// A record stamped [`now`].
    pub fn new(
        name: impl Into<String>,
        peer: impl Into<String>,
        service: impl Into<String>,
        outcome: LoginOutcome,
    ) -> Self {
        LoginRecord { name: name.into(), peer: peer.into(), service: service.into(), outcome, at: now() }
    }
}

/// A login-log row as read back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginRow {
    pub id: i64,
    pub name: String,
    pub peer: String,
    pub service: String,
    pub outcome: LoginOutcome,
    pub at: DateTime<Utc>,
}

/// One chat line (public or whisper) as queued to the writer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatRecord {
    pub sender: String,
    /// `None` for a public line, the target's name for a whisper.
    pub recipient: Option<String>,
    pub text: String,
    pub at: DateTime<Utc>,
    /// The room of a public line; `None` for a whisper (stored as `''`) and, for records from
    /// before rooms, the default room [`DEFAULT_ROOM`].
    #[serde(default)]
    pub room: Option<String>,
}

/// The room lines written before there were rooms belong to (and the server's default room).
pub const DEFAULT_ROOM: &str = "#lobby";

impl ChatRecord {
    /// A public line in [`DEFAULT_ROOM`] stamped [`now`].
    pub fn public(sender: impl Into<String>, text: impl Into<String>) -> Self {
        Self::in_room(DEFAULT_ROOM, sender, text)
    }

    /// A public line in `room` stamped [`now`].
    pub fn in_room(room: impl Into<String>, sender: impl Into<String>, text: impl Into<String>) -> Self {
        ChatRecord {
            sender: sender.into(),
            recipient: None,
            text: text.into(),
            at: now(),
            room: Some(room.into()),
        }
    }

    /// A whisper stamped [`now`].
    pub fn whisper(sender: impl Into<String>, recipient: impl Into<String>, text: impl Into<String>) -> Self {
        ChatRecord {
            sender: sender.into(),
            recipient: Some(recipient.into()),
            text: text.into(),
            at: now(),
            room: None,
        }
    }
}

/// A chat-log row as read back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatRow {
    pub id: i64,
    pub sender: String,
    pub recipient: Option<String>,
    pub text: String,
    pub at: DateTime<Utc>,
    /// The room of a public line (`''` for a whisper).
    #[serde(default)]
    pub room: String,
}

impl ChatRow {
    pub fn is_whisper(&self) -> bool {
        self.recipient.is_some()
    }
}

/// One kick, mute or unmute as queued to the writer. (The *state* of a mute is written
/// synchronously with [`crate::Store::set_mute`]; this is the log line.)
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModerationRecord {
    pub actor: String,
    pub target: String,
    pub action: ModerationAction,
    pub reason: Option<String>,
    /// For a mute: when it ends (`None` = until lifted).
    pub until: Option<DateTime<Utc>>,
    pub at: DateTime<Utc>,
    /// The room the action was about; `None` = the whole server.
    #[serde(default)]
    pub room: Option<String>,
}

impl ModerationRecord {
    /// A record stamped [`now`] with no reason and no end time.
    pub fn new(actor: impl Into<String>, target: impl Into<String>, action: ModerationAction) -> Self {
        ModerationRecord {
            actor: actor.into(),
            target: target.into(),
            action,
            reason: None,
            until: None,
            at: now(),
            room: None,
        }
    }

    pub fn in_room(mut self, room: Option<String>) -> Self {
        self.room = room;
        self
    }

    pub fn with_reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }

    pub fn with_until(mut self, until: DateTime<Utc>) -> Self {
        self.until = Some(until);
        self
    }
}

/// A moderation-log row as read back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModerationRow {
    pub id: i64,
    pub actor: String,
    pub target: String,
    pub action: ModerationAction,
    pub reason: Option<String>,
    pub until: Option<DateTime<Utc>>,
    pub at: DateTime<Utc>,
    /// The room the action was about; `None` = the whole server.
    #[serde(default)]
    pub room: Option<String>,
}

/// Which login-log rows to read. Results are oldest first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoginFilter {
    /// Inclusive lower bound.
    pub from: Option<DateTime<Utc>>,
    /// Exclusive upper bound.
    pub to: Option<DateTime<Utc>>,
    /// Only this user (case-insensitive).
    pub user: Option<String>,
    /// At most this many rows: the *newest* ones in the range (still returned oldest first).
    pub limit: Option<u32>,
}

impl LoginFilter {
    /// Everything in `[from, to)`.
    pub fn between(from: DateTime<Utc>, to: DateTime<Utc>) -> Self {
        LoginFilter { from: Some(from), to: Some(to), ..Default::default() }
    }

    /// One calendar day in the time zone `tz` (e.g. `chrono::Utc`, or `FixedOffset::east(9h)`
    /// for Korea): "every login of the day" as the chat projects asked.
    pub fn day<Tz: TimeZone>(date: NaiveDate, tz: &Tz) -> Self {
        let start = |d: NaiveDate| {
            let midnight = d.and_hms_opt(0, 0, 0).unwrap_or_default();
            tz.from_local_datetime(&midnight)
                .earliest()
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or_else(|| Utc.from_utc_datetime(&midnight))
        };
        let next = date.succ_opt().unwrap_or(date);
        Self::between(start(date), start(next))
    }

    pub fn user(mut self, user: impl Into<String>) -> Self {
        self.user = Some(user.into());
        self
    }
}

/// Which chat-log rows to read. Results are oldest first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChatFilter {
    /// Only lines this user sent or received as a whisper (case-insensitive); with `None`,
    /// every line, whispers included.
    pub user: Option<String>,
    /// Inclusive lower bound.
    pub since: Option<DateTime<Utc>>,
    /// Exclusive upper bound.
    pub until: Option<DateTime<Utc>>,
    /// At most this many rows: the *newest* ones (still returned oldest first).
    pub limit: Option<u32>,
    /// Only public lines in this room (case-insensitive).
    pub room: Option<String>,
}

/// Which moderation-log rows to read. Results are oldest first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ModerationFilter {
    /// Inclusive lower bound.
    pub from: Option<DateTime<Utc>>,
    /// Exclusive upper bound.
    pub to: Option<DateTime<Utc>>,
    /// Only actions on this user (case-insensitive).
    pub target: Option<String>,
    /// Only actions by this admin (case-insensitive).
    pub actor: Option<String>,
    /// At most this many rows: the *newest* ones (still returned oldest first).
    pub limit: Option<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_key_folds_case_and_normalizes_hangul() {
        assert_eq!(name_key("Alice"), "alice");
        // "한" precomposed vs. conjoining jamo.
        assert_eq!(name_key("\u{D55C}"), name_key("\u{1112}\u{1161}\u{11AB}"));
        assert_eq!(name_key("홍길동"), "홍길동");
    }

    #[test]
    fn ascii_names_take_a_short_path_to_the_same_forms() {
        let slow_key = |s: &str| s.nfc().collect::<String>().to_lowercase();
        let printable: String = (0x20u8..0x7f).map(char::from).collect();
        for name in ["Alice", "BOB_1", "", "a b\tc", "\u{7f}\u{1}", printable.as_str()] {
            assert_eq!(name_key(name), slow_key(name), "{name:?}");
            assert_eq!(display_name_form(name), name.nfc().collect::<String>(), "{name:?}");
        }
        // Not ASCII: the normalizer still runs.
        assert_eq!(name_key("E\u{301}LODIE"), "\u{e9}lodie");
        assert_eq!(display_name_form("E\u{301}"), "\u{c9}");
    }

    #[test]
    fn clip_counts_characters() {
        assert_eq!(clip("가나다라", 2), "가나");
        assert_eq!(clip("ab", 5), "ab");
        assert_eq!(clip("", 0), "");
    }

    #[test]
    fn enums_round_trip() {
        for r in [Role::Member, Role::Admin] {
            assert_eq!(r.as_str().parse::<Role>().unwrap(), r);
        }
        assert!("root".parse::<Role>().is_err());
    }

    #[test]
    fn day_filter_in_korea() {
        let kst = chrono::FixedOffset::east_opt(9 * 3600).unwrap();
        let f = LoginFilter::day(NaiveDate::from_ymd_opt(2023, 10, 10).unwrap(), &kst);
        assert_eq!(f.from.unwrap().to_rfc3339(), "2023-10-09T15:00:00+00:00");
        assert_eq!(f.to.unwrap().to_rfc3339(), "2023-10-10T15:00:00+00:00");
    }
}
