//! The device's spool (`--spool DIR`): every record read and not yet settled (acknowledged, or
//! refused by the relay), kept on disk so that a device that is killed or rebooted loses
//! nothing and duplicates nothing.
//!
//! Exactly once rests on the relay's rule that a `(source, seq)` is stored once and a re-send
//! of it with the same payload is acknowledged again, while another payload under a stored seq
//! is refused with `seq_conflict`. So a record must keep its seq, time and payload across a
//! restart, and the numbering must go on where it stopped: a record read after the restart
//! must never reuse a seq the relay may have stored. The spool keeps exactly that.
//!
//! **Format.** `DIR/spool.jsonl`, one JSON object a line, appended:
//! - `{"header":{"version":1,"source":"fan-1","next_seq":42}}` first;
//! - `{"record":{"seq":42,"at":1764000000000,"payload":"...","pos":{...}}}` for each record
//!   read, written (and flushed to disk with `fsync`) before it is sent; `pos` is where its line
//!   ended in a followed file;
//! - `{"acked":45}`: every record up to seq 45 is acknowledged;
//! - `{"refused":43}`: record 43 was refused (and will not be sent again).
//!
//! The records still owed are those not acknowledged or refused. When the file holds much more
//! than that, it is rewritten (a new file, `fsync`, `rename`) with the header and the records
//! still owed. A torn last line (a crash mid-write) is ignored. `DIR/spool.lock` is locked
//! (`flock`) while a device uses the spool, so two devices never share one.
//!
//! The spool is bounded by the device's limits on records waiting (`--max-pending`,
//! `--max-pending-bytes`): it holds the records still owed, and at most about as much again of
//! settled ones before it is rewritten.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::input::FilePos;
use sockhub_i18n::t;

const FILE: &str = "spool.jsonl";
const LOCK: &str = "spool.lock";
const VERSION: u32 = 1;
/// Settled bytes tolerated in the file before it is rewritten, beyond the records still owed.
const SLACK_BYTES: u64 = 1 << 20;

/// One record as the spool keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Spooled {
    pub seq: i64,
    /// Unix milliseconds, fixed when the line was read.
    pub at: i64,
    pub payload: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pos: Option<FilePos>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Entry {
    Header { version: u32, source: String, next_seq: Option<i64>, pos: Option<FilePos> },
    Record(Spooled),
    Acked(i64),
    Refused(i64),
}

/// What a spool holds.
#[derive(Debug, Default, Clone)]
pub struct SpoolState {
    pub source: Option<String>,
    /// The seq the next record read takes (`None` until one was ever numbered).
    pub next_seq: Option<i64>,
    /// The records still owed, by seq.
    pub records: Vec<Spooled>,
    /// Where the last record read ended in a followed file.
    pub pos: Option<FilePos>,
}

/// A spool in use: its file open for appending, its lock held.
pub struct Spool {
    dir: PathBuf,
    file: File,
    /// Bytes in the file.
    bytes: u64,
    source: String,
    _lock: File,
}

fn error(dir: &Path, what: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(t!("device-spool-error", dir = dir.display().to_string(), what = what.to_string()))
}

/// Reads the spool in `dir` without taking it (`None` if there is none).
pub fn inspect(dir: &Path) -> std::io::Result<Option<SpoolState>> {
    match File::open(dir.join(FILE)) {
        Ok(f) => replay(dir, f).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(error(dir, e)),
    }
}

fn replay(dir: &Path, f: File) -> std::io::Result<SpoolState> {
    let mut state = SpoolState::default();
    let mut owed: BTreeMap<i64, Spooled> = BTreeMap::new();
    for (i, line) in BufReader::new(f).lines().enumerate() {
        let line = line.map_err(|e| error(dir, e))?;
        let entry = match serde_json::from_str::<Entry>(&line) {
            Ok(e) => e,
            // Only the last line can be torn by a crash; anything else is not our file.
            Err(_) if i > 0 => continue,
            Err(e) => {
                return Err(error(dir, t!("device-spool-not-ours", file = FILE, error = e.to_string())));
            }
        };
        match entry {
            Entry::Header { version, source, next_seq, pos } => {
                if version != VERSION {
                    return Err(error(dir, t!("device-spool-version", version = version, reads = VERSION)));
                }
                state.source = Some(source);
                state.next_seq = next_seq;
                state.pos = pos;
            }
            Entry::Record(r) => {
                state.next_seq = Some(state.next_seq.unwrap_or(0).max(r.seq + 1));
                state.pos = r.pos.or(state.pos);
                owed.insert(r.seq, r);
            }
            Entry::Acked(seq) => owed = owed.split_off(&(seq + 1)),
            Entry::Refused(seq) => {
                owed.remove(&seq);
            }
        }
    }
    state.records = owed.into_values().collect();
    Ok(state)
}

fn line(entry: &Entry) -> Vec<u8> {
    let mut out = serde_json::to_vec(entry).unwrap_or_default();
    out.push(b'\n');
    out
}

