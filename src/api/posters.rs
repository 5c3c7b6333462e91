//! Posters (`/accounts/:account_id/posters`): QR-code signup sheets for one card.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde_json::{Map, Value};

use super::endpoint::{Components, Doc, Endpoint, In, Resource, Verb::*};
use super::{id_or_404, json, AppState, Bearer, Reply};
use crate::db;
use crate::db::posters::PosterFields;
use crate::domain::HexColor;
use crate::error::{ApiError, FieldErrors};
use crate::params::{attributes, boolean, bounded_text, integer, text, Body, Field};
use crate::time_fmt;
use actix_web::web::route;

pub const RESOURCE: Resource = Resource {
    tag: "Posters",
    endpoints: ENDPOINTS,
    components,
};

const ENDPOINTS: &[Endpoint] = &[
    Endpoint {
        method: Get,
        path: "/accounts/{account_id}/posters",
        handler: || route().to(list),
        doc: Doc {
            id: "listPosters",
            summary: "The store's posters",
            ok: (200, "The posters, by id", Some("PosterList")),
            ..Doc::PLAIN
        },
    },
    Endpoint {
        method: Post,
        path: "/accounts/{account_id}/posters",
        handler: || route().to(create),
        doc: Doc {
            id: "createPoster",
            summary: "Create a poster",
            description: "A QR-code signup sheet for one card template: `card_id` must be an active card of this store (404 `Card not found`; 422 when archived or expired). Its `signup_url` is a public page where a customer enrols by typing their name and email or phone.",
            body: In::Body("PosterCreate"),
            ok: (201, "The new poster", Some("Poster")),
            ..Doc::PLAIN
        },
    },
    Endpoint {
        method: Get,
        path: "/accounts/{account_id}/posters/{id}",
        handler: || route().to(show),
        doc: Doc {
            id: "getPoster",
            summary: "One poster",
            ok: (200, "The poster", Some("Poster")),
            ..Doc::PLAIN
        },
    },
    Endpoint {
        method: Patch,
        path: "/accounts/{account_id}/posters/{id}",
        handler: || route().to(update),
        doc: Doc {
            id: "updatePoster",
            summary: "Change a poster",
            description: "Partial: only the given keys change. `card_id` never changes (422 `can't be changed`).",
            body: In::Body("PosterUpdate"),
            ok: (200, "The updated poster", Some("Poster")),
            ..Doc::PLAIN
        },
    },
    Endpoint {
        method: Put,
        path: "/accounts/{account_id}/posters/{id}",
        handler: || route().to(update),
        doc: Doc {
            id: "updatePosterPut",
            summary: "Change a poster (same as PATCH)",
            description: "Partial, exactly like PATCH.",
            body: In::Body("PosterUpdate"),
            ok: (200, "The updated poster", Some("Poster")),
            ..Doc::PLAIN
        },
    },
    Endpoint {
        method: Delete,
        path: "/accounts/{account_id}/posters/{id}",
        handler: || route().to(delete),
        doc: Doc {
            id: "deletePoster",
            summary: "Delete a poster",
            ok: (204, "Deleted (no body)", None),
            ..Doc::PLAIN
        },
    },
];

pub const PAPER_SIZES: &[&str] = &["a4", "a5", "a6", "letter"];
pub const CONTACT_MODES: &[&str] = &["email_or_phone", "email", "phone", "email_and_phone"];
pub const TITLE_MAX: usize = 100;

pub async fn list(
    state: web::Data<AppState>,
    bearer: Bearer,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let base = state.public_url.clone();
    let list = super::read(&state, bearer, move |conn, access| {
        let store_id = access.store(&path)?;
        Ok(db::posters::list(conn, store_id)?
            .iter()
            .map(|p| p.to_json(&base))
            .collect::<Vec<_>>())
    })
    .await?;
    Ok(json(StatusCode::OK, &list))
}

pub async fn show(
    state: web::Data<AppState>,
    bearer: Bearer,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (account, id) = path.into_inner();
    let base = state.public_url.clone();
    let poster = super::read(&state, bearer, move |conn, access| {
        let store_id = access.store(&account)?;
        let id = id_or_404(&id, "Poster")?;
        db::posters::find(conn, store_id, id)?
            .map(|p| p.to_json(&base))
            .ok_or_else(|| ApiError::not_found("Poster"))
    })
    .await?;
    Ok(json(StatusCode::OK, &poster))
}

