//! `GET /api/v1/openapi.json`: the OpenAPI 3.0.3 document of the JSON API (no token
//! needed).
//!
//! The document is built here from one table of operations ([`OPERATIONS`]) and a few
//! schema builders. Enums and length limits come from the same constants the handlers
//! validate with (`domain::limits`, `StampIcon::ALL`, ...), so they cannot drift apart.
//! The error responses of each operation are derived from what it is: every operation
//! with a token can answer 401 and 429, every path with ids 404, every body-reading
//! operation 400, 408, 413, 415, 422 and 503, every list with query parameters 422.
//!
//! `tests/openapi.rs` checks that the operations documented here are exactly the routes
//! of [`super::api_routes`] and validates live responses against these schemas.

use std::sync::OnceLock;

use actix_web::HttpResponse;
use serde_json::{json, Map, Value};

use super::{locations, posters};
use crate::domain::{limits, StampIcon, StripPreset, StripType};

pub async fn show() -> HttpResponse {
    static DOC: OnceLock<String> = OnceLock::new();
    let body = DOC.get_or_init(|| document().to_string());
    HttpResponse::Ok()
        .content_type("application/json")
        .body(body.clone())
}

/// What an operation takes as a body.
#[derive(Clone, Copy)]
enum In {
    /// No body (it is read, so the body errors still apply to write methods).
    Nothing,
    /// A body described by `components.requestBodies.<name>`.
    Body(&'static str),
}

/// One operation of the API.
struct Op {
    /// Path below `/api/v1`, as in `api_routes()`.
    path: &'static str,
    method: &'static str,
    id: &'static str,
    tag: &'static str,
    summary: &'static str,
    description: &'static str,
    /// Names of query parameters (`components.parameters`).
    query: &'static [&'static str],
    body: In,
    /// Success status, its description, and the schema of its body (`None`: no body).
    ok: (u16, &'static str, Option<&'static str>),
}

const PAGING: &[&str] = &["page", "items"];

