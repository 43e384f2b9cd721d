//! The chat's part in a cluster: applying what other nodes publish.
//!
//! What this node publishes is sent where it happens: the session, room and moderation code take
//! a place on the way out before a request does anything ([`crate::bus::place`]; a line,
//! [`crate::bus::Bus::reserve_room`]) and send into it right after the local change, so nothing a
//! user did is dropped when the bus is behind; only the snapshots below, which the next resync
//! repeats, are published without a place. This file is the other half. A
//! remote public line is delivered to the local members and kept in the history like a local one;
//! a whisper arrives only at the target's node; a kick is shown everywhere and carried out by the
//! node that holds the connection; a mute updates every node's mute cache, so it is enforced
//! wherever the target types.
//!
//! Rooms: a remote user's joins and parts (`RoomJoined`, `RoomLeft`) and topics arrive on the
//! shared subject; a snapshot of a node's members carries each member's rooms, so a resync
//! restores room membership too. A remote user who goes (left, node down, evicted) leaves every
//! room here. Public lines arrive on the room's own subject, which this node follows only while
//! it has members in the room.

use sockhub_i18n::msg;
use std::sync::Arc;

use sockhub_proto::chat::ChatEvent;
use sockhub_proto::notice::Notice;
use tracing::{info, warn};

use super::ChatService;
use crate::bus::replica::Change;
use crate::bus::{ChatMsg, Digest, Listener, Message, NodeRef, publish_in_parts};
use crate::names;
use crate::net::outbox::Frame;

impl ChatService {
    /// Ask `node` for its whole membership: what we have of it is out of step.
    fn resync_with(&self, node: &NodeRef) {
        self.bus.send(node, Message::Hello);
    }

    fn on_chat(self: &Arc<Self>, from: &NodeRef, msg: ChatMsg) {
        match msg {
            ChatMsg::Joined { name, conn, version } => {
                let member = crate::bus::RemoteMember { name: name.clone(), conn, rooms: Vec::new() };
                let change = self.room.apply_remote(|d| d.join(from, member, version));
                self.follow_change(&change);
                let in_step = change.in_step;
                info!(node = %from.id, name = %name, online = self.room.online(), "chat: joined on another node");
                if !in_step {
                    self.resync_with(from);
                }
            }
            ChatMsg::Left { name, conn, version } => {
                let key = names::key(&name);
                let change = self.room.apply_remote(|d| d.leave(from, &key, conn, version));
                self.follow_change(&change);
                let in_step = change.in_step;
                info!(node = %from.id, name = %name, online = self.room.online(), "chat: left on another node");
                if !in_step {
                    self.resync_with(from);
                }
            }
            ChatMsg::Members { version, members, first, last } => {
                let rooms: Vec<(String, String, Vec<String>)> =
                    members.iter().map(|m| (names::key(&m.name), m.name.clone(), m.rooms.clone())).collect();
                let change = self.room.apply_remote(|d| d.snapshot(from, version, members, first, last));
                self.follow_change(&change);
                for (key, name, rooms) in rooms {
                    self.set_remote_rooms(&key, &name, &rooms);
                }
            }
            ChatMsg::Said { from: name, text, at, room, notice, id, tags } => {
                let name: Arc<str> = name.into();
                let extra = super::rooms::Extra { notice, id, tags };
                self.rooms.say(&super::rooms::key(&room), &name, &text, at, extra);
            }
            ChatMsg::RoomJoined { room, name, persistent } => {
                self.rooms.remote_join(&room, &names::key(&name), &name, persistent);
                self.room_metrics.rooms.set(self.rooms.count() as i64);
            }
            ChatMsg::RoomLeft { room, name, reason } => {
                self.rooms.remote_part(&room, &names::key(&name), reason);
                self.room_metrics.rooms.set(self.rooms.count() as i64);
            }
            ChatMsg::Topic { room, topic, by, at } => {
                let topic = topic.map(|text| super::rooms::Topic { text, by: by.clone(), at });
                if let Err(e) = self.rooms.set_topic(&room, topic, &by) {
                    info!(error = %e.message, "a topic for a room unknown here");
                }
            }
            ChatMsg::Whisper { from: sender, to, to_conn, text, at, notice, id, tags } => {
                match self.room.find(&names::key(&to)).filter(|m| m.conn == to_conn) {
                    Some(target) => {
                        target.outbox.send(ChatEvent::Whisper {
                            from: sender,
                            to,
                            text,
                            at,
                            notice,
                            id,
                            tags,
                            outgoing: false,
                        });
                    }
                    None => {
                        info!(node = %from.id, from = %sender, to = %to, "chat: a whisper from another node found its recipient gone")
                    }
                }
            }
            ChatMsg::Kicked { name, node, conn, by, reason, room: Some(room) } => {
                let event = ChatEvent::Kicked { name: name.clone(), by, reason, room: Some(room.clone()) };
                self.rooms.broadcast(&room, event);
                if node == self.bus.node()
                    && self.room.find(&names::key(&name)).is_some_and(|m| m.conn == conn)
                    && let Some(me) = self.myself()
                {
                    tokio::spawn(async move { me.remove_from_room(&name, &room).await });
                }
            }
            ChatMsg::Kicked { name, node, conn, by, reason, room: None } => {
                let bye = super::moderation::kicked_by(&by, reason.as_deref());
                self.room.broadcast(&Frame::new(ChatEvent::Kicked {
                    name: name.clone(),
                    by: by.clone(),
                    reason,
                    room: None,
                }));
                if node == self.bus.node()
                    && let Some(member) = self.room.find(&names::key(&name)).filter(|m| m.conn == conn)
                {
                    member.outbox.close_with(Some(Frame::new(Notice::Bye { reason: bye })));
                    info!(target = %name, by = %by, node = %from.id, "chat: kicked on another node");
                }
            }
            ChatMsg::Muted { mute } => {
                let mute: sockhub_store::Mute = mute.into();
                let event = ChatEvent::Muted {
                    name: mute.target.clone(),
                    by: mute.actor.clone(),
                    until: mute.until,
                    reason: mute.reason.clone(),
                    room: mute.room.clone(),
                };
                let room = mute.room.clone();
                self.moderation.remember(self, mute);
                super::moderation::tell(self, room.as_deref(), event);
            }
            ChatMsg::Unmuted { name, by, room } => {
                if self.moderation.forget(&name, room.as_deref()) {
                    let event = ChatEvent::Unmuted { name, by: Some(by), room: room.clone() };
                    super::moderation::tell(self, room.as_deref(), event);
                }
            }
        }
    }

