//! IRCv3 capabilities: which ones sockhub offers, a connection's negotiated set, and SASL
//! PLAIN's payload (base64 of `authzid \0 authcid \0 password`).

use sockhub_proto::secret::Secret;

/// A capability sockhub offers (named as IRCv3 names them, `cap-notify` too).
#[allow(clippy::enum_variant_names)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u16)]
pub enum Cap {
    Sasl = 1 << 0,
    ServerTime = 1 << 1,
    MessageTags = 1 << 2,
    EchoMessage = 1 << 3,
    MultiPrefix = 1 << 4,
    CapNotify = 1 << 5,
    AccountTag = 1 << 6,
    AwayNotify = 1 << 7,
    Batch = 1 << 8,
    UserhostInNames = 1 << 9,
}

impl Cap {
    pub const ALL: [Cap; 10] = [
        Cap::Sasl,
        Cap::ServerTime,
        Cap::MessageTags,
        Cap::EchoMessage,
        Cap::MultiPrefix,
        Cap::CapNotify,
        Cap::AccountTag,
        Cap::AwayNotify,
        Cap::Batch,
        Cap::UserhostInNames,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Cap::Sasl => "sasl",
            Cap::ServerTime => "server-time",
            Cap::MessageTags => "message-tags",
            Cap::EchoMessage => "echo-message",
            Cap::MultiPrefix => "multi-prefix",
            Cap::CapNotify => "cap-notify",
            Cap::AccountTag => "account-tag",
            Cap::AwayNotify => "away-notify",
            Cap::Batch => "batch",
            Cap::UserhostInNames => "userhost-in-names",
        }
    }

    pub fn from_name(name: &str) -> Option<Cap> {
        Cap::ALL.into_iter().find(|c| c.name().eq_ignore_ascii_case(name))
    }
}

/// A set of capabilities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Caps(u16);

impl Caps {
    pub fn has(self, cap: Cap) -> bool {
        self.0 & cap as u16 != 0
    }

    pub fn set(&mut self, cap: Cap, on: bool) {
        if on {
            self.0 |= cap as u16;
        } else {
            self.0 &= !(cap as u16);
        }
    }

    /// The names of the capabilities in the set, space-separated.
    pub fn names(self) -> String {
        Cap::ALL.into_iter().filter(|&c| self.has(c)).map(Cap::name).collect::<Vec<_>>().join(" ")
    }
}

/// `CAP LS`'s list: with `302`, values (`sasl=PLAIN`).
pub fn ls(version_302: bool) -> String {
    Cap::ALL
        .into_iter()
        .map(|c| match c {
            Cap::Sasl if version_302 => "sasl=PLAIN".to_owned(),
            c => c.name().to_owned(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Apply a `CAP REQ` list to `caps`, all or nothing: `None` if any entry is unknown (the whole
/// request is refused with NAK).
pub fn request(caps: Caps, list: &str) -> Option<Caps> {
    let mut next = caps;
    for entry in list.split(' ').filter(|e| !e.is_empty()) {
        let (on, name) = match entry.strip_prefix('-') {
            Some(name) => (false, name),
            None => (true, entry),
        };
        // cap-notify is always on for a client that negotiated with 302 and cannot be removed.
        let cap = Cap::from_name(name)?;
        if cap == Cap::CapNotify && !on {
            return None;
        }
        next.set(cap, on);
    }
    Some(next)
}

/// The longest SASL payload accepted, in base64 bytes (several 400-byte chunks).
pub const MAX_SASL_PAYLOAD: usize = 2400;

/// The account name and password of a SASL PLAIN payload (base64). The authorization identity,
/// when given, must be the account itself.
pub fn plain(payload: &str) -> Option<(String, Secret)> {
    let bytes = base64_decode(payload)?;
    let text = String::from_utf8(bytes).ok()?;
    let mut parts = text.split('\0');
    let (authz, authc, password) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || authc.is_empty() || (!authz.is_empty() && authz != authc) {
        return None;
    }
    Some((authc.to_owned(), Secret::new(password)))
}

/// Standard base64 with padding; `None` for anything else.
pub fn base64_decode(s: &str) -> Option<Vec<u8>> {
    fn value(c: u8) -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    }
    let s = s.as_bytes();
    if !s.len().is_multiple_of(4) {
        return None;
    }
    let mut out = Vec::with_capacity(s.len() / 4 * 3);
    for (i, chunk) in s.chunks(4).enumerate() {
        let last = i == s.len() / 4 - 1;
        let pad = chunk.iter().rev().take_while(|&&c| c == b'=').count();
        if pad > 2 || (pad > 0 && !last) {
            return None;
        }
        let mut n = 0u32;
        for &c in &chunk[..4 - pad] {
            n = (n << 6) | value(c)?;
        }
        n <<= 6 * pad as u32;
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..3 - pad]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_all_or_nothing() {
        let caps = request(Caps::default(), "server-time echo-message").unwrap();
        assert!(caps.has(Cap::ServerTime) && caps.has(Cap::EchoMessage) && !caps.has(Cap::Sasl));
        assert_eq!(request(caps, "server-time bogus"), None);
        let caps = request(caps, "-echo-message").unwrap();
        assert_eq!(caps.names(), "server-time");
        assert_eq!(request(caps, "-cap-notify"), None);
    }

    #[test]
    fn ls_lists_sasl_mechanisms_with_302() {
        assert!(ls(true).starts_with("sasl=PLAIN server-time"));
        assert!(ls(false).starts_with("sasl server-time"));
    }

    #[test]
    fn plain_payloads() {
        // base64("\0alice\0secret pw")
        let (name, pw) = plain("AGFsaWNlAHNlY3JldCBwdw==").unwrap();
        assert_eq!((name.as_str(), pw.expose()), ("alice", "secret pw"));
        // base64("alice\0alice\0pw")
        assert_eq!(plain("YWxpY2UAYWxpY2UAcHc=").unwrap().0, "alice");
        // base64("bob\0alice\0pw"): acting as someone else is not offered.
        assert!(plain("Ym9iAGFsaWNlAHB3").is_none());
        assert!(plain("not base64!").is_none());
        assert!(plain("YWxpY2U=").is_none(), "no separators");
    }

    #[test]
    fn base64() {
        assert_eq!(base64_decode("").unwrap(), b"");
        assert_eq!(base64_decode("Zg==").unwrap(), b"f");
        assert_eq!(base64_decode("Zm8=").unwrap(), b"fo");
        assert_eq!(base64_decode("Zm9v").unwrap(), b"foo");
        assert_eq!(base64_decode("7ZWc6riA").unwrap(), "한글".as_bytes());
        assert!(base64_decode("Zg=").is_none());
        assert!(base64_decode("Zg==Zm9v").is_none());
    }
}
