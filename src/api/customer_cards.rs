//! A customer's cards (`/customers/:customer_id/customer_cards`): list, show, and
//! enrolling an existing customer in another card.

use actix_web::http::StatusCode;
use actix_web::web::Path;
use actix_web::HttpRequest;
use serde_json::{json, Map, Value};

use super::endpoint::{endpoints, Components, Doc, Endpoint, Resource};
use super::roles;
use super::{
    id_or_404, json, pagination_params, parse_id, Access, Answer, Call, Pagination, Reply,
};
use crate::db;
use crate::db::ledger::{self, Kind};
use crate::db::ledger_limits;
use crate::domain::limits;
use crate::error::{ApiError, FieldErrors};
use crate::params::{boolean, bounded_text, integer, query_map, Body, Field};
use crate::time_fmt;

pub const RESOURCE: Resource = Resource::new("Customer cards", ENDPOINTS, components);

const ENDPOINTS: &[Endpoint] = endpoints!["/accounts/{account_id}/customers/{customer_id}/customer_cards";
    Get "" => list, Doc::new("listCustomerCards", "A customer's cards, oldest enrolment first").ok(200, "The customer's cards", "CustomerCardList").staff();
    Post "" => enrol, Doc::new("enrolCustomerCard", "Enrol the customer in a card").describe("For a customer who has no card yet, or who joins another card of the store. `card_id` must be a card of this store (else 404 `Card not found`), neither archived nor expired (422 `card_id: is archived` / `has expired`), and not one the customer holds already (422 `card_id: is already enrolled`). The template's `initial_stamps` are credited as at create.").body("Enrolment").ok(201, "The new customer card", "CustomerCard").staff();
    Get "/{id}" => show, Doc::new("getCustomerCard", "One customer card with its stamp progress").ok(200, "The customer card", "CustomerCard").staff();
    Post "/{id}/stamp" => stamp, Doc::new("stampCustomerCard", "Add stamps (or correct with a negative number)").describe("`stamps` is a non-zero integer from -100 to 100; a correction may not take the card below 0 (422). Archived or expired cards accept no stamps (422). Send an `Idempotency-Key` so that a retry never stamps twice. Saved wallet passes follow: each Apple device holding the pass gets a push and the Google Wallet object is updated, with a notifying message when a reward became affordable; `skip_notifications: true` sends no push and no message (the passes show the change at their next refresh).").body("Stamp").ok(200, "The card after stamping", "CustomerCard").staff();
    Post "/{id}/redeem" => redeem, Doc::new("redeemCustomerCard", "Spend stamps on a reward of the card").describe("The reward must belong to the card's template (else 404 `Reward not found`) and be active, and the card must hold its `stamps_required` (else 422 `Redemption failed – not enough stamps or reward inactive`). Saved wallet passes follow as after a stamp; `skip_notifications: true` sends no push.").body("Redeem").ok(200, "The redemption", "RedemptionResult").staff();
    Get "/{id}/events" => events, Doc::new("listCustomerCardEvents", "The card's stamp ledger, newest first").describe("The sum of a card's `stamps` deltas equals its `stamps_count`.").query(&["staff_id", "device_id", "page", "items"]).ok(200, "One page of ledger rows", "EventPage").staff();
];

pub async fn list(call: Call, path: Path<(String, String)>) -> Answer {
    let (account, customer) = path.into_inner();
    let base = call.state.public_url.clone();
    let cards = call
        .read(move |conn, access| {
            let (_, customer_id) = customer_of(conn, access, &account, &customer)?;
            let mut by_customer = db::customer_cards::for_customers(conn, &[customer_id], &base)?;
            Ok(by_customer.remove(&customer_id).unwrap_or_default())
        })
        .await?;
    Ok(json(StatusCode::OK, &cards))
}

pub async fn show(call: Call, path: Path<(String, String, String)>) -> Answer {
    let (account, customer, id) = path.into_inner();
    let base = call.state.public_url.clone();
    let card = call
        .read(move |conn, access| {
            let (store_id, customer_id, id) = locate(conn, access, &account, &customer, &id)?;
            db::customer_cards::find(conn, store_id, customer_id, id, &base)?
                .ok_or_else(|| ApiError::not_found("Customer card"))
        })
        .await?;
    Ok(json(StatusCode::OK, &card))
}

