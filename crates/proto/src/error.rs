//! Stable error codes.
//!
//! Every error a client can receive carries one of these codes as a snake_case string
//! (`{"type":"error","code":"name_taken","message":"..."}` in JSON mode, `! name_taken: ...` in
//! text mode). Programs match on the code; the message is for people and may change. Codes are
//! only ever added, never renamed.

use serde::{Deserialize, Serialize};
use sockhub_i18n::{Msg, msg};

macro_rules! error_codes {
    ($( $(#[doc = $doc:literal])* $variant:ident => $wire:literal, )*) => {
        /// A stable, machine-readable error code.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[non_exhaustive]
        pub enum ErrorCode {
            $( $(#[doc = $doc])* #[serde(rename = $wire)] $variant, )*
        }

        impl ErrorCode {
            /// Every code, in declaration order (for documentation and tests).
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant),*];

            /// The code as it appears on the wire.
            pub const fn as_str(self) -> &'static str {
                match self { $(ErrorCode::$variant => $wire,)* }
            }
        }
    };
}

error_codes! {
    // --- framing and parsing, shared by every service ---
    /// The line was longer than the limit and was discarded.
    LineTooLong => "line_too_long",
    /// The line was not valid UTF-8 and was discarded.
    InvalidUtf8 => "invalid_utf8",
    /// A JSON-mode line was not a JSON object.
    BadJson => "bad_json",
    /// A JSON object with a known `type` but missing or malformed fields.
    BadRequest => "bad_request",
    /// A command (`/something`, or a JSON `type`) this service does not know.
    UnknownCommand => "unknown_command",
    /// Too many messages too fast; this one was not processed.
    RateLimited => "rate_limited",
    /// The request needs a logged-in session.
    NotLoggedIn => "not_logged_in",
    /// `login` sent by a session that is already logged in.
    AlreadyLoggedIn => "already_logged_in",
    /// The server has as many connections as it accepts; try again later.
    ServerFull => "server_full",
    /// The client's address has as many connections as one address may open
    /// (`limits.max_connections_per_ip`), or as many not yet logged in as it may hold.
    TooManyConnections => "too_many_connections",
    /// The connection did not log in within `limits.login_timeout_secs`.
    LoginTimeout => "login_timeout",
    /// Text with a character that may not be shown to others: a line break, an escape or
    /// another control character, or a bidirectional override. Nothing was sent.
    InvalidText => "invalid_text",
    /// The client stopped reading while replies piled up beyond `limits.outbound_bytes`.
    TooSlow => "too_slow",
    /// Something went wrong on the server's side; the details are in the server log.
    Internal => "internal",
    /// A database or another part the request needs is unavailable for now; try again.
    Unavailable => "unavailable",

    // --- names, accounts, moderation ---
    /// The name is in use by someone online ("already registered user").
    NameTaken => "name_taken",
    /// The name breaks the naming rules (length, whitespace, control characters).
    InvalidName => "invalid_name",
    /// No such user is online.
    NoSuchUser => "no_such_user",
    /// A message with no text.
    EmptyMessage => "empty_message",
    /// The name belongs to an account: send its password.
    PasswordRequired => "password_required",
    /// Wrong name or password (the same reply whether or not the name exists).
    BadCredentials => "bad_credentials",
    /// Too many failed logins: wait before trying again.
    TooManyAttempts => "too_many_attempts",
    /// Only admins may do this; on the relay: the device token does not cover this source.
    Forbidden => "forbidden",
    /// The sender is muted.
    Muted => "muted",
    /// An unmute for someone who is not muted.
    NotMuted => "not_muted",
    /// The user (or the client's address) is banned: no login until the ban ends. JSON errors
    /// with this code carry `until` when the ban has an end.
    Banned => "banned",
    /// An unban for someone who is not banned.
    NotBanned => "not_banned",

    // --- chat rooms ---
    /// A room name that is not `#` and 1 to 32 letters, digits, `-`, `_` or `.`.
    BadRoomName => "bad_room_name",
    /// No room by that name (and this join may not create it, or the request needs it to exist).
    NoSuchRoom => "no_such_room",
    /// The user is not in the room named (or, for a `say` without a room, in no room at all).
    NotInRoom => "not_in_room",
    /// The user is in as many rooms as one user may be (`chat.max_rooms_per_user`).
    TooManyRooms => "too_many_rooms",
    /// The server holds as many rooms as it may (`chat.max_rooms`): join an existing one.
    RoomLimit => "room_limit",
    /// Only admins may create rooms on this server (`chat.rooms = "admin"`).
    RoomsAdminOnly => "rooms_admin_only",

    // --- quiz ---
    /// An answer when no question is open (before the round, between problems, or a closed id).
    NoQuestion => "no_question",
    /// `/start` while a round is already running.
    RoundRunning => "round_running",
    // --- calculator ---
    /// The student ID is well-formed but not in the roster (and the roster is required).
    UnknownStudent => "unknown_student",
    /// The student ID is not 1 to 20 ASCII digits.
    InvalidStudentId => "invalid_student_id",
    /// Not a number the calculator accepts (see the number grammar in the protocol docs).
    InvalidNumber => "invalid_number",
    /// A number with more digits than the calculator's limit.
    TooLong => "too_long",
    // --- relay ---
    /// A record's payload is longer than the node accepts (`relay.max_payload_bytes`).
    PayloadTooLarge => "payload_too_large",
    /// A record's source name breaks the naming rules.
    InvalidSource => "invalid_source",
    /// A record's `(source, seq)` is stored already with a different payload; the stored record
    /// stays as it is.
    SeqConflict => "seq_conflict",
    /// A record's seq is outside `1..=2^53-1` (see [`crate::relay::SEQ_MAX`]).
    BadSeq => "bad_seq",
    /// The relay requires a device token (`auth`) before records, or the token is unknown or
    /// revoked.
    Unauthorized => "unauthorized",

    // --- the web API ---
    /// No such thing (an account, an API path).
    NotFound => "not_found",
    /// A state-changing web request without the page's own origin and request header, as a
    /// request forged by another site would be.
    CsrfRejected => "csrf_rejected",
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error message every service sends: `{"type":"error","code":...,"message":...}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorEvent {
    pub code: ErrorCode,
    /// For people, in the server's language (see `sockhub_i18n`).
    pub message: Msg,
    /// For `banned`: when the ban ends (absent: until an admin lifts it).
    #[serde(default, skip_serializing_if = "Option::is_none", with = "crate::time::ms_opt")]
    pub until: Option<crate::time::Timestamp>,
}

impl ErrorEvent {
    pub fn new(code: ErrorCode, message: impl Into<Msg>) -> Self {
        Self { code, message: message.into(), until: None }
    }

    /// `bad_request` with the usage of a command: `usage: /w name text`.
    pub fn usage(usage: &'static str) -> Self {
        Self::new(ErrorCode::BadRequest, msg!("error-usage", usage = usage))
    }

    /// `unknown_command` for a `/command` a service does not have (`command` without the `/`).
    pub fn unknown_command(command: &str) -> Self {
        Self::new(ErrorCode::UnknownCommand, msg!("error-unknown-command", command = command.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_match_serde() {
        for code in ErrorCode::ALL {
            let json = serde_json::to_string(code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            assert_eq!(serde_json::from_str::<ErrorCode>(&json).unwrap(), *code);
        }
    }
}
