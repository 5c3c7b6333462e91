//! `GET /api/v1/status`: readiness, no token needed.

use actix_web::{web, HttpResponse};
use serde_json::json;

use super::AppState;

pub async fn show(state: web::Data<AppState>) -> HttpResponse {
    let per_minute = state.settings.rate_limit_per_minute;
    HttpResponse::Ok().json(json!({
        "status": "ok",
        "api_version": "v1",
        "version": env!("CARGO_PKG_VERSION"),
        // A big database is fully checked in the background after startup.
        "database_check": if state.db_check_running.load(std::sync::atomic::Ordering::Relaxed) {
            "running"
        } else {
            "ok"
        },
        "rate_limit": {
            "enabled": per_minute > 0,
            "requests_per_minute": per_minute,
            "burst": per_minute,
            "scope": "token",
        },
    }))
}
