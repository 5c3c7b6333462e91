//! Card templates (`/accounts/:account_id/cards`): list, show, create, update, archive.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{Map, Value};

use super::endpoint::{Components, Doc, Endpoint, In, Resource, Verb::*};
use super::{id_or_404, json, AppState, Bearer, Reply};
use crate::db;
use crate::db::cards::{CardDesign, Scope};
use crate::domain::{limits, HexColor, StampIcon, StripPreset, StripType};
use crate::error::{ApiError, FieldErrors};
use crate::params::{attributes, boolean, bounded_text, integer, query_map, text, Body, Field};
use crate::time_fmt;
use actix_web::web::route;

pub const RESOURCE: Resource = Resource {
    tag: "Cards",
    endpoints: ENDPOINTS,
    components,
};

const ENDPOINTS: &[Endpoint] = &[
    Endpoint {
        method: Get,
        path: "/accounts/{account_id}/cards",
        handler: || route().to(list),
        doc: Doc {
            id: "listCards",
            summary: "The store's card templates",
            query: &["scope"],
            ok: (200, "The card templates, by id", Some("CardList")),
            ..Doc::PLAIN
        },
    },
    Endpoint {
        method: Post,
        path: "/accounts/{account_id}/cards",
        handler: || route().to(create),
        doc: Doc {
            id: "createCard",
            summary: "Create a card template",
            body: In::Body("CardCreate"),
            ok: (201, "The new card template", Some("Card")),
            ..Doc::PLAIN
        },
    },
    Endpoint {
        method: Get,
        path: "/accounts/{account_id}/cards/{id}",
        handler: || route().to(show),
        doc: Doc {
            id: "getCard",
            summary: "One card template",
            ok: (200, "The card template", Some("Card")),
            ..Doc::PLAIN
        },
    },
    Endpoint {
        method: Patch,
        path: "/accounts/{account_id}/cards/{id}",
        handler: || route().to(update),
        doc: Doc {
            id: "updateCard",
            summary: "Change, archive or restore a card template",
            description: "Partial: only the given keys change. `archived: true|false` archives \
                          or restores (there is no DELETE). `stamps_required` may not go below a \
                          reward of the card.",
            body: In::Body("CardUpdate"),
            ok: (200, "The updated card template", Some("Card")),
            ..Doc::PLAIN
        },
    },
    Endpoint {
        method: Put,
        path: "/accounts/{account_id}/cards/{id}",
        handler: || route().to(update),
        doc: Doc {
            id: "updateCardPut",
            summary: "Change a card template (same as PATCH)",
            description: "Partial, exactly like PATCH.",
            body: In::Body("CardUpdate"),
            ok: (200, "The updated card template", Some("Card")),
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
    let q: HashMap<String, String> = query_map(&req);
    let cards = super::read(&state, bearer, move |conn, access| {
        let store_id = access.store(&path)?;
        let scope = match q.get("scope").map(|s| s.trim()) {
            None | Some("") | Some("active") => Scope::Active,
            Some("archived") => Scope::Archived,
            Some("all") => Scope::All,
            Some(_) => {
                return Err(FieldErrors::single(
                    "scope",
                    "is not included in the list (active, archived, all)",
                ))
            }
        };
        Ok(db::cards::list(conn, store_id, scope)?)
    })
    .await?;
    Ok(json(StatusCode::OK, &cards))
}

pub async fn show(
    state: web::Data<AppState>,
    bearer: Bearer,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (account, id) = path.into_inner();
    let card = super::read(&state, bearer, move |conn, access| {
        let store_id = access.store(&account)?;
        let id = id_or_404(&id, "Card")?;
        db::cards::find(conn, store_id, id)?.ok_or_else(|| ApiError::not_found("Card"))
    })
    .await?;
    Ok(json(StatusCode::OK, &card))
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
            let attrs = attributes(params, "card")?;
            let mut design = CardDesign::default();
            let archived = apply(&mut design, attrs, true)?;
            let archived_at = archived.unwrap_or(false).then(time_fmt::now);
            let id = db::cards::insert(tx, store_id, &design, archived_at.as_deref())?;
            Reply::created(&db::cards::find(tx, store_id, id)?)
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
            let id = id_or_404(&id, "Card")?;
            let current =
                db::cards::find(tx, store_id, id)?.ok_or_else(|| ApiError::not_found("Card"))?;
            let attrs = attributes(params, "card")?;
            let mut design = current.design.clone();
            let archived = apply(&mut design, attrs, false)?;
            let archived_at = match archived {
                None => current.archived_at.clone(),
                Some(false) => None,
                Some(true) => current
                    .archived_at
                    .clone()
                    .or_else(|| Some(time_fmt::now())),
            };
            let needed = db::rewards::max_required_for_card(tx, id)?;
            if design.stamps_required < needed {
                return Err(FieldErrors::single(
                    "stamps_required",
                    &format!(
                        "must be at least {needed} (a reward of this card needs {needed} stamps)"
                    ),
                ));
            }
            if design != current.design || archived_at != current.archived_at {
                db::cards::update(tx, id, &design, archived_at.as_deref())?;
            }
            Reply::ok(&db::cards::find(tx, store_id, id)?)
        },
    )
    .await
}

