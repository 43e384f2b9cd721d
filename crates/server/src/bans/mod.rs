//! Bans: who may not log in, on any service, until when; and ending the connections of whoever
//! is banned while online.
//!
//! A ban names a user (compared by [`names::key`], the confusable skeleton, so `tеacher` with a
//! Cyrillic `е` is refused under a ban on `teacher`) and, optionally, the address group the user
//! was last seen at ([`address_group`]: an IPv4 address, an IPv6 /64), which refuses every name
//! from there. It is state, like a mute: written to the database before the admin is told
//! (`bans` table, so it survives a restart at once), written to the moderation log, and kept in
//! memory for the check on every login (at most `[auth] max_bans` of them). A ban with an end
//! needs no timer: the checks compare the end with the clock, and expired bans fall out of
//! memory at the next refresh.
//!
//! **Where it is checked.** [`Authenticator::login`](crate::auth::Authenticator::login) asks
//! [`Bans::refusal`] for every service with logins (chat, quiz, calc with accounts, the web
//! login, and the same services over WebSocket) once the name is known to be the caller's (after
//! the password, for an account). An address ban does not apply to admin accounts, so an admin
//! behind the same NAT address as a banned student is not locked out. The calculator
//! without accounts asks for its student ID. The relay is not covered: devices have no user names,
//! and device access is what relay tokens control.
//!
//! **Ending connections.** The connection driver registers every logged-in connection here
//! ([`Bans::enter`]) with its user name, address and outbox; a new ban closes each matching
//! connection with a `bye` saying why, as a kick does. A registration checks the bans after it
//! is recorded, and a ban is recorded before it looks for connections, so a login racing a ban
//! is caught by one or the other.
//!
//! **Across nodes.** A ban or unban is published on the bus ([`BanMsg`]), into a place taken
//! before anything is stored (so it is never dropped when the bus is behind: the admin waits, or
//! is refused with `unavailable` and nothing done); every node updates its memory and ends its
//! own matching connections at once. Every node also re-reads the bans from
//! the shared database every `[auth] bans_refresh_secs` (and after a resync), which picks up bans
//! set with `sockhub user ban` (another process) and changes missed while NATS was down.

mod online;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Weak};
use std::time::Duration;

use parking_lot::RwLock;
use serde::{Deserialize, Serialize};
use sockhub_i18n::msg;
use sockhub_proto::ErrorCode;
use sockhub_proto::error::ErrorEvent;
use sockhub_proto::time;
use sockhub_store::{Ban, Journal, ModerationAction, ModerationRecord, Store, StoreError};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::bus::{Listener, Message, NodeRef, SharedBus};
use crate::config::AuthConfig;
use crate::metrics::{Counter, Gauge};
use crate::names;
use crate::net::cidr::address_group;
use crate::net::outbox::Outbox;
pub use online::Registration;

/// Ban counters, for `/metrics`.
#[derive(Debug, Default)]
pub struct BanMetrics {
    /// Bans in force (as of the last change or refresh).
    pub active: Gauge,
    /// Logins refused with `banned`.
    pub refused: Counter,
    /// Connections ended because their user or address was banned.
    pub disconnected: Counter,
}

impl crate::metrics::Families for BanMetrics {
    fn families(&self, out: &mut crate::metrics::FamilyWriter<'_>) -> std::fmt::Result {
        out.gauge("sockhub_bans_active", "Bans in force.", self.active.get())?;
        out.counter("sockhub_bans_refused_total", "Logins refused with banned.", self.refused.get())?;
        out.counter(
            "sockhub_bans_disconnected_total",
            "Connections ended because their user or address was banned.",
            self.disconnected.get(),
        )
    }
}

/// What nodes tell each other about bans.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "e", rename_all = "snake_case")]
pub enum BanMsg {
    Banned { ban: Ban },
    Unbanned { name: String },
}

/// The bans in force, and the logged-in connections they may end.
pub struct Bans {
    store: Store,
    journal: Journal,
    log_wait: Duration,
    bus: SharedBus,
    max: usize,
    refresh: Duration,
    /// Bans by the key of the banned name.
    cache: RwLock<HashMap<String, Ban>>,
    online: online::Online,
    metrics: Arc<BanMetrics>,
    myself: Weak<Bans>,
}

