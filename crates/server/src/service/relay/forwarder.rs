//! The forwarder: streams queued records to `downstream` and marks them forwarded when
//! downstream acknowledges them.
//!
//! **Where records come from.** While it keeps up, from the ingest task's inbox: each committed
//! batch's forwardable records, in memory. After a (re)connect, when the inbox overflowed (it
//! is bounded: the forwarder fell behind), or when records were queued again (a resend), from
//! the database: per source, queued records from the source's scan floor upwards, a chunk at a
//! time, sources taken in turn. Both paths can offer the same record; a set of *claimed* keys —
//! records sent or about to be sent on this connection and not yet confirmed durable as
//! forwarded — makes each go out once. A key leaves the set only after the ingest task has
//! committed the record's new state, so a scan can never find it `queued` again afterwards.
//!
//! While a source is being scanned, its records in the inbox are left to the scan, so that each
//! source goes out in order.
//!
//! **The window.** At most `window` records are in flight; they are encoded into one buffer and
//! written in large writes. Acks are cumulative per source in send order: an ack for
//! `(source, seq)` settles that record and every record of the source sent before it. The acked
//! records go to the ingest task as one mark per ack, which it commits with its next batch. The
//! window's bookkeeping (claimed, waiting, in flight, refused, awaiting commit) is
//! [`super::window::Window`], which does no I/O; this module is the driver around it: the
//! connection, the database scan, the timers and the role in a cluster.
//!
//! **Refusals.** A record downstream answers with an error (too large, malformed for it) is
//! retried after a growing delay; after `max_attempts` it is held with the reason. Refusals no
//! retry can change — `seq_conflict` (downstream holds another payload under the seq),
//! `forbidden` (our token does not cover the source), `bad_seq` — hold it at once, so they never
//! wedge the stream; `sockhub relay records --state held` shows them with the reason.
//!
//! **Tokens.** With `relay.downstream_token` set, every connection presents it (`auth`) before
//! the reconcile; a refusal ends the connection (and is shown as the link's last error), as does
//! an `unauthorized` later on. Records
//! behind it are not held up. If downstream sends errors that name no record (a line too long
//! for it) and then stops acknowledging, the oldest unacknowledged record is charged an attempt
//! at each acknowledgement timeout.
//!
//! **Disconnects.** Everything in flight is simply forgotten: it is still `queued` in the
//! database, and the next connection's scan sends it again. Downstream stores each record once
//! (idempotent on `(source, seq)`), so a record whose ack was lost is acknowledged again, not
//! duplicated. Reconnects back off from `retry_initial_ms` to `retry_max_ms`, and every new
//! connection starts with a reconcile before records flow. `downstream` may list several nodes
//! of a downstream cluster: after a failure the next one is tried.
//!
//! **In a cluster** the forwarder first waits for the forwarder role (one node of the cluster
//! forwards at a time; see the module documentation of [`super`]), and, while connected,
//! checks it every `cluster_poll_ms`: losing it ends the connection; keeping it rescans every
//! source the counters show with queued records, which is how records ingested on the other
//! nodes are found (the claimed set keeps anything already on its way from going out twice).

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures_util::StreamExt;
use sockhub_proto::ErrorCode;
use sockhub_proto::relay::{RelayEvent, RelayRequest, write_request};
use sockhub_proto::{LineCodec, LineItem};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio_util::codec::FramedRead;
use tracing::{debug, info, warn};

use super::window::{Refusal, Window, WindowLimits};
use super::{
    Control, FORWARDER_ROLE, FwdControl, FwdRecord, LinkState, Mark, ReconcileCause, RelayError, Shared,
    now_ms, reconcile,
};

