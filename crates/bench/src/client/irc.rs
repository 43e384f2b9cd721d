//! The generator's IRC client (`--proto irc`): registration, the channel join, and the few lines
//! it must recognise during a run. It speaks to sockhub's `[irc]` listener and to any other IRC
//! server alike, so it relies on nothing but the client protocol of Modern IRC.
//!
//! Registration: `CAP LS 302`, `NICK`, `USER`; if the server lists `echo-message` (and the run
//! wants it) `CAP REQ :echo-message`, then `CAP END`. A server without CAP answers `421` or
//! nothing and registers anyway. `PING` is answered with `PONG` at every stage. After `001` the
//! client sends `JOIN #channel` and counts as connected at the `366` (end of NAMES) for that
//! channel: both a fresh join and sockhub's join at registration (`[irc] auto_join`, which makes
//! the later `JOIN` a no-op) end with one. An error numeric on the way (`433` nick in use, `403`
//! no such channel, ...), `FAIL` or `ERROR` fails the client with the server's line.
//!
//! During the run a message arrives as `:nick!user@host PRIVMSG #channel :~<sent ns>~...`; the
//! payload is what follows the ` :` after `PRIVMSG` (the source can hold a `~`, e.g. an ident
//! marker, so the scanner never looks before it). Without `echo-message` a server does not send a
//! sender its own PRIVMSG, so each message is expected at every reader of the channel but its
//! sender; with it, at every reader, as on sockhub's other transports.

use memchr::memmem;
use sockhub_proto::irc::Message;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::error::ClientError;

/// What registration left: whether the server echoes our PRIVMSGs, and what was read after the
/// join was confirmed (it belongs to the run).
#[derive(Debug)]
pub(crate) struct Registered {
    pub echo: bool,
    pub rest: Vec<u8>,
}

/// Where registration stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Waiting for the capability list (or for `001` from a server without CAP).
    Caps,
    /// `CAP REQ :echo-message` sent, waiting for `ACK`/`NAK`.
    Requested,
    /// `CAP END` sent (or no CAP at all), waiting for `001`.
    Welcome,
    /// `JOIN` sent, waiting for the channel's `366`.
    Joining,
}

/// Register as `nick` and join `channel`; `want_echo`: request `echo-message` when offered.
pub(crate) async fn register(
    stream: &mut (impl AsyncRead + AsyncWrite + Unpin),
    nick: &str,
    channel: &str,
    want_echo: bool,
) -> Result<Registered, ClientError> {
    let hello = format!("CAP LS 302\r\nNICK {nick}\r\nUSER {nick} 0 * :{nick}\r\n");
    write(stream, hello.as_bytes()).await?;
    let mut stage = Stage::Caps;
    let mut offered_echo = false;
    let mut echo = false;
    let mut pending = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read(&mut buf).await.map_err(ClientError::io("register"))?;
        if n == 0 {
            let said = String::from_utf8_lossy(&pending);
            return Err(ClientError::Closed(format!("closed during registration: {}", said.trim())));
        }
        pending.extend_from_slice(&buf[..n]);
        let mut start = 0;
        while let Some(end) = memchr::memchr(b'\n', &pending[start..]).map(|i| start + i) {
            let raw = trim_cr(&pending[start..end]);
            start = end + 1;
            let text = String::from_utf8_lossy(raw);
            // A line this client cannot parse (over-long, say) says nothing it needs.
            let Ok(m) = Message::parse(&text) else { continue };
            let mut out = String::new();
            match m.command.as_str() {
                "PING" => out = format!("PONG :{}\r\n", m.param(0).unwrap_or("")),
                "ERROR" => return Err(ClientError::Closed(format!("registration: {text}"))),
                "FAIL" => return Err(ClientError::Refused(format!("registration: {text}"))),
                "CAP" => match (m.param(1), stage) {
                    (Some("LS"), Stage::Caps) => {
                        // `CAP * LS * :...` is one of several lines; the last has no `*`.
                        let more = m.params.len() > 3 && m.param(2) == Some("*");
                        let list = m.params.last().map_or("", String::as_str);
                        offered_echo |= list.split(' ').any(|c| c == "echo-message");
                        if !more {
                            if want_echo && offered_echo {
                                out = "CAP REQ :echo-message\r\n".into();
                                stage = Stage::Requested;
                            } else {
                                out = "CAP END\r\n".into();
                                stage = Stage::Welcome;
                            }
                        }
                    }
                    (Some("ACK"), Stage::Requested) => {
                        echo = true;
                        out = "CAP END\r\n".into();
                        stage = Stage::Welcome;
                    }
                    (Some("NAK"), Stage::Requested) => {
                        out = "CAP END\r\n".into();
                        stage = Stage::Welcome;
                    }
                    _ => {}
                },
                "001" if stage != Stage::Joining => {
                    // A server without CAP registers without waiting for `CAP END`.
                    out = format!("JOIN {channel}\r\n");
                    stage = Stage::Joining;
                }
                "366"
                    if stage == Stage::Joining
                        && m.param(1).is_some_and(|c| c.eq_ignore_ascii_case(channel)) =>
                {
                    return Ok(Registered { echo, rest: pending.split_off(start) });
                }
                // 421: a server that does not know CAP; 422: no MOTD. Neither stops registration.
                "421" | "422" => {}
                code if is_error_numeric(code.as_bytes()) => {
                    return Err(ClientError::Refused(format!("registration as {nick}: {text}")));
                }
                _ => {}
            }
            if !out.is_empty() {
                write(stream, out.as_bytes()).await?;
            }
        }
        pending.drain(..start);
    }
}

