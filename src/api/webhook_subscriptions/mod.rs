//! Webhook subscriptions (`/accounts/:account_id/webhook_subscriptions`, Leal's v1
//! resource): CRUD, `rotate_secret`, `test`, and beyond Leal the delivery list and
//! `redeliver`. Target URLs are resolved before the hop to the writer (the guard must
//! not hold it up), and `test` delivers on a blocking thread of its own.

mod input;

use actix_web::http::StatusCode;
use actix_web::web::{self, Path};
use actix_web::HttpRequest;
use serde_json::{json, Value};

use super::endpoint::{endpoints, Components, Doc, Endpoint, Resource};
use super::{json, pagination_params, Answer, Call, Pagination, Reply};
use crate::config::Settings;
use crate::db;
use crate::db::webhooks::deliveries::{self as history, Redeliver, Try};
use crate::db::webhooks::{self as subs, Subscription, ALL, EVENTS, TEST_EVENT};
use crate::error::{ApiError, FieldErrors};
use crate::params::{query_map, Body};
use crate::time_fmt;
use crate::webhooks::dns::Resolver;
use crate::webhooks::send::{Request, Sender};
use input::SubscriptionInput;

pub const RESOURCE: Resource = Resource::new("Webhook subscriptions", ENDPOINTS, components);

const ENDPOINTS: &[Endpoint] = endpoints!["/accounts/{account_id}/webhook_subscriptions";
    Get "" => list, Doc::new("listWebhookSubscriptions", "The store's webhook subscriptions, oldest first").describe("Without their secrets. `event` keeps those that receive that event.").query(&["event"]).ok(200, "The subscriptions", "WebhookSubscriptionList");
    Post "" => create, Doc::new("createWebhookSubscription", "Subscribe a URL to events").describe("`target_url` (https; not a private, loopback or link-local address unless `webhooks_allow_private_targets`) and `events` or `event` are required; `flat` cannot go with `*`. The answer carries the signing `secret`.").body("WebhookSubscriptionCreate").ok(201, "The new subscription, with its secret", "WebhookSubscriptionWithSecret");
    Get "/{id}" => show, Doc::new("getWebhookSubscription", "One webhook subscription, with its secret").ok(200, "The subscription", "WebhookSubscriptionWithSecret");
    Patch "/{id}" => update, Doc::new("updateWebhookSubscription", "Change a webhook subscription").describe("Partial. `enabled: false` disables it (`disabled_reason` `disabled_by_user`) and drops what is queued for it; `enabled: true` enables it again whatever the reason.").body("WebhookSubscriptionUpdate").ok(200, "The updated subscription", "WebhookSubscription"), Put "updateWebhookSubscriptionPut" "Change a webhook subscription (same as PATCH)";
    Delete "/{id}" => delete, Doc::new("deleteWebhookSubscription", "Delete a webhook subscription").describe("Its queued events are dropped.").empty(204, "Deleted (no body)");
    Post "/{id}/rotate_secret" => rotate_secret, Doc::new("rotateWebhookSubscriptionSecret", "A new signing secret").describe("The old secret keeps signing beside the new one for 24 hours (`webhook-signature` then carries two `v1,` entries).").ok(200, "The subscription with its new secret", "WebhookSubscriptionWithSecret");
    Post "/{id}/test" => test, Doc::new("testWebhookSubscription", "Send a signed `webhook.test` event now").describe("Not retried; the answer says how it went.").ok(200, "How the test delivery went", "WebhookTestResult");
    Get "/{id}/deliveries" => deliveries, Doc::new("listWebhookDeliveries", "The subscription's delivery attempts, newest first (beyond Leal)").query(&["page", "items"]).ok(200, "One page of attempts", "WebhookDeliveryPage");
    Post "/{id}/deliveries/{delivery_id}/redeliver" => redeliver, Doc::new("redeliverWebhookDelivery", "Queue an attempt's event again (beyond Leal)").describe("The event goes out again with the same `webhook-id`, as a first try. 422 when the subscription is disabled or the event is no longer kept.").ok(202, "Queued", "WebhookRedelivery");
];

