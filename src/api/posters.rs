//! Posters (`/accounts/:account_id/posters`): QR-code signup sheets for one card; the
//! attributes a request sets (`PosterInput`), their rules and their schema.

use rusqlite::Connection;
use serde_json::{Map, Value};

use super::crud::{self, Attributes, Done, Find, Found, OfCard, Parse, Query};
use super::endpoint::{endpoints, Components, Doc, Endpoint, Resource};
use crate::db;
use crate::db::posters::{Poster, PosterFields, PosterJson};
use crate::domain::{ContactMode, HexColor, PaperSize};
use crate::error::{ApiError, FieldErrors};
use crate::params::{boolean, domain, integer, name_text, Field, Parsed};
use crate::time_fmt;

pub const RESOURCE: Resource = Resource::new("Posters", ENDPOINTS, components);

const ENDPOINTS: &[Endpoint] = endpoints!["/accounts/{account_id}/posters";
    Get "" => crud::list::<Poster>, Doc::new("listPosters", "The store's posters").ok(200, "The posters, by id", "PosterList");
    Post "" => crud::create::<Poster>, Doc::new("createPoster", "Create a poster").describe("A QR-code signup sheet for one card template: `card_id` must be an active card of this store (404 `Card not found`; 422 when archived or expired). Its `signup_url` is a public page where a customer enrols by typing their name and email or phone.").body("PosterCreate").ok(201, "The new poster", "Poster");
    Get "/{id}" => crud::show::<Poster>, Doc::new("getPoster", "One poster").ok(200, "The poster", "Poster");
    Patch "/{id}" => crud::update::<Poster>, Doc::new("updatePoster", "Change a poster").describe("Partial: only the given keys change. `card_id` never changes (422 `can't be changed`).").body("PosterUpdate").ok(200, "The updated poster", "Poster"), Put "updatePosterPut" "Change a poster (same as PATCH)";
    Delete "/{id}" => crud::delete::<Poster>, Doc::new("deletePoster", "Delete a poster").empty(204, "Deleted (no body)");
];

pub const TITLE_MAX: usize = 100;

/// Shown with its public links, which carry its token.
impl crud::Record for Poster {
    const WHAT: &'static str = "Poster";
    type Json = PosterJson;

    fn find(conn: &Connection, store_id: i64, id: i64, base: &str) -> Found<PosterJson> {
        Ok(db::posters::find(conn, store_id, id)?.map(|p| p.to_json(base)))
    }
}

impl crud::List for Poster {
    fn list(conn: &Connection, store_id: i64, _: &Query, base: &str) -> Done<Vec<PosterJson>> {
        let posters = db::posters::list(conn, store_id)?;
        Ok(posters.iter().map(|p| p.to_json(base)).collect())
    }
}

impl crud::Create for Poster {
    type New = Parsed<OfCard<PosterInput>>;
    const PARSE_NEW: Parse<Self::New> = |body| OfCard::parse(body, |p| &p.card_id);

    /// The card named must be one of the store's (404 first) and still open.
    fn insert(tx: &Connection, store_id: i64, new: Parsed<OfCard<PosterInput>>) -> Done<i64> {
        let Parsed { value, mut errors } = new;
        if let Some(id) = value.card_id {
            let card =
                db::cards::find(tx, store_id, id)?.ok_or_else(|| ApiError::not_found("Card"))?;
            if card.is_closed(&time_fmt::now()) {
                errors.add("card_id", "is archived or expired");
            }
        }
        errors.into_result()?;
        let card_id = value
            .card_id
            .ok_or_else(|| ApiError::internal("card checked above"))?;
        let mut fields = PosterFields::default();
        value.input.merge_into(&mut fields);
        Ok(db::posters::insert(tx, store_id, card_id, &fields)?)
    }
}

impl crud::Update for Poster {
    type Input = PosterInput;
    const FIND: Find<Poster> = db::posters::find;

    /// A poster stays with its card.
    fn update(tx: &Connection, current: Poster, input: Parsed<PosterInput>) -> Done {
        let Parsed { value, mut errors } = input;
        value
            .card_id
            .unchanged(&current.card_id, "card_id", &mut errors);
        errors.into_result()?;
        let mut fields = current.fields;
        value.merge_into(&mut fields);
        Ok(db::posters::update(tx, current.id, &fields)?)
    }
}

impl crud::Delete for Poster {
    const DELETE: crud::Remove = db::posters::delete;
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

impl crud::Attributes for PosterInput {
    const ROOT: &'static str = "poster";

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

impl PosterInput {
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
    let top = top_level_id("card_id");
    c.create_and_update("Poster", PosterInput::ROOT, PosterInput::schema, top);
}
