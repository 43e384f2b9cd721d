//! One relay connection: a device, or an upstream relay forwarding to us.
//!
//! A record is checked here (source name, payload size, seq), given its state by the keep rules
//! (kept, or queued for forwarding; every record is `received` on a sink) and handed to the
//! ingest task over the bounded channel. The session does not wait for the commit: the ingest
//! task sends the acknowledgement to this connection's outbox once the record is durable. If
//! the channel is full the session waits — and so does the reading of this socket, which is how
//! backpressure reaches the sender. Errors are sent at once and name the record.
//!
//! The reconcile questions an upstream node asks (`digests`, `listing`, `summary`) and
//! `last_seq` are answered from the database.
//!
//! **Device tokens** (`[relay] auth = "tokens"`): until the connection presented a valid token,
//! everything but `auth`, `help` and `quit` is answered with `unauthorized`; afterwards records
//! and questions about sources the token's glob does not match get `forbidden`. The token is
//! looked up once, by its hash, and looked up again every [`TOKEN_RECHECK`] while the connection
//! sends, so revoking a token also ends the connections that use it. A connection that presents
//! [`MAX_BAD_TOKENS`] wrong tokens is closed (tokens are 256 random bits, so this only limits
//! the database queries a guesser costs). With `auth = "open"` an `auth` is answered as if the
//! token covered every source, so a device configured with a token works with either setting.

use sockhub_i18n::{Msg, msg};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use globset::GlobMatcher;

use sockhub_proto::ErrorCode;
use sockhub_proto::error::ErrorEvent;
use sockhub_proto::relay::{self, RangeSum, RecordMsg, RelayEvent, RelayRequest};
use sockhub_proto::secret::Secret;
use sockhub_store::{RelayRecord, RelayState};
use tracing::warn;

use super::{Incoming, RelayService, now_ms};
use crate::config::RelayAuth;
use crate::net::outbox::Outbox;
use crate::session::{Ending, Flow, Peer, Session};

/// Most ranges in one `digests` request, and most seqs one `listing` may cover.
const MAX_DIGEST_RANGES: usize = 64;
const MAX_LISTING_SPAN: i64 = 65_536;
/// Most gaps a `summary` lists.
const SUMMARY_GAPS: u32 = 100;
/// How long a connection's token is trusted before it is looked up again (revocation).
pub const TOKEN_RECHECK: Duration = Duration::from_secs(10);
/// Wrong tokens one connection may present before it is closed.
pub const MAX_BAD_TOKENS: u32 = 3;

/// What a connection's token lets it do.
struct Grant {
    /// The token's id (`None`: the node is open, everything is allowed).
    token: Option<i64>,
    /// The pattern, as shown to the device.
    pattern: String,
    sources: Option<GlobMatcher>,
    checked: Instant,
}

impl Grant {
    fn covers(&self, source: &str) -> bool {
        self.sources.as_ref().is_none_or(|m| m.is_match(source))
    }
}

/// A relay session.
pub struct RelaySession {
    service: Arc<RelayService>,
    outbox: Outbox,
    /// Set when a line was parsed as text (`name&&message`): text-mode connections get one ack
    /// line per record.
    text: AtomicBool,
    /// The last source seen, reused so a stream from one device allocates its name once.
    last_source: Option<Arc<str>>,
    /// The device token presented (always set on an open node).
    grant: Option<Grant>,
    bad_tokens: u32,
    peer: Peer,
    /// A request has been understood: a device or a relay node, not an idle socket.
    admitted: bool,
}

impl RelaySession {
    pub(crate) fn new(service: Arc<RelayService>, peer: Peer, outbox: Outbox) -> Self {
        let grant = (service.shared.settings.auth == RelayAuth::Open).then(|| Grant {
            token: None,
            pattern: "*".into(),
            sources: None,
            checked: Instant::now(),
        });
        RelaySession {
            service,
            outbox,
            text: AtomicBool::new(false),
            last_source: None,
            grant,
            bad_tokens: 0,
            peer,
            admitted: false,
        }
    }

