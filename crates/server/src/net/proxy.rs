//! The PROXY protocol (HAProxy's v1 text and v2 binary headers) on the TCP listeners.
//!
//! Behind a TCP load balancer every connection comes from the balancer's address, so the
//! per-address caps, the login throttle and the login log would all see one client. With
//! `[server] proxy_protocol = true`, a connection from an address in `proxy_protocol_from` must
//! begin with a PROXY header, and the client address it names is the connection's address from
//! then on. A connection from any other address is served as a direct client and its own
//! address counts: a header is honoured only from a proxy the operator named, so nobody can
//! claim another student's address by typing one.
//!
//! The header is read byte by byte (v1) or by its declared length (v2), never past its end, so
//! the first line of the client's own data stays in the socket for the line codec.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use ppp::{HeaderResult, v1, v2};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

use crate::net::cidr::{BadCidr, Cidr};

/// The longest v1 header (the specification's bound).
const V1_MAX: usize = 107;
/// The v2 signature.
const V2_SIGNATURE: &[u8; 12] = b"\r\n\r\n\0\r\nQUIT\n";
/// The largest v2 header accepted (fixed part plus addresses and TLVs).
const V2_MAX: usize = 16 + 512;

/// Which peers speak the PROXY protocol.
#[derive(Debug, Clone, Default)]
pub struct ProxyProtocol {
    trusted: Vec<Cidr>,
    /// How long a trusted peer may take to send its header.
    pub timeout: Duration,
}

/// Why a PROXY header was refused.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("the PROXY header did not arrive in time")]
    Timeout,
    #[error("no valid PROXY header: {0}")]
    Invalid(String),
    #[error("reading the PROXY header: {0}")]
    Io(#[from] std::io::Error),
}

impl ProxyProtocol {
    /// Off: no peer is expected to send a header.
    pub fn off() -> Self {
        ProxyProtocol::default()
    }

    /// Headers expected from these addresses or networks (`10.0.0.5`, `10.0.0.0/24`, `::1`).
    pub fn from_list(list: &[String], timeout: Duration) -> Result<Self, BadCidr> {
        let trusted = list.iter().map(|s| s.parse::<Cidr>()).collect::<Result<_, _>>()?;
        Ok(ProxyProtocol { trusted, timeout })
    }

    /// Whether a connection from `peer` must start with a PROXY header.
    pub fn expects_header(&self, peer: IpAddr) -> bool {
        Cidr::any_contains(&self.trusted, peer)
    }

    /// Read the header from a trusted peer's `stream` and return the client address it names,
    /// or `peer` itself for a `LOCAL`/`UNKNOWN` header (the proxy's own health checks).
    pub async fn read(&self, stream: &mut TcpStream, peer: SocketAddr) -> Result<SocketAddr, ProxyError> {
        let header = tokio::time::timeout(self.timeout, read_header(stream))
            .await
            .map_err(|_| ProxyError::Timeout)??;
        Ok(client_address(&header)?.unwrap_or(peer))
    }
}

/// The raw header bytes, exactly.
async fn read_header(stream: &mut TcpStream) -> Result<Vec<u8>, ProxyError> {
    let mut buf = vec![0u8; 12];
    stream.read_exact(&mut buf[..5]).await?;
    if &buf[..5] == b"PROXY" {
        buf.truncate(5);
        while !buf.ends_with(b"\r\n") {
            if buf.len() >= V1_MAX {
                return Err(ProxyError::Invalid("a v1 header longer than 107 bytes".into()));
            }
            buf.push(stream.read_u8().await?);
        }
        return Ok(buf);
    }
    if buf[..5] != V2_SIGNATURE[..5] {
        return Err(ProxyError::Invalid("the connection did not start with a PROXY header".into()));
    }
    stream.read_exact(&mut buf[5..12]).await?;
    if &buf[..12] != V2_SIGNATURE {
        return Err(ProxyError::Invalid("a bad v2 signature".into()));
    }
    buf.resize(16, 0);
    stream.read_exact(&mut buf[12..16]).await?;
    let len = usize::from(u16::from_be_bytes([buf[14], buf[15]]));
    if 16 + len > V2_MAX {
        return Err(ProxyError::Invalid(format!("a v2 header of {} bytes", 16 + len)));
    }
    buf.resize(16 + len, 0);
    stream.read_exact(&mut buf[16..]).await?;
    Ok(buf)
}

