//! Posters (`/accounts/:account_id/posters`): QR-code signup sheets for one card; the
//! attributes a request sets (`PosterInput`), their rules and their schema.

use rusqlite::Connection;
use serde_json::{Map, Value};

use super::crud::{self, Attributes, Done, Find, Found, OfCard, Parse, Query};
use super::endpoint::{endpoints, Components, Doc, Endpoint, Resource};
use crate::db;
use crate::db::posters::{Poster, PosterFields, PosterJson};
use crate::domain::{limits, ContactMode, HexColor, PaperSize};
use crate::error::{ApiError, FieldErrors};
use crate::params::{boolean, domain, integer, name_text, whole_number, within, Field, Parsed};
use crate::time_fmt;

pub const RESOURCE: Resource = Resource::new("Posters", ENDPOINTS, components);

const ENDPOINTS: &[Endpoint] = endpoints!["/accounts/{account_id}/posters";
    Get "" => crud::list::<Poster>, Doc::new("listPosters", "The store's posters").query(&["card_id", "active"]).ok(200, "The posters, by id", "PosterList");
    Post "" => crud::create::<Poster>, Doc::new("createPoster", "Create a poster").describe("A QR-code signup sheet for one card template: `card_id` must be an active card of this store (404 `Card not found`; 422 when archived or expired). Its `signup_url` is a public page where a customer enrols by typing their name and email or phone. Without a `title`, stampd writes one: \"Collect <n> stamps for <reward>\" with the card's first active reward by position, else \"Join <card name>\".").body("PosterCreate").ok(201, "The new poster", "Poster");
    Get "/{id}" => crud::show::<Poster>, Doc::new("getPoster", "One poster").ok(200, "The poster", "Poster");
    Patch "/{id}" => crud::update::<Poster>, Doc::new("updatePoster", "Change a poster").describe("Partial: only the given keys change. `card_id` never changes (422 `can't be changed`). A `title` of null or blank text is written by stampd again, as on create. `require_birthday: false` clears `minimum_age`.").body("PosterUpdate").ok(200, "The updated poster", "Poster"), Put "updatePosterPut" "Change a poster (same as PATCH)";
    Delete "/{id}" => crud::delete::<Poster>, Doc::new("deletePoster", "Delete a poster").empty(204, "Deleted (no body)");
];

/// Shown with its public links, which carry its token.
impl crud::Record for Poster {
    const WHAT: &'static str = "Poster";
    type Json = PosterJson;

    fn find(conn: &Connection, store_id: i64, id: i64, base: &str) -> Found<PosterJson> {
        Ok(db::posters::find(conn, store_id, id)?.map(|p| p.to_json(base)))
    }
}

impl crud::List for Poster {
    /// Narrowed by `card_id` and `active`.
    fn list(conn: &Connection, store_id: i64, query: &Query, base: &str) -> Done<Vec<PosterJson>> {
        let (card_id, active) = crud::card_filters(query)?;
        let posters = db::posters::list(conn, store_id, card_id, active)?;
        Ok(posters.iter().map(|p| p.to_json(base)).collect())
    }
}

impl crud::Create for Poster {
    type New = Parsed<OfCard<PosterInput>>;
    const PARSE_NEW: Parse<Self::New> = |body| OfCard::parse(body, |p| &p.card_id);

    /// The card named must be one of the store's (404 first) and still open.
    fn insert(tx: &Connection, store_id: i64, new: Parsed<OfCard<PosterInput>>) -> Done<i64> {
        let Parsed { value, mut errors } = new;
        let card = match value.card_id {
            Some(id) => {
                let card = db::cards::find(tx, store_id, id)?
                    .ok_or_else(|| ApiError::not_found("Card"))?;
                if card.is_closed(&time_fmt::now()) {
                    errors.add("card_id", "is archived or expired");
                }
                Some(card)
            }
            None => None,
        };
        let mut fields = PosterFields::default();
        value.input.merge_into(&mut fields, &mut errors);
        errors.into_result()?;
        let card = card.ok_or_else(|| ApiError::internal("card checked above"))?;
        if value.input.title.set().is_none() {
            fields.title = default_title(tx, &card)?;
        }
        Ok(db::posters::insert(tx, store_id, card.id, &fields)?)
    }
}

