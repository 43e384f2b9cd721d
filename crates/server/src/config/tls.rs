//! `[tls]`: the certificate behind every service's `tls_port`, and who may connect to the relay's
//! TLS port. Nothing here turns TLS on by itself: each service's `tls_port` does.

use std::path::PathBuf;

use super::section::section;

section! {
    /// `[tls]`: the server's certificate. Env: `SOCKHUB_TLS_<KEY>`.
    ///
    /// Nothing here turns TLS on by itself: each service's `tls_port` does, and needs `cert` and `key`.
    #[section(tls, about = "The certificate behind every tls_port (chat, quiz, calc, relay, web), and who may connect to the relay's TLS port.")]
    pub struct TlsConfig {
        /// PEM file with the server certificate, then any intermediates (e.g. Let's Encrypt's
        /// fullchain.pem).
        #[serde(skip_serializing_if = "Option::is_none")]
        pub cert: Option<PathBuf> = None,
        /// PEM file with the certificate's private key (PKCS#8, RSA or SEC1).
        #[serde(skip_serializing_if = "Option::is_none")]
        pub key: Option<PathBuf> = None,
        /// PEM file of the CA whose client certificates the relay's TLS port accepts (mutual TLS between
        /// relays); unset = the relay asks for none. Chat, quiz, calc and the web page never ask for one.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub client_ca: Option<PathBuf> = None,
        /// Refuse a connection to the relay's TLS port that shows no certificate signed by client_ca.
        pub require_client_cert: bool = false,
        /// false: a service with a tls_port does not listen on its plain port at all (the web page's
        /// plain port stays open for redirect_http).
        pub plain_ports: bool = true,
        /// Close a connection to a TLS port that has not finished its handshake within this time.
        pub handshake_timeout_secs: u64 = 10,
        /// How often the cert and key files are checked for changes (they are also re-read on SIGHUP); 0
        /// = only on SIGHUP.
        pub reload_poll_secs: u64 = 5,
        /// Log a warning when the certificate expires within this many days (also see
        /// sockhub_tls_cert_expiry_seconds).
        pub expiry_warning_days: u64 = 14,
    }
}

impl TlsConfig {
    /// Whether a certificate and key are set.
    pub fn configured(&self) -> bool {
        self.cert.is_some() && self.key.is_some()
    }
}
