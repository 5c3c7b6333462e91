//! Customers (`/accounts/:account_id/customers`): list with search, show, create, update.

use actix_web::http::StatusCode;
use actix_web::web::Path;
use actix_web::HttpRequest;
use rusqlite::Connection;
use serde_json::{json, Map, Value};

pub mod input;

use super::crud::{self, Found};
use super::endpoint::{endpoints, Components, Doc, Endpoint, Resource};
use super::read_gate::Cost;
use super::{json, pagination_params, Answer, Call, Pagination, Reply};
use crate::db;
use crate::db::card_links;
use crate::db::customers::{Contact, Customer, CustomerFields, ListQuery};
use crate::domain::limits;
use crate::error::{ApiError, FieldErrors};
use crate::params::{integer, query_map, Body, Parsed};
use crate::time_fmt;
use input::{
    check_reference_totals, check_required, CustomerCreate, CustomerInput, ReferenceInput,
};

pub const RESOURCE: Resource = Resource::new("Customers", ENDPOINTS, components);

const ENDPOINTS: &[Endpoint] = endpoints!["/accounts/{account_id}/customers";
    Get "" => list, Doc::new("listCustomers", "Search and page through customers, newest first").describe("`search` matches, case-insensitively, a fragment of the first name, last name, full name (its words in any order) or email; phone digits; a card code exactly (any case, spaces and dashes ignored); an external reference id exactly. A search's answer is ranked: exact card codes, emails, phone numbers and external ids first, then customers whose first or last name starts with each word searched for, then fragments; newest first within each (the plain list is newest first). `source` and/or `external_id` look up external references exactly (a `search` given with them is ignored). A search may spend a budget of CPU time (`search_budget_ms`): one whose letters are too common among the store's customers to answer within it is 422 with `search: [\"is too broad: ...\"]`.").query(&["search", "source", "external_id", "page", "items"]).ok(200, "One page of customers", "CustomerPage").staff();
    Post "" => create, Doc::new("createCustomer", "Create a customer, optionally enrolled in a card").describe("Needs `first_name` and at least one of `email` / `phone` (unique in the store; email compared trimmed and case-insensitively, phone as E.164). `card_id` enrols the customer (422 `card_id: not found`, `is archived`, `has expired`) and credits the card's `initial_stamps`; the response then carries `customer_card`. `send_card_links: true` queues the card's links by email and/or SMS.").body("CustomerCreate").ok(201, "The new customer", "CustomerCreated").staff();
    Get "/{id}" => crud::show::<Customer>, Doc::new("getCustomer", "One customer with all their cards").ok(200, "The customer", "Customer").staff();
    Patch "/{id}" => update, Doc::new("updateCustomer", "Change a customer").describe("Partial: only given keys change; `null` clears an optional field. `metadata` is merged shallowly (a key set to `null` is removed, `metadata: null` empties it); `external_references` are upserted by `(source, external_id)`. Stamps never change here.").body("CustomerUpdate").ok(200, "The updated customer", "Customer").staff(), Put "updateCustomerPut" "Change a customer (same as PATCH)";
    Delete "/{id}" => crud::delete::<Customer>, Doc::new("eraseCustomer", "Erase a customer's personal data (GDPR; beyond Leal)").describe("Removes the customer's personal data; the anonymised ledger stays. The customer is gone from the API afterwards (404).").empty(204, "Erased (no body)");
    Post "/{id}/send_card_links" => send_card_links, Doc::new("sendCardLinks", "Queue the customer's card links again (email and/or SMS)").describe("For every card of the customer, or only `customer_card_id`. 422 when the customer has no card or the card is not theirs. Card links go to one customer at most once per channel every 10 minutes and 5 times a day: a channel held back gets a `suppressed` delivery with the reason in `last_error`; when every channel is held back, 429 with the reason and `Retry-After`.").body("SendCardLinks").ok(201, "The queued deliveries", "DeliveriesQueued").staff();
];

/// Shown whole, with their cards and external references.
impl crud::Record for Customer {
    const WHAT: &'static str = "Customer";
    type Json = Customer;

