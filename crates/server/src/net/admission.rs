//! Who may hold a connection: a cap per client address, and caps on connections that have not
//! logged in yet.
//!
//! `max_connections` bounds the whole server, but on its own it lets one host with ten thousand
//! idle sockets fill every slot. So each connection also takes a [`Ticket`] for its client's
//! address group (an IPv4 address, or an IPv6 /64, the block one subscriber usually gets):
//! at most `max_connections_per_ip` open at once, and of those at most `max_pending_per_ip` not
//! yet logged in, and at most `max_pending_logins` not yet logged in server-wide. A connection
//! counts as pending until its session says it is logged in ([`Ticket::logged_in`]); the
//! connection driver also closes one that stays pending past `login_timeout_secs`. The defaults
//! leave room for a classroom behind one NAT address; see docs/security.md.
//!
//! The table holds an entry only while its group has open connections, so it is bounded by
//! `max_connections`.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use parking_lot::Mutex;
use sockhub_i18n::{Msg, msg};

use crate::config::LimitsConfig;
use crate::net::cidr::address_group;

/// Why a connection was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("too many connections from your address (at most {0}); close some and try again")]
    PerAddress(usize),
    #[error(
        "too many connections from your address are waiting to log in (at most {0}); log in or close some"
    )]
    PendingPerAddress(usize),
    #[error("too many connections are waiting to log in; try again shortly")]
    Pending,
}

impl Refusal {
    /// What the refused client is told, in the server's language.
    pub fn message(self) -> Msg {
        match self {
            Refusal::PerAddress(max) => msg!("error-too-many-connections", max = max),
            Refusal::PendingPerAddress(max) => msg!("error-too-many-pending", max = max),
            Refusal::Pending => msg!("error-too-many-waiting"),
        }
    }
}

#[derive(Debug, Default)]
struct Counts {
    open: usize,
    pending: usize,
}

#[derive(Debug, Default)]
struct Table {
    groups: HashMap<IpAddr, Counts>,
    pending: usize,
}

/// The admission counters, shared by every listener and the WebSocket endpoints.
#[derive(Debug)]
pub struct Admission {
    per_ip: usize,
    pending_per_ip: usize,
    pending_max: usize,
    table: Mutex<Table>,
}

impl Admission {
    /// From `[limits]`; a limit of 0 is off.
    pub fn new(c: &LimitsConfig) -> Self {
        let off = |n: usize| if n == 0 { usize::MAX } else { n };
        Admission {
            per_ip: off(c.max_connections_per_ip),
            pending_per_ip: off(c.max_pending_per_ip),
            pending_max: off(c.max_pending_logins),
            table: Mutex::new(Table::default()),
        }
    }

    /// Admit a new, not yet logged-in connection from `ip`.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Ticket, Refusal> {
        let group = address_group(ip);
        let mut table = self.table.lock();
        if table.pending >= self.pending_max {
            return Err(Refusal::Pending);
        }
        let counts = table.groups.entry(group).or_default();
        if counts.open >= self.per_ip {
            return Err(Refusal::PerAddress(self.per_ip));
        }
        if counts.pending >= self.pending_per_ip {
            return Err(Refusal::PendingPerAddress(self.pending_per_ip));
        }
        counts.open += 1;
        counts.pending += 1;
        table.pending += 1;
        Ok(Ticket { admission: Arc::clone(self), group, pending: true })
    }

    /// Connections open from `ip`'s group, and how many of them are pending.
    #[cfg(test)]
    fn counts(&self, ip: IpAddr) -> (usize, usize) {
        let table = self.table.lock();
        table.groups.get(&address_group(ip)).map_or((0, 0), |c| (c.open, c.pending))
    }

    /// Connections not yet logged in, server-wide.
    #[cfg(test)]
    fn pending(&self) -> usize {
        self.table.lock().pending
    }
}

/// One admitted connection; dropping it gives its place back.
#[derive(Debug)]
pub struct Ticket {
    admission: Arc<Admission>,
    group: IpAddr,
    pending: bool,
}

impl Ticket {
    /// The connection has logged in: it no longer counts against the pending caps.
    pub fn logged_in(&mut self) {
        if std::mem::take(&mut self.pending) {
            let mut table = self.admission.table.lock();
            table.pending -= 1;
            if let Some(c) = table.groups.get_mut(&self.group) {
                c.pending -= 1;
            }
        }
    }

    /// Whether the connection is still waiting to log in.
    pub fn is_pending(&self) -> bool {
        self.pending
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut table = self.admission.table.lock();
        if self.pending {
            table.pending -= 1;
        }
        if let Some(c) = table.groups.get_mut(&self.group) {
            c.open -= 1;
            if self.pending {
                c.pending -= 1;
            }
            if c.open == 0 {
                table.groups.remove(&self.group);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admission(per_ip: usize, pending_per_ip: usize, pending_max: usize) -> Arc<Admission> {
        let c = LimitsConfig {
            max_connections_per_ip: per_ip,
            max_pending_per_ip: pending_per_ip,
            max_pending_logins: pending_max,
            ..LimitsConfig::default()
        };
        Arc::new(Admission::new(&c))
    }

    #[test]
    fn caps_per_address_and_gives_places_back() {
        let a = admission(2, 0, 0);
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        let t1 = a.admit(ip).unwrap();
        let _t2 = a.admit(ip).unwrap();
        assert_eq!(a.admit(ip).unwrap_err(), Refusal::PerAddress(2));
        assert!(a.admit("192.0.2.8".parse().unwrap()).is_ok(), "another address is not affected");
        drop(t1);
        assert!(a.admit(ip).is_ok());
    }

    #[test]
    fn pending_caps_release_at_login() {
        let a = admission(0, 2, 3);
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        let mut t1 = a.admit(ip).unwrap();
        let _t2 = a.admit(ip).unwrap();
        assert_eq!(a.admit(ip).unwrap_err(), Refusal::PendingPerAddress(2));
        t1.logged_in();
        t1.logged_in(); // idempotent
        assert_eq!(a.counts(ip), (2, 1));
        let _t3 = a.admit(ip).unwrap();
        let _t4 = a.admit("198.51.100.1".parse().unwrap()).unwrap();
        assert_eq!(a.admit("203.0.113.9".parse().unwrap()).unwrap_err(), Refusal::Pending);
        drop(t1);
        assert_eq!(a.counts(ip), (2, 2));
    }

    #[test]
    fn the_table_forgets_an_address_with_nothing_open() {
        let a = admission(5, 5, 5);
        let ip: IpAddr = "2001:db8::1".parse().unwrap();
        drop(a.admit(ip).unwrap());
        assert!(a.table.lock().groups.is_empty());
        assert_eq!(a.pending(), 0);
    }
}
