//! The handlers that list, show, create, change and delete the records of a store
//! (`/accounts/{account_id}/<records>[/{id}]`), written once for every resource.
//!
//! A resource implements the traits below for its record and keeps only what is its
//! own: its queries, its typed inputs and the rules that join them. The handlers keep
//! the order in which errors win everywhere: 401, then the store's 404, then the
//! record's 404, then the input's 422.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::web::Path;
use actix_web::HttpRequest;
use rusqlite::Connection;
use serde::Serialize;
use serde_json::{Map, Value};

use super::{json, Answer, Call, Reply};
use crate::error::{ApiError, FieldErrors};
use crate::params::{attributes, boolean, integer, query_fields, query_map, Body, Field, Parsed};

/// What the database finds by id (`None`: not there).
pub type Found<T> = rusqlite::Result<Option<T>>;
/// A look-up of one record of a store: `(conn, store_id, id)`.
pub type Find<T> = fn(&Connection, i64, i64) -> Found<T>;
/// What a handler's database work comes to.
pub type Done<T = ()> = Result<T, ApiError>;
/// A body read into a typed input, on the request's own thread.
pub type Parse<T> = fn(&Map<String, Value>) -> Result<T, ApiError>;
/// Deletes one record of a store, `(conn, store_id, id)`: `false` when there is none.
pub type Remove = fn(&Connection, i64, i64) -> rusqlite::Result<bool>;
/// The query string of a list.
pub type Query = HashMap<String, String>;

/// A record of a store that the API shows by its id.
pub trait Record: 'static {
    /// What a 404 names: `"Location"` answers "Location not found".
    const WHAT: &'static str;
    /// The record as the API shows it.
    type Json: Serialize + Send + 'static;

    /// One record of the store, as the API shows it; its public links start with `base`.
    fn find(conn: &Connection, store_id: i64, id: i64, base: &str) -> Found<Self::Json>;
}

/// A record the API shows as it is stored.
pub trait Plain: Serialize + Send + Sized + 'static {
    const WHAT: &'static str;
    const FIND: Find<Self>;
}

impl<T: Plain> Record for T {
    const WHAT: &'static str = T::WHAT;
    type Json = T;

    fn find(conn: &Connection, store_id: i64, id: i64, _: &str) -> Found<T> {
        (T::FIND)(conn, store_id, id)
    }
}

/// Records listed whole.
pub trait List: Record {
    /// The store's records, narrowed by the query string (its errors are 422s).
    fn list(conn: &Connection, store_id: i64, query: &Query, base: &str) -> Done<Vec<Self::Json>>;
}

/// Records created from a body.
pub trait Create: Record {
    /// The body as a typed input.
    type New: Send + 'static;
    const PARSE_NEW: Parse<Self::New>;

    /// Checks what only the database knows and inserts; the new record's id.
    fn insert(tx: &Connection, store_id: i64, new: Self::New) -> Done<i64>;
}

/// Records changed by a partial body.
pub trait Update: Record + Sized {
    /// The attributes a body may change.
    type Input: Attributes;
    /// The stored record a change starts from.
    const FIND: Find<Self>;

    /// Applies the input to the stored record and answers the input's errors with
    /// those found against what is stored.
    fn update(tx: &Connection, current: Self, input: Parsed<Self::Input>) -> Done;
}

/// Records deleted by id.
pub trait Delete: Record {
    const DELETE: Remove;
}

/// The attributes of a record that a body sets, under their root key, each field read
/// and checked on its own: what was valid, as domain values; what was not, as errors.
pub trait Attributes: Sized + Send + 'static {
    /// The root key (`location`); as in Rails, a body without it is the attributes.
    const ROOT: &'static str;

    /// `creating`: the fields a new record needs must be there.
    fn parse(attrs: &Map<String, Value>, creating: bool, errors: &mut FieldErrors) -> Self;

    /// The OpenAPI schema of the attributes, from the same rules `parse` follows.
    fn schema(creating: bool) -> Value;
}

/// The attributes of a body, `creating` a record or changing one.
pub fn read_attributes<T: Attributes>(
    body: &Map<String, Value>,
    creating: bool,
) -> Result<Parsed<T>, ApiError> {
    let mut errors = FieldErrors::new();
    let value = T::parse(attributes(body, T::ROOT)?, creating, &mut errors);
    Ok(Parsed { value, errors })
}

/// The attributes of a body for a new record, applied by `merge` to `fields` (the
/// record's defaults) and checked whole: every error at once.
pub fn read_new<T: Attributes, F>(
    body: &Map<String, Value>,
    mut fields: F,
    merge: fn(&T, &mut F, &mut FieldErrors),
) -> Result<(T, F), ApiError> {
    let Parsed { value, mut errors } = read_attributes::<T>(body, true)?;
    merge(&value, &mut fields, &mut errors);
    errors.into_result()?;
    Ok((value, fields))
}

/// A new record of a card (a reward, a poster): the card, named among the attributes or
/// at the top level of the body, and the record's attributes.
pub struct OfCard<T> {
    pub card_id: Option<i64>,
    pub input: T,
}

