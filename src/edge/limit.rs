//! Rate limits in bounded memory: buckets by key (GCRA: one instant per key, no
//! counters, no timers) with a hard cap on how many keys are remembered, and a
//! per-address limit with a total over all addresses for public routes anyone may post to.
//!
//! A full table forgets its idle buckets first and, if that is not enough, arbitrary ones
//! (which only ever hands their owners a full bucket again), so no flood of keys grows
//! memory past the cap.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

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

/// A limit per client address, and one over all addresses together: a flood from many
/// addresses is held back as a whole, and a request the total refuses costs its address
/// nothing.
pub struct PerAddressLimit {
    each: Buckets<IpAddr>,
    each_quota: Quota,
    total: Buckets<()>,
    total_quota: Quota,
}

impl PerAddressLimit {
    /// `each` requests a minute from one address and `total` from all of them, with at
    /// most `max_addresses` addresses remembered. `None` when either is 0.
    pub fn per_minute(each: u32, total: u32, max_addresses: usize) -> Option<PerAddressLimit> {
        Some(PerAddressLimit {
            each: Buckets::new(max_addresses),
            each_quota: Quota::per_minute(each)?,
            total: Buckets::new(1),
            total_quota: Quota::per_minute(total)?,
        })
    }

    /// `Ok` when a request from `address` may go on; else the seconds until it may. A
    /// request whose address is unknown counts against the total alone.
    pub fn check(&self, address: Option<IpAddr>) -> Result<(), u64> {
        if let Some(address) = address {
            if let Verdict::Refused { retry_after } = self.each.take(&address, self.each_quota) {
                return Err(retry_after);
            }
        }
        match self.total.take(&(), self.total_quota) {
            Verdict::Refused { retry_after } => Err(retry_after),
            Verdict::Allowed { .. } => Ok(()),
        }
    }

    /// Addresses remembered now.
    pub fn addresses(&self) -> usize {
        self.each.len()
    }
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
    fn addresses_are_limited_each_and_together_in_bounded_memory() {
        let limit = PerAddressLimit::per_minute(2, 5, 3).unwrap();
        let ip = |i: u8| Some(IpAddr::from([10, 0, 0, i]));
        assert!(limit.check(ip(1)).is_ok());
        assert!(limit.check(ip(1)).is_ok());
        assert!(limit.check(ip(1)).is_err(), "a third from one address");
        assert!(limit.check(ip(2)).is_ok());
        assert!(limit.check(ip(3)).is_ok());
        for i in 4..50 {
            let _ = limit.check(ip(i));
            assert!(limit.addresses() <= 3, "{} addresses", limit.addresses());
        }
        let wait = limit.check(None).expect_err("over the total");
        assert!((1..=12).contains(&wait), "{wait}");
        assert!(PerAddressLimit::per_minute(0, 5, 3).is_none());
    }
}
