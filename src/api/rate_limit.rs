//! Rate limits in bounded memory. A request whose bearer token has authenticated before
//! counts against that token's bucket, and its answer carries `RateLimit-*` headers;
//! every other request — no token, or one never seen to authenticate (made up, revoked)
//! — counts against its client address's bucket. Past either limit: 429 with
//! `Retry-After`.
//!
//! Only a successful authentication (`Access::check`) gives a token a bucket, so a flood
//! of made-up tokens costs no memory per token; a failed one takes it away again. Both
//! tables have a hard cap on entries: a table that is full forgets its idle buckets, and
//! if that is not enough, arbitrary ones (which only ever hands their owners a full
//! bucket again). Buckets follow GCRA: one instant per key, no counters, no timers.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{web, HttpRequest, ResponseError};

use super::AppState;
use crate::config::Settings;
use crate::error::ApiError;

/// The most tokens with a bucket: far more than a shop has, and only live tokens get in.
const MAX_TOKENS: usize = 10_000;
/// The most client addresses with a bucket (a few MB at most).
pub const MAX_ADDRESSES: usize = 65_536;

/// The address a request is counted under: the peer of the connection. The one place
/// that decides it, so that a proxy-aware rule (trusting `X-Forwarded-For` from listed
/// proxies) changes every limit at once.
pub fn client_address(req: &HttpRequest) -> Option<IpAddr> {
    req.peer_addr().map(|a| address_key(a.ip()))
}

/// One key per IPv4 address and per IPv6 /64 (what one subscriber gets: counting each
/// of its 2^64 addresses apart would give one client endless buckets). An IPv4 address
/// written as IPv6 counts as itself.
fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6((u128::from(v6) & !u128::from(u64::MAX)).into()),
        },
    }
}

/// `limit` requests per `period`, in bursts of up to `limit`.
#[derive(Debug, Clone, Copy)]
pub struct Quota {
    limit: u32,
    /// The time one request's turn takes to come back: `period / limit`.
    interval: Duration,
}

impl Quota {
    /// `None` for a limit of 0 (no limit).
    pub fn new(limit: u32, period: Duration) -> Option<Quota> {
        (limit > 0).then(|| Quota {
            limit,
            interval: period / limit,
        })
    }

    pub fn per_minute(limit: u32) -> Option<Quota> {
        Quota::new(limit, Duration::from_secs(60))
    }

    pub fn limit(&self) -> u32 {
        self.limit
    }

    fn burst(&self) -> Duration {
        self.interval * self.limit
    }
}

/// What a bucket said to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allowed {
        /// Requests left in the burst.
        remaining: u32,
        /// Seconds until the bucket is full again.
        reset: u64,
    },
    Refused {
        /// Seconds until one more request is allowed.
        retry_after: u64,
    },
}

fn whole_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

/// Buckets by key, at most `cap` of them. A bucket is its theoretical arrival time: the
/// instant it is full again.
pub struct Buckets<K> {
    start: Instant,
    cap: usize,
    full_at: Mutex<HashMap<K, Duration>>,
}

impl<K: Hash + Eq + Clone> Buckets<K> {
    pub fn new(cap: usize) -> Buckets<K> {
        Buckets {
            start: Instant::now(),
            cap: cap.max(1),
            full_at: Mutex::new(HashMap::new()),
        }
    }

    fn now(&self) -> Duration {
        self.start.elapsed()
    }

    fn table(&self) -> std::sync::MutexGuard<'_, HashMap<K, Duration>> {
        self.full_at.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts one request of `key`, giving it a full bucket first if it has none.
    pub fn take(&self, key: &K, quota: Quota) -> Verdict {
        let now = self.now();
        let mut table = self.table();
        if !table.contains_key(key) {
            self.make_room(&mut table, now);
            table.insert(key.clone(), Duration::ZERO);
        }
        let full_at = table.get_mut(key).expect("just inserted");
        Self::count(full_at, now, quota)
    }

    /// Counts one request of `key` when it has a bucket; `None` when it has none.
    pub fn take_existing(&self, key: &K, quota: Quota) -> Option<Verdict> {
        let now = self.now();
        let mut table = self.table();
        table
            .get_mut(key)
            .map(|full_at| Self::count(full_at, now, quota))
    }

    /// GCRA: a request is allowed while the bucket's fill time stays within one burst
    /// of now; each allowed request moves it one interval later.
    fn count(full_at: &mut Duration, now: Duration, quota: Quota) -> Verdict {
        let next = (*full_at).max(now) + quota.interval;
        let ahead = next - now;
        if ahead > quota.burst() {
            Verdict::Refused {
                retry_after: whole_secs(ahead - quota.burst()).max(1),
            }
        } else {
            *full_at = next;
            Verdict::Allowed {
                remaining: ((quota.burst() - ahead).as_nanos() / quota.interval.as_nanos()) as u32,
                reset: whole_secs(ahead),
            }
        }
    }

