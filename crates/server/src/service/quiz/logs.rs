//! One log file per player, under `<data_dir>/logs/quiz/`, written without one open file per
//! player.
//!
//! Sessions hand lines to [`PlayerLogs::write`], which never blocks: the line goes into a bounded
//! queue drained by one writer thread. The thread takes everything queued (up to a batch),
//! groups it by file, and for each file opens it in append mode, writes its lines in one call and
//! closes it. So however many players there are, the process holds at most one log file open, a
//! busy player costs one open per batch rather than per line, and a slow disk delays only the
//! log, never a verdict. If the queue is full (the disk cannot keep up), the line is not queued:
//! it is counted, and the count is reported in the server log, so nothing is lost silently.
//!
//! Each file rotates as `[logging]` says: before appending, the writer checks whether the file
//! is due (a `stat`: size, or last written on an earlier day) and rotates it first
//! (`logging/rotation.rs`; `NAME.log` becomes `NAME.log.1`, and files beyond `keep_files` go).
//!
//! File names come from [`file_name`]: the player's name key reduced to letters, digits, `-` and
//! `_`, cut to a readable length, plus a hash of the whole key. A name cannot climb out of the
//! folder (`../../etc/passwd` becomes `______etc_passwd-<hash>.log`), device names such as `CON`
//! are never a whole file name, and two names that reduce alike still get different files.

use std::collections::HashMap;
use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use sockhub_proto::time::{Timestamp, log_format};
use tokio::sync::{mpsc, oneshot};
use tracing::{error, warn};

use crate::logging::rotation::RotationPolicy;

/// Lines written per batch at most (one open per file per batch).
const MAX_BATCH: usize = 4096;
/// Characters of the name kept in a file name.
const READABLE_CHARS: usize = 40;

enum Msg {
    Line { file: Arc<str>, line: String },
    Flush(oneshot::Sender<()>),
}

/// The per-player log writer.
pub struct PlayerLogs {
    dir: PathBuf,
    tx: mpsc::Sender<Msg>,
    dropped: Arc<AtomicU64>,
}

impl PlayerLogs {
    /// Start the writer thread for files in `dir` (created if missing), with room for `capacity`
    /// waiting lines.
    pub fn start(dir: PathBuf, capacity: usize, rotation: RotationPolicy) -> std::io::Result<PlayerLogs> {
        std::fs::create_dir_all(&dir)?;
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let thread_dir = dir.clone();
        std::thread::Builder::new()
            .name("quiz-player-logs".into())
            .spawn(move || write_loop(&thread_dir, rx, rotation))?;
        Ok(PlayerLogs { dir, tx, dropped: Arc::default() })
    }

    /// The folder the files are in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Queue `2026-11-21 15:11:48 [INFO]: message` for `file`. Never waits.
    pub fn write(&self, file: &Arc<str>, at: Timestamp, level: &str, message: &str) {
        let line = format!("{} [{level}]: {message}\n", log_format(&at));
        if self.tx.try_send(Msg::Line { file: Arc::clone(file), line }).is_err() {
            let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if n.is_power_of_two() {
                warn!(dropped = n, "player log queue is full: lines could not be written to player logs");
            }
        }
    }

    /// Lines that could not be queued since the start.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Wait until every line queued before this call is in its file.
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.tx.send(Msg::Flush(done)).await.is_ok() {
            let _ = wait.await;
        }
    }
}

fn write_loop(dir: &Path, mut rx: mpsc::Receiver<Msg>, rotation: RotationPolicy) {
    let mut batch = Vec::with_capacity(64);
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(msg) => batch.push(msg),
                Err(_) => break,
            }
        }
        let mut files: HashMap<Arc<str>, String> = HashMap::new();
        let mut order = Vec::new();
        let mut flushes = Vec::new();
        for msg in batch.drain(..) {
            match msg {
                Msg::Line { file, line } => {
                    let text = files.entry(Arc::clone(&file)).or_insert_with(|| {
                        order.push(Arc::clone(&file));
                        String::new()
                    });
                    text.push_str(&line);
                }
                Msg::Flush(done) => flushes.push(done),
            }
        }
        for file in order {
            let text = &files[&file];
            let path = dir.join(&*file);
            if let Err(e) = rotation.rotate_if_due(&path) {
                error!(file = %path.display(), error = %e, "cannot rotate a player log");
            }
            let written = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .and_then(|mut f| f.write_all(text.as_bytes()));
            if let Err(e) = written {
                error!(file = %path.display(), error = %e, "cannot write a player log");
            }
        }
        for done in flushes {
            let _ = done.send(());
        }
    }
}