/// `POST .../customer_cards`: enrols the customer in another card of the store.
pub async fn enrol(call: Call, path: Path<(String, String)>, body: Body) -> Answer {
    let (account, customer) = path.into_inner();
    let base = call.state.public_url.clone();
    call.write(body, EnrolInput::parse, move |tx, access, input| {
        let (store_id, customer_id) = customer_of(tx, access, &account, &customer)?;
        let EnrolInput { card_id } = input?;
        // Another store's card is as unknown here as one that never was.
        let card =
            db::cards::find(tx, store_id, card_id)?.ok_or_else(|| ApiError::not_found("Card"))?;
        let mut errors = FieldErrors::new();
        if card.archived_at.is_some() {
            errors.add("card_id", "is archived");
        } else if card.is_expired(&time_fmt::now()) {
            errors.add("card_id", "has expired");
        } else if db::customer_cards::holds(tx, customer_id, card_id)? {
            errors.add("card_id", "is already enrolled");
        }
        errors.into_result()?;
        let id = db::customer_cards::enrol(tx, store_id, customer_id, &card, &access.who())?;
        let created = db::customer_cards::find(tx, store_id, customer_id, id, &base)?
            .ok_or_else(|| ApiError::internal("customer card vanished"))?;
        Ok(Reply {
            status: StatusCode::CREATED,
            body: serde_json::to_string(&created).map_err(ApiError::internal)?,
        })
    })
    .await
}

/// The body of `POST .../customer_cards`.
struct EnrolInput {
    card_id: i64,
}

impl EnrolInput {
    fn parse(params: &Map<String, Value>) -> Result<EnrolInput, ApiError> {
        let mut errors = FieldErrors::new();
        match integer(params, "card_id", &mut errors) {
            Field::Set(card_id) => Ok(EnrolInput { card_id }),
            _ => {
                if !errors.has("card_id") {
                    errors.add("card_id", "can't be blank");
                }
                Err(ApiError::Validation(errors))
            }
        }
    }
}

/// `POST .../customer_cards/:id/stamp`: adds (or, negative, corrects) stamps.
pub async fn stamp(call: Call, path: Path<(String, String, String)>, body: Body) -> Answer {
    let (account, customer, id) = path.into_inner();
    let base = call.state.public_url.clone();
    call.write(body, StampInput::parse, move |tx, access, input| {
        let (store_id, customer_id, id, balance) =
            locate_balance(tx, access, &account, &customer, &id)?;
        let StampInput {
            stamps,
            note,
            skip_notifications,
            override_limits,
        } = input?;
        let owner = access.credential.is_owner();
        if override_limits && !owner {
            return Err(ApiError::Forbidden(roles::OWNERS_ONLY.into()));
        }
        let who = access.who();
        if stamps < 0 && !owner {
            let own = match who.staff_id {
                Some(staff_id) => ledger_limits::own_last_stamp(tx, id, staff_id, stamps)?,
                None => false,
            };
            if !own {
                return Err(ApiError::Forbidden(OWN_LAST_STAMP.into()));
            }
        }
        if balance.card_archived || balance.card_expired {
            let why = if balance.card_archived {
                "is archived"
            } else {
                "has expired"
            };
            let mut errors = FieldErrors::new();
            errors.add("card", why);
            return Err(ApiError::Unprocessable {
                message: format!("The card {why} and accepts no stamps"),
                errors,
            });
        }
        let after = balance.stamps_count + stamps;
        if after < 0 {
            return Err(FieldErrors::single(
                "stamps",
                &format!(
                    "can't take the card below 0 stamps (it has {})",
                    balance.stamps_count
                ),
            ));
        }
        let visit = if stamps > 0 {
            let visit = ledger_limits::current_visit(tx, customer_id)?;
            let refusal = ledger_limits::check(tx, &balance.limits, id, stamps, &visit)?;
            if let Some(refusal) = refusal {
                let flag = |kind, message: &str| {
                    db::flags::add(
                        tx,
                        &db::flags::NewFlag {
                            store_id,
                            kind,
                            limit_name: Some(refusal.limit),
                            message,
                            customer_id: Some(customer_id),
                            customer_card_id: Some(id),
                            stamps: Some(stamps),
                            who: &who,
                        },
                    )
                };
                let message = format!("{} {}", refusal.limit, refusal.message);
                if !override_limits {
                    flag(db::flags::Kind::Refused, &message)?;
                    // Answered, not failed: the flag stays with the refusal.
                    let mut errors = FieldErrors::new();
                    errors.add(refusal.limit, refusal.message.clone());
                    let refused = ApiError::Unprocessable {
                        message: format!("Stamp refused – limit {} reached", refusal.limit),
                        errors,
                    };
                    return Ok(Reply {
                        status: StatusCode::UNPROCESSABLE_ENTITY,
                        body: refused.body().to_string(),
                    });
                }
                flag(db::flags::Kind::Override, &message)?;
            }
            Some(visit.started_at)
        } else {
            None
        };
        db::customer_cards::apply(
            tx,
            ledger::Entry {
                store_id,
                customer_card_id: id,
                kind: if stamps > 0 {
                    Kind::Stamp
                } else {
                    Kind::Adjustment
                },
                stamps,
                balance_after: after,
                reward: None,
                note: note.as_deref(),
                who: &who,
                visit_started_at: visit.as_deref(),
                skip_notifications,
            },
        )?;
        Reply::ok(&db::customer_cards::find(
            tx,
            store_id,
            customer_id,
            id,
            &base,
        )?)
    })
    .await
}

