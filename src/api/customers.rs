//! Customers (`/accounts/:account_id/customers`): list with search, show, create, update.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Map, Value};

use super::endpoint::{Components, Doc, Endpoint, In, Resource, Verb::*};
use super::{id_or_404, json, pagination_params, AppState, Bearer, Pagination, Reply};
use crate::db;
use crate::db::customers::{CustomerFields, ListQuery};
use crate::domain::{limits, Birthday, Email, Phone};
use crate::error::{ApiError, FieldErrors};
use crate::params::{attributes, boolean, bounded_text, integer, query_map, text, Body, Field};
use crate::time_fmt;
use actix_web::web::route;

pub const RESOURCE: Resource = Resource {
    tag: "Customers",
    endpoints: ENDPOINTS,
    components,
};

const ENDPOINTS: &[Endpoint] = &[
    Endpoint {
        method: Get,
        path: "/accounts/{account_id}/customers",
        handler: || route().to(list),
        doc: Doc {
            id: "listCustomers",
            summary: "Search and page through customers, newest first",
            description: "`search` matches, case-insensitively, a fragment of the first name, \
                          last name, full name or email; phone digits; a card code exactly (any \
                          case, spaces and dashes ignored); an external reference id exactly. \
                          `source` and/or `external_id` look up external references exactly (a \
                          `search` given with them is ignored).",
            query: &["search", "source", "external_id", "page", "items"],
            ok: (200, "One page of customers", Some("CustomerPage")),
            ..Doc::PLAIN
        },
    },
    Endpoint {
        method: Post,
        path: "/accounts/{account_id}/customers",
        handler: || route().to(create),
        doc: Doc {
            id: "createCustomer",
            summary: "Create a customer, optionally enrolled in a card",
            description: "Needs `first_name` and at least one of `email` / `phone` (unique in \
                          the store; email compared trimmed and case-insensitively, phone as \
                          E.164). `card_id` enrols the customer (422 `card_id: not found`, `is \
                          archived`, `has expired`) and credits the card's `initial_stamps`; the \
                          response then carries `customer_card`. `send_card_links: true` queues \
                          the card's links by email and/or SMS.",
            body: In::Body("CustomerCreate"),
            ok: (201, "The new customer", Some("CustomerCreated")),
            ..Doc::PLAIN
        },
    },
    Endpoint {
        method: Get,
        path: "/accounts/{account_id}/customers/{id}",
        handler: || route().to(show),
        doc: Doc {
            id: "getCustomer",
            summary: "One customer with all their cards",
            ok: (200, "The customer", Some("Customer")),
            ..Doc::PLAIN
        },
    },
    Endpoint {
        method: Patch,
        path: "/accounts/{account_id}/customers/{id}",
        handler: || route().to(update),
        doc: Doc {
            id: "updateCustomer",
            summary: "Change a customer",
            description: "Partial: only given keys change; `null` clears an optional field. \
                          `metadata` is merged shallowly (a key set to `null` is removed, \
                          `metadata: null` empties it); `external_references` are upserted by \
                          `(source, external_id)`. Stamps never change here.",
            body: In::Body("CustomerUpdate"),
            ok: (200, "The updated customer", Some("Customer")),
            ..Doc::PLAIN
        },
    },
    Endpoint {
        method: Put,
        path: "/accounts/{account_id}/customers/{id}",
        handler: || route().to(update),
        doc: Doc {
            id: "updateCustomerPut",
            summary: "Change a customer (same as PATCH)",
            description: "Partial, exactly like PATCH.",
            body: In::Body("CustomerUpdate"),
            ok: (200, "The updated customer", Some("Customer")),
            ..Doc::PLAIN
        },
    },
    Endpoint {
        method: Delete,
        path: "/accounts/{account_id}/customers/{id}",
        handler: || route().to(erase),
        doc: Doc {
            id: "eraseCustomer",
            summary: "Erase a customer's personal data (GDPR; beyond Leal)",
            description: "Removes the customer's personal data; the anonymised ledger stays. The \
                          customer is gone from the API afterwards (404).",
            ok: (204, "Erased (no body)", None),
            ..Doc::PLAIN
        },
    },
    Endpoint {
        method: Post,
        path: "/accounts/{account_id}/customers/{id}/send_card_links",
        handler: || route().to(send_card_links),
        doc: Doc {
            id: "sendCardLinks",
            summary: "Queue the customer's card links again (email and/or SMS)",
            description: "For every card of the customer, or only `customer_card_id`. 422 when \
                          the customer has no card or the card is not theirs.",
            body: In::Body("SendCardLinks"),
            ok: (201, "The queued deliveries", Some("DeliveriesQueued")),
            ..Doc::PLAIN
        },
    },
];

