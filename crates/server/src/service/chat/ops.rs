//! Who may moderate a room: admins everywhere, a room's operators in that room only.
//!
//! A room operator (see `rooms/ops.rs`: the member who created a transient room, or one an
//! operator or admin made one) may kick from the room, mute and unmute in it, set its topic and
//! make other members operators or take that away; never anything server-wide, never in another
//! room, and never to an admin. Every change of operator status is written to the moderation
//! log with its room, like kicks and mutes.

use sockhub_i18n::msg;
use sockhub_proto::ErrorCode;
use sockhub_proto::error::ErrorEvent;
use sockhub_store::{ModerationAction, ModerationRecord};
use tracing::info;

use super::ChatService;
use super::moderation::not_online;
use crate::names;

impl ChatService {
    /// Refuse unless `actor` (user key `actor_key`, logged in as an admin when `admin`) may
    /// moderate `room`: an admin (confirmed in the database) anywhere, or an operator of `room`.
    /// `room` absent means server-wide: admins only. An operator may not act on `target` when
    /// that is an admin.
    pub(crate) async fn require_room_power(
        &self,
        actor: &str,
        actor_key: &str,
        admin: bool,
        room: Option<&str>,
        target: Option<&str>,
    ) -> Result<(), ErrorEvent> {
        if admin {
            return self.auth.confirm_admin(actor).await;
        }
        let Some(room) = room else {
            return Err(ErrorEvent::new(ErrorCode::Forbidden, msg!("error-admins-only")));
        };
        let room = self.rooms.existing(room)?;
        if !self.rooms.is_op(&room, actor_key) {
            return Err(ErrorEvent::new(ErrorCode::Forbidden, msg!("chat-room-ops-only", room = room)));
        }
        if let Some(target) = target {
            match self.auth.confirm_admin(target).await {
                Ok(()) => return Err(ErrorEvent::new(ErrorCode::Forbidden, msg!("chat-not-over-admin"))),
                Err(e) if e.code == ErrorCode::Unavailable => return Err(e),
                Err(_) => {}
            }
        }
        Ok(())
    }

    /// `actor` makes the member `target` an operator of `room` (`None`: the actor's current
    /// room) when `op`, or takes that away: checked, logged, then shown to the room's members.
    pub(crate) async fn set_room_op(
        &self,
        actor: &str,
        actor_key: &str,
        admin: bool,
        target: &str,
        room: Option<&str>,
        op: bool,
    ) -> Result<(), ErrorEvent> {
        let room = match room {
            Some(r) => self.rooms.existing(r)?,
            None => self.rooms.resolve(actor_key, None)?,
        };
        self.require_room_power(actor, actor_key, admin, Some(&room), Some(target)).await?;
        let target_key = names::key(target);
        let name = self.room.locate(&target_key).ok_or_else(|| not_online(target))?.name().to_owned();
        if !self.rooms.is_member(&room, &target_key) {
            let e = msg!("chat-not-in-room", room = room.clone());
            return Err(ErrorEvent::new(
                ErrorCode::NotInRoom,
                msg!("common-reason", text = name, reason = e),
            ));
        }
        let action = if op { ModerationAction::Op } else { ModerationAction::Deop };
        let record = ModerationRecord::new(actor, &name, action).in_room(Some(room.clone()));
        self.moderation.log_record(record).await?;
        self.rooms.set_op(&room, &target_key, &name, op, actor)?;
        info!(target = %name, by = %actor, room = %room, op, "changed a room operator");
        Ok(())
    }
}