    /// `auth`: look the token up; on an open node every token is welcome.
    async fn auth(&mut self, token: Secret) -> Flow {
        if self.service.shared.settings.auth == RelayAuth::Open {
            self.outbox.send(RelayEvent::Authenticated { sources: "*".into() });
            return Flow::Continue;
        }
        let found = match self.service.shared.store.relay().token_check(token.expose()).await {
            Ok(found) => found,
            Err(e) => return self.db_error(&e),
        };
        let Some(row) = found else {
            self.bad_tokens += 1;
            warn!(peer = %self.peer.addr, attempts = self.bad_tokens, "relay: unknown or revoked device token");
            self.error(ErrorCode::Unauthorized, msg!("relay-unknown-token"), None, None);
            if self.bad_tokens >= MAX_BAD_TOKENS {
                return Flow::Close(msg!("relay-wrong-tokens", count = MAX_BAD_TOKENS));
            }
            return Flow::Continue;
        };
        // `relay token add` checked the pattern; a bad one (edited by hand) covers nothing.
        let matcher = match super::filter::source_glob(&row.source_glob) {
            Ok(m) => m,
            Err(e) => {
                warn!(token = row.id, error = %e, "relay: a device token has a bad source pattern");
                return self.error(ErrorCode::Unauthorized, msg!("relay-token-broken"), None, None);
            }
        };
        self.outbox.send(RelayEvent::Authenticated { sources: row.source_glob.clone() });
        self.grant = Some(Grant {
            token: Some(row.id),
            pattern: row.source_glob,
            sources: Some(matcher),
            checked: Instant::now(),
        });
        Flow::Continue
    }

    /// Whether this connection may send or ask about `source`; if not, the error is sent and
    /// `Err` carries what to do next.
    async fn allowed(&mut self, source: &str, seq: Option<i64>) -> Result<(), Flow> {
        let Some(grant) = &self.grant else {
            return Err(self.error(ErrorCode::Unauthorized, msg!("relay-token-needed"), Some(source), seq));
        };
        if let Some(id) = grant.token
            && grant.checked.elapsed() >= TOKEN_RECHECK
        {
            match self.service.shared.store.relay().token_valid(id).await {
                Ok(true) => {
                    if let Some(g) = &mut self.grant {
                        g.checked = Instant::now();
                    }
                }
                Ok(false) => {
                    self.grant = None;
                    self.error(ErrorCode::Unauthorized, msg!("relay-token-revoked"), Some(source), seq);
                    return Err(Flow::Close(msg!("relay-token-revoked")));
                }
                Err(e) => return Err(self.db_error(&e)),
            }
        }
        let grant = self.grant.as_ref().expect("checked above");
        if !grant.covers(source) {
            let message = msg!("relay-token-covers", pattern = format!("{:?}", grant.pattern));
            return Err(self.error(ErrorCode::Forbidden, message, Some(source), seq));
        }
        Ok(())
    }

    fn error(
        &self,
        code: ErrorCode,
        message: impl Into<Msg>,
        source: Option<&str>,
        seq: Option<i64>,
    ) -> Flow {
        self.service.metrics().errors.inc();
        self.outbox.send(RelayEvent::Error {
            code,
            message: message.into(),
            source: source.map(str::to_owned),
            seq,
        });
        Flow::Continue
    }

    async fn record(&mut self, m: RecordMsg) -> Flow {
        if let Err(problem) = relay::validate_source(&m.source) {
            return self.error(ErrorCode::InvalidSource, problem.to_string(), Some(&m.source), m.seq);
        }
        if let Err(flow) = self.allowed(&m.source, m.seq).await {
            return flow;
        }
        let max = self.service.shared.settings.max_payload_bytes;
        if m.payload.len() > max {
            return self.error(
                ErrorCode::PayloadTooLarge,
                msg!("relay-payload-too-large", bytes = m.payload.len(), max = max),
                Some(&m.source),
                m.seq,
            );
        }
        if let Some(Err(problem)) = m.seq.map(relay::validate_seq) {
            return self.error(ErrorCode::BadSeq, problem.to_string(), Some(&m.source), m.seq);
        }
        let source = match &self.last_source {
            Some(s) if **s == *m.source => Arc::clone(s),
            _ => {
                let s: Arc<str> = m.source.into();
                self.last_source = Some(Arc::clone(&s));
                s
            }
        };
        let shared = &self.service.shared;
        let (state, rule) = if shared.sink {
            (RelayState::Received, None)
        } else {
            match shared.rules.matching(&source, &m.payload) {
                Some(rule) => (RelayState::Kept, Some(Arc::clone(rule))),
                None => (RelayState::Queued, None),
            }
        };
        let rec = RelayRecord {
            source,
            seq: m.seq,
            at_ms: m.at_ms.unwrap_or_else(now_ms),
            payload: m.payload.into(),
            state,
            rule,
            maybe_dup: false,
        };
        let incoming = Incoming { rec, conn: self.outbox.clone(), text: self.text.load(Ordering::Relaxed) };
        // Wait for room (backpressure), but not past a shutdown or the end of the connection.
        tokio::select! {
            sent = self.service.ingest_tx.send(incoming) => {
                if sent.is_err() {
                    return Flow::Close(msg!("ending-shutdown"));
                }
                Flow::Continue
            }
            _ = shared.shutdown.cancelled() => Flow::Close(msg!("ending-shutdown")),
            _ = self.outbox.closing() => Flow::Continue,
        }
    }