/// Applies the given attributes to a design and validates the result. Returns the
/// `archived` flag when one was given.
fn apply(
    d: &mut CardDesign,
    attrs: &Map<String, Value>,
    creating: bool,
) -> Result<Option<bool>, ApiError> {
    let mut errors = FieldErrors::new();

    match bounded_text(attrs, "name", limits::CARD_NAME, &mut errors) {
        Field::Set(n) => d.name = n,
        Field::Null => errors.add("name", "can't be blank"),
        Field::Absent if creating && !errors.has("name") => errors.add("name", "can't be blank"),
        Field::Absent => {}
    }

    let colour = |key: &str, errors: &mut FieldErrors| -> Field<String> {
        match text(attrs, key, errors) {
            Field::Set(s) => match HexColor::parse(&s) {
                Ok(c) => Field::Set(c.as_str().to_string()),
                Err(m) => {
                    errors.add(key, m);
                    Field::Absent
                }
            },
            f => f,
        }
    };
    for (key, slot) in [
        ("card_color", &mut d.card_color),
        ("text_color", &mut d.text_color),
        ("stamp_color", &mut d.stamp_color),
        ("stamp_background_color", &mut d.stamp_background_color),
    ] {
        match colour(key, &mut errors) {
            Field::Set(c) => *slot = c,
            Field::Null => errors.add(key, "can't be blank"),
            Field::Absent => {}
        }
    }
    d.strip_color = colour("strip_color", &mut errors).merge_into(d.strip_color.take());

    match text(attrs, "stamp_icon", &mut errors) {
        Field::Set(s) => match StampIcon::parse(&s) {
            Ok(i) => d.stamp_icon = i.as_str().into(),
            Err(m) => errors.add("stamp_icon", m),
        },
        Field::Null => errors.add("stamp_icon", "can't be blank"),
        Field::Absent => {}
    }
    match text(attrs, "strip_type", &mut errors) {
        Field::Set(s) => match StripType::parse(&s) {
            Ok(t) => d.strip_type = t.as_str().into(),
            Err(m) => errors.add("strip_type", m),
        },
        Field::Null => errors.add("strip_type", "can't be blank"),
        Field::Absent => {}
    }
    match text(attrs, "strip_preset", &mut errors) {
        Field::Set(s) => match StripPreset::parse(&s) {
            Ok(p) => d.strip_preset = Some(p.as_str().into()),
            Err(m) => errors.add("strip_preset", m),
        },
        Field::Null => d.strip_preset = None,
        Field::Absent => {}
    }
    if d.strip_type == "preset" && d.strip_preset.is_none() && !errors.has("strip_preset") {
        errors.add("strip_preset", "can't be blank when strip_type is preset");
    }
    d.header_text = bounded_text(attrs, "header_text", limits::HEADER_TEXT, &mut errors)
        .merge_into(d.header_text.take());

    match integer(attrs, "stamps_required", &mut errors) {
        Field::Set(n) if limits::STAMPS_REQUIRED.contains(&n) => d.stamps_required = n,
        Field::Set(n) if n < *limits::STAMPS_REQUIRED.start() => errors.add(
            "stamps_required",
            format!(
                "must be greater than or equal to {}",
                limits::STAMPS_REQUIRED.start()
            ),
        ),
        Field::Set(_) => errors.add(
            "stamps_required",
            format!(
                "must be less than or equal to {}",
                limits::STAMPS_REQUIRED.end()
            ),
        ),
        Field::Null => errors.add("stamps_required", "can't be blank"),
        Field::Absent => {}
    }
    match integer(attrs, "initial_stamps", &mut errors) {
        Field::Set(n) if n < 0 => {
            errors.add("initial_stamps", "must be greater than or equal to 0")
        }
        Field::Set(n) => d.initial_stamps = n,
        Field::Null => d.initial_stamps = 0,
        Field::Absent => {}
    }
    if !errors.has("stamps_required")
        && !errors.has("initial_stamps")
        && d.initial_stamps >= d.stamps_required
    {
        errors.add(
            "initial_stamps",
            format!("must be less than stamps_required ({})", d.stamps_required),
        );
    }

    for (key, slot) in [
        ("show_member_field", &mut d.show_member_field),
        (
            "show_stamps_to_reward_field",
            &mut d.show_stamps_to_reward_field,
        ),
    ] {
        match boolean(attrs, key, &mut errors) {
            Field::Set(b) => *slot = b,
            Field::Null => errors.add(key, "can't be blank"),
            Field::Absent => {}
        }
    }

    match text(attrs, "expires_at", &mut errors) {
        Field::Set(s) => match time_fmt::parse_timestamp(&s) {
            Some(t) => d.expires_at = Some(time_fmt::format_timestamp(t)),
            None => errors.add(
                "expires_at",
                "is invalid (use an ISO 8601 time or YYYY-MM-DD)",
            ),
        },
        Field::Null => d.expires_at = None,
        Field::Absent => {}
    }

    let archived = match boolean(attrs, "archived", &mut errors) {
        Field::Set(b) => Some(b),
        _ => None,
    };
    errors.into_result()?;
    Ok(archived)
}

fn components(c: &mut Components) {
    use super::openapi::schema::*;
    use crate::domain::{StampIcon, StripPreset, StripType};
    use serde_json::json;
    c.query(
        "scope",
        "Which templates: `active` (default), `archived` or `all`.",
        json!({"type": "string", "enum": ["active", "archived", "all"], "default": "active"}),
    );
    c.schema(
        "Card",
        object(json!({
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
        })),
    );
    c.schema("CardList", array_of("Card"));
    c.request_body(
        "CardCreate",
        true,
        wrapped("card", attributes_schema(true), Map::new()),
    );
    c.request_body(
        "CardUpdate",
        false,
        wrapped("card", attributes_schema(false), Map::new()),
    );
}

fn attributes_schema(creating: bool) -> Value {
    use super::openapi::schema::*;
    use crate::domain::{StampIcon, StripPreset, StripType};
    use serde_json::json;
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
