//! What the storage layer counts as it works, for `/metrics` (`crate::metrics` registers
//! these same instruments; a clone shares its values): the writer's queue and the size
//! of its groups, the commits it made, and how long reads waited for a connection.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};

/// The storage layer's instruments; cloning shares them.
#[derive(Clone)]
pub struct Stats {
    /// Write jobs sent to the writer and not yet taken into a group.
    pub write_queue: Gauge,
    /// Write jobs per committed group: 1, 2, 4, ... 128 (`GROUP_MAX`).
    pub group_sizes: Histogram,
    /// Groups committed since start (also how `latest.db` knows whether anything
    /// changed since its last refresh).
    pub commits: Counter,
    /// Seconds a read waited for a connection of the read pool.
    pub read_pool_waits: Histogram,
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            write_queue: Gauge::default(),
            group_sizes: Histogram::new(exponential_buckets(1.0, 2.0, 8)),
            commits: Counter::default(),
            read_pool_waits: Histogram::new(wait_buckets()),
        }
    }
}

/// Buckets for a wait: 100 µs to about 13 s, doubling.
pub fn wait_buckets() -> impl Iterator<Item = f64> {
    exponential_buckets(0.0001, 2.0, 18)
}