const WHAT: &str = "Webhook subscription";

/// What the target guard finds for a body's `target_url`, asked on a blocking thread
/// before the hop to the writer.
async fn target_problem(settings: &Settings, body: &Body) -> Result<Option<String>, ApiError> {
    let Some(url) = input::target_url(&body.params) else {
        return Ok(None);
    };
    let sender = Sender::new(
        Resolver::new(settings.webhook_dns_server),
        settings.webhooks_allow_private_targets,
        None,
        1,
    )
    .map_err(ApiError::internal)?;
    Ok(web::block(move || sender.check_target(&url).err()).await?)
}

fn find(conn: &rusqlite::Connection, store_id: i64, id: i64) -> Result<Subscription, ApiError> {
    subs::find(conn, store_id, id)?.ok_or_else(|| ApiError::not_found(WHAT))
}

pub async fn list(call: Call, path: Path<String>, req: HttpRequest) -> Answer {
    let q = query_map(&req);
    let body = call
        .read(move |conn, access| {
            let store_id = access.store(&path)?;
            let event = q
                .get("event")
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty());
            if let Some(e) = &event {
                if e != ALL && !EVENTS.contains(&e.as_str()) {
                    return Err(FieldErrors::single("event", "is not included in the list"));
                }
            }
            Ok(subs::list(conn, store_id, event.as_deref())?)
        })
        .await?;
    Ok(json(StatusCode::OK, &body))
}

pub async fn create(call: Call, path: Path<String>, body: Body) -> Answer {
    let settings = call.state.settings.clone();
    let problem = target_problem(&settings, &body).await?;
    let allow = settings.webhooks_allow_private_targets;
    let parse =
        move |params: &serde_json::Map<String, Value>| input::parse(params, true, allow, problem);
    call.write(body, parse, move |tx, access, input| {
        let store_id = access.store(&path)?;
        let crate::params::Parsed { value, mut errors } = input?;
        let mut fields = input::defaults();
        value.merge_into(&mut fields, &mut errors);
        errors.into_result()?;
        let id = subs::insert(tx, store_id, &fields, &subs::new_secret())?;
        Reply::created(&find(tx, store_id, id)?)
    })
    .await
}

pub async fn show(call: Call, path: Path<(String, String)>) -> Answer {
    let (account, id) = path.into_inner();
    let body = call
        .read(move |conn, access| {
            let (store_id, id) = access.record(&account, &id, WHAT)?;
            find(conn, store_id, id)
        })
        .await?;
    Ok(json(StatusCode::OK, &body))
}

pub async fn update(call: Call, path: Path<(String, String)>, body: Body) -> Answer {
    let (account, id) = path.into_inner();
    let settings = call.state.settings.clone();
    let problem = target_problem(&settings, &body).await?;
    let allow = settings.webhooks_allow_private_targets;
    let parse =
        move |params: &serde_json::Map<String, Value>| input::parse(params, false, allow, problem);
    let response = call
        .write(body, parse, move |tx, access, input| {
            let (store_id, id) = access.record(&account, &id, WHAT)?;
            let current = find(tx, store_id, id)?;
            let crate::params::Parsed { value, mut errors } = input?;
            let value: SubscriptionInput = value;
            let mut fields = subs::SubscriptionFields {
                target_url: current.target_url.clone(),
                events: current.events.clone(),
                payload_format: current.payload_format.clone(),
                description: current.description.clone(),
                enabled: current.enabled,
            };
            value.merge_into(&mut fields, &mut errors);
            errors.into_result()?;
            subs::update(tx, &current, &fields)?;
            let mut out = find(tx, store_id, id)?;
            out.secret = None;
            Reply::ok(&out)
        })
        .await;
    call.state.outbox.wake();
    response
}

