//! Who a connection or a request counts against in per-address limits.
//!
//! Both keys are the TCP peer's address today. They are functions of their own so that
//! a `trusted_proxies` setting can change them in one place: a request relayed by a
//! trusted proxy would count against the client address the proxy reports, and the
//! proxy's own connections would not be capped as one client's.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

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

/// The key a new connection's count is kept under; `None` when it is not counted.
pub fn connection_key(peer: SocketAddr) -> Option<IpAddr> {
    Some(address_key(peer.ip()))
}

/// The key a request counts against in per-address rate limits; `None` when the peer
/// is unknown (not on a TCP connection, as in unit tests).
pub fn request_key(req: &HttpRequest) -> Option<IpAddr> {
    req.peer_addr().map(|a| address_key(a.ip()))
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