const OPERATIONS: &[Op] = &[
    Op {
        path: "/status",
        method: "get",
        id: "getStatus",
        tag: "Status",
        summary: "Readiness check and rate-limit settings (no token needed)",
        description: "",
        query: &[],
        body: In::Nothing,
        ok: (200, "The server is up", Some("Status")),
    },
    Op {
        path: "/openapi.json",
        method: "get",
        id: "getOpenApi",
        tag: "Status",
        summary: "This OpenAPI 3.0.3 document (no token needed)",
        description: "",
        query: &[],
        body: In::Nothing,
        ok: (200, "The OpenAPI document", Some("OpenApiDocument")),
    },
    Op {
        path: "/accounts",
        method: "get",
        id: "listAccounts",
        tag: "Stores",
        summary: "The stores this token may reach",
        description: "",
        query: &[],
        body: In::Nothing,
        ok: (200, "The stores, by id", Some("StoreList")),
    },
    Op {
        path: "/accounts/{account_id}",
        method: "get",
        id: "getAccount",
        tag: "Stores",
        summary: "One store",
        description: "",
        query: &[],
        body: In::Nothing,
        ok: (200, "The store", Some("Store")),
    },
    Op {
        path: "/accounts/{account_id}",
        method: "patch",
        id: "updateAccount",
        tag: "Stores",
        summary: "Rename a store",
        description: "Partial: only the given keys change. `store_name: null` clears it.",
        query: &[],
        body: In::Body("AccountUpdate"),
        ok: (200, "The updated store", Some("Store")),
    },
    Op {
        path: "/accounts/{account_id}",
        method: "put",
        id: "updateAccountPut",
        tag: "Stores",
        summary: "Rename a store (same as PATCH)",
        description: "Partial, exactly like PATCH.",
        query: &[],
        body: In::Body("AccountUpdate"),
        ok: (200, "The updated store", Some("Store")),
    },
    Op {
        path: "/accounts/{account_id}/cards",
        method: "get",
        id: "listCards",
        tag: "Cards",
        summary: "The store's card templates",
        description: "",
        query: &["scope"],
        body: In::Nothing,
        ok: (200, "The card templates, by id", Some("CardList")),
    },
    Op {
        path: "/accounts/{account_id}/cards",
        method: "post",
        id: "createCard",
        tag: "Cards",
        summary: "Create a card template",
        description: "",
        query: &[],
        body: In::Body("CardCreate"),
        ok: (201, "The new card template", Some("Card")),
    },
    Op {
        path: "/accounts/{account_id}/cards/{id}",
        method: "get",
        id: "getCard",
        tag: "Cards",
        summary: "One card template",
        description: "",
        query: &[],
        body: In::Nothing,
        ok: (200, "The card template", Some("Card")),
    },
    Op {
        path: "/accounts/{account_id}/cards/{id}",
        method: "patch",
        id: "updateCard",
        tag: "Cards",
        summary: "Change, archive or restore a card template",
        description: "Partial: only the given keys change. `archived: true|false` archives \
                      or restores (there is no DELETE). `stamps_required` may not go below a \
                      reward of the card.",
        query: &[],
        body: In::Body("CardUpdate"),
        ok: (200, "The updated card template", Some("Card")),
    },
    Op {
        path: "/accounts/{account_id}/cards/{id}",
        method: "put",
        id: "updateCardPut",
        tag: "Cards",
        summary: "Change a card template (same as PATCH)",
        description: "Partial, exactly like PATCH.",
        query: &[],
        body: In::Body("CardUpdate"),
        ok: (200, "The updated card template", Some("Card")),
    },
    Op {
        path: "/accounts/{account_id}/rewards",
        method: "get",
        id: "listRewards",
        tag: "Rewards",
        summary: "The store's rewards",
        description: "",
        query: &["card_id", "active"],
        body: In::Nothing,
        ok: (200, "The rewards, by card and position", Some("RewardList")),
    },
    Op {
        path: "/accounts/{account_id}/rewards",
        method: "post",
        id: "createReward",
        tag: "Rewards",
        summary: "Create a reward of a card template",
        description: "`card_id` must be a card of this store (else 404 `Card not found`); \
                      `stamps_required` at most the card's.",
        query: &[],
        body: In::Body("RewardCreate"),
        ok: (201, "The new reward", Some("Reward")),
    },
    Op {
        path: "/accounts/{account_id}/rewards/{id}",
        method: "get",
        id: "getReward",
        tag: "Rewards",
        summary: "One reward",
        description: "",
        query: &[],
        body: In::Nothing,
        ok: (200, "The reward", Some("Reward")),
    },
    Op {
        path: "/accounts/{account_id}/rewards/{id}",
        method: "patch",
        id: "updateReward",
        tag: "Rewards",
        summary: "Change a reward",
        description: "Partial. `card_id` never changes (422 `can't be changed`).",
        query: &[],
        body: In::Body("RewardUpdate"),
        ok: (200, "The updated reward", Some("Reward")),
    },
    Op {
        path: "/accounts/{account_id}/rewards/{id}",
        method: "put",
        id: "updateRewardPut",
        tag: "Rewards",
        summary: "Change a reward (same as PATCH)",
        description: "Partial, exactly like PATCH.",
        query: &[],
        body: In::Body("RewardUpdate"),
        ok: (200, "The updated reward", Some("Reward")),
    },
    Op {
        path: "/accounts/{account_id}/rewards/{id}",
        method: "delete",
        id: "deleteReward",
        tag: "Rewards",
        summary: "Delete a reward",
        description: "The ledger keeps naming it.",
        query: &[],
        body: In::Nothing,
        ok: (204, "Deleted (no body)", None),
    },
    Op {
        path: "/accounts/{account_id}/customers",
        method: "get",
        id: "listCustomers",
        tag: "Customers",
        summary: "Search and page through customers, newest first",
        description: "`search` matches, case-insensitively, a fragment of the first name, \
                      last name, full name or email; phone digits; a card code exactly (any \
                      case, spaces and dashes ignored); an external reference id exactly. \
                      `source` and/or `external_id` look up external references exactly (a \
                      `search` given with them is ignored).",
        query: &["search", "source", "external_id", "page", "items"],
        body: In::Nothing,
        ok: (200, "One page of customers", Some("CustomerPage")),
    },
    Op {
        path: "/accounts/{account_id}/customers",
        method: "post",
        id: "createCustomer",
        tag: "Customers",
        summary: "Create a customer, optionally enrolled in a card",
        description: "Needs `first_name` and at least one of `email` / `phone` (unique in \
                      the store; email compared trimmed and case-insensitively, phone as \
                      E.164). `card_id` enrols the customer (422 `card_id: not found`, `is \
                      archived`, `has expired`) and credits the card's `initial_stamps`; the \
                      response then carries `customer_card`. `send_card_links: true` queues \
                      the card's links by email and/or SMS.",
        query: &[],
        body: In::Body("CustomerCreate"),
        ok: (201, "The new customer", Some("CustomerCreated")),
    },
    Op {
        path: "/accounts/{account_id}/customers/{id}",
        method: "get",
        id: "getCustomer",
        tag: "Customers",
        summary: "One customer with all their cards",
        description: "",
        query: &[],
        body: In::Nothing,
        ok: (200, "The customer", Some("Customer")),
    },
    Op {
        path: "/accounts/{account_id}/customers/{id}",
        method: "patch",
        id: "updateCustomer",
        tag: "Customers",
        summary: "Change a customer",
        description: "Partial: only given keys change; `null` clears an optional field. \
                      `metadata` is merged shallowly (a key set to `null` is removed, \
                      `metadata: null` empties it); `external_references` are upserted by \
                      `(source, external_id)`. Stamps never change here.",
        query: &[],
        body: In::Body("CustomerUpdate"),
        ok: (200, "The updated customer", Some("Customer")),
    },
    Op {
        path: "/accounts/{account_id}/customers/{id}",
        method: "put",
        id: "updateCustomerPut",
        tag: "Customers",
        summary: "Change a customer (same as PATCH)",
        description: "Partial, exactly like PATCH.",
        query: &[],
        body: In::Body("CustomerUpdate"),
        ok: (200, "The updated customer", Some("Customer")),
    },
    Op {
        path: "/accounts/{account_id}/customers/{id}",
        method: "delete",
        id: "eraseCustomer",
        tag: "Customers",
        summary: "Erase a customer's personal data (GDPR; beyond Leal)",
        description: "Removes the customer's personal data; the anonymised ledger stays. The \
                      customer is gone from the API afterwards (404).",
        query: &[],
        body: In::Nothing,
        ok: (204, "Erased (no body)", None),
    },
    Op {
        path: "/accounts/{account_id}/customers/{id}/send_card_links",
        method: "post",
        id: "sendCardLinks",
        tag: "Customers",
        summary: "Queue the customer's card links again (email and/or SMS)",
        description: "For every card of the customer, or only `customer_card_id`. 422 when \
                      the customer has no card or the card is not theirs.",
        query: &[],
        body: In::Body("SendCardLinks"),
        ok: (201, "The queued deliveries", Some("DeliveriesQueued")),
    },
    Op {
        path: "/accounts/{account_id}/customers/{customer_id}/customer_cards",
        method: "get",
        id: "listCustomerCards",
        tag: "Customer cards",
        summary: "A customer's cards, oldest enrolment first",
        description: "",
        query: &[],
        body: In::Nothing,
        ok: (200, "The customer's cards", Some("CustomerCardList")),
    },
    Op {
        path: "/accounts/{account_id}/customers/{customer_id}/customer_cards/{id}",
        method: "get",
        id: "getCustomerCard",
        tag: "Customer cards",
        summary: "One customer card with its stamp progress",
        description: "",
        query: &[],
        body: In::Nothing,
        ok: (200, "The customer card", Some("CustomerCard")),
    },
    Op {
        path: "/accounts/{account_id}/customers/{customer_id}/customer_cards/{id}/stamp",
        method: "post",
        id: "stampCustomerCard",
        tag: "Customer cards",
        summary: "Add stamps (or correct with a negative number)",
        description: "`stamps` is a non-zero integer from -100 to 100; a correction may not \
                      take the card below 0 (422). Archived or expired cards accept no \
                      stamps (422). Send an `Idempotency-Key` so that a retry never stamps \
                      twice.",
        query: &[],
        body: In::Body("Stamp"),
        ok: (200, "The card after stamping", Some("CustomerCard")),
    },
    Op {
        path: "/accounts/{account_id}/customers/{customer_id}/customer_cards/{id}/redeem",
        method: "post",
        id: "redeemCustomerCard",
        tag: "Customer cards",
        summary: "Spend stamps on a reward of the card",
        description: "The reward must belong to the card's template (else 404 `Reward not \
                      found`) and be active, and the card must hold its `stamps_required` \
                      (else 422 `Redemption failed – not enough stamps or reward inactive`).",
        query: &[],
        body: In::Body("Redeem"),
        ok: (200, "The redemption", Some("RedemptionResult")),
    },
    Op {
        path: "/accounts/{account_id}/customers/{customer_id}/customer_cards/{id}/events",
        method: "get",
        id: "listCustomerCardEvents",
        tag: "Customer cards",
        summary: "The card's stamp ledger, newest first",
        description: "The sum of a card's `stamps` deltas equals its `stamps_count`.",
        query: PAGING,
        body: In::Nothing,
        ok: (200, "One page of ledger rows", Some("EventPage")),
    },
    Op {
        path: "/accounts/{account_id}/deliveries",
        method: "get",
        id: "listDeliveries",
        tag: "Deliveries",
        summary: "Card-link deliveries (the outbox), newest first",
        description: "",
        query: &["status", "customer_id", "page", "items"],
        body: In::Nothing,
        ok: (200, "One page of deliveries", Some("DeliveryPage")),
    },
    Op {
        path: "/accounts/{account_id}/locations",
        method: "get",
        id: "listLocations",
        tag: "Locations",
        summary: "The store's locations",
        description: "",
        query: &[],
        body: In::Nothing,
        ok: (200, "The locations, by id", Some("LocationList")),
    },
    Op {
        path: "/accounts/{account_id}/locations",
        method: "post",
        id: "createLocation",
        tag: "Locations",
        summary: "Create a location",
        description: "Needs `name` and `address`. `latitude` and `longitude` go together (shown on the lock screen of Apple passes).",
        query: &[],
        body: In::Body("LocationCreate"),
        ok: (201, "The new location", Some("Location")),
    },
    Op {
        path: "/accounts/{account_id}/locations/{id}",
        method: "get",
        id: "getLocation",
        tag: "Locations",
        summary: "One location",
        description: "",
        query: &[],
        body: In::Nothing,
        ok: (200, "The location", Some("Location")),
    },
    Op {
        path: "/accounts/{account_id}/locations/{id}",
        method: "patch",
        id: "updateLocation",
        tag: "Locations",
        summary: "Change a location",
        description: "Partial: only the given keys change. `latitude: null` and `longitude: null` remove the position.",
        query: &[],
        body: In::Body("LocationUpdate"),
        ok: (200, "The updated location", Some("Location")),
    },
    Op {
        path: "/accounts/{account_id}/locations/{id}",
        method: "put",
        id: "updateLocationPut",
        tag: "Locations",
        summary: "Change a location (same as PATCH)",
        description: "Partial, exactly like PATCH.",
        query: &[],
        body: In::Body("LocationUpdate"),
        ok: (200, "The updated location", Some("Location")),
    },
    Op {
        path: "/accounts/{account_id}/locations/{id}",
        method: "delete",
        id: "deleteLocation",
        tag: "Locations",
        summary: "Delete a location",
        description: "",
        query: &[],
        body: In::Nothing,
        ok: (204, "Deleted (no body)", None),
    },
    Op {
        path: "/accounts/{account_id}/posters",
        method: "get",
        id: "listPosters",
        tag: "Posters",
        summary: "The store's posters",
        description: "",
        query: &[],
        body: In::Nothing,
        ok: (200, "The posters, by id", Some("PosterList")),
    },
    Op {
        path: "/accounts/{account_id}/posters",
        method: "post",
        id: "createPoster",
        tag: "Posters",
        summary: "Create a poster",
        description: "A QR-code signup sheet for one card template: `card_id` must be an active card of this store (404 `Card not found`; 422 when archived or expired). Its `signup_url` is a public page where a customer enrols by typing their name and email or phone.",
        query: &[],
        body: In::Body("PosterCreate"),
        ok: (201, "The new poster", Some("Poster")),
    },
    Op {
        path: "/accounts/{account_id}/posters/{id}",
        method: "get",
        id: "getPoster",
        tag: "Posters",
        summary: "One poster",
        description: "",
        query: &[],
        body: In::Nothing,
        ok: (200, "The poster", Some("Poster")),
    },
    Op {
        path: "/accounts/{account_id}/posters/{id}",
        method: "patch",
        id: "updatePoster",
        tag: "Posters",
        summary: "Change a poster",
        description: "Partial: only the given keys change. `card_id` never changes (422 `can't be changed`).",
        query: &[],
        body: In::Body("PosterUpdate"),
        ok: (200, "The updated poster", Some("Poster")),
    },
    Op {
        path: "/accounts/{account_id}/posters/{id}",
        method: "put",
        id: "updatePosterPut",
        tag: "Posters",
        summary: "Change a poster (same as PATCH)",
        description: "Partial, exactly like PATCH.",
        query: &[],
        body: In::Body("PosterUpdate"),
        ok: (200, "The updated poster", Some("Poster")),
    },
    Op {
        path: "/accounts/{account_id}/posters/{id}",
        method: "delete",
        id: "deletePoster",
        tag: "Posters",
        summary: "Delete a poster",
        description: "",
        query: &[],
        body: In::Nothing,
        ok: (204, "Deleted (no body)", None),
    },
];

