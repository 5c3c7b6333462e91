//! The one error type of the HTTP API and the JSON every error answers with.
//!
//! User-facing variants carry the message the client sees. `Internal` keeps its cause,
//! with the cause's own causes, for the log only: it is logged once, where it becomes
//! the HTTP answer, as `internal error: what failed: why: ...`, and the client gets a
//! bare `{"error": "Internal server error"}`.

use std::collections::BTreeMap;
use std::error::Error;
use std::fmt;

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

pub const UNAUTHORIZED: &str = "Unauthorized – invalid or missing API token";

/// Per-field validation messages, Rails style: `{"email": ["has already been taken"]}`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FieldErrors(pub BTreeMap<String, Vec<String>>);

impl FieldErrors {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        let msgs = self.0.entry(field.into()).or_default();
        let m = message.into();
        if !msgs.contains(&m) {
            msgs.push(m);
        }
    }

    pub fn has(&self, field: &str) -> bool {
        self.0.contains_key(field)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(())` when there is nothing to report, else the 422 error.
    pub fn into_result(self) -> Result<(), ApiError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(self))
        }
    }

    pub fn single(field: &str, message: &str) -> ApiError {
        let mut e = FieldErrors::new();
        e.add(field, message);
        ApiError::Validation(e)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("unauthorized")]
    Unauthorized,
    /// 403: the store is reachable, but the request's role may not do this (a staff
    /// member on an owner-only route, a device nobody has signed in on).
    #[error("{0}")]
    Forbidden(String),
    /// 404 with a message such as "Customer not found".
    #[error("{0}")]
    NotFound(String),
    /// 422 "Validation failed" with per-field messages.
    #[error("validation failed: {0:?}")]
    Validation(FieldErrors),
    /// 422 with its own summary (e.g. a refused redemption).
    #[error("{message}")]
    Unprocessable {
        message: String,
        errors: FieldErrors,
    },
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("request body is larger than 64 KiB")]
    PayloadTooLarge,
    /// 413 on the one route with a limit of its own (an import's file), in bytes.
    #[error("request body is larger than {0} bytes")]
    TooLarge(usize),
    /// 408: the body did not arrive in time (a slow or stalled client).
    #[error("request body timed out")]
    RequestTimeout,
    #[error("method not allowed")]
    MethodNotAllowed { allow: String },
    #[error("rate limited")]
    RateLimited { retry_after: u64 },
    /// 429 with its own reason: a request that would repeat something done too recently
    /// (card links sent again within their throttle).
    #[error("{message}")]
    TooSoon { message: String, retry_after: u64 },
    /// 503: the disk is full; nothing was written.
    #[error("storage full")]
    StorageFull,
    /// 500: a fault of the server. The cause is for the log (see [`Chain`]).
    #[error("internal error")]
    Internal(#[source] Cause),
}

/// Why an internal error happened: an error of any kind, which keeps its own causes.
pub type Cause = Box<dyn Error + Send + Sync>;

impl ApiError {
    pub fn not_found(what: &str) -> ApiError {
        ApiError::NotFound(format!("{what} not found"))
    }

    /// An internal error caused by `cause`: an error (kept whole, with its own causes)
    /// or, where nothing failed but the server's own logic, a message.
    pub fn internal(cause: impl Into<Cause>) -> ApiError {
        ApiError::Internal(cause.into())
    }

    /// An internal error that says what failed, caused by `source`.
    pub fn internal_in(what: impl Into<String>, source: impl Into<Cause>) -> ApiError {
        ApiError::Internal(Box::new(Failed {
            what: what.into(),
            source: source.into(),
        }))
    }
}

/// What failed, and the error that made it fail: one link of a cause chain.
#[derive(Debug, thiserror::Error)]
#[error("{what}")]
struct Failed {
    what: String,
    #[source]
    source: Cause,
}

/// An error with its causes, for the log: `error: cause: cause's cause`. A cause that
/// says only what the error before it said (SQLite's errors repeat their code as their
/// cause) is left out.
pub struct Chain<'a>(pub &'a (dyn Error + 'static));

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut said = self.0.to_string();
        f.write_str(&said)?;
        let mut next = self.0.source();
        while let Some(cause) = next {
            let text = cause.to_string();
            if text != said {
                write!(f, ": {text}")?;
                said = text;
            }
            next = cause.source();
        }
        Ok(())
    }
}

impl From<rusqlite::Error> for ApiError {
    fn from(e: rusqlite::Error) -> Self {
        if let rusqlite::Error::SqliteFailure(f, _) = &e {
            if f.code == rusqlite::ErrorCode::DiskFull {
                return ApiError::StorageFull;
            }
        }
        ApiError::internal_in("database", e)
    }
}

impl From<r2d2::Error> for ApiError {
    fn from(e: r2d2::Error) -> Self {
        ApiError::internal_in("database pool", e)
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        ApiError::internal_in("blocking task", e)
    }
}

impl From<std::io::Error> for ApiError {
    fn from(e: std::io::Error) -> Self {
        ApiError::internal(e)
    }
}

