//! The per-connection outbound queue, and the shared, encode-once [`Frame`].
//!
//! Every connection has one [`Outbox`]: a bounded FIFO of frames waiting to be written. Services
//! push into it without blocking and without touching the socket; the connection's writer drains
//! *everything* queued in one go and writes it with one system call, so a busy recipient gets
//! fewer, larger writes instead of one per message.
//!
//! A frame is encoded lazily, at most once per [`Mode`] and language (a server speaks one
//! language, so in practice once per mode), and the bytes are shared by every recipient (a
//! broadcast to a thousand JSON clients serializes once). The language is the outbox's, set from
//! `[server] language` when the connection opens.
//!
//! Bounds: a push onto a full queue does not grow it. Full means as many frames as the queue holds
//! (`limits.outbound_queue`) or as many bytes, in the connection's mode, as it may hold
//! (`limits.outbound_bytes`): a client that never reads but keeps asking for large replies
//! (`/history 1000` of thousand-digit squares) is stopped by the second bound long before the
//! first. The queue is cleared, a final "too slow" [`Notice`] is queued in its place, and the
//! outbox closes: a client that stops reading is disconnected instead of costing memory, and
//! nobody else waits for it.
//!
//! **Direct writes.** A TCP connection lends its outbox its socket ([`Outbox::attach_direct`]).
//! A frame pushed while nothing is queued, nothing is being written by the writer, and the socket
//! has been quiet for `limits.direct_write_quiet_us`, is written by the pusher at once with one
//! non-blocking `send`, under the queue's lock: no task is woken for it. Whatever the socket does
//! not take at once (a full send buffer) is queued as the rest of that frame and the writer is
//! woken as usual, so a direct write never blocks, never overtakes a queued frame, and a slow
//! reader still meets the same bounds. A connection that receives more often than the quiet time
//! gets its frames through the writer, batched, as before: direct writes cost one system call
//! per frame, which only pays while frames are sparse.
//!
//! **Encoded at the push.** A busy connection's queue (already [`COPY_FROM`] frames long) takes
//! the bytes of the next frames, copied (`encoded`, after the frames queued whole), instead of
//! references to them, once its mode is known and unless it has an encoding of its own (IRC).
//! The writer appends those bytes after the few whole frames ahead of them (one copy, as it
//! copied shared bytes before), and no reference to a shared frame is taken on one core and
//! given back on the other for every recipient: at millions of deliveries a second,
//! those reference counts (a cache line every core writes) and the frees of frames on another
//! thread than the one that made them cost more than the copy of a line. A short queue keeps
//! shared frames: a burst to thousands of connections that each hold a few lines (a join storm)
//! would hold a copy per connection, and a fan-out's queued lines for quiet sockets are written
//! at once anyway. The bounds count bytes and frames the same either way.

use std::collections::VecDeque;
use std::io;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use parking_lot::Mutex;
use sockhub_i18n::{Lang, msg};
use sockhub_proto::Mode;
use sockhub_proto::wire::{Wire, encode};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use sockhub_proto::notice::Notice;

use crate::metrics::ServiceMetrics;