    /// Remote members came and went: those who went leave every room here; those who came (in a
    /// snapshot) join theirs.
    fn follow_change(&self, change: &Change<crate::bus::RemoteMember>) {
        for gone in &change.left {
            self.forget_remote(gone);
        }
        for came in &change.joined {
            self.set_remote_rooms(&names::key(&came.name), &came.name, &came.rooms);
        }
        self.room_metrics.rooms.set(self.rooms.count() as i64);
    }

    /// Make the remote user `key` a member of exactly `rooms` here.
    fn set_remote_rooms(&self, key: &str, name: &str, rooms: &[String]) {
        let now = self.rooms.remote_rooms_of(key);
        for room in now.iter().filter(|r| !rooms.iter().any(|x| super::rooms::key(x) == super::rooms::key(r)))
        {
            self.rooms.remote_part(room, key, None);
        }
        for room in rooms {
            self.rooms.remote_join(room, key, name, false);
        }
    }

    /// Publish this node's membership, in parts.
    fn publish_members(&self) {
        let (version, mut members) = self.room.snapshot();
        let rooms: std::collections::HashMap<String, Vec<String>> =
            self.rooms.local_rooms_of_all().into_iter().collect();
        for m in &mut members {
            m.rooms = rooms.get(&names::key(&m.name)).cloned().unwrap_or_default();
        }
        publish_in_parts(self.bus.as_ref(), members, |members, first, last| {
            Message::Chat(ChatMsg::Members { version, members, first, last })
        });
    }
}

/// The listener is registered as a `Weak<dyn Listener>`; the service is always in an `Arc`.
impl Listener for ChatService {
    fn service(&self) -> &'static str {
        "chat"
    }

    fn on_message(&self, from: &NodeRef, msg: Message) {
        let Message::Chat(msg) = msg else { return };
        // Timed mutes need the `Arc` (their timer holds a weak reference to the service).
        if let Some(me) = self.myself() {
            me.on_chat(from, msg);
        }
    }

    fn on_node_down(&self, node: &NodeRef) {
        let change = self.room.apply_remote(|d| Change { left: d.drop_node(node), ..Change::default() });
        self.follow_change(&change);
        info!(node = %node.id, online = self.room.online(), "chat: a node is gone");
    }

    fn announce(&self) {
        self.publish_members();
        // Mutes set or lifted on a node we could not hear are in the database.
        if let Some(me) = self.myself() {
            tokio::spawn(async move {
                match me.store.active_mutes(sockhub_store::now()).await {
                    Ok(mutes) => me.moderation.reload(&me, mutes),
                    Err(e) => warn!(error = %e, "could not reload the mutes after a resync"),
                }
            });
        }
    }

    fn digest(&self) -> Digest {
        self.room.digest()
    }

    fn in_sync(&self, node: &NodeRef, digest: &Digest) -> bool {
        self.room.remote_matches(node, digest)
    }

    fn held_names(&self) -> Vec<(String, u64)> {
        self.room.local_members()
    }

    fn name_lost(&self, name: &str, conn: u64) {
        if let Some(member) = self.room.find(&names::key(name)).filter(|m| m.conn == conn) {
            let reason = msg!("error-name-taken-elsewhere");
            member.outbox.close_with(Some(Frame::new(Notice::Bye { reason })));
        }
    }
}
