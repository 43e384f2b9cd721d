//! Admins' tools: kick, mute and unmute, and the mutes in force.
//!
//! A mute is state, not just a log line: it is written to the database before anyone is told
//! (so it survives a restart at once) and kept in memory for the check on every message. A timed
//! mute has a timer that lifts it and tells the room when it runs out; a mute loaded at start
//! gets its timer again. Every action is also written to the moderation log.
//!
//! In a cluster the target may be on another node: a kick is published and carried out by the
//! node holding the connection; a mute or unmute is published so every node's mute cache changes
//! at once (and a node that missed it reloads the mutes from the database when it resyncs).

use sockhub_i18n::{Msg, msg};
use std::collections::HashMap;
use std::sync::{Arc, Weak};
use std::time::Duration;

use parking_lot::Mutex;
use sockhub_proto::ErrorCode;
use sockhub_proto::chat::ChatEvent;
use sockhub_proto::error::ErrorEvent;
use sockhub_proto::time::Timestamp;
use sockhub_store::{Journal, ModerationAction, ModerationRecord, Mute, Store};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{info, warn};

use super::ChatService;
use super::room::Located;
use crate::bus::{ChatMsg, Message, WireMute};
use crate::names;
use crate::net::outbox::Frame;

/// The mutes in force, and the means to change them.
pub struct Moderation {
    store: Store,
    journal: Journal,
    mutes: Mutex<HashMap<String, Mute>>,
    tracker: TaskTracker,
    shutdown: CancellationToken,
    log_wait: Duration,
}

impl Moderation {
    pub fn new(
        store: Store,
        journal: Journal,
        tracker: TaskTracker,
        shutdown: CancellationToken,
        log_wait: Duration,
    ) -> Self {
        Moderation { store, journal, mutes: Mutex::new(HashMap::new()), tracker, shutdown, log_wait }
    }

    /// The mute in force for `name`, if any.
    pub fn muted(&self, name: &str, now: Timestamp) -> Option<Mute> {
        self.mutes.lock().get(&names::key(name)).filter(|m| m.is_active(now)).cloned()
    }

    /// Every mute in force at `now`, sorted by name.
    pub fn active(&self, now: Timestamp) -> Vec<Mute> {
        let mut mutes: Vec<Mute> = self.mutes.lock().values().filter(|m| m.is_active(now)).cloned().collect();
        mutes.sort_by_key(|m| names::key(&m.target));
        mutes
    }

    /// Disconnect `target` (who must be online): everyone (the target too) is told who did it and
    /// why, then the target gets a final `bye`.
    pub async fn kick(
        &self,
        chat: &ChatService,
        actor: &str,
        target: &str,
        reason: Option<String>,
    ) -> Result<(), ErrorEvent> {
        check_reason(reason.as_deref())?;
        let located = chat.room.locate(&names::key(target)).ok_or_else(|| not_online(target))?;
        let name = located.name().to_owned();
        if names::key(actor) == names::key(&name) {
            return Err(ErrorEvent::new(ErrorCode::BadRequest, msg!("chat-kick-yourself")));
        }
        let mut record = ModerationRecord::new(actor, &name, ModerationAction::Kick);
        record.reason = reason.clone();
        self.log(record).await?;
        let bye = kicked_by(actor, reason.as_deref());
        chat.room.broadcast(&Frame::new(ChatEvent::Kicked {
            name: name.clone(),
            by: actor.to_owned(),
            reason: reason.clone(),
            room: None,
        }));
        // Every node shows the kick; the one holding the connection closes it.
        let (node, conn) = match located {
            Located::Here(member) => {
                member
                    .outbox
                    .close_with(Some(Frame::new(sockhub_proto::notice::Notice::Bye { reason: bye })));
                (chat.bus.node(), member.conn)
            }
            Located::There { node, conn, .. } => (node, conn),
        };
        if chat.bus.is_shared() {
            let kicked = ChatMsg::Kicked { name: name.clone(), node, conn, by: actor.to_owned(), reason };
            chat.bus.publish(Message::Chat(kicked));
        }
        info!(target = %name, "{name} kicked by {actor}");
        Ok(())
    }

    /// Mute `target` (online or not) for `minutes`, or until unmuted.
    pub async fn mute(
        &self,
        chat: &Arc<ChatService>,
        actor: &str,
        target: &str,
        minutes: Option<f64>,
        reason: Option<String>,
    ) -> Result<(), ErrorEvent> {
        let now = sockhub_store::now();
        let until = match minutes {
            Some(m) if m.is_finite() && m > 0.0 && m <= 525_600.0 => {
                Some(now + chrono::Duration::milliseconds((m * 60_000.0) as i64))
            }
            Some(_) => {
                return Err(ErrorEvent::new(ErrorCode::BadRequest, msg!("chat-mute-minutes")));
            }
            None => None,
        };
        check_reason(reason.as_deref())?;
        // Use the name as the room knows it when the target is online; an offline name must be
        // one that could log in (it is shown to everyone).
        let name = match chat.room.locate(&names::key(target)) {
            Some(member) => member.name().to_owned(),
            None => {
                names::validate(target)?;
                target.to_owned()
            }
        };
        let mute =
            Mute { target: name.clone(), until, reason: reason.clone(), actor: actor.to_owned(), at: now };
        self.store.set_mute(&mute).await.map_err(|e| {
            warn!(error = %e, "could not store a mute");
            unavailable()
        })?;
        let mut record = ModerationRecord::new(actor, &name, ModerationAction::Mute);
        (record.reason, record.until) = (reason.clone(), until);
        self.log(record).await?;
        if chat.bus.is_shared() {
            chat.bus.publish(Message::Chat(ChatMsg::Muted { mute: WireMute::from(&mute) }));
        }
        self.remember(chat, mute);
        chat.room.broadcast(&Frame::new(ChatEvent::Muted {
            name: name.clone(),
            by: actor.to_owned(),
            until,
            reason,
            room: None,
        }));
        info!(target = %name, "{name} muted by {actor}");
        Ok(())
    }

