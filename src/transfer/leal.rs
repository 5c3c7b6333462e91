//! Importing a store from another server speaking the Leal v1 API (Leal itself, or
//! another stampd): its card templates, rewards, locations and posters, then its
//! customers page by page with their cards (codes kept) and balances.
//!
//! The source's limits are respected: a `429` is waited for as long as its
//! `Retry-After` says, and when `RateLimit-Remaining` reaches 0 the next request waits
//! for `RateLimit-Reset`. A source that stops answering is tried again a few times;
//! then the import stops, and run again it resumes after the last page it committed.
//! What the source's records became here is kept (`import_links`, and each customer's
//! source id as an external reference `leal`), so a rerun updates instead of
//! duplicating.

use std::collections::HashMap;
use std::time::Duration;

use rusqlite::Connection;
use serde_json::{Map, Value};

use super::apply::{CardLine, Incoming, Report, Skipped, Target, Template};
use super::{write_batch, ImportError, Sink};
use crate::api::cards::CardInput;
use crate::api::crud::read_attributes;
use crate::api::customers::input::CustomerInput;
use crate::api::locations::LocationInput;
use crate::api::posters::PosterInput;
use crate::api::rewards::RewardInput;
use crate::db::{self, imports};
use crate::error::{ApiError, FieldErrors};
use crate::params::Parsed;

/// Customers asked for per page (the API's most).
const PAGE_ITEMS: u64 = 100;
/// Tries of a request that fails for want of an answer (the source down, a 5xx).
const TRIES: u32 = 4;
/// The longest a `Retry-After` or `RateLimit-Reset` is waited for at once.
const LONGEST_WAIT: Duration = Duration::from_secs(120);

/// The `source` of the external references customers' source ids are kept as.
pub const REFERENCE_SOURCE: &str = "leal";

/// The server imported from.
pub struct Source {
    agent: ureq::Agent,
    base: String,
    token: String,
    account: i64,
    /// How many times the source's rate limit was waited for: after a 429, and before
    /// a request when the last answer said none were left.
    after_429: std::sync::atomic::AtomicU64,
    paused: std::sync::atomic::AtomicU64,
}

impl Source {
    /// How many times the source answered 429 and its `Retry-After` was waited for, and
    /// how many times a request waited because the last answer said none were left.
    pub fn waits(&self) -> (u64, u64) {
        use std::sync::atomic::Ordering::Relaxed;
        (self.after_429.load(Relaxed), self.paused.load(Relaxed))
    }

    pub fn new(url: &str, token: &str, account: i64) -> Source {
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            .build();
        Source {
            agent,
            base: url.trim_end_matches('/').to_string(),
            token: token.to_string(),
            account,
            after_429: Default::default(),
            paused: Default::default(),
        }
    }

    /// What names this source in the imports table.
    fn fingerprint(&self) -> String {
        format!("{}/api/v1/accounts/{}", self.base, self.account)
    }

    /// GET a path below the source's account, waiting out its rate limits.
    fn get(&self, path: &str) -> Result<Value, ImportError> {
        let url = format!("{}{path}", self.fingerprint());
        let mut failures = 0;
        loop {
            let answer = self
                .agent
                .get(&url)
                .set("Authorization", &format!("Bearer {}", self.token))
                .set("Accept", "application/json")
                .call();
            let wait = match answer {
                Ok(res) => {
                    // Out of requests: wait for one request's share of the window
                    // (a source that refills gradually has one again by then; one that
                    // refills all at once answers 429 until it does, and says how long).
                    let pause = (header_secs(&res, "ratelimit-remaining") == Some(0))
                        .then(|| header_secs(&res, "ratelimit-reset"))
                        .flatten()
                        .map(|reset| match header_secs(&res, "ratelimit-limit") {
                            Some(limit) if limit > 0 => reset.div_ceil(limit).max(1),
                            _ => reset,
                        });
                    let body = res.into_json::<Value>().map_err(|e| {
                        ImportError::Source(format!("{url}: the answer is not JSON: {e}"))
                    })?;
                    if let Some(secs) = pause {
                        self.paused
                            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        std::thread::sleep(Duration::from_secs(secs).min(LONGEST_WAIT));
                    }
                    return Ok(body);
                }
                Err(ureq::Error::Status(429, res)) => {
                    self.after_429
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    Duration::from_secs(header_secs(&res, "retry-after").unwrap_or(1).max(1))
                }
                Err(ureq::Error::Status(code, res)) if code < 500 => {
                    let text = res.into_string().unwrap_or_default();
                    let hint = match code {
                        401 => " (is the --token right?)",
                        404 => " (is the --account right, and may the token reach it?)",
                        _ => "",
                    };
                    return Err(ImportError::Source(format!(
                        "{url} answered {code}{hint}: {}",
                        text.chars().take(300).collect::<String>()
                    )));
                }
                Err(e) => {
                    failures += 1;
                    if failures >= TRIES {
                        return Err(ImportError::Source(format!(
                            "{url}: {e} (tried {TRIES} times; run the import again to resume)"
                        )));
                    }
                    Duration::from_millis(250 << failures)
                }
            };
            std::thread::sleep(wait.min(LONGEST_WAIT));
        }
    }
}