/// The whole document.
pub fn document() -> Value {
    let tags: Vec<Value> = [
        "Status",
        "Stores",
        "Cards",
        "Rewards",
        "Customers",
        "Customer cards",
        "Deliveries",
        "Locations",
        "Posters",
    ]
    .iter()
    .map(|t| json!({ "name": t }))
    .collect();
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
        "paths": paths(),
        "components": {
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API token from `stampd token create` (or printed on first start).",
                },
            },
            "parameters": parameters(),
            "headers": headers(),
            "requestBodies": request_bodies(),
            "responses": error_responses(),
            "schemas": schemas(),
        },
    })
}

const INFO: &str = "The wire contract of stampd, a self-hosted loyalty stamp-card server. \
It follows the Leal v1 REST API.\n\n\
- Every endpoint except `/api/v1/status` and `/api/v1/openapi.json` needs \
`Authorization: Bearer <token>`. A store the token may not reach answers 404, never 403.\n\
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
422.\n\
- With rate limits on, every response to a request with a token carries \
`RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset`; past the limit: 429 with \
`Retry-After`.";

fn paths() -> Value {
    let mut paths = Map::new();
    for op in OPERATIONS {
        let item = paths
            .entry(format!("/api/v1{}", op.path))
            .or_insert_with(|| json!({}));
        item[op.method] = operation(op);
    }
    Value::Object(paths)
}

