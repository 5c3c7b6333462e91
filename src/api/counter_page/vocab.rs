//! `/assets/vocab.js`: the counter page's vocabulary as a JavaScript module, written from
//! the definitions the API validates with — stamp icons and their glyphs, strip types and
//! presets, poster paper sizes and contact modes, field limits, the card code alphabet, a
//! new card's design and a new poster's, and the shape of a card's web links — so the
//! page keeps no copy of its own.

use std::fmt::Write;
use std::sync::OnceLock;

use serde_json::{json, Value};

use crate::db::cards::CardDesign;
use crate::db::posters::PosterFields;
use crate::domain::links::CardLinks;
use crate::domain::{
    limits, CardCode, ContactMode, HexColor, LedgerKind, PaperSize, StampIcon, StripPreset,
    StripType,
};

/// Stands for a card's uuid in the link shapes; the page puts the card's in its place.
const UUID: &str = "{uuid}";

/// The module for a stampd whose public links start with `public_url`.
pub fn module(public_url: &str) -> String {
    static FIXED: OnceLock<String> = OnceLock::new();
    let mut js = FIXED.get_or_init(fixed_part).clone();
    export(&mut js, "LINKS", &links(public_url));
    js
}

/// What is the same for every stampd: written once.
fn fixed_part() -> String {
    let mut js =
        String::from("// Written by stampd from the definitions its API checks against.\n");
    let icons: Vec<Value> = StampIcon::GLYPHS
        .iter()
        .map(|(name, glyph)| json!({"name": name, "glyph": glyph}))
        .collect();
    export(&mut js, "STAMP_ICONS", &Value::from(icons));
    export(&mut js, "FALLBACK_GLYPH", &json!(StampIcon::FALLBACK_GLYPH));
    export(&mut js, "LIMITS", &limits_json());
    export(
        &mut js,
        "CARD_CODE",
        &json!({"alphabet": CardCode::ALPHABET, "length": CardCode::LENGTH}),
    );
    let defaults = serde_json::to_value(CardDesign::default()).expect("a card design is JSON");
    export(&mut js, "CARD_DEFAULTS", &defaults);
    export(&mut js, "STRIP_TYPES", &json!(StripType::ALL));
    export(&mut js, "STRIP_PRESETS", &json!(StripPreset::ALL));
    export(&mut js, "PAPER_SIZES", &json!(PaperSize::ALL));
    export(&mut js, "CONTACT_MODES", &json!(ContactMode::ALL));
    export(&mut js, "LEDGER_KINDS", &json!(LedgerKind::ALL));
    let poster = serde_json::to_value(PosterFields::default()).expect("a poster is JSON");
    export(&mut js, "POSTER_DEFAULTS", &poster);
    js
}

fn limits_json() -> Value {
    let stamps = &limits::STAMPS_REQUIRED;
    json!({
        "name": limits::NAME,
        "email": limits::EMAIL,
        "phone_input": limits::PHONE_INPUT,
        "card_name": limits::CARD_NAME,
        "header_text": limits::HEADER_TEXT,
        "stamp_message": limits::STAMP_MESSAGE,
        "metadata_bytes": limits::METADATA_BYTES,
        "external_source": limits::EXTERNAL_SOURCE,
        "external_id": limits::EXTERNAL_ID,
        "external_references": limits::EXTERNAL_REFERENCES,
        "search": limits::SEARCH,
        "store_name": limits::STORE_NAME,
        "description": limits::DESCRIPTION,
        "note": limits::NOTE,
        "hex_color": HexColor::LEN,
        "stamps_required": {"min": stamps.start(), "max": stamps.end()},
        // Welcome stamps must leave at least one stamp to collect.
        "initial_stamps": {"min": 0, "max": stamps.end() - 1},
        "stamps_per_request": limits::STAMPS_PER_REQUEST,
        "strip_opacity": {"min": limits::STRIP_OPACITY.start(), "max": limits::STRIP_OPACITY.end()},
        "auxiliary_fields": {"count": limits::AUXILIARY_FIELDS, "length": limits::AUXILIARY_FIELD},
        "poster_title": limits::POSTER_TITLE,
        "minimum_age": {"min": limits::MINIMUM_AGE.start(), "max": limits::MINIMUM_AGE.end()},
    })
}

/// A card's web card page and the QR code of it, with `{uuid}` for the card. The QR
/// code is fetched from this server, so it is a path; the web card link is the one the
/// QR code holds.
fn links(public_url: &str) -> Value {
    json!({
        "web_card": CardLinks::new(public_url, UUID).web_card(),
        "web_card_qr": CardLinks::new("", UUID).web_card_qr(),
    })
}