impl<T: Attributes> OfCard<T> {
    /// `card_id` is where the attributes keep the card's id; without the key there, the
    /// body's top-level `card_id` counts. It can't be blank.
    pub fn parse(
        body: &Map<String, Value>,
        card_id: fn(&T) -> &Field<i64>,
    ) -> Result<Parsed<OfCard<T>>, ApiError> {
        let mut errors = FieldErrors::new();
        let attrs = attributes(body, T::ROOT)?;
        let input = T::parse(attrs, true, &mut errors);
        let card_id = match card_id(&input) {
            Field::Absent if !attrs.contains_key("card_id") => {
                integer(body, "card_id", &mut errors).set()
            }
            f => f.clone().set(),
        };
        if card_id.is_none() && !errors.has("card_id") {
            errors.add("card_id", "can't be blank");
        }
        Ok(Parsed {
            value: OfCard { card_id, input },
            errors,
        })
    }
}

/// The filters of a list of a card's records (rewards, posters), read as a body's fields
/// are: `card_id`, and `active` — `true`, `1` or an empty value keeps the active ones,
/// `false` or `0` the inactive ones; absent, all of them.
pub fn card_filters(query: &Query) -> Done<(Option<i64>, Option<bool>)> {
    let query = query_fields(query);
    let mut errors = FieldErrors::new();
    let card_id = integer(&query, "card_id", &mut errors).set();
    let active = match boolean(&query, "active", &mut errors) {
        Field::Set(active) => Some(active),
        // `?active` alone: Leal's "when present, only active ones".
        Field::Null => Some(true),
        Field::Absent => None,
    };
    errors.into_result()?;
    Ok((card_id, active))
}

/// The query parameters [`card_filters`] reads, for the OpenAPI document.
pub fn document_card_filters(c: &mut super::endpoint::Components) {
    c.query(
        "card_id",
        "Only the records of this card template.",
        serde_json::json!({"type": "integer", "format": "int64"}),
    );
    c.query(
        "active",
        "`true`, `1` or an empty value: only active records; `false` or `0`: only inactive ones; absent: all.",
        serde_json::json!({"type": "boolean"}),
    );
}

/// `GET /accounts/{account_id}/<records>`.
pub async fn list<R: List>(call: Call, path: Path<String>, req: HttpRequest) -> Answer {
    let query = query_map(&req);
    let base = call.state.public_url.clone();
    let records = call
        .read(move |conn, access| R::list(conn, access.store(&path)?, &query, &base))
        .await?;
    Ok(json(StatusCode::OK, &records))
}

/// `GET /accounts/{account_id}/<records>/{id}`.
pub async fn show<R: Record>(call: Call, path: Path<(String, String)>) -> Answer {
    let (account, id) = path.into_inner();
    let base = call.state.public_url.clone();
    let record = call
        .read(move |conn, access| {
            let (store_id, id) = access.record(&account, &id, R::WHAT)?;
            R::find(conn, store_id, id, &base)?.ok_or_else(|| ApiError::not_found(R::WHAT))
        })
        .await?;
    Ok(json(StatusCode::OK, &record))
}

/// `POST /accounts/{account_id}/<records>`: 201 with the new record.
pub async fn create<R: Create>(call: Call, path: Path<String>, body: Body) -> Answer {
    let base = call.state.public_url.clone();
    call.write(body, R::PARSE_NEW, move |tx, access, new| {
        let store_id = access.store(&path)?;
        let id = R::insert(tx, store_id, new?)?;
        Reply::created(&written::<R>(tx, store_id, id, &base)?)
    })
    .await
}

/// `PATCH` and `PUT /accounts/{account_id}/<records>/{id}`: 200 with the changed record.
pub async fn update<R: Update>(call: Call, path: Path<(String, String)>, body: Body) -> Answer {
    let (account, id) = path.into_inner();
    let base = call.state.public_url.clone();
    let parse = |body: &Map<String, Value>| read_attributes::<R::Input>(body, false);
    call.write(body, parse, move |tx, access, input| {
        let (store_id, id) = access.record(&account, &id, R::WHAT)?;
        let current = (R::FIND)(tx, store_id, id)?.ok_or_else(|| ApiError::not_found(R::WHAT))?;
        R::update(tx, current, input?)?;
        Reply::ok(&written::<R>(tx, store_id, id, &base)?)
    })
    .await
}

/// `DELETE /accounts/{account_id}/<records>/{id}`: 204.
pub async fn delete<R: Delete>(call: Call, path: Path<(String, String)>, body: Body) -> Answer {
    let (account, id) = path.into_inner();
    call.write(body, super::no_input, move |tx, access, _| {
        let (store_id, id) = access.record(&account, &id, R::WHAT)?;
        match (R::DELETE)(tx, store_id, id)? {
            true => Ok(Reply::no_content()),
            false => Err(ApiError::not_found(R::WHAT)),
        }
    })
    .await
}

/// The record a write has just created or changed, in the same transaction.
fn written<R: Record>(
    conn: &Connection,
    store_id: i64,
    id: i64,
    base: &str,
) -> Result<R::Json, ApiError> {
    R::find(conn, store_id, id, base)?
        .ok_or_else(|| ApiError::internal(format!("the {} just written vanished", R::WHAT)))
}
