//! The logged-in connections of every service, by user and address, so that a ban can end them
//! wherever they are on this node (chat, quiz, calculator, over TCP, TLS or WebSocket).
//!
//! One entry per logged-in connection, added by the connection driver when the session logs in
//! and removed when its [`Registration`] is dropped (the connection ended): the table never holds
//! more than the server's connections. Ending a connection closes its outbox with a `bye`, the
//! path a kick takes, so the session leaves its room the usual way.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use parking_lot::Mutex;
use sockhub_proto::error::ErrorEvent;
use sockhub_proto::notice::Notice;

use crate::names;
use crate::net::outbox::{Frame, Outbox};

struct Entry {
    /// The user's name key ([`names::key`]).
    key: String,
    name: String,
    /// Logged in to an admin account (address bans do not end it).
    admin: bool,
    addr: SocketAddr,
    outbox: Outbox,
}

/// The table of logged-in connections.
#[derive(Default)]
pub(super) struct Online {
    conns: Arc<Mutex<HashMap<u64, Entry>>>,
}

/// A connection's place in the table, given back when dropped.
pub struct Registration {
    conns: Arc<Mutex<HashMap<u64, Entry>>>,
    conn: u64,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.conns.lock().remove(&self.conn);
    }
}

impl Online {
    pub(super) fn add(
        &self,
        conn: u64,
        name: &str,
        admin: bool,
        addr: SocketAddr,
        outbox: Outbox,
    ) -> Registration {
        let entry = Entry { key: names::key(name), name: name.to_owned(), admin, addr, outbox };
        self.conns.lock().insert(conn, entry);
        Registration { conns: Arc::clone(&self.conns), conn }
    }

    /// The name and address of a connection of the user whose key is `key`, if one is here.
    pub(super) fn find(&self, key: &str) -> Option<(String, SocketAddr)> {
        self.conns.lock().values().find(|e| e.key == key).map(|e| (e.name.clone(), e.addr))
    }

    /// Whether a connection of the user whose key is `key` is logged in to an admin account.
    pub(super) fn is_admin(&self, key: &str) -> bool {
        self.conns.lock().values().any(|e| e.key == key && e.admin)
    }

    /// End every connection whose user key, address and role `covered` accepts: it gets the error
    /// `why` gives for its user key, then a `bye` with the same message. Returns how many ended.
    pub(super) fn close_where(
        &self,
        covered: impl Fn(&str, IpAddr, bool) -> bool,
        why: impl Fn(&str) -> ErrorEvent,
    ) -> usize {
        let conns = self.conns.lock();
        let mut ended = 0;
        for e in conns.values().filter(|e| covered(&e.key, e.addr.ip(), e.admin)) {
            end(&e.outbox, why(&e.key));
            ended += 1;
        }
        ended
    }
}

/// Tell a connection why it ends (`error`, then a `bye` with the same words) and close it.
pub(super) fn end(outbox: &Outbox, error: ErrorEvent) {
    let reason = error.message.clone();
    outbox.send(Notice::Error(error));
    outbox.close_with(Some(Frame::new(Notice::Bye { reason })));
}
