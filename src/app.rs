//! Builds the HTTP server: binds its own listeners (port 0 in tests; HTTPS beside plain
//! HTTP when it is on) and the metrics listener if it has one, opens the database,
//! composes the routes, keeps the HTTPS certificate served, runs the periodic tasks
//! (token usage, purges, automatic backups, `latest.db`), and on a clean stop
//! checkpoints the WAL.

use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::Ordering;
use std::time::Duration;

use actix_web::dev::{Server, ServerHandle};
use actix_web::{middleware, web, App};

use crate::api::rate_limit::RateLimits;
use crate::api::{self, AppState, TokenUsage};
use crate::config::Settings;
use crate::db::{Db, OpenError};
use crate::error::Chain;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Database(#[from] OpenError),
    #[error(transparent)]
    Wallet(#[from] crate::wallet::LoadError),
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
    #[error("cannot listen on {bind}: {source} ({})", bind_hint(.source, .flag))]
    Bind {
        bind: String,
        flag: &'static str,
        source: std::io::Error,
    },
    #[error("{0}")]
    Metrics(String),
    #[error("cannot listen on metrics_bind {bind}: {source}")]
    MetricsBind {
        bind: String,
        source: std::io::Error,
    },
}

/// What to do about an address that cannot be listened on.
fn bind_hint(e: &std::io::Error, flag: &str) -> String {
    match e.kind() {
        std::io::ErrorKind::PermissionDenied => format!(
            "ports below 1024 need root or the capability CAP_NET_BIND_SERVICE, which the systemd unit grants; or choose another port with {flag}"
        ),
        _ => format!("is another stampd already running? choose another address with {flag}"),
    }
}

/// A built, bound server that has not started serving yet.
pub struct Application {
    server: Server,
    addr: SocketAddr,
    /// With HTTPS on, the plain HTTP address (which redirects to `addr`).
    redirect_addr: Option<SocketAddr>,
    https: Option<crate::tls::Https>,
    hangups: crate::tls::Hangups,
    /// The separate listener of `/metrics` (`metrics_bind`), and its address.
    metrics: Option<(Server, SocketAddr)>,
    state: web::Data<AppState>,
}

/// How often token "last used" times are written to the database.
const USAGE_FLUSH_EVERY: Duration = Duration::from_secs(30);
/// How often expired idempotency keys and idle rate-limit buckets are forgotten.
const PURGE_EVERY: Duration = Duration::from_secs(600);
/// How often card templates whose expiry time came are marked changed, so their saved
/// passes are updated.
const EXPIRY_EVERY: Duration = Duration::from_secs(60);

impl Application {
    /// Opens (and migrates) the database and binds the listener. Must be called inside
    /// an actix runtime.
    pub fn build(settings: Settings) -> Result<Application, StartError> {
        crate::metrics::check_settings(&settings).map_err(StartError::Metrics)?;
        let db = Db::open(&settings)?;
        let https = crate::tls::Https::start(&settings)?;
        let hangups = crate::tls::Hangups::listen();
        let bind = |bind: &str, flag| {
            let bind_err = |source| StartError::Bind {
                bind: bind.to_string(),
                flag,
                source,
            };
            let listener = TcpListener::bind(bind).map_err(bind_err)?;
            let addr = listener.local_addr().map_err(bind_err)?;
            Ok::<_, StartError>((listener, addr))
        };
        let (listener, plain_addr) = bind(&settings.bind, "--bind")?;
        let https_listener = match &https {
            Some(_) => Some(bind(&settings.https_bind, "--https-bind")?),
            None => None,
        };
        let addr = https_listener.as_ref().map_or(plain_addr, |(_, a)| *a);
        let outbox = crate::outbox::Outbox::new();
        let db_check_running = std::sync::atomic::AtomicBool::new(db.check_pending);
        // One turn per reader: a request with a turn never waits in the pool.
        let read_gate = crate::api::read_gate::ReadGate::new(
            settings.read_pool_size as usize,
            settings.search_readers as usize,
        );
        let metrics = crate::metrics::Metrics::new(&settings, &db, &read_gate);
        let state = web::Data::new(AppState {
            db_check_running,
            outbox,
            public_url: settings.public_base(addr),
            db,
            token_usage: TokenUsage::default(),
            rate_limits: RateLimits::new(&settings),
            signup_limits: crate::api::signup::SignupLimits::new(
                settings.signup_rate_limit_per_hour,
            ),
            wallets: crate::wallet::Wallets::load(&settings)?,
            read_gate,
            pass_log_limit: api::passes::log_limit(),
            metrics,
            settings: settings.clone(),
        });
        // The phone number plans load on a thread of their own now, not in the first
        // request that reads a number.
        if let Err(e) = std::thread::Builder::new()
            .name("number-plans".into())
            .spawn(crate::domain::Phone::load_number_plans)
        {
            log::warn!("phone number plans not loaded ahead: {e}");
        }
        let app_state = state.clone();
        let cors_origins = settings.cors_allowed_origins.clone();
        let own_origin = origin_of(&state.public_url);
        let served_over = if https.is_some() { "https" } else { "http" };
        let access_log =
            log::log_enabled!(target: "actix_web::middleware::logger", log::Level::Info);
        let trusted = crate::edge::peer::TrustedProxies::new(&settings.trusted_proxies);
        let https_listener = match (&https, https_listener) {
            (Some(h), Some((listener, addr))) => Some(crate::edge::HttpsListener {
                listener,
                config: h.server_config(),
                redirect: crate::edge::redirect::Redirect::new(
                    settings.public_url.as_deref(),
                    addr.port(),
                    h.http01.clone(),
                ),
            }),
            _ => None,
        };
        // Requests are counted only when someone can read the counts.
        let counted = settings.metrics_bind.is_some() || settings.metrics_token.is_some();
        let metrics_here = crate::metrics::on_main_address(&settings);
        let server = crate::edge::http_server(&settings, listener, https_listener, move || {
            App::new()
                .app_data(app_state.clone())
                .app_data(trusted.clone())
                // Bodies read by actix-web's own extractors get the limit of ours.
                .app_data(web::PayloadConfig::new(crate::params::BODY_LIMIT))
                .wrap(middleware::from_fn(crate::edge::head_as_get))
                .wrap(middleware::Condition::new(
                    !cors_origins.is_empty(),
                    cors(&cors_origins, served_over, own_origin.clone()),
                ))
                .wrap(middleware::from_fn(api::rate_limit::middleware))
                // The access log is an info-level log: skipped whole when that is off.
                .wrap(middleware::Condition::new(
                    access_log,
                    crate::edge::access_log::logger(),
                ))
                // Outermost: every answer counts, the rate limits' 429s included.
                .wrap(middleware::Condition::new(
                    counted,
                    middleware::from_fn(crate::metrics::track),
                ))
                .configure(|cfg| {
                    if metrics_here {
                        crate::metrics::configure(cfg);
                    }
                })
                .configure(api::configure)
        })
        .map_err(|source| StartError::Bind {
            bind: settings.bind.clone(),
            flag: "--bind",
            source,
        })?;
        let metrics = match &settings.metrics_bind {
            None => None,
            Some(bind) => {
                let bind_err = |source| StartError::MetricsBind {
                    bind: bind.clone(),
                    source,
                };
                let listener = TcpListener::bind(bind).map_err(bind_err)?;
                let addr = listener.local_addr().map_err(bind_err)?;
                let server =
                    crate::metrics::server(&settings, listener, state.clone()).map_err(bind_err)?;
                Some((server, addr))
            }
        };
        Ok(Application {
            server,
            addr,
            metrics,
            redirect_addr: https.as_ref().map(|_| plain_addr),
            https,
            hangups,
            state,
        })
    }

    /// The address of the separate `/metrics` listener, when `metrics_bind` is set.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().map(|(_, addr)| *addr)
    }

    /// Where the app is served: the HTTPS address when HTTPS is on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// With HTTPS on, the plain HTTP address, which redirects to HTTPS.
    pub fn redirect_addr(&self) -> Option<SocketAddr> {
        self.redirect_addr
    }

    /// The base of public links.
    pub fn public_url(&self) -> &str {
        &self.state.public_url
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Stops the server from another task or thread (as SIGINT/SIGTERM do).
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until stopped; then finishes in-flight requests, writes token usage and
    /// checkpoints the WAL so the `.db` file alone holds everything.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let certificates = crate::tls::keep_served(self.https, self.hangups);
        let senders = crate::outbox::spawn(
            &self.state.outbox,
            &self.state.db,
            &self.state.settings,
            &self.state.public_url,
        );
        let flusher = every(
            USAGE_FLUSH_EVERY,
            &self.state,
            ("record token usage", log::Level::Warn),
            |s| {
                s.token_usage
                    .flush(&s.db)
                    .map_err(|e| Chain(&e).to_string())?;
                Ok(None)
            },
        );
        let purger = every(
            PURGE_EVERY,
            &self.state,
            ("purge idempotency keys", log::Level::Warn),
            |s| {
                if let Some(limits) = &s.rate_limits {
                    limits.forget_idle();
                }
                if let Some(limits) = &s.signup_limits {
                    limits.forget_idle();
                }
                let n = (s.db)
                    .write(|tx| Ok(crate::db::idempotency::purge(tx)?))
                    .map_err(|e| Chain(&e).to_string())?;
                Ok((n > 0).then(|| format!("forgot {n} expired idempotency keys")))
            },
        );
        let expiries = every(
            EXPIRY_EVERY,
            &self.state,
            ("update the passes of expired cards", log::Level::Warn),
            |s| {
                let n = (s.db)
                    .write(|tx| Ok(crate::db::pass_updates::expire_due_cards(tx)?))
                    .map_err(|e| Chain(&e).to_string())?;
                Ok((n > 0).then(|| format!("{n} card templates expired; their passes follow")))
            },
        );
        let backups = (self.state.settings.backup_interval_hours > 0).then(|| {
            let period = Duration::from_secs(self.state.settings.backup_interval_hours * 3600);
            every(
                period,
                &self.state,
                ("write the automatic backup", log::Level::Error),
                |s| {
                    let path = automatic_backup(&s.settings).inspect_err(|_| {
                        s.metrics.backup_failed();
                    })?;
                    s.metrics.backup_written();
                    Ok(Some(format!("backup written to {}", path.display())))
                },
            )
        });
        let latest = LatestBackups::start(&self.state);
        let metrics_server = self.metrics.map(|(server, addr)| {
            log::info!("metrics on http://{addr}/metrics");
            let handle = server.handle();
            actix_web::rt::spawn(server);
            handle
        });
        // A big database was only partly checked before starting: check the rest now,
        // on a thread of its own at the lowest priority (so requests come first), and
        // stop serving if it is damaged.
        let damaged = std::sync::Arc::new(std::sync::Mutex::new(None::<String>));
        if self.state.db.check_pending {
            let state = self.state.clone();
            let handle = self.server.handle();
            let found = damaged.clone();
            let (tx, rx) = std::sync::mpsc::channel();
            let started = std::thread::Builder::new()
                .name("db-check".into())
                .spawn(move || {
                    lower_thread_priority(19);
                    let outcome = background_check(&state.settings);
                    if outcome.is_ok() {
                        state.db_check_running.store(false, Ordering::Relaxed);
                    }
                    let _ = tx.send(outcome);
                });
            if let Err(e) = started {
                log::warn!("database check could not start: {e}");
            }
            actix_web::rt::spawn(async move {
                match web::block(move || rx.recv()).await {
                    Ok(Ok(Ok(()))) => log::info!("database check: ok"),
                    Ok(Ok(Err(e))) => {
                        log::error!("database check failed, stopping: {e}");
                        *found.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
                        handle.stop(true).await;
                    }
                    _ => log::warn!("database check stopped without an answer"),
                }
            });
        }
        let result = self.server.await;
        certificates.abort();
        if let Some(b) = backups {
            b.abort();
        }
        if let Some(m) = metrics_server {
            m.stop(true).await;
        }
        if let Some(l) = latest {
            let _ = web::block(move || l.stop()).await;
        }
        flusher.abort();
        purger.abort();
        expiries.abort();
        self.state.outbox.stop();
        let _ = web::block(move || senders.join()).await;
        let state = self.state.clone();
        let closed = web::block(move || {
            state.token_usage.flush(&state.db)?;
            state.db.checkpoint()
        })
        .await;
        let external =
            self.state.settings.checkpoint_mode == crate::config::CheckpointMode::External;
        match closed {
            Ok(Ok(())) if external => {
                log::info!(
                    "stopped; the WAL is left to Litestream (checkpoint_mode = \"external\")"
                )
            }
            Ok(Ok(())) => log::info!("stopped; database checkpointed"),
            Ok(Err(e)) => log::error!(
                "stopped, but the final checkpoint failed: {}",
                crate::error::Chain(&e)
            ),
            Err(e) => log::error!("stopped, but the final checkpoint failed: {e}"),
        }
        if let Some(e) = damaged.lock().unwrap_or_else(|p| p.into_inner()).take() {
            return Err(std::io::Error::other(e));
        }
        result
    }
}

