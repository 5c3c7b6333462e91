//! Who a connection or a request counts against in per-address limits, and a bounded
//! per-address rate limit built on that.
//!
//! Both keys are the TCP peer's address today. They are functions of their own so that
//! a `trusted_proxies` setting can change them in one place: a request relayed by a
//! trusted proxy would count against the client address the proxy reports, and the
//! proxy's own connections would not be capped as one client's.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

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

/// A rate limit per address with a bound on memory: at most `max_addresses` addresses
/// are remembered. When that many are, those whose allowance is whole again are
/// forgotten first; if the table is still full, a new address is refused until one is.
///
/// A shared allowance over all addresses caps the total, however many addresses a
/// flood comes from.
pub struct PerAddressLimit {
    per_address: Allowance,
    in_total: Allowance,
    max_addresses: usize,
    state: Mutex<Buckets>,
}

struct Buckets {
    each: HashMap<IpAddr, Bucket>,
    all: Bucket,
}

/// Requests allowed in a burst, and how fast they come back.
#[derive(Clone, Copy)]
struct Allowance {
    burst: f64,
    per_second: f64,
}

/// What is left of an allowance, as of `at`.
#[derive(Clone, Copy)]
struct Bucket {
    left: f64,
    at: Instant,
}

impl Allowance {
    fn per_minute(n: NonZeroU32) -> Allowance {
        Allowance {
            burst: f64::from(n.get()),
            per_second: f64::from(n.get()) / 60.0,
        }
    }

    fn full(self, now: Instant) -> Bucket {
        Bucket {
            left: self.burst,
            at: now,
        }
    }

    /// The bucket refilled up to `now`.
    fn refill(self, bucket: Bucket, now: Instant) -> Bucket {
        let gained = now.saturating_duration_since(bucket.at).as_secs_f64() * self.per_second;
        Bucket {
            left: (bucket.left + gained).min(self.burst),
            at: now,
        }
    }

    /// `Ok` and one taken, or how long until one is there.
    fn take(self, bucket: &mut Bucket, now: Instant) -> Result<(), Duration> {
        *bucket = self.refill(*bucket, now);
        if bucket.left >= 1.0 {
            bucket.left -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64(
                (1.0 - bucket.left) / self.per_second,
            ))
        }
    }
}

impl PerAddressLimit {
    /// `per_address` requests a minute from one address (in bursts of as many) and
    /// `in_total` a minute from all of them together.
    pub fn per_minute(
        per_address: NonZeroU32,
        in_total: NonZeroU32,
        max_addresses: usize,
    ) -> PerAddressLimit {
        let in_total = Allowance::per_minute(in_total);
        PerAddressLimit {
            per_address: Allowance::per_minute(per_address),
            in_total,
            max_addresses,
            state: Mutex::new(Buckets {
                each: HashMap::new(),
                all: in_total.full(Instant::now()),
            }),
        }
    }

    /// `Ok` when a request from `key` may go on; else how long until it may. A request
    /// whose address is unknown counts only against the total.
    pub fn check(&self, key: Option<IpAddr>) -> Result<(), Duration> {
        let now = Instant::now();
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let Buckets { each, all } = &mut *state;
        // The total first: a request it refuses costs its address nothing.
        let mut total = self.in_total.refill(*all, now);
        if total.left < 1.0 {
            return self.in_total.take(all, now);
        }
        if let Some(key) = key {
            if !each.contains_key(&key) && each.len() >= self.max_addresses {
                let allowance = self.per_address;
                each.retain(|_, b| allowance.refill(*b, now).left < allowance.burst);
                if each.len() >= self.max_addresses {
                    // Full of busy addresses: a new one waits for the oldest to go idle.
                    return Err(Duration::from_secs(60));
                }
            }
            let bucket = each
                .entry(key)
                .or_insert_with(|| self.per_address.full(now));
            self.per_address.take(bucket, now)?;
        }
        self.in_total.take(&mut total, now)?;
        *all = total;
        Ok(())
    }

    /// Addresses remembered now.
    pub fn addresses(&self) -> usize {
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .each
            .len()
    }
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

    #[test]
    fn addresses_are_limited_each_and_together_in_bounded_memory() {
        let n = |v| NonZeroU32::new(v).unwrap();
        let limit = PerAddressLimit::per_minute(n(2), n(5), 3);
        let ip = |i: u8| Some(IpAddr::from([10, 0, 0, i]));
        assert!(limit.check(ip(1)).is_ok());
        assert!(limit.check(ip(1)).is_ok());
        assert!(limit.check(ip(1)).is_err(), "a third from one address");
        assert!(limit.check(ip(2)).is_ok());
        assert!(limit.check(ip(3)).is_ok());
        // Three addresses are remembered, none idle: a fourth is refused.
        assert!(limit.check(ip(4)).is_err());
        assert_eq!(limit.addresses(), 3);
        // A known address goes on; the total (5) is reached across addresses.
        assert!(limit.check(ip(2)).is_ok());
        let wait = limit.check(ip(3)).expect_err("over the total");
        assert!(wait > Duration::from_secs(1) && wait <= Duration::from_secs(12));
        assert!(limit.check(None).is_err());
    }
}
