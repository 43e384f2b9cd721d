//! Bans on the wire: how long a ban lasts (`30m`, `2h`, `7d`), and the `banned` error a banned
//! user gets at login, with the time left in the message and, in JSON, the end in `until`.

use std::time::Duration;

use sockhub_i18n::msg;

use crate::error::{ErrorCode, ErrorEvent};
use crate::time::{self, Timestamp};

/// The longest ban with an end (ten years); a longer one is a ban until lifted.
pub const MAX_BAN: Duration = Duration::from_secs(3650 * 24 * 3600);

/// Read a ban's length: a number and a unit, `s`, `m`, `h`, `d` or `w` (`90s`, `30m`, `2h`,
/// `7d`), or several (`1h 30m`), as `humantime` reads them. More than 0 and at most [`MAX_BAN`].
pub fn parse_duration(s: &str) -> Result<Duration, ErrorEvent> {
    let d = humantime::parse_duration(s.trim()).map_err(|e| {
        let text = crate::text::escape(s).to_string();
        ErrorEvent::new(ErrorCode::BadRequest, msg!("error-bad-duration", text = text, error = e.to_string()))
    })?;
    if d.is_zero() || d > MAX_BAN {
        return Err(ErrorEvent::new(ErrorCode::BadRequest, msg!("error-ban-duration-range")));
    }
    Ok(d)
}

/// Whether a word reads as a ban's length (so `/ban bob 2h spam` is not a reason "2h spam").
pub fn is_duration(word: &str) -> bool {
    word.starts_with(|c: char| c.is_ascii_digit()) && humantime::parse_duration(word).is_ok()
}

/// The time from `now` to `until`, for people: `45s`, `1h 59m`, `6days 23h 59m`. Rounded up to
/// the second under a minute and to the minute above, so "1m" never means "a few seconds".
pub fn time_left(until: Timestamp, now: Timestamp) -> String {
    let ms = (until - now).num_milliseconds().max(0) as u64;
    let secs = ms.div_ceil(1000).max(1);
    let shown = if secs < 60 { secs } else { secs.div_ceil(60) * 60 };
    humantime::format_duration(Duration::from_secs(shown)).to_string()
}

/// The `banned` error for a login refused at `now` by a ban that ends at `until` (`None`: until
/// lifted), with its `reason` if it has one. `address` says the ban was found by address.
pub fn banned_error(
    until: Option<Timestamp>,
    reason: Option<&str>,
    address: bool,
    now: Timestamp,
) -> ErrorEvent {
    let why = reason.map(|r| format!(": {r}")).unwrap_or_default();
    let message = match (until, address) {
        (Some(t), false) => {
            msg!("error-banned-you-until", left = time_left(t, now), until = time::log_format(&t), why = why)
        }
        (Some(t), true) => {
            msg!(
                "error-banned-address-until",
                left = time_left(t, now),
                until = time::log_format(&t),
                why = why
            )
        }
        (None, false) => msg!("error-banned-you", why = why),
        (None, true) => msg!("error-banned-address", why = why),
    };
    let mut e = ErrorEvent::new(ErrorCode::Banned, message);
    e.until = until;
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30m").unwrap(), Duration::from_secs(1800));
        assert_eq!(parse_duration("2h").unwrap(), Duration::from_secs(7200));
        assert_eq!(parse_duration("7d").unwrap(), Duration::from_secs(7 * 86400));
        assert_eq!(parse_duration("1h 30m").unwrap(), Duration::from_secs(5400));
        for bad in ["", "0s", "soon", "-3h", "4000d", "2x"] {
            assert_eq!(parse_duration(bad).unwrap_err().code, ErrorCode::BadRequest, "{bad}");
        }
        assert!(is_duration("2h") && is_duration("90s"));
        assert!(!is_duration("spam") && !is_duration("h2") && !is_duration("2"));
    }

    #[test]
    fn time_left_rounds_up() {
        let now = time::now();
        let at = |ms| now + chrono::Duration::milliseconds(ms);
        assert_eq!(time_left(at(1), now), "1s");
        assert_eq!(time_left(at(44_200), now), "45s");
        assert_eq!(time_left(at(60_000), now), "1m");
        assert_eq!(time_left(at(7_199_000), now), "2h");
        assert_eq!(time_left(at(7_100_000), now), "1h 59m");
        assert_eq!(time_left(at(-5), now), "1s");
    }

    #[test]
    fn the_error_carries_the_end_and_the_time_left() {
        let now = time::now();
        let until = now + chrono::Duration::minutes(90);
        let e = banned_error(Some(until), Some("spam"), false, now);
        assert_eq!(e.code, ErrorCode::Banned);
        assert!(e.message.starts_with("you are banned for 1h 30m more (until "), "{}", e.message);
        assert!(e.message.to_string().ends_with("): spam"), "{}", e.message);
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["until"], time::rfc3339_ms(&until));
        let e = banned_error(None, None, true, now);
        assert_eq!(e.message, "this address is banned until an admin lifts the ban");
        assert!(serde_json::to_value(&e).unwrap().get("until").is_none());
    }
}
