//! Client addresses: ranges (`10.0.0.0/8`, `2001:db8::/32`, or a single address) for settings
//! that name which peers are trusted (`[web] trusted_proxies`, `[server] proxy_protocol`), and
//! the group an address is counted in by every per-address limit.
//!
//! IPv4 addresses mapped into IPv6 (`::ffff:10.1.2.3`, what a dual-stack socket reports for an
//! IPv4 peer) are compared as the IPv4 address they are, so `10.0.0.0/8` matches them.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr};
use std::str::FromStr;

use ipnet::IpNet;

/// The group an address is counted in by the per-address limits (connection caps, login
/// throttling): IPv4 addresses (and IPv4 mapped into IPv6) by themselves, IPv6 addresses by
/// their /64 network — one subscriber usually holds a whole /64 and can use any address in it.
pub fn address_group(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from_bits(v6.to_bits() & !u128::from(u64::MAX))),
        v4 => v4,
    }
}

/// A network: an address and how many of its leading bits must match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr(IpNet);

/// Why a range could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an address or a range like 10.0.0.0/8 or 2001:db8::/32")]
pub struct BadCidr(pub String);

impl Cidr {
    /// Whether `ip` is in this range.
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.contains(&ip.to_canonical())
    }

    /// Whether any of `ranges` contains `ip`.
    pub fn any_contains(ranges: &[Cidr], ip: IpAddr) -> bool {
        ranges.iter().any(|r| r.contains(ip))
    }
}

impl FromStr for Cidr {
    type Err = BadCidr;

    fn from_str(s: &str) -> Result<Self, BadCidr> {
        let bad = || BadCidr(s.to_owned());
        let t = s.trim();
        let net = match t.parse::<IpNet>() {
            Ok(net) => net,
            Err(_) => IpNet::from(t.parse::<IpAddr>().map_err(|_| bad())?),
        };
        // A range written in mapped form (`::ffff:10.0.0.0/104`) is the IPv4 range it names.
        let net = match net {
            IpNet::V6(v6) if v6.prefix_len() >= 96 => match v6.addr().to_ipv4_mapped() {
                Some(v4) => IpNet::new(IpAddr::V4(v4), v6.prefix_len() - 96).map_err(|_| bad())?,
                None => net,
            },
            net => net,
        };
        Ok(Cidr(net.trunc()))
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
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
    fn ipv6_groups_by_64_and_mapped_ipv4_as_ipv4() {
        assert_eq!(address_group(ip("2001:db8:1:2:aaaa::1")), address_group(ip("2001:db8:1:2:bbbb::2")));
        assert_ne!(address_group(ip("2001:db8:1:2::1")), address_group(ip("2001:db8:1:3::1")));
        assert_eq!(address_group(ip("::ffff:192.0.2.1")), ip("192.0.2.1"));
        assert_eq!(address_group(ip("192.0.2.1")), ip("192.0.2.1"));
    }

    #[test]
    fn nonsense_is_refused() {
        for s in ["", "10.0.0.0/33", "::/129", "10.0.0.0/x", "example.org", "10.0.0/8"] {
            assert!(s.parse::<Cidr>().is_err(), "{s:?}");
        }
    }
}
