//! Staff members (`/accounts/:account_id/staff`): owners manage them (name, PIN, role,
//! active flag, unlocking); on a paired device a member signs in with their PIN
//! (`POST /staff/:id/sessions`) and the counter page asks who is signed in
//! (`GET /counter`) and signs them out (`DELETE /counter/session`).
//!
//! PINs are hashed with argon2. Checking one costs tens of milliseconds, so it runs on a
//! reader before the write that records its outcome, never on the one writer thread:
//! a sign-in takes two hops where other writes take one.

use actix_web::http::StatusCode;
use actix_web::web::Path;
use actix_web::HttpRequest;
use argon2::password_hash::{rand_core::OsRng, PasswordHash, SaltString};
use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use rusqlite::Connection;
use serde_json::{json, Map, Value};

use super::crud::{self, Attributes, Done, Find, Parse, Query};
use super::endpoint::{endpoints, Components, Doc, Endpoint, Resource};
use super::{json, roles, Answer, Call, Reply};
use crate::db;
use crate::db::staff::{Role, Staff, StaffFields};
use crate::domain::limits;
use crate::error::{ApiError, FieldErrors};
use crate::params::{boolean, domain, name_text, Body, Field, Parsed};
use crate::time_fmt;

pub const RESOURCE: Resource = Resource::new("Staff", ENDPOINTS, components);

const ENDPOINTS: &[Endpoint] = endpoints!["/accounts/{account_id}";
    Get "/staff" => crud::list::<Staff>, Doc::new("listStaff", "The store's staff members, by name").describe("`locked_until` is set while a member is locked out by wrong PINs.").ok(200, "The staff members", "StaffList");
    Post "/staff" => crud::create::<Staff>, Doc::new("createStaff", "Add a staff member").describe("Needs `name` and `pin` (4 to 8 digits, as a string; kept only as an argon2 hash). `role` is `staff` (default) or `owner`.").body("StaffCreate").ok(201, "The new staff member", "StaffMember");
    Get "/staff/{id}" => crud::show::<Staff>, Doc::new("getStaff", "One staff member").ok(200, "The staff member", "StaffMember");
    Patch "/staff/{id}" => crud::update::<Staff>, Doc::new("updateStaff", "Change a staff member").describe("Partial. A new `pin` also lifts a lock-out; `active: false` signs the member out everywhere.").body("StaffUpdate").ok(200, "The staff member", "StaffMember"), Put "updateStaffPut" "Change a staff member (same as PATCH)";
    Post "/staff/{id}/unlock" => unlock, Doc::new("unlockStaff", "Lift a staff member's PIN lock-out").ok(200, "The staff member", "StaffMember");
    Post "/staff/{id}/sessions" => sign_in, Doc::new("signInStaff", "Sign a staff member in on this paired device with their PIN").describe("Only a paired device signs staff in (an API token: 403). A wrong PIN is 422 and counts against the member and the device: past 5 wrong PINs in a row for a member, or 10 on a device, further tries wait 30 seconds, doubling with each wrong PIN up to an hour (429 with `Retry-After`); the owner sees the lock-out in the staff list and the flags. Send the answer's `token` as `X-Staff-Session` beside the device's own token.").body("StaffSignIn").ok(201, "The session", "StaffSession").device();
    Get "/counter" => counter, Doc::new("getCounter", "Who is at the counter: the device, the member signed in, the staff picker").ok(200, "The counter's state", "Counter").device();
    Delete "/counter/session" => sign_out, Doc::new("signOutStaff", "End the staff session this request sends").empty(204, "Signed out (no body)").device();
];

impl crud::Plain for Staff {
    const WHAT: &'static str = "Staff member";
    const FIND: Find<Staff> = db::staff::find;
}

impl crud::List for Staff {
    fn list(conn: &Connection, store_id: i64, _: &Query, _: &str) -> Done<Vec<Staff>> {
        Ok(db::staff::list(conn, store_id)?)
    }
}

