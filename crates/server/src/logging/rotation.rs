//! Log rotation, for `logs/server.log` and the quiz's per-player logs (`[logging]`).
//!
//! The `file-rotate` crate does the work: at a rotation the current file becomes `NAME.1`, the
//! previous `NAME.1` becomes `NAME.2`, and so on; files beyond `keep_files` (the current one
//! included) are deleted. The current file always keeps its plain name, so `tail -F
//! logs/server.log` and anything reading it carry on across a rotation.
//!
//! - `server.log` is written through one [`FileRotate`] ([`RotationPolicy::writer`]), which
//!   rotates by itself when a write finds the day (or hour) changed or the size limit passed.
//! - The quiz's player logs are opened, appended to and closed once per batch, so that a server
//!   with a thousand players holds at most one log file open. Before appending, the writer asks
//!   [`RotationPolicy::due`] (one `stat`), and only when a rotation is due builds a
//!   [`FileRotate`] for that file to rotate it ([`RotationPolicy::rotate`]).

use std::path::Path;

use chrono::{DateTime, Local, Timelike};
use file_rotate::compression::Compression;
use file_rotate::suffix::AppendCount;
use file_rotate::{ContentLimit, FileRotate, TimeFrequency};

use crate::config::{LoggingConfig, Rotation};

/// When a log file rotates and how many files of it are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RotationPolicy {
    pub rotation: Rotation,
    /// With [`Rotation::Size`]: a file past this many bytes is rotated.
    pub max_bytes: u64,
    /// Files kept, the current one included (at least 1).
    pub keep_files: usize,
}

impl From<&LoggingConfig> for RotationPolicy {
    fn from(c: &LoggingConfig) -> Self {
        RotationPolicy { rotation: c.rotation, max_bytes: c.max_file_bytes, keep_files: c.keep_files.max(1) }
    }
}

impl Default for RotationPolicy {
    fn default() -> Self {
        RotationPolicy::from(&LoggingConfig::default())
    }
}

impl RotationPolicy {
    fn limit(&self) -> ContentLimit {
        match self.rotation {
            Rotation::Never => ContentLimit::None,
            Rotation::Hourly => ContentLimit::Time(TimeFrequency::Hourly),
            Rotation::Daily => ContentLimit::Time(TimeFrequency::Daily),
            // Rotated after the write that passes the limit: a line is never split in two files.
            Rotation::Size => {
                ContentLimit::BytesSurpassed(usize::try_from(self.max_bytes.max(1)).unwrap_or(usize::MAX))
            }
        }
    }

    fn open(&self, path: &Path) -> std::io::Result<FileRotate<AppendCount>> {
        // file-rotate panics when it cannot create or list the folder: make sure it can first.
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)?;
        std::fs::read_dir(dir)?;
        let keep = AppendCount::new(self.keep_files.max(1) - 1);
        std::panic::catch_unwind(|| FileRotate::new(path, keep, self.limit(), Compression::None, None))
            .map_err(|_| std::io::Error::other(format!("cannot open {} for rotation", path.display())))
    }

    /// A writer that appends to `path` and rotates it by itself.
    pub fn writer(&self, path: &Path) -> std::io::Result<FileRotate<AppendCount>> {
        self.open(path)
    }

    /// Whether `path` should be rotated before more is appended: it is past the size limit, or
    /// it was last written in an earlier day (hour) than `now`. A file that does not exist is
    /// never due.
    pub fn due(&self, path: &Path, now: DateTime<Local>) -> bool {
        let Ok(meta) = std::fs::metadata(path) else { return false };
        let modified = || meta.modified().ok().map(DateTime::<Local>::from);
        match self.rotation {
            Rotation::Never => false,
            Rotation::Size => meta.len() > self.max_bytes,
            Rotation::Daily => modified().is_some_and(|m| m.date_naive() < now.date_naive()),
            Rotation::Hourly => {
                modified().is_some_and(|m| (m.date_naive(), m.hour()) < (now.date_naive(), now.hour()))
            }
        }
    }

    /// Rotates `path` now (see the module documentation for the names).
    pub fn rotate(&self, path: &Path) -> std::io::Result<()> {
        let mut f = self.open(path)?;
        f.rotate()
    }

    /// [`Self::due`] then [`Self::rotate`], for a writer that opens the file per batch.
    pub fn rotate_if_due(&self, path: &Path) -> std::io::Result<bool> {
        if self.due(path, Local::now()) {
            self.rotate(path)?;
            return Ok(true);
        }
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn files(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn size_rotation_keeps_at_most_keep_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("server.log");
        let policy = RotationPolicy { rotation: Rotation::Size, max_bytes: 100, keep_files: 3 };
        let mut w = policy.writer(&path).unwrap();
        for i in 0..100 {
            writeln!(w, "line {i:03} of a log that grows past its limit").unwrap();
        }
        w.flush().unwrap();
        assert_eq!(files(dir.path()), ["server.log", "server.log.1", "server.log.2"]);
        let newest = std::fs::read_to_string(&path).unwrap();
        assert!(newest.contains("line 099"), "{newest}");
        let older = std::fs::read_to_string(dir.path().join("server.log.1")).unwrap();
        assert!(older.lines().all(|l| l.starts_with("line ")), "whole lines only: {older}");
    }

    #[test]
    fn a_file_from_yesterday_is_due_for_daily_rotation() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.log");
        let policy = RotationPolicy { rotation: Rotation::Daily, max_bytes: 0, keep_files: 2 };
        assert!(!policy.due(&path, Local::now()), "no file, nothing to rotate");
        std::fs::write(&path, "x\n").unwrap();
        assert!(!policy.due(&path, Local::now()));
        let tomorrow = Local::now() + chrono::Duration::days(1);
        assert!(policy.due(&path, tomorrow));
        for _ in 0..3 {
            policy.rotate(&path).unwrap();
            std::fs::write(&path, "y\n").unwrap();
        }
        assert_eq!(files(dir.path()), ["p.log", "p.log.1"]);
    }
}
