//! The forwarder's window, with no I/O: which records are claimed, waiting to go, in flight,
//! refused and waiting for a retry, and settled but not yet durable. The forwarder
//! ([`super::forwarder`]) owns the socket, the database scan and the timers; it feeds this type
//! what happened (a record to send, an ack, a refusal, a commit, a lost connection) and carries
//! out what it answers (bytes to write, [`Mark`]s for the ingest task to commit). Time comes in as
//! an argument, so every rule here is unit-tested on a paused clock.
//!
//! The rules:
//! - A record is **claimed** from the moment it is offered until the ingest task has committed
//!   its new state (forwarded or held); a record offered again meanwhile (the inbox and a
//!   database scan can both offer it) is ignored, so each goes out once per connection.
//! - At most `limit` records are **in flight**. Acks are cumulative per source in send order: an
//!   ack for `(source, seq)` settles that record and every record of the source sent before it,
//!   as one [`Mark::Forwarded`].
//! - A **refused** record is retried after a delay that doubles from `retry_initial` up to
//!   `retry_max`; after `max_attempts` refusals (at once for a final refusal) it is held, as one
//!   [`Mark::Held`] with the reason.
//! - A **lost connection** forgets what was in flight, waiting or waiting for a retry (it is
//!   still queued in the database; the next scan offers it again), but remembers the refusals.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use sockhub_proto::relay::write_record;
use sockhub_store::{ForwardedMark, HeldMark};
use tokio::time::Instant;

use super::{FwdRecord, Mark};

/// A record, by source and seq.
pub(crate) type Key = (Arc<str>, i64);

/// How the window's rules are tuned (from `[relay]`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct WindowLimits {
    /// Records in flight at most.
    pub limit: usize,
    /// Refusals before a record is held.
    pub max_attempts: u32,
    /// First delay before a refused record is tried again; doubles per refusal.
    pub retry_initial: Duration,
    /// Longest delay before a retry.
    pub retry_max: Duration,
}

/// A record written to downstream and not yet acknowledged.
struct Sent {
    rec: FwdRecord,
    /// Send order over all sources (to find the oldest).
    order: u64,
}

/// What became of a refused record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The refusal named no record in flight (acknowledged or forgotten meanwhile).
    Unknown,
    /// It goes out again after `delay`; this was refusal number `attempt`.
    Retry { attempt: u32, delay: Duration },
    /// It is held (a mark was queued); it was refused `attempts` times.
    Held { attempts: u32 },
}

/// The window of one forwarder. See the module documentation for its rules.
pub(crate) struct Window {
    limits: WindowLimits,
    /// Records offered and not yet durable in their new state.
    claimed: HashSet<Key>,
    /// Claimed records waiting for room in the window, in the order they go out.
    out: VecDeque<FwdRecord>,
    inflight: HashMap<Arc<str>, VecDeque<Sent>>,
    inflight_count: usize,
    /// Marks handed to the ingest task, by token, with the records they settle.
    awaiting: VecDeque<(u64, Vec<Key>)>,
    next_token: u64,
    send_order: u64,
    /// Refusals so far, per record, with the last reason.
    attempts: HashMap<Key, (u32, String)>,
    /// Refused records waiting to be tried again, soonest first.
    retry: VecDeque<(Instant, FwdRecord)>,
    /// Marks for the ingest task, not yet taken by the forwarder.
    marks: Vec<Mark>,
}

impl Window {
    pub(crate) fn new(limits: WindowLimits) -> Window {
        Window {
            limits,
            claimed: HashSet::new(),
            out: VecDeque::new(),
            inflight: HashMap::new(),
            inflight_count: 0,
            awaiting: VecDeque::new(),
            next_token: 1,
            send_order: 0,
            attempts: HashMap::new(),
            retry: VecDeque::new(),
            marks: Vec::new(),
        }
    }

    /// Records in flight.
    pub(crate) fn in_flight(&self) -> usize {
        self.inflight_count
    }

    /// Records claimed and waiting for room in the window.
    pub(crate) fn waiting(&self) -> usize {
        self.out.len()
    }

