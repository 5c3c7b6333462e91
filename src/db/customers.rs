//! Customers, their external references, and the customer search.

use std::collections::HashMap;

use super::{row, Columns};
use rusqlite::{params, Connection, OptionalExtension, ToSql};
use serde::Serialize;
use serde_json::{Map, Value};

use super::customer_cards::{self, CustomerCard};
use super::webhooks::events::Change;
use crate::domain::{Birthday, CardCode, Email, Phone, UncheckedPhone};
use crate::time_fmt;

/// The attributes a client sets on a customer, already validated and normalised.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CustomerFields {
    pub first_name: String,
    pub last_name: Option<String>,
    pub email: Option<Email>,
    pub phone: Option<Phone>,
    pub birthday: Option<Birthday>,
    pub metadata: Map<String, Value>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ExternalReference {
    pub source: String,
    pub external_id: String,
    pub metadata: Value,
}

#[derive(Debug, Clone, Serialize)]
pub struct Customer {
    pub id: i64,
    pub account_id: i64,
    pub first_name: String,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub birthday: Option<String>,
    pub stamp_count: i64,
    pub metadata: Value,
    pub external_references: Vec<ExternalReference>,
    pub customer_cards: Vec<CustomerCard>,
    pub created_at: String,
    pub updated_at: String,
}

pub fn insert(conn: &Connection, store_id: i64, f: &CustomerFields) -> rusqlite::Result<i64> {
    let sql = "INSERT INTO customers (store_id, first_name, last_name, email, phone, birthday,
            metadata, first_name_key, last_name_key, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?9, ?10, ?8, ?8)";
    write(conn, sql, store_id, f)?;
    let id = conn.last_insert_rowid();
    super::webhooks::events::note(Change::CustomerCreated { customer_id: id });
    Ok(id)
}

/// Runs an insert or update of a customer: `key` (the store or the customer) is ?1, the
/// attributes ?2 to ?7, the time ?8 and the lower-case names searches use ?9 and ?10.
fn write(conn: &Connection, sql: &str, key: i64, f: &CustomerFields) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute(params![
        key,
        f.first_name,
        f.last_name,
        f.email,
        f.phone,
        f.birthday,
        Value::Object(f.metadata.clone()).to_string(),
        time_fmt::now(),
        f.first_name.to_lowercase(),
        f.last_name.as_deref().map(str::to_lowercase)
    ])?;
    Ok(())
}

/// Inserts many customers of a store, 2,500 to a statement (an import); returns their
/// ids in the order given.
pub fn insert_many(
    conn: &Connection,
    store_id: i64,
    customers: &[CustomerFields],
) -> rusqlite::Result<Vec<i64>> {
    const CHUNK: usize = 2500;
    let now = time_fmt::now();
    let mut ids = Vec::with_capacity(customers.len());
    for chunk in customers.chunks(CHUNK) {
        type Keys = (String, Option<String>, String, Option<String>);
        let keys: Vec<Keys> = chunk
            .iter()
            .map(|f| {
                let metadata = Value::Object(f.metadata.clone()).to_string();
                let last = f.last_name.as_deref().map(str::to_lowercase);
                let birthday = f.birthday.map(Birthday::to_iso);
                (f.first_name.to_lowercase(), last, metadata, birthday)
            })
            .collect();
        let mut values = Vec::with_capacity(chunk.len() * 11);
        for (f, (first_key, last_key, metadata, birthday)) in chunk.iter().zip(&keys) {
            values.extend([
                store_id.into(),
                super::text(&f.first_name),
                super::opt_text(f.last_name.as_deref()),
                super::opt_text(f.email.as_ref().map(Email::as_str)),
                super::opt_text(f.phone.as_ref().map(Phone::as_str)),
                super::opt_text(birthday.as_deref()),
                super::text(metadata),
                super::text(first_key),
                super::opt_text(last_key.as_deref()),
                super::text(&now),
                super::text(&now),
            ]);
        }
        ids.extend(super::insert_rows(
            conn,
            "customers (store_id, first_name, last_name, email, phone, birthday, metadata,
                first_name_key, last_name_key, created_at, updated_at)",
            11,
            &values,
        )?);
    }
    Ok(ids)
}