    pub fn contains(&self, key: &K) -> bool {
        self.table().contains_key(key)
    }

    /// Gives `key` a full bucket unless it has one.
    pub fn insert(&self, key: &K) {
        let now = self.now();
        let mut table = self.table();
        if !table.contains_key(key) {
            self.make_room(&mut table, now);
            table.insert(key.clone(), Duration::ZERO);
        }
    }

    pub fn remove(&self, key: &K) {
        self.table().remove(key);
    }

    pub fn len(&self) -> usize {
        self.table().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets the buckets that are full again: they are what a new bucket would be.
    pub fn forget_idle(&self) {
        let now = self.now();
        let mut table = self.table();
        table.retain(|_, full_at| *full_at > now);
        table.shrink_to(self.cap / 8);
    }

    /// Below the cap before an insert: idle buckets go first; if the table is still
    /// full, an eighth of it goes (the hash map's order is random per process, so which
    /// is not up to a client).
    fn make_room(&self, table: &mut HashMap<K, Duration>, now: Duration) {
        if table.len() < self.cap {
            return;
        }
        table.retain(|_, full_at| *full_at > now);
        if table.len() < self.cap {
            return;
        }
        let drop: Vec<K> = table.keys().take(self.cap / 8 + 1).cloned().collect();
        for k in drop {
            table.remove(&k);
        }
    }
}

/// The limits of one server.
pub struct RateLimits {
    /// Tokens that authenticated, each with its bucket (unused while tokens are not
    /// limited: then membership only exempts them from their address's limit).
    tokens: Buckets<[u8; 32]>,
    token_quota: Option<Quota>,
    addresses: Buckets<IpAddr>,
    address_quota: Option<Quota>,
}

/// Which bucket a request counts against.
enum Route {
    /// A token that authenticated before: its own bucket.
    Token(Verdict),
    /// A token that authenticated before, with tokens not limited.
    Unlimited,
    /// Anything else: its address's bucket.
    Address,
}

impl RateLimits {
    /// `None` when both `rate_limit_per_minute` and `rate_limit_per_address_per_minute`
    /// are 0 (limits off).
    pub fn new(settings: &Settings) -> Option<RateLimits> {
        let token_quota = Quota::per_minute(settings.rate_limit_per_minute);
        let address_quota = Quota::per_minute(settings.rate_limit_per_address_per_minute);
        (token_quota.is_some() || address_quota.is_some()).then(|| RateLimits {
            tokens: Buckets::new(MAX_TOKENS),
            token_quota,
            addresses: Buckets::new(MAX_ADDRESSES),
            address_quota,
        })
    }

    /// Records what checking a token (by its hash) found: a live token gets a bucket
    /// of its own, any other loses the one it had (a token revoked meanwhile).
    pub fn authenticated(&self, token_hash: &[u8; 32], live: bool) {
        if live {
            self.tokens.insert(token_hash);
        } else {
            self.tokens.remove(token_hash);
        }
    }

    /// Forgets the idle buckets of addresses (tokens keep theirs: they are few, and
    /// only a live token has one).
    pub fn forget_idle(&self) {
        self.addresses.forget_idle();
    }

    /// How many addresses have a bucket now.
    pub fn addresses_tracked(&self) -> usize {
        self.addresses.len()
    }

