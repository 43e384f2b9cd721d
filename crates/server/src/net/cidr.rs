//! Address ranges (`10.0.0.0/8`, `2001:db8::/32`, or a single address), for settings that name
//! which peers are trusted, such as `[web] trusted_proxies`.
//!
//! IPv4 addresses mapped into IPv6 (`::ffff:10.1.2.3`, what a dual-stack socket reports for an
//! IPv4 peer) are compared as the IPv4 address they are, so `10.0.0.0/8` matches them.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// A network: an address and how many of its leading bits must match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

/// Why a range could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an address or a range like 10.0.0.0/8 or 2001:db8::/32")]
pub struct BadCidr(pub String);

impl Cidr {
    /// Whether `ip` is in this range.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                mask(u128::from(net.to_bits()), self.prefix, 32)
                    == mask(u128::from(ip.to_bits()), self.prefix, 32)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                mask(net.to_bits(), self.prefix, 128) == mask(ip.to_bits(), self.prefix, 128)
            }
            _ => false,
        }
    }

    /// Whether any of `ranges` contains `ip`.
    pub fn any_contains(ranges: &[Cidr], ip: IpAddr) -> bool {
        ranges.iter().any(|r| r.contains(ip))
    }
}

/// The top `prefix` bits of a `width`-bit address.
fn mask(bits: u128, prefix: u8, width: u8) -> u128 {
    let keep = u32::from(prefix.min(width));
    if keep == 0 { 0 } else { bits >> (u32::from(width) - keep) }
}

impl FromStr for Cidr {
    type Err = BadCidr;

    fn from_str(s: &str) -> Result<Self, BadCidr> {
        let bad = || BadCidr(s.to_owned());
        let (addr, prefix) = match s.trim().split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (s.trim(), None),
        };
        let addr = addr.parse::<IpAddr>().map_err(|_| bad())?.to_canonical();
        let width = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.parse::<u8>().ok().filter(|&p| p <= width).ok_or_else(bad)?,
            None => width,
        };
        Ok(Cidr { addr, prefix })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn ranges_and_single_addresses() {
        let net: Cidr = "10.0.0.0/8".parse().unwrap();
        assert!(net.contains(ip("10.200.3.4")));
        assert!(net.contains(ip("::ffff:10.1.1.1")), "an IPv4-mapped peer");
        assert!(!net.contains(ip("11.0.0.1")));
        assert!(!net.contains(ip("::1")));
        let one: Cidr = "127.0.0.1".parse().unwrap();
        assert!(one.contains(ip("127.0.0.1")) && !one.contains(ip("127.0.0.2")));
        let v6: Cidr = "2001:db8::/32".parse().unwrap();
        assert!(v6.contains(ip("2001:db8:ffff::1")) && !v6.contains(ip("2001:db9::1")));
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("192.0.2.1")) && !all.contains(ip("::2")));
        assert_eq!(one.to_string(), "127.0.0.1/32");
    }

    #[test]
    fn nonsense_is_refused() {
        for s in ["", "10.0.0.0/33", "::/129", "10.0.0.0/x", "example.org", "10.0.0/8"] {
            assert!(s.parse::<Cidr>().is_err(), "{s:?}");
        }
    }
}