/// Saves a customer's attributes; when the name changed, queues the update of their
/// passes (which may show it).
pub fn update(conn: &Connection, id: i64, f: &CustomerFields) -> rusqlite::Result<()> {
    let renamed: bool = super::one(
        conn,
        "SELECT first_name IS NOT ?2 OR last_name IS NOT ?3 FROM customers WHERE id = ?1",
        params![id, f.first_name, f.last_name],
        |r| r.get(0),
    )?
    .unwrap_or(false);
    let sql = "UPDATE customers SET first_name = ?2, last_name = ?3, email = ?4, phone = ?5,
            birthday = ?6, metadata = ?7, updated_at = ?8, first_name_key = ?9,
            last_name_key = ?10 WHERE id = ?1";
    write(conn, sql, id, f)?;
    super::webhooks::events::note(Change::CustomerUpdated { customer_id: id });
    if renamed {
        super::pass_updates::changed(conn, super::pass_updates::Changed::Customer(id), false)?;
    }
    Ok(())
}

/// The stored attributes of one customer of the store.
pub fn find_fields(
    conn: &Connection,
    store_id: i64,
    id: i64,
) -> rusqlite::Result<Option<CustomerFields>> {
    conn.prepare_cached(
        "SELECT first_name, last_name, email, phone, birthday, metadata FROM customers
         WHERE id = ?1 AND store_id = ?2 AND erased_at IS NULL",
    )?
    .query_row(params![id, store_id], |r| {
        let mut c = Columns::of(r);
        Ok(row!(c => CustomerFields {
            first_name, last_name, email, phone, birthday,
            metadata = serde_json::from_str(&c.read::<String>()?).unwrap_or_default(),
        }))
    })
    .optional()
}

pub fn exists(conn: &Connection, store_id: i64, id: i64) -> rusqlite::Result<bool> {
    conn.prepare_cached("SELECT EXISTS (SELECT 1 FROM customers WHERE id = ?1 AND store_id = ?2 AND erased_at IS NULL)")?
        .query_row(params![id, store_id], |r| r.get(0))
}

