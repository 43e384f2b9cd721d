//! Reading what a load-generating client receives: [`Scanner`] splits it into lines and
//! classifies each one — a measured delivery (its send timestamp gives the latency), a warm-up
//! one, a message from another room's sender (see [`crate::rooms`]), an error line or the `bye` —
//! parsing nothing but the numbers it needs.
//!
//! The scanner runs for every delivery on the machine it measures, so it is kept light: a run of
//! lines with the same latency to the microsecond (a sender writes several lines per tick with one
//! timestamp, and they arrive together) is recorded in the histogram once, with its count.

use crate::client::irc::{self, Line};
use crate::client::{Shared, Stats};
use crate::clock::{Phase, Timeline};
use crate::rooms::Seat;

/// Splits what a client reads into lines and classifies them; carries a partial line between
/// reads.
#[derive(Debug, Default)]
pub struct Scanner {
    /// The client's room when there are several: messages from other rooms' senders are foreign.
    seat: Option<Seat>,
    /// The connection speaks IRC.
    irc: bool,
    /// What to send back (IRC: the `PONG`s to the server's `PING`s), for the reader to write.
    pub(crate) replies: Vec<u8>,
    partial: Vec<u8>,
    timeline: Option<Timeline>,
    pub(crate) last_bye: Option<String>,
    /// Measured deliveries not yet recorded: `run` of them with latency `run_us` microseconds.
    run_us: u64,
    run: u64,
}

impl Scanner {
    /// A scanner for a client sitting in `seat` (none: one room, every message counts).
    pub fn new(seat: Option<Seat>) -> Self {
        Scanner { seat, ..Scanner::default() }
    }

    /// A scanner for an IRC connection.
    pub fn irc(seat: Option<Seat>) -> Self {
        Scanner { seat, irc: true, ..Scanner::default() }
    }

    /// Scan `data` read at `now`; returns how many measured deliveries it held.
    pub fn feed(&mut self, data: &[u8], now: u64, shared: &Shared, stats: &mut Stats) -> u64 {
        let mut measured = 0;
        let mut start = 0;
        for end in memchr::memchr_iter(b'\n', data) {
            let counted = if self.partial.is_empty() {
                self.line(&data[start..end], now, shared, stats)
            } else {
                let mut line = std::mem::take(&mut self.partial);
                line.extend_from_slice(&data[start..end]);
                let counted = self.line(&line, now, shared, stats);
                line.clear();
                self.partial = line;
                counted
            };
            measured += u64::from(counted);
            start = end + 1;
        }
        self.partial.extend_from_slice(&data[start..]);
        self.record_run(stats);
        measured
    }

    /// Count one measured delivery of latency `ns`.
    #[inline]
    fn record(&mut self, ns: u64, stats: &mut Stats) {
        let us = ns / 1000;
        if self.run > 0 && us == self.run_us {
            self.run += 1;
        } else {
            self.record_run(stats);
            (self.run_us, self.run) = (us, 1);
        }
    }

    /// Put the pending run of equal latencies into the histogram.
    fn record_run(&mut self, stats: &mut Stats) {
        if self.run > 0 {
            stats.latency.record_n_ns(self.run_us * 1000, self.run);
            self.run = 0;
        }
    }

    /// Classify one line; true if it is a measured delivery.
    #[inline]
    fn line(&mut self, line: &[u8], now: u64, shared: &Shared, stats: &mut Stats) -> bool {
        stats.lines += 1;
        let line = if self.irc {
            match irc::classify(line) {
                Line::Privmsg(text) => text,
                Line::Ping(pong) => {
                    self.replies.extend_from_slice(&pong);
                    return false;
                }
                Line::Error => {
                    stats.error_lines += 1;
                    let line = irc::trim_cr(line);
                    stats.first_error_line.get_or_insert_with(|| String::from_utf8_lossy(line).into_owned());
                    return false;
                }
                Line::Closing => {
                    self.bye(line, stats);
                    return false;
                }
                Line::Other => return false,
            }
        } else {
            line
        };
        let Some(at) = memchr::memchr(b'~', line) else {
            if self.irc {
                return false;
            }
            if line.starts_with(b"! ") {
                stats.error_lines += 1;
                stats.first_error_line.get_or_insert_with(|| String::from_utf8_lossy(line).into_owned());
            } else if line.starts_with(b"* bye") {
                self.bye(line, stats);
            }
            return false;
        };
        let Some((sent, digits)) = parse_u64(&line[at + 1..]) else { return false };
        if let Some(seat) = &self.seat {
            // `~<sent>~<sender>~`: the sender's number follows the timestamp.
            let sender = line.get(at + 2 + digits..).and_then(parse_u64).map(|(s, _)| s);
            if !sender.is_some_and(|s| seat.owns(s)) {
                stats.foreign += 1;
                return false;
            }
        }
        let timeline = match self.timeline {
            Some(t) => t,
            None => match shared.timeline() {
                Some(t) => *self.timeline.insert(t),
                None => return false,
            },
        };
        match timeline.phase(sent) {
            Phase::Measured => {
                stats.measured += 1;
                self.record(now.saturating_sub(sent), stats);
                true
            }
            Phase::WarmUp => {
                stats.warm_up += 1;
                false
            }
            Phase::After => false,
        }
    }
}