impl From<serde_json::Error> for ApiError {
    fn from(e: serde_json::Error) -> Self {
        ApiError::internal_in("JSON", e)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Validation(_) | ApiError::Unprocessable { .. } => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::PayloadTooLarge | ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::RateLimited { .. } | ApiError::TooSoon { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            ApiError::StorageFull => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let body = self.body();
        let mut res = HttpResponse::build(status);
        match self {
            // The one place an internal error is logged: where it becomes the answer.
            ApiError::Internal(_) => log::error!("{}", Chain(self)),
            ApiError::StorageFull => log::error!("write failed: the disk is full"),
            ApiError::MethodNotAllowed { allow } => {
                res.insert_header((header::ALLOW, allow.clone()));
            }
            ApiError::RateLimited { retry_after } | ApiError::TooSoon { retry_after, .. } => {
                res.insert_header((header::RETRY_AFTER, retry_after.to_string()));
            }
            _ => {}
        }
        res.json(body)
    }
}

impl ApiError {
    /// The JSON body the client sees.
    pub fn body(&self) -> serde_json::Value {
        match self {
            ApiError::Unauthorized => json!({ "error": UNAUTHORIZED }),
            ApiError::NotFound(m) | ApiError::Forbidden(m) => json!({ "error": m }),
            ApiError::Validation(errors) => json!({
                "error": "Validation failed",
                "errors": errors.0,
            }),
            ApiError::Unprocessable { message, errors } => json!({
                "error": message,
                "errors": errors.0,
            }),
            ApiError::BadRequest(m) | ApiError::UnsupportedMediaType(m) => json!({ "error": m }),
            ApiError::PayloadTooLarge => {
                json!({ "error": "Request body is too large (the limit is 64 KiB)" })
            }
            ApiError::TooLarge(limit) => json!({
                "error": format!("Request body is too large (the limit is {} MiB)", limit / (1024 * 1024))
            }),
            ApiError::RequestTimeout => json!({
                "error": "Request body was not received in time; send it again"
            }),
            ApiError::MethodNotAllowed { allow } => {
                json!({ "error": format!("Method not allowed (allowed: {allow})") })
            }
            ApiError::RateLimited { retry_after } => json!({
                "error": format!("Rate limit exceeded – retry in {retry_after} seconds")
            }),
            ApiError::TooSoon { message, .. } => json!({ "error": message }),
            ApiError::StorageFull => json!({
                "error": "Storage full – the server's disk has no space left; nothing was saved, try again later"
            }),
            ApiError::Internal(_) => json!({ "error": "Internal server error" }),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Mutex, Once};

    use actix_web::body::MessageBody;

    use super::*;

    /// Keeps every line logged at error level, so a test can read what an error left.
    struct Recorder(Mutex<Vec<String>>);

    static RECORDER: Recorder = Recorder(Mutex::new(Vec::new()));

    impl log::Log for Recorder {
        fn enabled(&self, metadata: &log::Metadata) -> bool {
            metadata.level() <= log::Level::Error
        }

        fn log(&self, record: &log::Record) {
            if self.enabled(record.metadata()) {
                let line = record.args().to_string();
                self.0.lock().unwrap_or_else(|p| p.into_inner()).push(line);
            }
        }

        fn flush(&self) {}
    }

    /// From now on, error-level lines are kept (by every test of this binary).
    fn record_logs() {
        static INSTALL: Once = Once::new();
        INSTALL.call_once(|| {
            log::set_logger(&RECORDER).expect("no other logger in the unit tests");
            log::set_max_level(log::LevelFilter::Error);
        });
    }

    /// The lines kept so far that mention `text`.
    fn logged_lines_with(text: &str) -> Vec<String> {
        let lines = RECORDER.0.lock().unwrap_or_else(|p| p.into_inner());
        lines.iter().filter(|l| l.contains(text)).cloned().collect()
    }

    fn sqlite_error(sql: &str) -> rusqlite::Error {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute(sql, []).unwrap_err()
    }

    #[test]
    fn an_internal_error_is_logged_once_with_its_causes_and_answered_bare() {
        record_logs();
        let err = ApiError::from(sqlite_error("INSERT INTO no_such_ledger VALUES (1)"));

        let res = err.error_response();
        assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = res.into_body().try_into_bytes().unwrap();
        assert_eq!(&body[..], br#"{"error":"Internal server error"}"#);

        assert_eq!(
            logged_lines_with("no_such_ledger"),
            vec!["internal error: database: no such table: no_such_ledger: \
                  Error code 1: SQL logic error"
                .to_string()]
        );
    }

    #[test]
    fn the_chain_names_what_failed_and_every_cause() {
        let io = std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            "backups/ is read-only",
        );
        let err = ApiError::internal_in(
            "writing the pass",
            Failed {
                what: "copying the icon".into(),
                source: Box::new(io),
            },
        );
        assert_eq!(
            Chain(&err).to_string(),
            "internal error: writing the pass: copying the icon: backups/ is read-only"
        );
        assert_eq!(
            Chain(&ApiError::internal("customer vanished")).to_string(),
            "internal error: customer vanished"
        );
    }

    /// SQLite's errors without a message of their own show their code, and then give the
    /// same code again as their cause: the chain says it once.
    #[test]
    fn a_cause_that_repeats_the_error_before_it_is_said_once() {
        assert_eq!(
            Chain(&sqlite_failure(rusqlite::ffi::SQLITE_BUSY)).to_string(),
            "internal error: database: Error code 5: database is locked"
        );
    }

    #[test]
    fn a_full_disk_is_storage_full_not_internal() {
        let full = sqlite_failure(rusqlite::ffi::SQLITE_FULL);
        assert!(matches!(full, ApiError::StorageFull));
    }

    /// What SQLite's error `code`, without a message of its own, becomes.
    fn sqlite_failure(code: std::ffi::c_int) -> ApiError {
        ApiError::from(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(code),
            None,
        ))
    }

    #[test]
    fn the_cause_is_kept_whole_for_whoever_needs_its_kind() {
        let err = ApiError::from(sqlite_error("SELECT * FROM no_such_card"));
        let database = err.source().expect("the database step");
        let sqlite = database
            .source()
            .and_then(|e| e.downcast_ref::<rusqlite::Error>())
            .expect("the SQLite error itself");
        assert_eq!(
            sqlite.sqlite_error_code(),
            Some(rusqlite::ErrorCode::Unknown)
        );
    }
}
