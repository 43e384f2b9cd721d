//! The outbox on its own, without sockets: bounds, order, batches, the buffers a busy queue and
//! its writer trade, and when lines are copied rather than shared.

use super::*;
use sockhub_proto::ErrorCode;
use sockhub_proto::wire::render;

fn frame(text: &str) -> Arc<Frame> {
    Frame::new(Notice::info(text))
}

fn texts(batch: &Batch) -> Vec<String> {
    batch.frames().map(|f| String::from_utf8_lossy(f.encoded(Mode::Text, Lang::En)).into_owned()).collect()
}

#[tokio::test]
async fn drains_everything_queued_in_one_batch_in_order() {
    let outbox = Outbox::new(10);
    for t in ["a", "b", "c"] {
        assert_eq!(outbox.push(&frame(t)), Push::Queued);
    }
    let mut batch = Batch::new();
    assert!(outbox.next_batch(&mut batch).await);
    assert_eq!(texts(&batch), ["* a\n", "* b\n", "* c\n"]);
}

#[tokio::test]
async fn overflow_replaces_the_queue_with_a_final_notice_and_closes() {
    let outbox = Outbox::new(2);
    outbox.push(&frame("a"));
    outbox.push(&frame("b"));
    assert_eq!(outbox.push(&frame("c")), Push::Overflow);
    assert!(outbox.is_closing());
    assert_eq!(outbox.push(&frame("d")), Push::Closed);
    let mut batch = Batch::new();
    assert!(!outbox.next_batch(&mut batch).await);
    assert_eq!(batch.len(), 1);
    assert!(texts(&batch)[0].starts_with("* bye: too slow"));
}

#[tokio::test]
async fn overflow_by_bytes_before_frames() {
    let outbox = Outbox::bounded(1000, 100);
    let big = frame(&"x".repeat(60)); // "* " + 60 + "\n" = 63 bytes in text mode
    assert_eq!(outbox.push(&big), Push::Queued);
    assert_eq!(outbox.push(&big), Push::Overflow, "126 bytes would wait, over 100");
    let mut batch = Batch::new();
    assert!(!outbox.next_batch(&mut batch).await);
    assert!(texts(&batch)[0].starts_with("* bye: too slow: 1 messages (63 bytes)"), "{:?}", texts(&batch));
}

#[tokio::test]
async fn bytes_are_counted_in_the_connections_mode_and_freed_by_the_writer() {
    let outbox = Outbox::bounded(1000, 100);
    outbox.set_mode(Mode::Json);
    let f = frame(&"y".repeat(40)); // {"type":"info","text":"yyyy…"} + \n = 64 bytes
    assert_eq!(outbox.push(&f), Push::Queued);
    let mut batch = Batch::new();
    assert!(outbox.next_batch(&mut batch).await);
    assert_eq!(outbox.push(&f), Push::Queued, "the writer took the first: room again");
    assert_eq!(outbox.push(&f), Push::Overflow);
}

#[tokio::test]
async fn one_frame_larger_than_the_byte_limit_still_goes_to_an_empty_queue() {
    let outbox = Outbox::bounded(1000, 10);
    assert_eq!(outbox.push(&frame(&"z".repeat(50))), Push::Queued);
    assert_eq!(outbox.push(&frame("a")), Push::Overflow);
}

#[tokio::test]
async fn close_keeps_what_is_queued_then_the_last_frame() {
    let outbox = Outbox::new(10);
    outbox.push(&frame("a"));
    assert!(outbox.close_with(Some(frame("last"))));
    assert!(!outbox.close_with(Some(frame("again"))));
    let mut batch = Batch::new();
    assert!(!outbox.next_batch(&mut batch).await);
    assert_eq!(texts(&batch), ["* a\n", "* last\n"]);
}