/// Records read from the database per scan query.
const SCAN_CHUNK: u32 = 1024;
/// A write buffer is filled up to about this many bytes before it is written.
const WRITE_CHUNK: usize = 256 * 1024;
/// Longest line accepted from downstream (a reconcile listing can be long).
const MAX_REPLY_LINE: usize = 8 * 1024 * 1024;
/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Either half of a plain or TLS connection to downstream.
type ReadHalf = Box<dyn AsyncRead + Send + Unpin>;
type WriteHalf = Box<dyn AsyncWrite + Send + Unpin>;

/// One connection to downstream.
pub(crate) struct Link {
    pub lines: FramedRead<ReadHalf, LineCodec>,
    pub w: WriteHalf,
}

impl Link {
    /// Sends a request and waits for its reply (an event other than an ack), skipping text
    /// lines. Used only while nothing is in flight (reconcile).
    pub async fn request(&mut self, req: &RelayRequest, timeout: Duration) -> Result<RelayEvent, RelayError> {
        let mut buf = Vec::new();
        write_request(&mut buf, req);
        tokio::time::timeout(timeout, async {
            self.w.write_all(&buf).await?;
            self.w.flush().await
        })
        .await
        .map_err(|_| RelayError::TimedOut("sending a request"))?
        .map_err(RelayError::Write)?;
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let item = tokio::time::timeout_at(deadline, self.lines.next())
                .await
                .map_err(|_| RelayError::TimedOut("waiting for a reply"))?;
            match item {
                None | Some(Err(_)) => return Err(RelayError::Closed),
                Some(Ok(LineItem::Line(line))) => {
                    if !line.starts_with('{') {
                        continue;
                    }
                    match serde_json::from_str::<RelayEvent>(&line) {
                        Ok(RelayEvent::Ack(_)) => continue,
                        Ok(RelayEvent::Bye { reason }) => return Err(RelayError::Bye(reason.to_string())),
                        Ok(RelayEvent::Error { code: ErrorCode::Unauthorized, message, .. }) => {
                            return Err(RelayError::Unauthorized(message.to_string()));
                        }
                        Ok(ev) => return Ok(ev),
                        Err(e) => return Err(RelayError::Unreadable { line, error: e.to_string() }),
                    }
                }
                Some(Ok(_)) => return Err(RelayError::BadLine),
            }
        }
    }
}

pub(crate) struct Forwarder {
    shared: Arc<Shared>,
    marks_tx: mpsc::Sender<Mark>,
    committed_rx: watch::Receiver<u64>,
    control_rx: mpsc::Receiver<FwdControl>,
    ingest_control: mpsc::Sender<Control>,
    /// Claimed, waiting, in-flight and refused records: the window's rules, without I/O.
    window: Window,
    /// Sources to read from the database, with the next seq to read.
    scan: VecDeque<(Arc<str>, i64)>,
    /// Reconciles to run once nothing is in flight.
    pending_reconcile: Vec<(ReconcileCause, Option<i64>)>,
    /// An error downstream sent that named no record, on this connection.
    unattributed: Option<String>,
}

impl Forwarder {
    pub(crate) fn new(
        shared: Arc<Shared>,
        marks_tx: mpsc::Sender<Mark>,
        committed_rx: watch::Receiver<u64>,
        control_rx: mpsc::Receiver<FwdControl>,
        ingest_control: mpsc::Sender<Control>,
    ) -> Forwarder {
        let settings = &shared.settings;
        let window = Window::new(WindowLimits {
            limit: settings.window,
            max_attempts: settings.max_attempts,
            retry_initial: settings.retry_initial,
            retry_max: settings.retry_max,
        });
        Forwarder {
            shared,
            marks_tx,
            committed_rx,
            control_rx,
            ingest_control,
            window,
            scan: VecDeque::new(),
            pending_reconcile: Vec::new(),
            unattributed: None,
        }
    }

