//! Micro-benchmarks of the wire path a chat message takes through sockhub-proto.
//!
//! These measure the pieces every message pays for, in isolation from sockets and tasks: splitting
//! a read buffer into lines (typical short lines, lines just under the limit, over-long lines that
//! are discarded without buffering, and invalid UTF-8), turning a client's line into a request
//! (text grammar and JSON), and rendering a server event in each mode. The numbers are in
//! `docs/benchmarks.md`; run with `cargo bench -p sockhub-proto --bench codec`.

use std::hint::black_box;

use bytes::BytesMut;
use chrono::TimeZone;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use sockhub_proto::chat::{self, ChatEvent, ChatRequest, Phase};
use sockhub_proto::wire::Wire;
use sockhub_proto::{LineCodec, LineItem};
use tokio_util::codec::Decoder;

/// The server's default line limit (`limits.max_line_bytes`).
const MAX_LINE: usize = 8192;
/// Lines per decoded buffer: what one large read might hold.
const LINES: usize = 1000;

/// `LINES` copies of `line`, each followed by `\n`.
fn buffer_of(line: &[u8]) -> Vec<u8> {
    let mut buf = Vec::with_capacity((line.len() + 1) * LINES);
    for _ in 0..LINES {
        buf.extend_from_slice(line);
        buf.push(b'\n');
    }
    buf
}

/// Decode everything in `input` and count the items, as the connection reader does.
fn decode_all(input: &[u8]) -> usize {
    let mut codec = LineCodec::new(MAX_LINE);
    let mut buf = BytesMut::from(input);
    let mut n = 0;
    while let Some(item) = codec.decode(&mut buf).expect("decoding never fails") {
        black_box(&item);
        n += 1;
    }
    n
}

fn line_decoding(c: &mut Criterion) {
    let mut group = c.benchmark_group("decode");
    let cases: [(&str, Vec<u8>); 4] = [
        ("short_32B", buffer_of(&[b'a'; 32])),
        ("near_limit_8191B", buffer_of(&[b'a'; MAX_LINE - 1])),
        ("too_long_16KiB", buffer_of(&[b'a'; 2 * MAX_LINE])),
        ("invalid_utf8_32B", buffer_of(&[0xff; 32])),
    ];
    for (name, input) in &cases {
        // Sanity: every line yields exactly one item (a line or its rejection).
        assert_eq!(decode_all(input), LINES, "{name}");
        group.throughput(Throughput::Bytes(input.len() as u64));
        group.bench_function(*name, |b| b.iter(|| decode_all(black_box(input))));
    }

    // A line arriving one byte at a time: the codec must not rescan what it has already seen.
    let line = [b'a'; 1024];
    group.throughput(Throughput::Bytes(line.len() as u64 + 1));
    group.bench_function("trickle_1KiB_bytewise", |b| {
        b.iter_batched(
            || LineCodec::new(MAX_LINE),
            |mut codec| {
                let mut buf = BytesMut::with_capacity(line.len() + 1);
                for &byte in line.iter().chain(b"\n") {
                    buf.extend_from_slice(&[byte]);
                    if let Some(item) = codec.decode(&mut buf).expect("decoding never fails") {
                        return item;
                    }
                }
                LineItem::InvalidUtf8
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
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

fn requests(c: &mut Criterion) {
    let mut group = c.benchmark_group("request");
    let text = "hello everyone, this is a fairly ordinary chat message of about eighty bytes";
    group.bench_function("parse_text_say", |b| {
        b.iter(|| chat::parse_text(black_box(text), &Phase::Room).expect("valid"))
    });
    let json = serde_json::to_string(&ChatRequest::Say {
        text: text.to_owned(),
        room: None,
        notice: false,
        tags: Vec::new(),
    })
    .unwrap();
    group.bench_function("decode_json_say", |b| {
        b.iter(|| sockhub_proto::json::decode::<ChatRequest>(black_box(&json)).expect("valid"))
    });
    // The slow path: a known type with a bad field is parsed twice to say what was wrong.
    let bad = r#"{"type":"say","text":5}"#;
    group.bench_function("decode_json_bad_field", |b| {
        b.iter(|| sockhub_proto::json::decode::<ChatRequest>(black_box(bad)).expect_err("invalid"))
    });
    group.finish();
}

fn events(c: &mut Criterion) {
    let mut group = c.benchmark_group("event");
    let msg = message();
    group.bench_function("encode_text_message", |b| {
        b.iter(|| {
            let mut out = Vec::with_capacity(128);
            black_box(&msg).write_text(&mut out);
            out
        })
    });
    group.bench_function("encode_json_message", |b| {
        b.iter(|| {
            let mut out = Vec::with_capacity(160);
            black_box(&msg).write_json(&mut out);
            out
        })
    });
    // What a JSON client (the terminal client, the bench) pays to read a broadcast back.
    let mut line = Vec::new();
    msg.write_json(&mut line);
    let line = String::from_utf8(line).unwrap();
    group.bench_function("decode_json_message", |b| {
        b.iter(|| serde_json::from_str::<ChatEvent>(black_box(line.trim_end())).expect("valid"))
    });
    group.finish();
}

criterion_group!(benches, line_decoding, requests, events);
criterion_main!(benches);