/// A way to reach a customer, unique in a store.
pub enum Contact<'a> {
    Email(&'a Email),
    Phone(&'a Phone),
}

/// The customer of the store who has this email or phone, other than `except`.
pub fn owner(
    conn: &Connection,
    store_id: i64,
    contact: Contact,
    except: Option<i64>,
) -> rusqlite::Result<Option<i64>> {
    let (sql, value): (&str, &dyn ToSql) = match contact {
        Contact::Email(email) => (
            "SELECT id FROM customers WHERE store_id = ?1 AND email = ?2 AND id IS NOT ?3",
            email,
        ),
        Contact::Phone(phone) => (
            "SELECT id FROM customers WHERE store_id = ?1 AND phone = ?2 AND id IS NOT ?3",
            phone,
        ),
    };
    super::one(conn, sql, params![store_id, value, except], |r| r.get(0))
}

/// Who holds an external reference in the store.
pub fn external_reference_owner(
    conn: &Connection,
    store_id: i64,
    source: &str,
    external_id: &str,
) -> rusqlite::Result<Option<i64>> {
    conn.prepare_cached(
        "SELECT customer_id FROM external_references WHERE store_id = ?1 AND source = ?2 AND external_id = ?3",
    )?
    .query_row(params![store_id, source, external_id], |r| r.get(0))
    .optional()
}

/// Inserts the reference, or updates its metadata when the customer already has it.
/// `metadata: None` keeps what is stored.
pub fn upsert_external_reference(
    conn: &Connection,
    store_id: i64,
    customer_id: i64,
    source: &str,
    external_id: &str,
    metadata: Option<&Value>,
) -> rusqlite::Result<()> {
    let now = time_fmt::now();
    let meta = metadata.map(|m| m.to_string());
    conn.prepare_cached(
        "INSERT INTO external_references (store_id, customer_id, source, external_id, metadata, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, coalesce(?5, '{}'), ?6, ?6)
         ON CONFLICT (store_id, source, external_id) DO UPDATE
            SET metadata = coalesce(?5, metadata), updated_at = ?6
            WHERE customer_id = excluded.customer_id",
    )?
    .execute(params![store_id, customer_id, source, external_id, meta, now])?;
    super::webhooks::events::note(Change::CustomerUpdated { customer_id });
    Ok(())
}

/// One external reference a customer holds: its key and the bytes of its metadata JSON.
pub struct StoredReference {
    pub source: String,
    pub external_id: String,
    pub metadata_bytes: usize,
}

/// What a customer's external references take up.
pub fn reference_sizes(
    conn: &Connection,
    customer_id: i64,
) -> rusqlite::Result<Vec<StoredReference>> {
    conn.prepare_cached(
        "SELECT source, external_id, length(CAST(metadata AS BLOB)) FROM external_references
         WHERE customer_id = ?1",
    )?
    .query_map([customer_id], |r| {
        Ok(StoredReference {
            source: r.get(0)?,
            external_id: r.get(1)?,
            metadata_bytes: r.get::<_, i64>(2)?.try_into().unwrap_or(usize::MAX),
        })
    })?
    .collect()
}

const CUSTOMER_COLUMNS: &str = "id, store_id, first_name, last_name, email, phone, birthday,
    metadata, created_at, updated_at";

fn customer_row(r: &rusqlite::Row) -> rusqlite::Result<Customer> {
    let mut c = Columns::of(r);
    Ok(row!(c => Customer {
        id, account_id, first_name, last_name, email, phone, birthday,
        stamp_count = 0,
        metadata = metadata(c.read()?),
        external_references = Vec::new(),
        customer_cards = Vec::new(),
        created_at, updated_at,
    }))
}

fn reference_row(r: &rusqlite::Row) -> rusqlite::Result<(i64, ExternalReference)> {
    let mut c = Columns::of(r);
    Ok((
        c.read()?,
        ExternalReference {
            source: c.read()?,
            external_id: c.read()?,
            metadata: metadata(c.read()?),
        },
    ))
}

/// Stored metadata as JSON; unreadable text counts as empty.
fn metadata(text: String) -> Value {
    serde_json::from_str(&text).unwrap_or(Value::Object(Map::new()))
}

/// Fills in the references and cards of loaded customers.
fn complete(
    customer: &mut Customer,
    refs: &mut HashMap<i64, Vec<ExternalReference>>,
    cards: &mut HashMap<i64, Vec<CustomerCard>>,
) {
    customer.external_references = refs.remove(&customer.id).unwrap_or_default();
    customer.customer_cards = cards.remove(&customer.id).unwrap_or_default();
    customer.stamp_count = customer
        .customer_cards
        .iter()
        .map(|cc| cc.stamps_count)
        .sum();
}

/// One live customer of the store, whole (with cards and references).
pub fn find(
    conn: &Connection,
    store_id: i64,
    id: i64,
    base_url: &str,
) -> rusqlite::Result<Option<Customer>> {
    load_one(conn, id, Some(store_id), base_url)
}

/// One customer by id, whole; with `store_id`, only a live customer of that store.
/// Plain index look-ups: the common case of a list (an exact search) and of `find`.
fn load_one(
    conn: &Connection,
    id: i64,
    store_id: Option<i64>,
    base_url: &str,
) -> rusqlite::Result<Option<Customer>> {
    let found = conn
        .prepare_cached(&format!(
            "SELECT {CUSTOMER_COLUMNS} FROM customers
             WHERE id = ?1 AND (?2 IS NULL OR (store_id = ?2 AND erased_at IS NULL))"
        ))?
        .query_row(params![id, store_id], customer_row)
        .optional()?;
    let Some(mut customer) = found else {
        return Ok(None);
    };
    let mut refs: HashMap<i64, Vec<ExternalReference>> = HashMap::new();
    let mut stmt = conn.prepare_cached(
        "SELECT customer_id, source, external_id, metadata FROM external_references
         WHERE customer_id = ?1 ORDER BY id",
    )?;
    for row in stmt.query_map([id], reference_row)? {
        let (cid, r) = row?;
        refs.entry(cid).or_default().push(r);
    }
    let mut cards = customer_cards::for_customers(conn, &[id], base_url)?;
    complete(&mut customer, &mut refs, &mut cards);
    Ok(Some(customer))
}

/// Loads full customers (with cards and references) in the order of `ids`.
pub fn load(conn: &Connection, ids: &[i64], base_url: &str) -> rusqlite::Result<Vec<Customer>> {
    match ids {
        [] => return Ok(Vec::new()),
        [id] => return Ok(load_one(conn, *id, None, base_url)?.into_iter().collect()),
        _ => {}
    }
    let json_ids = serde_json::to_string(ids).expect("ids serialise");
    let mut refs: HashMap<i64, Vec<ExternalReference>> = HashMap::new();
    {
        let mut stmt = conn.prepare_cached(
            "SELECT customer_id, source, external_id, metadata FROM external_references
             WHERE customer_id IN (SELECT value FROM json_each(?1)) ORDER BY id",
        )?;
        for row in stmt.query_map([&json_ids], reference_row)? {
            let (cid, r) = row?;
            refs.entry(cid).or_default().push(r);
        }
    }
    let mut cards = customer_cards::for_customers(conn, ids, base_url)?;
    let mut by_id: HashMap<i64, Customer> = HashMap::with_capacity(ids.len());
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {CUSTOMER_COLUMNS} FROM customers WHERE id IN (SELECT value FROM json_each(?1))"
    ))?;
    for row in stmt.query_map([&json_ids], customer_row)? {
        let mut c = row?;
        complete(&mut c, &mut refs, &mut cards);
        by_id.insert(c.id, c);
    }
    Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
}

