//! How a server message becomes bytes.
//!
//! A connection speaks one of two [`Mode`]s: text lines for people using `nc` or telnet, or JSON
//! lines for programs (and, framed as WebSocket text messages, for the web page). Each server
//! message implements [`Wire`] once and can then be written in either mode; the server encodes a
//! broadcast at most once per mode and shares the bytes among all recipients.

use serde::Serialize;
use sockhub_i18n::Lang;

/// The wire format of one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Human-readable lines (the default until the client's first line is a JSON object).
    Text,
    /// One JSON object per line, each with a `"type"`.
    Json,
}

/// A server-to-client message that can be written in either mode. (`Any`: a transport with its
/// own encoding, IRC, can look at which message it is.)
pub trait Wire: std::any::Any + Send + Sync + 'static {
    /// Append this message as one JSON line (ending in `\n`). A message that exists only in text
    /// mode (a prompt, say) appends nothing.
    fn write_json(&self, out: &mut Vec<u8>);
    /// Append this message as zero or more text lines, each ending in `\n`.
    fn write_text(&self, out: &mut Vec<u8>);
}

/// Append `value` as a JSON line. Serializing our own types cannot fail; if it ever did, an error
/// object is written instead so the peer still gets a well-formed line.
pub fn json_line<T: Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) {
    let start = out.len();
    if serde_json::to_writer(&mut *out, value).is_err() {
        out.truncate(start);
        out.extend_from_slice(br#"{"type":"error","code":"internal","message":"encoding failed"}"#);
    }
    out.push(b'\n');
}

/// Append one text line (adds the `\n`).
pub fn text_line(out: &mut Vec<u8>, line: impl AsRef<str>) {
    out.extend_from_slice(line.as_ref().as_bytes());
    out.push(b'\n');
}

/// Render a message in `mode` into a fresh buffer, in the current language (convenient for tests
/// and clients).
pub fn render(msg: &dyn Wire, mode: Mode) -> String {
    let mut out = Vec::new();
    match mode {
        Mode::Json => msg.write_json(&mut out),
        Mode::Text => msg.write_text(&mut out),
    }
    String::from_utf8(out).unwrap_or_default()
}

/// Append `msg` in `mode` and `lang` to `out`: the one place where the server turns a message
/// into bytes. Human text (text lines, the `message` of a JSON error) follows `lang`; JSON keeps
/// its `type` and `code` values.
pub fn encode(msg: &dyn Wire, mode: Mode, lang: Lang, out: &mut Vec<u8>) {
    lang.scope(|| match mode {
        Mode::Json => msg.write_json(out),
        Mode::Text => msg.write_text(out),
    })
}

/// [`render`] in `lang`.
pub fn render_in(msg: &dyn Wire, mode: Mode, lang: Lang) -> String {
    lang.scope(|| render(msg, mode))
}