    pub(crate) async fn run(mut self) {
        let targets: Vec<String> =
            sockhub_proto::relay::node_addrs(self.shared.settings.downstream.as_deref().unwrap_or_default())
                .into_iter()
                .map(str::to_owned)
                .collect();
        if targets.is_empty() {
            // The configuration's validation refuses this; a forwarder has nowhere to go.
            warn!("relay: no downstream address; not forwarding");
            return;
        }
        let mut next = 0usize;
        let mut backoff = self.shared.settings.retry_initial;
        let mut first = true;
        while !self.shared.shutdown.is_cancelled() {
            if !self.wait_for_role().await {
                break;
            }
            // Several downstream nodes: the next one after each failure.
            let downstream = targets[next % targets.len()].clone();
            next += 1;
            self.shared.link.lock().downstream = Some(downstream.clone());
            self.set_link(LinkState::Connecting, None);
            let connected = tokio::select! {
                r = tokio::time::timeout(CONNECT_TIMEOUT, self.connect(&downstream)) => r,
                _ = self.shared.shutdown.cancelled() => break,
            };
            match connected {
                Ok(Ok((r, w))) => {
                    backoff = self.shared.settings.retry_initial;
                    if !first {
                        self.shared.link.lock().reconnects += 1;
                    }
                    first = false;
                    info!(%downstream, "relay: connected downstream");
                    let why = self.session(r, w).await;
                    self.send_marks().await;
                    // A connection that worked is tried again first.
                    next -= 1;
                    self.forget_connection();
                    if self.shared.shutdown.is_cancelled() {
                        break;
                    }
                    warn!(%downstream, reason = %why, "relay: downstream connection lost; will reconnect");
                    self.set_link(LinkState::Down, Some(why));
                }
                Ok(Err(e)) => {
                    debug!(%downstream, error = %e, "relay: cannot connect downstream");
                    self.set_link(LinkState::Down, Some(format!("cannot connect: {e}")));
                }
                Err(_) => self.set_link(LinkState::Down, Some("connect timed out".into())),
            }
            // Requests that came while down still need an answer.
            while let Ok(c) = self.control_rx.try_recv() {
                self.on_control(c);
            }
            self.fail_pending_reconciles("downstream is not connected").await;
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {}
                _ = self.shared.shutdown.cancelled() => break,
                Some(c) = self.control_rx.recv() => self.on_control(c),
            }
            backoff = (backoff * 2).min(self.shared.settings.retry_max);
        }
        self.set_link(LinkState::Down, Some("server shutting down".into()));
        debug!("relay forwarder stopped");
    }

    /// In a cluster, wait until this node holds the forwarder role; on a single node it always
    /// does. Returns false if the server shuts down first.
    async fn wait_for_role(&mut self) -> bool {
        let mut standing_by = false;
        loop {
            match self.shared.bus.hold(FORWARDER_ROLE).await {
                Ok(true) => {
                    if !self.shared.holder.swap(true, Ordering::Relaxed) && self.shared.clustered {
                        info!("relay: this node is the cluster's forwarder now");
                        super::ingest::settle_interrupted_requests(&self.shared.store).await;
                    }
                    return true;
                }
                Ok(false) => {
                    self.shared.holder.store(false, Ordering::Relaxed);
                    if !standing_by {
                        info!("relay: another node of the cluster forwards; standing by");
                        self.set_link(LinkState::Standby, None);
                        standing_by = true;
                    }
                }
                Err(e) => {
                    self.shared.holder.store(false, Ordering::Relaxed);
                    debug!(error = %e, "relay: cannot check the forwarder role");
                    self.set_link(LinkState::Standby, Some(format!("cannot check the forwarder role: {e}")));
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(self.shared.settings.cluster_poll) => {}
                _ = self.shared.shutdown.cancelled() => return false,
                Some(c) = self.control_rx.recv() => self.on_control(c),
            }
            self.fail_pending_reconciles("this node does not forward: another node of the cluster does")
                .await;
        }
    }

    /// The forwarding node of a cluster: is it still, and what did the other nodes queue? `Some`
    /// ends the connection (the role went to another node).
    async fn check_role(&mut self) -> Option<String> {
        match self.shared.bus.hold(FORWARDER_ROLE).await {
            Ok(true) => {
                // Sources with more queued records, by the counters (re-read from the database by
                // the ingest task), than this forwarder has on their way: records other nodes took
                // in are found by this scan. A source whose queued records all came through this
                // node's inbox is left alone, so its records keep coming from memory.
                let mine = self.window.claimed_per_source();
                let busy: Vec<Arc<str>> = self
                    .shared
                    .sources
                    .read()
                    .iter()
                    .filter(|(k, s)| s.queued > mine.get(&***k).copied().unwrap_or(0))
                    .map(|(k, _)| k.clone())
                    .collect();
                if !busy.is_empty() {
                    self.on_control(FwdControl::Rescan(busy));
                }
                None
            }
            Ok(false) => {
                self.shared.holder.store(false, Ordering::Relaxed);
                warn!(
                    "relay: another node of the cluster holds the forwarder role now; this node stops forwarding"
                );
                Some("the forwarder role moved to another node".into())
            }
            // The database is unreachable: keep going. Marks cannot commit meanwhile; if this
            // lasts beyond the node timeout another node takes over, and downstream's unique key
            // makes the overlap harmless.
            Err(e) => {
                debug!(error = %e, "relay: cannot confirm the forwarder role");
                None
            }
        }
    }

    fn set_link(&self, state: LinkState, error: Option<String>) {
        let mut link = self.shared.link.lock();
        if link.state != state {
            link.state = state;
            link.since_ms = now_ms();
        }
        if error.is_some() {
            link.last_error = error;
        }
        link.in_flight = self.window.in_flight() as u64;
    }

    /// Connect to `downstream`, with the TLS handshake when `downstream_tls` is set (its files
    /// are read here, at every connection).
    async fn connect(&self, downstream: &str) -> std::io::Result<(ReadHalf, WriteHalf)> {
        let stream = TcpStream::connect(downstream).await?;
        let _ = stream.set_nodelay(true);
        let Some(tls) = &self.shared.settings.downstream_tls else {
            let (r, w) = stream.into_split();
            return Ok((Box::new(r), Box::new(w)));
        };
        let client = tls.client().map_err(|e| std::io::Error::other(format!("TLS settings: {e}")))?;
        let stream = client.connect(sockhub_tls::host_of(downstream), stream).await?;
        let (r, w) = tokio::io::split(stream);
        Ok((Box::new(r), Box::new(w)))
    }

    /// One connection, until it fails. Returns why it ended.
    async fn session(&mut self, r: ReadHalf, w: WriteHalf) -> String {
        let mut link = Link { lines: FramedRead::new(r, LineCodec::new(MAX_REPLY_LINE)), w };
        self.set_link(LinkState::Connected, None);

        // A downstream that requires device tokens gets ours before anything else.
        if let Some(token) = self.shared.settings.downstream_token.clone() {
            let auth = RelayRequest::Auth { token };
            match link.request(&auth, self.shared.settings.ack_timeout).await {
                Ok(RelayEvent::Authenticated { sources }) => {
                    debug!(%sources, "relay: downstream accepted our token");
                }
                Ok(other) => return format!("unexpected reply to auth: {other:?}"),
                Err(e) => return format!("auth failed: {e}"),
            }
        }

        // Every new connection starts with a reconcile, while nothing is in flight.
        if let Err(e) = self.reconcile(&mut link, ReconcileCause::Reconnect, None).await {
            return format!("reconcile failed: {e}");
        }
        self.start_full_scan();

        let settings = self.shared.settings.clone();
        let window = settings.window;
        let mut wbuf: Vec<u8> = Vec::with_capacity(WRITE_CHUNK + 8192);
        let mut wpos = 0usize;
        // Written but maybe still in TLS's buffer: flushed once the buffer is all written.
        let mut unflushed = false;
        let mut last_progress = tokio::time::Instant::now();
        let mut write_stalled_since: Option<tokio::time::Instant> = None;
        let mut role_tick = self.shared.clustered.then(|| {
            let every = settings.cluster_poll;
            let mut t = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
            t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            t
        });
        let mut periodic = settings.reconcile_interval.map(|every| {
            let mut t = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
            t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            t
        });
        loop {
            self.drain_inbox();
            self.window.take_due_retries(tokio::time::Instant::now());
            if !self.scan.is_empty()
                && self.window.waiting() < window
                && let Err(e) = self.scan_step().await
            {
                warn!(error = %e, "relay: cannot read queued records; retrying");
                tokio::time::sleep(settings.retry_initial).await;
            }
            self.send_marks().await;
            let quiescing = !self.pending_reconcile.is_empty();
            if wpos == wbuf.len() {
                wbuf.clear();
                wpos = 0;
                write_stalled_since = None;
                if !quiescing {
                    // The ack clock runs from the first record in flight, or the last reply.
                    let was_idle = self.window.in_flight() == 0;
                    self.window.fill(&mut wbuf, WRITE_CHUNK);
                    if was_idle && self.window.in_flight() > 0 {
                        last_progress = tokio::time::Instant::now();
                    }
                }
            }
            if quiescing && wbuf.is_empty() && self.window.is_quiet() {
                let (cause, request) = self.pending_reconcile.remove(0);
                if let Err(e) = self.reconcile(&mut link, cause, request).await {
                    return format!("reconcile failed: {e}");
                }
                continue;
            }
            self.shared.link.lock().in_flight = self.window.in_flight() as u64;
            let ack_deadline = last_progress + settings.ack_timeout;
            let next_retry = self.window.next_retry();
            let write_deadline = write_stalled_since.map(|t| t + settings.write_timeout);
            tokio::select! {
                biased;
                _ = self.shared.shutdown.cancelled() => return "server shutting down".into(),
                item = link.lines.next() => match item {
                    None | Some(Err(_)) => return "downstream closed the connection".into(),
                    Some(Ok(LineItem::Line(line))) => {
                        if let Some(why) = self.on_line(&line) {
                            return why;
                        }
                        last_progress = tokio::time::Instant::now();
                    }
                    Some(Ok(other)) => debug!(?other, "relay: bad line from downstream"),
                },
                // One write (or, once all is written, one flush) at a time: cancel-safe.
                r = async {
                    if wpos < wbuf.len() { link.w.write(&wbuf[wpos..]).await.map(Some) } else { link.w.flush().await.map(|()| None) }
                }, if wpos < wbuf.len() || unflushed => match r {
                    Ok(Some(0)) | Err(_) => return "write failed".into(),
                    Ok(Some(n)) => {
                        wpos += n;
                        unflushed = true;
                        write_stalled_since = (wpos < wbuf.len()).then(tokio::time::Instant::now);
                    }
                    Ok(None) => unflushed = false,
                },
                Ok(()) = self.committed_rx.changed() => self.on_committed(),
                Some(c) = self.control_rx.recv() => self.on_control(c),
                _ = self.shared.inbox.notify.notified(), if self.window.waiting() < window => {}
                _ = sleep_until_opt(next_retry), if next_retry.is_some() => {}
                _ = tokio::time::sleep_until(ack_deadline), if self.window.in_flight() > 0 => {
                    self.charge_stuck();
                    return format!("no acknowledgement for {}s", settings.ack_timeout.as_secs());
                }
                _ = sleep_until_opt(write_deadline), if write_deadline.is_some() => {
                    return "downstream accepts no data (write timeout)".into();
                }
                _ = tick_opt(&mut role_tick), if role_tick.is_some() => {
                    if let Some(why) = self.check_role().await {
                        return why;
                    }
                }
                _ = tick_opt(&mut periodic), if periodic.is_some() => {
                    if !self.pending_reconcile.iter().any(|(c, _)| *c == ReconcileCause::Periodic) {
                        self.pending_reconcile.push((ReconcileCause::Periodic, None));
                    }
                }
            }
        }
    }

    async fn reconcile(
        &mut self,
        link: &mut Link,
        cause: ReconcileCause,
        request: Option<i64>,
    ) -> Result<(), RelayError> {
        let result = reconcile::run(&self.shared, link, &self.ingest_control, cause).await;
        reconcile::record(&self.shared, cause, request, &result).await;
        result.map(|report| {
            if !report.requeued.is_empty() {
                self.on_control(FwdControl::Rescan(report.requeued));
            }
        })
    }

    async fn fail_pending_reconciles(&mut self, why: &'static str) {
        for (cause, request) in std::mem::take(&mut self.pending_reconcile) {
            reconcile::record(&self.shared, cause, request, &Err(RelayError::NotHere(why))).await;
        }
    }

    /// After a connection ends: what was in flight or about to go is queued in the database
    /// still; the next scan finds it.
    fn forget_connection(&mut self) {
        self.window.forget_connection();
        self.scan.clear();
        self.unattributed = None;
        let mut inbox = self.shared.inbox.state.lock();
        inbox.accepting = false;
        inbox.overflowed = false;
        inbox.recs.clear();
    }

    /// Open the inbox, then scan every source with queued records (in that order: a record
    /// committed in between is in one or the other, maybe both, never neither).
    fn start_full_scan(&mut self) {
        {
            let mut inbox = self.shared.inbox.state.lock();
            inbox.recs.clear();
            inbox.overflowed = false;
            inbox.accepting = true;
        }
        let sources: Vec<(Arc<str>, i64)> = self
            .shared
            .sources
            .read()
            .iter()
            .filter(|(_, s)| s.queued > 0)
            .map(|(k, s)| (k.clone(), s.queued_from))
            .collect();
        self.scan.clear();
        self.scan.extend(sources);
    }

    fn drain_inbox(&mut self) {
        let window = self.shared.settings.window;
        let mut taken = Vec::new();
        let overflowed = {
            let mut inbox = self.shared.inbox.state.lock();
            if inbox.overflowed {
                true
            } else {
                let room = (2 * window).saturating_sub(self.window.waiting());
                let n = room.min(inbox.recs.len());
                taken.extend(inbox.recs.drain(..n));
                false
            }
        };
        if overflowed {
            debug!("relay: forwarder fell behind; reading from the database");
            self.start_full_scan();
            return;
        }
        for r in taken {
            // A source being scanned gets its records from the scan, in seq order: the scan
            // reads up to the end of the source, so it finds this record too.
            if self.scan.iter().any(|(s, _)| *s == r.source) {
                continue;
            }
            self.window.offer(r);
        }
    }

    async fn scan_step(&mut self) -> Result<(), sockhub_store::StoreError> {
        let Some((source, from)) = self.scan.pop_front() else { return Ok(()) };
        let rows = self.shared.store.relay().queued(&source, from, SCAN_CHUNK).await?;
        let full = rows.len() == SCAN_CHUNK as usize;
        let next = rows.last().map(|r| r.seq + 1);
        for r in rows {
            self.window.offer(FwdRecord {
                source: source.clone(),
                seq: r.seq,
                at_ms: r.at_ms,
                payload: r.payload.into(),
            });
        }
        if full && let Some(next) = next {
            self.scan.push_back((source, next));
        }
        Ok(())
    }

    /// Handles a line from downstream; `Some(reason)` ends the connection.
    fn on_line(&mut self, line: &str) -> Option<String> {
        if !line.starts_with('{') {
            return None; // the greeting
        }
        let ev = match serde_json::from_str::<RelayEvent>(line) {
            Ok(ev) => ev,
            Err(e) => {
                warn!(line, error = %e, "relay: unreadable line from downstream");
                return None;
            }
        };
        match ev {
            RelayEvent::Ack(a) => self.on_ack(&a.source, a.seq),
            RelayEvent::Error { code: ErrorCode::Unauthorized, message, .. } => {
                // Not about one record: downstream wants a (valid) token. Reconnect (and
                // present relay.downstream_token, if set) rather than hold every record.
                return Some(format!(
                    "downstream requires a device token (relay.downstream_token): {message}"
                ));
            }
            RelayEvent::Error { code, message, source: Some(source), seq: Some(seq) } => {
                // Refusals no retry can change are held at once: another payload owns the seq
                // downstream, our token does not cover the source, or downstream refuses the seq.
                let final_ =
                    matches!(code, ErrorCode::SeqConflict | ErrorCode::Forbidden | ErrorCode::BadSeq);
                self.on_refused(&source, seq, format!("downstream refused it: {code}: {message}"), final_);
            }
            RelayEvent::Error { code, message, .. } => {
                warn!(%code, %message, "relay: downstream reported an error that names no record");
                self.unattributed = Some(format!("{code}: {message}"));
            }
            RelayEvent::Bye { reason } => return Some(format!("downstream said bye: {reason}")),
            other => debug!(?other, "relay: unexpected message from downstream"),
        }
        None
    }

    fn on_ack(&mut self, source: &str, seq: i64) {
        if self.window.ack(source, seq) == 0 {
            debug!(source, seq, "relay: ack for a record not in flight");
        }
    }

    /// A record downstream refused: retried later, or held once refused `max_attempts` times
    /// (at once if `final_`: a refusal no retry can change).
    fn on_refused(&mut self, source: &str, seq: i64, reason: String, final_: bool) {
        let now = tokio::time::Instant::now();
        match self.window.refused(source, seq, reason.clone(), final_, now) {
            Refusal::Unknown => {}
            Refusal::Held { attempts } => {
                warn!(source, seq, attempts, %reason, "relay: holding a record downstream keeps refusing");
            }
            Refusal::Retry { attempt, delay } => {
                debug!(source, seq, attempt, ?delay, %reason, "relay: downstream refused a record; will retry");
            }
        }
    }

    /// Hand the marks the window settled to the ingest task, in order (waiting for room).
    async fn send_marks(&mut self) {
        for mark in self.window.take_marks() {
            let _ = self.marks_tx.send(mark).await;
        }
    }

    /// The ack timeout fired: if downstream complained about a line it could not attribute,
    /// the oldest unacknowledged record is the likely culprit and is charged an attempt.
    fn charge_stuck(&mut self) {
        if let Some(reason) = self.unattributed.take() {
            self.window.charge_oldest(&reason);
        }
    }

    fn on_committed(&mut self) {
        let committed = *self.committed_rx.borrow_and_update();
        self.window.committed(committed);
    }

    fn on_control(&mut self, c: FwdControl) {
        match c {
            FwdControl::Rescan(sources) => {
                let floors: Vec<(Arc<str>, i64)> = {
                    let map = self.shared.sources.read();
                    sources
                        .into_iter()
                        .map(|s| (s.clone(), map.get(&s).map_or(0, |x| x.queued_from)))
                        .collect()
                };
                for (s, from) in floors {
                    match self.scan.iter_mut().find(|(x, _)| *x == s) {
                        Some(entry) => entry.1 = entry.1.min(from),
                        None => self.scan.push_back((s, from)),
                    }
                }
            }
            FwdControl::Reconcile { cause, request } => self.pending_reconcile.push((cause, request)),
        }
    }
}

async fn sleep_until_opt(t: Option<tokio::time::Instant>) {
    match t {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}

async fn tick_opt(t: &mut Option<tokio::time::Interval>) {
    match t {
        Some(t) => {
            t.tick().await;
        }
        None => std::future::pending().await,
    }
}
