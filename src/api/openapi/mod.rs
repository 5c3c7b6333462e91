//! `GET /api/v1/openapi.json`: the OpenAPI 3.0.3 document of the JSON API (no token
//! needed), built from the endpoint declarations of every resource (`api::RESOURCES`).
//!
//! Each resource declares its operations beside its handlers and adds the schemas,
//! request bodies and query parameters they name; enums and length limits come from the
//! same constants the handlers validate with. This module adds what every operation
//! shares: the error responses follow from what an operation is (every operation with a
//! token can answer 401 and 429, every path with ids 404, every body-reading operation
//! 400, 408, 413, 415, 422 and 503, every list with query parameters 422).
//!
//! `tests/api/openapi.rs` validates live responses against these schemas.

pub mod schema;

use std::sync::OnceLock;

use actix_web::HttpResponse;
use serde_json::{json, Map, Value};

use super::endpoint::{Components, Endpoint, In, Resource};
pub use schema::form_schema;
use schema::{object, schema_ref, string};

pub async fn show() -> HttpResponse {
    static DOC: OnceLock<String> = OnceLock::new();
    let body = DOC.get_or_init(|| document().to_string());
    HttpResponse::Ok()
        .content_type("application/json")
        .body(body.clone())
}

/// The whole document.
pub fn document() -> Value {
    let resources = super::RESOURCES;
    let tags: Vec<Value> = resources.iter().map(|r| json!({ "name": r.tag })).collect();
    let mut components = Components::default();
    shared_components(&mut components);
    for r in resources {
        (r.components)(&mut components);
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "stampd API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": INFO,
        },
        "servers": [{"url": "/"}],
        "security": [{"bearerAuth": []}],
        "tags": tags,
        "paths": paths(resources),
        "components": {
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API token from `stampd token create` (or printed on first start).",
                },
            },
            "parameters": Value::Object(components.parameters),
            "headers": headers(),
            "requestBodies": Value::Object(components.request_bodies),
            "responses": error_responses(),
            "schemas": Value::Object(components.schemas),
        },
    })
}

const INFO: &str = "The wire contract of stampd, a self-hosted loyalty stamp-card server. \
It follows the Leal v1 REST API.\n\n\
- Every endpoint except `/api/v1/status` and `/api/v1/openapi.json` needs \
`Authorization: Bearer <token>`. A store the token may not reach answers 404, never 403.\n\
- Roles: an API token is an owner's. A paired device (`POST /api/v1/devices/pair`) \
sends its own token, and the staff member signed in on it their session \
(`X-Staff-Session`, from `POST .../staff/{id}/sessions` with their PIN); the request then \
has that member's role. Each operation says who may call it (`x-stampd-role`: `device`, \
`staff` or `owner`); a role that may not: 403 `{\"error\": \"Forbidden – owners only\"}`.\n\
- Path ids are positive integers; anything else is 404.\n\
- Bodies are JSON or Rails-style forms (`customer[first_name]=Ann&card_id=3`). Resource \
attributes sit under a root key (`account`, `card`, `reward`, `customer`, `location`, \
`poster`); as in Rails, a \
JSON body without the root key is taken as the attributes themselves. Action parameters \
(`card_id`, `send_card_links`, `stamps`, `skip_notifications`, `note`, `reward_id`, \
`customer_card_id`) sit at the top level. Bodies over 64 KiB: 413; other content types: \
415; bad JSON or JSON that is not an object: 400; a body that has not arrived 20 s after \
the request head: 408.\n\
- Booleans accept `true`, `false`, `1`, `0` (JSON values or strings); integers accept \
numbers or numeric strings; a blank string counts as `null`. Text is trimmed; NUL \
characters are refused (422).\n\
- Optional fields that are unset are present in responses as `null`. Timestamps are \
ISO 8601 in UTC with milliseconds and `Z`.\n\
- Errors: `{\"error\": \"summary\"}`; validation errors (422) add \
`\"errors\": {\"field\": [\"message\"]}`. Unknown routes: 404 `{\"error\": \"Not found\"}`; a \
wrong method on a known path: 405 with `Allow`.\n\
- POST, PATCH, PUT and DELETE may carry `Idempotency-Key`: a repeat within 24 hours with \
the same method, path and body gets the stored status and body \
(`Idempotent-Replayed: true`) without running again; a different body with a used key is \
422. Stored replies count against a quota per token: a keyed request whose reply does not \
fit is undone and answered 429 with `Retry-After`.\n\
- With rate limits on, every response to a request with a valid token carries \
`RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset`; past the limit: 429 with \
`Retry-After`. Requests without a valid token count against their client address \
(429 with `Retry-After` past its limit).";

fn paths(resources: &[Resource]) -> Value {
    let mut paths = Map::new();
    for r in resources {
        for e in r.endpoints {
            let item = paths
                .entry(format!("/api/v1{}", e.path))
                .or_insert_with(|| json!({}));
            item[e.method.openapi()] = operation(r.tag, e);
        }
    }
    Value::Object(paths)
}

