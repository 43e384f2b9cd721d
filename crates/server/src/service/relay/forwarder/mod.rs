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
//!
//! **Files.** This one is the driver's loop (connect, reconcile, the `select!` of a connection);
//! `feed.rs` is where records come from and what downstream's lines do to them, `link.rs` the
//! connection itself, `role.rs` the cluster role.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use sockhub_proto::relay::{RelayEvent, RelayRequest};
use sockhub_proto::{LineCodec, LineItem};
use tokio::io::AsyncWriteExt;
use tokio::sync::{mpsc, watch};
use tokio_util::codec::FramedRead;
use tracing::{debug, info, warn};

mod feed;
mod link;
mod role;

pub(crate) use link::Link;
use link::{ReadHalf, WriteHalf};

use super::window::{Window, WindowLimits};
use super::{Control, FwdControl, LinkState, Mark, ReconcileCause, RelayError, Shared, now_ms, reconcile};

/// Records read from the database per scan query.
const SCAN_CHUNK: u32 = 1024;
/// A write buffer is filled up to about this many bytes before it is written.
const WRITE_CHUNK: usize = 256 * 1024;
/// Longest line accepted from downstream (a reconcile listing can be long).
const MAX_REPLY_LINE: usize = 8 * 1024 * 1024;
/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

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
            retry_initial: settings.retry_initial(),
            retry_max: settings.retry_max(),
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
        let mut backoff = self.shared.settings.retry_initial();
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
                    backoff = self.shared.settings.retry_initial();
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
            backoff = (backoff * 2).min(self.shared.settings.retry_max());
        }
        self.set_link(LinkState::Down, Some("server shutting down".into()));
        debug!("relay forwarder stopped");
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

    /// One connection, until it fails. Returns why it ended.
    async fn session(&mut self, r: ReadHalf, w: WriteHalf) -> String {
        let mut link = Link { lines: FramedRead::new(r, LineCodec::new(MAX_REPLY_LINE)), w };
        self.set_link(LinkState::Connected, None);

        // A downstream that requires device tokens gets ours before anything else.
        if let Some(token) = self.shared.settings.downstream_token.clone() {
            let auth = RelayRequest::Auth { token };
            match link.request(&auth, self.shared.settings.ack_timeout()).await {
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
        let write_timeout = self.shared.write_timeout;
        let window = settings.window;
        let mut wbuf: Vec<u8> = Vec::with_capacity(WRITE_CHUNK + 8192);
        let mut wpos = 0usize;
        // Written but maybe still in TLS's buffer: flushed once the buffer is all written.
        let mut unflushed = false;
        let mut last_progress = tokio::time::Instant::now();
        let mut write_stalled_since: Option<tokio::time::Instant> = None;
        let mut role_tick = self.shared.clustered.then(|| {
            let every = settings.cluster_poll();
            let mut t = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
            t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            t
        });
        let mut periodic = settings.reconcile_interval().map(|every| {
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
                tokio::time::sleep(settings.retry_initial()).await;
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
            let ack_deadline = last_progress + settings.ack_timeout();
            let next_retry = self.window.next_retry();
            let write_deadline = write_stalled_since.map(|t| t + write_timeout);
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
                    return format!("no acknowledgement for {}s", settings.ack_timeout().as_secs());
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
