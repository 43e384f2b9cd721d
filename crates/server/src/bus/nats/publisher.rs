//! The way out to NATS: two bounded queues and the task that drains them (see the module
//! documentation of [`super`]).
//!
//! Nothing a user did is dropped because the bus is behind: its sender waits for a place in a
//! queue before the request does anything, is slowed down meanwhile, and is refused after
//! `cluster.publish_wait_ms` with nothing done ([`NatsBus::place`]). Chat lines (public, and
//! whispers to other nodes) take a place in the *lines* queue ([`NatsBus::reserve_line`]); what a
//! user's request causes for every node (a login's `Joined`, a room join or part, a kick, a mute,
//! a topic, a ban) takes one in the *control* queue ([`NatsBus::reserve_control`]). What the node
//! says on its own, which the next one repairs, only goes into the control queue if there is
//! room, and is dropped and counted otherwise (apart, when it only restates state:
//! [`Message::restates`]): snapshots and resync requests at once; a heartbeat
//! after waiting at most one heartbeat interval, in line with the waiting requests (which a full
//! queue serves first come, first served), so that a stream of them cannot starve it and its
//! digest is never older than the events queued before it. The publisher serves the control queue
//! first, so a flood of lines never holds back a heartbeat.
//!
//! Order: each queue keeps the order messages were put in it ([`crate::bus::Slot::send`], right
//! after the local change), and a subject's messages leave in that order, so one node's control
//! messages (a room's joins, parts, topics, kicks) arrive in the order they happened there, and
//! one room's lines in the order said. Between the two queues, and between their subjects
//! (`.all` and the room's), no order is kept: a part (control, served first) may overtake the
//! member's last line still queued, and a line may arrive before its sender's join. Neither loses
//! anything: a node shows a remote room's lines whoever is a member of it when they arrive, and
//! a mute is enforced where its target types, before the line leaves.
//!
//! Batching: the publisher takes whatever is queued at the moment (never waiting for more, so a
//! lone line leaves at once), groups it by subject keeping each subject's order, and sends each
//! group as NATS messages of at most `cluster.publish_batch` messages and
//! `cluster.publish_batch_bytes` bytes. One message is sent as `{"from":..,"msg":..}`, the wire of
//! earlier versions; several as `{"from":..,"batch":[..]}`, which a node of an earlier version
//! counts as malformed (set `publish_batch = 1` until every node is upgraded). Receivers apply a
//! batch's messages in order.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::mpsc::{self, Permit, error::TrySendError};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::debug;

use super::super::{Bus, Busy, Message, NodeRef, Slot};
use super::{NatsBus, Outgoing, Waits};

/// The most queued messages the publisher takes in one go (then sends them, and looks again); so
/// at most this many are in hand beyond the two queues' `cluster.publish_queue` each.
const ROUND: usize = 1024;

/// How often a publisher waiting for the client checks that NATS is still connected.
const STILL_CONNECTED: Duration = Duration::from_millis(100);