impl Scanner {
    fn bye(&mut self, line: &[u8], stats: &mut Stats) {
        let bye = String::from_utf8_lossy(irc::trim_cr(line)).into_owned();
        stats.bye = Some(bye.clone());
        self.last_bye = Some(bye);
    }
}

/// The decimal number at the start of `bytes`, up to the first non-digit, and its digit count.
#[inline]
fn parse_u64(bytes: &[u8]) -> Option<(u64, usize)> {
    let (mut value, mut digits) = (0u64, 0usize);
    // Eight bytes at a time while eight are there (a line's timestamp is followed by more of
    // it); up to 19 digits cannot overflow.
    while let Some(chunk) = bytes.get(digits..digits + 8) {
        let (chunk_value, n) = parse8(u64::from_le_bytes(chunk.try_into().expect("eight bytes")));
        if n == 0 {
            break;
        }
        if digits + n > 19 {
            return parse_checked(bytes);
        }
        value = value * POW10[n] + chunk_value;
        digits += n;
        if n < 8 {
            return Some((value, digits));
        }
    }
    // The last few bytes, one by one.
    for &b in &bytes[digits..] {
        if !b.is_ascii_digit() {
            break;
        }
        if digits == 19 {
            return parse_checked(bytes);
        }
        value = value * 10 + u64::from(b - b'0');
        digits += 1;
    }
    (digits > 0).then_some((value, digits))
}

const POW10: [u64; 9] = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000];

/// The value of the digits at the start of eight bytes (loaded little-endian: the first byte is
/// the lowest), and how many there are before the first non-digit.
#[inline]
fn parse8(chunk: u64) -> (u64, usize) {
    const ONES: u64 = 0x0101_0101_0101_0101;
    let sub = chunk.wrapping_sub(0x30 * ONES);
    // A byte's top bit: below '0' (wrapped), or at least 10 above it (adding 0x76 reaches 0x80).
    // A borrow or carry only reaches the bytes after the first non-digit.
    let non_digits = (sub | sub.wrapping_add(0x76 * ONES)) & (0x80 * ONES);
    let n = (non_digits.trailing_zeros() / 8) as usize;
    if n == 0 {
        return (0, 0);
    }
    // The n digits to the top bytes, zeros (leading zeros of the number) below them; then pairs,
    // fours and the eight combined.
    let v = sub << (8 * (8 - n));
    let v = (v & 0x0f0f_0f0f_0f0f_0f0f).wrapping_mul(10 * 256 + 1) >> 8;
    let v = (v & 0x00ff_00ff_00ff_00ff).wrapping_mul(100 * 65_536 + 1) >> 16;
    let v = (v & 0x0000_ffff_0000_ffff).wrapping_mul(10_000 * (1 << 32) + 1) >> 32;
    (v, n)
}