/// Runs `task` on a blocking thread every `period`, from one period after start until
/// it is aborted; logs what it reports at INFO and its failures (naming `what` it could
/// not do) at `failure`.
fn every(
    period: Duration,
    state: &web::Data<AppState>,
    (what, failure): (&'static str, log::Level),
    task: fn(&AppState) -> Result<Option<String>, String>,
) -> actix_web::rt::task::JoinHandle<()> {
    let state = state.clone();
    actix_web::rt::spawn(async move {
        let mut ticks = actix_web::rt::time::interval(period);
        ticks.tick().await;
        loop {
            ticks.tick().await;
            let s = state.clone();
            match web::block(move || task(&s)).await {
                Ok(Ok(Some(done))) => log::info!("{done}"),
                Ok(Ok(None)) => {}
                Ok(Err(e)) => log::log!(failure, "could not {what}: {e}"),
                Err(e) => log::log!(failure, "could not {what}: {e}"),
            }
        }
    })
}

/// The full integrity check, on a connection of its own.
fn background_check(settings: &Settings) -> Result<(), String> {
    let path = settings.database_path();
    let conn = crate::db::open_connection(path, settings).map_err(|e| e.to_string())?;
    crate::db::quick_check(&conn, path).map_err(|e| e.to_string())
}

/// Puts the calling thread at a lower scheduling priority (a nice value from 1 to 19),
/// so its work yields the CPU to requests. Best effort: nothing changes where it is
/// refused. (It cannot be undone without privileges: only threads of their own call it.)
pub(crate) fn lower_thread_priority(nice: i32) {
    #[cfg(target_os = "linux")]
    // SAFETY: gettid and setpriority have no memory-safety preconditions; with
    // PRIO_PROCESS and a thread id, Linux applies the nice value to that thread only.
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, tid, nice);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = nice;
}

