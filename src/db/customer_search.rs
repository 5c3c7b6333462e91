//! The customer list and search: a store's customers newest first, page by page, and the
//! ranked search (exact codes, contacts and external ids, then name starts, then
//! fragments of the trigram index), within the search's cost budget.

use rusqlite::{params, Connection, ToSql};

use crate::domain::{CardCode, Email, Phone, UncheckedPhone};

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
