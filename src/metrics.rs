//! `GET /metrics`: how the server is doing, in the Prometheus text format (0.0.4), for
//! any monitoring stack to scrape. This module owns the registry of every metric, the
//! middleware that counts requests by route template and status, the figures read at
//! each scrape (outbox, files, free disk, last backup, the background check), the
//! bearer-token check, and the separate listener (`metrics_bind`).
//!
//! Never public: off unless `metrics_bind` or `metrics_token` is set; on the server's own
//! address only with a token; a separate address other than loopback only with a token
//! too (see [`check_settings`]).

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, HttpRequest, HttpResponse};
use prometheus_client::encoding::prometheus_text;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::api::AppState;
use crate::config::Settings;
use crate::error::ApiError;

type Labels = Vec<(&'static str, String)>;
type FloatGauge = Gauge<f64, std::sync::atomic::AtomicU64>;
type Histograms = Family<Labels, Histogram, fn() -> Histogram>;

/// Every metric stampd reports. The instruments of the storage layer and the read
/// queue are theirs (`db::Stats`, `ReadGate`); the registry holds clones.
pub struct Metrics {
    registry: Registry,
    requests: Family<Labels, Counter>,
    latency: Histograms,
    outbox: Family<Labels, Gauge>,
    outbox_retrying: Family<Labels, Gauge>,
    outbox_oldest: Family<Labels, FloatGauge>,
    database_bytes: Gauge,
    wal_bytes: Gauge,
    disk_free_bytes: Gauge,
    disk_free_ratio: FloatGauge,
    backup_age: FloatGauge,
    backup_at: Gauge,
    backup_failures: Counter,
    check_running: Gauge,
    /// Unix time of the last backup that was written and checked (0: none known).
    last_backup: AtomicI64,
}

fn latency_buckets() -> Histogram {
    // 0.5 ms to about 16 s.
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

impl Metrics {
    /// The registry with every metric, the storage layer's and the read queue's among
    /// them; the last backup is the newest already in `backup_dir`.
    pub fn new(
        settings: &Settings,
        db: &crate::db::Db,
        reads: &crate::api::read_gate::ReadGate,
    ) -> Metrics {
        let mut registry = Registry::with_prefix("stampd");
        let requests = Family::<Labels, Counter>::default();
        let latency: Histograms = Family::new_with_constructor(latency_buckets);
        let m = Metrics {
            requests: requests.clone(),
            latency: latency.clone(),
            outbox: Family::default(),
            outbox_retrying: Family::default(),
            outbox_oldest: Family::default(),
            database_bytes: Gauge::default(),
            wal_bytes: Gauge::default(),
            disk_free_bytes: Gauge::default(),
            disk_free_ratio: FloatGauge::default(),
            backup_age: FloatGauge::default(),
            backup_at: Gauge::default(),
            backup_failures: Counter::default(),
            check_running: Gauge::default(),
            last_backup: AtomicI64::new(newest_backup(&settings.backup_dir).unwrap_or(0)),
            registry: Registry::default(),
        };
        let r = &mut registry;
        r.register(
            "http_requests",
            "HTTP requests answered, by method, route template and status",
            requests,
        );
        r.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request (until its body starts), by method and route template",
            latency,
        );
        let stats = &db.stats;
        r.register(
            "writer_queue_jobs",
            "Write jobs waiting for the writer thread",
            stats.write_queue.clone(),
        );
        r.register(
            "writer_group_jobs",
            "Write jobs per group the writer committed at once (one sync each)",
            stats.group_sizes.clone(),
        );
        r.register(
            "writer_commits",
            "Groups of writes committed",
            stats.commits.clone(),
        );
        r.register(
            "read_pool_wait_seconds",
            "Time a read waited for a connection of the read pool",
            stats.read_pool_waits.clone(),
        );
        r.register(
            "read_queue_wait_seconds",
            "Time an API read (not a search) queued for its turn at a reader",
            reads.cheap_waits.clone(),
        );
        r.register(
            "search_queue_wait_seconds",
            "Time a search queued for its turn at a reader",
            reads.search_waits.clone(),
        );
        r.register(
            "outbox_messages",
            "Outbox rows by channel and status (pending, sent, failed: given up, suppressed)",
            m.outbox.clone(),
        );
        r.register(
            "outbox_retrying",
            "Pending outbox rows whose last try failed, by channel",
            m.outbox_retrying.clone(),
        );
        r.register(
            "outbox_oldest_pending_seconds",
            "Age of the oldest pending outbox row, by channel",
            m.outbox_oldest.clone(),
        );
        r.register(
            "database_bytes",
            "Size of the database file",
            m.database_bytes.clone(),
        );
        r.register("wal_bytes", "Size of the WAL file", m.wal_bytes.clone());
        r.register(
            "disk_free_bytes",
            "Free space (for stampd's user) on the database's file system",
            m.disk_free_bytes.clone(),
        );
        r.register(
            "disk_free_ratio",
            "Free space on the database's file system, as a fraction of its size",
            m.disk_free_ratio.clone(),
        );
        r.register(
            "last_backup_age_seconds",
            "Seconds since the last backup (latest.db, automatic or `stampd backup`) was written and checked; +Inf when none is known",
            m.backup_age.clone(),
        );
        r.register(
            "last_backup_timestamp_seconds",
            "Unix time of the last backup written and checked (0: none known)",
            m.backup_at.clone(),
        );
        r.register(
            "backup_failures",
            "Backups (latest.db or automatic) that failed",
            m.backup_failures.clone(),
        );
        r.register(
            "database_check_running",
            "1 while the background integrity check of a big database runs (it stops the server if it finds damage)",
            m.check_running.clone(),
        );
        Metrics { registry, ..m }
    }

    /// A backup was written and checked now.
    pub fn backup_written(&self) {
        self.last_backup.store(unix_now(), Ordering::Relaxed);
    }

    /// A backup failed.
    pub fn backup_failed(&self) {
        self.backup_failures.inc();
    }

    /// Counts one answered request.
    fn record(&self, method: &str, route: String, status: u16, seconds: f64) {
        let labels: Labels = vec![("method", method.to_string()), ("route", route)];
        self.latency.get_or_create(&labels).observe(seconds);
        let mut labels = labels;
        labels.push(("status", status.to_string()));
        self.requests.get_or_create(&labels).inc();
    }

    /// Reads what is measured at scrape time, then encodes every metric. Blocking.
    fn render(&self, state: &AppState) -> Result<String, ApiError> {
        let outbox = state
            .db
            .read(|conn| Ok(crate::db::outbox::counts_by_channel(conn)?))?;
        self.outbox.clear();
        self.outbox_retrying.clear();
        self.outbox_oldest.clear();
        let now = time::OffsetDateTime::now_utc();
        for c in outbox {
            let channel = ("channel", c.channel.clone());
            let status = ("status", c.status.clone());
            self.outbox
                .get_or_create(&vec![channel.clone(), status])
                .set(c.rows);
            if c.status == "pending" {
                (self.outbox_retrying.get_or_create(&vec![channel.clone()])).set(c.retrying);
                let age = c
                    .oldest
                    .as_deref()
                    .and_then(crate::time_fmt::parse_timestamp)
                    .map(|t| (now - t).as_seconds_f64().max(0.0))
                    .unwrap_or(0.0);
                self.outbox_oldest.get_or_create(&vec![channel]).set(age);
            }
        }
        let path = state.settings.database_path();
        let size = |p: &std::path::Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
        self.database_bytes.set(size(path) as i64);
        self.wal_bytes
            .set(size(&crate::db::backup::sibling(path, "-wal")) as i64);
        if let Some((free, total)) = free_space(path) {
            self.disk_free_bytes.set(free as i64);
            self.disk_free_ratio.set(if total > 0 {
                free as f64 / total as f64
            } else {
                0.0
            });
        }
        let at = self.last_backup.load(Ordering::Relaxed);
        self.backup_at.set(at);
        self.backup_age.set(if at > 0 {
            (unix_now() - at).max(0) as f64
        } else {
            f64::INFINITY
        });
        let running = state.db_check_running.load(Ordering::Relaxed);
        self.check_running.set(i64::from(running));
        let mut text = String::new();
        prometheus_text::encode(&mut text, &self.registry).map_err(ApiError::internal)?;
        Ok(text)
    }
}

/// Refuses settings that would show `/metrics` to anyone: a separate address other
/// than loopback without a token.
pub fn check_settings(settings: &Settings) -> Result<(), String> {
    if let (Some(bind), None) = (&settings.metrics_bind, &settings.metrics_token) {
        let loopback = bind
            .parse::<std::net::SocketAddr>()
            .is_ok_and(|a| a.ip().is_loopback());
        if !loopback {
            return Err(format!(
                "metrics_bind {bind:?} is reachable from other machines: set metrics_token as well (Prometheus sends it as a bearer token), or bind /metrics to 127.0.0.1"
            ));
        }
    }
    Ok(())
}

/// Whether the server's own address serves `/metrics`: with a token and no separate
/// address.
pub fn on_main_address(settings: &Settings) -> bool {
    settings.metrics_token.is_some() && settings.metrics_bind.is_none()
}

/// `GET /metrics`, registered on the server's own address or the separate one.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/metrics").route(web::get().to(show)));
}

