//! Which targets a webhook may be delivered to. By default only https URLs whose host
//! resolves to public addresses: a loopback, private, link-local, shared, documentation,
//! multicast or otherwise reserved address would let a subscription reach into the
//! shop's own network. `webhooks_allow_private_targets` allows them, and plain http.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::dns::Resolver;

/// The longest target URL.
pub const MAX_URL: usize = 2048;

/// A target URL taken apart: where to connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub host: String,
    pub port: u16,
    pub https: bool,
}

/// Checks a target URL's shape: absolute, https (or http when private targets are
/// allowed), a host, no credentials, at most [`MAX_URL`] characters.
pub fn parse(url: &str, allow_private: bool) -> Result<Target, String> {
    if url.chars().count() > MAX_URL {
        return Err(format!("is too long (maximum is {MAX_URL} characters)"));
    }
    let parsed = url::Url::parse(url).map_err(|_| "is invalid".to_string())?;
    let https = match parsed.scheme() {
        "https" => true,
        "http" if allow_private => false,
        "http" => return Err("must be an https URL".into()),
        _ => return Err("is invalid".into()),
    };
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err("must not hold a user name or password".into());
    }
    let host = match parsed.host() {
        Some(url::Host::Domain(d)) => d.to_string(),
        Some(url::Host::Ipv4(a)) => a.to_string(),
        Some(url::Host::Ipv6(a)) => a.to_string(),
        None => return Err("is invalid".into()),
    };
    let port = parsed.port_or_known_default().unwrap_or(443);
    Ok(Target { host, port, https })
}

/// Resolves the target's host and refuses it when private targets are not allowed and
/// any of its addresses is not public.
pub fn resolve(
    target: &Target,
    resolver: &Resolver,
    allow_private: bool,
) -> Result<Vec<SocketAddr>, Refusal> {
    let addrs = resolver
        .resolve(&target.host, target.port)
        .map_err(|e| Refusal::Unresolved(format!("cannot resolve {}: {e}", target.host)))?;
    if !allow_private {
        if let Some(bad) = addrs.iter().find(|a| !is_public(a.ip())) {
            return Err(Refusal::Private(bad.ip()));
        }
    }
    Ok(addrs)
}

/// Why a target was not reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The name has no address (now).
    Unresolved(String),
    /// It resolves to an address that is not public.
    Private(IpAddr),
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Unresolved(m) => f.write_str(m),
            Refusal::Private(ip) => write!(f, "resolves to a non-public address ({ip})"),
        }
    }
}

impl std::error::Error for Refusal {}

/// Whether an address is public (globally routable unicast).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => is_public_v4(a),
        IpAddr::V6(a) => is_public_v6(a),
    }
}

fn is_public_v4(a: Ipv4Addr) -> bool {
    let [b0, b1, b2, _] = a.octets();
    !(b0 == 0
        || a.is_loopback()
        || a.is_private()
        || a.is_link_local()
        || a.is_broadcast()
        || a.is_multicast()
        || a.is_documentation()
        || b0 >= 240
        // Shared address space (carrier-grade NAT), 100.64.0.0/10.
        || (b0 == 100 && (b1 & 0xc0) == 64)
        // IETF protocol assignments, 192.0.0.0/24; benchmarking, 198.18.0.0/15.
        || (b0 == 192 && b1 == 0 && b2 == 0)
        || (b0 == 198 && (b1 & 0xfe) == 18))
}

fn is_public_v6(a: Ipv6Addr) -> bool {
    let s = a.segments();
    if let Some(v4) = a.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    // NAT64 (64:ff9b::/96) and 6to4 (2002::/16) reach an IPv4 address.
    if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
        let [a, b] = s[6].to_be_bytes();
        let [c, d] = s[7].to_be_bytes();
        return is_public_v4(Ipv4Addr::new(a, b, c, d));
    }
    if s[0] == 0x2002 {
        let [a, b] = s[1].to_be_bytes();
        let [c, d] = s[2].to_be_bytes();
        return is_public_v4(Ipv4Addr::new(a, b, c, d));
    }
    !(a.is_unspecified()
        || a.is_loopback()
        || a.is_multicast()
        // IPv4-compatible (deprecated) ::/96.
        || s[..6] == [0, 0, 0, 0, 0, 0]
        // Unique local fc00::/7, link-local fe80::/10, site-local fec0::/10.
        || (s[0] & 0xfe00) == 0xfc00
        || (s[0] & 0xffc0) == 0xfe80
        || (s[0] & 0xffc0) == 0xfec0
        // Documentation 2001:db8::/32, discard 100::/64, ORCHID and the rest of 2001::/23.
        || (s[0] == 0x2001 && s[1] == 0x0db8)
        || (s[0] == 0x0100 && s[1..4] == [0, 0, 0])
        || (s[0] == 0x2001 && s[1] < 0x0200))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_reserved_addresses_are_not_public() {
        for a in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "192.0.0.8",
            "192.0.2.1",
            "198.18.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "240.0.0.1",
            "::1",
            "::",
            "fe80::1",
            "fd00::1",
            "fc00::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::7f00:1",
            "2002:7f00:1::1",
            "2001:db8::1",
            "ff02::1",
            "::127.0.0.1",
        ] {
            assert!(!is_public(a.parse().unwrap()), "{a}");
        }
        for a in [
            "93.184.216.34",
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
            "2a00:1450:4001::1",
        ] {
            assert!(is_public(a.parse().unwrap()), "{a}");
        }
    }

    #[test]
    fn urls_are_https_with_a_host() {
        assert_eq!(
            parse("https://hooks.example.com/in", false).unwrap(),
            Target {
                host: "hooks.example.com".into(),
                port: 443,
                https: true
            }
        );
        assert_eq!(parse("https://[::1]:8443/", true).unwrap().host, "::1");
        assert!(parse("http://hooks.example.com/", false).is_err());
        assert!(!parse("http://hooks.example.com/", true).unwrap().https);
        assert!(parse("ftp://x/", true).is_err());
        assert!(parse("hooks.example.com/in", false).is_err());
        assert!(parse("https://u:p@hooks.example.com/", false).is_err());
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL));
        assert!(parse(&long, false).is_err());
    }
}