thread_local! {
    /// Where [`Outbox::flush`] and a TCP connection's writer encode frames before writing them
    /// at once (kept per thread, not per connection, so connections hold no write buffer for it,
    /// idle or not).
    static FLUSH_BUFFER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// A thread's buffer past this size after a write is released rather than kept.
const KEEP_THREAD_BUFFER: usize = 1 << 20;

/// Run `f` with this thread's (cleared) write buffer, for encoding frames and writing them
/// without waiting. Not reentrant: `f` must not call it again.
pub(crate) fn with_thread_buffer<R>(f: impl FnOnce(&mut Vec<u8>) -> R) -> R {
    FLUSH_BUFFER.with_borrow_mut(|buf| {
        buf.clear();
        let result = f(buf);
        if buf.capacity() > KEEP_THREAD_BUFFER {
            *buf = Vec::new();
        }
        result
    })
}

/// Queue slots an empty queue keeps when a direct flush empties it; one that grew beyond this in
/// a burst is released at once. (The writer's path keeps its slots while busy and gives them all
/// back once idle: [`Outbox::release_spare`].)
const KEEP_QUEUE_CAPACITY: usize = 64;

/// How many frames a queue holds whole before the next ones are copied in as bytes (see
/// "Encoded at the push").
pub(crate) const COPY_FROM: usize = 8;

/// How many encodings of its own a transport with its own [`Encode`] may cache in a frame (IRC:
/// one per combination of `server-time`, `account-tag` and `message-tags`).
pub const VARIANTS: usize = 8;

/// Frames still to encode, then bytes already encoded (see "Encoded at the push" in the module
/// documentation): what an outbox holds, and what a writer takes from it at once
/// ([`Outbox::next_batch`]).
#[derive(Default)]
pub struct Batch {
    frames: VecDeque<Arc<Frame>>,
    encoded: Vec<u8>,
    /// How many frames `encoded` holds.
    encoded_frames: usize,
}

impl Batch {
    pub fn new() -> Self {
        Self::default()
    }

    /// How many frames the batch holds.
    pub fn len(&self) -> usize {
        self.frames.len() + self.encoded_frames
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Empty the batch, keeping its room for the next one.
    pub fn clear(&mut self) {
        self.frames.clear();
        self.encoded.clear();
        self.encoded_frames = 0;
    }

    /// Whether the batch holds memory (room for frames or bytes).
    pub fn holds_memory(&self) -> bool {
        self.frames.capacity() > 0 || self.encoded.capacity() > 0
    }

    /// The batch's bytes, if all of it is already encoded: written as they are, with no copy.
    pub fn only_encoded(&self) -> Option<&[u8]> {
        self.frames.is_empty().then_some(&self.encoded[..])
    }

    /// Add `frame` whole, after everything held.
    fn push_frame(&mut self, frame: Arc<Frame>) {
        self.seal();
        self.frames.push_back(frame);
    }

    /// Append a frame's bytes, already encoded as the connection writes them.
    fn push_encoded(&mut self, bytes: &[u8]) {
        self.encoded.extend_from_slice(bytes);
        self.encoded_frames += 1;
    }

    /// Add everything `other` holds after what this holds.
    fn append(&mut self, other: Batch) {
        if !other.frames.is_empty() {
            self.seal();
        }
        self.frames.extend(other.frames);
        self.encoded.extend_from_slice(&other.encoded);
        self.encoded_frames += other.encoded_frames;
    }

    /// Turn the encoded bytes into one frame of their own, so that whole frames added next are
    /// written after them, not before.
    fn seal(&mut self) {
        if self.encoded_frames > 0 {
            let bytes = Bytes::from(std::mem::take(&mut self.encoded));
            self.frames.push_back(Frame::new(Rest(bytes)));
            self.encoded_frames = 0;
        }
    }

    /// How many whole frames and encoded bytes the batch has room for.
    #[cfg(test)]
    pub(crate) fn room(&self) -> (usize, usize) {
        (self.frames.capacity(), self.encoded.capacity())
    }

    /// The frames still to encode (for tests that look at them).
    #[cfg(test)]
    pub(crate) fn frames(&self) -> impl Iterator<Item = &Arc<Frame>> {
        self.frames.iter()
    }
}

/// A message ready to be sent to any number of connections.
pub struct Frame {
    msg: Box<dyn Wire>,
    /// The encodings, by mode and language (see [`Frame::slot`]).
    encoded: [OnceLock<Bytes>; 2 * Lang::ALL.len()],
    /// Encodings of a transport with its own [`Encode`] (IRC), by its variant number; allocated
    /// on first use, so frames that only text and JSON clients receive pay one pointer.
    variants: OnceLock<Box<[OnceLock<Bytes>; VARIANTS]>>,
}

impl Frame {
    /// Wrap a message for sending.
    pub fn new(msg: impl Wire) -> Arc<Frame> {
        Arc::new(Frame { msg: Box::new(msg), encoded: Default::default(), variants: OnceLock::new() })
    }

    /// The message, if it is a `T`.
    pub fn message<T: Wire>(&self) -> Option<&T> {
        let any: &dyn std::any::Any = &*self.msg;
        any.downcast_ref()
    }

    /// The frame's bytes in a transport's own encoding `variant` (below [`VARIANTS`]; the same
    /// variant must always mean the same bytes), made by `encode` on first use and shared after.
    pub fn variant(&self, variant: usize, encode: impl FnOnce(&mut Vec<u8>)) -> &Bytes {
        let slots = self.variants.get_or_init(Default::default);
        slots[variant].get_or_init(|| {
            let mut out = Vec::with_capacity(128);
            encode(&mut out);
            Bytes::from(out)
        })
    }

    fn slot(mode: Mode, lang: Lang) -> usize {
        let mode = match mode {
            Mode::Json => 0,
            Mode::Text => 1,
        };
        mode * Lang::ALL.len() + lang as usize
    }

    /// The frame's bytes in `mode` and `lang` (one or more `\n`-terminated lines, or nothing),
    /// encoded on first use and shared afterwards.
    pub fn encoded(&self, mode: Mode, lang: Lang) -> &Bytes {
        self.encoded[Self::slot(mode, lang)].get_or_init(|| {
            let mut out = Vec::with_capacity(96);
            encode(&*self.msg, mode, lang, &mut out);
            Bytes::from(out)
        })
    }
}

impl std::fmt::Debug for Frame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Frame(")?;
        f.write_str(&String::from_utf8_lossy(self.encoded(Mode::Json, Lang::En)))?;
        f.write_str(")")
    }
}

/// A connection's own way of writing frames (IRC), instead of their text or JSON encoding.
pub trait Encode: Send + 'static {
    /// Append `frame` as this connection writes it (possibly nothing), in `lang`.
    fn encode(&mut self, frame: &Frame, lang: Lang, out: &mut Vec<u8>);
}