/// [`parse_u64`] digit by digit with overflow checks, for numbers of 20 digits or more.
fn parse_checked(bytes: &[u8]) -> Option<(u64, usize)> {
    let mut value: u64 = 0;
    let mut digits = 0;
    for &b in bytes {
        if !b.is_ascii_digit() {
            break;
        }
        value = value.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
        digits += 1;
    }
    (digits > 0).then_some((value, digits))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_their_length() {
        assert_eq!(parse_u64(b"1234~7"), Some((1234, 4)));
        assert_eq!(parse_u64(b"x"), None);
        assert_eq!(parse_u64(b"9999999999999999999~"), Some((9_999_999_999_999_999_999, 19)));
        assert_eq!(parse_u64(b"18446744073709551615~"), Some((u64::MAX, 20)));
        assert_eq!(parse_u64(b"18446744073709551616~"), None, "overflows");
        assert_eq!(parse_u64(b"123456789012345678901"), None, "21 digits");
    }

    proptest::proptest! {
        /// The eight-at-a-time parse agrees with the plain one, whatever follows the digits.
        #[test]
        fn the_fast_parse_agrees_with_the_checked_one(
            digits in "[0-9]{0,22}",
            after in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..12),
        ) {
            let mut bytes = digits.into_bytes();
            bytes.extend(after);
            proptest::prop_assert_eq!(parse_u64(&bytes), parse_checked(&bytes));
        }
    }

    #[test]
    fn runs_of_equal_latencies_are_recorded_as_if_one_by_one() {
        let shared = Shared::new(1);
        shared.start(Timeline { warm_start: 0, measure_start: 100, measure_end: 10_000_000 });
        let mut scanner = Scanner::default();
        let mut stats = Stats::default();
        // Sent at 150 µs (three lines, then one after another timestamp), 700 µs, and 150 400 ns
        // (the same microsecond of latency as 150 µs); read at 1 ms, then again at 2 ms.
        let sent = [150_000, 150_000, 150_000, 700_000, 150_000, 150_400];
        let data: String = sent.iter().enumerate().map(|(i, t)| format!("[a] ~{t}~0~{i}~\n")).collect();
        assert_eq!(scanner.feed(data.as_bytes(), 1_000_000, &shared, &mut stats), 6);
        assert_eq!(scanner.feed(b"[a] ~150000~0~9~\n", 2_000_000, &shared, &mut stats), 1);
        let mut expected = crate::latency::Latency::new();
        for t in sent {
            expected.record_ns(1_000_000 - t);
        }
        expected.record_ns(2_000_000 - 150_000);
        assert_eq!(stats.latency.summary(), expected.summary());
        assert_eq!(stats.latency.count(), 7, "nothing is left unrecorded at the end of a read");
    }

    #[test]
    fn lines_split_across_reads_are_counted_once_by_phase() {
        let shared = Shared::new(1);
        shared.start(Timeline { warm_start: 0, measure_start: 100, measure_end: 200 });
        let mut scanner = Scanner::default();
        let mut stats = Stats::default();
        let data =
            b"[a] joined (2 online)\n[a] ~50~0~0~\n[b] ~150~1~0~xx\n~150~1~1~\n! rate_limited: slow down\n";
        let (one, two) = data.split_at(30);
        let mut measured = scanner.feed(one, 300, &shared, &mut stats);
        measured += scanner.feed(two, 300, &shared, &mut stats);
        assert_eq!(measured, 2);
        assert_eq!((stats.lines, stats.warm_up, stats.measured, stats.error_lines), (5, 1, 2, 1));
        assert_eq!(stats.latency.count(), 2);
    }

    #[test]
    fn irc_lines_count_by_their_text_and_pings_are_answered() {
        let shared = Shared::new(1);
        shared.start(Timeline { warm_start: 0, measure_start: 100, measure_end: 200 });
        let mut scanner = Scanner::irc(None);
        let mut stats = Stats::default();
        let data = b":b-1!~b-1@127.0.0.1 PRIVMSG #lobby :~150~1~0~x\r\n:b-2!~b-2@127.0.0.1 JOIN :#lobby\r\n\
            PING :irc.local\r\n:irc.local 404 b-0 #lobby :Cannot send\r\n@time=x :b-1!b@h PRIVMSG #lobby :~50~1~1~\r\n";
        assert_eq!(scanner.feed(data, 300, &shared, &mut stats), 1);
        assert_eq!((stats.lines, stats.measured, stats.warm_up, stats.error_lines), (5, 1, 1, 1));
        assert_eq!(scanner.replies, b"PONG :irc.local\r\n");
        assert!(stats.first_error_line.as_deref().unwrap().contains(" 404 "));
        scanner.feed(b"ERROR :Closing link: (b-0@127.0.0.1) [Excess Flood]\r\n", 300, &shared, &mut stats);
        assert_eq!(stats.bye.as_deref(), Some("ERROR :Closing link: (b-0@127.0.0.1) [Excess Flood]"));
    }

    #[test]
    fn a_message_from_another_rooms_sender_is_foreign_not_a_delivery() {
        let shared = Shared::new(1);
        shared.start(Timeline { warm_start: 0, measure_start: 100, measure_end: 200 });
        let mut scanner = Scanner::new(Seat::of(1, 3, "b"));
        let mut stats = Stats::default();
        let data = b"[a] ~150~1~0~\n[b] ~150~4~0~x\n[c] ~150~2~0~\n[d] ~150~~\n";
        assert_eq!(scanner.feed(data, 300, &shared, &mut stats), 2, "senders 1 and 4 are in room 1");
        assert_eq!((stats.measured, stats.foreign), (2, 2));
    }
}