fn is_write(method: &str) -> bool {
    matches!(method, "post" | "patch" | "put" | "delete")
}

fn public(op: &Op) -> bool {
    matches!(op.path, "/status" | "/openapi.json")
}

/// The path parameters of a path, in order.
fn path_params(path: &str) -> Vec<String> {
    path.split('/')
        .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(str::to_string)
        .collect()
}

fn operation(op: &Op) -> Value {
    let mut parameters: Vec<Value> = Vec::new();
    let segments: Vec<&str> = op.path.split('/').collect();
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
    if is_write(op.method) {
        parameters.push(json!({"$ref": "#/components/parameters/IdempotencyKey"}));
    }

    let mut responses = Map::new();
    let mut ok = json!({
        "description": op.ok.1,
        "headers": rate_limit_header_refs(is_write(op.method)),
    });
    if let Some(schema) = op.ok.2 {
        ok["content"] = json!({"application/json": {"schema": schema_ref(schema)}});
    }
    responses.insert(op.ok.0.to_string(), ok);
    let mut errors: Vec<(u16, &str)> = Vec::new();
    let reads_body = is_write(op.method);
    if reads_body {
        errors.push((400, "BadRequest"));
    }
    if !public(op) {
        errors.push((401, "Unauthorized"));
    }
    if !path_params(op.path).is_empty() {
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
        "tags": [op.tag],
        "summary": op.summary,
        "responses": responses,
    });
    if !op.description.is_empty() {
        o["description"] = json!(op.description);
    }
    if !parameters.is_empty() {
        o["parameters"] = json!(parameters);
    }
    if public(op) {
        o["security"] = json!([]);
    }
    if let In::Body(name) = op.body {
        o["requestBody"] = json!({"$ref": format!("#/components/requestBodies/{name}")});
    }
    o
}

fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
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

fn parameters() -> Value {
    let query = |name: &str, description: &str, schema: Value| json!({"name": name, "in": "query", "required": false, "description": description, "schema": schema});
    json!({
        "page": query("page", "Page number, from 1 (default 1). A page past the end is an empty list with correct `pagination`; not a positive integer: 422.",
            json!({"type": "integer", "minimum": 1, "default": 1})),
        "items": query("items", "Page size (default 25); larger than 100 is clamped to 100; not a positive integer: 422.",
            json!({"type": "integer", "minimum": 1, "default": 25})),
        "search": query("search", "Free-text search (see the operation's description).",
            json!({"type": "string", "maxLength": limits::SEARCH})),
        "source": query("source", "External reference source; with `external_id`, an exact look-up.",
            json!({"type": "string"})),
        "external_id": query("external_id", "External reference id; with `source`, an exact look-up.",
            json!({"type": "string"})),
        "scope": query("scope", "Which templates: `active` (default), `archived` or `all`.",
            json!({"type": "string", "enum": ["active", "archived", "all"], "default": "active"})),
        "card_id": query("card_id", "Only rewards of this card template.",
            json!({"type": "integer", "format": "int64"})),
        "active": query("active", "Only active (`true`/`1`) or inactive (`false`/`0`) rewards.",
            json!({"type": "boolean"})),
        "status": query("status", "Only deliveries in this state.",
            json!({"type": "string", "enum": ["pending", "sent", "failed"]})),
        "customer_id": query("customer_id", "Only deliveries to this customer.",
            json!({"type": "integer", "format": "int64"})),
        "IdempotencyKey": {
            "name": "Idempotency-Key",
            "in": "header",
            "required": false,
            "description": "1 to 255 visible ASCII characters (else 400). The first request with a key (per token) runs; a repeat within 24 hours with the same method, path and body gets the stored status and body; a different request with the same key is 422.",
            "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"},
        },
    })
}

