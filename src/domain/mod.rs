//! Validated values: each type can only be built by `parse`, so code that holds one
//! knows it is well-formed. Error strings are the Rails-style messages the API returns.

/// A closed list of names a field takes (`stamp_icon`, `paper_size`, ...): an enum whose
/// names are what the API sends and stores, read case-insensitively. A name may have
/// aliases (`Variant = "name" | "earlier_name"`): read as the name, never written.
macro_rules! vocabulary {
    // Names drawn as a glyph each (stamp icons): `Variant = "name": "glyph"`.
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $text:literal: $glyph:literal),+ $(,)? }) => {
        vocabulary! { $(#[$doc])* $name { $($variant = $text),+ } }

        impl $name {
            /// Every name with its glyph, in the documented order.
            pub const GLYPHS: &'static [(&'static str, &'static str)] = &[$(($text, $glyph)),+];

            pub fn glyph_of(self) -> &'static str {
                match self {
                    $($name::$variant => $glyph),+
                }
            }
        }
    };
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $text:literal $(| $alias:literal)*),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($variant),+
        }

        impl $name {
            /// Every name, in the documented order.
            pub const ALL: &'static [&'static str] = &[$($text),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// A name as a client writes it: any case, surrounding spaces ignored.
            pub fn parse(input: &str) -> Result<$name, String> {
                let s = input.trim().to_ascii_lowercase();
                match s.as_str() {
                    $($text $(| $alias)* => Ok($name::$variant),)+
                    _ => Err(format!("is not included in the list ({})", Self::ALL.join(", "))),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    };
}

mod card_code;
mod contact;
mod design;
mod ledger;
/// The public URLs of cards, wallet passes and posters.
pub mod links;
mod name;
mod poster;
/// The notice a pass shows when its stamps change.
pub mod stamp_message;

pub use card_code::CardCode;
pub use contact::{Birthday, Email, Phone, UncheckedPhone};
pub use design::{AuxiliaryFields, HexColor, StampIcon, StripPreset, StripType};
pub use ledger::LedgerKind;
pub use name::check_name;
pub use poster::{Ask, ContactMode, ContactRules, PaperSize};

/// Rails' message for a string over its limit.
pub fn too_long(max: usize) -> String {
    format!("is too long (maximum is {max} characters)")
}

/// Field limits, documented in the README: lengths in characters, and stamp counts.
/// The API checks them, the OpenAPI document states them, and the counter page reads
/// them from `/assets/vocab.js`.
pub mod limits {
    use std::ops::RangeInclusive;

    pub const NAME: usize = 100;
    pub const EMAIL: usize = 254;
    pub const PHONE_INPUT: usize = 40;
    pub const CARD_NAME: usize = 100;
    pub const HEADER_TEXT: usize = 100;
    pub const STAMP_MESSAGE: usize = 100;
    pub const METADATA_BYTES: usize = 16 * 1024;
    pub const EXTERNAL_SOURCE: usize = 100;
    pub const EXTERNAL_ID: usize = 255;
    pub const EXTERNAL_REFERENCES: usize = 50;
    pub const SEARCH: usize = 255;
    pub const STORE_NAME: usize = 100;
    pub const DESCRIPTION: usize = 500;
    pub const NOTE: usize = 500;
    /// Stamps a card template may take to fill. Its welcome stamps must be fewer.
    pub const STAMPS_REQUIRED: RangeInclusive<i64> = 1..=21;
    /// Most stamps one request may give, or take back as a correction.
    pub const STAMPS_PER_REQUEST: i64 = 100;
    /// A card's strip over its colour, in percent (100: the strip colour as it is).
    pub const STRIP_OPACITY: RangeInclusive<i64> = 0..=100;
    /// Extra lines on the front of a card's pass, and the characters of each.
    pub const AUXILIARY_FIELDS: usize = 2;
    pub const AUXILIARY_FIELD: usize = 40;
    /// A poster's title.
    pub const POSTER_TITLE: usize = 100;
    /// The age, in years, a poster may ask its customers to have reached.
    pub const MINIMUM_AGE: RangeInclusive<i64> = 1..=120;
    /// A card's stamp limits: stamps per visit, minutes between visits, stamps per day.
    pub const STAMPS_PER_VISIT: RangeInclusive<i64> = 1..=100;
    pub const MINUTES_BETWEEN_VISITS: RangeInclusive<i64> = 1..=10_080;
    pub const STAMPS_PER_DAY: RangeInclusive<i64> = 1..=1000;
    /// A staff member's name, and the digits of a PIN.
    pub const STAFF_NAME: usize = 100;
    pub const PIN_DIGITS: RangeInclusive<usize> = 4..=8;
    /// A paired device's name.
    pub const DEVICE_NAME: usize = 100;
}