impl Bans {
    /// Load the bans in force and listen for changes from the other nodes.
    pub async fn load(
        store: Store,
        journal: Journal,
        bus: SharedBus,
        config: &AuthConfig,
        log_wait: Duration,
    ) -> Result<Arc<Bans>, StoreError> {
        let loaded = store.bans().list_active(sockhub_store::now()).await?;
        let bans = Arc::new_cyclic(|myself| Bans {
            store,
            journal,
            log_wait,
            bus,
            max: config.max_bans,
            refresh: Duration::from_secs(config.bans_refresh_secs),
            cache: RwLock::new(HashMap::new()),
            online: online::Online::default(),
            metrics: Arc::default(),
            myself: myself.clone(),
        });
        info!(bans = loaded.len(), "bans: loaded the bans in force");
        bans.replace_all(loaded);
        let listener: Arc<dyn Listener> = Arc::clone(&bans) as _;
        bans.bus.attach(Arc::downgrade(&listener));
        Ok(bans)
    }

    /// Re-read the bans from the database every `bans_refresh_secs` until `shutdown`.
    pub async fn refresh_until(self: Arc<Self>, shutdown: CancellationToken) {
        let mut every = tokio::time::interval(self.refresh);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        every.tick().await;
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                _ = every.tick() => self.reload().await,
            }
        }
    }

    pub fn metrics(&self) -> &Arc<BanMetrics> {
        &self.metrics
    }

    /// Every ban in force now, by name.
    pub fn active(&self) -> Vec<Ban> {
        let now = sockhub_store::now();
        let mut bans: Vec<Ban> = self.cache.read().values().filter(|b| b.is_active(now)).cloned().collect();
        bans.sort_by_key(|b| names::key(&b.target));
        bans
    }

    /// The ban that refuses a login from `ip` (by its address group), if any.
    pub fn address_ban(&self, ip: IpAddr) -> Option<Ban> {
        let group = address_group(ip).to_string();
        let now = sockhub_store::now();
        self.cache.read().values().find(|b| b.is_active(now) && b.address.as_deref() == Some(&group)).cloned()
    }

    /// The ban on `name` (or a look-alike of it), if any.
    pub fn name_ban(&self, name: &str) -> Option<Ban> {
        let now = sockhub_store::now();
        self.cache.read().get(&names::key(name)).filter(|b| b.is_active(now)).cloned()
    }

    /// The `banned` error for a login as `name` from `ip`, counted; `None` if neither is
    /// banned. An address ban does not hold an `admin` back: admins behind the banned address
    /// (a classroom's NAT) must not lock themselves out by banning a student there.
    pub fn refusal(&self, name: &str, ip: IpAddr, admin: bool) -> Option<ErrorEvent> {
        let e = self.find(name, ip, admin)?;
        self.metrics.refused.inc();
        Some(e)
    }

    /// The `banned` error for `name` from `ip`, if either is banned (the address not for admins).
    fn find(&self, name: &str, ip: IpAddr, admin: bool) -> Option<ErrorEvent> {
        match self.name_ban(name) {
            Some(ban) => Some(refusal_of(&ban, false)),
            None if admin => None,
            None => Some(refusal_of(&self.address_ban(ip)?, true)),
        }
    }

    /// Record a logged-in connection of `name` (an `admin` or not) from `addr`, so that a ban
    /// can end it; it is forgotten when the registration is dropped. A connection that is banned
    /// already (a ban that raced its login) is ended at once.
    pub fn enter(
        &self,
        conn: u64,
        name: &str,
        admin: bool,
        addr: SocketAddr,
        outbox: &Outbox,
    ) -> Registration {
        let registration = self.online.add(conn, name, admin, addr, outbox.clone());
        if let Some(e) = self.find(name, addr.ip(), admin) {
            self.metrics.disconnected.inc();
            online::end(outbox, e);
        }
        registration
    }

    /// Whether `name` is logged in on this node with an admin account (for IRC's `@`).
    pub fn is_online_admin(&self, name: &str) -> bool {
        self.online.is_admin(&crate::names::key(name))
    }

    /// Admin `actor` bans `target` for `length` (or until unbanned); with `address`, the
    /// target's address group too: the address of their connection here, or of their last login
    /// anywhere. Stored, logged, told to the other nodes, and the target's connections end.
    pub async fn ban(
        &self,
        actor: &str,
        target: &str,
        length: Option<Duration>,
        reason: Option<String>,
        address: bool,
    ) -> Result<Ban, ErrorEvent> {
        let key = names::key(target);
        {
            let cache = self.cache.read();
            if cache.len() >= self.max && !cache.contains_key(&key) {
                return Err(ErrorEvent::new(
                    ErrorCode::Unavailable,
                    format!(
                        "{} bans are in force, the most allowed (auth.max_bans); lift some first",
                        self.max
                    ),
                ));
            }
        }
        let here = self.online.find(&key);
        let ban = prepare(&self.store, actor, target, length, reason, address, here).await?;
        let name = ban.target.clone();
        // A place on the way to the other nodes before anything is stored (see `crate::bus::place`).
        let slot = crate::bus::place(self.bus.as_ref(), "a ban").await?;
        self.store.bans().set(&ban).await.map_err(|e| unavailable(&e))?;
        self.log(moderation_record(&ban)).await?;
        if let Some(slot) = slot {
            slot.send(Message::Ban(BanMsg::Banned { ban: ban.clone() }));
        }
        self.apply(ban.clone());
        info!(target = %name, address = ?ban.address, until = ?ban.until, by = %actor, "banned");
        Ok(ban)
    }

    /// Admin `actor` lifts the ban on `target` (or a look-alike of it); returns the ban lifted.
    pub async fn unban(&self, actor: &str, target: &str) -> Result<Ban, ErrorEvent> {
        let was = match self.name_ban(target) {
            Some(ban) => Some(ban),
            // Set by another process and not refreshed yet?
            None => {
                self.store.bans().active(target, sockhub_store::now()).await.map_err(|e| unavailable(&e))?
            }
        };
        let Some(was) = was else {
            let name = sockhub_proto::text::escape(target);
            return Err(ErrorEvent::new(
                ErrorCode::NotBanned,
                msg!("error-not-banned", name = name.to_string()),
            ));
        };
        let slot = crate::bus::place(self.bus.as_ref(), "an unban").await?;
        self.store.bans().clear(&was.target).await.map_err(|e| unavailable(&e))?;
        self.log(ModerationRecord::new(actor, &was.target, ModerationAction::Unban)).await?;
        self.forget(&was.target);
        if let Some(slot) = slot {
            slot.send(Message::Ban(BanMsg::Unbanned { name: was.target.clone() }));
        }
        info!(target = %was.target, by = %actor, "unbanned");
        Ok(was)
    }

    /// Keep `ban` and end the connections it covers.
    fn apply(&self, ban: Ban) {
        let key = names::key(&ban.target);
        self.cache.write().insert(key.clone(), ban.clone());
        self.metrics.active.set(self.cache.read().len() as i64);
        let group = ban.address.clone();
        let ended = self.online.close_where(
            |k, ip, admin| k == key || (!admin && group.as_deref() == Some(&address_group(ip).to_string())),
            |conn_key| refusal_of(&ban, conn_key != key),
        );
        if ended > 0 {
            self.metrics.disconnected.add(ended as u64);
            info!(target = %ban.target, connections = ended, "ended the connections of a banned user or address");
        }
    }

    fn forget(&self, name: &str) {
        let mut cache = self.cache.write();
        cache.remove(&names::key(name));
        self.metrics.active.set(cache.len() as i64);
    }

    /// Make the bans in memory exactly those in force in the database, and act on the new ones.
    async fn reload(&self) {
        match self.store.bans().list_active(sockhub_store::now()).await {
            Ok(bans) => self.replace_all(bans),
            Err(e) => warn!(error = %e, "bans: could not re-read the bans; keeping those in memory"),
        }
    }

    fn replace_all(&self, mut bans: Vec<Ban>) {
        if bans.len() > self.max {
            warn!(
                bans = bans.len(),
                max = self.max,
                "bans: more bans in force than auth.max_bans; keeping the newest"
            );
            bans.sort_by_key(|b| std::cmp::Reverse(b.at));
            bans.truncate(self.max);
        }
        let fresh: HashMap<String, Ban> = bans.into_iter().map(|b| (names::key(&b.target), b)).collect();
        let changed: Vec<Ban> = {
            let mut cache = self.cache.write();
            let changed =
                fresh.iter().filter(|(k, b)| cache.get(*k) != Some(b)).map(|(_, b)| b.clone()).collect();
            *cache = fresh;
            changed
        };
        for ban in changed {
            self.apply(ban);
        }
        self.metrics.active.set(self.cache.read().len() as i64);
    }

    async fn log(&self, record: ModerationRecord) -> Result<(), ErrorEvent> {
        self.journal
            .send_timeout(record, self.log_wait)
            .await
            .map_err(|_| ErrorEvent::new(ErrorCode::Unavailable, msg!("error-moderation-log-full")))
    }
}

