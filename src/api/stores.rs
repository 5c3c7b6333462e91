//! Stores (`/accounts`): list, show, update; the attributes a request sets
//! (`StoreInput`), their rules and their schema.

use actix_web::http::StatusCode;
use actix_web::web::Path;
use serde_json::{Map, Value};

use super::endpoint::{endpoints, Components, Doc, Endpoint, Resource};
use super::{json, Answer, Call, Reply};
use crate::db;
use crate::db::stores::StoreFields;
use crate::domain::{limits, links};
use crate::error::{ApiError, FieldErrors};
use crate::params::{attributes, name_text, Body, Field};

pub const RESOURCE: Resource = Resource::new("Stores", ENDPOINTS, components);

const ENDPOINTS: &[Endpoint] = endpoints!["/accounts";
    Get "" => list, Doc::new("listAccounts", "The stores this token may reach").ok(200, "The stores, by id", "StoreList").device();
    Get "/{account_id}" => show, Doc::new("getAccount", "One store").ok(200, "The store", "Store").device();
    Get "/{account_id}/card_links" => card_links, Doc::new("getCardLinkSetup", "How card links reach this store's customers").describe("Whether card links can go out by email (`smtp_host` set) and by SMS (`sms_base_url` set), the address links and QR codes start with, and whether customers' phones can open it: `phones_can_open` is false when that address is this machine only (loopback, 0.0.0.0), and `warning` says what to set when `public_url` is unset or unreachable.").ok(200, "The store's card link setup", "CardLinkSetup").staff();
    Patch "/{account_id}" => update, Doc::new("updateAccount", "Rename a store").describe("Partial: only the given keys change. `store_name: null` clears it.").body("AccountUpdate").ok(200, "The updated store", "Store"), Put "updateAccountPut" "Rename a store (same as PATCH)";
];

pub async fn list(call: Call) -> Answer {
    let stores = call
        .read(|conn, access| Ok(db::stores::list_for_token(conn, access.token_id)?))
        .await?;
    Ok(json(StatusCode::OK, &stores))
}

pub async fn show(call: Call, path: Path<String>) -> Answer {
    let store = call
        .read(move |conn, access| {
            let id = access.store(&path)?;
            db::stores::find(conn, id)?.ok_or_else(|| ApiError::not_found("Store"))
        })
        .await?;
    Ok(json(StatusCode::OK, &store))
}

/// `GET /accounts/:id/card_links`: what the counter needs to tell staff the truth about
/// sending card links and about the QR codes it shows.
pub async fn card_links(call: Call, path: Path<String>) -> Answer {
    call.read(move |_, access| access.store(&path).map(|_| ()))
        .await?;
    let state = &call.state;
    let base = &state.public_url;
    let warning = links::unreachable_by_phones(state.settings.public_url.as_deref(), base);
    // Set or not, an address of this machine alone is one no phone opens.
    let local = links::unreachable_by_phones(Some(base), base).is_some();
    Ok(json(
        StatusCode::OK,
        &serde_json::json!({
            "email": state.settings.smtp.is_some(),
            "sms": state.settings.sms.is_some(),
            "public_url": state.public_url,
            "phones_can_open": !local,
            "warning": warning,
        }),
    ))
}

pub async fn update(call: Call, path: Path<String>, body: Body) -> Answer {
    call.write(body, StoreInput::parse, move |tx, access, input| {
        let id = access.store(&path)?;
        let input = input?;
        let current = db::stores::find(tx, id)?.ok_or_else(|| ApiError::not_found("Store"))?;
        let fields = StoreFields {
            name: input.name.unwrap_or(current.name),
            store_name: input.store_name.merge_into(current.store_name),
        };
        db::stores::update(tx, id, &fields)?;
        Reply::ok(&db::stores::find(tx, id)?)
    })
    .await
}

/// The store attributes of a `PATCH`: what changes, every field checked.
pub struct StoreInput {
    /// The name, when given (it can't be cleared).
    pub name: Option<String>,
    pub store_name: Field<String>,
}

impl StoreInput {
    pub fn parse(params: &Map<String, Value>) -> Result<StoreInput, ApiError> {
        let attrs = attributes(params, "account")?;
        let mut errors = FieldErrors::new();
        let name = name_text(attrs, "name", limits::STORE_NAME, &mut errors).not_blank(
            "name",
            false,
            &mut errors,
        );
        let store_name = name_text(attrs, "store_name", limits::STORE_NAME, &mut errors);
        errors.into_result()?;
        Ok(StoreInput { name, store_name })
    }

    /// The OpenAPI schema of the attributes, from the same limits `parse` checks.
    fn schema() -> Value {
        use super::openapi::schema::*;
        use serde_json::json;
        input(
            json!({
                "name": text(limits::STORE_NAME),
                "store_name": nullable(text(limits::STORE_NAME)),
            }),
            &[],
        )
    }
}

fn components(c: &mut Components) {
    use super::openapi::schema::*;
    use serde_json::json;
    c.schema(
        "Store",
        object(json!({
            "id": id(),
            "name": string(),
            "store_name": nullable(string()),
            "display_store_name": string(),
            "personal": boolean(),
            "locations_count": count(),
            "cards_count": count(),
            "customers_count": count(),
            "posters_count": count(),
            "created_at": timestamp(),
            "updated_at": timestamp(),
        })),
    );
    c.schema("StoreList", array_of("Store"));
    c.schema(
        "CardLinkSetup",
        object(json!({
            "email": {"type": "boolean", "description": "Card links can be sent by email."},
            "sms": {"type": "boolean", "description": "Card links can be sent by SMS."},
            "public_url": {"type": "string", "description": "What card links and QR codes start with."},
            "phones_can_open": {"type": "boolean", "description": "False when that address is this machine only (loopback, 0.0.0.0)."},
            "warning": nullable(string()),
        })),
    );
    c.request_body(
        "AccountUpdate",
        false,
        wrapped("account", StoreInput::schema(), Map::new()),
    );
}
