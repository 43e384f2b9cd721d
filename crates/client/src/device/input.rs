//! Where a device's lines come from: stdin or a file read to its end, a file followed like
//! `tail -F`, or records already in memory ([`super::Records`]). Lines of a file (followed or
//! not) carry their place in it, so a device with a spool resumes there after a restart.
//!
//! Reading runs on its own thread (not tokio's blocking pool, whose threads a runtime waits
//! for at exit: a device told to stop must not hang on a read of stdin) and hands lines over a
//! bounded channel. When the device stops taking lines — its window and spool are full — the
//! channel fills, the thread blocks on it and stops reading: backpressure, never a drop.
//!
//! Lines are cut by the protocol's [`LineCodec`], so a line longer than the limit is reported
//! and skipped as it streams in, never buffered whole; so is a line that is not UTF-8. Empty
//! lines are not records.
//!
//! **Following** (`--follow FILE`): the file is read to its end, then polled every
//! `poll` interval. Rotation is seen as a new file at the path (another inode): the old file is
//! read to its end first (its last unterminated line included), then the new one from its
//! start; while no file is at the path, the old one is still read. Truncation is seen as the file shrinking below what was read: it
//! is read again from its start. As with `tail -F`, what a writer appends and truncates away
//! between two polls was never seen. Each line carries the position after it ([`FilePos`]), so
//! a device with a spool resumes exactly there after a restart (if the path is still the same
//! file).

use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::time::Duration;

use bytes::BytesMut;
use serde::{Deserialize, Serialize};
use sockhub_i18n::t;
use sockhub_proto::{LineCodec, LineItem};
use tokio::sync::mpsc;
use tokio_util::codec::Decoder;

/// How many lines wait in the channel between the reading thread and the device.
const CHANNEL_LINES: usize = 1024;
/// Bytes read per `read` call.
const CHUNK: usize = 64 * 1024;

/// A place in a followed file: which file (device and inode) and the offset after a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilePos {
    pub dev: u64,
    pub ino: u64,
    pub offset: u64,
}

/// What the reading thread hands over.
#[derive(Debug)]
pub enum InputEvent {
    /// A line to send, with where it ended in a followed file.
    Line { text: String, pos: Option<FilePos> },
    /// A line that cannot be a record (too long, not UTF-8); the reason.
    Skipped(String),
    /// The input failed; the reason. Nothing more comes.
    Failed(String),
}

/// Lines from a thread, or records in memory.
pub enum Input<'a> {
    Lines(mpsc::Receiver<InputEvent>),
    Records { records: &'a (dyn super::Records + Sync), next: usize },
}

impl Input<'_> {
    /// The next event; `None` at the end of the input.
    pub(crate) async fn next(&mut self) -> Option<InputEvent> {
        match self {
            Input::Lines(rx) => rx.recv().await,
            Input::Records { records, next } => {
                if *next >= records.len() {
                    return None;
                }
                let mut text = String::new();
                records.payload(*next, &mut text);
                *next += 1;
                Some(InputEvent::Line { text, pos: None })
            }
        }
    }

    /// The next event if one is ready now (`Some(None)`: the input has ended).
    pub(crate) fn try_next(&mut self) -> Option<Option<InputEvent>> {
        match self {
            Input::Lines(rx) => match rx.try_recv() {
                Ok(ev) => Some(Some(ev)),
                Err(mpsc::error::TryRecvError::Empty) => None,
                Err(mpsc::error::TryRecvError::Disconnected) => Some(None),
            },
            Input::Records { .. } => Some(futures_util::FutureExt::now_or_never(self.next()).flatten()),
        }
    }
}

/// Lines of stdin, to its end.
pub fn stdin(max_line: usize) -> Input<'static> {
    spawn("stdin", move |tx| read_to_end(std::io::stdin().lock(), max_line, &tx))
}

/// Lines of a file, to its end, starting at `from` if it is still the same file and not shorter
/// (a device restarted on its spool goes on where it stopped).
/// A file that cannot be opened ends the input with [`InputEvent::Failed`].
pub fn file(path: PathBuf, from: Option<FilePos>, max_line: usize) -> Input<'static> {
    let poll = Duration::ZERO;
    spawn("file", move |tx| Follower { path, poll, max_line, tx, to_end: true }.run(from))
}

/// Lines of `path` as they are written, like `tail -F`, starting at `from` if it is still the
/// same file and not shorter (else at the start of the file). Never ends by itself.
pub fn follow(path: PathBuf, from: Option<FilePos>, poll: Duration, max_line: usize) -> Input<'static> {
    spawn("follow", move |tx| Follower { path, poll, max_line, tx, to_end: false }.run(from))
}