/// Where a line goes: a room's subject (by room key), or one node (a whisper).
pub(super) enum LineTo<'a> {
    Room(&'a str),
    Node(&'a NodeRef),
}

impl NatsBus {
    /// Wait at most `wait` for a place in `queue`, counting the wait in `waits` when given.
    /// `None`: the publisher is gone (the node is shutting down).
    pub(super) async fn place<'a>(
        &self,
        queue: &'a mpsc::Sender<Outgoing>,
        wait: Duration,
        waits: Option<&Waits>,
    ) -> Result<Option<Permit<'a, Outgoing>>, Busy> {
        match queue.try_reserve() {
            Ok(permit) => Ok(Some(permit)),
            Err(TrySendError::Full(())) => {
                let start = Instant::now();
                let reserved = tokio::time::timeout(wait, queue.reserve()).await;
                if let Some(waits) = waits {
                    waits.waits.inc();
                    waits.wait.record(start.elapsed());
                    if reserved.is_err() {
                        waits.refused.inc();
                    }
                }
                match reserved {
                    Ok(Ok(permit)) => Ok(Some(permit)),
                    Ok(Err(_closed)) => Ok(None),
                    Err(_elapsed) => Err(Busy(wait)),
                }
            }
            Err(TrySendError::Closed(())) => Ok(None),
        }
    }

    /// `cluster.publish_wait_ms`, the longest a user's request waits for a place.
    fn publish_wait(&self) -> Duration {
        Duration::from_millis(self.config.publish_wait_ms)
    }

    /// Wait (at most `cluster.publish_wait_ms`) for a place in the lines queue for one line, to
    /// the subject of the room under `room_key` or to one node.
    pub(super) async fn reserve_line<'a>(&'a self, to: LineTo<'a>) -> Result<Slot<'a>, Busy> {
        let Some(permit) = self.place(&self.lines, self.publish_wait(), Some(&self.metrics.lines)).await?
        else {
            return Ok(self.nowhere());
        };
        Ok(match to {
            LineTo::Room(room_key) => {
                let subject = self.subject_room(room_key);
                Slot::new(move |msg| permit.send(Outgoing::Room(subject, msg)))
            }
            LineTo::Node(node) => Slot::new(move |msg| permit.send(Outgoing::To(node.clone(), msg))),
        })
    }

    /// Wait (at most `cluster.publish_wait_ms`) for a place in the control queue for one message
    /// to every node that a user's request causes.
    pub(super) async fn reserve_control(&self) -> Result<Slot<'_>, Busy> {
        let Some(permit) = self.place(&self.out, self.publish_wait(), Some(&self.metrics.control)).await?
        else {
            return Ok(self.nowhere());
        };
        Ok(Slot::new(move |msg| permit.send(Outgoing::All(msg))))
    }

    /// A slot for a node shutting down (the publisher is gone): the line is counted as dropped.
    fn nowhere(&self) -> Slot<'_> {
        Slot::new(|_| self.metrics.dropped.inc())
    }

    pub(super) async fn publisher(
        self: Arc<Self>,
        mut control: mpsc::Receiver<Outgoing>,
        mut lines: mpsc::Receiver<Outgoing>,
        shutdown: CancellationToken,
    ) {
        let client = self.client.get().expect("started").clone();
        let me = self.node();
        let from = serde_json::to_vec(&me).expect("a node serializes");
        let mut ready = Vec::with_capacity(ROUND);
        loop {
            let first = tokio::select! {
                biased;
                () = shutdown.cancelled() => break,
                Some(out) = control.recv() => out,
                Some(out) = lines.recv() => out,
                else => break,
            };
            ready.push(first);
            // Whatever else is queued now; control messages first.
            while ready.len() < ROUND {
                if let Ok(out) = control.try_recv() {
                    ready.push(out);
                } else if let Ok(out) = lines.try_recv() {
                    ready.push(out);
                } else {
                    break;
                }
            }
            if !self.connected.load(Ordering::Relaxed) {
                self.metrics.dropped.add(ready.len() as u64);
                ready.clear();
                continue;
            }
            let mut reachable = true;
            for (subject, payload, n) in self.batches(&from, ready.drain(..)) {
                if !reachable {
                    self.metrics.dropped.add(n);
                    continue;
                }
                match self.hand_over(&client, subject, payload).await {
                    Ok(()) => {
                        self.metrics.published.add(n);
                        self.metrics.nats_messages.inc();
                    }
                    Err(e) => {
                        self.metrics.dropped.add(n);
                        reachable = self.connected.load(Ordering::Relaxed);
                        debug!(error = %e, "cluster: a message could not be handed to NATS");
                    }
                }
            }
        }
        // Tell the others at once rather than let them wait for the timeout. Straight to the
        // client: the queue may be full, and this is the last thing said.
        if self.connected.load(Ordering::Relaxed) {
            let _ = client.publish(self.subject_all(), encode(&me, &Message::Goodbye)).await;
            let _ = tokio::time::timeout(Duration::from_secs(1), client.flush()).await;
        }
    }

    /// Give one NATS message to the client, waiting while the client's own queue is full as long
    /// as NATS is connected: the connection may be lost while the publisher waits (the client
    /// stops taking messages until it is back), and then the publisher must go on emptying the
    /// queues, or every sender would wait for the whole outage.
    async fn hand_over(
        &self,
        client: &async_nats::Client,
        subject: String,
        payload: Bytes,
    ) -> Result<(), String> {
        let publish = client.publish(subject, payload);
        tokio::pin!(publish);
        loop {
            tokio::select! {
                biased;
                sent = &mut publish => return sent.map_err(|e| e.to_string()),
                () = tokio::time::sleep(STILL_CONNECTED) => {
                    if !self.connected.load(Ordering::Relaxed) {
                        return Err("NATS is unreachable".into());
                    }
                }
            }
        }
    }

    fn route(&self, out: Outgoing) -> (String, Message) {
        match out {
            Outgoing::All(msg) => (self.subject_all(), msg),
            Outgoing::To(node, msg) => (self.subject_for(&node), msg),
            Outgoing::Room(subject, msg) => (subject, msg),
        }
    }

    /// The NATS messages for `ready`: per subject (in the order subjects first appear), its
    /// messages in order, as few envelopes as the batch limits allow. Each with how many messages
    /// it carries.
    fn batches(&self, from: &[u8], ready: impl Iterator<Item = Outgoing>) -> Vec<(String, Bytes, u64)> {
        let mut groups: Vec<(String, Vec<Vec<u8>>)> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        for out in ready {
            let (subject, msg) = self.route(out);
            let body = serde_json::to_vec(&msg).expect("bus messages serialize");
            match index.get(&subject) {
                Some(&i) => groups[i].1.push(body),
                None => {
                    index.insert(subject.clone(), groups.len());
                    groups.push((subject, vec![body]));
                }
            }
        }
        let mut out = Vec::with_capacity(groups.len());
        for (subject, bodies) in groups {
            for chunk in chunks(&bodies, self.config.publish_batch, self.config.publish_batch_bytes) {
                out.push((subject.clone(), envelope(from, chunk), chunk.len() as u64));
            }
        }
        out
    }
}

