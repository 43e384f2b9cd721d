//! The chat's IRC face over real sockets: a raw IRC client ([`IrcClient`]) for the protocol
//! tests (`protocol`: registration, numerics, limits; `chat`: IRC users with `nc` and JSON
//! users; `caps`: CAP, SASL, tags, history; `conformance`: what irctest checks), and real IRC
//! clients nobody here wrote (`clients`: Debian's `ii` and `irssi`), and two nodes sharing a room
//! over NATS (`nodes`); `tls`: IRC on `[irc] tls_port` with `openssl s_client`.

mod caps;
mod chat;
mod clients;
mod conformance;
mod nodes;
mod operators;
mod protocol;
mod tls;

use std::net::SocketAddr;

use sockhub_proto::irc::Message;
use sockhub_server::config::Config;

use crate::support::{Client, TestServer};

/// A server with `[irc]` on (any port, server name `irc.test`) and the test defaults.
pub async fn server(f: impl FnOnce(&mut Config)) -> TestServer {
    TestServer::with(|c| {
        irc_on(c);
        f(c)
    })
    .await
}

/// Turn `[irc]` on in `c`: any port, server name `irc.test`, no PINGs unless a test asks.
pub fn irc_on(c: &mut Config) {
    c.irc.enabled = true;
    c.irc.port = 0;
    c.irc.server_name = "irc.test".into();
    c.irc.ping_secs = 0;
}

/// A raw IRC client: sends lines with CR LF, reads messages.
pub struct IrcClient {
    pub raw: Client,
    pub nick: String,
}

impl IrcClient {
    pub async fn connect(addr: SocketAddr) -> IrcClient {
        IrcClient { raw: Client::connect(addr).await, nick: "*".into() }
    }

    /// Connect and register as `nick` (no CAP); reads up to the end of the join burst (366).
    pub async fn register(addr: SocketAddr, nick: &str) -> IrcClient {
        let mut c = Self::connect(addr).await;
        c.send(&format!("NICK {nick}")).await;
        c.send(&format!("USER {nick} 0 * :Real {nick}")).await;
        c.expect("001").await;
        c.expect("366").await;
        c.nick = nick.to_owned();
        c
    }

    pub async fn send(&mut self, line: &str) {
        self.raw.send_raw(format!("{line}\r\n").as_bytes()).await;
    }

    /// The next message; panics on EOF or timeout. Asserts the line ends with CR LF.
    pub async fn msg(&mut self) -> Message {
        let line = self.raw.line().await;
        assert!(line.ends_with('\r'), "an IRC line ends with CR LF: {line:?}");
        assert!(line.len() < 512 || line.starts_with('@'), "longer than 512 bytes: {line}");
        Message::parse(&line).unwrap_or_else(|e| panic!("not an IRC message ({e}): {line:?}"))
    }

    /// Read messages until one has `command`; return it. NOTICEs from the greeting and PINGs
    /// are skipped like anything else before it.
    pub async fn expect(&mut self, command: &str) -> Message {
        loop {
            let m = self.msg().await;
            if m.command == command {
                return m;
            }
        }
    }

    /// Read messages until one has `command` and returns it, with the ones before it.
    pub async fn until(&mut self, command: &str) -> (Vec<Message>, Message) {
        let mut before = Vec::new();
        loop {
            let m = self.msg().await;
            if m.command == command {
                return (before, m);
            }
            before.push(m);
        }
    }

    /// The next PRIVMSG, skipping anything else.
    pub async fn privmsg(&mut self) -> Message {
        self.expect("PRIVMSG").await
    }
}

/// The nick part of a message's source.
pub fn from(m: &Message) -> &str {
    m.source.as_deref().unwrap_or("").split('!').next().unwrap_or("")
}

impl IrcClient {
    /// Connect, negotiate `caps` (space-separated, may be empty) and log in with SASL PLAIN as
    /// `account`; reads up to the end of the join burst.
    pub async fn sasl(addr: SocketAddr, account: &str, password: &str, caps: &str) -> IrcClient {
        let mut c = Self::connect(addr).await;
        c.send("CAP LS 302").await;
        c.expect("CAP").await;
        c.send(&format!("CAP REQ :sasl {caps}")).await;
        let ack = c.expect("CAP").await;
        assert_eq!(ack.params[1], "ACK", "{ack}");
        c.send(&format!("NICK {account}")).await;
        c.send(&format!("USER {account} 0 * :{account}")).await;
        c.send("AUTHENTICATE PLAIN").await;
        assert_eq!(c.expect("AUTHENTICATE").await.params, ["+"]);
        c.send(&format!("AUTHENTICATE {}", plain(account, password))).await;
        c.expect("903").await;
        c.send("CAP END").await;
        c.expect("001").await;
        c.expect("366").await;
        c.nick = account.to_owned();
        c
    }

    /// Connect, negotiate `caps`, and register as `nick` without SASL.
    pub async fn with_caps(addr: SocketAddr, nick: &str, caps: &str) -> IrcClient {
        let mut c = Self::connect(addr).await;
        c.send("CAP LS 302").await;
        c.send(&format!("NICK {nick}")).await;
        c.send(&format!("USER {nick} 0 * :{nick}")).await;
        c.send(&format!("CAP REQ :{caps}")).await;
        let (_, ack) = c.until("CAP").await;
        let ack = if ack.params[1] == "LS" { c.expect("CAP").await } else { ack };
        assert_eq!(ack.params[1], "ACK", "{ack}");
        c.send("CAP END").await;
        c.expect("001").await;
        c.nick = nick.to_owned();
        c
    }
}

/// The SASL PLAIN payload for `account` and `password`, in base64.
pub fn plain(account: &str, password: &str) -> String {
    base64(format!("\0{account}\0{password}").as_bytes())
}

fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, &b)| n | (u32::from(b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ABC[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