/// A safe, unique, readable file name for the player whose name key is `key`.
pub fn file_name(key: &str) -> String {
    let readable: String = key
        .chars()
        .map(|c| if c.is_alphanumeric() || c == '-' || c == '_' { c } else { '_' })
        .take(READABLE_CHARS)
        .collect();
    format!("{readable}-{:016x}.log", fnv1a(key.as_bytes()))
}

/// FNV-1a, 64 bits: stable across runs and platforms (std's hasher is randomly seeded), so a
/// player's file is the same after a restart.
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_names_map_to_safe_unique_files() {
        let names = [
            "../../etc/passwd",
            "..",
            ".",
            "con",
            "nul.txt",
            "a/b",
            "a\\b",
            "a_b",
            "tab\there",
            "nul\0byte",
            "김민수",
            &"x".repeat(300),
            "émile",
            "e\u{301}mile",
        ];
        let mut seen = std::collections::HashSet::new();
        for name in names {
            let f = file_name(name);
            assert!(seen.insert(f.clone()), "{name:?} collides: {f}");
            assert!(!f.contains(['/', '\\', '\0', '\t', ':']), "{f}");
            assert!(!f.starts_with('.'), "{f}");
            assert!(f.ends_with(".log") && f.chars().count() <= READABLE_CHARS + 21, "{f}");
            let stem = f.split('-').next().unwrap().to_ascii_lowercase();
            assert!(!["con", "nul", "prn", "aux"].contains(&f.trim_end_matches(".log")), "{f}");
            assert!(!stem.is_empty() || f.starts_with('-'));
        }
        assert!(file_name("김민수").starts_with("김민수-"), "Hangul stays readable");
        assert!(file_name("../../etc/passwd").starts_with("______etc_passwd-"));
        assert_eq!(file_name("alice"), file_name("alice"), "stable");
    }

    #[tokio::test]
    async fn lines_land_in_their_files_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let logs = PlayerLogs::start(dir.path().join("quiz"), 100, RotationPolicy::default()).unwrap();
        let (a, b): (Arc<str>, Arc<str>) = (file_name("alice").into(), file_name("bob").into());
        let at = sockhub_proto::time::now();
        for i in 0..10 {
            logs.write(&a, at, "INFO", &format!("a{i}"));
            logs.write(&b, at, "INFO", &format!("b{i}"));
        }
        logs.flush().await;
        let text = std::fs::read_to_string(logs.dir().join(&*a)).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 10);
        assert!(lines[0].ends_with(" [INFO]: a0") && lines[9].ends_with(" [INFO]: a9"), "{text}");
        assert_eq!(std::fs::read_dir(logs.dir()).unwrap().count(), 2);
    }

    #[tokio::test]
    async fn player_logs_rotate_and_keep_at_most_keep_files() {
        use crate::config::Rotation;
        let dir = tempfile::tempdir().unwrap();
        let policy = RotationPolicy { rotation: Rotation::Size, max_bytes: 200, keep_files: 2 };
        let logs = PlayerLogs::start(dir.path().join("quiz"), 100, policy).unwrap();
        let a: Arc<str> = file_name("alice").into();
        let at = sockhub_proto::time::now();
        // One batch per flush: each batch first rotates a file that grew past the limit.
        for i in 0..20 {
            logs.write(&a, at, "INFO", &format!("answer {i:02} of a player who keeps answering"));
            logs.flush().await;
        }
        let mut names: Vec<String> = std::fs::read_dir(logs.dir())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, [a.to_string(), format!("{a}.1")]);
        let current = std::fs::read_to_string(logs.dir().join(&*a)).unwrap();
        assert!(current.ends_with("answer 19 of a player who keeps answering\n"), "{current}");
        let older = std::fs::read_to_string(logs.dir().join(format!("{a}.1"))).unwrap();
        assert!(!older.contains("answer 00"), "the oldest lines are gone: {older}");
    }
}
