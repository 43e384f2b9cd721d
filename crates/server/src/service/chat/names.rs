//! The rules for user names.
//!
//! A name is 1–32 characters (Unicode scalar values, so `김민수` is three), with no whitespace
//! and no control characters, and it may not start with `/` (a text-mode user could not type it
//! as a name). Names are unique case-insensitively: [`key`] is what uniqueness compares.

use sockhub_proto::ErrorCode;
use sockhub_proto::error::ErrorEvent;

/// The longest name, in characters.
pub const MAX_NAME_CHARS: usize = 32;

/// Check a proposed name.
pub fn validate(name: &str) -> Result<(), ErrorEvent> {
    let invalid = |why: &str| Err(ErrorEvent::new(ErrorCode::InvalidName, format!("invalid name: {why}")));
    let chars = name.chars().count();
    if chars == 0 {
        return invalid("a name needs at least one character");
    }
    if chars > MAX_NAME_CHARS {
        return invalid(&format!("at most {MAX_NAME_CHARS} characters (this one has {chars})"));
    }
    if name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return invalid("no spaces or control characters");
    }
    if name.starts_with('/') {
        return invalid("a name cannot start with /");
    }
    Ok(())
}

/// The form of a name that uniqueness compares: NFC, then lowercase — the same key the database
/// uses for accounts, so "online" and "registered" agree on what the same name is.
pub fn key(name: &str) -> String {
    sockhub_store::name_key(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules() {
        for ok in ["alice", "김민수", "a", &"x".repeat(32), "Bob_99", "ÉLODIE"] {
            assert!(validate(ok).is_ok(), "{ok}");
        }
        for bad in
            ["", "a b", "tab\there", "bell\u{7}", &"x".repeat(33), "/quit", "\u{3000}ideographic-space"]
        {
            assert_eq!(validate(bad).unwrap_err().code, ErrorCode::InvalidName, "{bad:?}");
        }
        assert_eq!(key("Alice"), key("aLICE"));
        assert_eq!(key("ÉLODIE"), "élodie");
    }
}