/// A socket that can be written without blocking, from any thread (a TCP socket's write half).
pub trait TryWrite: Send + Sync + 'static {
    /// Write what the socket takes at once; `WouldBlock` if it takes nothing.
    fn try_write(&self, bytes: &[u8]) -> io::Result<usize>;
}

/// The socket a pusher writes to directly, and when it may (see the module documentation).
struct Direct {
    socket: Box<dyn TryWrite>,
    /// How long the socket must have been quiet for a frame to be written directly.
    quiet: Duration,
    /// Where frames written directly are counted.
    metrics: Arc<ServiceMetrics>,
}

/// The unwritten rest of a frame the socket took only part of; the same bytes in every mode.
struct Rest(Bytes);

impl Wire for Rest {
    fn write_json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0);
    }

    fn write_text(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0);
    }
}

/// What came of trying to write a frame directly.
enum DirectWrite {
    Written,
    /// The socket took only part; the rest must be queued.
    Partly(Bytes),
    NotNow,
}

/// What happened to a pushed frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Push {
    /// Queued for writing.
    Queued,
    /// The queue was full: the connection is now being closed as too slow.
    Overflow,
    /// The connection is already closing; the frame was not queued.
    Closed,
}

/// A bounded outbound queue shared by a connection and the services that send to it.
#[derive(Clone)]
pub struct Outbox {
    inner: Arc<Inner>,
}

struct Inner {
    state: Mutex<State>,
    /// Wakes the writer when the queue goes from empty to non-empty, or closes.
    wake: Notify,
    /// Cancelled once the outbox is closing, for anyone who must stop when the writer will.
    closing: CancellationToken,
    capacity: usize,
    /// The most bytes that may wait (a single larger frame is still taken into an empty queue).
    max_bytes: usize,
    /// The connection's mode once known, to count queued bytes as they will be written.
    mode: OnceLock<Mode>,
    /// The language frames are written in.
    lang: Lang,
    /// The connection's own encoding, if it has one (see [`Outbox::set_encoder`]).
    encoder: OnceLock<Mutex<Box<dyn Encode>>>,
}