/// What a customer list asks for.
#[derive(Debug, Clone)]
pub struct ListQuery {
    pub search: Option<String>,
    pub source: Option<String>,
    pub external_id: Option<String>,
    pub page: i64,
    pub items: i64,
    /// How phone numbers without a country code are read.
    pub default_country: phonenumber::country::Id,
}

/// The search index keys a store's customers as `store_id << SEARCH_KEY_SHIFT | id` (see
/// the V2 migration), so one store's matches are one rowid range of the index.
const SEARCH_KEY_SHIFT: u32 = 40;

/// Customers per block of `customer_pages` (`block = id >> PAGE_BLOCK_SHIFT`).
const PAGE_BLOCK_SHIFT: u32 = 10;

/// One page of a store's customers and the total count of matches: newest first, or
/// for a search, ranked (exact code, email, phone or external id first, then names
/// that start with every word searched for, in any order, then fragments), newest
/// first within a rank.
///
/// Without a search the count comes from the store's counter, and a deep page starts
/// from the per-block customer counts (`customer_pages`) instead of stepping over every
/// customer before it. A search gathers the matching ids from indexes only (card code,
/// external id, exact email or phone, and the store's range of the trigram index for
/// fragments of names, email and phone digits), so neither the page nor its count
/// reads the customers table.
pub fn list(conn: &Connection, store_id: i64, q: &ListQuery) -> rusqlite::Result<(Vec<i64>, i64)> {
    let offset = (q.page - 1).saturating_mul(q.items);
    let Some(lookups) = search_lookups(q) else {
        let count: i64 = conn
            .prepare_cached("SELECT customers_count FROM stores WHERE id = ?1")?
            .query_row([store_id], |r| r.get(0))?;
        if offset >= count {
            return Ok((Vec::new(), count));
        }
        return Ok((newest_page(conn, store_id, offset, q.items)?, count));
    };
    // Each look-up's matches go to its rank: exact look-ups first, then names that
    // start with the words searched for, then fragments; newest first within a rank.
    let mut ranks: [Vec<i64>; 3] = Default::default();
    for lookup in &lookups {
        let (rank, found) = match lookup {
            Lookup::Sql(sql, values) => (Rank::Exact, sql_ids(conn, store_id, sql, values)?),
            Lookup::Fragment(expression) => {
                (Rank::Fragment, fragment_ids(conn, store_id, expression)?)
            }
            Lookup::NameStart(words) => (Rank::NameStart, name_start_ids(conn, store_id, words)?),
            Lookup::Prefix(sql, values) => (Rank::Fragment, sql_ids(conn, store_id, sql, values)?),
            Lookup::WholePhone { number, digits } => {
                let found = sql_ids(conn, store_id, BY_PHONE, &[number.e164()])?;
                // A number someone has is valid: every stored one was checked when saved.
                // One nobody has is checked now; if it is not a valid number, its digits
                // are searched for like any other digits.
                if found.is_empty() && !number.is_valid() {
                    (
                        Rank::Fragment,
                        fragment_ids(conn, store_id, &phone_fragment(digits))?,
                    )
                } else {
                    (Rank::Exact, found)
                }
            }
        };
        ranks[rank as usize].extend(found);
    }
    let mut seen = std::collections::HashSet::new();
    let mut ids: Vec<i64> = Vec::new();
    for mut rank in ranks {
        rank.sort_unstable_by(|a, b| b.cmp(a));
        ids.extend(rank.into_iter().filter(|id| seen.insert(*id)));
    }
    let count = ids.len() as i64;
    let skip = usize::try_from(offset).unwrap_or(usize::MAX).min(ids.len());
    let take = usize::try_from(q.items).unwrap_or(0);
    let page = ids[skip..].iter().take(take).copied().collect();
    Ok((page, count))
}

