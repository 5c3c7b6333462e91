//! Suspicious activity (`GET /accounts/:account_id/flags`): stamps a card's limits
//! refused, limits an owner overrode, staff members locked out by wrong PINs; newest
//! first, paginated like the customer list. Owners only.

use actix_web::http::StatusCode;
use actix_web::web::Path;
use actix_web::HttpRequest;
use serde_json::json;

use super::endpoint::{endpoints, Components, Doc, Endpoint, Resource};
use super::{json, pagination_params, Answer, Call, Pagination};
use crate::db;
use crate::params::query_map;

pub const RESOURCE: Resource = Resource::new("Flags", ENDPOINTS, components);

const ENDPOINTS: &[Endpoint] = endpoints!["/accounts/{account_id}/flags";
    Get "" => list, Doc::new("listFlags", "Suspicious activity, newest first").describe("`kind` is `refused` (a stamp past a card's limit, `limit_name` says which), `override` (an owner's `override: true` passed it) or `pin_lockout` (a staff member locked out by wrong PINs).").query(&["page", "items"]).ok(200, "One page of flags", "FlagPage");
];

pub async fn list(call: Call, path: Path<String>, req: HttpRequest) -> Answer {
    let q = query_map(&req);
    let body = call
        .read(move |conn, access| {
            let store_id = access.store(&path)?;
            let (page, items) = pagination_params(&q)?;
            let (flags, count) = db::flags::page(conn, store_id, page, items)?;
            Ok(json!({
                "flags": flags,
                "pagination": Pagination::new(count, items, page),
            }))
        })
        .await?;
    Ok(json(StatusCode::OK, &body))
}

fn components(c: &mut Components) {
    use super::openapi::schema::*;
    c.schema(
        "Flag",
        object(json!({
            "id": id(),
            "account_id": id(),
            "kind": enum_of(db::flags::Kind::ALL),
            "limit_name": nullable(enum_of(&["max_stamps_per_visit", "min_minutes_between_visits", "max_stamps_per_day"])),
            "message": string(),
            "customer_id": nullable(id()),
            "customer_card_id": nullable(id()),
            "stamps": nullable(json!({"type": "integer"})),
            "staff_id": nullable(id()),
            "staff_name": nullable(string()),
            "device_id": nullable(id()),
            "created_at": timestamp(),
        })),
    );
    c.schema("FlagPage", pagination_page("flags", "Flag"));
}