impl crud::Create for Staff {
    type New = StaffFields;
    const PARSE_NEW: Parse<StaffFields> = |body| {
        let Parsed { value, errors } = crud::read_attributes::<StaffInput>(body, true)?;
        errors.into_result()?;
        Ok(StaffFields {
            name: value.name.unwrap_or_default(),
            pin_hash: value.pin_hash.unwrap_or_default(),
            role: value.role.unwrap_or(Role::Staff),
            active: value.active.unwrap_or(true),
        })
    };

    fn insert(tx: &Connection, store_id: i64, fields: StaffFields) -> Done<i64> {
        Ok(db::staff::insert(tx, store_id, &fields)?)
    }
}

impl crud::Update for Staff {
    type Input = StaffInput;
    const FIND: Find<Staff> = db::staff::find;

    fn update(tx: &Connection, current: Staff, input: Parsed<StaffInput>) -> Done {
        let Parsed { value, errors } = input;
        errors.into_result()?;
        let v = value;
        Ok(db::staff::update(
            tx,
            current.id,
            v.name.as_deref(),
            v.pin_hash.as_deref(),
            v.role,
            v.active,
        )?)
    }
}

/// The attributes of a staff member a body sets; the PIN arrives hashed.
pub struct StaffInput {
    name: Option<String>,
    pin_hash: Option<String>,
    role: Option<Role>,
    active: Option<bool>,
}

/// A PIN as typed: 4 to 8 digits, as a string (a number would lose its leading zeros).
fn pin(obj: &Map<String, Value>, errors: &mut FieldErrors) -> Field<String> {
    let (min, max) = (limits::PIN_DIGITS.start(), limits::PIN_DIGITS.end());
    let pin = match obj.get("pin") {
        None => return Field::Absent,
        Some(Value::String(s)) => s.trim(),
        Some(_) => "",
    };
    if pin.is_empty() && obj.get("pin").is_some_and(|v| v.is_string()) {
        return Field::Null;
    }
    if (*min..=*max).contains(&pin.len()) && pin.bytes().all(|b| b.is_ascii_digit()) {
        Field::Set(pin.to_string())
    } else {
        errors.add("pin", format!("must be {min} to {max} digits"));
        Field::Absent
    }
}

impl Attributes for StaffInput {
    const ROOT: &'static str = "staff";

    fn parse(attrs: &Map<String, Value>, creating: bool, errors: &mut FieldErrors) -> StaffInput {
        let name = name_text(attrs, "name", limits::STAFF_NAME, errors)
            .not_blank("name", creating, errors);
        let pin_hash = pin(attrs, errors)
            .not_blank("pin", creating, errors)
            .map(|p| hash_pin(&p));
        let role = domain(attrs, "role", errors, |s| {
            Role::parse(s).ok_or_else(|| "is not included in the list (owner, staff)".to_string())
        })
        .not_blank("role", false, errors);
        let active = boolean(attrs, "active", errors).not_blank("active", false, errors);
        StaffInput {
            name,
            pin_hash,
            role,
            active,
        }
    }

    fn schema(creating: bool) -> Value {
        use super::openapi::schema::*;
        input(
            json!({
                "name": text(limits::STAFF_NAME),
                "pin": pin_schema(),
                "role": {"type": "string", "enum": Role::ALL, "default": "staff"},
                "active": {"type": "boolean", "default": true},
            }),
            if creating { &["name", "pin"] } else { &[] },
        )
    }
}

fn pin_schema() -> Value {
    let (min, max) = (limits::PIN_DIGITS.start(), limits::PIN_DIGITS.end());
    json!({"type": "string", "pattern": format!("^[0-9]{{{min},{max}}}$"),
        "description": format!("{min} to {max} digits, as a string.")})
}

