//! Fan-out: one frame queued for many connections, then written to their sockets in a few tasks
//! instead of one wake-up per recipient.
//!
//! A [`Fanout`] queues a frame in each recipient's [`Outbox`] with [`Outbox::push_deferred`]. A
//! recipient whose TCP socket has been quiet (nothing queued, the writer idle, nothing written for
//! `limits.direct_write_quiet_us`) is not woken: it is remembered, and when the fan-out ends its
//! queue is written straight to its socket with one non-blocking `send` ([`Outbox::flush`]). The
//! first [`CHUNK`] of those sockets are written by the task that fanned out; the rest are split
//! into tasks of [`CHUNK`] sockets each, spawned on the runtime, so that both worker threads write
//! (a thousand recipients: eight tasks, not a thousand writer wake-ups). Busy recipients, and
//! TLS, WebSocket and IRC connections, are woken as before and written by their own writers.
//!
//! Order per connection holds because the frames are queued, in order, before anyone writes, and
//! whoever writes (a flush or the writer) takes the queue from the front under its lock; a flush
//! leaves a queue alone while the writer holds frames it has not finished writing. A flush never
//! blocks: what the socket does not take stays queued for the writer, under the same bounds.

use std::sync::Arc;

use crate::net::outbox::{Frame, Outbox, Push};

/// Sockets written per task.
pub const CHUNK: usize = 128;

/// A fan-out in progress; the queued frames are written when it is dropped.
#[derive(Default)]
pub struct Fanout {
    /// Outboxes that hold a frame nobody was woken for.
    pending: Vec<Outbox>,
}

impl Fanout {
    pub fn new() -> Self {
        Self::default()
    }

    /// Queue `frame` for `outbox`.
    pub fn push(&mut self, outbox: &Outbox, frame: &Arc<Frame>) -> Push {
        let (push, flush) = outbox.push_deferred(frame);
        if flush {
            self.pending.push(outbox.clone());
        }
        push
    }
}

impl Drop for Fanout {
    fn drop(&mut self) {
        let mut pending = std::mem::take(&mut self.pending);
        if pending.len() > CHUNK
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            let mut rest = pending.split_off(CHUNK);
            while !rest.is_empty() {
                let tail = rest.split_off(rest.len().saturating_sub(CHUNK));
                runtime.spawn(async move { flush(&tail) });
            }
        }
        flush(&pending);
    }
}

fn flush(outboxes: &[Outbox]) {
    for outbox in outboxes {
        outbox.flush();
    }
}