#[tokio::test]
async fn a_busy_queue_and_its_writer_trade_slots_instead_of_allocating() {
    // Whole frames (mode not yet known), then frames encoded at the push.
    for mode in [None, Some(Mode::Text)] {
        let outbox = Outbox::new(10_000);
        if let Some(mode) = mode {
            outbox.set_mode(mode);
        }
        let f = frame("x");
        for _ in 0..500 {
            outbox.push(&f);
        }
        let mut batch = Batch::new();
        assert!(outbox.next_batch(&mut batch).await);
        assert_eq!(batch.len(), 500);
        let grown = batch.room();
        assert!(grown.0 + grown.1 >= 500, "{mode:?}: {grown:?}");
        // Written while more came: the queue is in use and keeps its slots.
        batch.clear();
        outbox.push(&f);
        outbox.written();
        assert!(outbox.next_batch(&mut batch).await);
        assert_eq!(batch.len(), 1);
        assert_eq!(outbox.queue_capacity(), grown, "{mode:?}: the queue goes on in the writer's slots");
        // Written and nothing more came: the writer hears of the spare slots, and gives them
        // back once the connection has been idle for a while.
        assert!(outbox.written());
        assert_eq!(outbox.queue_capacity(), grown);
        outbox.release_spare();
        assert_eq!(outbox.queue_capacity(), (0, 0));
        assert!(!outbox.written());
    }
}

/// What a writer writes for `batch`, as text.
fn written(outbox: &Outbox, batch: &Batch) -> String {
    let mut out = Vec::new();
    outbox.write_batch(batch, &mut out);
    String::from_utf8(out).unwrap()
}

/// Push `n` frames numbered from `from` ("* 0", "* 1"...).
fn push_numbered(outbox: &Outbox, from: usize, n: usize) {
    for i in from..from + n {
        outbox.push(&frame(&i.to_string()));
    }
}

/// "* 0\n* 1\n…" for `range`.
fn numbered(range: std::ops::Range<usize>) -> String {
    range.map(|i| format!("* {i}\n")).collect()
}

#[tokio::test]
async fn a_long_queue_keeps_the_bytes_of_the_next_frames_not_the_frames() {
    let outbox = Outbox::new(100);
    // Before the mode is known, frames wait whole however many there are.
    push_numbered(&outbox, 0, COPY_FROM + 2);
    let whole = frame("whole");
    outbox.push(&whole);
    assert_eq!(Arc::strong_count(&whole), 2, "the mode is not known: the frame waits whole");
    let mut batch = Batch::new();
    assert!(outbox.next_batch(&mut batch).await);
    assert_eq!(batch.only_encoded(), None);
    batch.clear();
    outbox.written();
    // The mode known: a short queue keeps shared frames, a long one copies.
    outbox.set_mode(Mode::Json);
    let shared = frame("0");
    outbox.push(&shared);
    assert_eq!(Arc::strong_count(&shared), 2, "a short queue keeps the shared frame");
    push_numbered(&outbox, 1, COPY_FROM - 1);
    let copied = frame("copied");
    outbox.push(&copied);
    assert_eq!(Arc::strong_count(&copied), 1, "copied into a long queue: no reference kept");
    assert_eq!(outbox.len(), COPY_FROM + 1);
    assert!(outbox.next_batch(&mut batch).await);
    assert_eq!(batch.len(), COPY_FROM + 1);
    let mut bytes = Vec::new();
    outbox.write_batch(&batch, &mut bytes);
    let lines: Vec<&str> = std::str::from_utf8(&bytes).unwrap().lines().collect();
    assert_eq!(lines.len(), COPY_FROM + 1);
    assert_eq!(lines[0], "{\"type\":\"info\",\"text\":\"0\"}");
    assert_eq!(lines[COPY_FROM], "{\"type\":\"info\",\"text\":\"copied\"}");
}

#[tokio::test]
async fn a_whole_frame_after_copied_bytes_stays_behind_them() {
    // A last frame after copied lines.
    let outbox = Outbox::new(100);
    outbox.set_mode(Mode::Text);
    push_numbered(&outbox, 0, COPY_FROM + 3);
    assert!(outbox.close_with(Some(frame("last"))));
    let mut batch = Batch::new();
    assert!(!outbox.next_batch(&mut batch).await);
    assert_eq!(written(&outbox, &batch), numbered(0..COPY_FROM + 3) + "* last\n");
    // A writer that takes more into a batch it has not emptied.
    let outbox = Outbox::new(100);
    outbox.set_mode(Mode::Text);
    push_numbered(&outbox, 0, COPY_FROM + 1);
    let mut batch = Batch::new();
    assert!(outbox.next_batch(&mut batch).await);
    assert!(batch.only_encoded().is_none() && batch.encoded_frames == 1, "frames, then bytes");
    push_numbered(&outbox, COPY_FROM + 1, 2);
    assert!(outbox.close_with(Some(frame("end"))));
    assert!(!outbox.next_batch(&mut batch).await);
    assert_eq!(written(&outbox, &batch), numbered(0..COPY_FROM + 3) + "* end\n");
}

