//! Card templates (`/accounts/:account_id/cards`): list, show, create, update, archive;
//! the attributes a request sets (`CardInput`), their rules and their schema.

use rusqlite::Connection;
use serde_json::{Map, Value};

use super::crud::{self, Attributes, Done, Find, Parse, Query};
use super::endpoint::{endpoints, Components, Doc, Endpoint, Resource};
use crate::db;
use crate::db::cards::{Card, CardDesign, Scope};
use crate::domain::{limits, AuxiliaryFields, HexColor, StampIcon, StripPreset, StripType};
use crate::error::{ApiError, FieldErrors};
use crate::params::{
    boolean, domain, integer, name_text, text_list, whole_number, within, Field, Parsed,
};
use crate::time_fmt;

pub const RESOURCE: Resource = Resource::new("Cards", ENDPOINTS, components);

const ENDPOINTS: &[Endpoint] = endpoints!["/accounts/{account_id}/cards";
    Get "" => crud::list::<Card>, Doc::new("listCards", "The store's card templates").query(&["scope"]).ok(200, "The card templates, by id", "CardList").staff();
    Post "" => crud::create::<Card>, Doc::new("createCard", "Create a card template").body("CardCreate").ok(201, "The new card template", "Card");
    Get "/{id}" => crud::show::<Card>, Doc::new("getCard", "One card template").ok(200, "The card template", "Card").staff();
    Patch "/{id}" => crud::update::<Card>, Doc::new("updateCard", "Change, archive or restore a card template").describe("Partial: only the given keys change. `archived: true|false` archives or restores (there is no DELETE). `stamps_required` may not go below a reward of the card.").body("CardUpdate").ok(200, "The updated card template", "Card"), Put "updateCardPut" "Change a card template (same as PATCH)";
];

impl crud::Plain for Card {
    const WHAT: &'static str = "Card";
    const FIND: Find<Card> = db::cards::find;
}

impl crud::List for Card {
    /// The active templates, unless `scope` asks for others.
    fn list(conn: &Connection, store_id: i64, query: &Query, _: &str) -> Done<Vec<Card>> {
        let scope = match query.get("scope").map(|s| s.trim()) {
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
    }
}

impl crud::Create for Card {
    type New = CardCreate;
    const PARSE_NEW: Parse<Self::New> = CardInput::parse_create;

    fn insert(tx: &Connection, store_id: i64, new: CardCreate) -> Done<i64> {
        let archived_at = new.archived.then(time_fmt::now);
        Ok(db::cards::insert(
            tx,
            store_id,
            &new.design,
            archived_at.as_deref(),
        )?)
    }
}

impl crud::Update for Card {
    type Input = CardInput;
    const FIND: Find<Card> = db::cards::find;

    /// Judged against the stored design; an archived template keeps when it was archived.
    fn update(tx: &Connection, current: Card, input: Parsed<CardInput>) -> Done {
        let Parsed { value, mut errors } = input;
        let mut design = current.design.clone();
        value.merge_into(&mut design, &mut errors);
        errors.into_result()?;
        let archived_at = match value.archived {
            None => current.archived_at.clone(),
            Some(false) => None,
            Some(true) => current
                .archived_at
                .clone()
                .or_else(|| Some(time_fmt::now())),
        };
        let needed = db::rewards::max_required_for_card(tx, current.id)?;
        if design.stamps_required < needed {
            return Err(FieldErrors::single(
                "stamps_required",
                &format!("must be at least {needed} (a reward of this card needs {needed} stamps)"),
            ));
        }
        if design != current.design || archived_at != current.archived_at {
            db::cards::update(tx, current.id, &design, archived_at.as_deref())?;
        }
        Ok(())
    }
}

/// `POST /cards`: the new template's design, checked whole, and whether it starts archived.
pub struct CardCreate {
    pub design: CardDesign,
    pub archived: bool,
}

/// The card attributes of a request, each field checked on its own. Fields that can't be
/// cleared are `Option`s (`null` is refused while parsing); how the fields go together
/// (a preset strip needs a preset, the welcome stamps stay below the stamps required) is
/// checked once they are applied to a design.
pub struct CardInput {
    pub name: Option<String>,
    pub card_color: Option<HexColor>,
    pub text_color: Option<HexColor>,
    pub stamp_color: Option<HexColor>,
    pub stamp_background_color: Option<HexColor>,
    pub strip_color: Field<HexColor>,
    pub stamp_icon: Option<StampIcon>,
    pub strip_type: Option<StripType>,
    pub strip_preset: Field<StripPreset>,
    /// `null` means the default (100).
    pub strip_opacity: Field<i64>,
    pub header_text: Field<String>,
    /// `null` means none.
    pub auxiliary_fields: Field<AuxiliaryFields>,
    pub stamps_required: Option<i64>,
    /// `null` means none (0).
    pub initial_stamps: Field<i64>,
    pub show_member_field: Option<bool>,
    pub show_stamps_to_reward_field: Option<bool>,
    /// A stored timestamp.
    pub expires_at: Field<String>,
    /// The wording of the notice a pass shows when its stamps change.
    pub stamp_message: Field<String>,
    /// `true` archives, `false` restores.
    pub archived: Option<bool>,
    /// Stamp limits; `null` removes one.
    pub max_stamps_per_visit: Field<i64>,
    pub min_minutes_between_visits: Field<i64>,
    pub max_stamps_per_day: Field<i64>,
}

impl crud::Attributes for CardInput {
    const ROOT: &'static str = "card";