    /// Nothing in flight and every settled record durable: a reconcile may run.
    pub(crate) fn is_quiet(&self) -> bool {
        self.inflight_count == 0 && self.awaiting.is_empty()
    }

    /// When the soonest refused record is due again.
    pub(crate) fn next_retry(&self) -> Option<Instant> {
        self.retry.front().map(|(t, _)| *t)
    }

    /// Claimed records per source (sent, waiting, or settled and not yet durable).
    pub(crate) fn claimed_per_source(&self) -> HashMap<&str, i64> {
        let mut mine: HashMap<&str, i64> = HashMap::new();
        for (source, _) in &self.claimed {
            *mine.entry(&**source).or_default() += 1;
        }
        mine
    }

    /// The marks queued since the last call, for the ingest task, in order.
    pub(crate) fn take_marks(&mut self) -> Vec<Mark> {
        std::mem::take(&mut self.marks)
    }

    /// Offer a record to send. Ignored if it is claimed already; held at once if it was refused
    /// `max_attempts` times before (on an earlier connection).
    pub(crate) fn offer(&mut self, r: FwdRecord) {
        let key = (r.source.clone(), r.seq);
        if self.claimed.contains(&key) {
            return;
        }
        self.claimed.insert(key.clone());
        if let Some((n, reason)) = self.attempts.get(&key)
            && *n >= self.limits.max_attempts
        {
            let reason = reason.clone();
            self.hold(key, reason);
            return;
        }
        self.out.push_back(r);
    }

    /// Move refused records whose delay is over to the front of what goes out next.
    pub(crate) fn take_due_retries(&mut self, now: Instant) {
        while self.retry.front().is_some_and(|(t, _)| *t <= now) {
            if let Some((_, r)) = self.retry.pop_front() {
                self.out.push_back(r);
            }
        }
    }

    /// Encode waiting records into `buf` while the window has room and `buf` is under
    /// `max_bytes`; they are in flight from now on. Returns how many were added.
    pub(crate) fn fill(&mut self, buf: &mut Vec<u8>, max_bytes: usize) -> usize {
        let mut n = 0;
        while self.inflight_count < self.limits.limit && buf.len() < max_bytes {
            let Some(r) = self.out.pop_front() else { break };
            write_record(buf, &r.source, r.seq, r.at_ms, &r.payload);
            self.send_order += 1;
            self.inflight
                .entry(r.source.clone())
                .or_default()
                .push_back(Sent { rec: r, order: self.send_order });
            self.inflight_count += 1;
            n += 1;
        }
        n
    }

    /// Downstream acknowledged `(source, seq)`: it and every record of the source sent before
    /// it are settled, as one forwarded mark. Returns how many records it settled (0 for an ack
    /// of a record not in flight).
    pub(crate) fn ack(&mut self, source: &str, seq: i64) -> usize {
        let Some(q) = self.inflight.get_mut(source) else { return 0 };
        let Some(pos) = q.iter().position(|s| s.rec.seq == seq) else { return 0 };
        let mut seqs = Vec::with_capacity(pos + 1);
        let mut bytes = 0i64;
        let mut keys = Vec::with_capacity(pos + 1);
        for s in q.drain(..=pos) {
            seqs.push(s.rec.seq);
            bytes += s.rec.payload.len() as i64;
            keys.push((s.rec.source, s.rec.seq));
        }
        let n = keys.len();
        self.inflight_count -= n;
        for k in &keys {
            self.attempts.remove(k);
        }
        let mark = ForwardedMark { source: keys[0].0.clone(), seqs, bytes };
        let token = self.settle(keys);
        self.marks.push(Mark::Forwarded(mark, token));
        n
    }

