//! Certificates and TLS settings, shared by the server, the relay's forwarder and the clients.
//!
//! Everything uses rustls with the *ring* provider, named explicitly ([`provider`]) so that no
//! process-wide default has to be installed and no OpenSSL is involved. The pieces:
//!
//! - reading PEM files: [`load_certs`], [`load_key`], [`certified_key`] (a certificate chain with
//!   its key, checked to belong together), [`load_roots`];
//! - the client side: [`ClientTls`] verifies a server's certificate against the system's roots or
//!   a given CA, optionally shows a client certificate (mutual TLS between relays), and
//!   [`ClientTls::connect`] wraps a TCP stream. A failed verification is an error that says so;
//!   there is never a fallback to plain text;
//! - [`not_after`]: when a certificate expires, read from its DER encoding (for the expiry warning
//!   and gauge), without pulling in an X.509 parser for one field.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, RootCertStore};
use tokio::net::TcpStream;

pub use rustls;
pub use tokio_rustls;

/// Why a certificate, key or TLS setting could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {path}: {what}")]
    Read { path: PathBuf, what: String },
    #[error("{path} holds no {what} in PEM form")]
    Empty { path: PathBuf, what: &'static str },
    #[error("{path}: {source}")]
    Invalid { path: PathBuf, source: rustls::Error },
    #[error("the certificate {cert} and the key {key} do not belong together: {source}")]
    Mismatch { cert: PathBuf, key: PathBuf, source: rustls::Error },
    #[error("no trusted root certificates: the system has none and no CA file was given")]
    NoRoots,
    #[error("{0}")]
    Config(String),
}

/// The crypto provider of every TLS configuration here: *ring*.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn read_error(path: &Path, e: impl std::fmt::Display) -> TlsError {
    TlsError::Read { path: path.to_owned(), what: e.to_string() }
}

/// Every certificate in a PEM file, in order (a server's own certificate first, then its
/// intermediates).
pub fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| read_error(path, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| read_error(path, e))?;
    if certs.is_empty() {
        return Err(TlsError::Empty { path: path.to_owned(), what: "certificate" });
    }
    Ok(certs)
}

/// The first private key in a PEM file (PKCS#8, PKCS#1 RSA or SEC1 EC).
pub fn load_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| match e {
        rustls::pki_types::pem::Error::NoItemsFound => {
            TlsError::Empty { path: path.to_owned(), what: "private key" }
        }
        e => read_error(path, e),
    })
}

/// A certificate chain and its private key, checked to belong together.
pub fn certified_key(cert: &Path, key: &Path) -> Result<CertifiedKey, TlsError> {
    let chain = load_certs(cert)?;
    let der = load_key(key)?;
    CertifiedKey::from_der(chain, der, &provider()).map_err(|source| match source {
        rustls::Error::InconsistentKeys(_) => {
            TlsError::Mismatch { cert: cert.to_owned(), key: key.to_owned(), source }
        }
        source => TlsError::Invalid { path: key.to_owned(), source },
    })
}

/// The certificates of a PEM file as trust anchors (a CA file).
pub fn load_roots(path: &Path) -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    for cert in load_certs(path)? {
        roots.add(cert).map_err(|source| TlsError::Invalid { path: path.to_owned(), source })?;
    }
    Ok(roots)
}

/// The system's trusted roots (the distribution's CA bundle).
fn system_roots() -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    let found = rustls_native_certs::load_native_certs();
    roots.add_parsable_certificates(found.certs);
    if roots.is_empty() {
        return Err(TlsError::NoRoots);
    }
    Ok(roots)
}

/// How a client connects with TLS: whom it trusts, and what certificate it shows, if any.
#[derive(Clone)]
pub struct ClientTls {
    config: Arc<ClientConfig>,
}

impl std::fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientTls")
    }
}

impl ClientTls {
    /// Trust the certificates in `ca` (a PEM file), or the system's roots when `None`; show the
    /// certificate and key in `identity` when the server asks for one (mutual TLS).
    pub fn new(ca: Option<&Path>, identity: Option<(&Path, &Path)>) -> Result<ClientTls, TlsError> {
        let roots = match ca {
            Some(path) => load_roots(path)?,
            None => system_roots()?,
        };
        let builder = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Config(e.to_string()))?
            .with_root_certificates(roots);
        let config = match identity {
            Some((cert, key)) => {
                let chain = load_certs(cert)?;
                let der = load_key(key)?;
                builder
                    .with_client_auth_cert(chain, der)
                    .map_err(|source| TlsError::Invalid { path: key.to_owned(), source })?
            }
            None => builder.with_no_client_auth(),
        };
        Ok(ClientTls { config: Arc::new(config) })
    }

    /// Run the handshake over `stream` with the server named `host` (a DNS name or an IP
    /// address, as in the address the user gave). The error says why a certificate was refused.
    pub async fn connect(
        &self,
        host: &str,
        stream: TcpStream,
    ) -> std::io::Result<tokio_rustls::client::TlsStream<TcpStream>> {
        let name = server_name(host)?;
        let connector = tokio_rustls::TlsConnector::from(Arc::clone(&self.config));
        connector.connect(name, stream).await.map_err(|e| {
            std::io::Error::new(e.kind(), format!("TLS handshake with {host} failed: {}", describe(&e)))
        })
    }
}