/// Where a look-up's matches stand in a search's answer.
#[derive(Clone, Copy)]
enum Rank {
    /// A whole card code, email, phone number or external id.
    Exact = 0,
    /// Every word searched for starts the first or the last name.
    NameStart = 1,
    /// A fragment of a name, an email or phone digits.
    Fragment = 2,
}

/// The store's customers each of whose `words` starts their first or last name (in
/// any order): one prefix range of the name indexes per word, intersected.
fn name_start_ids(
    conn: &Connection,
    store_id: i64,
    words: &[String],
) -> rusqlite::Result<Vec<i64>> {
    let mut found: Option<std::collections::HashSet<i64>> = None;
    for word in words {
        let hi = format!("{word}\u{10FFFF}");
        let mut these = std::collections::HashSet::new();
        for sql in [FIRST_NAME_STARTS, LAST_NAME_STARTS] {
            these.extend(sql_ids(conn, store_id, sql, &[word.clone(), hi.clone()])?);
        }
        found = Some(match found {
            None => these,
            Some(before) => before.intersection(&these).copied().collect(),
        });
        if found.as_ref().is_some_and(|f| f.is_empty()) {
            break;
        }
    }
    Ok(found.unwrap_or_default().into_iter().collect())
}

const FIRST_NAME_STARTS: &str =
    "SELECT id FROM customers WHERE store_id = ?1 AND first_name_key >= ?2 AND first_name_key < ?3";
const LAST_NAME_STARTS: &str =
    "SELECT id FROM customers WHERE store_id = ?1 AND last_name_key >= ?2 AND last_name_key < ?3";

const BY_PHONE: &str = "SELECT id FROM customers WHERE store_id = ?1 AND phone = ?2";

/// The ids an SQL look-up finds (`?1` the store, `?2`... the values).
fn sql_ids(
    conn: &Connection,
    store_id: i64,
    sql: &str,
    values: &[String],
) -> rusqlite::Result<Vec<i64>> {
    let mut args: Vec<&dyn ToSql> = vec![&store_id];
    args.extend(values.iter().map(|v| v as &dyn ToSql));
    conn.prepare_cached(sql)?
        .query_map(args.as_slice(), |r| r.get(0))?
        .collect()
}