/// Operations answered without a token.
fn public(e: &Endpoint) -> bool {
    super::status::PUBLIC_PATHS.contains(&e.path)
}

/// The path parameters of a path, in order.
fn path_params(path: &str) -> Vec<String> {
    path.split('/')
        .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(str::to_string)
        .collect()
}

fn operation(tag: &str, e: &Endpoint) -> Value {
    let op = &e.doc;
    let mut parameters: Vec<Value> = Vec::new();
    let segments: Vec<&str> = e.path.split('/').collect();
    for (i, seg) in segments.iter().enumerate() {
        let Some(name) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) else {
            continue;
        };
        let what = match (name, segments[i - 1]) {
            ("account_id", _) => "store (account)",
            ("customer_id", _) => "customer",
            (_, "cards") => "card template",
            (_, "rewards") => "reward",
            (_, "customers") => "customer",
            (_, "customer_cards") => "customer card",
            (_, "locations") => "location",
            (_, "posters") => "poster",
            (_, "staff") => "staff member",
            (_, "devices") => "paired device",
            _ => "resource",
        };
        parameters.push(json!({
            "name": name,
            "in": "path",
            "required": true,
            "description": format!("Id of the {what}; anything but a positive integer is 404."),
            "schema": {"type": "integer", "format": "int64", "minimum": 1},
        }));
    }
    for q in op.query {
        parameters.push(json!({"$ref": format!("#/components/parameters/{q}")}));
    }
    if e.method.writes() {
        parameters.push(json!({"$ref": "#/components/parameters/IdempotencyKey"}));
    }
    if !public(e) {
        parameters.push(json!({"$ref": "#/components/parameters/StaffSession"}));
    }

    let mut responses = Map::new();
    let mut ok = json!({
        "description": op.ok.1,
        "headers": rate_limit_header_refs(e.method.writes()),
    });
    if let Some(schema) = op.ok.2 {
        // Exports answer CSV, everything else JSON.
        let media = if schema == CSV_FILE {
            "text/csv"
        } else {
            "application/json"
        };
        ok["content"] = json!({media: {"schema": schema_ref(schema)}});
    }
    responses.insert(op.ok.0.to_string(), ok);
    let mut errors: Vec<(u16, &str)> = Vec::new();
    let reads_body = e.method.writes();
    if reads_body {
        errors.push((400, "BadRequest"));
    }
    if !public(e) {
        errors.push((401, "Unauthorized"));
        errors.push((403, "Forbidden"));
    }
    if !path_params(e.path).is_empty() {
        errors.push((404, "NotFound"));
    }
    if reads_body {
        errors.push((408, "RequestTimeout"));
        errors.push((413, "PayloadTooLarge"));
        errors.push((415, "UnsupportedMediaType"));
    }
    if reads_body || !op.query.is_empty() {
        errors.push((422, "Unprocessable"));
    }
    errors.push((429, "TooManyRequests"));
    errors.push((500, "InternalError"));
    if reads_body {
        errors.push((503, "StorageFull"));
    }
    for (status, name) in errors {
        responses.insert(
            status.to_string(),
            json!({"$ref": format!("#/components/responses/{name}")}),
        );
    }

    let mut o = json!({
        "operationId": op.id,
        "tags": [tag],
        "summary": op.summary,
        "responses": responses,
    });
    if !public(e) {
        let who = format!("Who may call it: {}", op.need.describe());
        o["description"] = json!(if op.description.is_empty() {
            who
        } else {
            format!("{}\n\n{who}", op.description)
        });
        o["x-stampd-role"] = json!(op.need.name());
    } else if !op.description.is_empty() {
        o["description"] = json!(op.description);
    }
    if !parameters.is_empty() {
        o["parameters"] = json!(parameters);
    }
    if public(e) {
        o["security"] = json!([]);
    }
    if let In::Body(name) = op.body {
        o["requestBody"] = json!({"$ref": format!("#/components/requestBodies/{name}")});
    }
    o
}

fn rate_limit_header_refs(write: bool) -> Value {
    let mut h = json!({
        "RateLimit-Limit": {"$ref": "#/components/headers/RateLimit-Limit"},
        "RateLimit-Remaining": {"$ref": "#/components/headers/RateLimit-Remaining"},
        "RateLimit-Reset": {"$ref": "#/components/headers/RateLimit-Reset"},
    });
    if write {
        h["Idempotent-Replayed"] = json!({"$ref": "#/components/headers/Idempotent-Replayed"});
    }
    h
}

