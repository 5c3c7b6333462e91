//! Who a connection or a request comes from: the one place that decides the client
//! address per-address limits count against and the access log shows, and whether the
//! client's own connection is HTTPS.
//!
//! That is the TCP peer, unless the peer is one of `trusted_proxies`: then the client
//! is the address the proxy reports (`X-Forwarded-For`, or `Forwarded` without it), and
//! the scheme the one it reports (`X-Forwarded-Proto`, or `Forwarded`'s `proto`). From
//! anyone else those headers are ignored, so nobody moves their limits to another
//! address by writing one. A trusted proxy's own connections are not capped as one
//! client's: they carry everyone's requests.
//!
//! Nothing here gives a host name: links come from `public_url` alone, never from a
//! request's `Host` or forwarding headers.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use actix_web::http::header::{HeaderMap, HeaderName};
use actix_web::HttpRequest;

/// The address limits count against: an IPv4 address, or an IPv6 /64 (one subscriber's
/// network is usually a whole /64, so single IPv6 addresses cost an attacker nothing).
pub fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

/// One address or a block of them (`192.0.2.10`, `10.0.0.0/8`, `fd00::/8`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressRange {
    network: IpAddr,
    prefix: u8,
}

impl AddressRange {
    /// Reads `address` or `address/prefix`; the message says what is wrong.
    pub fn parse(text: &str) -> Result<AddressRange, String> {
        let (address, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let network: IpAddr = address
            .trim()
            .parse()
            .map_err(|_| format!("{address:?} is not an IP address"))?;
        let bits = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => bits,
            Some(p) => p
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= bits)
                .ok_or_else(|| format!("{p:?} is not a prefix length from 0 to {bits}"))?,
        };
        Ok(AddressRange {
            network: canonical(network),
            prefix,
        })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, canonical(ip)) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                within(u32::from(n).into(), u32::from(a).into(), 32, self.prefix)
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => within(n.into(), a.into(), 128, self.prefix),
            _ => false,
        }
    }
}

impl fmt::Display for AddressRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

fn within(network: u128, address: u128, bits: u8, prefix: u8) -> bool {
    let host_bits = u32::from(bits - prefix);
    network.checked_shr(host_bits).unwrap_or(0) == address.checked_shr(host_bits).unwrap_or(0)
}

/// An IPv4 address written as IPv6 (`::ffff:192.0.2.1`) is the IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The peers whose forwarding headers are believed (`trusted_proxies`). The app holds
/// it as app data; without it, nobody is trusted.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Arc<[AddressRange]>);

impl TrustedProxies {
    pub fn new(ranges: &[AddressRange]) -> TrustedProxies {
        TrustedProxies(ranges.into())
    }

    pub fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|r| r.contains(ip))
    }
}

/// The key a new connection's count is kept under; `None` when it is not counted (a
/// trusted proxy's connection).
pub fn connection_key(peer: SocketAddr, trusted: &TrustedProxies) -> Option<IpAddr> {
    (!trusted.trusts(peer.ip())).then(|| address_key(peer.ip()))
}

/// The key a request counts against in per-address rate limits; `None` when the peer
/// is unknown (not on a TCP connection, as in unit tests).
pub fn request_key(req: &HttpRequest) -> Option<IpAddr> {
    client_address(req).map(address_key)
}

/// The client's address: the peer's, or the one a trusted proxy reports for it.
pub fn client_address(req: &HttpRequest) -> Option<IpAddr> {
    let peer = req.peer_addr()?.ip();
    match proxied(req, peer) {
        Some(forwarded) => Some(forwarded.client.unwrap_or(peer)),
        None => Some(peer),
    }
}

/// The mark of a connection stampd itself serves over TLS.
pub struct OverTls;

/// Whether the client reached stampd over HTTPS: `Some(true)` on stampd's own TLS
/// connections, the scheme a trusted proxy reports for its client, `None` where
/// nothing says (a plain connection, from anyone but a proxy that said).
pub fn client_https(req: &HttpRequest) -> Option<bool> {
    if req.conn_data::<OverTls>().is_some() {
        return Some(true);
    }
    let peer = req.peer_addr()?.ip();
    proxied(req, peer)?.https
}

/// What a trusted proxy reports about its client.
struct Forwarded {
    client: Option<IpAddr>,
    https: Option<bool>,
}

/// The proxy's report, when `peer` is a trusted proxy.
fn proxied(req: &HttpRequest, peer: IpAddr) -> Option<Forwarded> {
    let trusted = req.app_data::<TrustedProxies>()?;
    trusted
        .trusts(peer)
        .then(|| forwarded(req.headers(), trusted))
}

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
const FORWARDED: HeaderName = HeaderName::from_static("forwarded");