    fn parse(attrs: &Map<String, Value>, creating: bool, errors: &mut FieldErrors) -> CardInput {
        let name =
            name_text(attrs, "name", limits::CARD_NAME, errors).not_blank("name", creating, errors);
        let mut colour =
            |key: &str| domain(attrs, key, errors, HexColor::parse).not_blank(key, false, errors);
        let card_color = colour("card_color");
        let text_color = colour("text_color");
        let stamp_color = colour("stamp_color");
        let stamp_background_color = colour("stamp_background_color");
        let strip_color = domain(attrs, "strip_color", errors, HexColor::parse);
        let stamp_icon = domain(attrs, "stamp_icon", errors, StampIcon::parse).not_blank(
            "stamp_icon",
            false,
            errors,
        );
        let strip_type = domain(attrs, "strip_type", errors, StripType::parse).not_blank(
            "strip_type",
            false,
            errors,
        );
        let strip_preset = domain(attrs, "strip_preset", errors, StripPreset::parse);
        let strip_opacity = within(
            whole_number(attrs, "strip_opacity", errors),
            "strip_opacity",
            &limits::STRIP_OPACITY,
            errors,
        );
        let header_text = name_text(attrs, "header_text", limits::HEADER_TEXT, errors);
        let auxiliary_fields = match text_list(attrs, "auxiliary_fields", errors) {
            Field::Set(lines) => match AuxiliaryFields::parse(&lines) {
                Ok(fields) => Field::Set(fields),
                Err(m) => {
                    errors.add("auxiliary_fields", m);
                    Field::Absent
                }
            },
            Field::Null => Field::Null,
            Field::Absent => Field::Absent,
        };
        let stamps_required = match integer(attrs, "stamps_required", errors) {
            Field::Set(n) if n < *limits::STAMPS_REQUIRED.start() => {
                let min = limits::STAMPS_REQUIRED.start();
                errors.add(
                    "stamps_required",
                    format!("must be greater than or equal to {min}"),
                );
                None
            }
            Field::Set(n) if n > *limits::STAMPS_REQUIRED.end() => {
                let max = limits::STAMPS_REQUIRED.end();
                errors.add(
                    "stamps_required",
                    format!("must be less than or equal to {max}"),
                );
                None
            }
            f => f.not_blank("stamps_required", false, errors),
        };
        let initial_stamps = match integer(attrs, "initial_stamps", errors) {
            Field::Set(n) if n < 0 => {
                errors.add("initial_stamps", "must be greater than or equal to 0");
                Field::Absent
            }
            f => f,
        };
        let mut flag = |key: &str| boolean(attrs, key, errors).not_blank(key, false, errors);
        let show_member_field = flag("show_member_field");
        let show_stamps_to_reward_field = flag("show_stamps_to_reward_field");
        let expires_at = domain(attrs, "expires_at", errors, |s| {
            time_fmt::parse_timestamp(s)
                .map(time_fmt::format_timestamp)
                .ok_or_else(|| "is invalid (use an ISO 8601 time or YYYY-MM-DD)".to_string())
        });
        let stamp_message = match name_text(attrs, "stamp_message", limits::STAMP_MESSAGE, errors) {
            Field::Set(m) => match crate::domain::stamp_message::check(&m) {
                Ok(()) => Field::Set(m),
                Err(message) => {
                    errors.add("stamp_message", message);
                    Field::Absent
                }
            },
            f => f,
        };
        let archived = boolean(attrs, "archived", errors).set();
        let mut limit = |key: &str, range: &std::ops::RangeInclusive<i64>| {
            within(whole_number(attrs, key, errors), key, range, errors)
        };
        let max_stamps_per_visit = limit("max_stamps_per_visit", &limits::STAMPS_PER_VISIT);
        let min_minutes_between_visits = limit(
            "min_minutes_between_visits",
            &limits::MINUTES_BETWEEN_VISITS,
        );
        let max_stamps_per_day = limit("max_stamps_per_day", &limits::STAMPS_PER_DAY);
        CardInput {
            max_stamps_per_visit,
            min_minutes_between_visits,
            max_stamps_per_day,
            name,
            card_color,
            text_color,
            stamp_color,
            stamp_background_color,
            strip_color,
            stamp_icon,
            strip_type,
            strip_preset,
            strip_opacity,
            header_text,
            auxiliary_fields,
            stamps_required,
            initial_stamps,
            show_member_field,
            show_stamps_to_reward_field,
            expires_at,
            stamp_message,
            archived,
        }
    }