/// The argon2 hash (PHC string, with its own random salt) of a PIN.
fn hash_pin(pin: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(pin.as_bytes(), &salt)
        .map(|h| h.to_string())
        // Hashing fails only on parameters out of argon2's range, which the defaults are not.
        .unwrap_or_default()
}

fn pin_matches(stored: &str, pin: &str) -> bool {
    PasswordHash::new(stored)
        .map(|h| {
            Argon2::default()
                .verify_password(pin.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// `POST /staff/:id/unlock`.
pub async fn unlock(call: Call, path: Path<(String, String)>, body: Body) -> Answer {
    let (account, id) = path.into_inner();
    call.write(body, super::no_input, move |tx, access, _| {
        let (store_id, id) = access.record(&account, &id, "Staff member")?;
        db::staff::find(tx, store_id, id)?.ok_or_else(|| ApiError::not_found("Staff member"))?;
        db::staff::unlock(tx, id)?;
        Reply::ok(&db::staff::find(tx, store_id, id)?)
    })
    .await
}

/// What a PIN check on a reader found, for the write that records it.
struct Verdict {
    store_id: i64,
    staff_id: i64,
    device_id: i64,
    right: bool,
}

/// `POST /staff/:id/sessions` with `{"pin": "1234"}`.
pub async fn sign_in(call: Call, path: Path<(String, String)>, body: Body) -> Answer {
    let (account, staff) = path.into_inner();
    let mut errors = FieldErrors::new();
    let typed = pin(&body.params, &mut errors).not_blank("pin", true, &mut errors);
    let typed = errors.into_result().map(|_| typed.unwrap_or_default());
    let verdict = call
        .read(move |conn, access| {
            let (store_id, staff_id) = access.record(&account, &staff, "Staff member")?;
            let device_id = access.credential.device_id().ok_or_else(|| {
                ApiError::Forbidden("Forbidden – staff sign in on a paired device".into())
            })?;
            let check = db::staff::pin_check(conn, store_id, staff_id, device_id)?
                .filter(|c| c.active)
                .ok_or_else(|| ApiError::not_found("Staff member"))?;
            if let Some(until) = &check.locked_until {
                return Err(locked(until));
            }
            let right = pin_matches(&check.pin_hash, &typed?);
            Ok(Verdict {
                store_id,
                staff_id,
                device_id,
                right,
            })
        })
        .await?;
    let hours = i64::from(call.state.settings.staff_session_hours);
    call.write(body, super::no_input, move |tx, access, _| {
        let Verdict {
            store_id,
            staff_id,
            device_id,
            right,
        } = verdict;
        // Wrong PINs typed at the same moment each count; a lock-out one of them
        // started holds for the others too.
        let check = db::staff::pin_check(tx, store_id, staff_id, device_id)?
            .ok_or_else(|| ApiError::not_found("Staff member"))?;
        if let Some(until) = &check.locked_until {
            return Err(locked(until));
        }
        if !right {
            let (staff_lock, device_lock) = db::staff::count_wrong_pin(tx, staff_id, device_id)?;
            let mut message = "is wrong".to_string();
            if let Some(secs) = staff_lock.or(device_lock) {
                message = format!("is wrong; further tries wait {secs} seconds");
            }
            if let Some(secs) = staff_lock {
                let mut who = access.who();
                who.staff_id = Some(staff_id);
                who.staff_name = Some(check.name.clone());
                let note = format!(
                    "{}: locked out for {secs} seconds after wrong PINs",
                    check.name
                );
                db::flags::add(
                    tx,
                    &db::flags::NewFlag {
                        store_id,
                        kind: db::flags::Kind::PinLockout,
                        limit_name: None,
                        message: &note,
                        customer_id: None,
                        customer_card_id: None,
                        stamps: None,
                        who: &who,
                    },
                )?;
            }
            // Answered, not failed: the count stays with the refusal.
            let wrong = ApiError::Unprocessable {
                message: "Wrong PIN".into(),
                errors: {
                    let mut e = FieldErrors::new();
                    e.add("pin", message);
                    e
                },
            };
            return Ok(Reply {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                body: wrong.body().to_string(),
            });
        }
        let token = crate::tokens::generate();
        let expires_at =
            db::staff::sign_in(tx, staff_id, device_id, &crate::tokens::hash(&token), hours)?;
        Reply::created(&json!({
            "token": token,
            "expires_at": expires_at,
            "staff": db::staff::find(tx, store_id, staff_id)?,
        }))
    })
    .await
}

fn locked(until: &str) -> ApiError {
    let retry_after = time_fmt::seconds_until(until).max(1);
    ApiError::TooSoon {
        message: format!("Too many wrong PINs – try again in {retry_after} seconds"),
        retry_after,
    }
}

/// `GET /counter`: what the counter page shows before and after a sign-in.
pub async fn counter(call: Call, path: Path<String>) -> Answer {
    let idle = call.state.settings.counter_idle_lock_secs;
    let body = call
        .read(move |conn, access| {
            let store_id = access.store(&path)?;
            let device = match access.credential.device_id() {
                Some(id) => db::devices::find(conn, store_id, id)?,
                None => None,
            };
            let staff = access
                .credential
                .staff()
                .map(|s| json!({"id": s.id, "name": s.name, "role": s.role}));
            Ok(json!({
                "device": device.map(|d| json!({"id": d.id, "name": d.name})),
                "staff": staff,
                "role": access.credential.role(),
                "idle_lock_seconds": idle,
                "staff_picker": db::staff::picker(conn, store_id)?
                    .into_iter()
                    .map(|s| json!({"id": s.id, "name": s.name, "role": s.role,
                        "locked_until": s.locked_until}))
                    .collect::<Vec<_>>(),
            }))
        })
        .await?;
    Ok(json(StatusCode::OK, &body))
}

/// `DELETE /counter/session`.
pub async fn sign_out(call: Call, path: Path<String>, body: Body, req: HttpRequest) -> Answer {
    let session = roles::session_of(&req);
    call.write(body, super::no_input, move |tx, access, _| {
        access.store(&path)?;
        if let Some(hash) = session {
            db::staff::sign_out(tx, &hash)?;
        }
        Ok(Reply::no_content())
    })
    .await
}

fn components(c: &mut Components) {
    use super::openapi::schema::*;
    let member = || {
        object(json!({
            "id": id(),
            "account_id": id(),
            "name": string(),
            "role": enum_of(Role::ALL),
            "active": boolean(),
            "failed_pins": count(),
            "locked_until": nullable(timestamp()),
            "created_at": timestamp(),
            "updated_at": timestamp(),
        }))
    };
    c.schema("StaffMember", member());
    c.schema("StaffList", array_of("StaffMember"));
    c.schema(
        "StaffSession",
        object(json!({
            "token": {"type": "string", "description": "Send it as `X-Staff-Session`."},
            "expires_at": timestamp(),
            "staff": schema_ref("StaffMember"),
        })),
    );
    c.schema(
        "Counter",
        object(json!({
            "device": nullable(object(json!({"id": id(), "name": string()}))),
            "staff": nullable(object(json!({"id": id(), "name": string(), "role": enum_of(Role::ALL)}))),
            "role": nullable(enum_of(Role::ALL)),
            "idle_lock_seconds": {"type": "integer", "minimum": 0, "description": "0: the page never locks by itself."},
            "staff_picker": {"type": "array", "items": object(json!({
                "id": id(), "name": string(), "role": enum_of(Role::ALL),
                "locked_until": nullable(timestamp()),
            }))},
        })),
    );
    c.create_and_update("Staff", StaffInput::ROOT, StaffInput::schema, Map::new());
    c.request_body(
        "StaffSignIn",
        true,
        input(json!({"pin": pin_schema()}), &["pin"]),
    );
}
