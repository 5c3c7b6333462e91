//! QR-code signup posters: printable sheets that let customers enrol themselves.

use super::{row, Columns};
use rusqlite::{Connection, Row, ToSql};
use serde::Serialize;

use crate::domain::links::PosterLinks;
use crate::domain::{ContactMode, HexColor, PaperSize};
use crate::time_fmt;

/// The attributes a client sets on a poster.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PosterFields {
    pub title: String,
    pub paper_size: PaperSize,
    pub primary_color: HexColor,
    pub secondary_color: HexColor,
    pub text_color: HexColor,
    pub contact_collection_mode: ContactMode,
    pub birthday_required: bool,
    pub active: bool,
}

/// A new poster's attributes, before the client's are applied (and the defaults the API
/// documents).
impl Default for PosterFields {
    fn default() -> Self {
        const PRIMARY: HexColor = HexColor::from_static("#3B2F2F");
        const SECONDARY: HexColor = HexColor::from_static("#F5B041");
        const TEXT: HexColor = HexColor::from_static("#FFFFFF");
        PosterFields {
            title: String::new(),
            paper_size: PaperSize::A4,
            primary_color: PRIMARY,
            secondary_color: SECONDARY,
            text_color: TEXT,
            contact_collection_mode: ContactMode::EmailOrPhone,
            birthday_required: false,
            active: true,
        }
    }
}

/// A poster as stored, with its secret token (never shown in JSON except inside URLs).
#[derive(Debug, Clone)]
pub struct Poster {
    pub id: i64,
    pub store_id: i64,
    pub card_id: i64,
    pub token: String,
    pub fields: PosterFields,
    pub created_at: String,
    pub updated_at: String,
}

/// A poster as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct PosterJson {
    pub id: i64,
    pub account_id: i64,
    pub card_id: i64,
    #[serde(flatten)]
    pub fields: PosterFields,
    pub signup_url: String,
    pub qr_code_url: String,
    pub display_url: String,
    pub created_at: String,
    pub updated_at: String,
}

impl Poster {
    /// The poster's public addresses.
    pub fn links<'a>(&'a self, base: &'a str) -> PosterLinks<'a> {
        PosterLinks::new(base, &self.token)
    }

    pub fn to_json(&self, base: &str) -> PosterJson {
        let links = self.links(base);
        PosterJson {
            id: self.id,
            account_id: self.store_id,
            card_id: self.card_id,
            fields: self.fields.clone(),
            signup_url: links.signup(),
            qr_code_url: links.qr_code(),
            display_url: links.display(),
            created_at: self.created_at.clone(),
            updated_at: self.updated_at.clone(),
        }
    }
}

const COLUMNS: &str = "id, store_id, card_id, token, title, paper_size, primary_color,
    secondary_color, text_color, contact_collection_mode, birthday_required, active,
    created_at, updated_at";

fn from_row(r: &Row) -> rusqlite::Result<Poster> {
    let mut c = Columns::of(r);
    Ok(row!(c => Poster {
        id, store_id, card_id, token,
        fields: PosterFields {
            title, paper_size, primary_color, secondary_color, text_color,
            contact_collection_mode, birthday_required, active,
        },
        created_at, updated_at,
    }))
}

/// 128 random bits, URL-safe: the poster's public key.
fn new_token() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn insert(
    conn: &Connection,
    store_id: i64,
    card_id: i64,
    f: &PosterFields,
) -> rusqlite::Result<i64> {
    let sql = "INSERT INTO posters (store_id, title, paper_size, primary_color, secondary_color,
            text_color, contact_collection_mode, birthday_required, active, created_at,
            updated_at, card_id, token)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10, ?11, ?12)";
    write(conn, sql, store_id, f, &[&card_id, &new_token()])?;
    Ok(conn.last_insert_rowid())
}

pub fn update(conn: &Connection, id: i64, f: &PosterFields) -> rusqlite::Result<()> {
    let sql = "UPDATE posters SET title = ?2, paper_size = ?3, primary_color = ?4,
            secondary_color = ?5, text_color = ?6, contact_collection_mode = ?7,
            birthday_required = ?8, active = ?9, updated_at = ?10
         WHERE id = ?1";
    write(conn, sql, id, f, &[])
}

/// Runs an insert or update of a poster: `key` (the store or the poster) is ?1, the
/// attributes ?2 to ?9 and the time ?10; `more` follows from ?11.
fn write(
    conn: &Connection,
    sql: &str,
    key: i64,
    f: &PosterFields,
    more: &[&dyn ToSql],
) -> rusqlite::Result<()> {
    let now = time_fmt::now();
    let mut args: Vec<&dyn ToSql> = vec![
        &key,
        &f.title,
        &f.paper_size,
        &f.primary_color,
        &f.secondary_color,
        &f.text_color,
        &f.contact_collection_mode,
        &f.birthday_required,
        &f.active,
        &now,
    ];
    args.extend_from_slice(more);
    conn.prepare_cached(sql)?.execute(args.as_slice())?;
    Ok(())
}

/// Deletes a poster of the store; `false` when the store has no such poster.
pub fn delete(conn: &Connection, store_id: i64, id: i64) -> rusqlite::Result<bool> {
    super::delete_of_store(conn, "posters", store_id, id)
}

pub fn find(conn: &Connection, store_id: i64, id: i64) -> rusqlite::Result<Option<Poster>> {
    super::find_of_store(conn, "posters", COLUMNS, store_id, id, from_row)
}

/// An active poster by its public token.
pub fn find_active_by_token(conn: &Connection, token: &str) -> rusqlite::Result<Option<Poster>> {
    let sql = format!("SELECT {COLUMNS} FROM posters WHERE token = ?1 AND active = 1");
    super::one(conn, &sql, [token], from_row)
}

pub fn list(conn: &Connection, store_id: i64) -> rusqlite::Result<Vec<Poster>> {
    let sql = format!("SELECT {COLUMNS} FROM posters WHERE store_id = ?1 ORDER BY id");
    super::all(conn, &sql, [store_id], from_row)
}
