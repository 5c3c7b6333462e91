//! Rewards (`/accounts/:account_id/rewards`): list, show, create, update, delete.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{Map, Value};

use super::endpoint::{Components, Doc, Endpoint, In, Resource, Verb::*};
use super::{id_or_404, json, AppState, Bearer, Reply};
use crate::db;
use crate::db::cards::Card;
use crate::db::rewards::RewardFields;
use crate::domain::limits;
use crate::error::{ApiError, FieldErrors};
use crate::params::{
    attributes, boolean, bounded_text, integer, parse_bool, parse_integer, query_map, Body, Field,
};
use actix_web::web::route;

pub const RESOURCE: Resource = Resource {
    tag: "Rewards",
    endpoints: ENDPOINTS,
    components,
};

const ENDPOINTS: &[Endpoint] = &[
    Endpoint {
        method: Get,
        path: "/accounts/{account_id}/rewards",
        handler: || route().to(list),
        doc: Doc {
            id: "listRewards",
            summary: "The store's rewards",
            query: &["card_id", "active"],
            ok: (200, "The rewards, by card and position", Some("RewardList")),
            ..Doc::PLAIN
        },
    },
    Endpoint {
        method: Post,
        path: "/accounts/{account_id}/rewards",
        handler: || route().to(create),
        doc: Doc {
            id: "createReward",
            summary: "Create a reward of a card template",
            description: "`card_id` must be a card of this store (else 404 `Card not found`); \
                          `stamps_required` at most the card's.",
            body: In::Body("RewardCreate"),
            ok: (201, "The new reward", Some("Reward")),
            ..Doc::PLAIN
        },
    },
    Endpoint {
        method: Get,
        path: "/accounts/{account_id}/rewards/{id}",
        handler: || route().to(show),
        doc: Doc {
            id: "getReward",
            summary: "One reward",
            ok: (200, "The reward", Some("Reward")),
            ..Doc::PLAIN
        },
    },
    Endpoint {
        method: Patch,
        path: "/accounts/{account_id}/rewards/{id}",
        handler: || route().to(update),
        doc: Doc {
            id: "updateReward",
            summary: "Change a reward",
            description: "Partial. `card_id` never changes (422 `can't be changed`).",
            body: In::Body("RewardUpdate"),
            ok: (200, "The updated reward", Some("Reward")),
            ..Doc::PLAIN
        },
    },
    Endpoint {
        method: Put,
        path: "/accounts/{account_id}/rewards/{id}",
        handler: || route().to(update),
        doc: Doc {
            id: "updateRewardPut",
            summary: "Change a reward (same as PATCH)",
            description: "Partial, exactly like PATCH.",
            body: In::Body("RewardUpdate"),
            ok: (200, "The updated reward", Some("Reward")),
            ..Doc::PLAIN
        },
    },
    Endpoint {
        method: Delete,
        path: "/accounts/{account_id}/rewards/{id}",
        handler: || route().to(delete),
        doc: Doc {
            id: "deleteReward",
            summary: "Delete a reward",
            description: "The ledger keeps naming it.",
            ok: (204, "Deleted (no body)", None),
            ..Doc::PLAIN
        },
    },
];

pub async fn list(
    state: web::Data<AppState>,
    bearer: Bearer,
    path: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let q = query_map(&req);
    let rewards = super::read(&state, bearer, move |conn, access| {
        let store_id = access.store(&path)?;
        let mut errors = FieldErrors::new();
        let card_id = match q.get("card_id").map(|s| Value::String(s.clone())) {
            None => None,
            Some(v) => match parse_integer(&v) {
                Ok(id) => id,
                Err(m) => {
                    errors.add("card_id", m);
                    None
                }
            },
        };
        let active = match q.get("active").filter(|s| !s.trim().is_empty()) {
            None => None,
            Some(s) => match parse_bool(&Value::String(s.clone())) {
                Some(b) => Some(b),
                None => {
                    errors.add("active", "must be one of: true, false, 1, 0");
                    None
                }
            },
        };
        errors.into_result()?;
        Ok(db::rewards::list(conn, store_id, card_id, active)?)
    })
    .await?;
    Ok(json(StatusCode::OK, &rewards))
}

pub async fn show(
    state: web::Data<AppState>,
    bearer: Bearer,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (account, id) = path.into_inner();
    let reward = super::read(&state, bearer, move |conn, access| {
        let store_id = access.store(&account)?;
        let id = id_or_404(&id, "Reward")?;
        db::rewards::find(conn, store_id, id)?.ok_or_else(|| ApiError::not_found("Reward"))
    })
    .await?;
    Ok(json(StatusCode::OK, &reward))
}

pub async fn create(
    state: web::Data<AppState>,
    bearer: Bearer,
    path: web::Path<String>,
    body: Body,
) -> Result<HttpResponse, ApiError> {
    super::write(
        &state,
        bearer,
        body,
        super::raw_body,
        move |tx, access, params| {
            let params = &params.expect("a raw body always parses");
            let store_id = access.store(&path)?;
            let attrs = attributes(params, "reward")?;
            let mut errors = FieldErrors::new();
            let card_id = match integer(attrs, "card_id", &mut errors) {
                Field::Absent if !attrs.contains_key("card_id") => {
                    integer(params, "card_id", &mut errors).set()
                }
                f => f.set(),
            };
            let card = match card_id {
                Some(id) => Some(
                    db::cards::find(tx, store_id, id)?
                        .ok_or_else(|| ApiError::not_found("Card"))?,
                ),
                None => {
                    if !errors.has("card_id") {
                        errors.add("card_id", "can't be blank");
                    }
                    None
                }
            };
            let mut fields = RewardFields {
                name: String::new(),
                description: None,
                stamps_required: 0,
                position: 0,
                active: true,
            };
            apply(&mut fields, attrs, card.as_ref(), true, &mut errors);
            errors.into_result()?;
            let card = card.ok_or_else(|| ApiError::internal("card checked above"))?;
            let id = db::rewards::insert(tx, store_id, card.id, &fields)?;
            Reply::created(&db::rewards::find(tx, store_id, id)?)
        },
    )
    .await
}