impl Spool {
    /// Takes the spool in `dir` (creating it) for `source`, and returns what it holds.
    pub fn open(dir: &Path, source: &str) -> std::io::Result<(Spool, SpoolState)> {
        std::fs::create_dir_all(dir).map_err(|e| error(dir, e))?;
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join(LOCK))
            .map_err(|e| error(dir, e))?;
        // An advisory lock (flock on Linux), released when the file is closed.
        if lock.try_lock().is_err() {
            return Err(error(dir, t!("device-spool-locked")));
        }
        let state = inspect(dir)?.unwrap_or_default();
        if let Some(other) = state.source.as_deref().filter(|s| *s != source) {
            return Err(error(
                dir,
                t!("device-spool-other-source", other = format!("{other:?}"), source = format!("{source:?}")),
            ));
        }
        let file =
            OpenOptions::new().create(true).append(true).open(dir.join(FILE)).map_err(|e| error(dir, e))?;
        let mut spool = Spool { dir: dir.to_owned(), file, bytes: 0, source: source.to_owned(), _lock: lock };
        spool.rewrite(state.next_seq, state.pos, state.records.iter())?;
        Ok((spool, state))
    }

    /// Appends records just read and flushes them to disk (before they are sent).
    pub fn append<'a>(&mut self, records: impl Iterator<Item = &'a Spooled>) -> std::io::Result<()> {
        let mut out = Vec::new();
        for r in records {
            out.extend(line(&Entry::Record(r.clone())));
        }
        self.write(&out)?;
        self.file.sync_data().map_err(|e| error(&self.dir, e))
    }

    /// Records up to `seq` are acknowledged. Not flushed: losing it costs a re-send, which the
    /// relay acknowledges without storing twice.
    pub fn acked(&mut self, seq: i64) -> std::io::Result<()> {
        self.write(&line(&Entry::Acked(seq)))
    }

    /// Record `seq` was refused.
    pub fn refused(&mut self, seq: i64) -> std::io::Result<()> {
        self.write(&line(&Entry::Refused(seq)))
    }

    fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.file.write_all(bytes).map_err(|e| error(&self.dir, e))?;
        self.bytes += bytes.len() as u64;
        Ok(())
    }

    /// Rewrites the file if it holds much more than the records still owed (`owed_bytes` of
    /// payload).
    pub fn maybe_compact<'a>(
        &mut self,
        owed_bytes: u64,
        next_seq: Option<i64>,
        pos: Option<FilePos>,
        owed: impl Iterator<Item = &'a Spooled>,
    ) -> std::io::Result<()> {
        if self.bytes > 2 * owed_bytes + SLACK_BYTES {
            self.rewrite(next_seq, pos, owed)?;
        }
        Ok(())
    }

    /// Replaces the file with the header and `owed`: a new file, flushed, renamed over the old.
    pub fn rewrite<'a>(
        &mut self,
        next_seq: Option<i64>,
        pos: Option<FilePos>,
        owed: impl Iterator<Item = &'a Spooled>,
    ) -> std::io::Result<()> {
        let header = Entry::Header { version: VERSION, source: self.source.clone(), next_seq, pos };
        let mut out = line(&header);
        for r in owed {
            out.extend(line(&Entry::Record(r.clone())));
        }
        let tmp = self.dir.join(format!("{FILE}.tmp"));
        let e = |e| error(&self.dir, e);
        let mut f = File::create(&tmp).map_err(e)?;
        f.write_all(&out).map_err(e)?;
        f.sync_all().map_err(e)?;
        std::fs::rename(&tmp, self.dir.join(FILE)).map_err(e)?;
        File::open(&self.dir).and_then(|d| d.sync_all()).map_err(e)?;
        self.file = OpenOptions::new().append(true).open(self.dir.join(FILE)).map_err(e)?;
        self.bytes = out.len() as u64;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(seq: i64) -> Spooled {
        Spooled { seq, at: 1000 + seq, payload: format!("line {seq}"), pos: None }
    }

    #[test]
    fn keeps_what_is_owed_across_a_reopen_and_refuses_a_second_user() {
        let dir = tempfile::tempdir().unwrap();
        let (mut spool, state) = Spool::open(dir.path(), "dev").unwrap();
        assert!(state.records.is_empty() && state.next_seq.is_none());
        let recs: Vec<Spooled> = (1..=5).map(rec).collect();
        spool.append(recs.iter()).unwrap();
        spool.acked(2).unwrap();
        spool.refused(4).unwrap();
        let err = Spool::open(dir.path(), "dev").err().expect("locked");
        assert!(err.to_string().contains("in use"), "{err}");
        drop(spool);
        // A torn last line (a crash mid-write) is ignored.
        let mut f = OpenOptions::new().append(true).open(dir.path().join(FILE)).unwrap();
        f.write_all(br#"{"record":{"seq":6,"at":1"#).unwrap();
        let err = Spool::open(dir.path(), "other").err().expect("another source");
        assert!(err.to_string().contains("\"dev\""), "{err}");
        let (_spool, state) = Spool::open(dir.path(), "dev").unwrap();
        assert_eq!(state.records, vec![rec(3), rec(5)]);
        assert_eq!(state.next_seq, Some(6));
        // Reopening rewrote the file: the settled records are gone from it.
        let text = std::fs::read_to_string(dir.path().join(FILE)).unwrap();
        assert_eq!(text.lines().count(), 3, "{text}");
    }

    #[test]
    fn the_numbering_survives_when_everything_was_settled() {
        let dir = tempfile::tempdir().unwrap();
        let (mut spool, _) = Spool::open(dir.path(), "dev").unwrap();
        spool.append([rec(7)].iter()).unwrap();
        spool.acked(7).unwrap();
        spool.rewrite(Some(8), None, [].iter()).unwrap();
        drop(spool);
        let state = inspect(dir.path()).unwrap().unwrap();
        assert_eq!((state.next_seq, state.records.len()), (Some(8), 0));
    }
}
