//! `GET /api/v1/status`: readiness, no token needed; and the route of the OpenAPI
//! document beside it.

use actix_web::{web, HttpResponse};
use serde_json::json;

use super::endpoint::{endpoints, Components, Doc, Endpoint, Resource};
use super::openapi::schema::{boolean, count, enum_of, object, string};
use super::AppState;

pub const RESOURCE: Resource = Resource::new("Status", ENDPOINTS, components);

/// The operations answered without a token.
pub const PUBLIC_PATHS: &[&str] = &["/status", "/openapi.json"];

const ENDPOINTS: &[Endpoint] = endpoints!["";
    Get "/status" => show, Doc::new("getStatus", "Readiness check and rate-limit settings (no token needed)").ok(200, "The server is up", "Status");
    Get "/openapi.json" => super::openapi::show, Doc::new("getOpenApi", "This OpenAPI 3.0.3 document (no token needed)").ok(200, "The OpenAPI document", "OpenApiDocument");
];

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
        // Each channel of the outbox, as "ok" or "degraded" only: what is wrong (queue
        // depths, errors) is behind a token, at /accounts/:id/deliveries/channels.
        "channels": crate::db::outbox::CHANNELS
            .iter()
            .map(|&c| (c.to_string(), state.outbox.health().state(c).into()))
            .collect::<serde_json::Map<_, _>>(),
        "rate_limit": {
            "enabled": per_minute > 0,
            "requests_per_minute": per_minute,
            "burst": per_minute,
            "scope": "token",
        },
    }))
}

fn components(c: &mut Components) {
    c.schema(
        "Status",
        object(json!({
            "status": enum_of(&["ok"]),
            "api_version": enum_of(&["v1"]),
            "version": string(),
            "database_check": enum_of(&["ok", "running"]),
            "channels": object(
                crate::db::outbox::CHANNELS
                    .iter()
                    .map(|&c| (c.to_string(), enum_of(&["ok", "degraded"])))
                    .collect::<serde_json::Map<_, _>>()
                    .into(),
            ),
            "rate_limit": object(json!({
                "enabled": boolean(),
                "requests_per_minute": count(),
                "burst": count(),
                "scope": enum_of(&["token"]),
            })),
        })),
    );
}
