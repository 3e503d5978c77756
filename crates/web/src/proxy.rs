//! Which address a request came from, when Aftercare runs behind reverse proxies (TLS
//! termination, a load balancer in front of several servers).
//!
//! Behind a proxy the TCP peer is the proxy, so the per-address limits (logins, enrolment
//! codes, the contact form) would treat every client as one, and the audit log would name the
//! proxy. The operator lists the proxies (`AFTERCARE_TRUSTED_PROXIES`); only for a peer on
//! that list is `X-Forwarded-For` read, from the right: each proxy appends the address it saw,
//! so the first address from the right that is not a trusted proxy is the client. Entries left
//! of it were written by the client and are ignored, so a client cannot choose its address.

use axum::http::HeaderMap;
use std::net::IpAddr;
use std::str::FromStr;
use thiserror::Error;

#[derive(Debug, Error, PartialEq)]
#[error("{0:?} is not an IP address or a network (e.g. 10.0.0.5, 10.0.0.0/8, fd00::/8)")]
pub struct BadNetwork(pub String);

/// An IP network: an address and a prefix length.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Network {
    base: IpAddr,
    prefix: u8,
}

impl FromStr for Network {
    type Err = BadNetwork;

    fn from_str(s: &str) -> Result<Network, BadNetwork> {
        let bad = || BadNetwork(s.to_string());
        let (addr, prefix) = match s.trim().split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s.trim(), None),
        };
        let base: IpAddr = addr.parse().map_err(|_| bad())?;
        let bits = if base.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= bits)
                .ok_or_else(bad)?,
            None => bits,
        };
        Ok(Network { base, prefix })
    }
}

impl Network {
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.base, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => prefix_eq(
                u128::from(u32::from(net)),
                u128::from(u32::from(ip)),
                32,
                self.prefix,
            ),
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                prefix_eq(u128::from(net), u128::from(ip), 128, self.prefix)
            }
            _ => false,
        }
    }
}

/// Whether the first `prefix` of `width` bits of `a` and `b` agree.
fn prefix_eq(a: u128, b: u128, width: u8, prefix: u8) -> bool {
    if prefix == 0 {
        return true;
    }
    let shift = u32::from(width - prefix);
    (a >> shift) == (b >> shift)
}

/// An IPv4 address seen through an IPv6 socket (`::ffff:10.0.0.1`) is that IPv4 address.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The proxies whose `X-Forwarded-For` is believed. Empty (the default): none, the TCP peer
/// is the client.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrustedProxies(Vec<Network>);

impl TrustedProxies {
    /// From the comma-separated entries of the setting; blank entries are skipped.
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<TrustedProxies, BadNetwork> {
        entries
            .iter()
            .map(AsRef::as_ref)
            .filter(|e| !e.trim().is_empty())
            .map(str::parse)
            .collect::<Result<_, _>>()
            .map(TrustedProxies)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `ip` is one of the listed proxies (so a request from it speaks for someone else).
    pub fn is_proxy(&self, ip: IpAddr) -> bool {
        self.trusts(ip)
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|n| n.contains(ip))
    }

    /// The client's address for a request from `peer` with these headers.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = canonical(peer);
        if !self.trusts(peer) {
            return peer;
        }
        // Several X-Forwarded-For fields are one list, in order.
        let hops = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect::<Vec<_>>();
        let mut client = peer;
        for hop in hops.iter().rev() {
            // Something that is not an address was not written by a proxy we trust: the
            // last address we could vouch for stands.
            let Some(ip) = parse_hop(hop) else { break };
            client = canonical(ip);
            if !self.trusts(client) {
                break;
            }
        }
        client
    }
}

/// One `X-Forwarded-For` entry: an address, perhaps with a port (`1.2.3.4:5678`,
/// `[2001:db8::1]:443`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse() {
        return Some(ip);
    }
    if let Some(rest) = hop.strip_prefix('[') {
        return rest.split_once(']').and_then(|(ip, _)| ip.parse().ok());
    }
    hop.rsplit_once(':').and_then(|(ip, _)| ip.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("test address")
    }

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", HeaderValue::from_str(v).expect("ascii"));
        }
        h
    }

    #[test]
    fn networks_parse_and_match() {
        let net: Network = "10.0.0.0/8".parse().expect("valid");
        assert!(net.contains(ip("10.200.3.4")));
        assert!(!net.contains(ip("11.0.0.1")));
        assert!(net.contains(ip("::ffff:10.0.0.1")));
        let one: Network = "192.168.1.7".parse().expect("valid");
        assert!(one.contains(ip("192.168.1.7")) && !one.contains(ip("192.168.1.8")));
        let v6: Network = "fd00::/8".parse().expect("valid");
        assert!(v6.contains(ip("fd12::1")) && !v6.contains(ip("fe80::1")));
        assert!("0.0.0.0/0"
            .parse::<Network>()
            .expect("valid")
            .contains(ip("8.8.8.8")));
        for bad in [
            "10.0.0.0/33",
            "fd00::/129",
            "example.org",
            "10.0.0/8",
            "10.0.0.1/x",
            "",
        ] {
            assert!(bad.parse::<Network>().is_err(), "{bad}");
        }
        assert_eq!(
            TrustedProxies::parse(&["10.0.0.1", " ", "nope"]),
            Err(BadNetwork("nope".into()))
        );
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_claims() {
        let none = TrustedProxies::default();
        let h = forwarded(&["203.0.113.9"]);
        assert_eq!(none.client(ip("198.51.100.1"), &h), ip("198.51.100.1"));
        let some = TrustedProxies::parse(&["10.0.0.0/8"]).expect("valid");
        assert_eq!(some.client(ip("198.51.100.1"), &h), ip("198.51.100.1"));
    }

    #[test]
    fn behind_trusted_proxies_the_first_untrusted_hop_from_the_right_is_the_client() {
        let proxies = TrustedProxies::parse(&["10.0.0.0/8"]).expect("valid");
        // The client forged the first entry; the proxy appended what it saw.
        let h = forwarded(&["1.1.1.1, 203.0.113.9"]);
        assert_eq!(proxies.client(ip("10.0.0.2"), &h), ip("203.0.113.9"));
        // Two proxies, the header split over two fields.
        let h = forwarded(&["203.0.113.9", "10.0.0.3"]);
        assert_eq!(proxies.client(ip("10.0.0.2"), &h), ip("203.0.113.9"));
        // Ports and brackets.
        let h = forwarded(&["[2001:db8::5]:443"]);
        assert_eq!(proxies.client(ip("10.0.0.2"), &h), ip("2001:db8::5"));
        let h = forwarded(&["203.0.113.9:5555"]);
        assert_eq!(proxies.client(ip("10.0.0.2"), &h), ip("203.0.113.9"));
        // No header: the proxy itself.
        assert_eq!(
            proxies.client(ip("10.0.0.2"), &HeaderMap::new()),
            ip("10.0.0.2")
        );
        // Garbage stops the walk at the last address a trusted proxy vouched for.
        let h = forwarded(&["203.0.113.9, junk, 10.0.0.4"]);
        assert_eq!(proxies.client(ip("10.0.0.2"), &h), ip("10.0.0.4"));
    }
}