fn headers() -> Value {
    let int = |description: &str| json!({"description": description, "schema": {"type": "integer", "minimum": 0}});
    json!({
        "RateLimit-Limit": int("Requests a minute this token may make (present when rate limits are on and the request carries a token)."),
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
        "NotFound": err("No such resource, or a store this token may not reach (`{\"error\": \"Customer not found\"}`, ...)", "Error"),
        "RequestTimeout": err("The body did not arrive within 20 s of the request head (a stalled client)", "Error"),
        "PayloadTooLarge": err("Body over 64 KiB", "Error"),
        "UnsupportedMediaType": err("Body of a type other than application/json or application/x-www-form-urlencoded", "Error"),
        "Unprocessable": err("Validation failed (Rails-style messages per field), a refused action, or an `Idempotency-Key` reused with a different request", "ValidationError"),
        "TooManyRequests": err("Rate limit exceeded", "Error"),
        "InternalError": err("Never expected: `{\"error\": \"Internal server error\"}` (the cause is logged, never sent)", "Error"),
        "StorageFull": err("The server's disk is full; nothing was saved, reads keep working; retry later", "Error"),
    });
    r["TooManyRequests"]["headers"]["Retry-After"] =
        json!({"$ref": "#/components/headers/Retry-After"});
    r
}

// ---- schemas -------------------------------------------------------------------------

/// A response object: every property always present, nothing else.
fn object(properties: Value) -> Value {
    let required: Vec<String> = properties
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    json!({
        "type": "object",
        "required": required,
        "properties": properties,
        "additionalProperties": false,
    })
}

fn nullable(mut schema: Value) -> Value {
    schema["nullable"] = json!(true);
    if let Some(e) = schema.get_mut("enum").and_then(Value::as_array_mut) {
        e.push(Value::Null);
    }
    schema
}

fn array_of(name: &str) -> Value {
    json!({"type": "array", "items": schema_ref(name)})
}

fn id() -> Value {
    json!({"type": "integer", "format": "int64", "minimum": 1})
}

fn count() -> Value {
    json!({"type": "integer", "format": "int64", "minimum": 0})
}

fn timestamp() -> Value {
    json!({"type": "string", "format": "date-time", "example": "2026-11-25T21:07:21.123Z"})
}

fn string() -> Value {
    json!({"type": "string"})
}

fn boolean() -> Value {
    json!({"type": "boolean"})
}

fn stored_colour() -> Value {
    json!({"type": "string", "pattern": "^#[0-9A-F]{6}$", "example": "#3B2F2F"})
}

fn enum_of(values: &[&str]) -> Value {
    json!({"type": "string", "enum": values})
}

fn pagination_page(list: &str, item: &str) -> Value {
    let mut props = Map::new();
    props.insert(list.into(), array_of(item));
    props.insert("pagination".into(), schema_ref("Pagination"));
    object(Value::Object(props))
}

