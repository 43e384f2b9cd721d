//! A device for the relay: sends records as its input produces them, waits for their
//! acknowledgements, and after a lost connection reconnects and re-sends everything not yet
//! acknowledged.
//!
//! Input ([`input`]) is stdin, a file, a file followed like `tail -F`, or records in memory;
//! each line becomes a record the moment it is read ([`stream`]). Reading pauses while
//! [`StreamOptions::max_pending`] records (or `max_pending_bytes`) are unsettled: backpressure
//! reaches the writer of the pipe or simply leaves the followed file unread; nothing is dropped.
//! A spool ([`spool`], `--spool DIR`) keeps the unsettled records and the numbering on disk,
//! so a device that is killed or rebooted goes on where it stopped, losing and duplicating
//! nothing.
//!
//! Records are numbered `first_seq, first_seq + 1, ...` in the order read, so a re-send after a
//! reconnect carries the same `(source, seq)` and the relay stores it once. With
//! [`FirstSeq::Auto`] the device asks the relay for the source's last stored seq and continues
//! after it (so sending a second file appends instead of being taken for a re-send); a spool's
//! numbering, when it has one, comes first.
//!
//! Acknowledgements are cumulative in send order: `ack(source, seq)` confirms that record and
//! every earlier one of the source on the connection that got no error. Records are sent with a
//! window in flight, many per write. A record the relay refuses (an error naming its seq) is
//! counted as refused and not sent again.
//!
//! With a device token (`--token`, for a relay with `[relay] auth = "tokens"`) every connection
//! presents it first; a relay that refuses it ends the run (another try would not help).
//!
//! Ending: at the end of input the device waits for what is outstanding, giving up once no
//! acknowledgement came for [`StreamOptions::drain_timeout`]; told to stop (Ctrl-C, SIGTERM) it
//! stops reading and waits at most that long. Either way the report says what was acknowledged.

mod input;
mod link;
mod spool;
mod stream;

use std::path::PathBuf;
use std::time::Duration;

use sockhub_proto::secret::Secret;
use tokio_util::sync::CancellationToken;

pub use self::input::{FilePos, Input, InputEvent, file, follow, stdin};
pub use self::spool::{SpoolState, Spooled, inspect as inspect_spool};
pub use self::stream::stream;
use crate::conn::ClientTls;

/// Where numbering starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirstSeq {
    /// After the last seq the relay has stored for the source.
    Auto,
    At(i64),
}