/// `POST .../customer_cards/:id/redeem`: spends stamps on a reward of the card.
pub async fn redeem(call: Call, path: Path<(String, String, String)>, body: Body) -> Answer {
    let (account, customer, id) = path.into_inner();
    call.write(body, RedeemInput::parse, move |tx, access, input| {
        let (store_id, _, id, balance) = locate_balance(tx, access, &account, &customer, &id)?;
        let RedeemInput {
            reward_id,
            note,
            skip_notifications,
        } = input?;
        let reward = db::rewards::find(tx, store_id, reward_id)?
            .filter(|r| r.card_id == balance.card_id)
            .ok_or_else(|| ApiError::not_found("Reward"))?;
        if !reward.active || balance.stamps_count < reward.stamps_required {
            let mut errors = FieldErrors::new();
            if !reward.active {
                errors.add("reward_id", "is inactive");
            } else {
                errors.add(
                    "stamps",
                    format!(
                        "not enough: the reward needs {}, the card has {}",
                        reward.stamps_required, balance.stamps_count
                    ),
                );
            }
            return Err(ApiError::Unprocessable {
                message: "Redemption failed – not enough stamps or reward inactive".into(),
                errors,
            });
        }
        let after = balance.stamps_count - reward.stamps_required;
        let event_id = db::customer_cards::apply(
            tx,
            ledger::Entry {
                store_id,
                customer_card_id: id,
                kind: Kind::Redemption,
                stamps: -reward.stamps_required,
                balance_after: after,
                reward: Some((reward.id, &reward.name)),
                note: note.as_deref(),
                who: &access.who(),
                visit_started_at: None,
                skip_notifications,
            },
        )?;
        Reply::ok(&json!({
            "success": true,
            "redemption": {
                "id": event_id,
                "reward_id": reward.id,
                "reward_name": reward.name,
                "stamps_spent": reward.stamps_required,
                "stamps_remaining": after,
                "redeemed_at": time_fmt::now(),
            }
        }))
    })
    .await
}

/// The body of `POST .../stamp`.
struct StampInput {
    /// Non-zero, -100 to 100; negative corrects a mistake.
    stamps: i64,
    note: Option<String>,
    skip_notifications: bool,
    /// An owner's `override: true` passes the card's stamp limits (and is flagged).
    override_limits: bool,
}

/// The 403 of a staff member's correction of anything but their own last stamp.
const OWN_LAST_STAMP: &str = "Forbidden – staff may only correct their own last stamp";