fn header_secs(res: &ureq::Response, name: &str) -> Option<u64> {
    res.header(name)?.trim().parse().ok()
}

/// A Leal import's options.
#[derive(Debug, Clone)]
pub struct LealImport {
    /// The store to import into; default: the store an earlier import of the same
    /// source went into, else a new store named as the source's.
    pub into: Option<i64>,
    pub dry_run: bool,
    pub country: phonenumber::country::Id,
}

/// The source's templates and what goes with them, fetched before anything is written.
struct Catalog {
    store_name: String,
    cards: Vec<Value>,
    rewards: Vec<Value>,
    locations: Vec<Value>,
    posters: Vec<Value>,
}

fn list(v: Value) -> Vec<Value> {
    match v {
        Value::Array(a) => a,
        Value::Object(mut m) => m
            .values_mut()
            .find_map(|v| v.as_array_mut().map(std::mem::take))
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// Imports the source's store; returns the store written to and the report.
pub fn import<S: Sink>(
    sink: &mut S,
    source: &Source,
    options: &LealImport,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<(i64, Report), ImportError> {
    let store = source.get("")?;
    let store_name = ["display_store_name", "name"]
        .iter()
        .find_map(|k| store[k].as_str())
        .unwrap_or("Imported store")
        .to_string();
    let catalog = Catalog {
        store_name,
        cards: list(source.get("/cards?scope=all")?),
        rewards: list(source.get("/rewards")?),
        locations: list(source.get("/locations")?),
        posters: list(source.get("/posters")?),
    };
    let fingerprint = source.fingerprint();
    if options.dry_run {
        return dry_run(sink, source, options, catalog, progress);
    }
    let (into, fp, name) = (
        options.into,
        fingerprint.clone(),
        catalog.store_name.clone(),
    );
    let (store_id, import_id, done_pages) = sink.write(move |conn| {
        let store_id = match into {
            Some(id) => id,
            None => match imports::store_of(conn, "leal", &fp)? {
                Some(id) => id,
                None => db::stores::insert(conn, &name)?,
            },
        };
        Ok(
            match imports::unfinished(conn, Some(store_id), "leal", &fp)? {
                Some((id, _, position)) => (store_id, id, position),
                None => (store_id, imports::start(conn, store_id, "leal", &fp)?, 0),
            },
        )
    })?;
    let (mut report, cards) = sink.write(move |conn| templates(conn, store_id, &catalog))?;
    report.resumed_after = done_pages as u64 * PAGE_ITEMS;
    let target = Target {
        store_id,
        default_card: None,
        reference_source: REFERENCE_SOURCE.into(),
    };
    let mut page = done_pages as u64 + 1;
    loop {
        let body = source.get(&format!("/customers?page={page}&items={PAGE_ITEMS}"))?;
        let total = body["pagination"]["count"].as_u64().unwrap_or(0);
        let pages = body["pagination"]["pages"].as_u64().unwrap_or(0);
        let rows = incoming(
            &body,
            &cards,
            &source.base,
            (page - 1) * PAGE_ITEMS,
            options.country,
        );
        if rows.is_empty() && page > pages {
            break;
        }
        let (target, position) = (target.clone(), page as i64);
        let part =
            sink.write(move |conn| write_batch(conn, &target, &rows, false, import_id, position))?;
        report.add(part);
        progress((page * PAGE_ITEMS).min(total), total);
        if page >= pages {
            break;
        }
        page += 1;
    }
    sink.write(move |conn| Ok(imports::finish(conn, import_id)?))?;
    Ok((store_id, report))
}

/// A dry run: everything fetched first, then written and undone in one unit of work.
fn dry_run<S: Sink>(
    sink: &mut S,
    source: &Source,
    options: &LealImport,
    catalog: Catalog,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<(i64, Report), ImportError> {
    let mut pages = Vec::new();
    let mut page = 1;
    loop {
        let body = source.get(&format!("/customers?page={page}&items={PAGE_ITEMS}"))?;
        let total = body["pagination"]["count"].as_u64().unwrap_or(0);
        let last = body["pagination"]["pages"].as_u64().unwrap_or(0);
        progress((page * PAGE_ITEMS).min(total), total);
        pages.push(body);
        if page >= last {
            break;
        }
        page += 1;
    }
    let (into, fp, base, country) = (
        options.into,
        source.fingerprint(),
        source.base.clone(),
        options.country,
    );
    let (store_id, report) = sink.write(move |conn| {
        db::exec(conn, "SAVEPOINT dry_run")?;
        let result = (|| {
            let store_id = match into.or(imports::store_of(conn, "leal", &fp)?) {
                Some(id) => id,
                None => db::stores::insert(conn, &catalog.store_name)?,
            };
            let (mut report, cards) = templates(conn, store_id, &catalog)?;
            let target = Target {
                store_id,
                default_card: None,
                reference_source: REFERENCE_SOURCE.into(),
            };
            for (i, body) in pages.iter().enumerate() {
                let rows = incoming(body, &cards, &base, i as u64 * PAGE_ITEMS, country);
                report.add(super::apply::batch(conn, &target, &rows)?);
            }
            Ok::<_, ApiError>((store_id, report))
        })();
        db::exec(conn, "ROLLBACK TO dry_run")?;
        db::exec(conn, "RELEASE dry_run")?;
        db::webhooks::events::discard();
        result
    })?;
    Ok((
        store_id,
        Report {
            dry_run: true,
            ..report
        },
    ))
}

/// One page of the source's customers as incoming customers.
fn incoming(
    body: &Value,
    cards: &HashMap<i64, i64>,
    base: &str,
    offset: u64,
    country: phonenumber::country::Id,
) -> Vec<Incoming> {
    let customers = body["customers"].as_array().cloned().unwrap_or_default();
    customers
        .into_iter()
        .enumerate()
        .map(|(i, c)| {
            let mut attrs = Map::new();
            for key in [
                "first_name",
                "last_name",
                "email",
                "phone",
                "birthday",
                "metadata",
                "external_references",
            ] {
                match &c[key] {
                    Value::Null => {}
                    v => {
                        attrs.insert(key.into(), v.clone());
                    }
                }
            }
            let body = Map::from_iter([("customer".to_string(), Value::Object(attrs))]);
            let (customer, errors) = match CustomerInput::read(&body, country) {
                Ok(Parsed { value, errors }) => (value, errors),
                Err(e) => {
                    let mut errors = FieldErrors::new();
                    errors.add("base", e.to_string());
                    (super::table::empty_input(), errors)
                }
            };
            let mut errors = errors;
            let lines = c["customer_cards"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .filter_map(|cc| {
                    let source_card = cc["card_id"].as_i64()?;
                    let Some(&local) = cards.get(&source_card) else {
                        errors.add(
                            "customer_cards",
                            format!("card {source_card} is not among the source's cards"),
                        );
                        return None;
                    };
                    Some(CardLine {
                        template: Template::Id(local),
                        code: cc["code"].as_str().map(str::to_string),
                        stamps: cc["stamps_count"].as_i64(),
                        note: format!("imported from {base} customer card {}", cc["id"]),
                    })
                })
                .collect();
            Incoming {
                line: offset + i as u64 + 1,
                customer,
                errors,
                external_id: c["id"].as_i64().map(|id| id.to_string()),
                cards: lines,
            }
        })
        .collect()
}

/// Creates or updates the store's card templates, rewards, locations and posters from
/// the source's; returns the report of what was refused and the card ids (source's to
/// this store's).
fn templates(
    conn: &Connection,
    store_id: i64,
    catalog: &Catalog,
) -> Result<(Report, HashMap<i64, i64>), ApiError> {
    let mut report = Report::default();
    let mut cards = HashMap::new();
    let mut refused = |what: &str, id: &Value, errors: FieldErrors| {
        report.skipped.push(Skipped {
            line: 0,
            errors: errors
                .0
                .into_iter()
                .map(|(k, v)| (format!("{what} {id}: {k}"), v))
                .collect(),
        });
    };
    for card in &catalog.cards {
        let mut attrs = card.as_object().cloned().unwrap_or_default();
        attrs.insert(
            "archived".into(),
            Value::Bool(!card["archived_at"].is_null()),
        );
        let body = Map::from_iter([("card".to_string(), Value::Object(attrs))]);
        let created = match CardInput::parse_create(&body) {
            Ok(c) => c,
            Err(ApiError::Validation(e)) => {
                refused("card", &card["id"], e);
                continue;
            }
            Err(e) => return Err(e),
        };
        let archived = created.archived.then(crate::time_fmt::now);
        let source_id = card["id"].to_string();
        let id = match imports::linked(conn, store_id, "leal", "card", &source_id)? {
            Some(id) => {
                let stored = db::cards::find(conn, store_id, id)?;
                let keep = stored.as_ref().and_then(|c| c.archived_at.clone());
                let archived_at = if created.archived {
                    keep.or(archived)
                } else {
                    None
                };
                db::cards::update(conn, id, &created.design, archived_at.as_deref())?;
                id
            }
            None => {
                let id = db::cards::insert(conn, store_id, &created.design, archived.as_deref())?;
                imports::link(conn, store_id, "leal", "card", &source_id, id)?;
                id
            }
        };
        if let Some(source) = card["id"].as_i64() {
            cards.insert(source, id);
        }
    }
    for reward in &catalog.rewards {
        let Some(card) = reward["card_id"].as_i64().and_then(|c| cards.get(&c)) else {
            continue;
        };
        let Some(card) = db::cards::find(conn, store_id, *card)? else {
            continue;
        };
        let body = Map::from_iter([("reward".to_string(), reward.clone())]);
        let Parsed { value, mut errors } = read_attributes::<RewardInput>(&body, true)?;
        let mut fields = db::rewards::RewardFields::default();
        value.merge_into(&mut fields, Some(&card), &mut errors);
        if !errors.is_empty() {
            refused("reward", &reward["id"], errors);
            continue;
        }
        let source_id = reward["id"].to_string();
        match imports::linked(conn, store_id, "leal", "reward", &source_id)? {
            Some(id) => db::rewards::update(conn, id, &fields)?,
            None => {
                let id = db::rewards::insert(conn, store_id, card.id, &fields)?;
                imports::link(conn, store_id, "leal", "reward", &source_id, id)?;
            }
        }
    }
    for location in &catalog.locations {
        let body = Map::from_iter([("location".to_string(), location.clone())]);
        let Parsed { value, mut errors } = read_attributes::<LocationInput>(&body, true)?;
        let mut fields = db::locations::LocationFields::default();
        value.merge_into(&mut fields, &mut errors);
        if !errors.is_empty() {
            refused("location", &location["id"], errors);
            continue;
        }
        let source_id = location["id"].to_string();
        match imports::linked(conn, store_id, "leal", "location", &source_id)? {
            Some(id) => db::locations::update(conn, id, &fields)?,
            None => {
                let id = db::locations::insert(conn, store_id, &fields)?;
                imports::link(conn, store_id, "leal", "location", &source_id, id)?;
            }
        }
    }
    for poster in &catalog.posters {
        let Some(&card) = poster["card_id"].as_i64().and_then(|c| cards.get(&c)) else {
            continue;
        };
        let body = Map::from_iter([("poster".to_string(), poster.clone())]);
        let Parsed { value, mut errors } = read_attributes::<PosterInput>(&body, true)?;
        let mut fields = db::posters::PosterFields::default();
        value.merge_into(&mut fields, &mut errors);
        if !errors.is_empty() {
            refused("poster", &poster["id"], errors);
            continue;
        }
        let source_id = poster["id"].to_string();
        match imports::linked(conn, store_id, "leal", "poster", &source_id)? {
            Some(id) => db::posters::update(conn, id, &fields)?,
            None => {
                let id = db::posters::insert(conn, store_id, card, &fields)?;
                imports::link(conn, store_id, "leal", "poster", &source_id, id)?;
            }
        }
    }
    db::webhooks::events::discard();
    Ok((report, cards))
}
