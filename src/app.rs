//! Builds the HTTP server: binds its own listener (port 0 in tests), opens the
//! database, composes the routes, and on a clean stop checkpoints the WAL.

use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::Ordering;
use std::time::Duration;

use actix_web::dev::{Server, ServerHandle};
use actix_web::{middleware, web, App, HttpServer};

use crate::api::rate_limit::RateLimits;
use crate::api::{self, AppState, TokenUsage};
use crate::config::Settings;
use crate::db::{Db, OpenError};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Database(#[from] OpenError),
    #[error(transparent)]
    Wallet(#[from] crate::wallet::LoadError),
    #[error("cannot listen on {bind}: {source} (is another stampd already running? choose another address with --bind)")]
    Bind {
        bind: String,
        source: std::io::Error,
    },
}

/// A built, bound server that has not started serving yet.
pub struct Application {
    server: Server,
    addr: SocketAddr,
    state: web::Data<AppState>,
}

/// How often token "last used" times are written to the database.
const USAGE_FLUSH_EVERY: Duration = Duration::from_secs(30);
/// How often expired idempotency keys and idle rate-limit buckets are forgotten.
const PURGE_EVERY: Duration = Duration::from_secs(600);

impl Application {
    /// Opens (and migrates) the database and binds the listener. Must be called inside
    /// an actix runtime.
    pub fn build(settings: Settings) -> Result<Application, StartError> {
        let db = Db::open(&settings)?;
        let bind_err = |source| StartError::Bind {
            bind: settings.bind.clone(),
            source,
        };
        let listener = TcpListener::bind(&settings.bind).map_err(bind_err)?;
        let addr = listener.local_addr().map_err(bind_err)?;
        let outbox = crate::outbox::Outbox::new();
        let db_check_running = std::sync::atomic::AtomicBool::new(db.check_pending);
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
            // One turn per reader: a request with a turn never waits in the pool.
            read_gate: crate::api::read_gate::ReadGate::new(
                settings.read_pool_size as usize,
                settings.search_readers as usize,
            ),
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
        let access_log =
            log::log_enabled!(target: "actix_web::middleware::logger", log::Level::Info);
        let server = HttpServer::new(move || {
            App::new()
                .app_data(app_state.clone())
                .wrap(middleware::Condition::new(
                    !cors_origins.is_empty(),
                    cors(&cors_origins),
                ))
                .wrap(middleware::from_fn(api::rate_limit::middleware))
                // The access log is an info-level log: skipped whole when that is off.
                .wrap(middleware::Condition::new(
                    access_log,
                    middleware::Logger::new("%a \"%r\" %s %b %Dms"),
                ))
                .configure(api::configure)
        })
        .workers(settings.workers)
        .shutdown_timeout(10)
        .client_request_timeout(Duration::from_secs(settings.request_head_timeout_secs))
        .listen(listener)
        .map_err(bind_err)?
        .run();
        Ok(Application {
            server,
            addr,
            state,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
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
        let senders = crate::outbox::spawn(
            &self.state.outbox,
            &self.state.db,
            &self.state.settings,
            &self.state.public_url,
        );
        let flusher = {
            let state = self.state.clone();
            actix_web::rt::spawn(async move {
                let mut every = actix_web::rt::time::interval(USAGE_FLUSH_EVERY);
                every.tick().await;
                loop {
                    every.tick().await;
                    let s = state.clone();
                    match web::block(move || s.token_usage.flush(&s.db)).await {
                        Ok(Ok(())) => {}
                        Ok(Err(e)) => {
                            log::warn!("could not record token usage: {}", crate::error::Chain(&e))
                        }
                        Err(e) => log::warn!("could not record token usage: {e}"),
                    }
                }
            })
        };
        let purger = {
            let state = self.state.clone();
            actix_web::rt::spawn(async move {
                let mut every = actix_web::rt::time::interval(PURGE_EVERY);
                loop {
                    every.tick().await;
                    if let Some(limits) = &state.rate_limits {
                        limits.forget_idle();
                    }
                    if let Some(limits) = &state.signup_limits {
                        limits.forget_idle();
                    }
                    let s = state.clone();
                    let purged =
                        web::block(move || s.db.write(|tx| Ok(crate::db::idempotency::purge(tx)?)))
                            .await;
                    match purged {
                        Ok(Ok(n)) if n > 0 => log::info!("forgot {n} expired idempotency keys"),
                        Ok(Ok(_)) => {}
                        Ok(Err(e)) => log::warn!(
                            "could not purge idempotency keys: {}",
                            crate::error::Chain(&e)
                        ),
                        Err(e) => log::warn!("could not purge idempotency keys: {e}"),
                    }
                }
            })
        };
        let backups = (self.state.settings.backup_interval_hours > 0).then(|| {
            let state = self.state.clone();
            let every = Duration::from_secs(state.settings.backup_interval_hours * 3600);
            actix_web::rt::spawn(async move {
                let mut ticks = actix_web::rt::time::interval(every);
                ticks.tick().await;
                loop {
                    ticks.tick().await;
                    let s = state.clone();
                    match web::block(move || automatic_backup(&s.settings)).await {
                        Ok(Ok(path)) => log::info!("backup written to {}", path.display()),
                        Ok(Err(e)) => log::error!("automatic backup failed: {e}"),
                        Err(e) => log::error!("automatic backup failed: {e}"),
                    }
                }
            })
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
        if let Some(b) = backups {
            b.abort();
        }
        flusher.abort();
        purger.abort();
        self.state.outbox.stop();
        let _ = web::block(move || senders.join()).await;
        let state = self.state.clone();
        let closed = web::block(move || {
            state.token_usage.flush(&state.db)?;
            state.db.checkpoint()
        })
        .await;
        match closed {
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

/// CORS: off (no cross-origin browser access) unless `cors_allowed_origins` lists origins.
fn cors(origins: &[String]) -> actix_cors::Cors {
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
        // stampd's own pages (same host) always; other sites when listed.
        let same_host = head
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .is_some_and(|host| origin.split_once("://").is_some_and(|(_, o)| o == host));
        same_host || list.iter().any(|o| o == "*" || o == origin)
    });
    cors
}
