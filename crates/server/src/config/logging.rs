//! `[logging]`: how the log files under `<data_dir>/logs` (`server.log`, the quiz's per-player
//! logs) rotate.

use serde::{Deserialize, Serialize};

use super::InvalidValue;
use super::section::section;

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

section! {
    /// `[logging]`: the log files under `<data_dir>/logs`. Env: `SOCKHUB_LOGGING_<KEY>`.
    #[section(logging, about = "Rotation of logs/server.log and the quiz's per-player logs.")]
    pub struct LoggingConfig {
        /// When logs/server.log and each quiz player's log start a new file: "daily", "hourly", "size"
        /// (past max_file_bytes) or "never". The old file becomes server.log.1, the one before
        /// server.log.2, ...
        pub rotation: Rotation = Rotation::Daily,
        /// With rotation = "size": a file past this many bytes is rotated (10485760 is 10 MiB).
        pub max_file_bytes: u64 = 10 * 1024 * 1024,
        /// How many files of each log are kept, the current one included; older ones are deleted at
        /// rotation.
        pub keep_files: usize = 14,
    }
}

impl LoggingConfig {
    pub(super) fn validate(&self) -> Result<(), InvalidValue> {
        if self.keep_files == 0 {
            return Err("logging.keep_files must be at least 1 (the current file)".into());
        }
        if self.rotation == Rotation::Size && self.max_file_bytes < 1024 {
            return Err("logging.max_file_bytes must be at least 1024".into());
        }
        Ok(())
    }
}
