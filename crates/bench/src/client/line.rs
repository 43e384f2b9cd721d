//! The load generator's lines: what a sender writes (`~<sent ns>~<sender>~<seq>~` padded to the
//! message size, [`write_line`]); [`crate::scan`] finds them again in what a reader reads.

/// Append one message line: `~<sent ns>~<sender>~<seq>~` padded with `x` to `size` bytes, then
/// a newline.
pub fn write_line(buf: &mut Vec<u8>, sent_ns: u64, sender: usize, seq: u64, size: usize) {
    use std::io::Write as _;
    let start = buf.len();
    let _ = write!(buf, "~{sent_ns}~{sender}~{seq}~");
    let len = buf.len() - start;
    if len < size {
        buf.resize(start + size, b'x');
    }
    buf.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_carries_its_timestamp_and_is_padded() {
        let mut buf = Vec::new();
        write_line(&mut buf, 1234, 7, 9, 32);
        assert_eq!(buf.len(), 33);
        assert!(buf.starts_with(b"~1234~7~9~xx"));
    }
}