/// A ban of `target` by `actor`, checked and filled in, not yet stored: the name as the user
/// is known (`here`, their connection on this node if any, else their account, else as typed),
/// and with `address`, their address group (of `here`, else of their last login anywhere). The
/// CLI, which has no connections, passes `here = None`.
pub async fn prepare(
    store: &Store,
    actor: &str,
    target: &str,
    length: Option<Duration>,
    reason: Option<String>,
    address: bool,
    here: Option<(String, SocketAddr)>,
) -> Result<Ban, ErrorEvent> {
    names::validate(target)?;
    if let Some(r) = &reason {
        sockhub_proto::text::require("reason", r)?;
    }
    if names::key(actor) == names::key(target) {
        return Err(ErrorEvent::new(ErrorCode::BadRequest, msg!("chat-ban-yourself")));
    }
    let name = match &here {
        Some((name, _)) => name.clone(),
        None => match store.accounts().find(target).await {
            Ok(account) => account.map_or_else(|| target.to_owned(), |a| a.name),
            Err(e) => return Err(unavailable(&e)),
        },
    };
    let address = match (address, here) {
        (false, _) => None,
        (true, Some((_, addr))) => Some(address_group(addr.ip()).to_string()),
        (true, None) => {
            let peer = store.bans().last_login_peer(&name).await.map_err(|e| unavailable(&e))?;
            match peer.and_then(|p| p.parse::<SocketAddr>().ok()) {
                Some(addr) => Some(address_group(addr.ip()).to_string()),
                None => {
                    return Err(ErrorEvent::new(
                        ErrorCode::BadRequest,
                        format!("no address is known for {name} (never logged in); ban the name alone"),
                    ));
                }
            }
        }
    };
    let at = sockhub_store::now();
    let until = length.map(|d| {
        at + chrono::Duration::from_std(d.min(sockhub_proto::ban::MAX_BAN)).expect("ten years fit a Duration")
    });
    Ok(Ban { target: name, address, until, reason, actor: actor.to_owned(), at })
}

