//! Deliveries (`/accounts/:account_id/deliveries`): the store's rows of the outbox, with
//! status — the card links by default, or one channel's (wallet pushes and updates
//! too) — and how each channel fares (`/deliveries/channels`): queue depth, kept
//! failures and the last error.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest};
use serde_json::{json, Value};

use super::endpoint::{Components, Doc, Endpoint, Resource, Verb::*};
use super::{json, pagination_params, Answer, Call, Pagination};
use crate::db;
use crate::db::outbox::{Filter, APNS, CHANNELS, EMAIL, GOOGLE, SMS, STATUSES};
use crate::error::FieldErrors;
use crate::params::{parse_integer, query_map};
use actix_web::web::route;

pub const RESOURCE: Resource = Resource {
    tag: "Deliveries",
    endpoints: ENDPOINTS,
    components,
};

const ENDPOINTS: &[Endpoint] = &[
    Endpoint {
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
    },
    Endpoint {
        method: Get,
        path: "/accounts/{account_id}/deliveries/channels",
        handler: || route().to(channels),
        doc: Doc {
            id: "listDeliveryChannels",
            summary: "How each channel of the outbox fares for the store",
            description: "Each channel (`email`, `sms` for card links; `apns`, `google` for wallet updates): whether it is configured, `ok` or `degraded` as the status shows it, and the store's rows not sent yet: waiting (`pending`, the oldest's age), kept after their last try failed (`failed`), and the newest error among them.",
            ok: (200, "Every channel", Some("DeliveryChannels")),
            ..Doc::PLAIN
        },
    },
];

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
            let channel = one_of("channel", CHANNELS);
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

/// `GET /deliveries/channels`: each channel's health and the store's backlog of it.
pub async fn channels(call: Call, path: web::Path<String>) -> Answer {
    let backlogs = call
        .read(move |conn, access| {
            let store_id = access.store(&path)?;
            Ok(db::outbox::backlogs(conn, store_id)?)
        })
        .await?;
    let settings = &call.state.settings;
    let health = call.state.outbox.health();
    let channels: Vec<Value> = backlogs
        .into_iter()
        .map(|(channel, b)| {
            let configured = match channel {
                EMAIL => settings.smtp.is_some(),
                SMS => settings.sms.is_some(),
                APNS => settings.apple.is_some(),
                GOOGLE => settings.google.is_some(),
                _ => false,
            };
            json!({
                "channel": channel,
                "configured": configured,
                "status": health.state(channel),
                "pending": b.pending,
                "failed": b.failed,
                "oldest_pending_at": b.oldest_pending_at,
                "last_error": b.last_error,
                "last_error_at": b.last_error_at,
            })
        })
        .collect();
    Ok(json(StatusCode::OK, &json!({ "channels": channels })))
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
        "Only deliveries by this channel: `email` or `sms` (card links), `apns` (a push to an \
         Apple Wallet device; the address is its push token) or `google` (a Google Wallet \
         `object/<uuid>`, `class/<card id>` or `message/<uuid>`). Without it: the card links.",
        json!({"type": "string", "enum": CHANNELS}),
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
            "customer_id": nullable(id()),
            "customer_card_id": nullable(id()),
            "channel": enum_of(CHANNELS),
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
    c.schema(
        "DeliveryChannel",
        object(json!({
            "channel": enum_of(CHANNELS),
            "configured": boolean(),
            "status": enum_of(&["ok", "degraded"]),
            "pending": count(),
            "failed": count(),
            "oldest_pending_at": nullable(timestamp()),
            "last_error": nullable(string()),
            "last_error_at": nullable(timestamp()),
        })),
    );
    c.schema(
        "DeliveryChannels",
        object(json!({
            "channels": {"type": "array", "items": schema_ref("DeliveryChannel")},
        })),
    );
}
