//! `[irc]`: the chat's IRC face, off unless the section is present (or one of its keys is set
//! through the environment or a flag). Env: `SOCKHUB_IRC_<KEY>`.

use std::path::PathBuf;

use super::InvalidValue;
use super::section::section;

section! {
    /// `[irc]`: an IRC listener whose users are chat members like any other. Env: `SOCKHUB_IRC_<KEY>`.
    #[section(irc, about = "The chat's IRC face: IRC clients join sockhub rooms as channels; off unless the section is present.")]
    pub struct IrcConfig {
        /// Run the IRC listener; off without the section, on when the section exists (or one of its keys
        /// is set).
        pub enabled: bool = true,
        /// TCP port for IRC clients (0 = any free port).
        pub port: u16 = 6667,
        /// TLS port for IRC clients (e.g. 6697) with the [tls] certificate (0 = any free port); unset = no
        /// TLS port.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub tls_port: Option<u16> = None,
        /// The server's name in every reply's source, 004 and PONG; empty = this machine's host name.
        pub server_name: String = String::new(),
        /// The network name announced in RPL_ISUPPORT (NETWORK=).
        pub network: String = "sockhub".to_owned(),
        /// A connection password every IRC client must send with PASS before registering (not an account
        /// password: accounts log in with SASL); unset = none.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub password: Option<String> = None,
        /// The message of the day, shown after registration and by MOTD (lines split at \n).
        pub motd: String = "Welcome to sockhub's chat over IRC. Every channel is a sockhub room.".to_owned(),
        /// A file whose text is the message of the day instead of `motd`; unset = use `motd`.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub motd_file: Option<PathBuf> = None,
        /// Send PING to a client that has sent nothing for this long (0 = never).
        pub ping_secs: u64 = 120,
        /// Disconnect a client that has not answered a PING (or sent anything) within this long after it.
        pub ping_timeout_secs: u64 = 60,
        /// Put every IRC user in [chat] default_room at registration, as every other login is; false = IRC
        /// users start in no channel and JOIN what they want, as on other IRC servers.
        pub auto_join: bool = true,
    }
}

impl IrcConfig {
    /// The value of a missing `[irc]` section (and of the built-in defaults: IRC is opt-in).
    pub fn off() -> Self {
        IrcConfig { enabled: false, ..Self::default() }
    }

    /// `server_name`, or the host name when it is empty.
    pub fn server_name(&self) -> String {
        if !self.server_name.is_empty() {
            return self.server_name.clone();
        }
        ["/proc/sys/kernel/hostname", "/etc/hostname"]
            .iter()
            .filter_map(|p| std::fs::read_to_string(p).ok())
            .map(|s| s.trim().to_owned())
            .find(|s| !s.is_empty() && !s.contains(' '))
            .unwrap_or_else(|| "sockhub".to_owned())
    }

    /// The message of the day, one entry per line: `motd_file`'s text when set, else `motd`.
    pub fn motd_lines(&self) -> std::io::Result<Vec<String>> {
        let text = match &self.motd_file {
            Some(path) => std::fs::read_to_string(path)?,
            None => self.motd.replace("\\n", "\n"),
        };
        Ok(text.lines().map(str::to_owned).collect())
    }

    pub(super) fn validate(&self) -> Result<(), InvalidValue> {
        if !self.enabled {
            return Ok(());
        }
        if self.server_name.contains(' ') || self.server_name.contains(':') {
            return Err(format!("irc.server_name must be a host name (is {:?})", self.server_name).into());
        }
        if self.network.is_empty() || self.network.contains(' ') {
            return Err(format!("irc.network must be one word (is {:?})", self.network).into());
        }
        if self.password.as_deref().is_some_and(|p| p.is_empty() || p.contains(' ')) {
            return Err("irc.password must be one word when set".into());
        }
        if self.ping_secs > 0 && self.ping_timeout_secs == 0 {
            return Err("irc.ping_timeout_secs must be at least 1 when irc.ping_secs is set".into());
        }
        if let Some(path) = &self.motd_file
            && let Err(e) = std::fs::metadata(path)
        {
            return Err(format!("irc.motd_file {}: {e}", path.display()).into());
        }
        Ok(())
    }
}
