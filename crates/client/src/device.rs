//! A device for the relay: sends records, waits for their acknowledgements, and after a lost
//! connection reconnects and re-sends everything not yet acknowledged.
//!
//! Records are numbered `first_seq, first_seq + 1, ...` in the order given, so a re-send after a
//! reconnect carries the same `(source, seq)` and the relay stores it once. With
//! [`FirstSeq::Auto`] the device asks the relay for the source's last stored seq and continues
//! after it (so sending a second file appends instead of being taken for a re-send).
//!
//! Acknowledgements are cumulative in send order: `ack(source, seq)` confirms that record and
//! every earlier one of the source on the connection that got no error. Records are sent with a
//! window in flight, many per write. A record the relay refuses (an error naming its seq) is
//! counted as refused and not sent again.
//!
//! With a device token (`--token`, for a relay with `[relay] auth = "tokens"`) every connection
//! presents it first; a relay that refuses it ends the run (another try would not help).

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use sockhub_proto::relay::{RelayEvent, RelayRequest, write_record, write_request};
use sockhub_proto::secret::Secret;
use sockhub_proto::{LineCodec, LineItem};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio_util::codec::FramedRead;

use crate::conn::{self, ClientTls, Endpoint};

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
    /// Give up after this long without any acknowledgement (connected or not).
    pub patience: Duration,
    /// Records per second at most (0: as fast as acknowledgements allow).
    pub rate: u64,
    /// The device token to present after connecting, if the relay requires one.
    pub token: Option<Secret>,
}

/// How it went.
#[derive(Debug, Clone, Default)]
pub struct DeviceReport {
    pub first_seq: i64,
    pub total: usize,
    pub acked: usize,
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
    mut progress: impl FnMut(usize, usize),
) -> DeviceReport {
    let started = Instant::now();
    let total = records.len();
    let mut report = DeviceReport { total, ..Default::default() };
    // Index of the first record not yet settled; records before it are acked or refused.
    let mut settled = 0usize;
    let mut refused = vec![false; 0];
    // Each record's time, fixed when it is first sent, so a re-send is the same record.
    let mut times: Vec<i64> = Vec::new();
    let mut base: Option<i64> = match opts.first_seq {
        FirstSeq::At(s) => Some(s),
        FirstSeq::Auto => None,
    };
    let mut last_progress = Instant::now();
    let mut backoff = Duration::from_millis(100);
    let mut first_connection = true;
    let mut attempt = 0usize;
    let addrs = sockhub_proto::relay::node_addrs(&opts.addr);
    while settled < total || base.is_none() {
        if last_progress.elapsed() >= opts.patience {
            report.gave_up = Some(format!("no acknowledgement for {}s", opts.patience.as_secs()));
            break;
        }
        // Several relay nodes (`a:1,b:2`): the next one after each failed or lost connection.
        let addr = addrs.get(attempt % addrs.len().max(1)).copied().unwrap_or(opts.addr.as_str());
        attempt += 1;
        let to = Endpoint { addr: addr.to_owned(), tls: tls.cloned() };
        let (r, mut w) = match tokio::time::timeout(Duration::from_secs(5), conn::open(&to)).await {
            Ok(Ok(halves)) => halves,
            Ok(Err(e)) if tls.is_some() && first_connection && e.to_string().contains("TLS") => {
                // A certificate that does not verify will not verify on the next try either.
                report.gave_up = Some(e.to_string());
                break;
            }
            _ => {
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(2));
                continue;
            }
        };
        backoff = Duration::from_millis(100);
        if !first_connection {
            report.reconnects += 1;
        }
        first_connection = false;
        let mut lines = FramedRead::new(r, LineCodec::new(1 << 20));
        if let Some(token) = &opts.token {
            match authenticate(&mut lines, &mut w, token).await {
                Some(Ok(())) => {}
                Some(Err(why)) => {
                    report.gave_up = Some(format!("the relay refused the token: {why}"));
                    break;
                }
                None => continue,
            }
        }
        if base.is_none() {
            match ask_last_seq(&mut lines, &mut w, &opts.source).await {
                Some(Ok(last)) => base = Some(last + 1),
                Some(Err(why)) => {
                    report.gave_up = Some(format!("the relay refused to tell the last seq: {why}"));
                    break;
                }
                None => continue,
            }
        }
        let base = base.unwrap_or(0);
        report.first_seq = base;
        if refused.len() != total {
            refused = vec![false; total];
            times = vec![0; total];
        }
        let ended = stream_records(
            opts,
            records,
            base,
            &mut lines,
            &mut w,
            &mut settled,
            &mut refused,
            &mut times,
            &mut report,
            &mut last_progress,
            &mut progress,
        )
        .await;
        if ended {
            break;
        }
    }
    report.acked = settled - report.refused.len().min(settled);
    report.elapsed = started.elapsed();
    report
}

/// Presents the token: `Some(Ok)` when accepted, `Some(Err(why))` when refused, `None` when the
/// connection failed first.
async fn authenticate(
    lines: &mut FramedRead<impl AsyncRead + Unpin, LineCodec>,
    w: &mut (impl AsyncWrite + Unpin),
    token: &Secret,
) -> Option<Result<(), String>> {
    match ask(lines, w, &RelayRequest::Auth { token: token.clone() }).await? {
        RelayEvent::Authenticated { .. } => Some(Ok(())),
        RelayEvent::Error { code, message, .. } => Some(Err(format!("{code}: {message}"))),
        _ => None,
    }
}

