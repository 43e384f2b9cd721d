//! The server's PINGs: a client that has sent nothing for `[irc] ping_secs` is sent a PING, and
//! one that still sends nothing within `ping_timeout_secs` is disconnected with
//! `ERROR :Ping timeout`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sockhub_i18n::msg;
use sockhub_proto::irc::Message;
use sockhub_proto::notice::Notice;

use super::render::{Line, Lines};
use crate::net::outbox::{Frame, Outbox};

/// Counts the lines a connection has sent, so the pinger can tell whether it has been quiet.
#[derive(Debug, Default)]
pub struct Heard(AtomicU64);

impl Heard {
    pub fn tick(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    fn count(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Ping the connection behind `outbox` while it is quiet; ends when the outbox closes.
pub fn spawn(outbox: Outbox, heard: Arc<Heard>, server: Arc<str>, every: Duration, timeout: Duration) {
    tokio::spawn(async move {
        let watch = async {
            let mut seen = heard.count();
            loop {
                tokio::time::sleep(every).await;
                if heard.count() != seen {
                    seen = heard.count();
                    continue;
                }
                let ping = Message::new("PING", [server.to_string()]);
                outbox.send(Lines(vec![Line { msg: ping, text: None }]));
                tokio::time::sleep(timeout).await;
                if heard.count() == seen {
                    let bye = Notice::Bye { reason: msg!("irc-ping-timeout") };
                    outbox.close_with(Some(Frame::new(bye)));
                    return;
                }
                seen = heard.count();
            }
        };
        tokio::select! {
            _ = outbox.closing() => {}
            _ = watch => {}
        }
    });
}
