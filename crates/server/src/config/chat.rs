//! `[chat]`: the chat service's port and its rules of entry.

use serde::{Deserialize, Serialize};

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
    }
}

impl ChatConfig {
    /// The value of a missing `[chat]` section in a config file.
    pub fn off() -> Self {
        ChatConfig { enabled: false, ..Self::default() }
    }
}