/// One automatic backup into `backup_dir`, then the oldest beyond `backup_keep` removed.
fn automatic_backup(settings: &Settings) -> Result<std::path::PathBuf, String> {
    let conn = crate::db::open_connection(settings.database_path(), settings)
        .map_err(|e| e.to_string())?;
    let out = settings
        .backup_dir
        .join(crate::db::backup::timestamped_name());
    crate::db::backup::backup(&conn, &out).map_err(|e| e.to_string())?;
    crate::db::backup::prune(&settings.backup_dir, settings.backup_keep)
        .map_err(|e| e.to_string())?;
    Ok(out)
}

/// The thread that keeps `backup_dir/latest.db` fresh: every
/// `latest_backup_interval_secs`, when something was committed since its last refresh
/// (or there is none), a new copy is made and put in place (`db::backup::refresh_latest`).
/// A thread of its own at a low priority: the copy and its check read the whole file.
struct LatestBackups {
    stop: std::sync::mpsc::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

impl LatestBackups {
    fn start(state: &web::Data<AppState>) -> Option<LatestBackups> {
        let every = Duration::from_secs(state.settings.latest_backup_interval_secs);
        if every.is_zero() {
            return None;
        }
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let state = state.clone();
        let thread = std::thread::Builder::new()
            .name("latest-backup".into())
            .spawn(move || {
                lower_thread_priority(10);
                let latest = state.settings.backup_dir.join(crate::db::backup::LATEST);
                let mut copied_at_commit = None;
                while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                    stopped.recv_timeout(every)
                {
                    let commits = state.db.stats.commits.get();
                    if copied_at_commit == Some(commits) && latest.exists() {
                        continue;
                    }
                    match refresh_latest(&state.settings) {
                        Ok(_) => {
                            copied_at_commit = Some(commits);
                            state.metrics.backup_written();
                        }
                        Err(e) => {
                            state.metrics.backup_failed();
                            log::error!("could not refresh {}: {e}", latest.display());
                        }
                    }
                }
            });
        match thread {
            Ok(thread) => Some(LatestBackups { stop, thread }),
            Err(e) => {
                log::error!("latest.db will not be refreshed: cannot start its thread: {e}");
                None
            }
        }
    }