/// Reads the forwarding headers a trusted proxy sent. Each proxy on the way adds the
/// address it got the request from at the end, and anything before that is what the
/// client wrote itself: so the client is the last address that is not a trusted proxy
/// (reading from the end), and the first one when all are.
fn forwarded(headers: &HeaderMap, trusted: &TrustedProxies) -> Forwarded {
    let proxy_proto = list(headers, &X_FORWARDED_PROTO)
        .last()
        .map(|p| p.eq_ignore_ascii_case("https"));
    let hops: Vec<(Option<IpAddr>, Option<bool>)> = if headers.contains_key(&X_FORWARDED_FOR) {
        list(headers, &X_FORWARDED_FOR)
            .iter()
            .map(|a| (node_address(a), None))
            .collect()
    } else {
        list(headers, &FORWARDED)
            .iter()
            .map(|element| forwarded_element(element))
            .collect()
    };
    let mut chosen = None;
    for (address, proto) in hops.iter().rev() {
        chosen = Some((*address, *proto));
        match address {
            Some(a) if trusted.trusts(*a) => continue,
            // The client, or a hop that hides its address: nothing before it can be
            // told apart from what the client wrote.
            _ => break,
        }
    }
    match chosen {
        Some((client, proto)) => Forwarded {
            client,
            https: proto.or(proxy_proto),
        },
        None => Forwarded {
            client: None,
            https: proxy_proto,
        },
    }
}

/// The comma-separated items of every line of header `name`, in order.
fn list(headers: &HeaderMap, name: &HeaderName) -> Vec<String> {
    headers
        .get_all(name)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|item| item.trim().to_string())
        .filter(|item| !item.is_empty())
        .collect()
}

/// One `Forwarded` element (`for=192.0.2.60;proto=https;by=...`): its client address
/// and scheme.
fn forwarded_element(element: &str) -> (Option<IpAddr>, Option<bool>) {
    let mut address = None;
    let mut https = None;
    for pair in element.split(';') {
        let Some((key, value)) = pair.split_once('=') else {
            continue;
        };
        let value = value.trim().trim_matches('"');
        match key.trim().to_ascii_lowercase().as_str() {
            "for" => address = node_address(value),
            "proto" => https = Some(value.eq_ignore_ascii_case("https")),
            _ => {}
        }
    }
    (address, https)
}

/// An address as proxies write it: `192.0.2.1`, `192.0.2.1:4711`, `2001:db8::1` or
/// `[2001:db8::1]:4711`; `None` for `unknown` or an obfuscated name.
fn node_address(node: &str) -> Option<IpAddr> {
    let node = node.trim().trim_matches('"');
    node.parse::<IpAddr>()
        .ok()
        .or_else(|| node.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| {
            node.strip_prefix('[')
                .and_then(|n| n.strip_suffix(']'))
                .and_then(|n| n.parse().ok())
        })
        .map(canonical)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::HeaderValue;

    #[test]
    fn ipv6_peers_count_by_their_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(address_key(a), address_key(b));
        assert_ne!(address_key(a), address_key(c));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(address_key(mapped), "192.0.2.7".parse::<IpAddr>().unwrap());
        let v4: IpAddr = "192.0.2.8".parse().unwrap();
        assert_eq!(address_key(v4), v4);
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn ranges_hold_their_addresses() {
        let r = AddressRange::parse("10.1.0.0/16").unwrap();
        assert!(r.contains(ip("10.1.200.3")));
        assert!(r.contains(ip("::ffff:10.1.0.1")));
        assert!(!r.contains(ip("10.2.0.1")));
        let one = AddressRange::parse("192.0.2.5").unwrap();
        assert!(one.contains(ip("192.0.2.5")) && !one.contains(ip("192.0.2.6")));
        let v6 = AddressRange::parse("fd00::/8").unwrap();
        assert!(v6.contains(ip("fd12::1")) && !v6.contains(ip("fe80::1")));
        let all = AddressRange::parse("0.0.0.0/0").unwrap();
        assert!(all.contains(ip("203.0.113.9")) && !all.contains(ip("::1")));
        assert_eq!(
            AddressRange::parse("10.0.0.0/33").unwrap_err(),
            "\"33\" is not a prefix length from 0 to 32"
        );
        assert!(AddressRange::parse("proxy.example").is_err());
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(HeaderName::from_static(k), HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn the_client_is_the_last_address_no_trusted_proxy_wrote() {
        let trusted = TrustedProxies::new(&[AddressRange::parse("10.0.0.0/8").unwrap()]);
        let read = |pairs| {
            let f = forwarded(&headers(pairs), &trusted);
            (f.client, f.https)
        };
        // What the client wrote itself (the first entry) is passed over.
        assert_eq!(
            read(&[
                ("x-forwarded-for", "198.51.100.1, 203.0.113.7"),
                ("x-forwarded-proto", "https")
            ]),
            (Some(ip("203.0.113.7")), Some(true))
        );
        // Proxies of our own on the way are skipped; lines are read in order.
        assert_eq!(
            read(&[
                ("x-forwarded-for", "203.0.113.7"),
                ("x-forwarded-for", "10.0.0.2")
            ]),
            (Some(ip("203.0.113.7")), None)
        );
        assert_eq!(
            read(&[("x-forwarded-for", "10.0.0.3, 10.0.0.2")]),
            (Some(ip("10.0.0.3")), None)
        );
        assert_eq!(
            read(&[(
                "forwarded",
                "for=198.51.100.1;proto=http, for=\"[2001:db8::7]:4711\";proto=https"
            )]),
            (Some(ip("2001:db8::7")), Some(true))
        );
        assert_eq!(
            read(&[("forwarded", "for=unknown;proto=https")]),
            (None, Some(true))
        );
        assert_eq!(read(&[("x-forwarded-proto", "http")]), (None, Some(false)));
    }
}
