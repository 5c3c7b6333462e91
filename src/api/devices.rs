//! Paired devices (`/accounts/:account_id/devices`): an owner asks for a pairing code
//! (shown as text and as a QR code on their screen), the tablet trades it once for a
//! device token of its own (`POST /devices/pair`, no token needed), and owners list,
//! unlock and revoke devices.
//!
//! A pairing code is 8 characters of the card-code alphabet (about 37 bits), lives 10
//! minutes, works once and is kept only as its SHA-256; guesses count against the
//! client address's rate limit like every request without a valid token.

use actix_web::http::StatusCode;
use actix_web::web::{self, Path};
use rusqlite::Connection;
use serde_json::{json, Map, Value};

use super::crud::{self, Done, Find, Query};
use super::endpoint::{endpoints, Components, Doc, Endpoint, Resource};
use super::{json, Answer, AppState, Call, Reply};
use crate::db;
use crate::db::devices::Device;
use crate::domain::{limits, CardCode};
use crate::error::{ApiError, FieldErrors};
use crate::params::{name_text, Body};

pub const RESOURCE: Resource = Resource::new("Devices", ENDPOINTS, components);

/// How long a pairing code may be used.
const PAIRING_CODE_SECS: i64 = 600;

const ENDPOINTS: &[Endpoint] = endpoints!["";
    Get "/accounts/{account_id}/devices" => crud::list::<Device>, Doc::new("listDevices", "The store's paired devices, with their last use").describe("`last_used_at` is written every 30 seconds. A revoked device keeps its row with `revoked_at`.").ok(200, "The devices, by id", "DeviceList");
    Post "/accounts/{account_id}/devices/pairing_codes" => pairing_code, Doc::new("createPairingCode", "A code (and its QR code) for a tablet to pair with").describe("Valid for 10 minutes, once. The tablet sends it to `POST /api/v1/devices/pair`.").body("PairingCodeCreate").ok(201, "The pairing code", "PairingCode");
    Post "/devices/pair" => pair, Doc::new("pairDevice", "Pair this device with a code an owner shows (no token needed)").describe("A code that is unknown, used or expired: 422. The answer's `token` is the device's own: send it as the bearer token; it is shown once.").body("PairDevice").ok(201, "The device and its token", "PairedDevice");
    Get "/accounts/{account_id}/devices/{id}" => crud::show::<Device>, Doc::new("getDevice", "One paired device").ok(200, "The device", "Device");
    Delete "/accounts/{account_id}/devices/{id}" => crud::delete::<Device>, Doc::new("revokeDevice", "Revoke a paired device").describe("Its token is refused from the next request on and its staff are signed out.").empty(204, "Revoked (no body)");
    Post "/accounts/{account_id}/devices/{id}/unlock" => unlock, Doc::new("unlockDevice", "Lift a device's PIN lock-out").ok(200, "The device", "Device");
];

impl crud::Plain for Device {
    const WHAT: &'static str = "Device";
    const FIND: Find<Device> = db::devices::find;
}

impl crud::List for Device {
    fn list(conn: &Connection, store_id: i64, _: &Query, _: &str) -> Done<Vec<Device>> {
        Ok(db::devices::list(conn, store_id)?)
    }
}

impl crud::Delete for Device {
    const DELETE: crud::Remove = db::devices::revoke;
}

/// The form a code is looked up in: its characters as a person types them, any case,
/// with or without the dash.
fn code_hash(code: &str) -> Option<[u8; 32]> {
    CardCode::normalise(code).map(|c| crate::tokens::hash(&c))
}

