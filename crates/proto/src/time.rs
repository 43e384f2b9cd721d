//! Timestamps on the wire and in logs.
//!
//! The wire carries UTC instants as RFC 3339 with milliseconds (`2026-11-21T06:11:48.123Z`);
//! logs and text mode show the server's local time as `2026-11-21 15:11:48`, the format the
//! original projects used.

use chrono::{DateTime, Local, SecondsFormat, Utc};

/// An instant on the wire.
pub type Timestamp = DateTime<Utc>;

/// Now, in UTC.
pub fn now() -> Timestamp {
    Utc::now()
}

/// Now, as milliseconds since the Unix epoch (the unit the database and the relay count in).
pub fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

/// `2026-11-21T06:11:48.123Z`.
pub fn rfc3339_ms(t: &Timestamp) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// `2026-11-21 15:11:48` in the server's local time zone.
pub fn log_format(t: &Timestamp) -> String {
    t.with_timezone(&Local).format("%Y-%m-%d %H:%M:%S").to_string()
}

/// `15:11:48` in the server's local time zone.
pub fn clock(t: &Timestamp) -> String {
    t.with_timezone(&Local).format("%H:%M:%S").to_string()
}

/// `15:11:48.123` in the server's local time zone.
pub fn clock_ms(t: &Timestamp) -> String {
    t.with_timezone(&Local).format("%H:%M:%S%.3f").to_string()
}

/// Serde adapter: RFC 3339 with milliseconds, `Z` for UTC.
pub mod ms {
    use super::Timestamp;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::rfc3339_ms(t))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        chrono::DateTime::parse_from_rfc3339(&s)
            .map(|t| t.with_timezone(&chrono::Utc))
            .map_err(serde::de::Error::custom)
    }
}

/// Serde adapter for `Option<Timestamp>`, same format as [`ms`].
pub mod ms_opt {
    use super::Timestamp;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_some(&super::rfc3339_ms(t)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Timestamp>, D::Error> {
        let s = Option::<std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.map(|s| {
            chrono::DateTime::parse_from_rfc3339(&s)
                .map(|t| t.with_timezone(&chrono::Utc))
                .map_err(serde::de::Error::custom)
        })
        .transpose()
    }
}