    /// Stops the thread after the copy it is making, if any. Blocking.
    fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.thread.join();
    }
}

/// One refresh of `latest.db`, on a connection of its own.
fn refresh_latest(settings: &Settings) -> Result<std::path::PathBuf, String> {
    let conn = crate::db::open_connection(settings.database_path(), settings)
        .map_err(|e| e.to_string())?;
    crate::db::backup::refresh_latest(&conn, &settings.backup_dir).map_err(|e| e.to_string())
}

/// CORS: off (no cross-origin browser access) unless `cors_allowed_origins` lists origins.
/// stampd's own pages may always call the API: those served from the address the
/// request came to (`served_over`, the scheme stampd itself serves the app over, and
/// its `Host`) and, behind a proxy, those of `public_url`. An origin is compared whole
/// — scheme, host and port — so a page of another scheme on the same host is another
/// site.
fn cors(
    origins: &[String],
    served_over: &'static str,
    own_origin: Option<String>,
) -> actix_cors::Cors {
    use actix_web::http::header;
    let mut cors = actix_cors::Cors::default()
        .allowed_methods(["GET", "POST", "PATCH", "PUT", "DELETE"])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            header::HeaderName::from_static("idempotency-key"),
        ])
        .expose_headers([
            header::HeaderName::from_static("ratelimit-limit"),
            header::HeaderName::from_static("ratelimit-remaining"),
            header::HeaderName::from_static("ratelimit-reset"),
            header::RETRY_AFTER,
            header::HeaderName::from_static("idempotent-replayed"),
        ])
        .max_age(3600);
    let list = origins.to_vec();
    cors = cors.allowed_origin_fn(move |origin, head| {
        let origin = origin.to_str().unwrap_or("");
        let served_here = head
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .is_some_and(|host| origin == format!("{served_over}://{host}"));
        let public = own_origin
            .as_deref()
            .is_some_and(|own| origin.eq_ignore_ascii_case(own));
        served_here || public || list.iter().any(|o| o == "*" || o == origin)
    });
    cors
}