fn schemas() -> Value {
    let store = object(json!({
        "id": id(),
        "name": string(),
        "store_name": nullable(string()),
        "display_store_name": string(),
        "personal": boolean(),
        "locations_count": count(),
        "cards_count": count(),
        "customers_count": count(),
        "posters_count": count(),
        "created_at": timestamp(),
        "updated_at": timestamp(),
    }));
    let card = object(json!({
        "id": id(),
        "account_id": id(),
        "name": string(),
        "card_color": stored_colour(),
        "text_color": stored_colour(),
        "stamp_icon": enum_of(StampIcon::ALL),
        "stamp_color": stored_colour(),
        "stamp_background_color": stored_colour(),
        "stamps_required": {"type": "integer", "minimum": limits::STAMPS_REQUIRED.start(),
            "maximum": limits::STAMPS_REQUIRED.end()},
        "initial_stamps": {"type": "integer", "minimum": 0,
            "maximum": limits::STAMPS_REQUIRED.end() - 1},
        "strip_type": enum_of(StripType::ALL),
        "strip_color": nullable(stored_colour()),
        "strip_preset": nullable(enum_of(StripPreset::ALL)),
        "header_text": nullable(string()),
        "show_member_field": boolean(),
        "show_stamps_to_reward_field": boolean(),
        "expires_at": nullable(timestamp()),
        "archived_at": nullable(timestamp()),
        "rewards_count": count(),
        "customer_cards_count": count(),
        "created_at": timestamp(),
        "updated_at": timestamp(),
    }));
    let reward = object(json!({
        "id": id(),
        "account_id": id(),
        "card_id": id(),
        "name": string(),
        "description": nullable(string()),
        "stamps_required": {"type": "integer", "minimum": 1},
        "position": {"type": "integer", "minimum": 0, "maximum": 10000},
        "active": boolean(),
        "created_at": timestamp(),
        "updated_at": timestamp(),
    }));
    let customer_card = object(json!({
        "id": id(),
        "account_id": id(),
        "customer_id": id(),
        "card_id": id(),
        "card_name": string(),
        "status": {
            "type": "string",
            "enum": ["active", "completed", "archived"],
            "description": "`completed` when stamps_count >= stamps_required; `archived` when the template is archived or expired.",
        },
        "stamps_count": count(),
        "stamps_required": {"type": "integer", "minimum": 1},
        "stamps_remaining": count(),
        "progress_percentage": {"type": "number", "minimum": 0, "maximum": 100},
        "code": {"type": "string", "description": "The barcode value, unique in the store."},
        "uuid": {"type": "string", "format": "uuid", "description": "Public id used in pass and web card URLs."},
        "pass_installed": boolean(),
        "apple_wallet_url": string(),
        "google_wallet_url": string(),
        "issued_at": timestamp(),
        "available_rewards": {
            "type": "array",
            "items": schema_ref("Reward"),
            "description": "Active rewards of the card whose stamps_required <= stamps_count, cheapest first.",
        },
        "created_at": timestamp(),
        "updated_at": timestamp(),
    }));
    let external_reference = object(json!({
        "source": string(),
        "external_id": string(),
        "metadata": {"type": "object", "additionalProperties": true},
    }));
    let customer_props = json!({
        "id": id(),
        "account_id": id(),
        "first_name": string(),
        "last_name": nullable(string()),
        "email": nullable(string()),
        "phone": nullable({
            let mut p = string();
            p["description"] = json!("E.164, e.g. +14155550132");
            p
        }),
        "birthday": nullable(json!({"type": "string", "format": "date"})),
        "stamp_count": {"type": "integer", "description": "Sum of stamps over the customer's cards."},
        "metadata": {"type": "object", "additionalProperties": true},
        "external_references": array_of("ExternalReference"),
        "customer_cards": array_of("CustomerCard"),
        "created_at": timestamp(),
        "updated_at": timestamp(),
    });
    let customer = object(customer_props.clone());
    let mut customer_created = object(customer_props);
    customer_created["properties"]["customer_card"] = schema_ref("CustomerCard");
    customer_created["description"] =
        json!("The customer; `customer_card` (the new card) only when `card_id` was given.");
    let event = object(json!({
        "id": id(),
        "customer_card_id": id(),
        "kind": enum_of(&["welcome_bonus", "stamp", "adjustment", "redemption"]),
        "stamps": {"type": "integer", "description": "Signed delta."},
        "balance_after": count(),
        "reward_id": nullable(id()),
        "reward_name": nullable(string()),
        "note": nullable(string()),
        "token_id": nullable(id()),
        "skip_notifications": boolean(),
        "created_at": timestamp(),
    }));
    let delivery = object(json!({
        "id": id(),
        "account_id": id(),
        "customer_id": id(),
        "customer_card_id": id(),
        "channel": enum_of(&["email", "sms"]),
        "address": string(),
        "status": enum_of(&["pending", "sent", "failed"]),
        "attempts": count(),
        "last_error": nullable(string()),
        "next_attempt_at": nullable(timestamp()),
        "sent_at": nullable(timestamp()),
        "created_at": timestamp(),
        "updated_at": timestamp(),
    }));
    let redemption = object(json!({
        "success": {"type": "boolean", "enum": [true]},
        "redemption": object(json!({
            "id": id(),
            "reward_id": id(),
            "reward_name": string(),
            "stamps_spent": {"type": "integer", "minimum": 1},
            "stamps_remaining": count(),
            "redeemed_at": timestamp(),
        })),
    }));
    let status = object(json!({
        "status": enum_of(&["ok"]),
        "api_version": enum_of(&["v1"]),
        "version": string(),
        "database_check": enum_of(&["ok", "running"]),
        "rate_limit": object(json!({
            "enabled": boolean(),
            "requests_per_minute": count(),
            "burst": count(),
            "scope": enum_of(&["token"]),
        })),
    }));
    let location = object(json!({
        "id": id(),
        "account_id": id(),
        "name": string(),
        "address": string(),
        "latitude": nullable(json!({"type": "number", "minimum": -90, "maximum": 90})),
        "longitude": nullable(json!({"type": "number", "minimum": -180, "maximum": 180})),
        "created_at": timestamp(),
        "updated_at": timestamp(),
    }));
    let poster = object(json!({
        "id": id(),
        "account_id": id(),
        "card_id": id(),
        "title": string(),
        "paper_size": enum_of(posters::PAPER_SIZES),
        "primary_color": stored_colour(),
        "secondary_color": stored_colour(),
        "text_color": stored_colour(),
        "contact_collection_mode": enum_of(posters::CONTACT_MODES),
        "birthday_required": boolean(),
        "active": boolean(),
        "signup_url": {"type": "string", "description": "Public signup page of the poster."},
        "qr_code_url": {"type": "string", "description": "What the poster's QR code encodes."},
        "display_url": {"type": "string", "description": "A printable page of the poster."},
        "created_at": timestamp(),
        "updated_at": timestamp(),
    }));
    let pagination = object(json!({
        "count": count(),
        "items": {"type": "integer", "minimum": 1, "maximum": 100},
        "page": {"type": "integer", "minimum": 1},
        "pages": {"type": "integer", "minimum": 1},
    }));
    let error = object(json!({"error": string()}));
    let validation_error = object(json!({
        "error": string(),
        "errors": {
            "type": "object",
            "description": "Messages per field, e.g. {\"email\": [\"has already been taken\"]}",
            "additionalProperties": {"type": "array", "items": string()},
        },
    }));
    json!({
        "Error": error,
        "ValidationError": validation_error,
        "Status": status,
        "OpenApiDocument": {
            "type": "object",
            "required": ["openapi", "info", "paths"],
            "properties": {"openapi": string(), "info": {"type": "object"}, "paths": {"type": "object"}},
            "additionalProperties": true,
        },
        "Store": store,
        "StoreList": array_of("Store"),
        "Card": card,
        "CardList": array_of("Card"),
        "Reward": reward,
        "RewardList": array_of("Reward"),
        "ExternalReference": external_reference,
        "CustomerCard": customer_card,
        "CustomerCardList": array_of("CustomerCard"),
        "Customer": customer,
        "CustomerCreated": customer_created,
        "CustomerPage": pagination_page("customers", "Customer"),
        "Event": event,
        "EventPage": pagination_page("events", "Event"),
        "Delivery": delivery,
        "DeliveryPage": pagination_page("deliveries", "Delivery"),
        "DeliveriesQueued": object(json!({"deliveries": array_of("Delivery")})),
        "RedemptionResult": redemption,
        "Location": location,
        "LocationList": array_of("Location"),
        "Poster": poster,
        "PosterList": array_of("Poster"),
        "Pagination": pagination,
    })
}