impl StampInput {
    fn parse(params: &Map<String, Value>) -> Result<StampInput, ApiError> {
        let mut errors = FieldErrors::new();
        let stamps = match integer(params, "stamps", &mut errors) {
            Field::Set(0) => {
                errors.add("stamps", "must be other than 0");
                0
            }
            Field::Set(n) if n < -limits::STAMPS_PER_REQUEST => {
                let min = -limits::STAMPS_PER_REQUEST;
                errors.add("stamps", format!("must be greater than or equal to {min}"));
                0
            }
            Field::Set(n) if n > limits::STAMPS_PER_REQUEST => {
                let max = limits::STAMPS_PER_REQUEST;
                errors.add("stamps", format!("must be less than or equal to {max}"));
                0
            }
            Field::Set(n) => n,
            _ => {
                if !errors.has("stamps") {
                    errors.add("stamps", "can't be blank");
                }
                0
            }
        };
        let note = bounded_text(params, "note", limits::NOTE, &mut errors).set();
        let skip_notifications = boolean(params, "skip_notifications", &mut errors)
            .set()
            .unwrap_or(false);
        let override_limits = boolean(params, "override", &mut errors)
            .set()
            .unwrap_or(false);
        errors.into_result()?;
        Ok(StampInput {
            stamps,
            note,
            skip_notifications,
            override_limits,
        })
    }
}

/// The body of `POST .../redeem`.
struct RedeemInput {
    reward_id: i64,
    note: Option<String>,
    skip_notifications: bool,
}

impl RedeemInput {
    fn parse(params: &Map<String, Value>) -> Result<RedeemInput, ApiError> {
        let mut errors = FieldErrors::new();
        let reward_id = match integer(params, "reward_id", &mut errors) {
            Field::Set(r) => r,
            _ => {
                if !errors.has("reward_id") {
                    errors.add("reward_id", "can't be blank");
                }
                return Err(ApiError::Validation(errors));
            }
        };
        let note = bounded_text(params, "note", limits::NOTE, &mut errors).set();
        let skip_notifications = boolean(params, "skip_notifications", &mut errors)
            .set()
            .unwrap_or(false);
        errors.into_result()?;
        Ok(RedeemInput {
            reward_id,
            note,
            skip_notifications,
        })
    }
}

/// `GET .../customer_cards/:id/events`: the card's ledger, newest first.
pub async fn events(call: Call, path: Path<(String, String, String)>, req: HttpRequest) -> Answer {
    let (account, customer, id) = path.into_inner();
    let q = query_map(&req);
    let body = call
        .read(move |conn, access| {
            let (store_id, customer_id, id) = locate(conn, access, &account, &customer, &id)?;
            db::customer_cards::balance(conn, store_id, customer_id, id)?
                .ok_or_else(|| ApiError::not_found("Customer card"))?;
            let (page, items) = pagination_params(&q)?;
            let filter = ledger::Filter {
                staff_id: id_filter(&q, "staff_id")?,
                device_id: id_filter(&q, "device_id")?,
            };
            let (events, count) = ledger::page(conn, id, filter, page, items)?;
            Ok(json!({
                "events": events,
                "pagination": Pagination::new(count, items, page),
            }))
        })
        .await?;
    Ok(json(StatusCode::OK, &body))
}

/// An id a list is filtered by; 422 when it is not a positive integer.
fn id_filter(
    q: &std::collections::HashMap<String, String>,
    key: &str,
) -> Result<Option<i64>, ApiError> {
    match q.get(key).map(|s| s.trim()) {
        None | Some("") => Ok(None),
        Some(v) => parse_id(v)
            .map(Some)
            .ok_or_else(|| FieldErrors::single(key, "must be a positive integer")),
    }
}

/// The ids of a customer-card path and the card's balance, in one look-up; when it
/// finds nothing, the 404 names what is missing, the customer or the card.
fn locate_balance(
    conn: &rusqlite::Connection,
    access: &Access,
    account: &str,
    customer: &str,
    id: &str,
) -> Result<(i64, i64, i64, db::customer_cards::Balance), ApiError> {
    let store_id = access.store(account)?;
    let customer_id = id_or_404(customer, "Customer")?;
    let found = match parse_id(id) {
        Some(id) => db::customer_cards::balance(conn, store_id, customer_id, id)?
            .map(|balance| (store_id, customer_id, id, balance)),
        None => None,
    };
    match found {
        Some(found) => Ok(found),
        None if !db::customers::exists(conn, store_id, customer_id)? => {
            Err(ApiError::not_found("Customer"))
        }
        None => Err(ApiError::not_found("Customer card")),
    }
}