    /// Downstream refused `(source, seq)` with `reason`. `final_` refusals (no retry can change
    /// them) hold the record at once.
    pub(crate) fn refused(
        &mut self,
        source: &str,
        seq: i64,
        reason: String,
        final_: bool,
        now: Instant,
    ) -> Refusal {
        let Some(q) = self.inflight.get_mut(source) else { return Refusal::Unknown };
        let Some(pos) = q.iter().position(|s| s.rec.seq == seq) else { return Refusal::Unknown };
        let Some(sent) = q.remove(pos) else { return Refusal::Unknown };
        self.inflight_count -= 1;
        let key = (sent.rec.source.clone(), seq);
        let entry = self.attempts.entry(key.clone()).or_insert((0, String::new()));
        entry.0 = if final_ { self.limits.max_attempts } else { entry.0 + 1 };
        entry.1 = reason.clone();
        let attempt = entry.0;
        if attempt >= self.limits.max_attempts {
            self.hold(key, reason);
            return Refusal::Held { attempts: attempt };
        }
        let delay = (self.limits.retry_initial * 2u32.pow(attempt.min(16) - 1)).min(self.limits.retry_max);
        let at = now + delay;
        let i = self.retry.partition_point(|(t, _)| *t <= at);
        self.retry.insert(i, (at, sent.rec));
        Refusal::Retry { attempt, delay }
    }

    /// No ack came in time after downstream reported an error that named no record (`reason`):
    /// the oldest record in flight is the likely culprit and is charged a refusal. Returns it.
    pub(crate) fn charge_oldest(&mut self, reason: &str) -> Option<Key> {
        let oldest = self.inflight.values().filter_map(|q| q.front()).min_by_key(|s| s.order)?;
        let key = (oldest.rec.source.clone(), oldest.rec.seq);
        let e = self.attempts.entry(key.clone()).or_insert((0, String::new()));
        e.0 += 1;
        e.1 = format!("downstream did not acknowledge it (it reported {reason})");
        Some(key)
    }

    /// The ingest task committed every mark up to `token`: those records are durable in their
    /// new state and no longer claimed.
    pub(crate) fn committed(&mut self, token: u64) {
        while self.awaiting.front().is_some_and(|(t, _)| *t <= token) {
            if let Some((_, keys)) = self.awaiting.pop_front() {
                for k in keys {
                    self.claimed.remove(&k);
                }
            }
        }
    }

    /// The connection ended: what was in flight, waiting or waiting for a retry is still queued
    /// in the database and is offered again by the next scan. Settled records stay claimed
    /// until their marks commit; refusal counts are kept.
    pub(crate) fn forget_connection(&mut self) {
        let unsent = self.inflight.drain().flat_map(|(_, q)| q.into_iter().map(|s| s.rec));
        let dropped: Vec<FwdRecord> =
            unsent.chain(self.out.drain(..)).chain(self.retry.drain(..).map(|(_, r)| r)).collect();
        for r in dropped {
            self.claimed.remove(&(r.source, r.seq));
        }
        self.inflight_count = 0;
    }

    fn hold(&mut self, key: Key, reason: String) {
        self.attempts.remove(&key);
        let token = self.settle(vec![key.clone()]);
        self.marks.push(Mark::Held(HeldMark { source: key.0, seq: key.1, reason }, token));
    }

    /// Remember `keys` as settled by the next mark; returns the mark's token.
    fn settle(&mut self, keys: Vec<Key>) -> u64 {
        let token = self.next_token;
        self.next_token += 1;
        self.awaiting.push_back((token, keys));
        token
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> WindowLimits {
        WindowLimits {
            limit: 3,
            max_attempts: 3,
            retry_initial: Duration::from_millis(200),
            retry_max: Duration::from_secs(1),
        }
    }

    fn rec(source: &str, seq: i64) -> FwdRecord {
        FwdRecord { source: source.into(), seq, at_ms: 0, payload: format!("p{seq}").into() }
    }

    /// Send what fits; returns the seqs written, in order.
    fn send(w: &mut Window) -> Vec<i64> {
        let mut buf = Vec::new();
        w.fill(&mut buf, usize::MAX);
        String::from_utf8(buf)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["seq"].as_i64().unwrap())
            .collect()
    }

    fn forwarded(marks: &[Mark]) -> Vec<(String, Vec<i64>, u64)> {
        marks
            .iter()
            .filter_map(|m| match m {
                Mark::Forwarded(f, t) => Some((f.source.to_string(), f.seqs.clone(), *t)),
                Mark::Held(..) => None,
            })
            .collect()
    }

    fn held(marks: &[Mark]) -> Vec<(String, i64, String)> {
        marks
            .iter()
            .filter_map(|m| match m {
                Mark::Held(h, _) => Some((h.source.to_string(), h.seq, h.reason.clone())),
                Mark::Forwarded(..) => None,
            })
            .collect()
    }