/// The origin (`scheme://host[:port]`, without a default port) of a base URL.
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => ":80",
        "https" => ":443",
        _ => "",
    };
    let authority = authority.to_ascii_lowercase();
    let authority = authority
        .strip_suffix(default_port)
        .filter(|_| !default_port.is_empty())
        .unwrap_or(&authority);
    Some(format!("{scheme}://{authority}"))
}

#[cfg(test)]
mod tests {
    use super::{bind_hint, origin_of};

    #[test]
    fn a_port_that_needs_privileges_says_so() {
        let denied = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        assert!(bind_hint(&denied, "--bind").contains("CAP_NET_BIND_SERVICE"));
        let taken = std::io::Error::from(std::io::ErrorKind::AddrInUse);
        assert!(bind_hint(&taken, "--https-bind").ends_with("with --https-bind"));
    }

    #[test]
    fn origins_of_base_urls() {
        assert_eq!(
            origin_of("https://Shop.example/stampd").as_deref(),
            Some("https://shop.example")
        );
        assert_eq!(
            origin_of("https://shop.example:443").as_deref(),
            Some("https://shop.example")
        );
        assert_eq!(
            origin_of("http://127.0.0.1:8080").as_deref(),
            Some("http://127.0.0.1:8080")
        );
        assert_eq!(origin_of("nonsense"), None);
    }
}