async fn show(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    if let Some(token) = &state.settings.metrics_token {
        let given = crate::api::bearer_token(&req).unwrap_or("");
        if !same_secret(given.as_bytes(), token.as_bytes()) {
            return Err(ApiError::Unauthorized);
        }
    }
    let text = web::block(move || state.metrics.render(&state)).await??;
    Ok(HttpResponse::Ok()
        .content_type(prometheus_text::CONTENT_TYPE)
        .body(text))
}

/// Compares a given secret with ours in time that does not depend on where they differ.
fn same_secret(given: &[u8], ours: &[u8]) -> bool {
    use sha2::{Digest, Sha256};
    let (a, b) = (Sha256::digest(given), Sha256::digest(ours));
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

/// The middleware that counts each request by method, route template (the matched
/// pattern, so ids and a public link's secret never become labels) and status.
pub async fn track(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = req.method().as_str().to_string();
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let res = next.call(req).await?;
    if let Some(state) = state {
        let route = res
            .request()
            .match_pattern()
            .map(|p| route_label(&p))
            .unwrap_or_else(|| "unmatched".to_string());
        let status = res.status().as_u16();
        (state.metrics).record(&method, route, status, started.elapsed().as_secs_f64());
    }
    Ok(res)
}

/// A route template as a label: `/accounts/{account_id}` as `/accounts/:account_id`.
/// Braces inside a label value are valid Prometheus text, but tools that read it with
/// a pattern for `{labels}` stop at the first `}`.
fn route_label(pattern: &str) -> String {
    enum At {
        Text,
        Name,
        /// A parameter's own pattern (`{id:\\d{2}}`), left out; the depth of its braces.
        Pattern(usize),
    }
    let mut out = String::with_capacity(pattern.len());
    let mut at = At::Text;
    for c in pattern.chars() {
        at = match (at, c) {
            (At::Text, '{') => {
                out.push(':');
                At::Name
            }
            (At::Text, c) => {
                out.push(c);
                At::Text
            }
            (At::Name, '}') => At::Text,
            (At::Name, ':') => At::Pattern(0),
            (At::Name, c) => {
                out.push(c);
                At::Name
            }
            (At::Pattern(0), '}') => At::Text,
            (At::Pattern(d), '}') => At::Pattern(d - 1),
            (At::Pattern(d), '{') => At::Pattern(d + 1),
            (at @ At::Pattern(_), _) => at,
        };
    }
    out
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// The modification time of the newest backup in `dir` (`latest.db` or
/// `stampd-*.db`), as Unix time: what a restart knows of the last backup.
fn newest_backup(dir: &std::path::Path) -> Option<i64> {
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name().to_str().is_some_and(|n| {
                n == crate::db::backup::LATEST || (n.starts_with("stampd-") && n.ends_with(".db"))
            })
        })
        .filter_map(|e| e.metadata().ok()?.modified().ok())
        .filter_map(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| d.as_secs() as i64)
        .max()
}

