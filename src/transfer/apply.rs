//! One incoming customer (a spreadsheet's row, another server's customer) written into a
//! store: found by email, then phone, then external id, and created or updated; each of
//! its cards found by code (or the customer's card of that template) or created under
//! the code it had; and its balance brought in as `import` ledger rows.
//!
//! The balance an import writes is the source's balance less what earlier imports of
//! the card brought, so the same file or source imported again adds nothing, a newer
//! export of the old system adds only the difference, and stamps given here since are
//! kept. Nothing here queues card links or other side effects: an import is not a
//! customer signing up.

use std::collections::HashMap;

use rusqlite::Connection;
use serde::Serialize;

use crate::api::customers::input::{check_reference_totals, check_required, CustomerInput};
use crate::db::customers::{self, Contact};
use crate::db::ledger::{Entry, Kind};
use crate::db::{self, cards::Card, imports};
use crate::domain::CardCode;
use crate::error::{ApiError, FieldErrors};
use crate::params::Field;

/// Which card template a card line is of.
#[derive(Debug, Clone)]
pub enum Template {
    /// The import's card (`--card`), for files that name none.
    Default,
    /// A template of the store by name (a `card_name` column).
    Named(String),
    /// A template of the store by id (another server's template, already imported).
    Id(i64),
}

/// One card of an incoming customer.
pub struct CardLine {
    pub template: Template,
    /// The code printed on the card (kept so printed cards and wallet passes still scan).
    pub code: Option<String>,
    /// The card's balance at the source.
    pub stamps: Option<i64>,
    /// The note of the balance's ledger row: where it came from.
    pub note: String,
}

/// One customer to import.
pub struct Incoming {
    /// The line of the file (or the source's position) it came from, for the report.
    pub line: u64,
    pub customer: CustomerInput,
    /// What was wrong with the input itself.
    pub errors: FieldErrors,
    /// The customer's id at the source, kept as an external reference.
    pub external_id: Option<String>,
    pub cards: Vec<CardLine>,
}

/// The store an import writes to and how it names what it brings.
#[derive(Debug, Clone)]
pub struct Target {
    pub store_id: i64,
    pub default_card: Option<i64>,
    /// The `source` of the external references the incoming ids are kept as.
    pub reference_source: String,
}

/// What an import did, or (dry run) would do.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Report {
    pub dry_run: bool,
    /// Rows (customers) read, skipped ones included.
    pub rows: u64,
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub cards_created: u64,
    /// Stamps added (or taken) by `import` ledger rows.
    pub stamps_imported: i64,
    /// Rows left out, each with its line and what was wrong.
    pub skipped: Vec<Skipped>,
    /// The line an interrupted import resumed after (0: from the start).
    pub resumed_after: u64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Skipped {
    pub line: u64,
    pub errors: std::collections::BTreeMap<String, Vec<String>>,
}

impl Report {
    pub fn add(&mut self, other: Report) {
        self.rows += other.rows;
        self.created += other.created;
        self.updated += other.updated;
        self.unchanged += other.unchanged;
        self.cards_created += other.cards_created;
        self.stamps_imported += other.stamps_imported;
        self.skipped.extend(other.skipped);
    }
}

/// Card templates of the store looked up while a batch runs.
#[derive(Default)]
pub struct Templates(HashMap<String, Option<Card>>);

/// Writes a batch of incoming customers, each all-or-nothing in a savepoint of its own;
/// a row refused is reported and the others go on.
pub fn batch(conn: &Connection, target: &Target, rows: &[Incoming]) -> Result<Report, ApiError> {
    let mut report = Report::default();
    let mut templates = Templates::default();
    for row in rows {
        report.rows += 1;
        db::exec(conn, "SAVEPOINT import_row")?;
        match one(conn, target, row, &mut templates, &mut report) {
            Ok(()) => db::exec(conn, "RELEASE import_row")?,
            Err(Refusal::Row(errors)) => {
                db::exec(conn, "ROLLBACK TO import_row")?;
                db::exec(conn, "RELEASE import_row")?;
                report.skipped.push(Skipped {
                    line: row.line,
                    errors: errors.0,
                });
            }
            Err(Refusal::Fault(e)) => return Err(e),
        }
    }
    Ok(report)
}

enum Refusal {
    Row(FieldErrors),
    Fault(ApiError),
}

impl From<rusqlite::Error> for Refusal {
    fn from(e: rusqlite::Error) -> Self {
        Refusal::Fault(e.into())
    }
}

fn refuse(field: &str, message: impl Into<String>) -> Refusal {
    let mut e = FieldErrors::new();
    e.add(field, message);
    Refusal::Row(e)
}