pub async fn update(
    state: web::Data<AppState>,
    bearer: Bearer,
    path: web::Path<(String, String)>,
    body: Body,
) -> Result<HttpResponse, ApiError> {
    let (account, id) = path.into_inner();
    super::write(
        &state,
        bearer,
        body,
        super::raw_body,
        move |tx, access, params| {
            let params = &params.expect("a raw body always parses");
            let store_id = access.store(&account)?;
            let id = id_or_404(&id, "Reward")?;
            let current = db::rewards::find(tx, store_id, id)?
                .ok_or_else(|| ApiError::not_found("Reward"))?;
            let card = db::cards::find(tx, store_id, current.card_id)?;
            let attrs = attributes(params, "reward")?;
            let mut errors = FieldErrors::new();
            match integer(attrs, "card_id", &mut errors) {
                Field::Set(c) if c != current.card_id => errors.add("card_id", "can't be changed"),
                Field::Null => errors.add("card_id", "can't be changed"),
                _ => {}
            }
            let mut fields = RewardFields {
                name: current.name.clone(),
                description: current.description.clone(),
                stamps_required: current.stamps_required,
                position: current.position,
                active: current.active,
            };
            apply(&mut fields, attrs, card.as_ref(), false, &mut errors);
            errors.into_result()?;
            db::rewards::update(tx, id, &fields)?;
            Reply::ok(&db::rewards::find(tx, store_id, id)?)
        },
    )
    .await
}

pub async fn delete(
    state: web::Data<AppState>,
    bearer: Bearer,
    path: web::Path<(String, String)>,
    body: Body,
) -> Result<HttpResponse, ApiError> {
    let (account, id) = path.into_inner();
    super::write(
        &state,
        bearer,
        body,
        super::no_input,
        move |tx, access, _| {
            let store_id = access.store(&account)?;
            let id = id_or_404(&id, "Reward")?;
            db::rewards::find(tx, store_id, id)?.ok_or_else(|| ApiError::not_found("Reward"))?;
            db::rewards::delete(tx, id)?;
            Ok(Reply::no_content())
        },
    )
    .await
}

fn apply(
    f: &mut RewardFields,
    attrs: &Map<String, Value>,
    card: Option<&Card>,
    creating: bool,
    errors: &mut FieldErrors,
) {
    match bounded_text(attrs, "name", limits::CARD_NAME, errors) {
        Field::Set(n) => f.name = n,
        Field::Null => errors.add("name", "can't be blank"),
        Field::Absent if creating && !errors.has("name") => errors.add("name", "can't be blank"),
        Field::Absent => {}
    }
    f.description = bounded_text(attrs, "description", limits::DESCRIPTION, errors)
        .merge_into(f.description.take());
    match integer(attrs, "stamps_required", errors) {
        Field::Set(n) => {
            if n < 1 {
                errors.add("stamps_required", "must be greater than or equal to 1");
            } else if let Some(c) = card.filter(|c| n > c.design.stamps_required) {
                errors.add(
                    "stamps_required",
                    format!(
                        "must be less than or equal to {} (the card's stamps_required)",
                        c.design.stamps_required
                    ),
                );
            } else {
                f.stamps_required = n;
            }
        }
        Field::Null => errors.add("stamps_required", "can't be blank"),
        Field::Absent if creating && !errors.has("stamps_required") => {
            errors.add("stamps_required", "can't be blank")
        }
        Field::Absent => {}
    }
    match integer(attrs, "position", errors) {
        Field::Set(n) if !(0..=10_000).contains(&n) => {
            errors.add("position", "must be between 0 and 10000")
        }
        Field::Set(n) => f.position = n,
        Field::Null => f.position = 0,
        Field::Absent => {}
    }
    match boolean(attrs, "active", errors) {
        Field::Set(b) => f.active = b,
        Field::Null => errors.add("active", "can't be blank"),
        Field::Absent => {}
    }
}

fn components(c: &mut Components) {
    use super::openapi::schema::*;
    use serde_json::json;
    c.query(
        "card_id",
        "Only rewards of this card template.",
        json!({"type": "integer", "format": "int64"}),
    );
    c.query(
        "active",
        "Only active (`true`/`1`) or inactive (`false`/`0`) rewards.",
        json!({"type": "boolean"}),
    );
    c.schema(
        "Reward",
        object(json!({
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
        })),
    );
    c.schema("RewardList", array_of("Reward"));
    let mut top = Map::new();
    top.insert(
        "card_id".into(),
        json!({"type": "integer", "format": "int64", "minimum": 1,
            "description": "Alternative to card_id inside the attributes."}),
    );
    c.request_body(
        "RewardCreate",
        true,
        wrapped("reward", attributes_schema(true), top),
    );
    c.request_body(
        "RewardUpdate",
        false,
        wrapped("reward", attributes_schema(false), Map::new()),
    );
}

fn attributes_schema(creating: bool) -> Value {
    use super::openapi::schema::*;
    use serde_json::json;
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