/// The moderation-log record of `ban`.
pub fn moderation_record(ban: &Ban) -> ModerationRecord {
    let mut record = ModerationRecord::new(&ban.actor, &ban.target, ModerationAction::Ban);
    (record.reason, record.until, record.at) = (ban.reason.clone(), ban.until, ban.at);
    record
}

/// The `banned` error for `ban`, found by the name or by the address.
fn refusal_of(ban: &Ban, by_address: bool) -> ErrorEvent {
    sockhub_proto::ban::banned_error(ban.until, ban.reason.as_deref(), by_address, time::now())
}

fn unavailable(e: &StoreError) -> ErrorEvent {
    warn!(error = %e, "bans: the database failed");
    ErrorEvent::new(ErrorCode::Unavailable, msg!("chat-moderation-unavailable"))
}

/// Bans take part in the cluster: changes arrive here, and a resync re-reads the database.
impl Listener for Bans {
    fn service(&self) -> &'static str {
        "bans"
    }

    fn on_message(&self, from: &NodeRef, msg: Message) {
        let Message::Ban(msg) = msg else { return };
        match msg {
            BanMsg::Banned { ban } => {
                info!(node = %from.id, target = %ban.target, "banned on another node");
                self.apply(ban);
            }
            BanMsg::Unbanned { name } => self.forget(&name),
        }
    }

    fn on_node_down(&self, _node: &NodeRef) {}

    fn announce(&self) {
        if let Some(me) = self.myself.upgrade() {
            tokio::spawn(async move { me.reload().await });
        }
    }
}