async fn write(stream: &mut (impl AsyncWrite + Unpin), bytes: &[u8]) -> Result<(), ClientError> {
    stream.write_all(bytes).await.map_err(ClientError::io("register"))?;
    stream.flush().await.map_err(ClientError::io("register"))
}

/// A line without its CR (the LF is already gone).
#[inline]
pub(crate) fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// `4xx` and `5xx` numerics are errors.
#[inline]
fn is_error_numeric(code: &[u8]) -> bool {
    code.len() == 3 && matches!(code[0], b'4' | b'5') && code[1..].iter().all(u8::is_ascii_digit)
}

/// How the scanner sees one IRC line during a run.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Line<'a> {
    /// A PRIVMSG: its text.
    Privmsg(&'a [u8]),
    /// `PING <token>`: the `PONG` to send back, CR LF included.
    Ping(Vec<u8>),
    /// An error numeric (`4xx`, `5xx`) or `FAIL`.
    Error,
    /// `ERROR :...`: the server is closing the connection.
    Closing,
    Other,
}

/// Classify one line (without its line end).
#[inline]
pub(crate) fn classify(line: &[u8]) -> Line<'_> {
    let line = trim_cr(line);
    // Skip tags and the source: the command is the first word that starts neither with `@` nor `:`.
    let mut rest = line;
    while let Some(first) = rest.first().copied() {
        if first != b'@' && first != b':' {
            break;
        }
        rest = match memchr::memchr(b' ', rest) {
            Some(space) => &rest[space + 1..],
            None => return Line::Other,
        };
    }
    let (command, params) = match memchr::memchr(b' ', rest) {
        Some(space) => (&rest[..space], &rest[space + 1..]),
        None => (rest, &b""[..]),
    };
    match command {
        b"PRIVMSG" => match memmem::find(params, b" :") {
            Some(at) => Line::Privmsg(&params[at + 2..]),
            // `PRIVMSG #chan word`: a one-word text without the colon.
            None => Line::Privmsg(params.split(|&b| b == b' ').nth(1).unwrap_or(b"")),
        },
        b"PING" => {
            let mut pong = b"PONG ".to_vec();
            pong.extend_from_slice(params);
            pong.extend_from_slice(b"\r\n");
            Line::Ping(pong)
        }
        b"ERROR" => Line::Closing,
        b"FAIL" => Line::Error,
        code if is_error_numeric(code) => Line::Error,
        _ => Line::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_classified_by_command_whatever_the_source_holds() {
        let line = b":b1-3!~b1-3@127.0.0.1 PRIVMSG #lobby :~150~3~0~xx\r";
        assert_eq!(classify(line), Line::Privmsg(b"~150~3~0~xx"));
        let tagged = b"@time=2026-12-04T20:00:00.000Z :a!a@sockhub PRIVMSG #lobby :~1~2~3~";
        assert_eq!(classify(tagged), Line::Privmsg(b"~1~2~3~"));
        assert_eq!(classify(b"PING :irc.local"), Line::Ping(b"PONG :irc.local\r\n".to_vec()));
        assert_eq!(classify(b":irc.local 404 b1-1 #lobby :Cannot send to channel"), Line::Error);
        assert_eq!(classify(b"FAIL * RATE_LIMITED :slow down"), Line::Error);
        assert_eq!(classify(b"ERROR :Closing link: (b1-1@127.0.0.1) [Excess Flood]"), Line::Closing);
        assert_eq!(classify(b":b1-2!b1-2@sockhub JOIN #lobby"), Line::Other);
        assert_eq!(classify(b":irc.local 353 b1-1 = #lobby :b1-1 b1-2"), Line::Other);
    }

    /// Read from the client until `want` has arrived (writes may be split or merged).
    async fn expect(server: &mut tokio::io::DuplexStream, want: &[u8]) {
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        while got.len() < want.len() {
            let n = server.read(&mut buf).await.unwrap();
            assert!(n > 0, "closed after {:?}", String::from_utf8_lossy(&got));
            got.extend_from_slice(&buf[..n]);
        }
        assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(want));
    }

    #[tokio::test]
    async fn registration_requests_echo_message_and_waits_for_the_channel() {
        let (mut client, mut server) = tokio::io::duplex(8192);
        let serve = async {
            expect(&mut server, b"CAP LS 302\r\nNICK b1-0\r\nUSER b1-0 0 * :b1-0\r\n").await;
            server
                .write_all(b":s CAP * LS * :sasl server-time\r\n:s CAP * LS :echo-message batch\r\n")
                .await
                .unwrap();
            expect(&mut server, b"CAP REQ :echo-message\r\n").await;
            server.write_all(b":s CAP * ACK :echo-message\r\nPING :x\r\n").await.unwrap();
            expect(&mut server, b"CAP END\r\nPONG :x\r\n").await;
            server.write_all(b":s 001 b1-0 :Welcome\r\n:s 422 b1-0 :No MOTD\r\n").await.unwrap();
            expect(&mut server, b"JOIN #Bench\r\n").await;
            let joined = b":b1-0!u@h JOIN #bench\r\n:s 366 b1-0 #lobby :End\r\n:s 366 b1-0 #bench :End\r\n:x PRIVMSG #bench :~1~";
            server.write_all(joined).await.unwrap();
        };
        let (registered, ()) = tokio::join!(register(&mut client, "b1-0", "#Bench", true), serve);
        let registered = registered.unwrap();
        assert!(registered.echo);
        assert_eq!(registered.rest, b":x PRIVMSG #bench :~1~");
    }

    #[tokio::test]
    async fn a_server_without_cap_registers_and_a_refusal_fails_the_client() {
        let (mut client, mut server) = tokio::io::duplex(8192);
        let serve = async {
            expect(&mut server, b"CAP LS 302\r\nNICK b1-0\r\nUSER b1-0 0 * :b1-0\r\n").await;
            server.write_all(b":s 421 * CAP :Unknown command\r\n:s 001 b1-0 :Hi\r\n").await.unwrap();
            expect(&mut server, b"JOIN #lobby\r\n").await;
            server.write_all(b":s 366 b1-0 #lobby :End of /NAMES list.\r\n").await.unwrap();
        };
        let (registered, ()) = tokio::join!(register(&mut client, "b1-0", "#lobby", true), serve);
        assert!(!registered.unwrap().echo, "no CAP, no echo-message");

        let (mut client, mut server) = tokio::io::duplex(8192);
        server.write_all(b":s 433 * b1-0 :Nickname is already in use\r\n").await.unwrap();
        let err = register(&mut client, "b1-0", "#lobby", false).await.unwrap_err();
        assert!(err.to_string().contains("433"), "{err}");
    }
}