/// The store, customer and card ids of a customer-card path, each checked in turn.
fn locate(
    conn: &rusqlite::Connection,
    access: &Access,
    account: &str,
    customer: &str,
    id: &str,
) -> Result<(i64, i64, i64), ApiError> {
    let (store_id, customer_id) = customer_of(conn, access, account, customer)?;
    Ok((store_id, customer_id, id_or_404(id, "Customer card")?))
}

/// The store and customer ids of a path, each checked in turn: the customer must be a
/// live customer of the store.
fn customer_of(
    conn: &rusqlite::Connection,
    access: &Access,
    account: &str,
    customer: &str,
) -> Result<(i64, i64), ApiError> {
    let (store_id, customer_id) = access.record(account, customer, "Customer")?;
    if !db::customers::exists(conn, store_id, customer_id)? {
        return Err(ApiError::not_found("Customer"));
    }
    Ok((store_id, customer_id))
}

fn components(c: &mut Components) {
    use super::openapi::schema::*;
    use serde_json::json;
    c.query(
        "staff_id",
        "Only the rows this staff member gave.",
        json!({"type": "integer", "format": "int64", "minimum": 1}),
    );
    c.query(
        "device_id",
        "Only the rows given on this paired device.",
        json!({"type": "integer", "format": "int64", "minimum": 1}),
    );
    c.schema(
        "CustomerCard",
        object(json!({
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
        })),
    );
    c.schema("CustomerCardList", array_of("CustomerCard"));
    c.schema(
        "Event",
        object(json!({
            "id": id(),
            "customer_card_id": id(),
            "kind": enum_of(crate::domain::LedgerKind::ALL),
            "stamps": {"type": "integer", "description": "Signed delta."},
            "balance_after": count(),
            "reward_id": nullable(id()),
            "reward_name": nullable(string()),
            "note": nullable(string()),
            "token_id": nullable(id()),
            "staff_id": nullable(id()),
            "staff_name": nullable(string()),
            "device_id": nullable(id()),
            "skip_notifications": boolean(),
            "created_at": timestamp(),
        })),
    );
    c.schema("EventPage", pagination_page("events", "Event"));
    c.schema(
        "RedemptionResult",
        object(json!({
            "success": {"type": "boolean", "enum": [true]},
            "redemption": object(json!({
                "id": id(),
                "reward_id": id(),
                "reward_name": string(),
                "stamps_spent": {"type": "integer", "minimum": 1},
                "stamps_remaining": count(),
                "redeemed_at": timestamp(),
            })),
        })),
    );
    c.request_body(
        "Stamp",
        true,
        input(
            json!({
                "stamps": {"type": "integer", "minimum": -limits::STAMPS_PER_REQUEST,
                    "maximum": limits::STAMPS_PER_REQUEST, "not": {"enum": [0]},
                    "description": "Non-zero; negative corrects a mistake."},
                "skip_notifications": {"type": "boolean", "default": false,
                    "description": "true: no Apple Wallet push and no Google Wallet message for these stamps (the passes still show them at their next refresh)."},
                "note": nullable(text(limits::NOTE)),
                "override": {"type": "boolean", "default": false,
                    "description": "An owner's `true` passes the card's stamp limits; the stamp is listed in the flags. From staff: 403."},
            }),
            &["stamps"],
        ),
    );
    c.request_body(
        "Enrolment",
        true,
        input(
            json!({"card_id": {"type": "integer", "format": "int64", "minimum": 1}}),
            &["card_id"],
        ),
    );
    c.request_body(
        "Redeem",
        true,
        input(
            json!({
                "reward_id": {"type": "integer", "format": "int64", "minimum": 1},
                "skip_notifications": {"type": "boolean", "default": false,
                    "description": "true: no Apple Wallet push for this redemption (the pass still shows it at its next refresh)."},
                "note": nullable(text(limits::NOTE)),
            }),
            &["reward_id"],
        ),
    );
}