pub async fn delete(call: Call, path: Path<(String, String)>, body: Body) -> Answer {
    let (account, id) = path.into_inner();
    call.write(body, super::no_input, move |tx, access, _| {
        let (store_id, id) = access.record(&account, &id, WHAT)?;
        if !subs::delete(tx, store_id, id)? {
            return Err(ApiError::not_found(WHAT));
        }
        Ok(Reply::no_content())
    })
    .await
}

/// How long a rotated secret keeps signing.
const OVERLAP: time::Duration = time::Duration::hours(24);

pub async fn rotate_secret(call: Call, path: Path<(String, String)>, body: Body) -> Answer {
    let (account, id) = path.into_inner();
    call.write(body, super::no_input, move |tx, access, _| {
        let (store_id, id) = access.record(&account, &id, WHAT)?;
        find(tx, store_id, id)?;
        let until = time_fmt::format_timestamp(time::OffsetDateTime::now_utc() + OVERLAP);
        subs::rotate_secret(tx, id, &subs::new_secret(), &until)?;
        Reply::ok(&find(tx, store_id, id)?)
    })
    .await
}

/// `POST .../test`: a signed `webhook.test` now, recorded in the delivery list, never
/// retried and never disabling the subscription.
pub async fn test(call: Call, path: Path<(String, String)>, _body: Body) -> Answer {
    let (account, id) = path.into_inner();
    let secrets = call
        .read(move |conn, access| {
            let (store_id, id) = access.record(&account, &id, WHAT)?;
            let found = conn
                .prepare_cached(
                    "SELECT target_url, secret, previous_secret, previous_secret_expires_at
                     FROM webhook_subscriptions WHERE id = ?1 AND store_id = ?2",
                )?
                .query_row(rusqlite::params![id, store_id], |r| {
                    Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                });
            match found {
                Ok((url, secret, previous, until)) => Ok((
                    id,
                    url,
                    subs::signing_secrets(secret, previous, until, &time_fmt::now()),
                )),
                Err(rusqlite::Error::QueryReturnedNoRows) => Err(ApiError::not_found(WHAT)),
                Err(e) => Err(e.into()),
            }
        })
        .await?;
    let (id, url, secrets) = secrets;
    let settings = &call.state.settings;
    let sender = Sender::new(
        Resolver::new(settings.webhook_dns_server),
        settings.webhooks_allow_private_targets,
        settings.extra_ca_file.as_deref(),
        1,
    )
    .map_err(ApiError::internal)?;
    let event_id = db::webhooks::events::new_event_id();
    let db = call.state.db.clone();
    let answer = web::block(move || {
        let now = time_fmt::now();
        let body = json!({
            "type": TEST_EVENT,
            "timestamp": now,
            "data": {"webhook_subscription_id": id},
        })
        .to_string();
        let outcome = sender.send(
            &Request {
                subscription_id: id,
                target_url: &url,
                secrets: &secrets,
                event_id: &event_id,
                event_type: TEST_EVENT,
                body: body.as_bytes(),
            },
            time::OffsetDateTime::now_utc().unix_timestamp(),
        );
        let t = Try {
            subscription_id: id,
            outbox_id: None,
            event_id: event_id.clone(),
            event_type: TEST_EVENT.into(),
            attempt: 1,
            status: outcome.status,
            error: outcome.error.clone(),
            duration_ms: outcome.duration_ms,
            at: now,
            next: history::Next::Done,
        };
        db.write(move |tx| Ok(history::record(tx, &[t])?))?;
        Ok::<_, ApiError>(json!({
            "delivered": outcome.delivered(),
            "status": outcome.status,
            "error": outcome.error,
            "event_id": event_id,
        }))
    })
    .await??;
    Ok(json(StatusCode::OK, &answer))
}

pub async fn deliveries(call: Call, path: Path<(String, String)>, req: HttpRequest) -> Answer {
    let (account, id) = path.into_inner();
    let q = query_map(&req);
    let body = call
        .read(move |conn, access| {
            let (store_id, id) = access.record(&account, &id, WHAT)?;
            find(conn, store_id, id)?;
            let (page, items) = pagination_params(&q)?;
            let (deliveries, count) = history::page(conn, id, page, items)?;
            Ok(json!({
                "deliveries": deliveries,
                "pagination": Pagination::new(count, items, page),
            }))
        })
        .await?;
    Ok(json(StatusCode::OK, &body))
}