/// What to send.
pub trait Records: Sync {
    /// How many.
    fn len(&self) -> usize;
    /// The payload of record `i` (appended to `out`).
    fn payload(&self, i: usize, out: &mut String);
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Records for Vec<String> {
    fn len(&self) -> usize {
        self.len()
    }
    fn payload(&self, i: usize, out: &mut String) {
        out.push_str(&self[i]);
    }
}

/// `count` synthetic payloads of `size` bytes each (for load tests).
pub struct Generated {
    pub count: usize,
    pub size: usize,
}

impl Records for Generated {
    fn len(&self) -> usize {
        self.count
    }
    fn payload(&self, i: usize, out: &mut String) {
        use std::fmt::Write;
        let _ = write!(out, "record {i} ");
        while out.len() < self.size {
            out.push(char::from(b'a' + (out.len() % 26) as u8));
        }
        out.truncate(self.size.max(1));
    }
}

/// Settings.
#[derive(Debug, Clone)]
pub struct DeviceOptions {
    /// `host:port` of the relay, or several separated by commas (nodes of one cluster): the
    /// device moves to the next whenever a connection fails or is lost.
    pub addr: String,
    pub source: String,
    pub first_seq: FirstSeq,
    /// Records in flight at most.
    pub window: usize,
    /// Give up after this long without any acknowledgement while records are outstanding
    /// (connected or not). Zero: never.
    pub patience: Duration,
    /// Records per second at most (0: as fast as acknowledgements allow).
    pub rate: u64,
    /// The device token to present after connecting, if the relay requires one.
    pub token: Option<Secret>,
}

/// How it went.
#[derive(Debug, Clone, Default)]
pub struct DeviceReport {
    /// The seq of the first record of this run (spooled ones included).
    pub first_seq: i64,
    /// The seq of the last record of this run, if there was one.
    pub last_seq: Option<i64>,
    /// Records of this run: found in the spool, then read.
    pub total: usize,
    /// Of them, found in the spool (left over from an earlier run).
    pub restored: usize,
    pub acked: usize,
    /// Input lines that could not be records (too long, not UTF-8).
    pub skipped: usize,
    /// Why (the first few).
    pub skipped_why: Vec<String>,
    /// Set when reading the input failed (the input ended there).
    pub input_error: Option<String>,
    /// Records neither acknowledged nor refused at the end (kept in the spool, if any).
    pub unsettled: usize,
    /// `(seq, reason)` of records the relay refused.
    pub refused: Vec<(i64, String)>,
    pub reconnects: u32,
    pub elapsed: Duration,
    /// Set when the device gave up.
    pub gave_up: Option<String>,
}

impl DeviceReport {
    /// Everything acknowledged.
    pub fn complete(&self) -> bool {
        self.acked == self.total
    }
}

/// Limits and behaviour of a streaming device ([`stream`]).
#[derive(Debug, Clone)]
pub struct StreamOptions {
    /// Records read and not yet settled, at most: when reached, reading input pauses.
    pub max_pending: usize,
    /// Payload bytes of those records, at most (the same pause).
    pub max_pending_bytes: usize,
    /// After a stop ([`stream`]'s `stop`), wait at most this long for outstanding acks; after
    /// the end of input, give up once no ack came for this long.
    pub drain_timeout: Duration,
    /// Keep unsettled records (and the numbering) in this directory across restarts.
    pub spool: Option<PathBuf>,
}

impl Default for StreamOptions {
    fn default() -> Self {
        StreamOptions {
            max_pending: DEFAULT_MAX_PENDING,
            max_pending_bytes: DEFAULT_MAX_PENDING_BYTES,
            drain_timeout: DEFAULT_DRAIN_TIMEOUT,
            spool: None,
        }
    }
}

/// Default of [`StreamOptions::max_pending`].
pub const DEFAULT_MAX_PENDING: usize = 100_000;
/// Default of [`StreamOptions::max_pending_bytes`]: 64 MiB.
pub const DEFAULT_MAX_PENDING_BYTES: usize = 64 << 20;
/// Default of [`StreamOptions::drain_timeout`].
pub const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// Send every record; `progress(acked, total)` is called as acknowledgements arrive.
pub async fn run(
    opts: &DeviceOptions,
    records: &(dyn Records + Sync),
    progress: impl FnMut(usize, usize),
) -> DeviceReport {
    run_over(opts, None, records, progress).await
}

/// [`run`], over TLS when `tls` is given (the relay's TLS port).
pub async fn run_over(
    opts: &DeviceOptions,
    tls: Option<&ClientTls>,
    records: &(dyn Records + Sync),
    progress: impl FnMut(usize, usize),
) -> DeviceReport {
    // Everything is in memory already: no pause needed for memory's sake, only the window.
    let limits = StreamOptions {
        max_pending: records.len().clamp(1, DEFAULT_MAX_PENDING),
        max_pending_bytes: usize::MAX,
        drain_timeout: opts.patience,
        spool: None,
    };
    let input = |_| Input::Records { records, next: 0 };
    match stream(opts, &limits, tls, input, CancellationToken::new(), progress).await {
        Ok(report) => report,
        Err(e) => DeviceReport { gave_up: Some(e.to_string()), ..Default::default() },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_payloads_have_the_size_asked() {
        let g = Generated { count: 3, size: 200 };
        let mut s = String::new();
        g.payload(2, &mut s);
        assert_eq!(s.len(), 200);
        assert!(s.starts_with("record 2 "));
    }
}