/// The name a certificate must carry for `host` (brackets around an IPv6 address are allowed).
pub fn server_name(host: &str) -> std::io::Result<ServerName<'static>> {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    ServerName::try_from(host.to_owned()).map_err(|_| {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("{host:?} is not a host name"))
    })
}

/// The host part of `host:port` (or `[v6]:port`).
pub fn host_of(addr: &str) -> &str {
    addr.rsplit_once(':').map_or(addr, |(host, _)| host)
}

/// A handshake error in words a user can act on.
fn describe(e: &std::io::Error) -> String {
    let text = e.to_string();
    if text.contains("InvalidContentType") || text.contains("corrupt message") {
        return format!("{text} (is this a plain-text port? TLS ports are separate)");
    }
    if text.contains("UnknownIssuer") || text.contains("BadSignature") {
        return format!("{text} (the certificate is not signed by a trusted CA; pass its CA with --ca)");
    }
    if text.contains("NotValidForName") || text.contains("not valid for name") {
        return format!("{text} (the certificate is for another name; connect by a name it lists)");
    }
    text
}

/// When a DER certificate expires, as seconds since the Unix epoch; `None` if the encoding is not
/// the expected X.509 structure.
///
/// An X.509 certificate is `SEQUENCE { tbsCertificate SEQUENCE { [0] version OPTIONAL,
/// serialNumber, signature, issuer, validity SEQUENCE { notBefore, notAfter }, ... } ... }`.
pub fn not_after(der: &[u8]) -> Option<i64> {
    let (_, cert, _) = tlv(der)?;
    let (_, tbs, _) = tlv(cert)?;
    let mut rest = tbs;
    let (tag, _, after) = tlv(rest)?;
    if tag == 0xa0 {
        rest = after; // the explicit version
    }
    for _ in 0..3 {
        rest = tlv(rest)?.2; // serial number, signature algorithm, issuer
    }
    let (_, validity, _) = tlv(rest)?;
    let (_, _, after_not_before) = tlv(validity)?;
    let (tag, time, _) = tlv(after_not_before)?;
    parse_time(tag, std::str::from_utf8(time).ok()?)
}

/// One DER tag-length-value: `(tag, value, what follows)`.
fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, mut rest) = rest.split_first()?;
    let len = if first < 0x80 {
        first as usize
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n].iter().fold(0usize, |acc, &b| (acc << 8) | b as usize);
        rest = &rest[n..];
        len
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

/// UTCTime (`YYMMDDHHMMSSZ`, tag 0x17) or GeneralizedTime (`YYYYMMDDHHMMSSZ`, tag 0x18).
fn parse_time(tag: u8, s: &str) -> Option<i64> {
    let s = s.strip_suffix('Z')?;
    let (year, rest) = match tag {
        0x17 => {
            let yy: i64 = s.get(..2)?.parse().ok()?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, s.get(2..)?)
        }
        0x18 => (s.get(..4)?.parse().ok()?, s.get(4..)?),
        _ => return None,
    };
    if rest.len() != 10 || !rest.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let field = |i: usize| rest[i..i + 2].parse::<i64>().ok();
    let (month, day, hour, min, sec) = (field(0)?, field(2)?, field(4)?, field(6)?, field(8)?);
    Some(days_from_civil(year, month, day) * 86_400 + hour * 3600 + min * 60 + sec)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cert_expiring(year: i32, month: u8, day: u8) -> Vec<u8> {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["example.org".into()]).unwrap();
        params.not_after = rcgen::date_time_ymd(year, month, day);
        params.self_signed(&key).unwrap().der().to_vec()
    }

    #[test]
    fn not_after_reads_utc_and_generalized_times() {
        // 2030-06-15 is a UTCTime; 2051-01-01 must be a GeneralizedTime.
        assert_eq!(not_after(&cert_expiring(2030, 6, 15)), Some(1_907_712_000));
        assert_eq!(not_after(&cert_expiring(2051, 1, 1)), Some(2_556_144_000));
    }

    #[test]
    fn not_after_refuses_what_is_not_a_certificate() {
        assert_eq!(not_after(b""), None);
        assert_eq!(not_after(b"\x30\x03\x02\x01"), None);
        assert_eq!(not_after(b"not a certificate at all"), None);
    }

    #[test]
    fn dates_count_from_the_epoch() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    }
}