// ---- request bodies ----------------------------------------------------------------------

fn text(max: usize) -> Value {
    json!({"type": "string", "maxLength": max})
}

/// A whole number in a request (numeric strings are accepted too).
fn int(min: i64, max: i64) -> Value {
    json!({"type": "integer", "minimum": min, "maximum": max})
}

fn input_colour() -> Value {
    json!({"type": "string", "pattern": "^#[0-9A-Fa-f]{6}$", "example": "#3B2F2F"})
}

/// A request object: the given properties, `required` ones, and unknown keys ignored.
fn input(properties: Value, required: &[&str]) -> Value {
    let mut o = json!({"type": "object", "properties": properties});
    if !required.is_empty() {
        o["required"] = json!(required);
    }
    o
}

fn card_attributes(creating: bool) -> Value {
    input(
        json!({
            "name": text(limits::CARD_NAME),
            "card_color": input_colour(),
            "text_color": input_colour(),
            "stamp_icon": {"type": "string", "enum": StampIcon::ALL, "default": StampIcon::DEFAULT},
            "stamp_color": input_colour(),
            "stamp_background_color": input_colour(),
            "stamps_required": {"type": "integer", "minimum": limits::STAMPS_REQUIRED.start(),
                "maximum": limits::STAMPS_REQUIRED.end(), "default": 10},
            "initial_stamps": nullable(json!({"type": "integer", "minimum": 0,
                "maximum": limits::STAMPS_REQUIRED.end() - 1, "default": 0,
                "description": "Welcome bonus, 0 to stamps_required - 1."})),
            "strip_type": {"type": "string", "enum": StripType::ALL, "default": "color"},
            "strip_color": nullable(input_colour()),
            "strip_preset": nullable(json!({"type": "string", "enum": StripPreset::ALL,
                "description": "Required when strip_type is preset."})),
            "header_text": nullable(text(limits::HEADER_TEXT)),
            "show_member_field": boolean(),
            "show_stamps_to_reward_field": boolean(),
            "expires_at": nullable(json!({"type": "string", "format": "date-time",
                "description": "An ISO 8601 (RFC 3339) time with any offset, or a date (YYYY-MM-DD) meaning the end of that day, UTC; years 1900 to 9999."})),
            "archived": {"type": "boolean", "description": "true archives, false restores."},
        }),
        if creating { &["name"] } else { &[] },
    )
}

fn reward_attributes(creating: bool) -> Value {
    let mut props = json!({
        "name": text(limits::CARD_NAME),
        "description": nullable(text(limits::DESCRIPTION)),
        "stamps_required": {"type": "integer", "minimum": limits::STAMPS_REQUIRED.start(),
            "maximum": limits::STAMPS_REQUIRED.end(),
            "description": "At most the card's stamps_required."},
        "position": nullable(int(0, 10_000)),
        "active": {"type": "boolean", "default": true},
    });
    if creating {
        props["card_id"] = json!({"type": "integer", "format": "int64", "minimum": 1,
            "description": "Required: a card template of this store (or give card_id at the top level)."});
    }
    input(
        props,
        if creating {
            &["name", "stamps_required"]
        } else {
            &[]
        },
    )
}

fn location_attributes(creating: bool) -> Value {
    input(
        json!({
            "name": text(locations::NAME_MAX),
            "address": text(locations::ADDRESS_MAX),
            "latitude": nullable(json!({"type": "number", "minimum": -90, "maximum": 90,
                "description": "Degrees; given together with longitude."})),
            "longitude": nullable(json!({"type": "number", "minimum": -180, "maximum": 180,
                "description": "Degrees; given together with latitude."})),
        }),
        if creating { &["name", "address"] } else { &[] },
    )
}

fn poster_attributes(creating: bool) -> Value {
    let mut props = json!({
        "title": text(posters::TITLE_MAX),
        "paper_size": {"type": "string", "enum": posters::PAPER_SIZES, "default": "a4"},
        "contact_collection_mode": {"type": "string", "enum": posters::CONTACT_MODES,
            "default": "email_or_phone", "description": "What the signup page asks for."},
        "primary_color": input_colour(),
        "secondary_color": input_colour(),
        "text_color": input_colour(),
        "birthday_required": {"type": "boolean", "default": false},
        "active": {"type": "boolean", "default": true},
    });
    if creating {
        props["card_id"] = json!({"type": "integer", "format": "int64", "minimum": 1,
            "description": "Required: an active card template of this store (or give card_id at the top level)."});
    }
    input(props, if creating { &["title"] } else { &[] })
}

fn customer_attributes(creating: bool) -> Value {
    input(
        json!({
            "first_name": text(limits::NAME),
            "last_name": nullable(text(limits::NAME)),
            "email": nullable(json!({"type": "string", "format": "email", "maxLength": limits::EMAIL})),
            "phone": nullable(json!({"type": "string", "maxLength": limits::PHONE_INPUT,
                "description": "Any common notation; stored as E.164 using the server's default country."})),
            "birthday": nullable(json!({"type": "string", "format": "date",
                "description": "YYYY-MM-DD, a real date, not in the future, not before 1900."})),
            "metadata": nullable(json!({"type": "object", "additionalProperties": true,
                "description": "At most 16 KiB of JSON. On update merged shallowly; a key set to null is removed."})),
            "external_references": nullable(json!({
                "type": "array",
                "maxItems": limits::EXTERNAL_REFERENCES,
                "items": input(json!({
                    "source": text(limits::EXTERNAL_SOURCE),
                    "external_id": text(limits::EXTERNAL_ID),
                    "metadata": nullable(json!({"type": "object", "additionalProperties": true})),
                }), &["source", "external_id"]),
            })),
        }),
        if creating { &["first_name"] } else { &[] },
    )
}