struct State {
    /// What waits to be written: whole frames (to encode when written: before the connection's
    /// mode is known, in its own encoding, or while the queue is short), then copied bytes.
    queue: Batch,
    /// The bytes `queue` will take to write.
    bytes: usize,
    closing: bool,
    /// The outbox closed because it was full (the client was too slow).
    overflowed: bool,
    /// The writer has taken frames and not yet written all of them.
    in_flight: bool,
    /// When the socket was last written to (directly or by the writer).
    last_write: Option<Instant>,
    /// The socket, while frames may be written to it directly.
    direct: Option<Box<Direct>>,
}

impl State {
    /// Mark the outbox closing; from now on only the writer writes.
    fn close(&mut self) {
        self.closing = true;
        self.direct = None;
    }

    /// How many frames wait.
    fn len(&self) -> usize {
        self.queue.len()
    }

    /// Forget everything waiting.
    fn clear(&mut self) {
        self.queue.clear();
        self.bytes = 0;
    }
}

impl Outbox {
    /// An outbox that holds at most `capacity` frames, of any size.
    pub fn new(capacity: usize) -> Self {
        Self::bounded(capacity, usize::MAX)
    }

    /// An outbox that holds at most `capacity` frames and at most `max_bytes` bytes of them.
    pub fn bounded(capacity: usize, max_bytes: usize) -> Self {
        Self::bounded_in(capacity, max_bytes, Lang::En)
    }

    /// [`Outbox::bounded`], writing its frames in `lang`.
    pub fn bounded_in(capacity: usize, max_bytes: usize, lang: Lang) -> Self {
        Outbox {
            inner: Arc::new(Inner {
                state: Mutex::new(State {
                    queue: Batch::new(),
                    bytes: 0,
                    closing: false,
                    overflowed: false,
                    in_flight: false,
                    last_write: None,
                    direct: None,
                }),
                wake: Notify::new(),
                closing: CancellationToken::new(),
                capacity: capacity.max(1),
                max_bytes: max_bytes.max(1),
                mode: OnceLock::new(),
                lang,
                encoder: OnceLock::new(),
            }),
        }
    }

    /// Fix the mode the connection's frames are written in (once; later calls do nothing).
    pub fn set_mode(&self, mode: Mode) {
        let _ = self.inner.mode.set(mode);
    }

    /// Write this connection's frames with `encoder` rather than in its mode (once; later calls
    /// do nothing). Queued bytes are still counted in the mode's encoding, near enough.
    pub fn set_encoder(&self, encoder: Box<dyn Encode>) {
        let _ = self.inner.encoder.set(Mutex::new(encoder));
    }

    /// Let pushers write frames straight to `socket` while the connection is quiet for `quiet`
    /// (see the module documentation); counted in `metrics` as written frames.
    pub fn attach_direct(&self, socket: Box<dyn TryWrite>, quiet: Duration, metrics: Arc<ServiceMetrics>) {
        let mut state = self.inner.state.lock();
        if !state.closing {
            state.direct = Some(Box::new(Direct { socket, quiet, metrics }));
        }
    }

    /// Append `batch` as this connection writes it.
    pub fn write_batch(&self, batch: &Batch, out: &mut Vec<u8>) {
        self.write_frames(batch.frames.iter(), batch.encoded.len(), out);
        out.extend_from_slice(&batch.encoded);
    }

