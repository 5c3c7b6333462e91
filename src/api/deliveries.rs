//! Card-link deliveries (`/accounts/:account_id/deliveries`): the card-link channels'
//! rows of the outbox, with status.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest};
use serde_json::{json, Value};

use super::endpoint::{Components, Doc, Endpoint, Resource, Verb::*};
use super::{json, pagination_params, Answer, Call, Pagination};
use crate::db;
use crate::db::outbox::{Filter, CARD_LINK_CHANNELS, STATUSES};
use crate::error::FieldErrors;
use crate::params::{parse_integer, query_map};
use actix_web::web::route;

pub const RESOURCE: Resource = Resource {
    tag: "Deliveries",
    endpoints: ENDPOINTS,
    components,
};

const ENDPOINTS: &[Endpoint] = &[Endpoint {
    method: Get,
    path: "/accounts/{account_id}/deliveries",
    handler: || route().to(list),
    doc: Doc {
        id: "listDeliveries",
        summary: "Card-link deliveries (the outbox), newest first",
        query: &["status", "channel", "customer_id", "page", "items"],
        ok: (200, "One page of deliveries", Some("DeliveryPage")),
        ..Doc::PLAIN
    },
}];

pub async fn list(call: Call, path: web::Path<String>, req: HttpRequest) -> Answer {
    let q = query_map(&req);
    let body = call
        .read(move |conn, access| {
            let store_id = access.store(&path)?;
            let (page, items) = pagination_params(&q)?;
            let mut errors = FieldErrors::new();
            let mut one_of = |field: &str, allowed: &[&str]| {
                let value = q
                    .get(field)
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty());
                if value.as_deref().is_some_and(|v| !allowed.contains(&v)) {
                    errors.add(
                        field,
                        format!("is not included in the list ({})", allowed.join(", ")),
                    );
                }
                value
            };
            let status = one_of("status", STATUSES);
            let channel = one_of("channel", CARD_LINK_CHANNELS);
            let customer_id = match q.get("customer_id") {
                None => None,
                Some(v) => parse_integer(&Value::String(v.clone())).unwrap_or_else(|m| {
                    errors.add("customer_id", m);
                    None
                }),
            };
            errors.into_result()?;
            let (deliveries, count) = db::outbox::page(
                conn,
                store_id,
                &Filter {
                    status,
                    customer_id,
                    channel,
                },
                page,
                items,
            )?;
            Ok(json!({
                "deliveries": deliveries,
                "pagination": Pagination::new(count, items, page),
            }))
        })
        .await?;
    Ok(json(StatusCode::OK, &body))
}

fn components(c: &mut Components) {
    use super::openapi::schema::*;
    use serde_json::json;
    c.query(
        "status",
        "Only deliveries in this state (`suppressed`: held back by the card-link throttle, \
         never sent; the reason is in `last_error`).",
        json!({"type": "string", "enum": STATUSES}),
    );
    c.query(
        "channel",
        "Only deliveries by this channel.",
        json!({"type": "string", "enum": CARD_LINK_CHANNELS}),
    );
    c.query(
        "customer_id",
        "Only deliveries to this customer.",
        json!({"type": "integer", "format": "int64"}),
    );
    c.schema(
        "Delivery",
        object(json!({
            "id": id(),
            "account_id": id(),
            "customer_id": id(),
            "customer_card_id": id(),
            "channel": enum_of(CARD_LINK_CHANNELS),
            "address": string(),
            "status": enum_of(STATUSES),
            "attempts": count(),
            "last_error": nullable(string()),
            "next_attempt_at": nullable(timestamp()),
            "sent_at": nullable(timestamp()),
            "created_at": timestamp(),
            "updated_at": timestamp(),
        })),
    );
    c.schema("DeliveryPage", pagination_page("deliveries", "Delivery"));
}