    fn find(conn: &Connection, store_id: i64, id: i64, base: &str) -> Found<Customer> {
        db::customers::find(conn, store_id, id, base)
    }
}

/// `DELETE /customers/:id` (beyond Leal) erases the customer's personal data on request
/// and keeps the anonymised ledger; the customer is gone from the API afterwards.
impl crud::Delete for Customer {
    const DELETE: crud::Remove = db::customers::erase;
}

pub async fn list(call: Call, path: Path<String>, req: HttpRequest) -> Answer {
    let q = query_map(&req);
    let base = call.state.public_url.clone();
    let country = call.state.settings.default_country;
    let budget = std::time::Duration::from_millis(call.state.settings.search_budget_ms);
    let filtered = ["search", "source", "external_id"]
        .iter()
        .any(|k| q.get(*k).is_some_and(|v| !v.trim().is_empty()));
    let cost = if filtered { Cost::Search } else { Cost::Cheap };
    let body = call
        .read_at_cost(cost, move |conn, access| {
            let store_id = access.store(&path)?;
            let (page, items) = pagination_params(&q)?;
            let search = q.get("search").cloned();
            for key in ["search", "source", "external_id"] {
                if q.get(key).is_some_and(|s| s.contains('\0')) {
                    return Err(FieldErrors::single(key, "is invalid"));
                }
            }
            if search
                .as_ref()
                .is_some_and(|s| s.chars().count() > limits::SEARCH)
            {
                return Err(FieldErrors::single(
                    "search",
                    &crate::domain::too_long(limits::SEARCH),
                ));
            }
            let query = ListQuery {
                search,
                source: q.get("source").cloned(),
                external_id: q.get("external_id").cloned(),
                page,
                items,
                default_country: country,
            };
            let (ids, count) = match &query.search {
                Some(_) => {
                    db::within_budget(conn, budget, |c| db::customers::list(c, store_id, &query))?
                        .map_err(|db::OverBudget| FieldErrors::single("search", SEARCH_TOO_BROAD))?
                }
                None => db::customers::list(conn, store_id, &query)?,
            };
            Ok(CustomerPage {
                customers: db::customers::load(conn, &ids, &base)?,
                pagination: Pagination::new(count, items, page),
            })
        })
        .await?;
    Ok(json(StatusCode::OK, &body))
}

/// Why a search was cut off: the fragment's letter sequences are so common among the
/// store's customers that matching it took more than `search_budget_ms`.
const SEARCH_TOO_BROAD: &str = "is too broad: its letters are too common among this store's \
    customers to search in time; search for a rarer part of a name, email or phone number, \
    or for a whole email, phone number or card code";

/// A page of the customer list, serialised straight from the loaded rows.
#[derive(serde::Serialize)]
struct CustomerPage {
    customers: Vec<db::customers::Customer>,
    pagination: Pagination,
}

pub async fn create(call: Call, path: Path<String>, body: Body) -> Answer {
    let base = call.state.public_url.clone();
    let country = call.state.settings.default_country;
    let parse = move |params: &Map<String, Value>| CustomerCreate::parse(params, country);
    let response = call
        .write(body, parse, move |tx, access, input| {
            let store_id = access.store(&path)?;
            let Parsed { value, mut errors } = input?;
            let CustomerCreate {
                fields,
                external_references,
                card_id,
                send_card_links,
            } = value;
            check_unique(
                tx,
                store_id,
                None,
                &fields,
                &external_references,
                &mut errors,
            )?;
            let card = match card_id {
                Some(id) => match db::cards::find(tx, store_id, id)? {
                    None => {
                        errors.add("card_id", "not found");
                        None
                    }
                    Some(c) if c.archived_at.is_some() => {
                        errors.add("card_id", "is archived");
                        None
                    }
                    Some(c) if c.is_expired(&time_fmt::now()) => {
                        errors.add("card_id", "has expired");
                        None
                    }
                    Some(c) => Some(c),
                },
                None => None,
            };
            errors.into_result()?;

            let id = db::customers::insert(tx, store_id, &fields)?;
            save_external_references(tx, store_id, id, &external_references)?;
            let mut customer_card_id = None;
            if let Some(card) = &card {
                let cc = db::customer_cards::enrol(tx, store_id, id, card, &access.who())?;
                if send_card_links {
                    // Held-back sends are recorded, never an error of the create.
                    let to = recipient(store_id, id, &fields);
                    card_links::send(tx, &to, &[cc], card_links::CARD_LINKS)?;
                }
                customer_card_id = Some(cc);
            }
            let customer = db::customers::load(tx, &[id], &base)?
                .pop()
                .ok_or_else(|| ApiError::internal("customer vanished"))?;
            let mut out = serde_json::to_value(&customer).map_err(ApiError::internal)?;
            if let Some(cc) = customer_card_id {
                let card = customer.customer_cards.iter().find(|c| c.id == cc);
                out["customer_card"] = serde_json::to_value(card).map_err(ApiError::internal)?;
            }
            Ok(Reply {
                status: StatusCode::CREATED,
                body: out.to_string(),
            })
        })
        .await;
    call.state.outbox.wake();
    response
}