#[tokio::test]
async fn copied_frames_count_against_both_bounds() {
    let outbox = Outbox::bounded(COPY_FROM + 2, 1000);
    outbox.set_mode(Mode::Text);
    push_numbered(&outbox, 0, COPY_FROM + 2);
    assert_eq!(outbox.push(&frame("c")), Push::Overflow);
    let mut batch = Batch::new();
    assert!(!outbox.next_batch(&mut batch).await);
    let bytes = numbered(0..COPY_FROM + 2).len();
    let bye = format!("* bye: too slow: {} messages ({bytes} bytes)", COPY_FROM + 2);
    assert!(written(&outbox, &batch).starts_with(&bye), "{}", written(&outbox, &batch));
    let outbox = Outbox::bounded(1000, COPY_FROM * 4 + 100);
    outbox.set_mode(Mode::Text);
    push_numbered(&outbox, 0, COPY_FROM);
    let big = frame(&"x".repeat(60));
    assert_eq!(outbox.push(&big), Push::Queued);
    assert_eq!(outbox.push(&big), Push::Overflow, "the copied 63 bytes count: over the bound");
}

#[test]
fn the_thread_buffer_comes_cleared_and_is_released_past_its_bound() {
    with_thread_buffer(|b| b.resize(100, b'x'));
    let kept = with_thread_buffer(|b| {
        assert!(b.is_empty(), "cleared for each use");
        b.capacity()
    });
    assert!(kept >= 100, "a small buffer is kept for the next write");
    with_thread_buffer(|b| b.resize(KEEP_THREAD_BUFFER + 1, b'x'));
    assert_eq!(with_thread_buffer(|b| b.capacity()), 0, "an outsized one is released");
}

#[tokio::test]
async fn a_queue_grown_in_a_burst_is_released_once_drained() {
    let outbox = Outbox::new(10_000);
    let f = frame("x");
    for _ in 0..5000 {
        outbox.push(&f);
    }
    let mut batch = Batch::new();
    assert!(outbox.next_batch(&mut batch).await);
    assert_eq!(batch.len(), 5000);
    assert!(outbox.inner.state.lock().queue.frames.capacity() <= KEEP_QUEUE_CAPACITY);
}

#[tokio::test]
async fn a_waiting_writer_is_woken_by_a_push() {
    let outbox = Outbox::new(10);
    let writer = tokio::spawn({
        let outbox = outbox.clone();
        async move {
            let mut batch = Batch::new();
            outbox.next_batch(&mut batch).await;
            texts(&batch)
        }
    });
    tokio::task::yield_now().await;
    outbox.push(&frame("x"));
    assert_eq!(writer.await.unwrap(), ["* x\n"]);
}

#[test]
fn a_frame_encodes_once_per_mode() {
    let f = frame("hi");
    let a = f.encoded(Mode::Json, Lang::En).as_ptr();
    assert_eq!(a, f.encoded(Mode::Json, Lang::En).as_ptr());
    assert_eq!(render(&Notice::info("hi"), Mode::Json), "{\"type\":\"info\",\"text\":\"hi\"}\n");
}

#[test]
fn a_frame_speaks_the_language_of_the_outbox() {
    let f = Frame::new(Notice::error(ErrorCode::RateLimited, msg!("error-rate-limited")));
    let text = |lang| String::from_utf8_lossy(f.encoded(Mode::Text, lang)).into_owned();
    assert_eq!(text(Lang::En), "! rate_limited: too many messages; slow down (this one was dropped)\n");
    assert!(text(Lang::Ko).starts_with("! rate_limited: 메시지가 너무 많습니다"), "{}", text(Lang::Ko));
    let json = String::from_utf8_lossy(f.encoded(Mode::Json, Lang::Ko)).into_owned();
    assert!(
        json.starts_with("{\"type\":\"error\",\"code\":\"rate_limited\",\"message\":\"메시지가"),
        "{json}"
    );
    // A full Korean outbox says why in Korean.
    let outbox = Outbox::bounded_in(1, usize::MAX, Lang::Ko);
    outbox.push(&f);
    assert_eq!(outbox.push(&f), Push::Overflow);
    let batch = outbox.inner.state.lock().queue.frames().cloned().collect::<Vec<_>>();
    let bye = String::from_utf8_lossy(batch[0].encoded(Mode::Text, outbox.lang())).into_owned();
    assert!(bye.starts_with("* 연결 종료: 너무 느립니다"), "{bye}");
}