/// The ids of the store's customers matching an FTS5 expression, in id order.
fn fragment_ids(conn: &Connection, store_id: i64, expression: &str) -> rusqlite::Result<Vec<i64>> {
    let base = store_id << SEARCH_KEY_SHIFT;
    conn.prepare_cached(
        "SELECT rowid FROM customer_search
         WHERE customer_search MATCH ?1 AND rowid BETWEEN ?2 AND ?3",
    )?
    .query_map(
        params![expression, base, base + (1 << SEARCH_KEY_SHIFT) - 1],
        |r| Ok(r.get::<_, i64>(0)? - base),
    )?
    .collect()
}

fn phone_fragment(digits: &str) -> String {
    format!("phone : \"{digits}\"")
}

/// The ids of page `offset / items` of a store's live customers, newest first. The
/// block counts say which block of ids the page starts in, so the index is entered
/// there instead of being walked from the newest customer.
fn newest_page(
    conn: &Connection,
    store_id: i64,
    offset: i64,
    items: i64,
) -> rusqlite::Result<Vec<i64>> {
    let (mut before, mut skip) = (i64::MAX, offset);
    // Within the first block's worth of customers, stepping over them is as quick.
    if offset >= 1 << PAGE_BLOCK_SHIFT {
        let mut stmt = conn.prepare_cached(
            "SELECT block, customers FROM customer_pages WHERE store_id = ?1 ORDER BY block DESC",
        )?;
        let mut rows = stmt.query([store_id])?;
        while let Some(row) = rows.next()? {
            let (block, customers): (i64, i64) = (row.get(0)?, row.get(1)?);
            if skip < customers {
                before = (block + 1) << PAGE_BLOCK_SHIFT;
                break;
            }
            skip -= customers;
        }
    }
    conn.prepare_cached(
        "SELECT id FROM customers WHERE store_id = ?1 AND erased_at IS NULL AND id < ?2
         ORDER BY id DESC LIMIT ?3 OFFSET ?4",
    )?
    .query_map(params![store_id, before, items, skip], |r| r.get(0))?
    .collect()
}