    fn schema(creating: bool) -> Value {
        use super::openapi::schema::*;
        use serde_json::json;
        let d = CardDesign::default();
        input(
            json!({
                "name": text(limits::CARD_NAME),
                "card_color": input_colour(),
                "text_color": input_colour(),
                "stamp_icon": {"type": "string", "enum": StampIcon::ALL, "default": d.stamp_icon},
                "stamp_color": input_colour(),
                "stamp_background_color": input_colour(),
                "stamps_required": {"type": "integer", "minimum": limits::STAMPS_REQUIRED.start(), "maximum": limits::STAMPS_REQUIRED.end(),
                    "default": d.stamps_required},
                "initial_stamps": nullable(json!({"type": "integer", "minimum": 0,
                    "maximum": limits::STAMPS_REQUIRED.end() - 1, "default": d.initial_stamps,
                    "description": "Welcome bonus, 0 to stamps_required - 1."})),
                "strip_type": {"type": "string", "enum": StripType::ALL, "default": d.strip_type},
                "strip_color": nullable(input_colour()),
                "strip_preset": nullable(json!({"type": "string", "enum": StripPreset::ALL,
                    "description": "Required when strip_type is preset."})),
                "strip_opacity": nullable(json!({"type": "integer",
                    "minimum": limits::STRIP_OPACITY.start(), "maximum": limits::STRIP_OPACITY.end(),
                    "default": d.strip_opacity,
                    "description": "The strip's opacity over the card colour, in percent; null means 100. A decimal without a fraction (60.0, as Leal's SDK sends) counts as the whole number."})),
                "header_text": nullable(text(limits::HEADER_TEXT)),
                "auxiliary_fields": nullable(json!({"type": "array",
                    "items": text(limits::AUXILIARY_FIELD),
                    "description": format!("Extra lines on the front of the card's passes: at most {} once blank entries are dropped, each trimmed and at most {} characters. null or [] means none. In a form: `card[auxiliary_fields][]=...` once per line.", limits::AUXILIARY_FIELDS, limits::AUXILIARY_FIELD)})),
                "show_member_field": boolean(),
                "show_stamps_to_reward_field": boolean(),
                "expires_at": nullable(json!({"type": "string", "format": "date-time",
                    "description": "An ISO 8601 (RFC 3339) time with any offset, or a date (YYYY-MM-DD) meaning the end of that day, UTC; years 1900 to 9999."})),
                "stamp_message": nullable(json!({"type": "string", "maxLength": limits::STAMP_MESSAGE,
                    "description": stamp_message_doc()})),
                "archived": {"type": "boolean", "description": "true archives, false restores."},
                "max_stamps_per_visit": limit_schema(&limits::STAMPS_PER_VISIT, "Most stamps a customer gets on this card in one visit (the stamps within two hours of the first of them, on any card); null: no limit. A stamp past it is 422 unless an owner sends `override: true`."),
                "min_minutes_between_visits": limit_schema(&limits::MINUTES_BETWEEN_VISITS, "Minutes a stamp that starts a new visit must come after the customer's last stamp on this card; null: no limit."),
                "max_stamps_per_day": limit_schema(&limits::STAMPS_PER_DAY, "Most stamps a customer gets on this card in one day (UTC); null: no limit."),
            }),
            if creating { &["name"] } else { &[] },
        )
    }
}

impl CardInput {
    /// A new template: the attributes applied to the defaults, every error at once.
    pub fn parse_create(body: &Map<String, Value>) -> Result<CardCreate, ApiError> {
        let (input, design) = crud::read_new(body, CardDesign::default(), CardInput::merge_into)?;
        Ok(CardCreate {
            design,
            archived: input.archived.unwrap_or(false),
        })
    }

