//! The sections that keep a long-running server tidy: `[retention]` (how long old rows are kept)
//! and `[logging]` (how the log files rotate).

use serde::{Deserialize, Serialize};

use super::KeyDoc;

/// `[retention]`: how long old rows are kept. Env: `SOCKHUB_RETENTION_<KEY>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetentionConfig {
    pub chat_days: u32,
    pub logins_days: u32,
    pub quiz_days: u32,
    pub relay_days: u32,
    pub interval_secs: u64,
    pub batch_size: u32,
    pub batch_pause_ms: u64,
}

impl RetentionConfig {
    pub const DOCS: &'static [KeyDoc] = &[
        (
            "chat_days",
            "Chat lines (whispers included) older than this many days are removed; 0 = keep for ever. Default 180.",
        ),
        (
            "logins_days",
            "Login log entries older than this many days are removed; 0 = keep for ever. Default 180.",
        ),
        (
            "quiz_days",
            "Quiz answers older than this many days are removed (rounds and their leaderboards stay); 0 = keep for ever. Default 0.",
        ),
        (
            "relay_days",
            "Relay records that downstream confirmed more than this many days ago are removed; queued, held, missing and kept records, and a sink's, never are. 0 = keep for ever. Default 14.",
        ),
        (
            "interval_secs",
            "How often the server looks for old rows (the first time a minute after it starts). Default 3600.",
        ),
        (
            "batch_size",
            "Most rows removed in one transaction; a writer waits at most for one batch. Default 500.",
        ),
        ("batch_pause_ms", "Pause between two batches, so live writers get the database. Default 20."),
    ];

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

    pub(super) fn validate(&self) -> Result<(), String> {
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

impl Default for RetentionConfig {
    fn default() -> Self {
        RetentionConfig {
            chat_days: 180,
            logins_days: 180,
            quiz_days: 0,
            relay_days: 14,
            interval_secs: 3600,
            batch_size: 500,
            batch_pause_ms: 20,
        }
    }
}

/// When the log files (`logs/server.log`, the quiz's per-player logs) start a new file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rotation {
    /// Never: one file that grows.
    Never,
    /// At the first line written in a new hour (local time).
    Hourly,
    /// At the first line written on a new day (local time).
    Daily,
    /// When a file has grown past `max_file_bytes`.
    Size,
}

/// `[logging]`: the log files under `<data_dir>/logs`. Env: `SOCKHUB_LOGGING_<KEY>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LoggingConfig {
    pub rotation: Rotation,
    pub max_file_bytes: u64,
    pub keep_files: usize,
}

impl LoggingConfig {
    pub const DOCS: &'static [KeyDoc] = &[
        (
            "rotation",
            "When logs/server.log and each quiz player's log start a new file: \"daily\", \"hourly\", \"size\" (past max_file_bytes) or \"never\". The old file becomes server.log.1, the one before server.log.2, ... Default \"daily\".",
        ),
        (
            "max_file_bytes",
            "With rotation = \"size\": a file past this many bytes is rotated. Default 10485760 (10 MiB).",
        ),
        (
            "keep_files",
            "How many files of each log are kept, the current one included; older ones are deleted at rotation. Default 14.",
        ),
    ];

    pub(super) fn validate(&self) -> Result<(), String> {
        if self.keep_files == 0 {
            return Err("logging.keep_files must be at least 1 (the current file)".into());
        }
        if self.rotation == Rotation::Size && self.max_file_bytes < 1024 {
            return Err("logging.max_file_bytes must be at least 1024".into());
        }
        Ok(())
    }
}

impl Default for LoggingConfig {
    fn default() -> Self {
        LoggingConfig { rotation: Rotation::Daily, max_file_bytes: 10 * 1024 * 1024, keep_files: 14 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load;

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
