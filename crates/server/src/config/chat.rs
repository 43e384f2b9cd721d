//! `[chat]`: the chat service's port and its rules of entry.

use serde::{Deserialize, Serialize};

use super::InvalidValue;
use super::section::section;

/// Who may enter a service that takes names (`[chat] auth`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Admission {
    /// Anyone may pick a free name; a name that belongs to an account needs its password.
    Open,
    /// Only registered members may enter, with their password.
    Accounts,
}

section! {
    /// `[chat]`: the chat service. Env: `SOCKHUB_CHAT_<KEY>`.
    #[section(chat, about = "The chat service.")]
    pub struct ChatConfig {
        /// Run the chat service; a config file without a [chat] section leaves it off.
        pub enabled: bool = true,
        /// TCP port for chat (0 = any free port).
        pub port: u16 = 7001,
        /// TLS port for chat (e.g. 7101) with the [tls] certificate (0 = any free port); unset = no TLS
        /// port.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub tls_port: Option<u16> = None,
        /// Public messages a client receives when it joins.
        pub history: usize = 20,
        /// "open": anyone picks a free name, account names need their password; "accounts": members only.
        pub auth: Admission = Admission::Open,
        /// The room every login joins first (# and 1 to 32 letters, digits, - _ .).
        pub default_room: String = sockhub_proto::chat::DEFAULT_ROOM.to_owned(),
        /// Who creates rooms: "open": anyone, by joining (the room vanishes when empty); "admin": admins
        /// only (their rooms persist).
        pub rooms: RoomCreation = RoomCreation::Open,
        /// The most rooms one user may be in at once (too_many_rooms beyond).
        pub max_rooms_per_user: usize = 10,
        /// The most rooms the server holds, persistent ones included (room_limit beyond).
        pub max_rooms: usize = 1000,
        /// Persistent rooms created at start, one [[chat.room]] table each with name and optional topic.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub room: Vec<RoomSetting> = Vec::new(),
    }
}

/// Who may create a chat room (`[chat] rooms`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoomCreation {
    /// Anyone, by joining a room that does not exist (it vanishes when the last member leaves).
    Open,
    /// Only admins (their rooms are persistent); others join existing rooms.
    Admin,
}

/// One `[[chat.room]]`: a persistent room and its topic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoomSetting {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
}

impl ChatConfig {
    /// The room settings make sense: valid names, room for the configured rooms.
    pub(super) fn validate(&self) -> Result<(), InvalidValue> {
        use sockhub_proto::chat::is_room_name;
        if !is_room_name(&self.default_room) {
            return Err(format!(
                "chat.default_room {:?} is not a room name (# and 1 to 32 letters, digits, - _ .)",
                self.default_room
            )
            .into());
        }
        if let Some(bad) = self.room.iter().find(|r| !is_room_name(&r.name)) {
            return Err(format!(
                "chat.room name {:?} is not a room name (# and 1 to 32 letters, digits, - _ .)",
                bad.name
            )
            .into());
        }
        if let Some(bad) = self.room.iter().find_map(|r| {
            r.topic.as_deref().and_then(|t| sockhub_proto::text::check(t).err().map(|_| &r.name))
        }) {
            return Err(format!("chat.room {bad}: the topic has a control character or line break").into());
        }
        if self.max_rooms_per_user == 0 {
            return Err("chat.max_rooms_per_user must be at least 1".into());
        }
        if self.max_rooms <= self.room.len() {
            return Err(
                format!("chat.max_rooms must be more than the {} configured rooms", self.room.len()).into()
            );
        }
        Ok(())
    }

    /// The value of a missing `[chat]` section in a config file.
    pub fn off() -> Self {
        ChatConfig { enabled: false, ..Self::default() }
    }
}
