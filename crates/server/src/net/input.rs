//! The reading half of a byte-stream transport (TCP, TLS): bytes in, messages out.
//!
//! [`ByteInput`] reads the socket into one buffer and frames it with `proto`'s [`LineCodec`].
//! Most clients end each message with a line end, and are read exactly as a `FramedRead` would
//! read them. For clients that send no line ends (the socket exercises whose clients do one
//! `sendall` per message and whose servers did one `recv(1024)` per message), it keeps the clock
//! the codec does not have: after each read that leaves part of a message waiting, a timer of
//! `limits.unframed_gap` starts again; when it fires, the peer has been quiet for the gap and
//! the codec is told ([`LineCodec::end_of_burst`]): the burst is one message. The codec decides
//! once, from the first message, whether the gap means anything (see [`Framing`]): a line end
//! there makes a line client, and pauses never split its lines.
//!
//! The timer is allocated only while a connection's framing is undecided with bytes waiting or
//! the connection is unframed; a line client never has one. The buffer exists only while bytes
//! wait in it: a read with nothing waiting goes onto the stack first (at most [`READ_CHUNK`]
//! bytes), and what it brought is copied into a buffer of at least the configured capacity,
//! which grows only for long messages, bounded by the codec's limit. A connection that has read
//! everything it was sent and waits for more holds no read buffer at all; with thousands of idle
//! connections that is a good part of what each one costs.

use std::io;
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::BytesMut;
use futures_util::Stream;
use sockhub_proto::{Framing, LineCodec, LineItem};
use tokio::io::{AsyncRead, ReadBuf};
use tokio::time::{Instant, Sleep, sleep};
use tokio_util::codec::Decoder;
use tokio_util::io::poll_read_buf;

/// The most one read takes from the socket while no part of a message waits (on the stack).
pub const READ_CHUNK: usize = 2048;

/// A byte stream read as messages: lines, or bursts for a client without line ends.
pub struct ByteInput<R> {
    reader: R,
    codec: LineCodec,
    /// What waits to be framed; no allocation while nothing does.
    buf: BytesMut,
    /// The smallest buffer allocated when bytes arrive.
    capacity: usize,
    /// The quiet gap that ends a burst; `None`: lines only.
    gap: Option<Duration>,
    /// Running while part of an unframed (or not yet framed) message waits.
    timer: Option<Pin<Box<Sleep>>>,
    /// Whether any byte has arrived.
    heard: bool,
    eof: bool,
}

impl<R: AsyncRead + Unpin> ByteInput<R> {
    /// Read `reader` with messages of at most `max_line` bytes; `gap` enables bursts.
    pub fn new(reader: R, max_line: usize, gap: Option<Duration>, capacity: usize) -> Self {
        let codec = match gap {
            Some(_) => LineCodec::detecting(max_line),
            None => LineCodec::new(max_line),
        };
        ByteInput {
            reader,
            codec,
            buf: BytesMut::new(),
            capacity,
            gap,
            timer: None,
            heard: false,
            eof: false,
        }
    }

    /// Whether the peer has sent anything yet (a byte, not necessarily a whole message).
    pub fn heard(&self) -> bool {
        self.heard
    }

    /// How the peer frames its messages, as far as known.
    pub fn framing(&self) -> Framing {
        self.codec.framing()
    }

    /// After a read: restart the gap timer if part of a message waits for one, else stop it.
    fn rearm(&mut self) {
        match self.gap {
            Some(gap) if self.codec.awaits_gap(&self.buf) => {
                let at = Instant::now() + gap;
                match &mut self.timer {
                    Some(timer) => timer.as_mut().reset(at),
                    None => self.timer = Some(Box::pin(sleep(gap))),
                }
            }
            _ => self.timer = None,
        }
    }