pub async fn update(call: Call, path: Path<(String, String)>, body: Body) -> Answer {
    let (account, id) = path.into_inner();
    let base = call.state.public_url.clone();
    let country = call.state.settings.default_country;
    let parse = move |params: &Map<String, Value>| CustomerInput::read(params, country);
    call.write(body, parse, move |tx, access, input| {
        let (store_id, id) = access.record(&account, &id, "Customer")?;
        let current = db::customers::find_fields(tx, store_id, id)?
            .ok_or_else(|| ApiError::not_found("Customer"))?;
        let Parsed {
            value: input,
            mut errors,
        } = input?;
        let mut fields = current.clone();
        input.merge_into(&mut fields, &mut errors);
        check_required(&fields, &mut errors);
        if !input.external_references.is_empty() {
            let stored = db::customers::reference_sizes(tx, id)?;
            check_reference_totals(&stored, &input.external_references, &mut errors);
        }
        check_unique(
            tx,
            store_id,
            Some(id),
            &fields,
            &input.external_references,
            &mut errors,
        )?;
        errors.into_result()?;
        if fields != current {
            db::customers::update(tx, id, &fields)?;
        }
        save_external_references(tx, store_id, id, &input.external_references)?;
        Reply::ok(&db::customers::load(tx, &[id], &base)?.pop())
    })
    .await
}

/// Email, phone and external references are unique within the store.
fn check_unique(
    conn: &Connection,
    store_id: i64,
    me: Option<i64>,
    f: &CustomerFields,
    refs: &[ReferenceInput],
    errors: &mut FieldErrors,
) -> Result<(), ApiError> {
    let contacts = [
        f.email.as_ref().map(|e| ("email", Contact::Email(e))),
        f.phone.as_ref().map(|p| ("phone", Contact::Phone(p))),
    ];
    for (key, contact) in contacts.into_iter().flatten() {
        if db::customers::owner(conn, store_id, contact, me)?.is_some() {
            errors.add(key, "has already been taken");
        }
    }
    for r in refs {
        let owner =
            db::customers::external_reference_owner(conn, store_id, &r.source, &r.external_id)?;
        if owner.is_some() && owner != me {
            errors.add("external_references.external_id", "has already been taken");
        }
    }
    Ok(())
}

/// Who a customer's card links go to: whichever of email and phone they have.
fn recipient(
    store_id: i64,
    customer_id: i64,
    contact: &CustomerFields,
) -> card_links::Recipient<'_> {
    card_links::Recipient {
        store_id,
        customer_id,
        email: contact.email.as_ref().map(|e| e.as_str()),
        phone: contact.phone.as_ref().map(|p| p.as_str()),
    }
}

fn save_external_references(
    conn: &Connection,
    store_id: i64,
    customer_id: i64,
    refs: &[ReferenceInput],
) -> Result<(), ApiError> {
    for r in refs {
        db::customers::upsert_external_reference(
            conn,
            store_id,
            customer_id,
            &r.source,
            &r.external_id,
            r.metadata.as_ref(),
        )?;
    }
    Ok(())
}

