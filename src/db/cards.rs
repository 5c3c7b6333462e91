//! Card templates: how a loyalty card looks and how many stamps it takes.

use super::{row, Columns};
use rusqlite::{params, Connection, Row};
use serde::Serialize;

use crate::domain::{AuxiliaryFields, HexColor, StampIcon, StripPreset, StripType};
use crate::time_fmt;

/// The attributes a client sets on a card template.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CardDesign {
    pub name: String,
    pub card_color: HexColor,
    pub text_color: HexColor,
    pub stamp_icon: StampIcon,
    pub stamp_color: HexColor,
    pub stamp_background_color: HexColor,
    pub stamps_required: i64,
    pub initial_stamps: i64,
    pub strip_type: StripType,
    pub strip_color: Option<HexColor>,
    pub strip_preset: Option<StripPreset>,
    /// The strip over the card colour, in percent.
    pub strip_opacity: i64,
    pub header_text: Option<String>,
    pub auxiliary_fields: AuxiliaryFields,
    pub show_member_field: bool,
    pub show_stamps_to_reward_field: bool,
    /// A stored timestamp (`time_fmt`), compared as text with "now".
    pub expires_at: Option<String>,
    /// The shop's wording of the notice a pass shows when its stamps change
    /// (`domain::StampMessage`); `None`: stampd's.
    pub stamp_message: Option<String>,
    #[serde(flatten)]
    pub limits: StampLimits,
}

/// How many stamps a customer may get on the card, and how often (none: no limit). A
/// visit is the stamps a customer receives within two hours of the first of them.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct StampLimits {
    pub max_stamps_per_visit: Option<i64>,
    /// Between a stamp that starts a new visit and the customer's last stamp on the card.
    pub min_minutes_between_visits: Option<i64>,
    /// Per day, UTC (stores have no time zone yet).
    pub max_stamps_per_day: Option<i64>,
}

/// A new card template's attributes, before the client's are applied (and the defaults
/// the API documents).
impl Default for CardDesign {
    fn default() -> Self {
        const CARD: HexColor = HexColor::from_static("#3B2F2F");
        const TEXT: HexColor = HexColor::from_static("#FFFFFF");
        const STAMP: HexColor = HexColor::from_static("#F5B041");
        const STAMP_BACKGROUND: HexColor = HexColor::from_static("#5D4E4E");
        CardDesign {
            name: String::new(),
            card_color: CARD,
            text_color: TEXT,
            stamp_icon: StampIcon::Star,
            stamp_color: STAMP,
            stamp_background_color: STAMP_BACKGROUND,
            stamps_required: 10,
            initial_stamps: 0,
            strip_type: StripType::Color,
            strip_color: None,
            strip_preset: None,
            strip_opacity: 100,
            header_text: None,
            auxiliary_fields: AuxiliaryFields::default(),
            show_member_field: true,
            show_stamps_to_reward_field: true,
            expires_at: None,
            stamp_message: None,
            limits: StampLimits::default(),
        }
    }
}