    async fn digests(&self, source: String, ranges: Vec<(i64, i64)>) -> Flow {
        if ranges.len() > MAX_DIGEST_RANGES || ranges.iter().any(|(lo, hi)| lo > hi) {
            return self.error(
                ErrorCode::BadRequest,
                format!("digests takes at most {MAX_DIGEST_RANGES} ranges [lo, hi] with lo <= hi"),
                Some(&source),
                None,
            );
        }
        match self.service.shared.store.relay().digests(&source, &ranges, false).await {
            Ok(d) => {
                let ranges = d
                    .into_iter()
                    .map(|r| RangeSum { lo: r.lo, hi: r.hi, count: r.count, sum: r.sum })
                    .collect();
                self.outbox.send(RelayEvent::Digests { source, ranges });
                Flow::Continue
            }
            Err(e) => self.db_error(&e),
        }
    }

    async fn listing(&self, source: String, lo: i64, hi: i64) -> Flow {
        if lo > hi || (hi as i128 - lo as i128) >= MAX_LISTING_SPAN as i128 {
            return self.error(
                ErrorCode::BadRequest,
                format!("listing covers at most {MAX_LISTING_SPAN} seqs, lo <= hi"),
                Some(&source),
                None,
            );
        }
        match self.service.shared.store.relay().listing(&source, lo, hi, false).await {
            Ok(items) => {
                self.outbox.send(RelayEvent::Listing { source, lo, hi, items });
                Flow::Continue
            }
            Err(e) => self.db_error(&e),
        }
    }

    async fn summary(&self, source: String) -> Flow {
        let pruned = match self.service.shared.store.relay().source(&source).await {
            Ok(s) => s.map(|s| s.pruned_seq).filter(|p| *p >= 0),
            Err(e) => return self.db_error(&e),
        };
        match self.service.shared.store.relay().seq_summary(&source, SUMMARY_GAPS).await {
            Ok(s) => {
                self.outbox.send(RelayEvent::Summary {
                    pruned_seq: pruned,
                    source,
                    count: s.count,
                    first: s.first,
                    last: s.last,
                    gaps: s.gaps,
                    gaps_total: s.gaps_total,
                });
                Flow::Continue
            }
            Err(e) => self.db_error(&e),
        }
    }

    fn db_error(&self, e: &sockhub_store::StoreError) -> Flow {
        warn!(error = %e, "relay: database read failed");
        let code = if e.is_retryable() { ErrorCode::Unavailable } else { ErrorCode::Internal };
        self.error(code, msg!("relay-database-failed"), None, None)
    }
}

use crate::session::Service as _;

impl Session for RelaySession {
    type Request = RelayRequest;

    fn parse_text(&self, line: &str) -> Result<Option<RelayRequest>, ErrorEvent> {
        self.text.store(true, Ordering::Relaxed);
        relay::parse_text(line)
    }

    async fn handle(&mut self, request: RelayRequest) -> Flow {
        self.admitted = true;
        let about = match &request {
            RelayRequest::LastSeq { source }
            | RelayRequest::Digests { source, .. }
            | RelayRequest::Listing { source, .. }
            | RelayRequest::Summary { source } => Some(source.clone()),
            _ => None,
        };
        if let Some(source) = about
            && let Err(flow) = self.allowed(&source, None).await
        {
            return flow;
        }
        match request {
            RelayRequest::Record(m) => self.record(m).await,
            RelayRequest::Auth { token } => self.auth(token).await,
            RelayRequest::LastSeq { source } => {
                let last = self.service.shared.sources.read().get(source.as_str()).map(|s| s.last_seq);
                let seq = match last {
                    Some(s) => s,
                    None => match self.service.shared.store.relay().source(&source).await {
                        Ok(s) => s.map_or(0, |s| s.last_seq),
                        Err(e) => return self.db_error(&e),
                    },
                };
                self.outbox.send(RelayEvent::LastSeq { source, seq });
                Flow::Continue
            }
            RelayRequest::Digests { source, ranges } => self.digests(source, ranges).await,
            RelayRequest::Listing { source, lo, hi } => self.listing(source, lo, hi).await,
            RelayRequest::Summary { source } => self.summary(source).await,
            RelayRequest::Help => {
                self.outbox.send(RelayEvent::Help { formats: relay::help() });
                Flow::Continue
            }
            RelayRequest::Quit => Flow::Close(msg!("ending-goodbye")),
        }
    }

    async fn close(self, _ending: &Ending) {}

    /// Admitted once it has sent a request the relay understands and, on a node that requires
    /// device tokens, presented a valid one: until then the login timeout applies.
    fn admitted(&self) -> bool {
        self.admitted && self.grant.is_some()
    }
}