pub async fn list(
    state: web::Data<AppState>,
    bearer: Bearer,
    path: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let q = query_map(&req);
    let base = state.public_url.clone();
    let country = state.settings.default_country;
    let body = super::read(&state, bearer, move |conn, access| {
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
        let (ids, count) = db::customers::list(conn, store_id, &query)?;
        Ok(CustomerPage {
            customers: db::customers::load(conn, &ids, &base)?,
            pagination: Pagination::new(count, items, page),
        })
    })
    .await?;
    Ok(json(StatusCode::OK, &body))
}

/// A page of the customer list, serialised straight from the loaded rows.
#[derive(serde::Serialize)]
struct CustomerPage {
    customers: Vec<db::customers::Customer>,
    pagination: Pagination,
}

pub async fn show(
    state: web::Data<AppState>,
    bearer: Bearer,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (account, id) = path.into_inner();
    let base = state.public_url.clone();
    let customer = super::read(&state, bearer, move |conn, access| {
        let store_id = access.store(&account)?;
        let id = id_or_404(&id, "Customer")?;
        db::customers::find(conn, store_id, id, &base)?
            .ok_or_else(|| ApiError::not_found("Customer"))
    })
    .await?;
    Ok(json(StatusCode::OK, &customer))
}

pub async fn create(
    state: web::Data<AppState>,
    bearer: Bearer,
    path: web::Path<String>,
    body: Body,
) -> Result<HttpResponse, ApiError> {
    let base = state.public_url.clone();
    let country = state.settings.default_country;
    let response = super::write(&state, bearer, body, move |tx, access, params| {
        let store_id = access.store(&path)?;
        let mut errors = FieldErrors::new();
        let attrs = attributes(params, "customer")?;
        let input = Input::parse(attrs, country, &mut errors);
        let mut fields = CustomerFields::default();
        input.merge_into(&mut fields, &mut errors);
        check_required(&fields, &mut errors);
        check_unique(
            tx,
            store_id,
            None,
            &fields,
            &input.external_references,
            &mut errors,
        )?;

        let card_id = match integer(params, "card_id", &mut errors) {
            Field::Absent => integer(attrs, "card_id", &mut errors).set(),
            f => f.set(),
        };
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
        let send_links = boolean(params, "send_card_links", &mut errors)
            .set()
            .unwrap_or(false);
        errors.into_result()?;

        let id = db::customers::insert(tx, store_id, &fields)?;
        save_external_references(tx, store_id, id, &input.external_references)?;
        let mut customer_card_id = None;
        if let Some(card) = &card {
            let cc = db::customer_cards::enrol(tx, store_id, id, card, Some(access.token_id))?;
            if send_links {
                db::deliveries::queue(
                    tx,
                    store_id,
                    id,
                    cc,
                    fields.email.as_deref(),
                    fields.phone.as_deref(),
                )?;
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
    state.outbox.wake();
    response
}

pub async fn update(
    state: web::Data<AppState>,
    bearer: Bearer,
    path: web::Path<(String, String)>,
    body: Body,
) -> Result<HttpResponse, ApiError> {
    let (account, id) = path.into_inner();
    let base = state.public_url.clone();
    let country = state.settings.default_country;
    super::write(&state, bearer, body, move |tx, access, params| {
        let store_id = access.store(&account)?;
        let id = id_or_404(&id, "Customer")?;
        let current = db::customers::find_fields(tx, store_id, id)?
            .ok_or_else(|| ApiError::not_found("Customer"))?;
        let mut errors = FieldErrors::new();
        let attrs = attributes(params, "customer")?;
        let input = Input::parse(attrs, country, &mut errors);
        let mut fields = current.clone();
        input.merge_into(&mut fields, &mut errors);
        check_required(&fields, &mut errors);
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

/// One external reference as given by the client.
struct ReferenceInput {
    source: String,
    external_id: String,
    metadata: Option<Value>,
}

/// The customer attributes of a request, parsed and validated one by one.
struct Input {
    first_name: Field<String>,
    last_name: Field<String>,
    email: Field<String>,
    phone: Field<String>,
    birthday: Field<String>,
    metadata: Field<Map<String, Value>>,
    external_references: Vec<ReferenceInput>,
}

impl Input {
    fn parse(
        attrs: &Map<String, Value>,
        country: phonenumber::country::Id,
        errors: &mut FieldErrors,
    ) -> Input {
        let first_name = bounded_text(attrs, "first_name", limits::NAME, errors);
        let last_name = bounded_text(attrs, "last_name", limits::NAME, errors);
        let email = match text(attrs, "email", errors) {
            Field::Set(s) => match Email::parse(&s) {
                Ok(e) => Field::Set(e.as_str().to_string()),
                Err(m) => {
                    errors.add("email", m);
                    Field::Absent
                }
            },
            f => f,
        };
        let phone = match text(attrs, "phone", errors) {
            Field::Set(s) => match Phone::parse(&s, country) {
                Ok(p) => Field::Set(p.as_str().to_string()),
                Err(m) => {
                    errors.add("phone", m);
                    Field::Absent
                }
            },
            f => f,
        };
        let birthday = match text(attrs, "birthday", errors) {
            Field::Set(s) => match Birthday::parse(&s, time_fmt::today()) {
                Ok(b) => Field::Set(b.to_iso()),
                Err(m) => {
                    errors.add("birthday", m);
                    Field::Absent
                }
            },
            f => f,
        };
        let metadata = match attrs.get("metadata") {
            None => Field::Absent,
            Some(Value::Null) => Field::Null,
            Some(Value::Object(m)) => {
                if Value::Object(m.clone()).to_string().len() > limits::METADATA_BYTES {
                    errors.add(
                        "metadata",
                        format!(
                            "is too large (maximum is {} bytes of JSON)",
                            limits::METADATA_BYTES
                        ),
                    );
                    Field::Absent
                } else {
                    Field::Set(m.clone())
                }
            }
            Some(_) => {
                errors.add("metadata", "must be a JSON object");
                Field::Absent
            }
        };
        let external_references = parse_references(attrs, errors);
        Input {
            first_name,
            last_name,
            email,
            phone,
            birthday,
            metadata,
            external_references,
        }
    }

    /// Applies the input to stored (or, on create, empty) attributes. Metadata is
    /// merged shallowly: given keys replace stored ones, a `null` value removes a key.
    fn merge_into(&self, f: &mut CustomerFields, errors: &mut FieldErrors) {
        match &self.first_name {
            Field::Set(n) => f.first_name = n.clone(),
            Field::Null => errors.add("first_name", "can't be blank"),
            Field::Absent => {}
        }
        f.last_name = self.last_name.clone().merge_into(f.last_name.take());
        f.email = self.email.clone().merge_into(f.email.take());
        f.phone = self.phone.clone().merge_into(f.phone.take());
        f.birthday = self.birthday.clone().merge_into(f.birthday.take());
        match &self.metadata {
            Field::Set(m) => {
                for (k, v) in m {
                    if v.is_null() {
                        f.metadata.remove(k);
                    } else {
                        f.metadata.insert(k.clone(), v.clone());
                    }
                }
            }
            Field::Null => f.metadata.clear(),
            Field::Absent => {}
        }
    }
}

fn parse_references(attrs: &Map<String, Value>, errors: &mut FieldErrors) -> Vec<ReferenceInput> {
    const KEY: &str = "external_references";
    let list = match attrs.get(KEY) {
        None | Some(Value::Null) => return Vec::new(),
        Some(Value::Array(a)) => a.clone(),
        // A form body sends `external_references[0][source]=...` as an object keyed by index.
        Some(Value::Object(m)) if m.keys().all(|k| k.parse::<usize>().is_ok()) => {
            let mut entries: Vec<(usize, Value)> = m
                .iter()
                .map(|(k, v)| (k.parse().unwrap_or(0), v.clone()))
                .collect();
            entries.sort_by_key(|e| e.0);
            entries.into_iter().map(|e| e.1).collect()
        }
        Some(_) => {
            errors.add(KEY, "must be an array of {source, external_id, metadata}");
            return Vec::new();
        }
    };
    if list.len() > limits::EXTERNAL_REFERENCES {
        errors.add(
            KEY,
            format!(
                "is too long (maximum is {} entries)",
                limits::EXTERNAL_REFERENCES
            ),
        );
        return Vec::new();
    }
    let mut out = Vec::new();
    for item in list {
        let Value::Object(obj) = item else {
            errors.add(KEY, "must be an array of {source, external_id, metadata}");
            continue;
        };
        let mut e = FieldErrors::new();
        let source = bounded_text(&obj, "source", limits::EXTERNAL_SOURCE, &mut e);
        let external_id = bounded_text(&obj, "external_id", limits::EXTERNAL_ID, &mut e);
        let metadata = match obj.get("metadata") {
            None | Some(Value::Null) => None,
            Some(Value::Object(m))
                if Value::Object(m.clone()).to_string().len() <= limits::METADATA_BYTES =>
            {
                Some(Value::Object(m.clone()))
            }
            Some(Value::Object(_)) => {
                e.add(
                    "metadata",
                    format!(
                        "is too large (maximum is {} bytes of JSON)",
                        limits::METADATA_BYTES
                    ),
                );
                None
            }
            Some(_) => {
                e.add("metadata", "must be a JSON object");
                None
            }
        };
        if !matches!(source, Field::Set(_)) && !e.has("source") {
            e.add("source", "can't be blank");
        }
        if !matches!(external_id, Field::Set(_)) && !e.has("external_id") {
            e.add("external_id", "can't be blank");
        }
        for (field, msgs) in e.0 {
            for m in msgs {
                errors.add(format!("{KEY}.{field}"), m);
            }
        }
        if let (Field::Set(source), Field::Set(external_id)) = (source, external_id) {
            out.push(ReferenceInput {
                source,
                external_id,
                metadata,
            });
        }
    }
    out
}

/// A customer needs a first name and a way to reach them.
fn check_required(f: &CustomerFields, errors: &mut FieldErrors) {
    if f.first_name.trim().is_empty() && !errors.has("first_name") {
        errors.add("first_name", "can't be blank");
    }
    if f.email.is_none() && f.phone.is_none() && !errors.has("email") && !errors.has("phone") {
        errors.add("email", "can't be blank when phone is blank");
        errors.add("phone", "can't be blank when email is blank");
    }
}

/// Email, phone and external references are unique within the store.
fn check_unique(
    conn: &rusqlite::Connection,
    store_id: i64,
    me: Option<i64>,
    f: &CustomerFields,
    refs: &[ReferenceInput],
    errors: &mut FieldErrors,
) -> Result<(), ApiError> {
    if let Some(email) = &f.email {
        if db::customers::email_owner(conn, store_id, email, me)?.is_some() {
            errors.add("email", "has already been taken");
        }
    }
    if let Some(phone) = &f.phone {
        if db::customers::phone_owner(conn, store_id, phone, me)?.is_some() {
            errors.add("phone", "has already been taken");
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

fn save_external_references(
    conn: &rusqlite::Connection,
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
pub async fn send_card_links(
    state: web::Data<AppState>,
    bearer: Bearer,
    path: web::Path<(String, String)>,
    body: Body,
) -> Result<HttpResponse, ApiError> {
    let (account, id) = path.into_inner();
    let response = super::write(&state, bearer, body, move |tx, access, params| {
        let store_id = access.store(&account)?;
        let id = id_or_404(&id, "Customer")?;
        let customer = db::customers::find_fields(tx, store_id, id)?
            .ok_or_else(|| ApiError::not_found("Customer"))?;
        let mut errors = FieldErrors::new();
        let only = integer(params, "customer_card_id", &mut errors).set();
        errors.into_result()?;
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
        let mut ids = Vec::new();
        for cc in cards {
            ids.extend(db::deliveries::queue(
                tx,
                store_id,
                id,
                cc,
                customer.email.as_deref(),
                customer.phone.as_deref(),
            )?);
        }
        Reply::created(&json!({ "deliveries": db::deliveries::find_many(tx, &ids)? }))
    })
    .await;
    state.outbox.wake();
    response
}

/// `DELETE /customers/:id` (beyond Leal): erases the customer's personal data on request
/// and keeps the anonymised ledger. 204; the customer is gone from the API afterwards.
pub async fn erase(
    state: web::Data<AppState>,
    bearer: Bearer,
    path: web::Path<(String, String)>,
    body: Body,
) -> Result<HttpResponse, ApiError> {
    let (account, id) = path.into_inner();
    super::write(&state, bearer, body, move |tx, access, _| {
        let store_id = access.store(&account)?;
        let id = id_or_404(&id, "Customer")?;
        if !db::customers::erase(tx, store_id, id)? {
            return Err(ApiError::not_found("Customer"));
        }
        Ok(Reply::no_content())
    })
    .await
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
    c.request_body(
        "CustomerCreate",
        true,
        wrapped("customer", attributes_schema(true), top),
    );
    c.request_body(
        "CustomerUpdate",
        false,
        wrapped("customer", attributes_schema(false), Map::new()),
    );
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

fn attributes_schema(creating: bool) -> Value {
    use super::openapi::schema::*;
    use serde_json::json;
    input(
        json!({
            "first_name": text(limits::NAME),
            "last_name": nullable(text(limits::NAME)),
            "email": nullable(json!({"type": "string", "format": "email", "maxLength": limits::EMAIL})),
            "phone": nullable(json!({"type": "string", "maxLength": limits::PHONE_INPUT,
                "description": "Any common notation; stored as E.164 using the server's default country."})),
            "birthday": nullable(json!({"type": "string", "format": "date",
                "description": "YYYY-MM-DD, a real date, not in the future, not before 1900."})),
            "metadata": nullable(json!({"type": "object", "additionalProperties": true,
                "description": "At most 16 KiB of JSON. On update merged shallowly; a key set to null is removed."})),
            "external_references": nullable(json!({
                "type": "array",
                "maxItems": limits::EXTERNAL_REFERENCES,
                "items": input(json!({
                    "source": text(limits::EXTERNAL_SOURCE),
                    "external_id": text(limits::EXTERNAL_ID),
                    "metadata": nullable(json!({"type": "object", "additionalProperties": true})),
                }), &["source", "external_id"]),
            })),
        }),
        if creating { &["first_name"] } else { &[] },
    )
}