fn one(
    conn: &Connection,
    target: &Target,
    row: &Incoming,
    templates: &mut Templates,
    report: &mut Report,
) -> Result<(), Refusal> {
    if !row.errors.is_empty() {
        return Err(Refusal::Row(row.errors.clone()));
    }
    let store_id = target.store_id;
    let c = &row.customer;
    let by_email = match &c.email {
        Field::Set(e) => customers::owner(conn, store_id, Contact::Email(e), None)?,
        _ => None,
    };
    let by_phone = match &c.phone {
        Field::Set(p) => customers::owner(conn, store_id, Contact::Phone(p), None)?,
        _ => None,
    };
    let by_reference = match &row.external_id {
        Some(id) => {
            customers::external_reference_owner(conn, store_id, &target.reference_source, id)?
        }
        None => None,
    };
    let found = by_email.or(by_phone).or(by_reference);
    if let (Some(f), Some(p)) = (found, by_phone) {
        if f != p {
            return Err(refuse("phone", "has already been taken"));
        }
    }
    if let (Some(f), Some(r)) = (found, by_reference) {
        if f != r {
            return Err(refuse("external_id", "has already been taken"));
        }
    }
    let mut errors = FieldErrors::new();
    let stored = match found {
        Some(id) => customers::find_fields(conn, store_id, id)?,
        None => None,
    };
    let mut fields = stored.clone().unwrap_or_default();
    c.merge_into(&mut fields, &mut errors);
    check_required(&fields, &mut errors);
    let mut references: Vec<(String, String, Option<serde_json::Value>)> = c
        .external_references
        .iter()
        .map(|r| (r.source.clone(), r.external_id.clone(), r.metadata.clone()))
        .collect();
    if let Some(id) = &row.external_id {
        references.push((target.reference_source.clone(), id.clone(), None));
    }
    let held = match found {
        Some(id) => customers::reference_sizes(conn, id)?,
        None => Vec::new(),
    };
    check_reference_totals(&held, &c.external_references, &mut errors);
    if !errors.is_empty() {
        return Err(Refusal::Row(errors));
    }
    let (customer_id, mut changed) = match found {
        Some(id) => {
            let changed = stored.as_ref() != Some(&fields);
            if changed {
                customers::update(conn, id, &fields)?;
            }
            (id, changed)
        }
        None => (customers::insert(conn, store_id, &fields)?, true),
    };
    for (source, external_id, metadata) in &references {
        match customers::external_reference_owner(conn, store_id, source, external_id)? {
            Some(owner) if owner != customer_id => {
                return Err(refuse(
                    "external_references",
                    format!("{source} {external_id} has already been taken"),
                ))
            }
            Some(_) if metadata.is_none() => {}
            _ => {
                let before = held
                    .iter()
                    .any(|h| &h.source == source && &h.external_id == external_id);
                customers::upsert_external_reference(
                    conn,
                    store_id,
                    customer_id,
                    source,
                    external_id,
                    metadata.as_ref(),
                )?;
                changed |= !before;
            }
        }
    }
    for line in &row.cards {
        changed |= card(conn, target, customer_id, line, templates, report)?;
    }
    match (found, changed) {
        (None, _) => report.created += 1,
        (Some(_), true) => report.updated += 1,
        (Some(_), false) => report.unchanged += 1,
    }
    Ok(())
}

/// Brings one card of a customer in; true when anything changed.
fn card(
    conn: &Connection,
    target: &Target,
    customer_id: i64,
    line: &CardLine,
    templates: &mut Templates,
    report: &mut Report,
) -> Result<bool, Refusal> {
    let store_id = target.store_id;
    let template = match &line.template {
        Template::Default => match target.default_card {
            Some(id) => template_by_id(conn, store_id, id, templates)?,
            None => return Err(refuse(
                "card_name",
                "can't be blank: give the card the stamps are on (--card, or a card_name column)",
            )),
        },
        Template::Id(id) => template_by_id(conn, store_id, *id, templates)?,
        Template::Named(name) => {
            let key = name.to_lowercase();
            if !templates.0.contains_key(&key) {
                let found = db::cards::list(conn, store_id, db::cards::Scope::All)?
                    .into_iter()
                    .find(|c| c.design.name.to_lowercase() == key);
                templates.0.insert(key.clone(), found);
            }
            templates.0[&key].clone().ok_or_else(|| {
                refuse(
                    "card_name",
                    format!("{name} is not a card of this store (create it first)"),
                )
            })?
        }
    };
    let mut changed = false;
    let existing = match &line.code {
        Some(code) => match imports::card_by_code(conn, store_id, code)? {
            Some(found) if found.customer_id != customer_id => {
                return Err(refuse("code", "has already been taken"))
            }
            Some(found) if found.card_id != template.id => {
                return Err(refuse(
                    "code",
                    "is the code of another card of this customer",
                ))
            }
            Some(found) => Some(found.id),
            None => None,
        },
        None => imports::card_of_customer(conn, customer_id, template.id)?,
    };
    let id = match existing {
        Some(id) => id,
        None => {
            if template.archived_at.is_some() {
                return Err(refuse("card_name", "is archived"));
            }
            let code = match &line.code {
                Some(code) => code.clone(),
                None => loop {
                    let c = CardCode::generate();
                    if imports::card_by_code(conn, store_id, c.as_str())?.is_none() {
                        break c.as_str().to_string();
                    }
                },
            };
            report.cards_created += 1;
            changed = true;
            imports::insert_card(conn, store_id, customer_id, template.id, &code)?
        }
    };
    if let Some(stamps) = line.stamps {
        let (balance, imported) = imports::balance_and_imported(conn, id)?;
        let delta = (stamps - imported).max(-balance);
        if delta != 0 {
            db::customer_cards::apply(
                conn,
                Entry {
                    store_id,
                    customer_card_id: id,
                    kind: Kind::Import,
                    stamps: delta,
                    balance_after: balance + delta,
                    reward: None,
                    note: Some(&line.note),
                    who: &db::ledger::Who::default(),
                    visit_started_at: None,
                    skip_notifications: true,
                },
            )?;
            report.stamps_imported += delta;
            changed = true;
        }
    }
    Ok(changed)
}

fn template_by_id(
    conn: &Connection,
    store_id: i64,
    id: i64,
    templates: &mut Templates,
) -> Result<Card, Refusal> {
    let key = format!("#{id}");
    if !templates.0.contains_key(&key) {
        templates
            .0
            .insert(key.clone(), db::cards::find(conn, store_id, id)?);
    }
    templates.0[&key]
        .clone()
        .ok_or_else(|| refuse("card_id", "not found"))
}