/// `bodies` cut into runs of at most `count` messages and `bytes` bytes (a larger message alone).
fn chunks(bodies: &[Vec<u8>], count: usize, bytes: usize) -> Vec<&[Vec<u8>]> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < bodies.len() {
        let mut end = start + 1;
        let mut size = bodies[start].len();
        while end < bodies.len() && end - start < count && size + 1 + bodies[end].len() <= bytes {
            size += 1 + bodies[end].len();
            end += 1;
        }
        out.push(&bodies[start..end]);
        start = end;
    }
    out
}

/// One envelope: `{"from":<from>,"msg":<m>}` for one message, `{"from":<from>,"batch":[..]}` for
/// several (`from` and each body already JSON).
fn envelope(from: &[u8], bodies: &[Vec<u8>]) -> Bytes {
    let size: usize = bodies.iter().map(|b| b.len() + 1).sum();
    let mut buf = Vec::with_capacity(from.len() + size + 24);
    buf.extend_from_slice(b"{\"from\":");
    buf.extend_from_slice(from);
    if let [one] = bodies {
        buf.extend_from_slice(b",\"msg\":");
        buf.extend_from_slice(one);
    } else {
        buf.extend_from_slice(b",\"batch\":[");
        for (i, body) in bodies.iter().enumerate() {
            if i > 0 {
                buf.push(b',');
            }
            buf.extend_from_slice(body);
        }
        buf.push(b']');
    }
    buf.push(b'}');
    Bytes::from(buf)
}