    /// Lift `target`'s mute.
    pub async fn unmute(&self, chat: &ChatService, actor: &str, target: &str) -> Result<(), ErrorEvent> {
        let key = names::key(target);
        let was = self.mutes.lock().get(&key).filter(|m| m.is_active(sockhub_store::now())).cloned();
        let Some(was) = was else {
            return Err(ErrorEvent::new(ErrorCode::NotMuted, msg!("chat-not-muted", name = target)));
        };
        self.store.clear_mute(&was.target).await.map_err(|e| {
            warn!(error = %e, "could not clear a mute");
            unavailable()
        })?;
        self.log(ModerationRecord::new(actor, &was.target, ModerationAction::Unmute)).await?;
        self.mutes.lock().remove(&key);
        if chat.bus.is_shared() {
            chat.bus
                .publish(Message::Chat(ChatMsg::Unmuted { name: was.target.clone(), by: actor.to_owned() }));
        }
        chat.room.broadcast(&Frame::new(ChatEvent::Unmuted {
            name: was.target.clone(),
            by: Some(actor.to_owned()),
            room: None,
        }));
        info!(target = %was.target, "{} unmuted by {actor}", was.target);
        Ok(())
    }

    /// Keep `mute` in memory and, if it has an end, lift it then.
    pub(crate) fn remember(&self, chat: &Arc<ChatService>, mute: Mute) {
        let key = names::key(&mute.target);
        if let Some(until) = mute.until {
            let chat: Weak<ChatService> = Arc::downgrade(chat);
            let (set_at, shutdown) = (mute.at, self.shutdown.clone());
            let wait = (until - sockhub_store::now()).to_std().unwrap_or_default();
            self.tracker.spawn(async move {
                tokio::select! {
                    _ = shutdown.cancelled() => {}
                    _ = tokio::time::sleep(wait) => {
                        if let Some(chat) = chat.upgrade() {
                            chat.moderation.expire(&chat, &key, set_at);
                        }
                    }
                }
            });
        }
        self.mutes.lock().insert(names::key(&mute.target), mute);
    }

    /// Another node lifted `name`'s mute: forget it. `false` if it was not muted here.
    pub(crate) fn forget(&self, name: &str) -> bool {
        self.mutes.lock().remove(&names::key(name)).is_some()
    }

    /// Make the mutes in force exactly `mutes` (read from the database after a resync: another
    /// node may have changed them while this one could not hear it). Nobody is told; the next
    /// message of a muted user is refused as usual.
    pub(crate) fn reload(&self, chat: &Arc<ChatService>, mutes: Vec<Mute>) {
        let fresh: HashMap<String, Mute> = mutes.into_iter().map(|m| (names::key(&m.target), m)).collect();
        let changed: Vec<Mute> = {
            let mut current = self.mutes.lock();
            current.retain(|k, _| fresh.contains_key(k));
            fresh.into_iter().filter(|(k, m)| current.get(k) != Some(m)).map(|(_, m)| m).collect()
        };
        for mute in changed {
            self.remember(chat, mute);
        }
    }

    /// A timed mute ran out: forget it and tell the room, unless it was replaced or lifted.
    fn expire(&self, chat: &ChatService, key: &str, set_at: Timestamp) {
        let expired = {
            let mut mutes = self.mutes.lock();
            match mutes.get(key) {
                Some(m) if m.at == set_at => mutes.remove(key),
                _ => None,
            }
        };
        if let Some(m) = expired {
            info!(target = %m.target, "the mute of {} expired", m.target);
            chat.room.broadcast(&Frame::new(ChatEvent::Unmuted { name: m.target, by: None, room: None }));
        }
    }

    async fn log(&self, record: ModerationRecord) -> Result<(), ErrorEvent> {
        self.journal.send_timeout(record, self.log_wait).await.map_err(|_| unavailable())
    }
}

/// `no_such_user`, echoing the name as typed (escaped: it is unchecked input).
pub(super) fn not_online(name: &str) -> ErrorEvent {
    let name = sockhub_proto::text::escape(name);
    ErrorEvent::new(ErrorCode::NoSuchUser, msg!("chat-no-such-user", name = name.into_owned()))
}

fn unavailable() -> ErrorEvent {
    ErrorEvent::new(ErrorCode::Unavailable, msg!("chat-moderation-unavailable"))
}

/// A moderation reason is shown to everyone: it must be text.
fn check_reason(reason: Option<&str>) -> Result<(), ErrorEvent> {
    reason.map_or(Ok(()), |r| sockhub_proto::text::require("reason", r))
}

/// The `bye` reason of a kicked user: `kicked by alice: spamming`.
pub(crate) fn kicked_by(by: &str, reason: Option<&str>) -> Msg {
    let kicked = msg!("chat-kicked-by", by = by);
    match reason {
        Some(r) => msg!("common-reason", text = kicked, reason = r),
        None => kicked,
    }
}
