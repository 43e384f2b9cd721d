//! The line codec: UTF-8 lines ending in `\n` (a `\r` before it is dropped), at most
//! `max_line` bytes each.
//!
//! The codec never fails the stream for a bad line. A line that is too long is reported once as
//! [`LineItem::TooLong`] as soon as the limit is passed, and the rest of it is discarded up to the
//! next newline without being buffered, so a peer that streams gigabytes without a newline costs
//! at most `max_line` bytes of memory. A line that is not valid UTF-8 is reported as
//! [`LineItem::InvalidUtf8`]. A partial line is simply "need more bytes"; at end of stream an
//! unterminated last line is delivered as a line (what `nc` sends when the user presses Ctrl-D).
//!
//! **Clients without framing.** A codec made with [`LineCodec::detecting`] also serves clients
//! that send messages without any line end (one `sendall` per message, as socket exercises in
//! many languages do). It starts [`Framing::Undecided`]: a line end in the connection's first
//! message makes it [`Framing::Lines`] for good; if instead the transport sees the bytes stop for
//! a quiet gap first, it calls [`LineCodec::end_of_burst`], which delivers what arrived as one
//! message and makes the connection [`Framing::Bursts`]. From then on a gap ends a message as a
//! line end does (a line end still ends one too). The codec keeps no clock: timing is the
//! transport's, so this module stays free of I/O. The limit applies to a burst exactly as to a
//! line: an oversized one is reported once and discarded up to the next line end or gap.

use bytes::{Buf, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

/// One decoded item: a good line or the reason a line was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineItem {
    /// A complete line without its line ending.
    Line(String),
    /// A line longer than the limit; it is being (or was) discarded.
    TooLong { limit: usize },
    /// A line that is not valid UTF-8; it was discarded.
    InvalidUtf8,
}

/// How a connection's messages are delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// Not known yet: no line end has arrived, and no quiet gap has ended the first message.
    Undecided,
    /// Every message ends with a line end (`\n`); pauses mean nothing.
    Lines,
    /// Unframed client: a quiet gap after a burst of bytes ends a message, as a line end does.
    Bursts,
}

/// Newline-delimited codec with a maximum line length.
#[derive(Debug, Clone)]
pub struct LineCodec {
    max_line: usize,
    framing: Framing,
    /// How far into the buffer we have already looked for `\n`, so a slow trickle of bytes is
    /// scanned once, not once per read.
    scanned: usize,
    /// True while discarding the remainder of an over-long line.
    discarding: bool,
}

impl LineCodec {
    /// A codec that accepts lines of at most `max_line` bytes (not counting the line ending).
    pub fn new(max_line: usize) -> Self {
        Self { max_line: max_line.max(1), framing: Framing::Lines, scanned: 0, discarding: false }
    }

    /// A codec for a peer that may not frame its messages: the first message decides (see the
    /// module documentation); the transport reports quiet gaps with [`LineCodec::end_of_burst`].
    pub fn detecting(max_line: usize) -> Self {
        Self { framing: Framing::Undecided, ..Self::new(max_line) }
    }

    /// How this connection's messages are delimited, as far as known.
    pub fn framing(&self) -> Framing {
        self.framing
    }

    /// Whether a quiet gap now would end a message: the framing is not [`Framing::Lines`] and
    /// part of a message is waiting in `buf` (or being discarded). The transport starts its gap
    /// timer after each read while this holds.
    pub fn awaits_gap(&self, buf: &BytesMut) -> bool {
        self.framing != Framing::Lines && (!buf.is_empty() || self.discarding)
    }

    /// The peer has been quiet for the gap: unless the connection is line-framed, what is
    /// waiting in `buf` is one message (a trailing `\r` dropped, the limit applied), and the
    /// connection's framing is [`Framing::Bursts`] from now on. `None` when nothing was waiting
    /// (or an oversized burst, already reported, ends here).
    pub fn end_of_burst(&mut self, buf: &mut BytesMut) -> Option<LineItem> {
        if self.framing == Framing::Lines || (buf.is_empty() && !self.discarding) {
            return None;
        }
        self.framing = Framing::Bursts;
        self.scanned = 0;
        if std::mem::take(&mut self.discarding) {
            buf.clear();
            return None;
        }
        let burst = buf.split();
        Some(self.take_unterminated(&burst))
    }