pub async fn create(
    state: web::Data<AppState>,
    bearer: Bearer,
    path: web::Path<String>,
    body: Body,
) -> Result<HttpResponse, ApiError> {
    let base = state.public_url.clone();
    super::write(
        &state,
        bearer,
        body,
        super::raw_body,
        move |tx, access, params| {
            let params = &params.expect("a raw body always parses");
            let store_id = access.store(&path)?;
            let attrs = attributes(params, "poster")?;
            let mut errors = FieldErrors::new();
            let card_id = match integer(attrs, "card_id", &mut errors) {
                Field::Absent if !attrs.contains_key("card_id") => {
                    integer(params, "card_id", &mut errors).set()
                }
                f => f.set(),
            };
            match card_id {
                Some(id) => {
                    let card = db::cards::find(tx, store_id, id)?
                        .ok_or_else(|| ApiError::not_found("Card"))?;
                    if card.is_closed(&time_fmt::now()) {
                        errors.add("card_id", "is archived or expired");
                    }
                }
                None if !errors.has("card_id") => errors.add("card_id", "can't be blank"),
                None => {}
            }
            let mut fields = PosterFields::default();
            apply(&mut fields, attrs, true, &mut errors);
            errors.into_result()?;
            let card_id = card_id.ok_or_else(|| ApiError::internal("card checked above"))?;
            let id = db::posters::insert(tx, store_id, card_id, &fields)?;
            let poster = db::posters::find(tx, store_id, id)?
                .ok_or_else(|| ApiError::internal("poster vanished"))?;
            Reply::created(&poster.to_json(&base))
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
    let base = state.public_url.clone();
    super::write(
        &state,
        bearer,
        body,
        super::raw_body,
        move |tx, access, params| {
            let params = &params.expect("a raw body always parses");
            let store_id = access.store(&account)?;
            let id = id_or_404(&id, "Poster")?;
            let current = db::posters::find(tx, store_id, id)?
                .ok_or_else(|| ApiError::not_found("Poster"))?;
            let attrs = attributes(params, "poster")?;
            let mut errors = FieldErrors::new();
            match integer(attrs, "card_id", &mut errors) {
                Field::Set(c) if c != current.card_id => errors.add("card_id", "can't be changed"),
                Field::Null => errors.add("card_id", "can't be changed"),
                _ => {}
            }
            let mut fields = current.fields.clone();
            apply(&mut fields, attrs, false, &mut errors);
            errors.into_result()?;
            db::posters::update(tx, id, &fields)?;
            let poster = db::posters::find(tx, store_id, id)?
                .ok_or_else(|| ApiError::not_found("Poster"))?;
            Reply::ok(&poster.to_json(&base))
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
            let id = id_or_404(&id, "Poster")?;
            db::posters::find(tx, store_id, id)?.ok_or_else(|| ApiError::not_found("Poster"))?;
            db::posters::delete(tx, id)?;
            Ok(Reply::no_content())
        },
    )
    .await
}

fn one_of(
    attrs: &Map<String, Value>,
    key: &str,
    list: &[&str],
    slot: &mut String,
    errors: &mut FieldErrors,
) {
    match text(attrs, key, errors) {
        Field::Set(v) => {
            let v = v.to_ascii_lowercase();
            if list.contains(&v.as_str()) {
                *slot = v;
            } else {
                errors.add(
                    key,
                    format!("is not included in the list ({})", list.join(", ")),
                );
            }
        }
        Field::Null => errors.add(key, "can't be blank"),
        Field::Absent => {}
    }
}

fn apply(
    f: &mut PosterFields,
    attrs: &Map<String, Value>,
    creating: bool,
    errors: &mut FieldErrors,
) {
    match bounded_text(attrs, "title", TITLE_MAX, errors) {
        Field::Set(t) => f.title = t,
        Field::Null => errors.add("title", "can't be blank"),
        Field::Absent if creating && !errors.has("title") => errors.add("title", "can't be blank"),
        Field::Absent => {}
    }
    one_of(attrs, "paper_size", PAPER_SIZES, &mut f.paper_size, errors);
    one_of(
        attrs,
        "contact_collection_mode",
        CONTACT_MODES,
        &mut f.contact_collection_mode,
        errors,
    );
    for (key, slot) in [
        ("primary_color", &mut f.primary_color),
        ("secondary_color", &mut f.secondary_color),
        ("text_color", &mut f.text_color),
    ] {
        match text(attrs, key, errors) {
            Field::Set(v) => match HexColor::parse(&v) {
                Ok(c) => *slot = c.as_str().to_string(),
                Err(m) => errors.add(key, m),
            },
            Field::Null => errors.add(key, "can't be blank"),
            Field::Absent => {}
        }
    }
    for (key, slot) in [
        ("active", &mut f.active),
        ("birthday_required", &mut f.birthday_required),
    ] {
        match boolean(attrs, key, errors) {
            Field::Set(b) => *slot = b,
            Field::Null => errors.add(key, "can't be blank"),
            Field::Absent => {}
        }
    }
}

fn components(c: &mut Components) {
    use super::openapi::schema::*;
    use serde_json::json;
    c.schema(
        "Poster",
        object(json!({
            "id": id(),
            "account_id": id(),
            "card_id": id(),
            "title": string(),
            "paper_size": enum_of(PAPER_SIZES),
            "primary_color": stored_colour(),
            "secondary_color": stored_colour(),
            "text_color": stored_colour(),
            "contact_collection_mode": enum_of(CONTACT_MODES),
            "birthday_required": boolean(),
            "active": boolean(),
            "signup_url": {"type": "string", "description": "Public signup page of the poster."},
            "qr_code_url": {"type": "string", "description": "What the poster's QR code encodes."},
            "display_url": {"type": "string", "description": "A printable page of the poster."},
            "created_at": timestamp(),
            "updated_at": timestamp(),
        })),
    );
    c.schema("PosterList", array_of("Poster"));
    let mut top = Map::new();
    top.insert(
        "card_id".into(),
        json!({"type": "integer", "format": "int64", "minimum": 1,
            "description": "Alternative to card_id inside the attributes."}),
    );
    c.request_body(
        "PosterCreate",
        true,
        wrapped("poster", attributes_schema(true), top),
    );
    c.request_body(
        "PosterUpdate",
        false,
        wrapped("poster", attributes_schema(false), Map::new()),
    );
}

fn attributes_schema(creating: bool) -> Value {
    use super::openapi::schema::*;
    use serde_json::json;
    let mut props = json!({
        "title": text(TITLE_MAX),
        "paper_size": {"type": "string", "enum": PAPER_SIZES, "default": "a4"},
        "contact_collection_mode": {"type": "string", "enum": CONTACT_MODES,
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
