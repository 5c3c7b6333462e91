//! Rewards (`/accounts/:account_id/rewards`): list, show, create, update, delete; the
//! attributes a request sets (`RewardInput`), their rules and their schema.

use rusqlite::Connection;
use serde_json::{Map, Value};

use super::crud::{self, Attributes, Done, Find, OfCard, Parse, Query};
use super::endpoint::{endpoints, Components, Doc, Endpoint, Resource};
use crate::db;
use crate::db::cards::Card;
use crate::db::rewards::{Reward, RewardFields};
use crate::domain::limits;
use crate::error::{ApiError, FieldErrors};
use crate::params::{boolean, bounded_text, integer, name_text, Field, Parsed};

pub const RESOURCE: Resource = Resource::new("Rewards", ENDPOINTS, components);

const ENDPOINTS: &[Endpoint] = endpoints!["/accounts/{account_id}/rewards";
    Get "" => crud::list::<Reward>, Doc::new("listRewards", "The store's rewards").query(&["card_id", "active"]).ok(200, "The rewards, by card and position", "RewardList").staff();
    Post "" => crud::create::<Reward>, Doc::new("createReward", "Create a reward of a card template").describe("`card_id` must be a card of this store (else 404 `Card not found`); `stamps_required` at most the card's.").body("RewardCreate").ok(201, "The new reward", "Reward");
    Get "/{id}" => crud::show::<Reward>, Doc::new("getReward", "One reward").ok(200, "The reward", "Reward").staff();
    Patch "/{id}" => crud::update::<Reward>, Doc::new("updateReward", "Change a reward").describe("Partial. `card_id` never changes (422 `can't be changed`).").body("RewardUpdate").ok(200, "The updated reward", "Reward"), Put "updateRewardPut" "Change a reward (same as PATCH)";
    Delete "/{id}" => crud::delete::<Reward>, Doc::new("deleteReward", "Delete a reward").describe("The ledger keeps naming it.").empty(204, "Deleted (no body)");
];

impl crud::Plain for Reward {
    const WHAT: &'static str = "Reward";
    const FIND: Find<Reward> = db::rewards::find;
}

impl crud::List for Reward {
    /// Narrowed by `card_id` and `active`.
    fn list(conn: &Connection, store_id: i64, query: &Query, _: &str) -> Done<Vec<Reward>> {
        let (card_id, active) = crud::card_filters(query)?;
        Ok(db::rewards::list(conn, store_id, card_id, active)?)
    }
}

impl crud::Create for Reward {
    type New = Parsed<OfCard<RewardInput>>;
    const PARSE_NEW: Parse<Self::New> = |body| OfCard::parse(body, |r| &r.card_id);

    /// The card named must be one of the store's (404 first), and hold the stamps.
    fn insert(tx: &Connection, store_id: i64, new: Parsed<OfCard<RewardInput>>) -> Done<i64> {
        let Parsed { value, mut errors } = new;
        let card = match value.card_id {
            Some(id) => Some(
                db::cards::find(tx, store_id, id)?.ok_or_else(|| ApiError::not_found("Card"))?,
            ),
            None => None,
        };
        let mut fields = RewardFields::default();
        value
            .input
            .merge_into(&mut fields, card.as_ref(), &mut errors);
        errors.into_result()?;
        let card = card.ok_or_else(|| ApiError::internal("card checked above"))?;
        Ok(db::rewards::insert(tx, store_id, card.id, &fields)?)
    }
}

impl crud::Update for Reward {
    type Input = RewardInput;
    const FIND: Find<Reward> = db::rewards::find;

    /// Judged against the stored reward's card, which never changes.
    fn update(tx: &Connection, current: Reward, input: Parsed<RewardInput>) -> Done {
        let Parsed { value, mut errors } = input;
        let card = db::cards::find(tx, current.account_id, current.card_id)?;
        value
            .card_id
            .unchanged(&current.card_id, "card_id", &mut errors);
        let mut fields = RewardFields {
            name: current.name,
            description: current.description,
            stamps_required: current.stamps_required,
            position: current.position,
            active: current.active,
        };
        value.merge_into(&mut fields, card.as_ref(), &mut errors);
        errors.into_result()?;
        Ok(db::rewards::update(tx, current.id, &fields)?)
    }
}

impl crud::Delete for Reward {
    const DELETE: crud::Remove = db::rewards::delete;
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

impl crud::Attributes for RewardInput {
    const ROOT: &'static str = "reward";

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

impl RewardInput {
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
}

fn components(c: &mut Components) {
    use super::openapi::schema::*;
    use serde_json::json;
    crud::document_card_filters(c);
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
    let top = top_level_id("card_id");
    c.create_and_update("Reward", RewardInput::ROOT, RewardInput::schema, top);
}