    /// Append `frames` as this connection writes them: in its own encoding if it has one,
    /// else in its mode and language; `more` bytes will follow them.
    fn write_frames<'a>(
        &self,
        frames: impl Iterator<Item = &'a Arc<Frame>> + Clone,
        more: usize,
        out: &mut Vec<u8>,
    ) {
        let lang = self.inner.lang;
        match self.inner.encoder.get() {
            None => {
                let mode = self.mode();
                // The whole batch's size first: one allocation, not the doublings (and copies) of
                // a buffer grown line by line.
                out.reserve(
                    frames.clone().map(|frame| frame.encoded(mode, lang).len()).sum::<usize>() + more,
                );
                for frame in frames {
                    out.extend_from_slice(frame.encoded(mode, lang));
                }
            }
            Some(encoder) => {
                let mut encoder = encoder.lock();
                for frame in frames {
                    encoder.encode(frame, lang, out);
                }
            }
        }
    }

    /// The connection's mode: text until a first line decides otherwise (a `bye` to a client
    /// that never spoke goes out as text, like the greeting).
    pub fn mode(&self) -> Mode {
        self.inner.mode.get().copied().unwrap_or(Mode::Text)
    }

    /// The language the connection's frames are written in.
    pub fn lang(&self) -> Lang {
        self.inner.lang
    }

    /// Whether `self` and `other` are the same connection's outbox.
    pub fn ptr_eq(&self, other: &Outbox) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// Queue a frame without blocking (to a quiet TCP socket: write it at once, see the module
    /// documentation).
    pub fn push(&self, frame: &Arc<Frame>) -> Push {
        self.push_as(frame, false).0
    }

    /// Queue a frame for a fan-out: like [`Outbox::push`], but where `push` would write the frame
    /// to the socket at once, queue it and return true: the caller then owes this outbox a
    /// [`Outbox::flush`] (see [`super::fanout::Fanout`]), which writes it without a wake-up.
    pub(crate) fn push_deferred(&self, frame: &Arc<Frame>) -> (Push, bool) {
        self.push_as(frame, true)
    }

    fn push_as(&self, frame: &Arc<Frame>, defer: bool) -> (Push, bool) {
        // Encoded outside the lock; the writer would encode it anyway, and a broadcast encodes
        // once for every recipient of the same mode. `bytes`: the frame as this connection
        // writes it, when that is known (its mode, and no encoding of its own).
        let lang = self.inner.lang;
        let (len, bytes) = match (self.inner.mode.get(), self.inner.encoder.get()) {
            (Some(&mode), None) => {
                let bytes = frame.encoded(mode, lang);
                (bytes.len(), Some(bytes))
            }
            _ => (frame.encoded(self.mode(), lang).len(), None),
        };
        let mut state = self.inner.state.lock();
        if state.closing {
            return (Push::Closed, false);
        }
        // Copied only into a long queue (see "Encoded at the push").
        let encoded =
            bytes.filter(|_| state.queue.encoded_frames > 0 || state.queue.frames.len() >= COPY_FROM);
        let waiting = state.len();
        let full = waiting >= self.inner.capacity
            || (waiting > 0 && state.bytes.saturating_add(len) > self.inner.max_bytes);
        if full {
            let bytes = state.bytes;
            state.clear();
            state.queue.push_frame(Frame::new(Notice::Bye {
                reason: msg!("error-too-slow", dropped = waiting, bytes = bytes),
            }));
            state.close();
            state.overflowed = true;
            drop(state);
            self.signal_closing();
            return (Push::Overflow, false);
        }
        let was_empty = waiting == 0;
        if was_empty && !state.in_flight && self.direct_ready(&state).is_some() {
            if defer {
                state.queue.push_frame(Arc::clone(frame));
                state.bytes += len;
                return (Push::Queued, true);
            }
            match self.write_direct(&mut state, frame) {
                DirectWrite::Written => return (Push::Queued, false),
                DirectWrite::Partly(rest) => {
                    state.bytes += rest.len();
                    state.queue.push_encoded(&rest);
                    drop(state);
                    self.inner.wake.notify_one();
                    return (Push::Queued, false);
                }
                DirectWrite::NotNow => {}
            }
        }
        match encoded {
            Some(bytes) => state.queue.push_encoded(bytes),
            None => state.queue.push_frame(Arc::clone(frame)),
        }
        state.bytes += len;
        drop(state);
        if was_empty {
            self.inner.wake.notify_one();
        }
        (Push::Queued, false)
    }

    /// Whether frames may be written directly now: a socket is attached, the mode is known, the
    /// connection has no encoding of its own, and the socket has been quiet long enough.
    fn direct_ready<'s>(&self, state: &'s State) -> Option<(&'s Direct, Mode, Instant)> {
        let direct = state.direct.as_deref()?;
        let &mode = self.inner.mode.get()?;
        if self.inner.encoder.get().is_some() {
            return None;
        }
        let now = Instant::now();
        if state.last_write.is_some_and(|at| now.saturating_duration_since(at) < direct.quiet) {
            return None;
        }
        Some((direct, mode, now))
    }

    /// Try to write `frame` to the socket at once (the queue is empty and the writer idle).
    fn write_direct(&self, state: &mut State, frame: &Arc<Frame>) -> DirectWrite {
        let Some((direct, mode, now)) = self.direct_ready(state) else { return DirectWrite::NotNow };
        let bytes = frame.encoded(mode, self.inner.lang);
        let result = direct.socket.try_write(bytes);
        if matches!(result, Ok(n) if n >= bytes.len()) {
            direct.metrics.frames_out.inc();
        }
        match result {
            Ok(n) if n >= bytes.len() => {
                state.last_write = Some(now);
                DirectWrite::Written
            }
            Ok(n) => {
                state.last_write = Some(now);
                DirectWrite::Partly(bytes.slice(n..))
            }
            // Would block, or failed: the writer writes it, and meets the error if there is one.
            Err(_) => DirectWrite::NotNow,
        }
    }

    /// Write what is queued straight to the socket, unless the writer is busy with it (it then
    /// takes the rest itself) or there is no socket to write to (the writer is woken). What the
    /// socket does not take stays queued, in order, for the writer. Never blocks.
    pub(crate) fn flush(&self) {
        let mut state = self.inner.state.lock();
        let frames = state.len();
        if frames == 0 || state.in_flight {
            return;
        }
        // How much the socket took, and of how many bytes.
        let write = |state: &State, direct: &Direct, buf: &mut Vec<u8>| {
            let bytes: &[u8] = match state.queue.only_encoded() {
                Some(bytes) => bytes,
                None => {
                    self.write_batch(&state.queue, buf);
                    buf
                }
            };
            direct.socket.try_write(bytes).ok().map(|n| (n, bytes.len()))
        };
        let written = match (state.direct.as_deref(), self.inner.mode.get()) {
            (Some(direct), Some(_)) if self.inner.encoder.get().is_none() => {
                with_thread_buffer(|buf| match write(&state, direct, buf) {
                    Some((n, len)) if n >= len => {
                        direct.metrics.frames_out.add(frames as u64);
                        Some(None)
                    }
                    // The writer writes the rest, as one frame.
                    Some((n, _)) => {
                        direct.metrics.frames_out.add(frames as u64 - 1);
                        let rest = match state.queue.only_encoded() {
                            Some(bytes) => &bytes[n..],
                            None => &buf[n..],
                        };
                        Some(Some(rest.to_vec()))
                    }
                    None => None,
                })
            }
            _ => None,
        };
        let Some(rest) = written else {
            drop(state);
            self.inner.wake.notify_one();
            return;
        };
        state.last_write = Some(Instant::now());
        state.clear();
        if state.queue.frames.capacity() > KEEP_QUEUE_CAPACITY {
            state.queue.frames = VecDeque::new();
        }
        // A quiet connection keeps no bytes between its lines.
        state.queue.encoded = Vec::new();
        if let Some(rest) = rest {
            state.bytes = rest.len();
            (state.queue.encoded, state.queue.encoded_frames) = (rest, 1);
            drop(state);
            self.inner.wake.notify_one();
        }
    }

    /// Queue a message for this connection alone.
    pub fn send(&self, msg: impl Wire) -> Push {
        self.push(&Frame::new(msg))
    }

    /// Close the outbox after what is queued, with `last` as the final frame. Later pushes are
    /// refused. Returns false (and queues nothing) if it was already closing.
    pub fn close_with(&self, last: Option<Arc<Frame>>) -> bool {
        let mut state = self.inner.state.lock();
        if state.closing {
            return false;
        }
        state.close();
        if let Some(last) = last {
            state.queue.push_frame(last);
        }
        drop(state);
        self.signal_closing();
        true
    }

    /// Close at once, dropping whatever is queued (the writer is gone).
    pub fn abort(&self) {
        let mut state = self.inner.state.lock();
        state.close();
        state.clear();
        drop(state);
        self.signal_closing();
    }

    fn signal_closing(&self) {
        self.inner.closing.cancel();
        self.inner.wake.notify_one();
    }

    /// True once the outbox is closing (nothing more will be queued).
    pub fn is_closing(&self) -> bool {
        self.inner.closing.is_cancelled()
    }

    /// Resolves once the outbox is closing.
    pub async fn closing(&self) {
        self.inner.closing.cancelled().await
    }

    /// True if the outbox closed because the client did not keep up.
    pub fn overflowed(&self) -> bool {
        self.inner.state.lock().overflowed
    }

    /// Frames waiting to be written.
    pub fn len(&self) -> usize {
        self.inner.state.lock().len()
    }

    /// True when nothing is waiting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Wait for frames and move all of them into `batch`. Returns false once the outbox is closed
    /// and everything has been handed out: the batch then holds the last frames, if any.
    ///
    /// An empty `batch` trades places with the queue, so the queue goes on in the writer's last
    /// batch's slots: a busy connection allocates nothing per batch, where moving the frames
    /// over and releasing a grown queue would allocate it again, doubling by doubling, for every
    /// batch. An idle connection gives its slots back ([`Outbox::release_spare`], and the writer its
    /// own batch).
    pub async fn next_batch(&self, batch: &mut Batch) -> bool {
        loop {
            // Register interest before looking, so a push between the look and the wait is seen.
            let notified = self.inner.wake.notified();
            {
                let mut state = self.inner.state.lock();
                if state.len() > 0 || state.closing {
                    // Until the writer says it has written them, nothing may be written directly.
                    state.in_flight = state.len() > 0;
                    if batch.is_empty() {
                        std::mem::swap(&mut state.queue, batch);
                    } else {
                        batch.append(std::mem::take(&mut state.queue));
                    }
                    state.bytes = 0;
                    return !state.closing;
                }
            }
            notified.await;
        }
    }

    /// The writer has written the batch it took: frames may be written directly again.
    /// Returns whether the queue holds slots (the writer then calls [`Outbox::release_spare`] once
    /// the connection has been idle for a while).
    pub fn written(&self) -> bool {
        let mut state = self.inner.state.lock();
        state.in_flight = false;
        let spare = state.queue.holds_memory();
        if state.direct.is_some() {
            state.last_write = Some(Instant::now());
        }
        spare
    }

    /// How many whole frames and encoded bytes the queue has room for without growing (for
    /// tests of the release).
    #[cfg(test)]
    pub(crate) fn queue_capacity(&self) -> (usize, usize) {
        self.inner.state.lock().queue.room()
    }

    /// An idle connection gives back its queue's slots, if its queue is empty: a burst (joining a
    /// room of thousands, each join announced to everyone) would otherwise leave every idle
    /// connection holding its high-water mark.
    pub fn release_spare(&self) {
        let mut state = self.inner.state.lock();
        if state.len() == 0 {
            state.queue = Batch::new();
        }
    }
}

#[cfg(test)]
#[path = "outbox_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "outbox_direct_tests.rs"]
mod direct_tests;