impl crud::Update for Poster {
    type Input = PosterInput;
    const FIND: Find<Poster> = db::posters::find;

    /// A poster stays with its card; its title may be left to stampd again.
    fn update(tx: &Connection, current: Poster, input: Parsed<PosterInput>) -> Done {
        let Parsed { value, mut errors } = input;
        value
            .card_id
            .unchanged(&current.card_id, "card_id", &mut errors);
        let mut fields = current.fields;
        value.merge_into(&mut fields, &mut errors);
        errors.into_result()?;
        if matches!(value.title, Field::Null) {
            let card = db::cards::find(tx, current.store_id, current.card_id)?
                .ok_or_else(|| ApiError::internal("a poster's card is gone"))?;
            fields.title = default_title(tx, &card)?;
        }
        Ok(db::posters::update(tx, current.id, &fields)?)
    }
}

impl crud::Delete for Poster {
    const DELETE: crud::Remove = db::posters::delete;
}

/// The title stampd gives a poster left without one: the card's first active reward by
/// position, or else the card's name, cut to fit a title.
fn default_title(conn: &Connection, card: &db::cards::Card) -> Result<String, ApiError> {
    let title = match db::rewards::first_active(conn, card.id)? {
        Some(r) => format!("Collect {} stamps for {}", r.stamps_required, r.name),
        None => format!("Join {}", card.design.name),
    };
    if title.chars().count() <= limits::POSTER_TITLE {
        return Ok(title);
    }
    let cut: String = title.chars().take(limits::POSTER_TITLE - 1).collect();
    Ok(format!("{}…", cut.trim_end()))
}

/// The poster attributes of a request, each field checked on its own; how
/// `minimum_age` goes with `require_birthday` is checked once they are applied.
pub struct PosterInput {
    /// Given only to name the card on create; on update it can't change.
    pub card_id: Field<i64>,
    /// `null` or blank: the title stampd writes.
    pub title: Field<String>,
    pub paper_size: Option<PaperSize>,
    pub contact_collection_mode: Option<ContactMode>,
    pub primary_color: Option<HexColor>,
    pub secondary_color: Option<HexColor>,
    pub text_color: Option<HexColor>,
    pub active: Option<bool>,
    pub require_email: Option<bool>,
    pub require_phone: Option<bool>,
    /// `require_birthday`, or stampd's earlier `birthday_required`.
    pub require_birthday: Option<bool>,
    /// `null` clears it.
    pub minimum_age: Field<i64>,
}

impl crud::Attributes for PosterInput {
    const ROOT: &'static str = "poster";

    fn parse(attrs: &Map<String, Value>, _creating: bool, errors: &mut FieldErrors) -> PosterInput {
        let card_id = integer(attrs, "card_id", errors);
        let title = name_text(attrs, "title", limits::POSTER_TITLE, errors);
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
        let require_email = flag("require_email");
        let require_phone = flag("require_phone");
        let require_birthday = match attrs.contains_key("require_birthday") {
            true => flag("require_birthday"),
            false => flag("birthday_required"),
        };
        let minimum_age = within(
            whole_number(attrs, "minimum_age", errors),
            "minimum_age",
            &limits::MINIMUM_AGE,
            errors,
        );
        PosterInput {
            card_id,
            title,
            paper_size,
            contact_collection_mode,
            primary_color,
            secondary_color,
            text_color,
            active,
            require_email,
            require_phone,
            require_birthday,
            minimum_age,
        }
    }