/// `POST /accounts/:id/devices/pairing_codes` with `{"name": "Counter tablet"}`.
pub async fn pairing_code(call: Call, path: Path<String>, body: Body) -> Answer {
    let base = call.state.public_url.clone();
    let parse = |params: &Map<String, Value>| {
        let mut errors = FieldErrors::new();
        let name = name_text(params, "name", limits::DEVICE_NAME, &mut errors)
            .not_blank("name", false, &mut errors)
            .unwrap_or_else(|| "Counter tablet".to_string());
        errors.into_result()?;
        Ok(name)
    };
    call.write(body, parse, move |tx, access, name| {
        let store_id = access.store(&path)?;
        let name = name?;
        let code = CardCode::generate();
        let hash = code_hash(code.as_str()).ok_or_else(|| ApiError::internal("a fresh code"))?;
        let expires_at =
            db::devices::add_pairing_code(tx, store_id, &hash, &name, PAIRING_CODE_SECS)?;
        let shown = format!("{}-{}", &code.as_str()[..4], &code.as_str()[4..]);
        let pair_url = format!("{base}/#pair={shown}");
        let qr_svg = crate::codes::qr_svg(&pair_url, 240).map_err(ApiError::internal)?;
        Reply::created(&json!({
            "code": shown,
            "name": name,
            "expires_at": expires_at,
            "pair_url": pair_url,
            "qr_svg": qr_svg,
        }))
    })
    .await
}

/// `POST /devices/pair` with `{"code": "ABCD-EFGH"}`: no token, the code is the secret.
pub async fn pair(state: web::Data<AppState>, body: Body) -> Answer {
    let code = body
        .params
        .get("code")
        .and_then(Value::as_str)
        .and_then(code_hash);
    let token = crate::tokens::generate();
    let token_hash = crate::tokens::hash(&token);
    let db = state.db.clone();
    let device = web::block(move || {
        db.write(move |tx| match code {
            Some(code) => Ok(db::devices::pair(tx, &code, &token_hash)?),
            None => Ok(None),
        })
    })
    .await??;
    let Some(device) = device else {
        return Err(FieldErrors::single(
            "code",
            "is not a live pairing code (codes work once, for 10 minutes)",
        ));
    };
    Ok(json(
        StatusCode::CREATED,
        &json!({"token": token, "device": device}),
    ))
}

/// `POST /accounts/:id/devices/:id/unlock`.
pub async fn unlock(call: Call, path: Path<(String, String)>, body: Body) -> Answer {
    let (account, id) = path.into_inner();
    call.write(body, super::no_input, move |tx, access, _| {
        let (store_id, id) = access.record(&account, &id, "Device")?;
        db::devices::find(tx, store_id, id)?.ok_or_else(|| ApiError::not_found("Device"))?;
        db::devices::unlock(tx, id)?;
        Reply::ok(&db::devices::find(tx, store_id, id)?)
    })
    .await
}

fn components(c: &mut Components) {
    use super::openapi::schema::*;
    c.schema(
        "Device",
        object(json!({
            "id": id(),
            "account_id": id(),
            "name": string(),
            "last_used_at": nullable(timestamp()),
            "failed_pins": count(),
            "locked_until": nullable(timestamp()),
            "revoked_at": nullable(timestamp()),
            "created_at": timestamp(),
        })),
    );
    c.schema("DeviceList", array_of("Device"));
    c.schema(
        "PairingCode",
        object(json!({
            "code": {"type": "string", "description": "8 characters, shown as XXXX-XXXX; any case, the dash optional."},
            "name": string(),
            "expires_at": timestamp(),
            "pair_url": {"type": "string", "description": "The counter page with the code: what the QR code holds."},
            "qr_svg": {"type": "string", "description": "The QR code of `pair_url`, as SVG."},
        })),
    );
    c.schema(
        "PairedDevice",
        object(json!({
            "token": {"type": "string", "description": "The device's own bearer token, shown once."},
            "device": schema_ref("Device"),
        })),
    );
    c.request_body(
        "PairingCodeCreate",
        false,
        input(
            json!({"name": {"type": "string", "maxLength": limits::DEVICE_NAME,
                "default": "Counter tablet", "description": "What the device is called in the list."}}),
            &[],
        ),
    );
    c.request_body(
        "PairDevice",
        true,
        input(
            json!({"code": {"type": "string", "minLength": 1, "maxLength": 64}}),
            &["code"],
        ),
    );
}