/// JSON is JavaScript, so a value serialised by serde is a safe module constant.
fn export(js: &mut String, name: &str, value: &Value) {
    writeln!(js, "export const {name} = {value};").expect("writing to a String");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The value of `export const NAME = ...;` in the module.
    fn constant(js: &str, name: &str) -> Value {
        let prefix = format!("export const {name} = ");
        let line = js
            .lines()
            .find_map(|l| l.strip_prefix(prefix.as_str()))
            .unwrap_or_else(|| panic!("{name} in {js}"));
        serde_json::from_str(line.strip_suffix(';').expect("a ;")).expect("JSON")
    }

    #[test]
    fn the_module_names_every_stamp_icon_with_its_glyph() {
        let js = module("https://cards.example.com");
        let icons = constant(&js, "STAMP_ICONS");
        let names: Vec<&str> = icons
            .as_array()
            .expect("a list")
            .iter()
            .map(|i| i["name"].as_str().expect("a name"))
            .collect();
        assert_eq!(names, StampIcon::ALL);
        for icon in icons.as_array().unwrap() {
            let name = icon["name"].as_str().unwrap();
            assert_eq!(icon["glyph"], json!(StampIcon::glyph(name)), "{name}");
        }
        assert_eq!(
            constant(&js, "FALLBACK_GLYPH"),
            json!(StampIcon::FALLBACK_GLYPH)
        );
    }

    #[test]
    fn the_module_carries_the_limits_the_api_checks() {
        let js = module("https://cards.example.com");
        let l = constant(&js, "LIMITS");
        assert_eq!(l["card_name"], json!(limits::CARD_NAME));
        assert_eq!(l["header_text"], json!(limits::HEADER_TEXT));
        assert_eq!(l["stamp_message"], json!(limits::STAMP_MESSAGE));
        assert_eq!(l["hex_color"], json!("#RRGGBB".len()));
        assert_eq!(l["stamps_required"], json!({"min": 1, "max": 21}));
        assert_eq!(l["initial_stamps"], json!({"min": 0, "max": 20}));
        assert_eq!(l["stamps_per_request"], json!(limits::STAMPS_PER_REQUEST));
        let code = constant(&js, "CARD_CODE");
        assert_eq!(code["length"], json!(CardCode::LENGTH));
        let alphabet = code["alphabet"].as_str().unwrap();
        let generated = CardCode::generate();
        assert!(generated.as_str().chars().all(|c| alphabet.contains(c)));
        let defaults = constant(&js, "CARD_DEFAULTS");
        assert_eq!(defaults["stamp_icon"], json!("star"));
        assert_eq!(defaults["strip_opacity"], json!(100));
        assert_eq!(defaults["auxiliary_fields"], json!([]));
        assert_eq!(l["strip_opacity"], json!({"min": 0, "max": 100}));
        assert_eq!(l["auxiliary_fields"], json!({"count": 2, "length": 40}));
        assert_eq!(l["minimum_age"], json!({"min": 1, "max": 120}));
        assert_eq!(constant(&js, "STRIP_TYPES"), json!(StripType::ALL));
        assert_eq!(constant(&js, "STRIP_PRESETS"), json!(StripPreset::ALL));
        assert_eq!(
            constant(&js, "PAPER_SIZES"),
            json!(["a4", "a5", "a6", "letter"])
        );
        assert_eq!(
            constant(&js, "CONTACT_MODES"),
            json!(["email_and_phone", "email_only", "phone_only"])
        );
        assert_eq!(
            constant(&js, "LEDGER_KINDS"),
            json!([
                "welcome_bonus",
                "stamp",
                "adjustment",
                "redemption",
                "import"
            ])
        );
        let poster = constant(&js, "POSTER_DEFAULTS");
        assert_eq!(poster["contact_collection_mode"], json!("email_and_phone"));
        assert_eq!(poster["minimum_age"], json!(null));
    }

    #[test]
    fn links_are_the_ones_the_server_makes() {
        let js = module("https://cards.example.com");
        let links = constant(&js, "LINKS");
        let uuid = "0b7ef1a6-3c1e-4c36-9a3e-5d1f2f0b9b1a";
        let fill = |key: &str| links[key].as_str().unwrap().replace(UUID, uuid);
        assert_eq!(
            fill("web_card"),
            CardLinks::new("https://cards.example.com", uuid).web_card()
        );
        assert_eq!(fill("web_card_qr"), format!("/c/{uuid}/qr.svg"));
        // Another stampd, another link; what every stampd shares stays.
        let other = module("http://127.0.0.1:8080");
        assert_eq!(
            constant(&other, "LINKS")["web_card"],
            json!("http://127.0.0.1:8080/c/{uuid}")
        );
        assert_eq!(
            constant(&other, "STAMP_ICONS"),
            constant(&js, "STAMP_ICONS")
        );
    }
}