    fn schema(creating: bool) -> Value {
        use super::openapi::schema::*;
        use serde_json::json;
        let d = PosterFields::default();
        let modes: Vec<&str> = ContactMode::ALL
            .iter()
            .copied()
            .chain(ContactMode::ALIASES.iter().map(|(alias, _)| *alias))
            .collect();
        let aliases: Vec<String> = ContactMode::ALIASES
            .iter()
            .map(|(alias, name)| format!("`{alias}` for `{name}`"))
            .collect();
        let mut props = json!({
            "title": nullable(json!({"type": "string", "maxLength": limits::POSTER_TITLE,
                "description": "null or blank: \"Collect <n> stamps for <reward>\" with the card's first active reward by position, else \"Join <card name>\"."})),
            "paper_size": {"type": "string", "enum": PaperSize::ALL, "default": d.paper_size},
            "contact_collection_mode": {"type": "string", "enum": modes,
                "default": d.contact_collection_mode,
                "description": format!("The contact fields the signup page shows: both, the email only or the phone only. stampd's earlier names are accepted as aliases ({}).", aliases.join(", "))},
            "primary_color": input_colour(),
            "secondary_color": input_colour(),
            "text_color": input_colour(),
            "active": {"type": "boolean", "default": d.active},
            "require_email": {"type": "boolean", "default": d.require_email,
                "description": "A collected email must be given. With both fields collected and neither required, one of them must be given; a field collected alone is always required."},
            "require_phone": {"type": "boolean", "default": d.require_phone,
                "description": "A collected phone must be given (see require_email)."},
            "require_birthday": {"type": "boolean", "default": d.require_birthday,
                "description": "The signup page asks for a birthday. false clears minimum_age."},
            "birthday_required": {"type": "boolean", "deprecated": true,
                "description": "stampd's earlier name of require_birthday, accepted as an alias (require_birthday wins when both are given)."},
            "minimum_age": nullable(json!({"type": "integer",
                "minimum": limits::MINIMUM_AGE.start(), "maximum": limits::MINIMUM_AGE.end(),
                "description": "Customers younger than this on the day they sign up (in UTC) are refused. Only with require_birthday: true. A decimal without a fraction (18.0, as Leal's SDK sends) counts as the whole number."})),
        });
        if creating {
            props["card_id"] = json!({"type": "integer", "format": "int64", "minimum": 1,
                "description": "Required: an active card template of this store (or give card_id at the top level)."});
        }
        input(props, &[])
    }
}

impl PosterInput {
    /// Applies the given attributes to a poster's fields (new or stored) and checks that
    /// a minimum age goes with a required birthday; `errors` holds the input's own.
    pub fn merge_into(&self, f: &mut PosterFields, errors: &mut FieldErrors) {
        if let Field::Set(title) = &self.title {
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
        for (given, slot) in [
            (self.active, &mut f.active),
            (self.require_email, &mut f.require_email),
            (self.require_phone, &mut f.require_phone),
        ] {
            if let Some(flag) = given {
                *slot = flag;
            }
        }
        if let Some(required) = self.require_birthday {
            f.require_birthday = required;
            if !required {
                f.minimum_age = None;
            }
        }
        match self.minimum_age {
            Field::Set(_) if !f.require_birthday => errors.add(
                "minimum_age",
                "can only be set when require_birthday is true",
            ),
            Field::Set(age) => f.minimum_age = Some(age),
            Field::Null => f.minimum_age = None,
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
            "paper_size": enum_of(PaperSize::ALL),
            "primary_color": stored_colour(),
            "secondary_color": stored_colour(),
            "text_color": stored_colour(),
            "active": boolean(),
            "contact_collection_mode": enum_of(ContactMode::ALL),
            "collect_email": {"type": "boolean", "description": "Read-only: the signup page shows the email field (from contact_collection_mode)."},
            "collect_phone": {"type": "boolean", "description": "Read-only: the signup page shows the phone field (from contact_collection_mode)."},
            "require_email": boolean(),
            "require_phone": boolean(),
            "require_birthday": boolean(),
            "minimum_age": nullable(json!({"type": "integer", "minimum": limits::MINIMUM_AGE.start(), "maximum": limits::MINIMUM_AGE.end()})),
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
