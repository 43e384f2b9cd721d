//! The line codec: UTF-8 lines ending in `\n` (a `\r` before it is dropped), at most
//! `max_line` bytes each.
//!
//! The codec never fails the stream for a bad line. A line that is too long is reported once as
//! [`LineItem::TooLong`] as soon as the limit is passed, and the rest of it is discarded up to the
//! next newline without being buffered, so a peer that streams gigabytes without a newline costs
//! at most `max_line` bytes of memory. A line that is not valid UTF-8 is reported as
//! [`LineItem::InvalidUtf8`]. A partial line is simply "need more bytes"; at end of stream an
//! unterminated last line is delivered as a line (what `nc` sends when the user presses Ctrl-D).

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

/// Newline-delimited codec with a maximum line length.
#[derive(Debug, Clone)]
pub struct LineCodec {
    max_line: usize,
    /// How far into the buffer we have already looked for `\n`, so a slow trickle of bytes is
    /// scanned once, not once per read.
    scanned: usize,
    /// True while discarding the remainder of an over-long line.
    discarding: bool,
}

impl LineCodec {
    /// A codec that accepts lines of at most `max_line` bytes (not counting the line ending).
    pub fn new(max_line: usize) -> Self {
        Self { max_line: max_line.max(1), scanned: 0, discarding: false }
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
        if rest.len() > self.max_line {
            return Ok(Some(LineItem::TooLong { limit: self.max_line }));
        }
        Ok(Some(Self::take_line(&rest)))
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

    #[test]
    fn memory_stays_bounded_while_discarding() {
        let mut c = LineCodec::new(8);
        let mut buf = BytesMut::new();
        let mut reports = 0;
        for _ in 0..1000 {
            buf.extend_from_slice(&[b'x'; 1024]);
            while let Some(item) = c.decode(&mut buf).unwrap() {
                assert_eq!(item, LineItem::TooLong { limit: 8 });
                reports += 1;
            }
            assert!(buf.len() <= 1024);
        }
        assert_eq!(reports, 1);
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