pub async fn redeliver(call: Call, path: Path<(String, String, String)>, body: Body) -> Answer {
    let (account, id, delivery) = path.into_inner();
    let response = call
        .write(body, super::no_input, move |tx, access, _| {
            let (store_id, id) = access.record(&account, &id, WHAT)?;
            let sub = find(tx, store_id, id)?;
            let delivery = super::id_or_404(&delivery, "Delivery")?;
            if !sub.enabled {
                return Err(FieldErrors::single(
                    "webhook_subscription",
                    "is disabled (enable it first)",
                ));
            }
            match history::redeliver(tx, id, delivery)? {
                Redeliver::Queued(d) => Reply::new(
                    StatusCode::ACCEPTED,
                    &json!({
                        "queued": true,
                        "webhook_subscription_id": id,
                        "event_id": d.event_id,
                        "event_type": d.event_type,
                    }),
                ),
                Redeliver::NotFound => Err(ApiError::not_found("Delivery")),
                Redeliver::Gone => Err(FieldErrors::single(
                    "delivery",
                    "has no event to send again (a test, or an event no longer kept)",
                )),
            }
        })
        .await;
    call.state.outbox.wake();
    response
}

fn components(c: &mut Components) {
    use super::openapi::schema::*;
    let mut names: Vec<&str> = EVENTS.to_vec();
    names.push(ALL);
    let subscription = json!({
        "id": id(),
        "account_id": id(),
        "target_url": string(),
        "events": {"type": "array", "items": enum_of(&names)},
        "event": nullable(enum_of(&names)),
        "payload_format": enum_of(subs::FORMATS),
        "description": nullable(string()),
        "enabled": boolean(),
        "disabled_at": nullable(timestamp()),
        "disabled_reason": nullable(enum_of(subs::DISABLED_REASONS)),
        "last_delivery_at": nullable(timestamp()),
        "last_delivery_status": nullable(json!({"type": "integer"})),
        "last_delivery_error": nullable(string()),
        "created_at": timestamp(),
        "updated_at": timestamp(),
    });
    let mut with_secret = subscription.clone();
    with_secret["secret"] = json!({"type": "string", "pattern": "^whsec_[A-Za-z0-9+/=]+$",
        "description": "The signing secret (Standard Webhooks): `whsec_` and base64."});
    c.schema("WebhookSubscription", object(subscription));
    c.schema("WebhookSubscriptionWithSecret", object(with_secret));
    c.schema(
        "WebhookSubscriptionList",
        json!({"type": "array", "items": schema_ref("WebhookSubscription")}),
    );
    c.request_body("WebhookSubscriptionCreate", true, input::schema(true));
    c.request_body("WebhookSubscriptionUpdate", false, input::schema(false));
    c.query(
        "event",
        "Only subscriptions that receive this event.",
        json!({"type": "string", "enum": names}),
    );
    c.schema(
        "WebhookTestResult",
        object(json!({
            "delivered": boolean(),
            "status": nullable(json!({"type": "integer"})),
            "error": nullable(string()),
            "event_id": string(),
        })),
    );
    c.schema(
        "WebhookDelivery",
        object(json!({
            "id": id(),
            "webhook_subscription_id": id(),
            "event_id": string(),
            "event_type": string(),
            "attempt": {"type": "integer", "minimum": 1},
            "status": nullable(json!({"type": "integer"})),
            "error": nullable(string()),
            "duration_ms": count(),
            "created_at": timestamp(),
        })),
    );
    c.schema(
        "WebhookDeliveryPage",
        pagination_page("deliveries", "WebhookDelivery"),
    );
    c.schema(
        "WebhookRedelivery",
        object(json!({
            "queued": boolean(),
            "webhook_subscription_id": id(),
            "event_id": string(),
            "event_type": string(),
        })),
    );
}
