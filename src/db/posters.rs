//! QR-code signup posters: printable sheets that let customers enrol themselves.

use super::{row, Columns};
use rusqlite::{Connection, Row, ToSql};
use serde::Serialize;

use crate::domain::links::PosterLinks;
use crate::domain::{ContactMode, ContactRules, HexColor, PaperSize};
use crate::time_fmt;

/// The attributes a client sets on a poster, in the order the API shows them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PosterFields {
    pub title: String,
    pub paper_size: PaperSize,
    pub primary_color: HexColor,
    pub secondary_color: HexColor,
    pub text_color: HexColor,
    pub active: bool,
    pub contact_collection_mode: ContactMode,
    pub require_email: bool,
    pub require_phone: bool,
    pub require_birthday: bool,
    /// Only with `require_birthday`.
    pub minimum_age: Option<i64>,
}

impl PosterFields {
    /// How the signup form asks for the email and the phone.
    pub fn contact_rules(&self) -> ContactRules {
        ContactRules::new(
            self.contact_collection_mode,
            self.require_email,
            self.require_phone,
        )
    }
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
            active: true,
            contact_collection_mode: ContactMode::EmailAndPhone,
            require_email: false,
            require_phone: false,
            require_birthday: false,
            minimum_age: None,
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

/// A poster as the API shows it: Leal's fields, in Leal's order.
#[derive(Debug, Clone, Serialize)]
pub struct PosterJson {
    pub id: i64,
    pub account_id: i64,
    pub card_id: i64,
    pub title: String,
    pub paper_size: PaperSize,
    pub primary_color: HexColor,
    pub secondary_color: HexColor,
    pub text_color: HexColor,
    pub active: bool,
    pub contact_collection_mode: ContactMode,
    /// Read-only: whether the form shows the field, from `contact_collection_mode`.
    pub collect_email: bool,
    pub collect_phone: bool,
    pub require_email: bool,
    pub require_phone: bool,
    pub require_birthday: bool,
    pub minimum_age: Option<i64>,
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
        let f = self.fields.clone();
        PosterJson {
            id: self.id,
            account_id: self.store_id,
            card_id: self.card_id,
            title: f.title,
            paper_size: f.paper_size,
            primary_color: f.primary_color,
            secondary_color: f.secondary_color,
            text_color: f.text_color,
            active: f.active,
            contact_collection_mode: f.contact_collection_mode,
            collect_email: f.contact_collection_mode.collects_email(),
            collect_phone: f.contact_collection_mode.collects_phone(),
            require_email: f.require_email,
            require_phone: f.require_phone,
            require_birthday: f.require_birthday,
            minimum_age: f.minimum_age,
            signup_url: links.signup(),
            qr_code_url: links.qr_code(),
            display_url: links.display(),
            created_at: self.created_at.clone(),
            updated_at: self.updated_at.clone(),
        }
    }
}

const COLUMNS: &str = "id, store_id, card_id, token, title, paper_size, primary_color,
    secondary_color, text_color, active, contact_collection_mode, require_email, require_phone,
    require_birthday, minimum_age, created_at, updated_at";

fn from_row(r: &Row) -> rusqlite::Result<Poster> {
    let mut c = Columns::of(r);
    Ok(row!(c => Poster {
        id, store_id, card_id, token,
        fields: PosterFields {
            title, paper_size, primary_color, secondary_color, text_color, active,
            contact_collection_mode, require_email, require_phone, require_birthday, minimum_age,
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
            text_color, active, contact_collection_mode, require_email, require_phone,
            require_birthday, minimum_age, created_at, updated_at, card_id, token)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?13, ?14, ?15)";
    write(conn, sql, store_id, f, &[&card_id, &new_token()])?;
    Ok(conn.last_insert_rowid())
}

pub fn update(conn: &Connection, id: i64, f: &PosterFields) -> rusqlite::Result<()> {
    let sql = "UPDATE posters SET title = ?2, paper_size = ?3, primary_color = ?4,
            secondary_color = ?5, text_color = ?6, active = ?7, contact_collection_mode = ?8,
            require_email = ?9, require_phone = ?10, require_birthday = ?11, minimum_age = ?12,
            updated_at = ?13
         WHERE id = ?1";
    write(conn, sql, id, f, &[])
}

/// Runs an insert or update of a poster: `key` (the store or the poster) is ?1, the
/// attributes ?2 to ?12 and the time ?13; `more` follows from ?14.
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
        &f.active,
        &f.contact_collection_mode,
        &f.require_email,
        &f.require_phone,
        &f.require_birthday,
        &f.minimum_age,
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

/// The store's posters, by id; of one card only, and only active or inactive ones, when
/// asked.
pub fn list(
    conn: &Connection,
    store_id: i64,
    card_id: Option<i64>,
    active: Option<bool>,
) -> rusqlite::Result<Vec<Poster>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM posters
         WHERE store_id = ?1 AND (?2 IS NULL OR card_id = ?2) AND (?3 IS NULL OR active = ?3)
         ORDER BY id"
    );
    super::all(
        conn,
        &sql,
        rusqlite::params![store_id, card_id, active],
        from_row,
    )
}
