//! `GET /api/v1/status`: readiness, no token needed.

use actix_web::HttpResponse;
use serde_json::json;

pub async fn show() -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "status": "ok",
        "api_version": "v1",
        "version": env!("CARGO_PKG_VERSION"),
    }))
}
