//! What a line of text shown to other people may carry.
//!
//! Chat lines, whispers, names, quiz answers and calculator input reach other people's terminals
//! and browsers. A raw line feed inside a JSON `say` would show up in an `nc` user's terminal as a
//! second, forged line (`[teacher] send me your password`); an ESC sequence would clear their
//! screen or recolour it; a right-to-left override would make `txt.exe` read as `exe.txt`. So
//! every transport checks text here, once, at the edge, and the services and the database only
//! ever see checked values.
//!
//! Refused ([`forbidden`]): the C0 controls except TAB (that includes CR, LF and ESC), DEL, the
//! C1 controls (U+0080–U+009F), the line and paragraph separators U+2028/U+2029 (some terminals
//! and every JavaScript `split` treat them as line breaks), and the Unicode bidi embeddings,
//! overrides and isolates (U+202A–U+202E, U+2066–U+2069). Everything else — Hangul, emoji, TAB —
//! is text.
//!
//! What cannot be refused (a relay payload is stored as the device sent it, a log row was written
//! long ago) is shown through [`escape`], which spells each such character as a visible escape
//! (`\n`, `\x1b`, `\u{202e}`): tables, CSV cells and the web page show those, never the raw
//! character.

use std::borrow::Cow;
use std::fmt::Write as _;

use sockhub_i18n::{Msg, msg};

use crate::error::{ErrorCode, ErrorEvent};

/// Whether `c` may not appear in text shown to other people. See the module documentation.
pub fn forbidden(c: char) -> bool {
    match c {
        '\t' => false,
        '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}' => true,
        '\u{2028}' | '\u{2029}' => true,
        '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => true,
        _ => false,
    }
}

/// The first forbidden character of a text and where it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Forbidden {
    /// The character.
    pub ch: char,
    /// Its position, in characters from the start (0-based).
    pub at: usize,
}

impl Forbidden {
    /// A human description: `a line break (\n) at character 3`.
    pub fn describe(&self) -> Msg {
        let (ch, at) = (escape_char(self.ch), self.at + 1);
        match self.ch {
            '\n' | '\r' | '\u{2028}' | '\u{2029}' => msg!("text-line-break", ch = ch, at = at),
            '\u{1b}' => msg!("text-escape", ch = ch, at = at),
            '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => msg!("text-bidi", ch = ch, at = at),
            _ => msg!("text-control", ch = ch, at = at),
        }
    }
}

/// Check that `s` is text: `Err` names the first forbidden character.
pub fn check(s: &str) -> Result<(), Forbidden> {
    match s.chars().enumerate().find(|&(_, c)| forbidden(c)) {
        Some((at, ch)) => Err(Forbidden { ch, at }),
        None => Ok(()),
    }
}

/// [`check`] as the protocol's error: `invalid_text`, naming `what` (`message`, `reason`) and
/// the first offending character.
pub fn require(what: &str, s: &str) -> Result<(), ErrorEvent> {
    check(s).map_err(|bad| {
        let what = match what {
            "message" => msg!("text-what-message"),
            "reason" => msg!("text-what-reason"),
            "name" => msg!("text-what-name"),
            "answer" => msg!("text-what-answer"),
            other => Msg::from(other.to_owned()),
        };
        ErrorEvent::new(
            ErrorCode::InvalidText,
            msg!("error-invalid-text", what = what, found = bad.describe()),
        )
    })
}

/// `s` with every forbidden character spelled as a visible escape; borrowed when there is none.
pub fn escape(s: &str) -> Cow<'_, str> {
    if !s.chars().any(forbidden) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if forbidden(c) {
            out.push_str(&escape_char(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// One character as an escape: `\n`, `\r`, `\x1b`, `\u{202e}`.
fn escape_char(c: char) -> String {
    match c {
        '\n' => "\\n".into(),
        '\r' => "\\r".into(),
        c if (c as u32) < 0x100 => format!("\\x{:02x}", c as u32),
        c => {
            let mut s = String::new();
            let _ = write!(s, "\\u{{{:x}}}", c as u32);
            s
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn what_is_refused() {
        for bad in [
            "hi\n[teacher] send me your password",
            "a\rb",
            "\u{1b}[2J",
            "\u{0}",
            "\u{7f}",
            "\u{85}next line",
            "\u{9b}2J",
            "exe.\u{202e}txt",
            "\u{2066}isolate",
            "line\u{2028}sep",
        ] {
            assert!(check(bad).is_err(), "{bad:?}");
        }
        for ok in ["hello", "안녕하세요 👋", "tab\there", "x = (1+2)*3", "\u{200d}", "mixed عربي text"]
        {
            assert_eq!(check(ok), Ok(()), "{ok:?}");
        }
    }

    #[test]
    fn describes_the_first_offender() {
        let e = check("ab\ncd\x1b").unwrap_err();
        assert_eq!(e, Forbidden { ch: '\n', at: 2 });
        assert_eq!(e.describe(), "a line break (\\n) at character 3");
        assert!(
            check("x\u{202e}")
                .unwrap_err()
                .describe()
                .to_string()
                .starts_with("a bidirectional override (\\u{202e})")
        );
    }

    #[test]
    fn escapes_are_visible_and_lossless_for_text() {
        assert!(matches!(escape("plain 한글"), Cow::Borrowed(_)));
        assert_eq!(escape("a\nb\u{1b}[2J\u{202e}"), "a\\nb\\x1b[2J\\u{202e}");
    }

    proptest! {
        #[test]
        fn escaped_text_always_passes(s in any::<String>()) {
            let escaped = escape(&s);
            prop_assert_eq!(check(&escaped), Ok(()));
            if check(&s).is_ok() {
                prop_assert_eq!(escaped.as_ref(), s.as_str());
            }
        }
    }
}
