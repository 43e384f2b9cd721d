//! Checking a configuration that parsed: values that make no sense alone (each section's own
//! `validate`) or together (TLS ports without a certificate, a cluster on SQLite), as an
//! [`InvalidValue`] whose message names the key.

use super::Config;

/// A value that parses but makes no sense; the message names the key and what it must be.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidValue(pub String);

impl From<String> for InvalidValue {
    fn from(message: String) -> Self {
        InvalidValue(message)
    }
}

impl From<&str> for InvalidValue {
    fn from(message: &str) -> Self {
        InvalidValue(message.to_owned())
    }
}

impl Config {
    /// Check values that parse but make no sense.
    pub fn validate(&self) -> Result<(), InvalidValue> {
        self.retention.validate()?;
        self.chat.validate()?;
        self.logging.validate()?;
        self.limits.validate()?;
        if let Some(bad) =
            self.server.proxy_protocol.iter().find_map(|p| p.parse::<crate::net::cidr::Cidr>().err())
        {
            return Err(format!("server.proxy_protocol: {bad}").into());
        }
        self.database.validate()?;
        self.auth.validate()?;
        self.web.validate(&self.limits)?;
        self.validate_tls()?;
        self.quiz.validate()?;
        self.calc.validate()?;
        self.irc.validate()?;
        if self.irc.enabled && !self.chat.enabled {
            return Err("[irc] needs [chat]: IRC users are chat members".into());
        }
        if self.relay.enabled {
            self.relay.validate()?;
        }
        self.cluster.validate(&self.database)?;
        Ok(())
    }

    fn validate_tls(&self) -> Result<(), InvalidValue> {
        let t = &self.tls;
        if t.cert.is_some() != t.key.is_some() {
            return Err("tls.cert and tls.key go together: set both or neither".into());
        }
        if let Some((name, _)) = self.tls_ports().first()
            && !t.configured()
        {
            let key = name.trim_end_matches("-tls");
            return Err(format!("{key}.tls_port is set but [tls] has no cert and key").into());
        }
        if t.require_client_cert && t.client_ca.is_none() {
            return Err(
                "tls.require_client_cert needs tls.client_ca (the CA that signs client certificates)".into(),
            );
        }
        if t.handshake_timeout_secs == 0 {
            return Err("tls.handshake_timeout_secs must be at least 1".into());
        }
        if self.web.redirect_http && self.web.tls_port.is_none() {
            return Err("web.redirect_http needs web.tls_port (where to send browsers)".into());
        }
        let r = &self.relay;
        if r.client_cert.is_some() != r.client_key.is_some() {
            return Err("relay.client_cert and relay.client_key go together: set both or neither".into());
        }
        if !r.downstream_tls && (r.downstream_ca.is_some() || r.client_cert.is_some()) {
            return Err(
                "relay.downstream_ca, client_cert and client_key need relay.downstream_tls = true".into()
            );
        }
        Ok(())
    }
}