/// `{"<root>": attributes}` plus top-level action parameters.
fn wrapped(root: &str, attributes: Value, mut top: Map<String, Value>) -> Value {
    let mut props = Map::new();
    props.insert(root.to_string(), attributes);
    props.append(&mut top);
    let mut o = input(Value::Object(props), &[root]);
    o["description"] = json!(format!(
        "Attributes under `{root}`; as in Rails, a body without the `{root}` key is taken as the attributes themselves."
    ));
    o
}

fn request_bodies() -> Value {
    let none = Map::new;
    let mut customer_top = Map::new();
    customer_top.insert(
        "card_id".into(),
        json!({"type": "integer", "format": "int64", "minimum": 1,
            "description": "Enrol the new customer in this card template."}),
    );
    customer_top.insert(
        "send_card_links".into(),
        json!({"type": "boolean", "default": false,
            "description": "Queue the card's links by email and/or SMS (needs card_id)."}),
    );
    let mut reward_top = Map::new();
    reward_top.insert(
        "card_id".into(),
        json!({"type": "integer", "format": "int64", "minimum": 1,
            "description": "Alternative to card_id inside the attributes."}),
    );
    let reward_create = wrapped("reward", reward_attributes(true), reward_top.clone());
    let poster_create = wrapped("poster", poster_attributes(true), reward_top);

    let bodies = [
        (
            "AccountUpdate",
            false,
            wrapped(
                "account",
                input(
                    json!({
                        "name": text(limits::STORE_NAME),
                        "store_name": nullable(text(limits::STORE_NAME)),
                    }),
                    &[],
                ),
                none(),
            ),
        ),
        (
            "CardCreate",
            true,
            wrapped("card", card_attributes(true), none()),
        ),
        (
            "CardUpdate",
            false,
            wrapped("card", card_attributes(false), none()),
        ),
        ("RewardCreate", true, reward_create),
        (
            "RewardUpdate",
            false,
            wrapped("reward", reward_attributes(false), none()),
        ),
        (
            "LocationCreate",
            true,
            wrapped("location", location_attributes(true), none()),
        ),
        (
            "LocationUpdate",
            false,
            wrapped("location", location_attributes(false), none()),
        ),
        ("PosterCreate", true, poster_create),
        (
            "PosterUpdate",
            false,
            wrapped("poster", poster_attributes(false), none()),
        ),
        (
            "CustomerCreate",
            true,
            wrapped("customer", customer_attributes(true), customer_top),
        ),
        (
            "CustomerUpdate",
            false,
            wrapped("customer", customer_attributes(false), none()),
        ),
        (
            "SendCardLinks",
            false,
            input(
                json!({"customer_card_id": {"type": "integer", "format": "int64", "minimum": 1,
                    "description": "Only this card of the customer (default: all their cards)."}}),
                &[],
            ),
        ),
        (
            "Stamp",
            true,
            input(
                json!({
                    "stamps": {"type": "integer", "minimum": -limits::STAMPS_PER_REQUEST,
                        "maximum": limits::STAMPS_PER_REQUEST, "not": {"enum": [0]},
                        "description": "Non-zero; negative corrects a mistake."},
                    "skip_notifications": {"type": "boolean", "default": false},
                    "note": nullable(text(limits::NOTE)),
                }),
                &["stamps"],
            ),
        ),
        (
            "Redeem",
            true,
            input(
                json!({
                    "reward_id": {"type": "integer", "format": "int64", "minimum": 1},
                    "note": nullable(text(limits::NOTE)),
                }),
                &["reward_id"],
            ),
        ),
    ];
    let mut out = Map::new();
    for (name, required, schema) in bodies {
        let form = form_schema(&schema);
        out.insert(
            name.to_string(),
            json!({
                "required": required,
                "content": {
                    "application/json": {"schema": schema},
                    "application/x-www-form-urlencoded": {"schema": form},
                },
            }),
        );
    }
    Value::Object(out)
}

/// The Rails-style form version of a JSON request schema: nested keys flattened to
/// `root[field]` and `root[list][][field]`; free-form objects (metadata) left out; no
/// nulls (a blank value counts as null).
fn form_schema(schema: &Value) -> Value {
    let mut props = Map::new();
    let mut required = Vec::new();
    flatten(schema, "", true, &mut props, &mut required);
    let mut o = json!({
        "type": "object",
        "description": "Rails-style form: nested attributes as `root[field]`, list entries as `root[list][][field]`, metadata keys as `root[metadata][key]` (values are text). Every value is text: numbers and booleans (`true`, `false`, `1`, `0`) as written; a blank value counts as null.",
        "properties": props,
    });
    if !required.is_empty() {
        o["required"] = json!(required);
    }
    o
}

fn flatten(
    schema: &Value,
    prefix: &str,
    parent_required: bool,
    props: &mut Map<String, Value>,
    required: &mut Vec<String>,
) {
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
        return;
    };
    let req: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    for (key, sub) in properties {
        let name = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}[{key}]")
        };
        let is_required = parent_required && req.contains(&key.as_str());
        match sub.get("type").and_then(Value::as_str) {
            Some("object") => flatten(sub, &name, is_required, props, required),
            Some("array") => {
                if let Some(items) = sub.get("items") {
                    flatten(items, &format!("{name}[]"), false, props, required);
                }
            }
            _ => {
                let mut s = sub.clone();
                if let Some(m) = s.as_object_mut() {
                    m.remove("nullable");
                    if let Some(Value::Array(e)) = m.get_mut("enum") {
                        e.retain(|v| !v.is_null());
                    }
                }
                if is_required {
                    required.push(name.clone());
                }
                props.insert(name, s);
            }
        }
    }
}
