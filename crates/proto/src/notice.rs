//! Messages every service can send, whatever its own protocol: an error, a final "bye", or an
//! informational line. The connection layer uses these for problems it detects before a line
//! reaches a service (line too long, bad JSON, rate limited, too slow, shutting down).
//!
//! They share their JSON shape with each service's own `error` and `bye` events, so a client
//! that decodes lines as its service's event type understands them too.

use serde::{Deserialize, Serialize};
use sockhub_i18n::{Msg, t};

use crate::error::{ErrorCode, ErrorEvent};
use crate::wire::{Wire, json_line, text_line};

/// A service-independent server message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Notice {
    /// `{"type":"error","code":"...","message":"..."}` — the request failed, the session goes on.
    Error(ErrorEvent),
    /// `{"type":"bye","reason":"..."}` — the last line before the server closes the connection.
    Bye { reason: Msg },
    /// `{"type":"info","text":"..."}` — something the user should know.
    Info { text: Msg },
}

impl Notice {
    pub fn error(code: ErrorCode, message: impl Into<Msg>) -> Self {
        Notice::Error(ErrorEvent::new(code, message))
    }

    pub fn info(text: impl Into<Msg>) -> Self {
        Notice::Info { text: text.into() }
    }
}

/// Text mode: `! code: message` (the code stays in English: programs match on it).
pub fn error_text(e: &ErrorEvent) -> String {
    t!("common-error", code = e.code.as_str(), message = e.message.to_string())
}

/// Text mode: `* bye: reason`.
pub fn bye_text(reason: &Msg) -> String {
    t!("common-bye", reason = reason.to_string())
}

impl Wire for Notice {
    fn write_json(&self, out: &mut Vec<u8>) {
        json_line(self, out)
    }

    fn write_text(&self, out: &mut Vec<u8>) {
        let line = match self {
            Notice::Error(e) => error_text(e),
            Notice::Bye { reason } => bye_text(reason),
            Notice::Info { text } => t!("common-info", text = text.to_string()),
        };
        text_line(out, line);
    }
}