/// The client address a complete header names (`None`: the proxy speaks for itself).
fn client_address(header: &[u8]) -> Result<Option<SocketAddr>, ProxyError> {
    let invalid = |e: &dyn std::fmt::Debug| ProxyError::Invalid(format!("{e:?}"));
    match HeaderResult::parse(header) {
        HeaderResult::V1(Ok(h)) => Ok(match h.addresses {
            v1::Addresses::Tcp4(a) => Some(SocketAddr::new(a.source_address.into(), a.source_port)),
            v1::Addresses::Tcp6(a) => Some(SocketAddr::new(a.source_address.into(), a.source_port)),
            v1::Addresses::Unknown => None,
        }),
        HeaderResult::V2(Ok(h)) => Ok(match (h.command, h.addresses) {
            (v2::Command::Local, _) => None,
            (v2::Command::Proxy, v2::Addresses::IPv4(a)) => {
                Some(SocketAddr::new(a.source_address.into(), a.source_port))
            }
            (v2::Command::Proxy, v2::Addresses::IPv6(a)) => {
                Some(SocketAddr::new(a.source_address.into(), a.source_port))
            }
            (v2::Command::Proxy, _) => None,
        }),
        HeaderResult::V1(Err(e)) => Err(invalid(&e)),
        HeaderResult::V2(Err(e)) => Err(invalid(&e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_and_v2_name_the_client() {
        let v1 = b"PROXY TCP4 203.0.113.7 10.0.0.1 51234 7001\r\n";
        assert_eq!(client_address(v1).unwrap(), Some("203.0.113.7:51234".parse().unwrap()));
        let v1 = b"PROXY TCP6 2001:db8::7 2001:db8::1 51234 7001\r\n";
        assert_eq!(client_address(v1).unwrap(), Some("[2001:db8::7]:51234".parse().unwrap()));
        assert_eq!(client_address(b"PROXY UNKNOWN\r\n").unwrap(), None);

        let addrs: v2::Addresses = (
            "198.51.100.9:4000".parse::<SocketAddr>().unwrap(),
            "10.0.0.1:7001".parse::<SocketAddr>().unwrap(),
        )
            .into();
        let v2 =
            v2::Builder::with_addresses(v2::Version::Two | v2::Command::Proxy, v2::Protocol::Stream, addrs)
                .build()
                .unwrap();
        assert_eq!(client_address(&v2).unwrap(), Some("198.51.100.9:4000".parse().unwrap()));
    }

    #[test]
    fn garbage_is_refused() {
        assert!(client_address(b"PROXY TCP4 not an address\r\n").is_err());
        assert!(client_address(b"hello\r\n").is_err());
    }

    #[test]
    fn only_named_peers_are_trusted() {
        let p =
            ProxyProtocol::from_list(&["10.0.0.0/24".into(), "::1".into()], Duration::from_secs(1)).unwrap();
        assert!(p.expects_header("10.0.0.5".parse().unwrap()));
        assert!(p.expects_header("::1".parse().unwrap()));
        assert!(p.expects_header("::ffff:10.0.0.9".parse().unwrap()));
        assert!(!p.expects_header("10.0.1.5".parse().unwrap()));
        assert!(!ProxyProtocol::off().expects_header("127.0.0.1".parse().unwrap()));
        assert!(ProxyProtocol::from_list(&["nonsense".into()], Duration::from_secs(1)).is_err());
    }
}