    #[test]
    fn the_window_limits_what_is_in_flight_and_an_ack_opens_it() {
        let mut w = Window::new(limits());
        for seq in 1..=5 {
            w.offer(rec("a", seq));
        }
        assert_eq!(send(&mut w), vec![1, 2, 3]);
        assert_eq!((w.in_flight(), w.waiting()), (3, 2));
        assert!(send(&mut w).is_empty(), "a full window sends nothing");
        assert_eq!(w.ack("a", 2), 2);
        assert_eq!(send(&mut w), vec![4, 5]);
        assert_eq!(forwarded(&w.take_marks()), vec![("a".into(), vec![1, 2], 1)]);
    }

    #[test]
    fn a_record_offered_twice_goes_out_once_until_its_state_is_durable() {
        let mut w = Window::new(limits());
        w.offer(rec("a", 1));
        w.offer(rec("a", 1));
        assert_eq!(send(&mut w), vec![1]);
        assert_eq!(w.ack("a", 1), 1);
        // Acknowledged but not yet committed: a scan that finds it queued must not resend it.
        w.offer(rec("a", 1));
        assert!(send(&mut w).is_empty());
        assert!(!w.is_quiet(), "a settled record is awaited until its mark commits");
        let token = forwarded(&w.take_marks())[0].2;
        w.committed(token);
        assert!(w.is_quiet());
        assert!(w.claimed_per_source().is_empty());
    }

    #[test]
    fn acks_out_of_order_across_sources_and_within_a_source() {
        let mut w = Window::new(WindowLimits { limit: 10, ..limits() });
        for (s, seq) in [("a", 1), ("b", 1), ("a", 2), ("b", 2), ("a", 3)] {
            w.offer(rec(s, seq));
        }
        assert_eq!(send(&mut w).len(), 5);
        // b's ack comes first; then a's middle record (which covers a1 too); a stray ack for a
        // record already settled changes nothing.
        assert_eq!(w.ack("b", 2), 2);
        assert_eq!(w.ack("a", 2), 2);
        assert_eq!(w.ack("a", 1), 0);
        assert_eq!(w.ack("c", 9), 0);
        assert_eq!(w.in_flight(), 1);
        assert_eq!(w.ack("a", 3), 1);
        let marks = forwarded(&w.take_marks());
        assert_eq!(
            marks,
            vec![("b".into(), vec![1, 2], 1), ("a".into(), vec![1, 2], 2), ("a".into(), vec![3], 3)]
        );
        // Commits may cover several marks at once.
        w.committed(2);
        assert_eq!(w.claimed_per_source().get("a"), Some(&1));
        w.committed(3);
        assert!(w.is_quiet());
    }