    fn route(&self, token: Option<&[u8; 32]>) -> Route {
        let Some(token) = token else {
            return Route::Address;
        };
        match self.token_quota {
            Some(q) => match self.tokens.take_existing(token, q) {
                Some(v) => Route::Token(v),
                None => Route::Address,
            },
            None if self.tokens.contains(token) => Route::Unlimited,
            None => Route::Address,
        }
    }
}

fn header(name: &'static str, value: u64) -> (HeaderName, HeaderValue) {
    (HeaderName::from_static(name), HeaderValue::from(value))
}

fn refused<B>(
    req: ServiceRequest,
    quota: Quota,
    retry_after: u64,
) -> ServiceResponse<EitherBody<B>> {
    let mut res = ApiError::RateLimited { retry_after }.error_response();
    let h = res.headers_mut();
    for (k, v) in [
        header("ratelimit-limit", u64::from(quota.limit)),
        header("ratelimit-remaining", 0),
        header("ratelimit-reset", retry_after),
    ] {
        h.insert(k, v);
    }
    req.into_response(res).map_into_right_body()
}

fn add_headers<B>(res: &mut ServiceResponse<B>, quota: Quota, remaining: u32, reset: u64) {
    let h = res.headers_mut();
    for (k, v) in [
        header("ratelimit-limit", u64::from(quota.limit)),
        header("ratelimit-remaining", u64::from(remaining)),
        header("ratelimit-reset", reset),
    ] {
        h.insert(k, v);
    }
}

pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let Some(state) = req
        .app_data::<web::Data<AppState>>()
        .filter(|s| s.rate_limits.is_some())
        .cloned()
    else {
        return Ok(next.call(req).await?.map_into_left_body());
    };
    let limits = state.rate_limits.as_ref().expect("filtered above");
    let token = super::bearer_token(req.request()).map(crate::tokens::hash);
    match limits.route(token.as_ref()) {
        Route::Token(Verdict::Refused { retry_after }) => {
            let quota = limits.token_quota.expect("a token verdict has a quota");
            return Ok(refused(req, quota, retry_after));
        }
        Route::Token(Verdict::Allowed { remaining, reset }) => {
            let quota = limits.token_quota.expect("a token verdict has a quota");
            let mut res = next.call(req).await?;
            add_headers(&mut res, quota, remaining, reset);
            return Ok(res.map_into_left_body());
        }
        Route::Unlimited => return Ok(next.call(req).await?.map_into_left_body()),
        Route::Address => {}
    }
    let address = client_address(req.request());
    if let (Some(quota), Some(address)) = (limits.address_quota, address) {
        if let Verdict::Refused { retry_after } = limits.addresses.take(&address, quota) {
            return Ok(refused(req, quota, retry_after));
        }
    }
    let mut res = next.call(req).await?;
    // A token that has just authenticated for the first time: this request opens its
    // bucket, and its answer carries the headers as every later one will.
    if let (Some(token), Some(quota)) = (token, limits.token_quota) {
        match limits.tokens.take_existing(&token, quota) {
            Some(Verdict::Allowed { remaining, reset }) => {
                add_headers(&mut res, quota, remaining, reset)
            }
            Some(Verdict::Refused { retry_after }) => add_headers(&mut res, quota, 0, retry_after),
            None => {}
        }
    }
    Ok(res.map_into_left_body())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_counts_down_then_waits_one_interval() {
        let b = Buckets::new(10);
        let q = Quota::per_minute(5).unwrap();
        let seen: Vec<Verdict> = (0..6).map(|_| b.take(&1u8, q)).collect();
        let remaining: Vec<u32> = seen
            .iter()
            .filter_map(|v| match v {
                Verdict::Allowed { remaining, .. } => Some(*remaining),
                Verdict::Refused { .. } => None,
            })
            .collect();
        assert_eq!(remaining, [4, 3, 2, 1, 0]);
        match seen[5] {
            Verdict::Refused { retry_after } => assert!((11..=12).contains(&retry_after)),
            v => panic!("the sixth is refused: {v:?}"),
        }
        match seen[4] {
            Verdict::Allowed { reset, .. } => assert!((59..=60).contains(&reset), "{reset}"),
            v => panic!("{v:?}"),
        }
        // Another key has its own bucket.
        assert!(matches!(
            b.take(&2u8, q),
            Verdict::Allowed { remaining: 4, .. }
        ));
    }

    #[test]
    fn only_existing_buckets_are_counted_by_take_existing() {
        let b = Buckets::new(10);
        let q = Quota::per_minute(5).unwrap();
        assert_eq!(b.take_existing(&7u8, q), None);
        assert!(b.is_empty(), "nothing allocated");
        b.insert(&7u8);
        assert!(matches!(
            b.take_existing(&7u8, q),
            Some(Verdict::Allowed { remaining: 4, .. })
        ));
        b.remove(&7u8);
        assert_eq!(b.take_existing(&7u8, q), None);
    }

    /// The cap holds whatever arrives: idle buckets go first, then arbitrary ones.
    #[test]
    fn the_table_never_grows_past_its_cap() {
        let b = Buckets::new(64);
        let q = Quota::per_minute(10).unwrap();
        for k in 0..10_000u32 {
            b.take(&k, q);
            assert!(b.len() <= 64, "{} entries", b.len());
        }
        // Busy buckets go before the cap is broken; a fresh key always gets in.
        assert!(matches!(b.take(&99_999u32, q), Verdict::Allowed { .. }));
    }

    #[test]
    fn ipv6_counts_per_64_and_mapped_ipv4_as_itself() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(address_key(a), address_key(b));
        assert_ne!(address_key(a), address_key(c));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(address_key(mapped), "192.0.2.7".parse::<IpAddr>().unwrap());
    }
}
