//! Every rule about user names and passwords, in one place.
//!
//! Chat, the quiz, the web page and `sockhub user` all call these, so an account that
//! `sockhub user add` creates is one that every service lets log in, and a name refused in one
//! place is refused everywhere.
//!
//! A name is 1–32 characters (Unicode scalar values, so `김민수` is three), with no whitespace, no
//! control characters and no invisible ones (zero-width joiners and spaces, bidi marks and
//! overrides, the Hangul filler `ㅤ` and the rest of Unicode's default-ignorable code points, which
//! would let two different names look identical), and it may not start with `/` (a text-mode user
//! could not type it as a name). Names that *look* alike count as the same name: [`key`] is the
//! confusable skeleton (Unicode UTS #39) of the lowercased name, so `teacher`, `TEACHER`,
//! `tеacher` (Cyrillic `е`) and fullwidth `ｔｅａｃｈｅｒ` cannot be online at once, and a login as
//! any of them is a login to the account `teacher` if there is one.
//!
//! A password is [`PasswordPolicy::min_chars`] to [`MAX_PASSWORD_BYTES`] long. The upper bound
//! keeps one login from costing more hashing than any other.

use sockhub_i18n::{Msg, msg};
use sockhub_proto::ErrorCode;
use sockhub_proto::error::ErrorEvent;
use unicode_security::GeneralSecurityProfile;
use unicode_security::general_security_profile::IdentifierType;

/// The longest name, in characters.
pub const MAX_NAME_CHARS: usize = 32;

/// The longest password, in bytes.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// Check a proposed name.
pub fn validate(name: &str) -> Result<(), ErrorEvent> {
    let invalid = |why: Msg| Err(ErrorEvent::new(ErrorCode::InvalidName, msg!("name-invalid", why = why)));
    let chars = name.chars().count();
    if chars == 0 {
        return invalid(msg!("name-empty"));
    }
    if chars > MAX_NAME_CHARS {
        return invalid(msg!("name-too-long", max = MAX_NAME_CHARS, chars = chars));
    }
    if name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return invalid(msg!("name-spaces"));
    }
    if let Some(c) = name.chars().find(|&c| invisible(c)) {
        return invalid(msg!("name-invisible", code = format!("U+{:04X}", c as u32)));
    }
    if name.starts_with('/') {
        return invalid(msg!("name-slash"));
    }
    Ok(())
}

/// Characters that render as nothing or change how their neighbours render.
fn invisible(c: char) -> bool {
    sockhub_proto::text::forbidden(c)
        || matches!(
            c.identifier_type(),
            Some(IdentifierType::Default_Ignorable | IdentifierType::Not_Character)
        )
}

/// The form of a name that uniqueness compares: its confusable skeleton (see the module
/// documentation). The database uses the same function for account look-alikes and for name
/// claims across nodes, so "online" and "registered" agree on what the same name is.
pub fn key(name: &str) -> String {
    sockhub_store::name_skeleton(name)
}

/// The password rules, from `[auth]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordPolicy {
    /// The shortest password accepted for a new account or a new password, in characters.
    pub min_chars: usize,
}

impl From<&crate::config::AuthConfig> for PasswordPolicy {
    fn from(c: &crate::config::AuthConfig) -> Self {
        PasswordPolicy { min_chars: c.min_password_chars }
    }
}

impl PasswordPolicy {
    /// Check a new password (at account creation or a password change). Logins are not
    /// checked against the policy: an older, shorter password still logs in until changed.
    pub fn validate(&self, password: &str) -> Result<(), BadPassword> {
        let chars = password.chars().count();
        if chars < self.min_chars {
            return Err(BadPassword::TooShort { min: self.min_chars, chars });
        }
        if password.len() > MAX_PASSWORD_BYTES {
            return Err(BadPassword::TooLong);
        }
        if password.chars().any(char::is_control) {
            return Err(BadPassword::ControlCharacter);
        }
        Ok(())
    }
}

/// Why [`PasswordPolicy::validate`] refuses a new password.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BadPassword {
    #[error("a password needs at least {min} characters (this one has {chars})")]
    TooShort { min: usize, chars: usize },
    #[error("a password may be at most {max} bytes", max = MAX_PASSWORD_BYTES)]
    TooLong,
    #[error("a password cannot contain control characters")]
    ControlCharacter,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules() {
        for ok in ["alice", "김민수", "a", &"x".repeat(32), "Bob_99", "ÉLODIE"] {
            assert!(validate(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "a b",
            "tab\there",
            "bell\u{7}",
            &"x".repeat(33),
            "/quit",
            "\u{3000}ideographic-space",
            "zero\u{200b}width",
            "join\u{200d}er",
            "rtl\u{202e}evil",
            "mark\u{200f}",
            "\u{3164}",
            "soft\u{ad}hyphen",
            "bom\u{feff}",
        ] {
            assert_eq!(validate(bad).unwrap_err().code, ErrorCode::InvalidName, "{bad:?}");
        }
    }

    #[test]
    fn look_alikes_share_a_key() {
        assert_eq!(key("Alice"), key("aLICE"));
        for alike in ["tеacher", "TEACHER", "ｔｅａｃｈｅｒ", "teacheｒ"] {
            assert_eq!(key(alike), key("teacher"), "{alike}");
        }
        assert_ne!(key("teacher"), key("teacher2"));
        assert_ne!(key("김민수"), key("김민주"));
        // NFC and conjoining jamo are the same Hangul name.
        assert_eq!(key("한"), key("\u{1112}\u{1161}\u{11ab}"));
    }

    #[test]
    fn passwords() {
        let policy = PasswordPolicy { min_chars: 8 };
        assert!(policy.validate("correct horse").is_ok());
        assert!(policy.validate("비밀번호비밀번호").is_ok());
        assert!(policy.validate("short").is_err());
        assert!(policy.validate(&"x".repeat(MAX_PASSWORD_BYTES + 1)).is_err());
        assert!(policy.validate("tab\tin\npassword").is_err());
    }
}
