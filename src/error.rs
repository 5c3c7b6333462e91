//! The one error type of the HTTP API and the JSON every error answers with.
//!
//! User-facing variants carry the message the client sees. `Internal` keeps the cause
//! for the log only; the client gets a bare `{"error": "Internal server error"}`.

use std::collections::BTreeMap;

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
    /// 408: the body did not arrive in time (a slow or stalled client).
    #[error("request body timed out")]
    RequestTimeout,
    #[error("method not allowed")]
    MethodNotAllowed { allow: String },
    #[error("rate limited")]
    RateLimited { retry_after: u64 },
    /// 503: the disk is full; nothing was written.
    #[error("storage full")]
    StorageFull,
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn not_found(what: &str) -> ApiError {
        ApiError::NotFound(format!("{what} not found"))
    }

    pub fn internal(e: impl std::fmt::Display) -> ApiError {
        ApiError::Internal(e.to_string())
    }
}

impl From<rusqlite::Error> for ApiError {
    fn from(e: rusqlite::Error) -> Self {
        if let rusqlite::Error::SqliteFailure(f, _) = &e {
            if f.code == rusqlite::ErrorCode::DiskFull {
                return ApiError::StorageFull;
            }
        }
        ApiError::Internal(format!("database: {e}"))
    }
}

impl From<r2d2::Error> for ApiError {
    fn from(e: r2d2::Error) -> Self {
        ApiError::Internal(format!("database pool: {e}"))
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        ApiError::Internal(format!("blocking task: {e}"))
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Validation(_) | ApiError::Unprocessable { .. } => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::StorageFull => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let body = self.body();
        let mut res = HttpResponse::build(status);
        match self {
            ApiError::Internal(cause) => log::error!("internal error: {cause}"),
            ApiError::StorageFull => log::error!("write failed: the disk is full"),
            ApiError::MethodNotAllowed { allow } => {
                res.insert_header((header::ALLOW, allow.clone()));
            }
            ApiError::RateLimited { retry_after } => {
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
            ApiError::NotFound(m) => json!({ "error": m }),
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
            ApiError::RequestTimeout => json!({
                "error": "Request body was not received in time; send it again"
            }),
            ApiError::MethodNotAllowed { allow } => {
                json!({ "error": format!("Method not allowed (allowed: {allow})") })
            }
            ApiError::RateLimited { retry_after } => json!({
                "error": format!("Rate limit exceeded – retry in {retry_after} seconds")
            }),
            ApiError::StorageFull => json!({
                "error": "Storage full – the server's disk has no space left; nothing was saved, try again later"
            }),
            ApiError::Internal(_) => json!({ "error": "Internal server error" }),
        }
    }
}
