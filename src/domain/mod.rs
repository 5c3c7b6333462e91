//! Validated values: each type can only be built by `parse`, so code that holds one
//! knows it is well-formed. Error strings are the Rails-style messages the API returns.

mod card_code;
mod contact;
mod design;
/// The public URLs of cards, wallet passes and posters.
pub mod links;

pub use card_code::CardCode;
pub use contact::{Birthday, Email, Phone, UncheckedPhone};
pub use design::{HexColor, StampIcon, StripPreset, StripType};

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
}