    /// A message that ended without a line end (at a gap or at end of stream).
    fn take_unterminated(&self, rest: &[u8]) -> LineItem {
        if rest.len() > self.max_line {
            return LineItem::TooLong { limit: self.max_line };
        }
        Self::take_line(rest)
    }

    /// The configured limit.
    pub fn max_line(&self) -> usize {
        self.max_line
    }

    fn take_line(line: &[u8]) -> LineItem {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        match std::str::from_utf8(line) {
            Ok(s) => LineItem::Line(s.to_owned()),
            Err(_) => LineItem::InvalidUtf8,
        }
    }
}

impl Decoder for LineCodec {
    type Item = LineItem;
    type Error = std::io::Error;

    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<LineItem>, std::io::Error> {
        loop {
            let newline = memchr(&buf[self.scanned..]).map(|i| i + self.scanned);
            if newline.is_some() && self.framing == Framing::Undecided {
                // A line end in the first message: a line client, whatever pauses follow.
                self.framing = Framing::Lines;
            }
            if self.discarding {
                match newline {
                    Some(i) => {
                        buf.advance(i + 1);
                        self.scanned = 0;
                        self.discarding = false;
                        continue;
                    }
                    None => {
                        buf.clear();
                        self.scanned = 0;
                        return Ok(None);
                    }
                }
            }
            return Ok(match newline {
                // `\r\n` may put one byte over the limit; it is not part of the line.
                Some(i) if i <= self.max_line || (i == self.max_line + 1 && buf[i - 1] == b'\r') => {
                    let line = buf.split_to(i + 1);
                    self.scanned = 0;
                    Some(Self::take_line(&line[..i]))
                }
                Some(i) => {
                    buf.advance(i + 1);
                    self.scanned = 0;
                    Some(LineItem::TooLong { limit: self.max_line })
                }
                // One more byte is allowed so that a `\r` of a `\r\n` split across reads fits.
                None if buf.len() > self.max_line + 1 => {
                    buf.clear();
                    self.scanned = 0;
                    self.discarding = true;
                    Some(LineItem::TooLong { limit: self.max_line })
                }
                None => {
                    self.scanned = buf.len();
                    None
                }
            });
        }
    }

    fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<LineItem>, std::io::Error> {
        if let Some(item) = self.decode(buf)? {
            return Ok(Some(item));
        }
        self.scanned = 0;
        if self.discarding {
            self.discarding = false;
            buf.clear();
            return Ok(None);
        }
        if buf.is_empty() {
            return Ok(None);
        }
        let rest = buf.split();
        Ok(Some(self.take_unterminated(&rest)))
    }
}

impl<T: AsRef<str>> Encoder<T> for LineCodec {
    type Error = std::io::Error;

    fn encode(&mut self, line: T, buf: &mut BytesMut) -> Result<(), std::io::Error> {
        let line = line.as_ref();
        buf.reserve(line.len() + 1);
        buf.extend_from_slice(line.as_bytes());
        buf.extend_from_slice(b"\n");
        Ok(())
    }
}

