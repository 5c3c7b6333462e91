//! Posters (`/accounts/:account_id/posters`): QR-code signup sheets for one card; the
//! attributes a request sets (`PosterInput`), their rules and their schema.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde_json::{Map, Value};

use super::endpoint::{Components, Doc, Endpoint, In, Resource, Verb::*};
use super::{id_or_404, json, AppState, Bearer, Reply};
use crate::db;
use crate::db::posters::PosterFields;
use crate::domain::{ContactMode, HexColor, PaperSize};
use crate::error::{ApiError, FieldErrors};
use crate::params::{attributes, boolean, domain, integer, name_text, Body, Field, Parsed};
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
        PosterCreate::parse,
        move |tx, access, input| {
            let store_id = access.store(&path)?;
            let Parsed {
                value: PosterCreate { card_id, fields },
                mut errors,
            } = input?;
            if let Some(id) = card_id {
                let card = db::cards::find(tx, store_id, id)?
                    .ok_or_else(|| ApiError::not_found("Card"))?;
                if card.is_closed(&time_fmt::now()) {
                    errors.add("card_id", "is archived or expired");
                }
            }
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
        PosterInput::parse_update,
        move |tx, access, input| {
            let store_id = access.store(&account)?;
            let id = id_or_404(&id, "Poster")?;
            let current = db::posters::find(tx, store_id, id)?
                .ok_or_else(|| ApiError::not_found("Poster"))?;
            let Parsed {
                value: input,
                mut errors,
            } = input?;
            match input.card_id {
                Field::Set(c) if c != current.card_id => errors.add("card_id", "can't be changed"),
                Field::Null => errors.add("card_id", "can't be changed"),
                _ => {}
            }
            errors.into_result()?;
            let mut fields = current.fields.clone();
            input.merge_into(&mut fields);
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

/// `POST /posters`: the card the poster signs customers up for (in the attributes or at
/// the top level) and the new poster's attributes.
pub struct PosterCreate {
    pub card_id: Option<i64>,
    pub fields: PosterFields,
}

impl PosterCreate {
    pub fn parse(params: &Map<String, Value>) -> Result<Parsed<PosterCreate>, ApiError> {
        let mut errors = FieldErrors::new();
        let attrs = attributes(params, "poster")?;
        let input = PosterInput::parse(attrs, true, &mut errors);
        let card_id = match &input.card_id {
            Field::Absent if !attrs.contains_key("card_id") => {
                integer(params, "card_id", &mut errors).set()
            }
            f => f.clone().set(),
        };
        if card_id.is_none() && !errors.has("card_id") {
            errors.add("card_id", "can't be blank");
        }
        let mut fields = PosterFields::default();
        input.merge_into(&mut fields);
        Ok(Parsed {
            value: PosterCreate { card_id, fields },
            errors,
        })
    }
}

/// The poster attributes of a request, each field checked (none depends on another).
pub struct PosterInput {
    /// Given only to name the card on create; on update it can't change.
    pub card_id: Field<i64>,
    pub title: Option<String>,
    pub paper_size: Option<PaperSize>,
    pub contact_collection_mode: Option<ContactMode>,
    pub primary_color: Option<HexColor>,
    pub secondary_color: Option<HexColor>,
    pub text_color: Option<HexColor>,
    pub active: Option<bool>,
    pub birthday_required: Option<bool>,
}

impl PosterInput {
    /// The attributes of a `PATCH`, to be applied to the stored poster.
    pub fn parse_update(params: &Map<String, Value>) -> Result<Parsed<PosterInput>, ApiError> {
        let mut errors = FieldErrors::new();
        let value = PosterInput::parse(attributes(params, "poster")?, false, &mut errors);
        Ok(Parsed { value, errors })
    }

    fn parse(attrs: &Map<String, Value>, creating: bool, errors: &mut FieldErrors) -> PosterInput {
        let card_id = integer(attrs, "card_id", errors);
        let title =
            name_text(attrs, "title", TITLE_MAX, errors).not_blank("title", creating, errors);
        let paper_size = domain(attrs, "paper_size", errors, PaperSize::parse).not_blank(
            "paper_size",
            false,
            errors,
        );
        let contact_collection_mode =
            domain(attrs, "contact_collection_mode", errors, ContactMode::parse).not_blank(
                "contact_collection_mode",
                false,
                errors,
            );
        let mut colour =
            |key: &str| domain(attrs, key, errors, HexColor::parse).not_blank(key, false, errors);
        let primary_color = colour("primary_color");
        let secondary_color = colour("secondary_color");
        let text_color = colour("text_color");
        let mut flag = |key: &str| boolean(attrs, key, errors).not_blank(key, false, errors);
        let active = flag("active");
        let birthday_required = flag("birthday_required");
        PosterInput {
            card_id,
            title,
            paper_size,
            contact_collection_mode,
            primary_color,
            secondary_color,
            text_color,
            active,
            birthday_required,
        }
    }

    /// Applies the given attributes to a poster's fields (new or stored).
    pub fn merge_into(&self, f: &mut PosterFields) {
        if let Some(title) = &self.title {
            f.title = title.clone();
        }
        if let Some(size) = self.paper_size {
            f.paper_size = size;
        }
        if let Some(mode) = self.contact_collection_mode {
            f.contact_collection_mode = mode;
        }
        for (given, slot) in [
            (&self.primary_color, &mut f.primary_color),
            (&self.secondary_color, &mut f.secondary_color),
            (&self.text_color, &mut f.text_color),
        ] {
            if let Some(colour) = given {
                *slot = colour.clone();
            }
        }
        if let Some(active) = self.active {
            f.active = active;
        }
        if let Some(required) = self.birthday_required {
            f.birthday_required = required;
        }
    }

    /// The OpenAPI schema of the attributes, from the same lists, limits and defaults
    /// `parse` and `PosterFields::default` use.
    fn schema(creating: bool) -> Value {
        use super::openapi::schema::*;
        use serde_json::json;
        let d = PosterFields::default();
        let mut props = json!({
            "title": text(TITLE_MAX),
            "paper_size": {"type": "string", "enum": PaperSize::ALL, "default": d.paper_size},
            "contact_collection_mode": {"type": "string", "enum": ContactMode::ALL,
                "default": d.contact_collection_mode, "description": "What the signup page asks for."},
            "primary_color": input_colour(),
            "secondary_color": input_colour(),
            "text_color": input_colour(),
            "birthday_required": {"type": "boolean", "default": d.birthday_required},
            "active": {"type": "boolean", "default": d.active},
        });
        if creating {
            props["card_id"] = json!({"type": "integer", "format": "int64", "minimum": 1,
                "description": "Required: an active card template of this store (or give card_id at the top level)."});
        }
        input(props, if creating { &["title"] } else { &[] })
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
            "paper_size": enum_of(PaperSize::ALL),
            "primary_color": stored_colour(),
            "secondary_color": stored_colour(),
            "text_color": stored_colour(),
            "contact_collection_mode": enum_of(ContactMode::ALL),
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
        wrapped("poster", PosterInput::schema(true), top),
    );
    c.request_body(
        "PosterUpdate",
        false,
        wrapped("poster", PosterInput::schema(false), Map::new()),
    );
}
