//! The device's loop: read lines as they come, number them, spool them, send them within the
//! window, settle them as acknowledgements (or refusals) arrive, and after a lost connection
//! open another and send again everything unsettled.
//!
//! Everything happens in one task with one `select!`: the input, the connection's reads and
//! writes, the stop signal and a tick for the clocks. Input is taken only while there is room
//! (fewer than `max_pending` records and `max_pending_bytes` unsettled), also while the relay is
//! unreachable, so a spool fills up during an outage and empties after it.

use std::collections::VecDeque;
use std::future::Future;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use sockhub_i18n::t;
use sockhub_proto::LineItem;
use sockhub_proto::relay::{RelayEvent, node_addrs, write_record};
use tokio::io::AsyncWriteExt;
use tokio_util::sync::CancellationToken;

use super::input::{FilePos, Input, InputEvent};
use super::link::{self, Link, Refused};
use super::spool::{Spool, Spooled};
use super::{DeviceOptions, DeviceReport, FirstSeq, StreamOptions};
use crate::conn::ClientTls;

/// Bytes of records written per write call at most.
const WRITE_CHUNK: usize = 256 * 1024;
/// Lines taken from the input at once at most (one spool write and `fsync` for all of them).
const INPUT_BATCH: usize = 1024;
/// How often the loop looks at its clocks when nothing else happens.
const TICK: Duration = Duration::from_millis(100);
/// Spool bytes counted per record beyond its payload (the JSON around it), for compaction.
const SPOOL_OVERHEAD: usize = 96;
/// At most this many reasons for skipped lines are kept for the report.
const SKIPPED_KEPT: usize = 20;

/// Streams records from the input made by `make_input` (given the position a spool recorded in
/// a followed file) until the input ends or `stop` is cancelled, and everything read is settled
/// or the device gives up. `progress(acked, total)` follows the acknowledgements. Fails only
/// when the spool cannot be used.
pub async fn stream<'a>(
    opts: &'a DeviceOptions,
    limits: &'a StreamOptions,
    tls: Option<&ClientTls>,
    make_input: impl FnOnce(Option<FilePos>) -> Input<'a>,
    stop: CancellationToken,
    progress: impl FnMut(usize, usize),
) -> std::io::Result<DeviceReport> {
    let started = Instant::now();
    let mut spool = None;
    let mut state = super::SpoolState::default();
    if let Some(dir) = &limits.spool {
        let (s, st) = Spool::open(dir, &opts.source)?;
        (spool, state) = (Some(s), st);
    }
    let next_seq = state.next_seq.or(match opts.first_seq {
        FirstSeq::At(s) => Some(s),
        FirstSeq::Auto => None,
    });
    let mut d = Device {
        opts,
        limits,
        input: make_input(state.pos),
        input_done: false,
        pending_bytes: state.records.iter().map(|r| r.payload.len()).sum(),
        pending: state.records.into(),
        sent: 0,
        next_seq,
        pos: state.pos,
        spool,
        report: DeviceReport::default(),
        last_progress: Instant::now(),
        stop_deadline: None,
        progress,
    };
    d.report.restored = d.pending.len();
    d.report.total = d.pending.len();
    d.report.first_seq = d.pending.front().map(|r| r.seq).or(d.next_seq).unwrap_or(0);
    d.report.last_seq = d.pending.back().map(|r| r.seq);
    d.run(tls, &stop).await?;
    d.report.unsettled = d.pending.len();
    d.report.elapsed = started.elapsed();
    if let Some(s) = &mut d.spool {
        s.rewrite(d.next_seq, d.pos, d.pending.iter())?;
    }
    Ok(d.report)
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

struct Device<'a, P> {
    opts: &'a DeviceOptions,
    limits: &'a StreamOptions,
    input: Input<'a>,
    input_done: bool,
    /// Records read and not settled, by seq.
    pending: VecDeque<Spooled>,
    pending_bytes: usize,
    /// How many records at the front of `pending` were sent on the current connection.
    sent: usize,
    /// The seq of the next record read (`None` until the relay told the last one).
    next_seq: Option<i64>,
    /// Where the last line read ended in a followed file.
    pos: Option<FilePos>,
    spool: Option<Spool>,
    report: DeviceReport,
    /// The last acknowledgement, or when records began to be outstanding.
    last_progress: Instant,
    /// Set when told to stop: give up at this instant.
    stop_deadline: Option<Instant>,
    progress: P,
}

/// How a connection ended.
enum Turn {
    Done,
    Lost,
}

