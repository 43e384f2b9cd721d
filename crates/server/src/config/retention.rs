//! `[retention]`: how long old rows are kept; a background task removes older ones in small
//! batches.

use super::InvalidValue;
use super::section::section;

section! {
    /// `[retention]`: how long old rows are kept. Env: `SOCKHUB_RETENTION_<KEY>`.
    #[section(retention, about = "How long old rows are kept: a background task removes older ones in small batches.")]
    pub struct RetentionConfig {
        /// Chat lines (whispers included) older than this many days are removed; 0 = keep for ever.
        pub chat_days: u32 = 180,
        /// Login log entries older than this many days are removed; 0 = keep for ever.
        pub logins_days: u32 = 180,
        /// Quiz answers older than this many days are removed (rounds and their leaderboards stay); 0 =
        /// keep for ever.
        pub quiz_days: u32 = 0,
        /// Relay records that downstream confirmed more than this many days ago are removed; queued,
        /// held, missing and kept records, and a sink's, never are. 0 = keep for ever.
        pub relay_days: u32 = 14,
        /// How often the server looks for old rows (the first time a minute after it starts).
        pub interval_secs: u64 = 3600,
        /// Most rows removed in one transaction; a writer waits at most for one batch.
        pub batch_size: u32 = 500,
        /// Pause between two batches, so live writers get the database.
        pub batch_pause_ms: u64 = 20,
    }
}

impl RetentionConfig {
    /// The days kept for `kind` (0 = for ever).
    pub fn days(&self, kind: sockhub_store::RetentionKind) -> u32 {
        use sockhub_store::RetentionKind as K;
        match kind {
            K::Chat => self.chat_days,
            K::Logins => self.logins_days,
            K::Quiz => self.quiz_days,
            K::Relay => self.relay_days,
        }
    }

    /// Whether any kind has a limit.
    pub fn enabled(&self) -> bool {
        sockhub_store::RetentionKind::ALL.iter().any(|k| self.days(*k) > 0)
    }

    pub(super) fn validate(&self) -> Result<(), InvalidValue> {
        if self.interval_secs == 0 || self.batch_size == 0 {
            return Err("retention.interval_secs and retention.batch_size must be at least 1".into());
        }
        // Far beyond any use, and keeps `days * 86 400 000` well inside an i64.
        if sockhub_store::RetentionKind::ALL.iter().any(|k| self.days(*k) > 100_000) {
            return Err("retention days must be at most 100000 (0 keeps for ever)".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Rotation, load};

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn retention_and_logging_are_set_from_the_environment_and_checked() {
        let c = load(
            None,
            env(&[
                ("SOCKHUB_RETENTION_CHAT_DAYS", "30"),
                ("SOCKHUB_RETENTION_RELAY_DAYS", "0"),
                ("SOCKHUB_LOGGING_ROTATION", "size"),
                ("SOCKHUB_LOGGING_KEEP_FILES", "3"),
            ]),
            &[],
        )
        .unwrap();
        assert_eq!((c.retention.chat_days, c.retention.relay_days), (30, 0));
        assert_eq!((c.logging.rotation, c.logging.keep_files), (Rotation::Size, 3));
        assert!(c.retention.enabled());
        let off = RetentionConfig {
            chat_days: 0,
            logins_days: 0,
            quiz_days: 0,
            relay_days: 0,
            ..Default::default()
        };
        assert!(!off.enabled(), "all zero: the task does not run");

        for (var, value, says) in [
            ("SOCKHUB_LOGGING_KEEP_FILES", "0", "keep_files"),
            ("SOCKHUB_LOGGING_ROTATION", "weekly", "unknown variant"),
            ("SOCKHUB_RETENTION_BATCH_SIZE", "0", "batch_size"),
            ("SOCKHUB_RETENTION_CHAT_DAYS", "-1", "chat_days"),
            ("SOCKHUB_RETENTION_QUIZ_DAYS", "1000000", "at most 100000"),
        ] {
            let e = load(None, env(&[(var, value)]), &[]).unwrap_err().to_string();
            assert!(e.contains(says), "{var}={value}: {e}");
        }
    }
}