    #[test]
    fn a_reconnect_mid_window_forgets_what_was_in_flight_so_the_scan_offers_it_again() {
        let mut w = Window::new(limits());
        for seq in 1..=5 {
            w.offer(rec("a", seq));
        }
        assert_eq!(send(&mut w), vec![1, 2, 3]);
        assert_eq!(w.ack("a", 1), 1);
        w.forget_connection();
        assert_eq!((w.in_flight(), w.waiting()), (0, 0));
        // The acknowledged record stays claimed until its mark commits; the rest are free.
        assert_eq!(w.claimed_per_source().get("a"), Some(&1));
        for seq in 1..=5 {
            w.offer(rec("a", seq));
        }
        assert_eq!(send(&mut w), vec![2, 3, 4]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_refused_record_is_retried_after_a_growing_delay_then_held() {
        let mut w = Window::new(limits());
        w.offer(rec("a", 1));
        w.offer(rec("a", 2));
        assert_eq!(send(&mut w), vec![1, 2]);
        let r = w.refused("a", 1, "too big".into(), false, Instant::now());
        assert_eq!(r, Refusal::Retry { attempt: 1, delay: Duration::from_millis(200) });
        // The records behind it are not held up.
        assert_eq!(w.ack("a", 2), 1);
        assert_eq!(w.next_retry(), Some(Instant::now() + Duration::from_millis(200)));
        w.take_due_retries(Instant::now());
        assert!(send(&mut w).is_empty(), "not due yet");
        tokio::time::advance(Duration::from_millis(200)).await;
        w.take_due_retries(Instant::now());
        assert_eq!(send(&mut w), vec![1]);
        let r = w.refused("a", 1, "too big".into(), false, Instant::now());
        assert_eq!(r, Refusal::Retry { attempt: 2, delay: Duration::from_millis(400) });
        tokio::time::advance(Duration::from_millis(400)).await;
        w.take_due_retries(Instant::now());
        assert_eq!(send(&mut w), vec![1]);
        assert_eq!(w.refused("a", 1, "too big".into(), false, Instant::now()), Refusal::Held { attempts: 3 });
        let marks = w.take_marks();
        assert_eq!(held(&marks), vec![("a".into(), 1, "too big".into())]);
        assert_eq!(w.next_retry(), None);
    }

    #[tokio::test(start_paused = true)]
    async fn the_retry_delay_stops_growing_at_retry_max() {
        let mut w = Window::new(WindowLimits { max_attempts: 10, ..limits() });
        w.offer(rec("a", 1));
        let mut delays = Vec::new();
        for _ in 0..5 {
            tokio::time::advance(Duration::from_secs(2)).await;
            w.take_due_retries(Instant::now());
            assert_eq!(send(&mut w), vec![1]);
            match w.refused("a", 1, "no".into(), false, Instant::now()) {
                Refusal::Retry { delay, .. } => delays.push(delay.as_millis()),
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(delays, vec![200, 400, 800, 1000, 1000]);
    }

    #[test]
    fn a_final_refusal_holds_at_once_and_the_rest_flows() {
        let mut w = Window::new(limits());
        for seq in 1..=3 {
            w.offer(rec("a", seq));
        }
        send(&mut w);
        let r = w.refused("a", 2, "seq_conflict".into(), true, Instant::now());
        assert_eq!(r, Refusal::Held { attempts: 3 });
        assert_eq!(w.ack("a", 3), 2, "the ack for 3 settles 1 and 3; 2 is held");
        let marks = w.take_marks();
        assert_eq!(held(&marks), vec![("a".into(), 2, "seq_conflict".into())]);
        assert_eq!(forwarded(&marks), vec![("a".into(), vec![1, 3], 2)]);
        assert_eq!(w.refused("a", 2, "again".into(), true, Instant::now()), Refusal::Unknown);
    }

    #[tokio::test(start_paused = true)]
    async fn refusals_survive_a_reconnect_and_a_record_refused_too_often_is_held_when_offered() {
        let mut w = Window::new(WindowLimits { max_attempts: 2, ..limits() });
        w.offer(rec("a", 1));
        send(&mut w);
        assert!(matches!(w.refused("a", 1, "bad".into(), false, Instant::now()), Refusal::Retry { .. }));
        w.forget_connection();
        w.offer(rec("a", 1));
        send(&mut w);
        // The oldest record in flight is charged when downstream stops acknowledging after an
        // error it could not attribute.
        assert_eq!(w.charge_oldest("line too long"), Some(("a".into(), 1)));
        w.forget_connection();
        w.offer(rec("a", 1));
        assert!(send(&mut w).is_empty(), "refused twice: held instead of sent");
        let marks = w.take_marks();
        let h = held(&marks);
        assert_eq!(h.len(), 1);
        assert!(h[0].2.contains("line too long"), "{h:?}");
    }

    #[test]
    fn a_full_window_keeps_offered_records_waiting_in_order() {
        let mut w = Window::new(WindowLimits { limit: 2, ..limits() });
        for (s, seq) in [("a", 1), ("b", 1), ("a", 2), ("b", 2)] {
            w.offer(rec(s, seq));
        }
        assert_eq!(send(&mut w), vec![1, 1]);
        assert_eq!(w.waiting(), 2);
        // A byte limit smaller than one record still sends one record at a time.
        assert_eq!(w.ack("a", 1), 1);
        let mut buf = Vec::new();
        assert_eq!(w.fill(&mut buf, 1), 1);
        assert_eq!(w.in_flight(), 2);
    }
}