impl<P: FnMut(usize, usize)> Device<'_, P> {
    async fn run(&mut self, tls: Option<&ClientTls>, stop: &CancellationToken) -> std::io::Result<()> {
        let addrs = node_addrs(&self.opts.addr);
        let mut attempt = 0usize;
        let mut backoff = Duration::from_millis(100);
        let mut first = true;
        loop {
            if self.finished() || self.give_up() {
                return Ok(());
            }
            // Several relay nodes (`a:1,b:2`): the next one after each failed or lost connection.
            let addr = addrs.get(attempt % addrs.len().max(1)).copied().unwrap_or(self.opts.addr.as_str());
            attempt += 1;
            let ask_seq = self.next_seq.is_none();
            let opened = link::open(addr, tls, self.opts.token.as_ref(), &self.opts.source, ask_seq, first);
            let link = match self.meanwhile(opened, stop).await? {
                None => continue,
                Some(Ok(link)) => link,
                Some(Err(Refused::Fatal(why))) => {
                    self.report.gave_up = Some(why);
                    return Ok(());
                }
                Some(Err(Refused::Retry)) => {
                    self.meanwhile(tokio::time::sleep(backoff), stop).await?;
                    backoff = (backoff * 2).min(Duration::from_secs(2));
                    continue;
                }
            };
            backoff = Duration::from_millis(100);
            if !first {
                self.report.reconnects += 1;
            }
            first = false;
            if let (None, Some(last)) = (self.next_seq, link.last_seq) {
                self.next_seq = Some(last + 1);
                self.report.first_seq = last + 1;
            }
            self.sent = 0;
            if let Turn::Done = self.connected(link, stop).await? {
                return Ok(());
            }
        }
    }

    /// Runs `fut` while taking input and watching `stop`; `None` if the run should end first.
    async fn meanwhile<T>(
        &mut self,
        fut: impl Future<Output = T>,
        stop: &CancellationToken,
    ) -> std::io::Result<Option<T>> {
        tokio::pin!(fut);
        loop {
            tokio::select! {
                r = &mut fut => return Ok(Some(r)),
                ev = self.input.next(), if self.room() => self.take(ev)?,
                _ = stop.cancelled(), if self.stop_deadline.is_none() => self.stopping(),
                _ = tokio::time::sleep(TICK) => {}
            }
            if self.finished() || self.give_up() {
                return Ok(None);
            }
        }
    }

    /// One connection's worth of sending.
    async fn connected(&mut self, link: Link, stop: &CancellationToken) -> std::io::Result<Turn> {
        let Link { mut lines, mut w, .. } = link;
        let mut buf: Vec<u8> = Vec::with_capacity(64 * 1024);
        let mut written = 0usize;
        let mut unflushed = false;
        let rate_started = Instant::now();
        let mut sent_here = 0usize;
        loop {
            if self.finished() || self.give_up() {
                return Ok(Turn::Done);
            }
            if written == buf.len() {
                buf.clear();
                written = 0;
                let mut allowed = self.pending.len().min(self.opts.window.max(1));
                if self.opts.rate > 0 {
                    let due = (rate_started.elapsed().as_secs_f64() * self.opts.rate as f64) as usize + 1;
                    allowed = allowed.min(self.sent + due.saturating_sub(sent_here));
                }
                while self.sent < allowed && buf.len() < WRITE_CHUNK {
                    let r = &self.pending[self.sent];
                    write_record(&mut buf, &self.opts.source, r.seq, r.at, &r.payload);
                    self.sent += 1;
                    sent_here += 1;
                }
            }
            let paced = written == buf.len() && self.sent < self.pending.len() && self.opts.rate > 0;
            tokio::select! {
                // One write at a time (cancel-safe), then a flush: TLS keeps the last record
                // buffered until flushed (for TCP it is a no-op).
                r = async {
                    if written < buf.len() { w.write(&buf[written..]).await.map(Some) } else { w.flush().await.map(|()| None) }
                }, if written < buf.len() || unflushed => match r {
                    Ok(Some(n)) if n > 0 => {
                        written += n;
                        unflushed = true;
                    }
                    Ok(None) => unflushed = false,
                    _ => return Ok(Turn::Lost),
                },
                item = lines.next() => match item {
                    None | Some(Err(_)) => return Ok(Turn::Lost),
                    Some(Ok(LineItem::Line(l))) if l.starts_with('{') => {
                        if !self.answer(&l)? {
                            return Ok(Turn::Lost);
                        }
                    }
                    Some(Ok(_)) => {}
                },
                ev = self.input.next(), if self.room() => self.take(ev)?,
                _ = stop.cancelled(), if self.stop_deadline.is_none() => self.stopping(),
                _ = tokio::time::sleep(if paced { Duration::from_millis(5) } else { TICK }) => {}
            }
        }
    }

    /// Handles one JSON line from the relay; false when the relay said goodbye.
    fn answer(&mut self, line: &str) -> std::io::Result<bool> {
        match serde_json::from_str::<RelayEvent>(line) {
            Ok(RelayEvent::Ack(a)) if a.source == self.opts.source => {
                let mut n = 0;
                while self.pending.front().is_some_and(|r| r.seq <= a.seq) {
                    if let Some(r) = self.pending.pop_front() {
                        self.pending_bytes -= r.payload.len();
                    }
                    n += 1;
                }
                if n > 0 {
                    self.sent = self.sent.saturating_sub(n);
                    self.report.acked += n;
                    self.settled()?;
                    if let Some(s) = &mut self.spool {
                        s.acked(a.seq)?;
                    }
                }
            }
            Ok(RelayEvent::Error { code, message, seq: Some(seq), source })
                if source.as_deref().is_none_or(|s| s == self.opts.source) =>
            {
                if let Ok(i) = self.pending.binary_search_by_key(&seq, |r| r.seq) {
                    if let Some(r) = self.pending.remove(i) {
                        self.pending_bytes -= r.payload.len();
                    }
                    if i < self.sent {
                        self.sent -= 1;
                    }
                    self.report.refused.push((seq, format!("{code}: {message}")));
                    self.settled()?;
                    if let Some(s) = &mut self.spool {
                        s.refused(seq)?;
                    }
                }
            }
            Ok(RelayEvent::Bye { .. }) => return Ok(false),
            _ => {}
        }
        Ok(true)
    }

    /// Records were settled: progress, and a compacted spool if it grew.
    fn settled(&mut self) -> std::io::Result<()> {
        self.last_progress = Instant::now();
        (self.progress)(self.report.acked, self.report.total);
        if let Some(s) = &mut self.spool {
            let owed = self.pending_bytes + SPOOL_OVERHEAD * self.pending.len();
            s.maybe_compact(owed as u64, self.next_seq, self.pos, self.pending.iter())?;
        }
        Ok(())
    }

    /// Whether input may be taken now.
    fn room(&self) -> bool {
        self.next_seq.is_some()
            && !self.input_done
            && self.stop_deadline.is_none()
            && self.pending.len() < self.limits.max_pending
            && self.pending_bytes < self.limits.max_pending_bytes
    }

    /// Takes `first` and whatever else the input has ready (while there is room), spools the
    /// new records, then queues them for sending.
    fn take(&mut self, first: Option<InputEvent>) -> std::io::Result<()> {
        let mut new: Vec<Spooled> = Vec::new();
        let mut new_bytes = 0;
        let mut ev = first;
        let mut seq = self.next_seq.unwrap_or(1);
        loop {
            match ev {
                None => {
                    self.input_done = true;
                    break;
                }
                Some(InputEvent::Line { text, pos }) => {
                    new_bytes += text.len();
                    new.push(Spooled { seq, at: now_ms(), payload: text, pos });
                    seq += 1;
                    self.pos = pos.or(self.pos);
                }
                Some(InputEvent::Skipped(why)) => {
                    self.report.skipped += 1;
                    if self.report.skipped_why.len() < SKIPPED_KEPT {
                        self.report.skipped_why.push(why);
                    }
                }
                Some(InputEvent::Failed(why)) => {
                    self.report.input_error = Some(why);
                    self.input_done = true;
                    break;
                }
            }
            let room = self.pending.len() + new.len() < self.limits.max_pending
                && self.pending_bytes + new_bytes < self.limits.max_pending_bytes;
            if !room || new.len() >= INPUT_BATCH {
                break;
            }
            match self.input.try_next() {
                Some(next) => ev = next,
                None => break,
            }
        }
        if new.is_empty() {
            return Ok(());
        }
        if let Some(s) = &mut self.spool {
            s.append(new.iter())?;
        }
        self.next_seq = Some(seq);
        if self.pending.is_empty() {
            self.last_progress = Instant::now();
        }
        if self.report.total == 0 {
            self.report.first_seq = new[0].seq;
        }
        self.report.total += new.len();
        self.report.last_seq = Some(seq - 1);
        self.pending_bytes += new_bytes;
        self.pending.extend(new);
        (self.progress)(self.report.acked, self.report.total);
        Ok(())
    }

    fn stopping(&mut self) {
        self.stop_deadline = Some(Instant::now() + self.limits.drain_timeout);
    }

    /// Nothing more to read and nothing outstanding.
    fn finished(&self) -> bool {
        self.pending.is_empty() && (self.input_done || self.stop_deadline.is_some())
    }

    /// Whether to give up now (the reason goes into the report).
    fn give_up(&mut self) -> bool {
        let idle = self.last_progress.elapsed();
        let waiting = !self.pending.is_empty() || self.next_seq.is_none();
        let patience = self.opts.patience;
        let why = if self.stop_deadline.is_some_and(|d| Instant::now() >= d) {
            t!("device-stopped", secs = self.limits.drain_timeout.as_secs())
        } else if waiting && self.input_done && idle >= self.limits.drain_timeout {
            t!("device-no-ack-after-end", secs = self.limits.drain_timeout.as_secs())
        } else if waiting && !patience.is_zero() && idle >= patience {
            t!("device-no-ack", secs = patience.as_secs())
        } else {
            return false;
        };
        self.report.gave_up = Some(why);
        true
    }
}