fn memchr(haystack: &[u8]) -> Option<usize> {
    haystack.iter().position(|&b| b == b'\n')
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn decode_all(codec: &mut LineCodec, chunks: &[&[u8]]) -> Vec<LineItem> {
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        for chunk in chunks {
            buf.extend_from_slice(chunk);
            while let Some(item) = codec.decode(&mut buf).unwrap() {
                out.push(item);
            }
        }
        while let Some(item) = codec.decode_eof(&mut buf).unwrap() {
            out.push(item);
        }
        out
    }

    fn line(s: &str) -> LineItem {
        LineItem::Line(s.to_owned())
    }

    #[test]
    fn splits_lines_and_strips_crlf() {
        let mut c = LineCodec::new(64);
        let items = decode_all(&mut c, &[b"hello\r\nwor", b"ld\n\n\xed\x95\x9c\xea\xb8\x80\n"]);
        assert_eq!(items, vec![line("hello"), line("world"), line(""), line("한글")]);
    }

    #[test]
    fn too_long_is_reported_once_and_the_rest_discarded() {
        let mut c = LineCodec::new(4);
        let items = decode_all(&mut c, &[b"abcdefgh", b"ijkl", b"mnop\nok\n"]);
        assert_eq!(items, vec![LineItem::TooLong { limit: 4 }, line("ok")]);
    }

    #[test]
    fn a_line_of_exactly_the_limit_passes_even_with_crlf() {
        let mut c = LineCodec::new(4);
        let items = decode_all(&mut c, &[b"abcd\r", b"\nabcd\nabcde\n"]);
        assert_eq!(items, vec![line("abcd"), line("abcd"), LineItem::TooLong { limit: 4 }]);
    }

    #[test]
    fn invalid_utf8_is_reported_and_the_stream_goes_on() {
        let mut c = LineCodec::new(64);
        let items = decode_all(&mut c, &[b"\xff\xfe\nnext\n"]);
        assert_eq!(items, vec![LineItem::InvalidUtf8, line("next")]);
    }

    #[test]
    fn unterminated_last_line_is_delivered_at_eof() {
        let mut c = LineCodec::new(64);
        assert_eq!(decode_all(&mut c, &[b"a\nbye"]), vec![line("a"), line("bye")]);
    }

    /// Feed `reads` KiB without a line end to `c` (limit 8); the buffer never holds more than
    /// one read, and the over-long line is reported once.
    fn stream_without_line_ends(c: &mut LineCodec, buf: &mut BytesMut, reads: usize) {
        let mut reports = 0;
        for _ in 0..reads {
            buf.extend_from_slice(&[b'x'; 1024]);
            while let Some(item) = c.decode(buf).unwrap() {
                assert_eq!(item, LineItem::TooLong { limit: 8 });
                reports += 1;
            }
            assert!(buf.len() <= 1024);
        }
        assert_eq!(reports, 1);
    }

    #[test]
    fn memory_stays_bounded_while_discarding() {
        let mut c = LineCodec::new(8);
        stream_without_line_ends(&mut c, &mut BytesMut::new(), 1000);
    }

    /// Feed `bursts` to a detecting codec, with a quiet gap after each (`end_of_burst`), and
    /// collect the items with the framing after each burst.
    fn bursts(codec: &mut LineCodec, bursts: &[&[&[u8]]]) -> (Vec<LineItem>, Vec<Framing>) {
        let mut buf = BytesMut::new();
        let (mut out, mut framings) = (Vec::new(), Vec::new());
        for burst in bursts {
            for read in *burst {
                buf.extend_from_slice(read);
                while let Some(item) = codec.decode(&mut buf).unwrap() {
                    out.push(item);
                }
            }
            out.extend(codec.end_of_burst(&mut buf));
            framings.push(codec.framing());
        }
        (out, framings)
    }

    #[test]
    fn a_first_message_without_a_line_end_makes_bursts_messages() {
        let mut c = LineCodec::detecting(64);
        assert_eq!(c.framing(), Framing::Undecided);
        // Two sends in one burst are one message, as one recv(1024) would have read them.
        let (items, framings) = bursts(&mut c, &[&[b"alice"], &[b"hello ", b"world"], &[b"q"]]);
        assert_eq!(items, vec![line("alice"), line("hello world"), line("q")]);
        assert_eq!(framings, vec![Framing::Bursts; 3]);
    }

    #[test]
    fn a_line_end_in_the_first_message_makes_a_line_client_for_good() {
        let mut c = LineCodec::detecting(64);
        // `ali` and `ce\n` in separate reads but one burst: one line.
        let (items, framings) = bursts(&mut c, &[&[b"ali", b"ce\n"], &[b"hel"], &[b"lo\n"]]);
        assert_eq!(items, vec![line("alice"), line("hello")], "a pause mid-line splits nothing");
        assert_eq!(framings, vec![Framing::Lines; 3]);
    }

    #[test]
    fn in_bursts_a_line_end_still_ends_a_message() {
        let mut c = LineCodec::detecting(64);
        let (items, _) = bursts(&mut c, &[&[b"ali"], &[b"ce\r\n"], &[b"a\nb\nc"]]);
        assert_eq!(items, vec![line("ali"), line("ce"), line("a"), line("b"), line("c")]);
    }

    #[test]
    fn a_plain_line_codec_ignores_gaps() {
        let mut c = LineCodec::new(64);
        let (items, framings) = bursts(&mut c, &[&[b"ali"], &[b"ce\n"]]);
        assert_eq!(items, vec![line("alice")]);
        assert_eq!(framings, vec![Framing::Lines; 2]);
        assert!(!c.awaits_gap(&BytesMut::from(&b"partial"[..])));
    }

    #[test]
    fn an_oversized_burst_is_reported_once_and_discarded_to_the_gap() {
        let mut c = LineCodec::detecting(8);
        let (items, _) = bursts(&mut c, &[&[b"tiny"], &[b"0123456", b"789abc", b"def"], &[b"12345678"]]);
        assert_eq!(items, vec![line("tiny"), LineItem::TooLong { limit: 8 }, line("12345678")]);
        // The first message may be the oversized one; memory stays bounded meanwhile.
        let mut c = LineCodec::detecting(8);
        let mut buf = BytesMut::new();
        stream_without_line_ends(&mut c, &mut buf, 100);
        assert!(c.awaits_gap(&buf), "the discarding ends at a gap");
        assert_eq!(c.end_of_burst(&mut buf), None);
        assert_eq!(c.framing(), Framing::Bursts);
        buf.extend_from_slice(b"next");
        assert_eq!(c.end_of_burst(&mut buf), Some(line("next")));
    }

    #[test]
    fn a_burst_that_is_not_utf8_is_refused_and_the_next_one_passes() {
        let mut c = LineCodec::detecting(64);
        let (items, _) = bursts(&mut c, &[&[b"caf\xe9"], &[b"caf\xc3\xa9"]]);
        assert_eq!(items, vec![LineItem::InvalidUtf8, line("café")]);
    }

    #[test]
    fn a_gap_with_nothing_waiting_is_no_message_and_decides_nothing() {
        let mut c = LineCodec::detecting(64);
        let mut buf = BytesMut::new();
        assert!(!c.awaits_gap(&buf));
        assert_eq!(c.end_of_burst(&mut buf), None);
        assert_eq!(c.framing(), Framing::Undecided);
        // And the end of the stream delivers an unterminated first message, as for lines.
        buf.extend_from_slice(b"tester&&Hello");
        assert_eq!(c.decode(&mut buf).unwrap(), None);
        assert_eq!(c.decode_eof(&mut buf).unwrap(), Some(line("tester&&Hello")));
    }

    /// Reference decoder: whole input at once, split on `\n`.
    fn reference(input: &[u8], max: usize) -> Vec<LineItem> {
        let mut out = Vec::new();
        let mut parts: Vec<&[u8]> = input.split(|&b| b == b'\n').collect();
        let last = parts.pop().unwrap_or(&[]);
        for p in parts {
            let content = p.strip_suffix(b"\r").unwrap_or(p);
            if content.len() > max {
                out.push(LineItem::TooLong { limit: max });
            } else {
                out.push(LineCodec::take_line(p));
            }
        }
        if !last.is_empty() {
            if last.len() > max {
                out.push(LineItem::TooLong { limit: max });
            } else {
                out.push(LineCodec::take_line(last));
            }
        }
        out
    }

    proptest! {
        /// Any byte stream, split anywhere, yields the same items as decoding it whole.
        #[test]
        fn any_split_yields_the_same_items(
            input in proptest::collection::vec(
                prop_oneof![Just(b'\n'), Just(b'\r'), Just(0xffu8), Just(0xedu8), any::<u8>(), b'a'..=b'z'],
                0..300),
            cuts in proptest::collection::vec(0usize..300, 0..8),
            max in 1usize..24,
        ) {
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(input.len())).collect();
            cuts.sort_unstable();
            let mut chunks = Vec::new();
            let mut start = 0;
            for c in cuts {
                chunks.push(&input[start..c]);
                start = c;
            }
            chunks.push(&input[start..]);
            let mut codec = LineCodec::new(max);
            prop_assert_eq!(decode_all(&mut codec, &chunks), reference(&input, max));
        }
    }
}