fn spawn(what: &str, body: impl FnOnce(mpsc::Sender<InputEvent>) + Send + 'static) -> Input<'static> {
    let (tx, rx) = mpsc::channel(CHANNEL_LINES);
    let spawned = std::thread::Builder::new().name(format!("device-{what}")).spawn(move || body(tx));
    if let Err(e) = spawned {
        let (tx, rx) = mpsc::channel(1);
        let _ = tx.try_send(InputEvent::Failed(t!("device-cannot-start", error = e.to_string())));
        return Input::Lines(rx);
    }
    Input::Lines(rx)
}

/// Hands every item the codec cuts from `buf` to the device; `file` is the followed file's
/// device, inode and the offset of the end of `buf` in it. False when the device is gone.
fn hand_over(
    codec: &mut LineCodec,
    buf: &mut BytesMut,
    eof: bool,
    file: Option<(u64, u64, u64)>,
    tx: &mpsc::Sender<InputEvent>,
) -> bool {
    loop {
        let item = match if eof { codec.decode_eof(buf) } else { codec.decode(buf) } {
            Ok(Some(item)) => item,
            Ok(None) | Err(_) => return true,
        };
        let pos = file.map(|(dev, ino, end)| FilePos { dev, ino, offset: end - buf.len() as u64 });
        let event = match item {
            LineItem::Line(text) if text.is_empty() => continue,
            LineItem::Line(text) => InputEvent::Line { text, pos },
            LineItem::TooLong { limit } => InputEvent::Skipped(t!("device-line-too-long", limit = limit)),
            LineItem::InvalidUtf8 => InputEvent::Skipped("a line that is not UTF-8".into()),
        };
        if tx.blocking_send(event).is_err() {
            return false;
        }
    }
}

fn read_to_end(mut r: impl Read, max_line: usize, tx: &mpsc::Sender<InputEvent>) {
    let mut codec = LineCodec::new(max_line);
    let mut buf = BytesMut::with_capacity(CHUNK);
    let mut chunk = vec![0u8; CHUNK];
    loop {
        match r.read(&mut chunk) {
            Ok(0) => {
                hand_over(&mut codec, &mut buf, true, None, tx);
                return;
            }
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                if !hand_over(&mut codec, &mut buf, false, None, tx) {
                    return;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                let _ =
                    tx.blocking_send(InputEvent::Failed(t!("device-reading-input", error = e.to_string())));
                return;
            }
        }
    }
}

struct Follower {
    path: PathBuf,
    poll: Duration,
    max_line: usize,
    tx: mpsc::Sender<InputEvent>,
    /// Stop at the end of the file instead of following it.
    to_end: bool,
}

/// The followed file now open.
struct Open {
    file: std::fs::File,
    dev: u64,
    ino: u64,
    /// Bytes read so far (the offset of the end of the buffer).
    offset: u64,
}

impl Follower {
    fn run(self, mut from: Option<FilePos>) {
        let mut codec = LineCodec::new(self.max_line);
        let mut buf = BytesMut::with_capacity(CHUNK);
        let mut chunk = vec![0u8; CHUNK];
        let mut open: Option<Open> = None;
        loop {
            if self.tx.is_closed() {
                return;
            }
            let Some(o) = open.as_mut() else {
                open = self.open(from.take());
                if open.is_none() {
                    if self.to_end {
                        let why = t!("device-cannot-open", path = self.path.display().to_string());
                        let _ = self.tx.blocking_send(InputEvent::Failed(why));
                        return;
                    }
                    std::thread::sleep(self.poll);
                }
                continue;
            };
            match o.file.read(&mut chunk) {
                Ok(n) if n > 0 => {
                    o.offset += n as u64;
                    buf.extend_from_slice(&chunk[..n]);
                    if !hand_over(&mut codec, &mut buf, false, Some((o.dev, o.ino, o.offset)), &self.tx) {
                        return;
                    }
                    continue;
                }
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    let _ = self
                        .tx
                        .blocking_send(InputEvent::Skipped(t!("device-reading-file", error = e.to_string())));
                }
            }
            if self.to_end {
                hand_over(&mut codec, &mut buf, true, Some((o.dev, o.ino, o.offset)), &self.tx);
                return;
            }
            // At the end of what is there: rotated, truncated, or just nothing new yet?
            let now = std::fs::metadata(&self.path).ok();
            let rotated = now.as_ref().is_some_and(|m| m.dev() != o.dev || m.ino() != o.ino);
            if rotated {
                // Another file at the path: the old one is finished once read to its end (a
                // writer may have appended to it until the new one appeared), last line included.
                if !self.drain(o, &mut codec, &mut buf, &mut chunk) {
                    return;
                }
                open = None;
                codec = LineCodec::new(self.max_line);
                continue;
            }
            let end = Some((o.dev, o.ino, o.offset));
            if now.is_some_and(|m| m.len() < o.offset) {
                // Truncated: what was read stands; read again from the start.
                if !hand_over(&mut codec, &mut buf, true, end, &self.tx) {
                    return;
                }
                codec = LineCodec::new(self.max_line);
                buf.clear();
                if o.file.seek(SeekFrom::Start(0)).is_ok() {
                    o.offset = 0;
                }
                continue;
            }
            std::thread::sleep(self.poll);
        }
    }

    /// Reads the old file of a rotation to its end and hands over its last line. False when the
    /// device is gone.
    fn drain(&self, o: &mut Open, codec: &mut LineCodec, buf: &mut BytesMut, chunk: &mut [u8]) -> bool {
        loop {
            match o.file.read(chunk) {
                Ok(n) if n > 0 => {
                    o.offset += n as u64;
                    buf.extend_from_slice(&chunk[..n]);
                    if !hand_over(codec, buf, false, Some((o.dev, o.ino, o.offset)), &self.tx) {
                        return false;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                _ => break,
            }
        }
        hand_over(codec, buf, true, Some((o.dev, o.ino, o.offset)), &self.tx)
    }

    /// Opens the file at the path, at `from` if that is this file and it is long enough.
    fn open(&self, from: Option<FilePos>) -> Option<Open> {
        let file = std::fs::File::open(&self.path).ok()?;
        let meta = file.metadata().ok()?;
        let mut o = Open { dev: meta.dev(), ino: meta.ino(), offset: 0, file };
        if let Some(p) = from.filter(|p| p.dev == o.dev && p.ino == o.ino && p.offset <= meta.len()) {
            o.file.seek(SeekFrom::Start(p.offset)).ok()?;
            o.offset = p.offset;
        }
        Some(o)
    }
}