async fn ask_last_seq(
    lines: &mut FramedRead<impl AsyncRead + Unpin, LineCodec>,
    w: &mut (impl AsyncWrite + Unpin),
    source: &str,
) -> Option<Result<i64, String>> {
    match ask(lines, w, &RelayRequest::LastSeq { source: source.to_owned() }).await? {
        RelayEvent::LastSeq { seq, .. } => Some(Ok(seq)),
        RelayEvent::Error { code, message, .. } => Some(Err(format!("{code}: {message}"))),
        _ => None,
    }
}

/// Sends `request` and returns the first JSON line that answers (skipping the greeting);
/// `None` if the connection fails or stays silent for 10 s.
async fn ask(
    lines: &mut FramedRead<impl AsyncRead + Unpin, LineCodec>,
    w: &mut (impl AsyncWrite + Unpin),
    request: &RelayRequest,
) -> Option<RelayEvent> {
    let mut buf = Vec::new();
    write_request(&mut buf, request);
    w.write_all(&buf).await.ok()?;
    w.flush().await.ok()?;
    loop {
        let item = tokio::time::timeout(Duration::from_secs(10), lines.next()).await.ok()??.ok()?;
        if let LineItem::Line(l) = item
            && l.starts_with('{')
        {
            return serde_json::from_str::<RelayEvent>(&l).ok();
        }
    }
}

/// One connection's worth of sending. Returns true when done (all settled).
#[allow(clippy::too_many_arguments)]
async fn stream_records(
    opts: &DeviceOptions,
    records: &dyn Records,
    base: i64,
    lines: &mut FramedRead<impl AsyncRead + Unpin, LineCodec>,
    w: &mut (impl AsyncWrite + Unpin),
    settled: &mut usize,
    refused: &mut [bool],
    times: &mut [i64],
    report: &mut DeviceReport,
    last_progress: &mut Instant,
    progress: &mut impl FnMut(usize, usize),
) -> bool {
    let total = records.len();
    // Re-send everything not settled (skipping refused ones).
    let mut next = *settled;
    let mut buf: Vec<u8> = Vec::with_capacity(512 * 1024);
    let mut pos = 0usize;
    let mut unflushed = false;
    let mut payload = String::new();
    let rate_started = Instant::now();
    let rate_base = next;
    loop {
        if *settled >= total {
            return true;
        }
        if pos == buf.len() {
            buf.clear();
            pos = 0;
            let mut allowed = (*settled + opts.window).min(total);
            if opts.rate > 0 {
                let budget =
                    rate_base + (rate_started.elapsed().as_secs_f64() * opts.rate as f64) as usize + 1;
                allowed = allowed.min(budget);
            }
            while next < allowed && buf.len() < 256 * 1024 {
                if !refused[next] {
                    payload.clear();
                    records.payload(next, &mut payload);
                    if times[next] == 0 {
                        times[next] = now_ms();
                    }
                    write_record(&mut buf, &opts.source, base + next as i64, times[next], &payload);
                }
                next += 1;
            }
        }
        if last_progress.elapsed() >= opts.patience {
            report.gave_up = Some(format!("no acknowledgement for {}s", opts.patience.as_secs()));
            return true;
        }
        let wait = opts.patience.saturating_sub(last_progress.elapsed());
        let pacing =
            if pos == buf.len() && next < total && opts.rate > 0 { Duration::from_millis(5) } else { wait };
        tokio::select! {
            // One write at a time (cancel-safe), then a flush: TLS keeps the last record
            // buffered until flushed (for TCP it is a no-op).
            r = async {
                if pos < buf.len() { w.write(&buf[pos..]).await.map(Some) } else { w.flush().await.map(|()| None) }
            }, if pos < buf.len() || unflushed => match r {
                Ok(Some(n)) if n > 0 => {
                    pos += n;
                    unflushed = true;
                }
                Ok(None) => unflushed = false,
                _ => return false,
            },
            item = lines.next() => match item {
                None | Some(Err(_)) => return false,
                Some(Ok(LineItem::Line(l))) if l.starts_with('{') => {
                    match serde_json::from_str::<RelayEvent>(&l) {
                        Ok(RelayEvent::Ack(a)) if a.source == opts.source => {
                            let idx = a.seq - base;
                            if idx >= 0 && (idx as usize) < total && idx as usize >= *settled {
                                *settled = idx as usize + 1;
                                *last_progress = Instant::now();
                                progress(*settled, total);
                            }
                        }
                        Ok(RelayEvent::Error { code, message, seq: Some(seq), .. }) => {
                            let idx = seq - base;
                            if idx >= 0 && (idx as usize) < total && !refused[idx as usize] {
                                refused[idx as usize] = true;
                                report.refused.push((seq, format!("{code}: {message}")));
                                if idx as usize == *settled {
                                    *settled += 1;
                                }
                                *last_progress = Instant::now();
                            }
                        }
                        Ok(RelayEvent::Bye { .. }) => return false,
                        _ => {}
                    }
                    // Refused records right after the settled prefix settle too.
                    while *settled < total && refused[*settled] {
                        *settled += 1;
                    }
                }
                Some(Ok(_)) => {}
            },
            _ = tokio::time::sleep(pacing) => {}
        }
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
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