/// `POST /customers/:id/send_card_links`: queues the card links again, by email and/or
/// SMS to the addresses the customer has, for every card (or the `customer_card_id`
/// given). 201 with the queued deliveries.
pub async fn send_card_links(call: Call, path: Path<(String, String)>, body: Body) -> Answer {
    let (account, id) = path.into_inner();
    let parse = |params: &Map<String, Value>| {
        let mut errors = FieldErrors::new();
        let only = integer(params, "customer_card_id", &mut errors).set();
        errors.into_result().map(|()| only)
    };
    let response = call
        .write(body, parse, move |tx, access, only| {
            let (store_id, id) = access.record(&account, &id, "Customer")?;
            let customer = db::customers::find_fields(tx, store_id, id)?
                .ok_or_else(|| ApiError::not_found("Customer"))?;
            let only = only?;
            let cards = db::customer_cards::ids_of_customer(tx, id)?;
            let cards: Vec<i64> = match only {
                Some(cc) if cards.contains(&cc) => vec![cc],
                Some(_) => return Err(FieldErrors::single("customer_card_id", "not found")),
                None => cards,
            };
            if cards.is_empty() {
                return Err(FieldErrors::single(
                    "customer",
                    "has no card to send (enrol them in a card first)",
                ));
            }
            let to = recipient(store_id, id, &customer);
            let sent = card_links::send(tx, &to, &cards, card_links::CARD_LINKS)?;
            if sent.all_held() {
                let (message, retry_after) = sent.refusal();
                return Err(ApiError::TooSoon {
                    message,
                    retry_after,
                });
            }
            Reply::created(&json!({ "deliveries": db::outbox::find_many(tx, &sent.rows())? }))
        })
        .await;
    call.state.outbox.wake();
    response
}

fn components(c: &mut Components) {
    use super::openapi::schema::*;
    use serde_json::json;
    c.query(
        "search",
        "Free-text search (see the operation's description).",
        json!({"type": "string", "maxLength": limits::SEARCH}),
    );
    c.query(
        "source",
        "External reference source; with `external_id`, an exact look-up.",
        json!({"type": "string"}),
    );
    c.query(
        "external_id",
        "External reference id; with `source`, an exact look-up.",
        json!({"type": "string"}),
    );
    c.schema(
        "ExternalReference",
        object(json!({
            "source": string(),
            "external_id": string(),
            "metadata": {"type": "object", "additionalProperties": true},
        })),
    );
    let customer = json!({
        "id": id(),
        "account_id": id(),
        "first_name": string(),
        "last_name": nullable(string()),
        "email": nullable(string()),
        "phone": nullable({
            let mut p = string();
            p["description"] = json!("E.164, e.g. +14155550132");
            p
        }),
        "birthday": nullable(json!({"type": "string", "format": "date"})),
        "stamp_count": {"type": "integer", "description": "Sum of stamps over the customer's cards."},
        "metadata": {"type": "object", "additionalProperties": true},
        "external_references": array_of("ExternalReference"),
        "customer_cards": array_of("CustomerCard"),
        "created_at": timestamp(),
        "updated_at": timestamp(),
    });
    let mut created = object(customer.clone());
    created["properties"]["customer_card"] = schema_ref("CustomerCard");
    created["description"] =
        json!("The customer; `customer_card` (the new card) only when `card_id` was given.");
    c.schema("Customer", object(customer));
    c.schema("CustomerCreated", created);
    c.schema("CustomerPage", pagination_page("customers", "Customer"));
    c.schema(
        "DeliveriesQueued",
        object(json!({"deliveries": array_of("Delivery")})),
    );

    let mut top = Map::new();
    top.insert(
        "card_id".into(),
        json!({"type": "integer", "format": "int64", "minimum": 1,
            "description": "Enrol the new customer in this card template."}),
    );
    top.insert(
        "send_card_links".into(),
        json!({"type": "boolean", "default": false,
            "description": "Queue the card's links by email and/or SMS (needs card_id)."}),
    );
    c.create_and_update("Customer", "customer", input::attributes_schema, top);
    c.request_body(
        "SendCardLinks",
        false,
        input(
            json!({"customer_card_id": {"type": "integer", "format": "int64", "minimum": 1,
                "description": "Only this card of the customer (default: all their cards)."}}),
            &[],
        ),
    );
}