/// One message from `from`, in its own envelope.
fn encode(from: &NodeRef, msg: &Message) -> Bytes {
    let from = serde_json::to_vec(from).expect("a node serializes");
    envelope(&from, &[serde_json::to_vec(msg).expect("bus messages serialize")])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bus::ChatMsg;

    fn said(text: &str) -> Vec<u8> {
        let msg = Message::Chat(ChatMsg::Said {
            from: "alice".into(),
            text: text.into(),
            at: sockhub_proto::time::now(),
            room: "#lobby".into(),
            notice: false,
            id: None,
            tags: Vec::new(),
        });
        serde_json::to_vec(&msg).unwrap()
    }

    #[test]
    fn one_message_keeps_the_earlier_wire_and_several_make_a_batch_in_order() {
        let from = serde_json::to_vec(&NodeRef { id: "n1".into(), boot: 7 }).unwrap();
        let one = envelope(&from, &[said("a")]);
        let v: serde_json::Value = serde_json::from_slice(&one).unwrap();
        assert_eq!(v["from"]["id"], "n1");
        assert_eq!(v["msg"]["m"]["text"], "a");
        assert!(v.get("batch").is_none());

        let three = envelope(&from, &[said("a"), said("b"), said("c")]);
        let decoded: super::super::Envelope = serde_json::from_slice(&three).unwrap();
        assert!(decoded.msg.is_none());
        let texts: Vec<String> = decoded
            .batch
            .into_iter()
            .map(|m| match m {
                Message::Chat(ChatMsg::Said { text, .. }) => text,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(texts, ["a", "b", "c"]);
    }

    /// A bus whose publisher is not running (nothing leaves its queues), one place per queue.
    async fn stuck_bus(wait_ms: u64) -> Arc<NatsBus> {
        let options = sockhub_store::StoreOptions {
            url: Some("sqlite::memory:".into()),
            ..sockhub_store::StoreOptions::default()
        };
        let store = sockhub_store::Store::open(&options).await.expect("an in-memory store");
        let config = crate::config::ClusterConfig {
            publish_queue: 1,
            publish_wait_ms: wait_ms,
            ..crate::config::ClusterConfig::default()
        };
        NatsBus::new(&config, store)
    }

    fn said_msg(text: &str) -> Message {
        serde_json::from_slice(&said(text)).unwrap()
    }

    #[tokio::test]
    async fn a_line_waits_for_room_and_is_refused_after_the_bounded_wait() {
        let bus = stuck_bus(80).await;
        bus.reserve_room("#a").await.expect("the one place").send(said_msg("first"));
        let start = Instant::now();
        assert!(bus.reserve_room("#a").await.is_err(), "no place within the wait: refused");
        assert!(start.elapsed() >= Duration::from_millis(80));
        assert_eq!(bus.metrics.lines.waits.get(), 1);
        assert_eq!(bus.metrics.lines.refused.get(), 1);
        assert_eq!(bus.metrics.lines.wait.count(), 1);
        assert_eq!(bus.metrics.dropped.get(), 0, "nothing was dropped");
    }

    #[tokio::test]
    async fn a_waiting_line_gets_the_place_given_back_and_keeps_its_order() {
        let bus = stuck_bus(5_000).await;
        let (_control, mut lines) = bus.out_rx.lock().take().unwrap();
        bus.reserve_room("#a").await.unwrap().send(said_msg("1"));
        let waiting = {
            let bus = Arc::clone(&bus);
            tokio::spawn(
                async move { bus.reserve_room("#a").await.map(|slot| slot.send(said_msg("2"))).is_ok() },
            )
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiting.is_finished(), "the queue is full: the second line waits");
        let text = |out: Outgoing| match out {
            Outgoing::Room(_, Message::Chat(ChatMsg::Said { text, .. })) => text,
            _ => panic!("a line"),
        };
        assert_eq!(text(lines.recv().await.unwrap()), "1");
        assert!(waiting.await.unwrap(), "the place freed went to the waiting line");
        assert_eq!(text(lines.recv().await.unwrap()), "2");
        assert_eq!(bus.metrics.lines.waits.get(), 1);
        assert_eq!(bus.metrics.lines.refused.get(), 0);
        // A place reserved and not used is given back.
        drop(bus.reserve_room("#a").await.unwrap());
        assert!(bus.lines.try_reserve().is_ok());
    }

    #[tokio::test]
    async fn a_request_waits_for_the_control_queue_and_is_refused_after_the_bounded_wait() {
        let bus = stuck_bus(80).await;
        bus.reserve_publish().await.expect("the one place").send(Message::Hello);
        // What the node says on its own finds no room and is dropped (counted apart: it restates
        // state); a request waits instead.
        bus.publish(Message::Hello);
        assert_eq!((bus.metrics.state_dropped.get(), bus.metrics.dropped.get()), (1, 0));
        let start = Instant::now();
        assert!(bus.reserve_publish().await.is_err(), "no place within the wait: refused");
        assert!(start.elapsed() >= Duration::from_millis(80));
        let control = &bus.metrics.control;
        assert_eq!((control.waits.get(), control.refused.get(), control.wait.count()), (1, 1, 1));
        assert_eq!(bus.metrics.lines.waits.get(), 0, "counted apart from the lines");
        assert!(bus.reserve_room("#a").await.is_ok(), "the lines queue is another queue");
        assert_eq!(
            (bus.metrics.state_dropped.get(), bus.metrics.dropped.get()),
            (1, 0),
            "the refused request dropped nothing"
        );
    }

    #[tokio::test]
    async fn a_heartbeat_waits_its_turn_behind_the_requests_rather_than_be_dropped() {
        let bus = stuck_bus(5_000).await;
        let (mut control, _lines) = bus.out_rx.lock().take().unwrap();
        bus.reserve_publish().await.unwrap().send(Message::Hello);
        let request = {
            let bus = Arc::clone(&bus);
            tokio::spawn(async move { bus.reserve_publish().await.map(|s| s.send(Message::Goodbye)).is_ok() })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        let beat = {
            let bus = Arc::clone(&bus);
            tokio::spawn(async move { bus.beat().await })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!beat.is_finished(), "the queue is full: the heartbeat waits");
        let mut got = Vec::new();
        for _ in 0..3 {
            match control.recv().await.unwrap() {
                Outgoing::All(msg) => got.push(msg),
                _ => panic!("a message for every node"),
            }
        }
        assert!(request.await.unwrap());
        beat.await.unwrap();
        assert!(
            matches!(got.as_slice(), [Message::Hello, Message::Goodbye, Message::Beat { .. }]),
            "{got:?}"
        );
        assert_eq!((bus.metrics.state_dropped.get(), bus.metrics.dropped.get()), (0, 0), "nothing dropped");
    }

    #[test]
    fn batches_are_bounded_by_count_and_bytes() {
        let bodies: Vec<Vec<u8>> = (0..10).map(|i| vec![b'x'; 10 + i]).collect();
        let by_count = chunks(&bodies, 4, 1 << 20);
        assert_eq!(by_count.iter().map(|c| c.len()).collect::<Vec<_>>(), [4, 4, 2]);
        // 10 + 1 + 11 = 22 fits 25; 22 + 1 + 12 does not.
        let by_bytes = chunks(&bodies, 64, 25);
        assert!(by_bytes.iter().all(|c| c.len() <= 2));
        assert_eq!(by_bytes.iter().map(|c| c.len()).sum::<usize>(), 10);
        let big = vec![vec![b'y'; 100], vec![b'z'; 5]];
        assert_eq!(chunks(&big, 64, 50).len(), 2, "a larger message goes alone");
        let order: Vec<u8> = chunks(&bodies, 3, 1 << 20).concat().iter().map(|b| b.len() as u8).collect();
        assert_eq!(order, (10..20).collect::<Vec<u8>>());
    }
}