    /// Applies the input to a design (the defaults, or the stored one) and checks how the
    /// fields go together; `errors` holds the input's own, so a field refused already is
    /// not judged again.
    pub fn merge_into(&self, d: &mut CardDesign, errors: &mut FieldErrors) {
        fn keep<T: Clone>(given: &Option<T>, slot: &mut T) {
            if let Some(v) = given {
                *slot = v.clone();
            }
        }
        keep(&self.name, &mut d.name);
        keep(&self.card_color, &mut d.card_color);
        keep(&self.text_color, &mut d.text_color);
        keep(&self.stamp_color, &mut d.stamp_color);
        keep(&self.stamp_background_color, &mut d.stamp_background_color);
        d.strip_color = self.strip_color.clone().merge_into(d.strip_color.take());
        keep(&self.stamp_icon, &mut d.stamp_icon);
        keep(&self.strip_type, &mut d.strip_type);
        d.strip_preset = self.strip_preset.clone().merge_into(d.strip_preset.take());
        match self.strip_opacity {
            Field::Set(n) => d.strip_opacity = n,
            Field::Null => d.strip_opacity = CardDesign::default().strip_opacity,
            Field::Absent => {}
        }
        d.header_text = self.header_text.clone().merge_into(d.header_text.take());
        match &self.auxiliary_fields {
            Field::Set(f) => d.auxiliary_fields = f.clone(),
            Field::Null => d.auxiliary_fields = AuxiliaryFields::default(),
            Field::Absent => {}
        }
        keep(&self.stamps_required, &mut d.stamps_required);
        match self.initial_stamps {
            Field::Set(n) => d.initial_stamps = n,
            Field::Null => d.initial_stamps = 0,
            Field::Absent => {}
        }
        keep(&self.show_member_field, &mut d.show_member_field);
        keep(
            &self.show_stamps_to_reward_field,
            &mut d.show_stamps_to_reward_field,
        );
        d.expires_at = self.expires_at.clone().merge_into(d.expires_at.take());
        d.stamp_message = self
            .stamp_message
            .clone()
            .merge_into(d.stamp_message.take());
        let l = &mut d.limits;
        let limit = |given: &Field<i64>, current: Option<i64>| given.clone().merge_into(current);
        l.max_stamps_per_visit = limit(&self.max_stamps_per_visit, l.max_stamps_per_visit);
        l.min_minutes_between_visits = limit(
            &self.min_minutes_between_visits,
            l.min_minutes_between_visits,
        );
        l.max_stamps_per_day = limit(&self.max_stamps_per_day, l.max_stamps_per_day);

        if d.strip_type == StripType::Preset
            && d.strip_preset.is_none()
            && !errors.has("strip_preset")
        {
            errors.add("strip_preset", "can't be blank when strip_type is preset");
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
    }
}

/// What `stamp_message` is, for the OpenAPI document.
fn stamp_message_doc() -> String {
    use crate::domain::stamp_message::{DEFAULT, PLACEHOLDERS};
    let placeholders: Vec<String> = PLACEHOLDERS
        .iter()
        .map(|(p, what)| format!("`{p}` ({what})"))
        .collect();
    format!(
        "The notice a saved Apple Wallet pass shows on the lock screen when its stamps \
         change, with {}; null: \"{DEFAULT}\". When a reward is ready, the notice says so \
         after it.",
        placeholders.join(", ")
    )
}

/// The request-body schema of a stamp limit.
fn limit_schema(range: &std::ops::RangeInclusive<i64>, description: &str) -> Value {
    use super::openapi::schema::nullable;
    nullable(
        serde_json::json!({"type": "integer", "minimum": range.start(),
        "maximum": range.end(), "description": description}),
    )
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
            "stamps_required": {"type": "integer", "minimum": limits::STAMPS_REQUIRED.start(), "maximum": limits::STAMPS_REQUIRED.end()},
            "initial_stamps": {"type": "integer", "minimum": 0, "maximum": limits::STAMPS_REQUIRED.end() - 1},
            "strip_type": enum_of(StripType::ALL),
            "strip_color": nullable(stored_colour()),
            "strip_preset": nullable(enum_of(StripPreset::ALL)),
            "strip_opacity": {"type": "integer", "minimum": limits::STRIP_OPACITY.start(), "maximum": limits::STRIP_OPACITY.end(),
                "description": "The strip's opacity over the card colour, in percent (100: the strip as it is)."},
            "header_text": nullable(string()),
            "auxiliary_fields": {"type": "array", "items": text(limits::AUXILIARY_FIELD), "maxItems": limits::AUXILIARY_FIELDS,
                "description": "Extra lines shown on the front of the card's passes."},
            "show_member_field": boolean(),
            "show_stamps_to_reward_field": boolean(),
            "expires_at": nullable(timestamp()),
            "stamp_message": {"type": "string", "nullable": true, "description": stamp_message_doc()},
            "archived_at": nullable(timestamp()),
            "max_stamps_per_visit": nullable(json!({"type": "integer", "minimum": limits::STAMPS_PER_VISIT.start(), "maximum": limits::STAMPS_PER_VISIT.end()})),
            "min_minutes_between_visits": nullable(json!({"type": "integer", "minimum": limits::MINUTES_BETWEEN_VISITS.start(), "maximum": limits::MINUTES_BETWEEN_VISITS.end()})),
            "max_stamps_per_day": nullable(json!({"type": "integer", "minimum": limits::STAMPS_PER_DAY.start(), "maximum": limits::STAMPS_PER_DAY.end()})),
            "rewards_count": count(),
            "customer_cards_count": count(),
            "created_at": timestamp(),
            "updated_at": timestamp(),
        })),
    );
    c.schema("CardList", array_of("Card"));
    c.create_and_update("Card", CardInput::ROOT, CardInput::schema, Map::new());
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn update(body: Value) -> Parsed<CardInput> {
        let params = body.as_object().expect("a JSON object");
        crud::read_attributes(params, false).expect("the attributes are an object")
    }

    #[test]
    fn an_update_is_judged_against_the_stored_design() {
        let stored = CardDesign {
            stamps_required: 5,
            strip_type: StripType::Preset,
            strip_preset: Some(StripPreset::Dots),
            ..CardDesign::default()
        };
        // Each field alone is fine; with the stored design they do not fit.
        let Parsed { value, mut errors } =
            update(json!({"card": {"initial_stamps": 5, "strip_preset": null}}));
        assert!(errors.is_empty());
        let mut design = stored.clone();
        value.merge_into(&mut design, &mut errors);
        assert_eq!(
            errors.0["initial_stamps"],
            ["must be less than stamps_required (5)"]
        );
        assert_eq!(
            errors.0["strip_preset"],
            ["can't be blank when strip_type is preset"]
        );

        // A field refused while parsing is not judged again.
        let Parsed { value, mut errors } =
            update(json!({"card": {"initial_stamps": -1, "card_color": "#abcdef"}}));
        let mut design = stored.clone();
        value.merge_into(&mut design, &mut errors);
        assert_eq!(
            errors.0["initial_stamps"],
            ["must be greater than or equal to 0"]
        );
        assert_eq!(design.card_color.as_str(), "#ABCDEF");
        assert_eq!(design.initial_stamps, stored.initial_stamps);
    }
}