impl CardDesign {
    /// The colour of the strip the card's passes and web card draw: the strip colour laid
    /// over the card colour at the strip's opacity. Only a colour strip with a colour is
    /// drawn: stampd has no artwork for image and preset strips yet.
    pub fn drawn_strip(&self) -> Option<HexColor> {
        match (self.strip_type, &self.strip_color) {
            (StripType::Color, Some(strip)) => {
                Some(strip.over(&self.card_color, self.strip_opacity))
            }
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Card {
    pub id: i64,
    pub account_id: i64,
    #[serde(flatten)]
    pub design: CardDesign,
    pub archived_at: Option<String>,
    pub rewards_count: i64,
    pub customer_cards_count: i64,
    pub created_at: String,
    pub updated_at: String,
}

impl Card {
    /// Archived by the shop, or past its expiry: no new enrolments or stamps.
    pub fn is_closed(&self, now: &str) -> bool {
        self.archived_at.is_some() || self.is_expired(now)
    }

    pub fn is_expired(&self, now: &str) -> bool {
        self.design.expires_at.as_deref().is_some_and(|e| e <= now)
    }
}

/// Which templates a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Active,
    Archived,
    All,
}

const COLUMNS: &str = "id, store_id, name, card_color, text_color, stamp_icon, stamp_color,
    stamp_background_color, stamps_required, initial_stamps, strip_type, strip_color,
    strip_preset, strip_opacity, header_text, auxiliary_fields, show_member_field,
    show_stamps_to_reward_field, expires_at, stamp_message, max_stamps_per_visit,
    min_minutes_between_visits, max_stamps_per_day, archived_at, rewards_count,
    customer_cards_count, created_at, updated_at";

fn from_row(r: &Row) -> rusqlite::Result<Card> {
    let mut c = Columns::of(r);
    Ok(row!(c => Card {
        id, account_id,
        design: CardDesign {
            name, card_color, text_color, stamp_icon, stamp_color, stamp_background_color,
            stamps_required, initial_stamps, strip_type, strip_color, strip_preset, strip_opacity,
            header_text, auxiliary_fields, show_member_field, show_stamps_to_reward_field,
            expires_at, stamp_message,
            limits: StampLimits {
                max_stamps_per_visit, min_minutes_between_visits, max_stamps_per_day,
            },
        },
        archived_at, rewards_count, customer_cards_count, created_at, updated_at,
    }))
}

pub fn insert(
    conn: &Connection,
    store_id: i64,
    d: &CardDesign,
    archived_at: Option<&str>,
) -> rusqlite::Result<i64> {
    let now = time_fmt::now();
    conn.execute(
        "INSERT INTO cards (store_id, name, card_color, text_color, stamp_icon, stamp_color,
            stamp_background_color, stamps_required, initial_stamps, strip_type, strip_color,
            strip_preset, header_text, show_member_field, show_stamps_to_reward_field,
            expires_at, archived_at, created_at, updated_at, strip_opacity, auxiliary_fields,
            stamp_message, max_stamps_per_visit, min_minutes_between_visits, max_stamps_per_day)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?18,
            ?19, ?20, ?21, ?22, ?23, ?24)",
        params![
            store_id, d.name, d.card_color, d.text_color, d.stamp_icon, d.stamp_color,
            d.stamp_background_color, d.stamps_required, d.initial_stamps, d.strip_type,
            d.strip_color, d.strip_preset, d.header_text, d.show_member_field,
            d.show_stamps_to_reward_field, d.expires_at, archived_at, now, d.strip_opacity,
            d.auxiliary_fields, d.stamp_message, d.limits.max_stamps_per_visit,
            d.limits.min_minutes_between_visits, d.limits.max_stamps_per_day
        ],
    )?;
    Ok(conn.last_insert_rowid())
}

/// Saves a template's new design (and archive), and queues the update of every pass
/// of it.
pub fn update(
    conn: &Connection,
    id: i64,
    d: &CardDesign,
    archived_at: Option<&str>,
) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE cards SET name = ?2, card_color = ?3, text_color = ?4, stamp_icon = ?5,
            stamp_color = ?6, stamp_background_color = ?7, stamps_required = ?8,
            initial_stamps = ?9, strip_type = ?10, strip_color = ?11, strip_preset = ?12,
            header_text = ?13, show_member_field = ?14, show_stamps_to_reward_field = ?15,
            expires_at = ?16, archived_at = ?17, updated_at = ?18, strip_opacity = ?19,
            auxiliary_fields = ?20, stamp_message = ?21, max_stamps_per_visit = ?22,
            min_minutes_between_visits = ?23, max_stamps_per_day = ?24
         WHERE id = ?1",
        params![
            id,
            d.name,
            d.card_color,
            d.text_color,
            d.stamp_icon,
            d.stamp_color,
            d.stamp_background_color,
            d.stamps_required,
            d.initial_stamps,
            d.strip_type,
            d.strip_color,
            d.strip_preset,
            d.header_text,
            d.show_member_field,
            d.show_stamps_to_reward_field,
            d.expires_at,
            archived_at,
            time_fmt::now(),
            d.strip_opacity,
            d.auxiliary_fields,
            d.stamp_message,
            d.limits.max_stamps_per_visit,
            d.limits.min_minutes_between_visits,
            d.limits.max_stamps_per_day
        ],
    )?;
    super::pass_updates::changed(conn, super::pass_updates::Changed::Card(id), false)
}

pub fn find(conn: &Connection, store_id: i64, id: i64) -> rusqlite::Result<Option<Card>> {
    super::find_of_store(conn, "cards", COLUMNS, store_id, id, from_row)
}

pub fn list(conn: &Connection, store_id: i64, scope: Scope) -> rusqlite::Result<Vec<Card>> {
    let filter = match scope {
        Scope::Active => "AND archived_at IS NULL",
        Scope::Archived => "AND archived_at IS NOT NULL",
        Scope::All => "",
    };
    let sql = format!("SELECT {COLUMNS} FROM cards WHERE store_id = ?1 {filter} ORDER BY id");
    super::all(conn, &sql, [store_id], from_row)
}
