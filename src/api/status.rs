//! `GET /api/v1/status`: readiness, no token needed; and the route of the OpenAPI
//! document beside it.

use actix_web::{web, HttpResponse};
use serde_json::json;

use super::endpoint::{endpoints, Components, Doc, Endpoint, Resource};
use super::openapi::schema::{boolean, count, enum_of, object, string};
use super::AppState;

pub const RESOURCE: Resource = Resource::new("Status", ENDPOINTS, components);

/// The operations answered without a token.
pub const PUBLIC_PATHS: &[&str] = &["/status", "/openapi.json", "/devices/pair"];

const ENDPOINTS: &[Endpoint] = endpoints!["";
    Get "/status" => show, Doc::new("getStatus", "Readiness check and rate-limit settings (no token needed)").ok(200, "The server is up", "Status");
    Get "/openapi.json" => super::openapi::show, Doc::new("getOpenApi", "This OpenAPI 3.0.3 document (no token needed)").ok(200, "The OpenAPI document", "OpenApiDocument");
];

/// How to authenticate, in one sentence (Leal's `authentication`).
const AUTHENTICATION: &str = "Send `Authorization: Bearer <token>` with every request except \
    GET /api/v1/status; a token is created with `stampd token create` and shown once.";

/// How a version is chosen, and what a deprecated one would send (Leal's `signalling`).
const SIGNALLING: &str = "The version is the first segment of the path (/api/v1). A \
    deprecated version would answer with `Deprecation` and `Sunset` headers and a `Link` \
    to the versioning policy; v1 is current and not deprecated.";

/// The window of the rate limit: limits are counted per minute.
const WINDOW_SECONDS: u32 = 60;

pub async fn show(state: web::Data<AppState>) -> HttpResponse {
    let per_minute = state.settings.rate_limit_per_minute;
    let base = &state.public_url;
    HttpResponse::Ok().json(json!({
        "status": "ok",
        "api_version": "v1",
        "authentication": AUTHENTICATION,
        "documentation_url": format!("{base}/docs"),
        "developer_portal_url": format!("{base}/docs"),
        "openapi_url": format!("{base}/api/v1/openapi.json"),
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
            "limit": per_minute,
            "window_seconds": WINDOW_SECONDS,
            "scope": "token",
            "enabled": per_minute > 0,
            "requests_per_minute": per_minute,
            "burst": per_minute,
        },
        "versioning": {
            "current": "v1",
            "supported": ["v1"],
            "deprecated": [],
            "policy_url": format!("{base}/docs#versioning"),
            "signalling": SIGNALLING,
        },
    }))
}

fn components(c: &mut Components) {
    c.schema(
        "Status",
        object(json!({
            "status": enum_of(&["ok"]),
            "api_version": enum_of(&["v1"]),
            "authentication": string(),
            "documentation_url": {"type": "string", "description": "This server's API reference (`/docs`)."},
            "developer_portal_url": {"type": "string", "description": "Where to start: the same reference."},
            "openapi_url": {"type": "string", "description": "This OpenAPI document."},
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
                "limit": {"type": "integer", "minimum": 0,
                    "description": "Requests a token may make per window; 0 when unlimited."},
                "window_seconds": {"type": "integer", "enum": [WINDOW_SECONDS]},
                "scope": enum_of(&["token"]),
                "enabled": boolean(),
                "requests_per_minute": count(),
                "burst": count(),
            })),
            "versioning": object(json!({
                "current": enum_of(&["v1"]),
                "supported": {"type": "array", "items": string()},
                "deprecated": {"type": "array", "items": string()},
                "policy_url": string(),
                "signalling": string(),
            })),
        })),
    );
}
