//! Micro-benchmarks of the chat fan-out path, without sockets.
//!
//! A public message becomes one shared [`Frame`], encoded at most once per mode, whose bytes are
//! copied into every member's [`Outbox`] (members whose mode is known, as here); each
//! connection's writer later takes its whole queue. This measures that path for N members: the
//! pushes alone
//! (`Rooms::say`, which is what the sender's task pays while holding the room's read lock), and
//! push plus drain plus copy for all-text, all-JSON and mixed rooms (what the whole server pays per
//! message, short of the `write` system calls). Run with
//! `cargo bench -p sockhub-server --bench fanout`; the numbers are in `docs/benchmarks.md`.

use std::hint::black_box;
use std::sync::Arc;

use chrono::TimeZone;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use sockhub_proto::Mode;
use sockhub_proto::chat::ChatEvent;
use sockhub_server::config::LimitsConfig;
use sockhub_server::net::outbox::{Batch, Frame, Outbox};
use sockhub_server::service::chat::rooms::{self, Create, Rooms};

/// Room sizes: a class, a large lecture, and the chat-fanout benchmark's biggest room.
const SIZES: [usize; 3] = [10, 100, 1000];

/// The server's default outbox capacity (`limits.outbound_queue`).
fn outbound_queue() -> usize {
    LimitsConfig::default().outbound_queue
}

fn message() -> ChatEvent {
    ChatEvent::Message {
        from: "alice".to_owned(),
        text: "hello everyone, this is a fairly ordinary chat message of about eighty bytes".to_owned(),
        at: chrono::Utc.with_ymd_and_hms(2026, 11, 21, 6, 11, 48).unwrap(),
        history: false,
        room: "#lobby".to_owned(),
        notice: false,
        id: None,
        tags: Vec::new(),
    }
}

/// A room with `n` members, their outboxes drained of the join announcements.
fn room_with(n: usize) -> (Rooms, Vec<Outbox>) {
    let rooms = Rooms::new(0, 10, 1000);
    rooms.ensure_persistent("#lobby", None, Vec::new());
    let mut outboxes = Vec::with_capacity(n);
    for i in 0..n {
        let outbox = Outbox::new(outbound_queue());
        outbox.set_mode(Mode::Text);
        let name: Arc<str> = format!("user{i}").into();
        let key = name.to_lowercase();
        rooms.enter(&key, &name, &outbox);
        rooms.join(&key, "#lobby", Create::No, true, Vec::new).expect("joined");
        outboxes.push(outbox);
    }
    drain(&outboxes);
    (rooms, outboxes)
}

/// What every connection's writer does: take the whole queue, as the bytes it writes. Returns the
/// bytes that would be written.
fn drain(outboxes: &[Outbox]) -> usize {
    let rt = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    rt.block_on(drain_async(outboxes))
}

async fn drain_async(outboxes: &[Outbox]) -> usize {
    let mut batch = Batch::new();
    let mut buf = Vec::with_capacity(256);
    let mut written = 0;
    for outbox in outboxes {
        if outbox.is_empty() {
            continue;
        }
        outbox.next_batch(&mut batch).await;
        outbox.write_batch(&batch, &mut buf);
        batch.clear();
        outbox.written();
        written += buf.len();
        buf.clear();
    }
    written
}

fn push_only(c: &mut Criterion) {
    let mut group = c.benchmark_group("room_say");
    for n in SIZES {
        let (room, outboxes) = room_with(n);
        let lobby = rooms::key("#lobby");
        let rt = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        let from: Arc<str> = "user0".into();
        let at = chrono::Utc::now();
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| {
                room.say(&lobby, &from, black_box("hello everyone"), at, Default::default());
                // Drained outside the lock-holding path but inside the iteration, so the queues
                // never fill up; `push_drain` below measures the two together.
                rt.block_on(drain_async(&outboxes))
            })
        });
    }
    group.finish();
}

fn push_drain(c: &mut Criterion) {
    let mut group = c.benchmark_group("push_drain");
    let mixes: [(&str, &[Mode]); 3] =
        [("text", &[Mode::Text]), ("json", &[Mode::Json]), ("mixed", &[Mode::Text, Mode::Json])];
    let rt = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    for n in SIZES {
        for (mix, modes) in mixes {
            let outboxes: Vec<Outbox> = (0..n)
                .map(|i| {
                    let outbox = Outbox::new(outbound_queue());
                    outbox.set_mode(modes[i % modes.len()]);
                    outbox
                })
                .collect();
            group.throughput(Throughput::Elements(n as u64));
            group.bench_with_input(BenchmarkId::new(mix, n), &n, |b, _| {
                b.iter(|| {
                    // A fresh frame each time: its encoding (once per mode) is part of the cost.
                    let frame = Frame::new(message());
                    for outbox in &outboxes {
                        outbox.push(&frame);
                    }
                    rt.block_on(drain_async(&outboxes))
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, push_only, push_drain);
criterion_main!(benches);
