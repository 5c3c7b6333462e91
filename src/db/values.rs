//! Domain values as SQLite values: each is stored as the text the API shows. Contact
//! details are read back without checking again (stampd checked them when it stored
//! them); names from a closed list and colours are checked as they are read, since a
//! colour reaches a page's CSS and nothing else may.

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSqlOutput, ValueRef};
use rusqlite::ToSql;

use crate::domain::{
    AuxiliaryFields, Birthday, CardCode, ContactMode, Email, HexColor, PaperSize, Phone, StampIcon,
    StripPreset, StripType,
};

macro_rules! as_text {
    ($($ty:ty),+) => {$(
        impl ToSql for $ty {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(ToSqlOutput::from(self.as_str()))
            }
        }
    )+};
}

as_text!(
    Email,
    Phone,
    HexColor,
    CardCode,
    StampIcon,
    StripType,
    StripPreset,
    PaperSize,
    ContactMode
);

impl ToSql for Birthday {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.to_iso()))
    }
}

macro_rules! from_stored_text {
    ($($ty:ty),+) => {$(
        impl FromSql for $ty {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
                Ok(<$ty>::from_stored(value.as_str()?.to_string()))
            }
        }
    )+};
}

from_stored_text!(Email, Phone);

impl FromSql for HexColor {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        HexColor::parse(value.as_str()?).map_err(|e| FromSqlError::Other(e.into()))
    }
}

impl ToSql for AuxiliaryFields {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.to_stored()))
    }
}

impl FromSql for AuxiliaryFields {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        AuxiliaryFields::from_stored(value.as_str()?).ok_or(FromSqlError::InvalidType)
    }
}

impl FromSql for Birthday {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        Birthday::from_stored(value.as_str()?).ok_or(FromSqlError::InvalidType)
    }
}

macro_rules! from_name {
    ($($ty:ty),+) => {$(
        impl FromSql for $ty {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
                <$ty>::parse(value.as_str()?).map_err(|_| FromSqlError::InvalidType)
            }
        }
    )+};
}

from_name!(StampIcon, StripType, StripPreset, PaperSize, ContactMode);

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;

    #[test]
    fn values_round_trip_through_sqlite() {
        let conn = Connection::open_in_memory().unwrap();
        let email = Email::parse("Ann@Example.com").unwrap();
        let icon = StampIcon::parse("ice_cream").unwrap();
        let day = Birthday::parse("1990-02-28", time::macros::date!(2026 - 01 - 01)).unwrap();
        let (e, i, d): (Email, StampIcon, Birthday) = conn
            .query_row(
                "SELECT ?1, ?2, ?3",
                rusqlite::params![email, icon, day],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        assert_eq!(e.as_str(), "ann@example.com");
        assert_eq!(i, StampIcon::IceCream);
        assert_eq!(d.to_iso(), "1990-02-28");
        let bad: rusqlite::Result<StampIcon> =
            conn.query_row("SELECT 'spaceship'", [], |r| r.get(0));
        assert!(bad.is_err());
        let css: rusqlite::Result<HexColor> =
            conn.query_row("SELECT '#fff} body{display:none'", [], |r| r.get(0));
        assert!(
            css.is_err(),
            "a colour read back is checked before it reaches a page"
        );
        let colour = HexColor::parse("#a1b2c3").unwrap();
        let (c, p, m): (HexColor, PaperSize, ContactMode) = conn
            .query_row(
                "SELECT ?1, ?2, ?3",
                rusqlite::params![colour, PaperSize::Letter, ContactMode::EmailAndPhone],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        assert_eq!(c.as_str(), "#A1B2C3");
        assert_eq!(p, PaperSize::Letter);
        assert_eq!(m, ContactMode::EmailAndPhone);
        let stored: String = conn
            .query_row("SELECT ?1", [PaperSize::Letter], |r| r.get(0))
            .unwrap();
        assert_eq!(stored, "letter");
    }
}