/// (bytes free for an unprivileged user, bytes in all) of the file system holding `path`.
fn free_space(path: &std::path::Path) -> Option<(u64, u64)> {
    use std::os::unix::ffi::OsStrExt;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => std::path::Path::new("."),
    };
    let c = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    // SAFETY: `c` is a NUL-terminated path and `s` a statvfs for the call to fill.
    let mut s: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(c.as_ptr(), &mut s) } != 0 {
        return None;
    }
    let unit = s.f_frsize as u64;
    Some((s.f_bavail as u64 * unit, s.f_blocks as u64 * unit))
}

/// The separate listener of `metrics_bind`: `/metrics` alone, one worker.
pub fn server(
    settings: &Settings,
    listener: std::net::TcpListener,
    state: web::Data<AppState>,
) -> std::io::Result<actix_web::dev::Server> {
    let mut own = settings.clone();
    own.workers = 1;
    crate::edge::http_server(&own, listener, None, move || {
        actix_web::App::new()
            .app_data(state.clone())
            .configure(configure)
            .default_service(web::to(|| async {
                Err::<HttpResponse, _>(ApiError::NotFound("Not found".into()))
            }))
    })
}

#[cfg(test)]
mod tests {
    use super::route_label;

    #[test]
    fn route_templates_become_labels_without_braces() {
        assert_eq!(
            route_label("/api/v1/accounts/{account_id}/customers/{id}"),
            "/api/v1/accounts/:account_id/customers/:id"
        );
        assert_eq!(route_label("/passes/{uuid}.pkpass"), "/passes/:uuid.pkpass");
        assert_eq!(route_label("/x/{id:\\d{2}}/y"), "/x/:id/y");
        assert_eq!(route_label("/metrics"), "/metrics");
    }
}