/// What every resource may name: paging parameters, the idempotency header, the error
/// bodies and the pagination object.
fn shared_components(c: &mut Components) {
    c.query(
        "page",
        "Page number, from 1 (default 1). A page past the end is an empty list with correct `pagination`; not a positive integer: 422.",
        json!({"type": "integer", "minimum": 1, "default": 1}),
    );
    c.query(
        "items",
        "Page size (default 25); larger than 100 is clamped to 100; not a positive integer: 422.",
        json!({"type": "integer", "minimum": 1, "default": 25}),
    );
    c.parameters.insert(
        "IdempotencyKey".into(),
        json!({
            "name": "Idempotency-Key",
            "in": "header",
            "required": false,
            "description": "1 to 255 visible ASCII characters (else 400). The first request with a key (per token) runs; a repeat within 24 hours with the same method, path and body gets the stored status and body; a different request with the same key is 422. Stored replies count against the token's quota (`idempotency_quota_kib`); a request whose reply does not fit is undone and answered 429 with `Retry-After`.",
            "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"},
        }),
    );
    c.parameters.insert(
        "StaffSession".into(),
        json!({
            "name": super::roles::SESSION_HEADER,
            "in": "header",
            "required": false,
            "description": "On a paired device: the session of the staff member signed in on it (`token` of `POST .../staff/{id}/sessions`). The request has their role; without it, or once it has expired or they were made inactive, the device may only list the staff and sign in. Ignored with an owner's API token.",
            "schema": {"type": "string", "minLength": 1, "maxLength": 256},
        }),
    );
    c.schema("Error", object(json!({"error": string()})));
    c.schema(
        "ValidationError",
        object(json!({
            "error": string(),
            "errors": {
                "type": "object",
                "description": "Messages per field, e.g. {\"email\": [\"has already been taken\"]}",
                "additionalProperties": {"type": "array", "items": string()},
            },
        })),
    );
    c.schema(
        "OpenApiDocument",
        json!({
            "type": "object",
            "required": ["openapi", "info", "paths"],
            "properties": {"openapi": string(), "info": {"type": "object"}, "paths": {"type": "object"}},
            "additionalProperties": true,
        }),
    );
    c.schema(
        "Pagination",
        object(json!({
            "count": schema::count(),
            "items": {"type": "integer", "minimum": 1, "maximum": 100},
            "page": {"type": "integer", "minimum": 1},
            "pages": {"type": "integer", "minimum": 1},
        })),
    );
}

fn headers() -> Value {
    let int = |description: &str| json!({"description": description, "schema": {"type": "integer", "minimum": 0}});
    json!({
        "RateLimit-Limit": int("Requests a minute this token may make (present when rate limits are on and the request carries a valid token)."),
        "RateLimit-Remaining": int("Requests left in the current burst."),
        "RateLimit-Reset": int("Seconds until the burst is full again."),
        "Retry-After": int("Seconds to wait before retrying."),
        "Idempotent-Replayed": {
            "description": "`true` when this is the stored answer to an earlier request with the same `Idempotency-Key`.",
            "schema": {"type": "string", "enum": ["true"]},
        },
    })
}

fn error_responses() -> Value {
    let err = |description: &str, schema: &str| {
        json!({
            "description": description,
            "headers": rate_limit_header_refs(false),
            "content": {"application/json": {"schema": schema_ref(schema)}},
        })
    };
    let mut r = json!({
        "BadRequest": err("Malformed body (bad JSON, JSON that is not an object, a bad form, invalid UTF-8) or a malformed `Idempotency-Key`", "Error"),
        "Unauthorized": err("Missing, malformed, unknown or revoked token: `{\"error\": \"Unauthorized – invalid or missing API token\"}`", "Error"),
        "Forbidden": err("The store is reachable but the request's role may not do this: `{\"error\": \"Forbidden – owners only\"}` for staff on an owner-only operation, `Forbidden – sign in with a staff PIN first` for a paired device nobody is signed in on", "Error"),
        "NotFound": err("No such resource, or a store this token may not reach (`{\"error\": \"Customer not found\"}`, ...)", "Error"),
        "RequestTimeout": err("The body did not arrive within 20 s of the request head (a stalled client)", "Error"),
        "PayloadTooLarge": err("Body over 64 KiB", "Error"),
        "UnsupportedMediaType": err("Body of a type other than application/json or application/x-www-form-urlencoded", "Error"),
        "Unprocessable": err("Validation failed (Rails-style messages per field), a refused action, or an `Idempotency-Key` reused with a different request", "ValidationError"),
        "TooManyRequests": err("Rate limit exceeded, or a request with an `Idempotency-Key` whose reply does not fit in the token's quota of stored replies", "Error"),
        "InternalError": err("Never expected: `{\"error\": \"Internal server error\"}` (the cause is logged, never sent)", "Error"),
        "StorageFull": err("The server's disk is full; nothing was saved, reads keep working; retry later", "Error"),
    });
    r["TooManyRequests"]["headers"]["Retry-After"] =
        json!({"$ref": "#/components/headers/Retry-After"});
    r
}

/// The schema of an answer that is a CSV file (`text/csv`).
pub const CSV_FILE: &str = "CsvFile";