/// One index look-up of a search; each yields customer ids of live customers of the
/// store.
enum Lookup {
    /// SQL whose `?1` is the store id and `?2`, `?3` ... the values.
    Sql(&'static str, Vec<String>),
    /// An FTS5 expression for the store's range of the trigram index.
    Fragment(String),
    /// Names that start with each of these words (lower case), in any order.
    NameStart(Vec<String>),
    /// SQL as `Sql`, whose matches rank as fragments (a prefix of a name or email).
    Prefix(&'static str, Vec<String>),
    /// What reads as a whole phone number: looked up exactly; when nobody has it and it
    /// is not a valid number, its digits are searched for instead.
    WholePhone {
        number: UncheckedPhone,
        digits: String,
    },
}

/// The index look-ups that together find a search's matches. `None`: no filter.
fn search_lookups(q: &ListQuery) -> Option<Vec<Lookup>> {
    // An erased customer has no external references, email, phone or name keys, and
    // is not in the trigram index; only a card code can still lead to one.
    const BY_REFERENCE: &str =
        "SELECT customer_id FROM external_references WHERE store_id = ?1 AND external_id = ?2";
    let source = q.source.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let external_id = q
        .external_id
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    match (source, external_id) {
        // An exact look-up by reference; a `search` given alongside is not combined.
        (Some(s), Some(e)) => {
            return Some(vec![Lookup::Sql(
                "SELECT customer_id FROM external_references
                 WHERE store_id = ?1 AND source = ?2 AND external_id = ?3",
                vec![s.into(), e.into()],
            )])
        }
        (Some(s), None) => {
            return Some(vec![Lookup::Sql(
                "SELECT customer_id FROM external_references WHERE store_id = ?1 AND source = ?2",
                vec![s.into()],
            )])
        }
        (None, Some(e)) => return Some(vec![Lookup::Sql(BY_REFERENCE, vec![e.into()])]),
        (None, None) => {}
    }
    let s = q
        .search
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())?;
    let mut lookups = Vec::new();
    let lower = s.to_lowercase();
    let digits: String = s.chars().filter(char::is_ascii_digit).collect();
    let phone_like = s
        .chars()
        .all(|c| c.is_ascii_digit() || " +-().".contains(c));
    if let Ok(email) = Email::parse(s) {
        // A whole address: the unique index answers it exactly.
        lookups.push(Lookup::Sql(
            "SELECT id FROM customers WHERE store_id = ?1 AND email = ?2",
            vec![email.as_str().to_string()],
        ));
    } else if phone_like && digits.len() >= 3 {
        lookups.push(match Phone::parse_unchecked(s, q.default_country) {
            // A whole number: the unique index answers it exactly.
            Ok(number) => Lookup::WholePhone { number, digits },
            // Some digits of a number: the trigram index over phone digits.
            Err(_) => Lookup::Fragment(phone_fragment(&digits)),
        });
    } else {
        let words: Vec<String> = lower.split_whitespace().map(str::to_string).collect();
        lookups.push(Lookup::NameStart(words.clone()));
        let quoted = |w: &str| format!("\"{}\"", w.replace('"', "\"\""));
        let long: Vec<&String> = words.iter().filter(|w| w.chars().count() >= 3).collect();
        if words.len() > 1 && long.len() == words.len() {
            // A full name in any order: every word somewhere in the name.
            let all: Vec<String> = long
                .iter()
                .map(|w| format!("name : {}", quoted(w)))
                .collect();
            lookups.push(Lookup::Fragment(all.join(" AND ")));
        } else if lower.chars().count() >= 3 {
            lookups.push(Lookup::Fragment(format!(
                "{{name email}} : {}",
                quoted(&lower)
            )));
        } else {
            // Too short for the trigram index: emails starting with the text (names
            // starting with it are the look-up above).
            let hi = format!("{lower}\u{10FFFF}");
            lookups.push(Lookup::Prefix(
                "SELECT id FROM customers WHERE store_id = ?1 AND email >= ?2 AND email < ?3",
                vec![lower.clone(), hi],
            ));
        }
    }
    if let Some(code) = CardCode::normalise_imported(s) {
        lookups.push(Lookup::Sql(
            "SELECT cc.customer_id FROM customer_cards cc JOIN customers c ON c.id = cc.customer_id
             WHERE cc.store_id = ?1 AND cc.code = ?2 AND c.erased_at IS NULL",
            vec![code],
        ));
    }
    lookups.push(Lookup::Sql(BY_REFERENCE, vec![s.to_string()]));
    Some(lookups)
}

/// Erases a customer's personal data on request: names, contact details, birthday,
/// metadata, external references, queued messages and wallet device registrations go;
/// the customer's cards and their ledger stay, anonymised. False when there was no
/// such (unerased) customer.
pub fn erase(conn: &Connection, store_id: i64, id: i64) -> rusqlite::Result<bool> {
    let now = time_fmt::now();
    let n = conn.execute(
        "UPDATE customers SET first_name = '', first_name_key = '', last_name = NULL,
            last_name_key = NULL, email = NULL, phone = NULL, birthday = NULL, metadata = '{}',
            erased_at = ?3, updated_at = ?3
         WHERE id = ?1 AND store_id = ?2 AND erased_at IS NULL",
        params![id, store_id, now],
    )?;
    if n == 0 {
        return Ok(false);
    }
    conn.execute(
        "DELETE FROM external_references WHERE customer_id = ?1",
        [id],
    )?;
    super::outbox::forget_customer(conn, store_id, id)?;
    conn.execute(
        "DELETE FROM pass_registrations
         WHERE customer_card_id IN (SELECT id FROM customer_cards WHERE customer_id = ?1)",
        [id],
    )?;
    Ok(true)
}
