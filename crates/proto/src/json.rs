//! Decoding one JSON-mode request line, with an error that says what was wrong.
//!
//! A line is tried against the service's request enum first (the fast path). Only when that fails
//! is it looked at again to classify the failure: not JSON at all (`bad_json`), no `type`
//! (`bad_request`), a `type` the service does not know (`unknown_command`), or a known type with
//! bad fields (`bad_request`, with serde's description of the field).

use serde::de::DeserializeOwned;
use sockhub_i18n::msg;

use crate::error::{ErrorCode, ErrorEvent};

/// A request enum that is tagged by `"type"` and can list its tags.
pub trait Request: DeserializeOwned {
    /// Every `type` this service accepts, for the `unknown_command` message.
    const TYPES: &'static [&'static str];
}

/// Decode `line` as a request of type `R`.
pub fn decode<R: Request>(line: &str) -> Result<R, ErrorEvent> {
    let err = match serde_json::from_str::<R>(line) {
        Ok(req) => return Ok(req),
        Err(e) => e,
    };
    let value: serde_json::Value = match serde_json::from_str(line) {
        Ok(v) => v,
        Err(e) => {
            return Err(ErrorEvent::new(ErrorCode::BadJson, msg!("json-invalid", detail = e.to_string())));
        }
    };
    let Some(object) = value.as_object() else {
        return Err(ErrorEvent::new(ErrorCode::BadJson, msg!("json-not-an-object")));
    };
    match object.get("type").and_then(|t| t.as_str()) {
        None => Err(ErrorEvent::new(ErrorCode::BadRequest, msg!("json-missing-type"))),
        Some(t) if !R::TYPES.contains(&t) => Err(ErrorEvent::new(
            ErrorCode::UnknownCommand,
            msg!("json-unknown-type", type_name = t, accepted = R::TYPES.join(", ")),
        )),
        Some(t) => Err(ErrorEvent::new(
            ErrorCode::BadRequest,
            msg!("json-bad-request", type_name = t, detail = err.to_string()),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(tag = "type", rename_all = "snake_case")]
    enum Req {
        Say { text: String },
        Who,
    }
    impl Request for Req {
        const TYPES: &'static [&'static str] = &["say", "who"];
    }

    fn code(line: &str) -> ErrorCode {
        decode::<Req>(line).unwrap_err().code
    }

    #[test]
    fn classifies_failures() {
        assert_eq!(decode::<Req>(r#"{"type":"say","text":"hi"}"#).unwrap(), Req::Say { text: "hi".into() });
        assert_eq!(decode::<Req>(r#"{"type":"who","extra":1}"#).unwrap(), Req::Who);
        assert_eq!(code("{nope"), ErrorCode::BadJson);
        assert_eq!(code("[1,2]"), ErrorCode::BadJson);
        assert_eq!(code(r#"{"text":"hi"}"#), ErrorCode::BadRequest);
        assert_eq!(code(r#"{"type":"dance"}"#), ErrorCode::UnknownCommand);
        assert_eq!(code(r#"{"type":"say"}"#), ErrorCode::BadRequest);
        assert_eq!(code(r#"{"type":"say","text":5}"#), ErrorCode::BadRequest);
    }
}