    /// Read with nothing waiting in the buffer: onto the stack, then into a buffer allocated for
    /// what came. Pending, the connection gives its (empty) buffer back.
    fn poll_read_fresh(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let mut chunk = [MaybeUninit::<u8>::uninit(); READ_CHUNK];
        let mut read = ReadBuf::uninit(&mut chunk);
        match Pin::new(&mut self.reader).poll_read(cx, &mut read) {
            Poll::Ready(Ok(())) => {
                let bytes = read.filled();
                self.buf.reserve(bytes.len().max(self.capacity));
                self.buf.extend_from_slice(bytes);
                Poll::Ready(Ok(bytes.len()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => {
                if self.buf.capacity() > 0 {
                    self.buf = BytesMut::new();
                }
                Poll::Pending
            }
        }
    }

    /// The gap timer, if running, has fired: the message waiting (if any) ends here.
    fn poll_gap(&mut self, cx: &mut Context<'_>) -> Poll<Option<LineItem>> {
        let Some(timer) = &mut self.timer else { return Poll::Pending };
        ready!(timer.as_mut().poll(cx));
        self.timer = None;
        Poll::Ready(self.codec.end_of_burst(&mut self.buf))
    }
}

impl<R: AsyncRead + Unpin> Stream for ByteInput<R> {
    type Item = io::Result<LineItem>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if let Some(item) = this.codec.decode(&mut this.buf)? {
                return Poll::Ready(Some(Ok(item)));
            }
            if this.eof {
                return Poll::Ready(this.codec.decode_eof(&mut this.buf).transpose());
            }
            let read = if this.buf.is_empty() {
                this.poll_read_fresh(cx)
            } else {
                this.buf.reserve(1);
                poll_read_buf(Pin::new(&mut this.reader), cx, &mut this.buf)
            };
            match read {
                Poll::Ready(Ok(0)) => {
                    this.eof = true;
                    this.timer = None;
                }
                Poll::Ready(Ok(_)) => {
                    this.heard = true;
                    this.rearm();
                }
                Poll::Ready(Err(e)) => {
                    // The stream ends with its error: a TLS stream would repeat it on every read.
                    this.eof = true;
                    this.timer = None;
                    this.buf.clear();
                    return Poll::Ready(Some(Err(e)));
                }
                Poll::Pending => match this.poll_gap(cx) {
                    Poll::Ready(Some(item)) => return Poll::Ready(Some(Ok(item))),
                    // A gap with nothing to end (an oversized burst's discarding stopped): read on.
                    Poll::Ready(None) => continue,
                    Poll::Pending => return Poll::Pending,
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;
    use tokio::io::AsyncWriteExt;

    const GAP: Duration = Duration::from_millis(50);

    fn line(s: &str) -> LineItem {
        LineItem::Line(s.to_owned())
    }

    async fn next(input: &mut ByteInput<tokio::io::DuplexStream>) -> LineItem {
        input.next().await.expect("an item").expect("no error")
    }

    /// The peer writes each chunk, then pauses for its duration; the task returns the peer.
    fn peer_writes(
        mut peer: tokio::io::DuplexStream,
        steps: &'static [(&'static [u8], Duration)],
    ) -> tokio::task::JoinHandle<tokio::io::DuplexStream> {
        tokio::spawn(async move {
            for (chunk, pause) in steps {
                peer.write_all(chunk).await.unwrap();
                tokio::time::sleep(*pause).await;
            }
            peer
        })
    }

    #[tokio::test(start_paused = true)]
    async fn bursts_end_at_the_gap_and_sends_within_it_are_one_message() {
        let (mut peer, ours) = tokio::io::duplex(1024);
        let mut input = ByteInput::new(ours, 64, Some(GAP), 16);
        peer.write_all(b"alice").await.unwrap();
        let started = Instant::now();
        assert_eq!(next(&mut input).await, line("alice"));
        assert!(started.elapsed() >= GAP, "a message ends only after the quiet gap");
        assert_eq!(input.framing(), Framing::Bursts);

        const STEPS: &[(&[u8], Duration)] = &[
            (b"hello ", Duration::from_millis(25)),
            (b"world", GAP.saturating_mul(3)),
            (b"q", Duration::ZERO),
        ];
        let writer = peer_writes(peer, STEPS);
        assert_eq!(next(&mut input).await, line("hello world"), "within the gap: one message");
        assert_eq!(next(&mut input).await, line("q"), "after a gap: a message of its own");
        drop(writer.await.unwrap());
        assert!(input.next().await.is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn a_line_client_is_never_split_by_pauses() {
        let (peer, ours) = tokio::io::duplex(1024);
        let mut input = ByteInput::new(ours, 64, Some(GAP), 16);
        const STEPS: &[(&[u8], Duration)] = &[
            (b"ali", Duration::from_millis(25)),
            (b"ce\nhel", GAP.saturating_mul(10)),
            (b"lo\n", Duration::ZERO),
        ];
        let writer = peer_writes(peer, STEPS);
        assert_eq!(next(&mut input).await, line("alice"));
        assert_eq!(input.framing(), Framing::Lines);
        assert_eq!(next(&mut input).await, line("hello"));
        assert!(input.timer.is_none(), "a line client keeps no timer");
        drop(writer.await.unwrap());
    }

    /// Bytes waiting keep their buffer across reads; a connection that has read everything and
    /// waits for more holds none, and a message longer than one stack read still arrives whole.
    #[tokio::test(start_paused = true)]
    async fn a_waiting_connection_holds_no_read_buffer() {
        let (mut peer, ours) = tokio::io::duplex(1 << 16);
        let mut input = ByteInput::new(ours, 3 * READ_CHUNK, None, 16);
        peer.write_all(b"hello\nwor").await.unwrap();
        assert_eq!(next(&mut input).await, line("hello"));
        assert!(tokio::time::timeout(GAP, input.next()).await.is_err());
        assert!(input.buf.capacity() >= 3, "part of a line waits in its buffer");
        peer.write_all(b"ld\n").await.unwrap();
        assert_eq!(next(&mut input).await, line("world"));
        assert!(tokio::time::timeout(GAP, input.next()).await.is_err());
        assert_eq!(input.buf.capacity(), 0, "nothing waits: no buffer");

        let long = "x".repeat(2 * READ_CHUNK + 10);
        peer.write_all(format!("{long}\nnext\n").as_bytes()).await.unwrap();
        assert_eq!(next(&mut input).await, line(&long));
        assert_eq!(next(&mut input).await, line("next"));
        assert!(tokio::time::timeout(GAP, input.next()).await.is_err());
        assert_eq!(input.buf.capacity(), 0);
    }

    /// A reader that fails on every read, as a TLS stream does after an unclean close.
    struct Failing;

    impl AsyncRead for Failing {
        fn poll_read(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
            _: &mut tokio::io::ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            Poll::Ready(Err(io::ErrorKind::UnexpectedEof.into()))
        }
    }

    #[tokio::test]
    async fn the_stream_ends_after_its_first_error() {
        let mut input = ByteInput::new(Failing, 64, Some(GAP), 16);
        assert!(matches!(input.next().await, Some(Err(_))));
        assert!(input.next().await.is_none(), "an error ends the stream, it is not repeated");
    }

    #[tokio::test(start_paused = true)]
    async fn without_a_gap_every_client_is_read_in_lines() {
        let (mut peer, ours) = tokio::io::duplex(1024);
        let mut input = ByteInput::new(ours, 64, None, 16);
        peer.write_all(b"alice").await.unwrap();
        assert!(tokio::time::timeout(GAP * 100, input.next()).await.is_err(), "waits for a line end");
        peer.write_all(b"\n").await.unwrap();
        assert_eq!(next(&mut input).await, line("alice"));
        assert!(input.heard());
    }

    #[tokio::test(start_paused = true)]
    async fn an_oversized_burst_is_refused_once_and_the_next_one_passes() {
        let (mut peer, ours) = tokio::io::duplex(1 << 16);
        let mut input = ByteInput::new(ours, 8, Some(GAP), 16);
        peer.write_all(b"tiny").await.unwrap();
        assert_eq!(next(&mut input).await, line("tiny"));
        peer.write_all(&[b'x'; 4000]).await.unwrap();
        assert_eq!(next(&mut input).await, LineItem::TooLong { limit: 8 });
        const STEPS: &[(&[u8], Duration)] = &[(b"", GAP.saturating_mul(3)), (b"ok", Duration::ZERO)];
        let writer = peer_writes(peer, STEPS);
        assert_eq!(next(&mut input).await, line("ok"));
        assert!(input.buf.capacity() < 4000, "the discarded burst was never buffered");
        drop(writer.await.unwrap());
    }
}
