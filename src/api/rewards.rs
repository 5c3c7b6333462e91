//! Rewards (`/accounts/:account_id/rewards`): list, show, create, update, delete; the
//! attributes a request sets (`RewardInput`), their rules and their schema.

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
    attributes, boolean, bounded_text, integer, name_text, parse_bool, parse_integer, query_map,
    Body, Field, Parsed,
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
        RewardCreate::parse,
        move |tx, access, input| {
            let store_id = access.store(&path)?;
            let Parsed {
                value: RewardCreate { card_id, input },
                mut errors,
            } = input?;
            let card = match card_id {
                Some(id) => Some(
                    db::cards::find(tx, store_id, id)?
                        .ok_or_else(|| ApiError::not_found("Card"))?,
                ),
                None => None,
            };
            let mut fields = RewardFields::default();
            input.merge_into(&mut fields, card.as_ref(), &mut errors);
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
        RewardInput::parse_update,
        move |tx, access, input| {
            let store_id = access.store(&account)?;
            let id = id_or_404(&id, "Reward")?;
            let current = db::rewards::find(tx, store_id, id)?
                .ok_or_else(|| ApiError::not_found("Reward"))?;
            let card = db::cards::find(tx, store_id, current.card_id)?;
            let Parsed {
                value: input,
                mut errors,
            } = input?;
            match input.card_id {
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
            input.merge_into(&mut fields, card.as_ref(), &mut errors);
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

/// `POST /rewards`: the card the reward belongs to (in the attributes or at the top
/// level) and its attributes.
pub struct RewardCreate {
    pub card_id: Option<i64>,
    pub input: RewardInput,
}

impl RewardCreate {
    pub fn parse(params: &Map<String, Value>) -> Result<Parsed<RewardCreate>, ApiError> {
        let mut errors = FieldErrors::new();
        let attrs = attributes(params, "reward")?;
        let input = RewardInput::parse(attrs, true, &mut errors);
        let card_id = match &input.card_id {
            Field::Absent if !attrs.contains_key("card_id") => {
                integer(params, "card_id", &mut errors).set()
            }
            f => f.clone().set(),
        };
        if card_id.is_none() && !errors.has("card_id") {
            errors.add("card_id", "can't be blank");
        }
        Ok(Parsed {
            value: RewardCreate { card_id, input },
            errors,
        })
    }
}

/// The reward attributes of a request, each field checked on its own; the stamps
/// required are checked against the card when applied.
pub struct RewardInput {
    /// Given only to name the card on create; on update it can't change.
    pub card_id: Field<i64>,
    pub name: Option<String>,
    pub description: Field<String>,
    pub stamps_required: Option<i64>,
    /// `null` means the first position (0).
    pub position: Field<i64>,
    pub active: Option<bool>,
}

/// Highest position of a reward in its card's list.
const MAX_POSITION: i64 = 10_000;

impl RewardInput {
    /// The attributes of a `PATCH`, to be applied to the stored reward.
    pub fn parse_update(params: &Map<String, Value>) -> Result<Parsed<RewardInput>, ApiError> {
        let mut errors = FieldErrors::new();
        let value = RewardInput::parse(attributes(params, "reward")?, false, &mut errors);
        Ok(Parsed { value, errors })
    }

    fn parse(attrs: &Map<String, Value>, creating: bool, errors: &mut FieldErrors) -> RewardInput {
        let card_id = integer(attrs, "card_id", errors);
        let name =
            name_text(attrs, "name", limits::CARD_NAME, errors).not_blank("name", creating, errors);
        let description = bounded_text(attrs, "description", limits::DESCRIPTION, errors);
        let stamps_required = match integer(attrs, "stamps_required", errors) {
            Field::Set(n) if n < 1 => {
                errors.add("stamps_required", "must be greater than or equal to 1");
                None
            }
            f => f.not_blank("stamps_required", creating, errors),
        };
        let position = match integer(attrs, "position", errors) {
            Field::Set(n) if !(0..=MAX_POSITION).contains(&n) => {
                errors.add("position", format!("must be between 0 and {MAX_POSITION}"));
                Field::Absent
            }
            f => f,
        };
        let active = boolean(attrs, "active", errors).not_blank("active", false, errors);
        RewardInput {
            card_id,
            name,
            description,
            stamps_required,
            position,
            active,
        }
    }

    /// Applies the input to a reward's fields (new or stored); a reward can't need more
    /// stamps than its card holds.
    pub fn merge_into(&self, f: &mut RewardFields, card: Option<&Card>, errors: &mut FieldErrors) {
        if let Some(name) = &self.name {
            f.name = name.clone();
        }
        f.description = self.description.clone().merge_into(f.description.take());
        if let Some(n) = self.stamps_required {
            match card.filter(|c| n > c.design.stamps_required) {
                Some(c) => errors.add(
                    "stamps_required",
                    format!(
                        "must be less than or equal to {} (the card's stamps_required)",
                        c.design.stamps_required
                    ),
                ),
                None => f.stamps_required = n,
            }
        }
        match self.position {
            Field::Set(n) => f.position = n,
            Field::Null => f.position = 0,
            Field::Absent => {}
        }
        if let Some(active) = self.active {
            f.active = active;
        }
    }

    /// The OpenAPI schema of the attributes, from the same limits `parse` checks.
    fn schema(creating: bool) -> Value {
        use super::openapi::schema::*;
        use serde_json::json;
        let mut props = json!({
            "name": text(limits::CARD_NAME),
            "description": nullable(text(limits::DESCRIPTION)),
            "stamps_required": {"type": "integer", "minimum": limits::STAMPS_REQUIRED.start(), "maximum": limits::STAMPS_REQUIRED.end(),
                "description": "At most the card's stamps_required."},
            "position": nullable(int(0, MAX_POSITION)),
            "active": {"type": "boolean", "default": RewardFields::default().active},
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
            "position": {"type": "integer", "minimum": 0, "maximum": MAX_POSITION},
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
        wrapped("reward", RewardInput::schema(true), top),
    );
    c.request_body(
        "RewardUpdate",
        false,
        wrapped("reward", RewardInput::schema(false), Map::new()),
    );
}
