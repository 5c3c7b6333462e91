//! Public wallet endpoints: `/passes/<uuid>.pkpass`, `/passes/<uuid>/google`, the strip
//! image Google Wallet fetches (`/passes/<uuid>/strip.png`), and the Apple pass web
//! service under `/passes/v1/`.
//!
//! Pass links need no API token: the card's uuid is the link. The pass web service
//! checks the pass's own secret, sent by Wallet as `Authorization: ApplePass <token>`.
//! When a wallet is not configured, its link redirects to the web card page; the link
//! of a card with no web card page answers 404.

use std::time::{Duration, SystemTime};

use actix_web::http::header::{self, HttpDate};
use actix_web::http::Method;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use serde_json::{json, Value};
use time::OffsetDateTime;

use super::{Answer, AppState};
use crate::db;
use crate::db::customer_cards::CardView;
use crate::domain::links::CardLinks;
use crate::edge::limit::PerAddressLimit;
use crate::edge::peer;
use crate::error::ApiError;
use crate::params::RawBody;
use crate::wallet::apple::{self, PassSigner};
use crate::wallet::google::GoogleIssuer;
use crate::wallet::strip;
use crate::wallet::Wallets;

pub fn configure(cfg: &mut web::ServiceConfig) {
    use Method as M;
    cfg.service(
        super::resource("/passes/{uuid}.pkpass", &[M::GET]).route(web::get().to(apple_pass)),
    )
    .service(super::resource("/passes/{uuid}/google", &[M::GET]).route(web::get().to(google_pass)))
    .service(
        super::resource("/passes/{uuid}/strip.png", &[M::GET]).route(web::get().to(strip_image)),
    )
    .service(
        super::resource("/passes/assets/program-logo.png", &[M::GET])
            .route(web::get().to(program_logo)),
    )
    .service(
        super::resource(
            "/passes/v1/devices/{device}/registrations/{pass_type}/{serial}",
            &[M::POST, M::DELETE],
        )
        .route(web::post().to(register))
        .route(web::delete().to(unregister)),
    )
    .service(
        super::resource(
            "/passes/v1/devices/{device}/registrations/{pass_type}",
            &[M::GET],
        )
        .route(web::get().to(updated_passes)),
    )
    .service(
        super::resource("/passes/v1/passes/{pass_type}/{serial}", &[M::GET])
            .route(web::get().to(latest_pass)),
    )
    .service(super::resource("/passes/v1/log", &[M::POST]).route(web::post().to(log_messages)));
}

const PROGRAM_LOGO: &[u8] = include_bytes!("../wallet/assets/program-logo.png");

const PASS_UNAUTHORIZED: &str = "Unauthorized – invalid or missing pass authentication token";

fn card_not_found() -> ApiError {
    ApiError::not_found("Card")
}

fn pass_not_found() -> ApiError {
    ApiError::not_found("Pass")
}

/// A uuid from a path, in the form cards store it; `None` when it is not a uuid.
fn parse_uuid(s: &str) -> Option<String> {
    uuid::Uuid::try_parse(s)
        .ok()
        .map(|u| u.hyphenated().to_string())
}

fn redirect(location: String) -> HttpResponse {
    HttpResponse::Found()
        .insert_header((header::LOCATION, location))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

/// `GET /passes/{uuid}.pkpass`: the signed pass, or the web card page when Apple
/// Wallet is not configured.
async fn apple_pass(state: web::Data<AppState>, path: web::Path<String>) -> Answer {
    let pkpass = |signer: &PassSigner, view: &CardView, base: &str| {
        signer.pkpass(view, base).map_err(ApiError::internal)
    };
    let pass = match from_wallet(&state, &path, |w| w.apple.as_ref(), pkpass).await? {
        Made::Pass(pass) => pass,
        Made::WebCard(web_card) => return Ok(redirect(web_card)),
    };
    Ok(HttpResponse::Ok()
        .content_type(apple::CONTENT_TYPE)
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(pass))
}

/// `GET /passes/{uuid}/google`: the "Save to Google Wallet" link, or the web card page
/// when Google Wallet is not configured.
async fn google_pass(state: web::Data<AppState>, path: web::Path<String>) -> Answer {
    let link = |issuer: &GoogleIssuer, view: &CardView, base: &str| Ok(issuer.save_url(view, base));
    Ok(
        match from_wallet(&state, &path, |w| w.google.as_ref(), link).await? {
            Made::Pass(url) => redirect(url),
            Made::WebCard(web_card) => redirect(web_card),
        },
    )
}

/// `GET /passes/{uuid}/strip.png`: the card's strip as Google Wallet's hero image; 404
/// for a card that draws no strip (see `CardDesign::drawn_strip`).
async fn strip_image(state: web::Data<AppState>, path: web::Path<String>) -> Answer {
    let uuid = parse_uuid(&path).ok_or_else(card_not_found)?;
    let st = state.clone();
    let png = web::block(move || {
        let view = st
            .db
            .read(|conn| Ok(db::customer_cards::view_by_uuid(conn, &uuid)?))?
            .ok_or_else(card_not_found)?;
        let colour = view
            .card
            .design
            .drawn_strip()
            .ok_or_else(|| ApiError::not_found("Strip"))?;
        strip::png(&colour, strip::GOOGLE_HERO).map_err(ApiError::internal)
    })
    .await??;
    // The colour changes with the card's design: Google may keep it a little, not long.
    Ok(HttpResponse::Ok()
        .content_type("image/png")
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .body(png))
}

/// What a wallet made of a card.
enum Made<T> {
    Pass(T),
    /// The wallet is not configured: the address of the card's web page instead.
    WebCard(String),
}

/// The card of a pass path (404 when there is none), made into a pass by `make` with the
/// wallet `wallet` picks, on a blocking thread (signing takes time).
async fn from_wallet<W, T>(
    state: &web::Data<AppState>,
    path: &str,
    wallet: fn(&Wallets) -> Option<&W>,
    make: fn(&W, &CardView, &str) -> Result<T, ApiError>,
) -> Result<Made<T>, ApiError>
where
    W: 'static,
    T: Send + 'static,
{
    let uuid = parse_uuid(path).ok_or_else(card_not_found)?;
    let st = state.clone();
    web::block(move || {
        // A link of a card with no web card page (an unknown uuid, an erased customer's
        // card) is 404, wallet or not: it never leads on to a page that does not exist.
        let view = st
            .db
            .read(|conn| Ok(db::customer_cards::view_by_uuid(conn, &uuid)?))?
            .ok_or_else(card_not_found)?;
        match wallet(&st.wallets) {
            Some(wallet) => make(wallet, &view, &st.public_url).map(Made::Pass),
            None => Ok(Made::WebCard(
                CardLinks::new(&st.public_url, &view.uuid).web_card(),
            )),
        }
    })
    .await?
}

/// The program logo Google Wallet shows on loyalty classes (fetched by Google).
async fn program_logo() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("image/png")
        .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
        .body(PROGRAM_LOGO)
}

// ---------------------------------------------------------------------------------
// The Apple pass web service
// ---------------------------------------------------------------------------------

/// Answers `ApiError::Unauthorized` with the pass web service's own message.
fn service_reply(result: Result<HttpResponse, ApiError>) -> Result<HttpResponse, ApiError> {
    match result {
        Err(ApiError::Unauthorized) => {
            Ok(HttpResponse::Unauthorized().json(json!({ "error": PASS_UNAUTHORIZED })))
        }
        other => other,
    }
}

/// The serial number of a request for a pass of this server's pass type; 404 for
/// another pass type, a serial that is not a uuid, or when Apple Wallet is off.
fn our_serial(state: &AppState, pass_type: &str, serial: &str) -> Result<String, ApiError> {
    check_pass_type(state, pass_type)?;
    parse_uuid(serial).ok_or_else(pass_not_found)
}

/// 404 unless Apple Wallet is on and the pass type is this server's.
fn check_pass_type(state: &AppState, pass_type: &str) -> Result<(), ApiError> {
    match &state.wallets.apple {
        Some(s) if s.pass_type_id() == pass_type => Ok(()),
        _ => Err(pass_not_found()),
    }
}

/// The token of `Authorization: ApplePass <token>`.
fn apple_pass_token(req: &HttpRequest) -> Result<String, ApiError> {
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .ok_or(ApiError::Unauthorized)?;
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("ApplePass")
                && !token.trim().is_empty()
                && token.len() <= 256 =>
        {
            Ok(token.trim().to_string())
        }
        _ => Err(ApiError::Unauthorized),
    }
}

/// Compares secrets in time that does not depend on where they differ.
fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}

/// The pass with this serial, when the token is its authentication token.
fn authorize(
    conn: &rusqlite::Connection,
    serial: &str,
    token: &str,
) -> Result<db::passes::PassAuth, ApiError> {
    let auth = db::passes::auth_by_serial(conn, serial)?.ok_or_else(pass_not_found)?;
    if same_secret(&auth.auth_token, token) {
        Ok(auth)
    } else {
        Err(ApiError::Unauthorized)
    }
}

/// A device library identifier: Wallet sends a short opaque string.
fn device_id(s: &str) -> Result<String, ApiError> {
    if s.is_empty() || s.len() > 128 || !s.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ApiError::BadRequest(
            "deviceLibraryIdentifier must be 1 to 128 printable ASCII characters".into(),
        ));
    }
    Ok(s.to_string())
}

/// The `pushToken` of a registration body.
fn push_token(body: &[u8]) -> Result<String, ApiError> {
    let bad = || {
        ApiError::BadRequest(
            "the body must be JSON like {\"pushToken\": \"...\"} with a push token of at most 256 characters".into(),
        )
    };
    let json: Value = serde_json::from_slice(body).map_err(|_| bad())?;
    match json.get("pushToken").and_then(Value::as_str).map(str::trim) {
        Some(t) if !t.is_empty() && t.len() <= 256 => Ok(t.to_string()),
        _ => Err(bad()),
    }
}

/// `POST /passes/v1/devices/{device}/registrations/{pass_type}/{serial}`: 201 when the
/// device is new for the pass, 200 when it was registered (its push token renewed).
async fn register(
    state: web::Data<AppState>,
    path: web::Path<(String, String, String)>,
    req: HttpRequest,
    body: RawBody,
) -> Result<HttpResponse, ApiError> {
    service_reply(
        async move {
            let (device, serial, token) = registration(&state, path.into_inner(), &req)?;
            let push_token = push_token(&body.0)?;
            let created = with_pass(&state, serial, token, move |tx, card| {
                db::passes::register(tx, &device, card, &push_token)
            })
            .await?;
            Ok(if created {
                HttpResponse::Created().finish()
            } else {
                HttpResponse::Ok().finish()
            })
        }
        .await,
    )
}

/// `DELETE /passes/v1/devices/{device}/registrations/{pass_type}/{serial}`: 200.
async fn unregister(
    state: web::Data<AppState>,
    path: web::Path<(String, String, String)>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    service_reply(
        async move {
            let (device, serial, token) = registration(&state, path.into_inner(), &req)?;
            with_pass(&state, serial, token, move |tx, card| {
                db::passes::unregister(tx, &device, card)
            })
            .await?;
            Ok(HttpResponse::Ok().finish())
        }
        .await,
    )
}

/// The device, serial and pass token of a registration, checked in this order: the
/// pass type and serial (404), the token's form (401), the device (400).
fn registration(
    state: &AppState,
    (device, pass_type, serial): (String, String, String),
    req: &HttpRequest,
) -> Result<(String, String, String), ApiError> {
    let serial = our_serial(state, &pass_type, &serial)?;
    let token = apple_pass_token(req)?;
    Ok((device_id(&device)?, serial, token))
}

/// Runs `f` on the card of the pass `serial` in one write, once `token` proves that the
/// caller holds the pass.
async fn with_pass<T, F>(
    state: &web::Data<AppState>,
    serial: String,
    token: String,
    f: F,
) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&rusqlite::Connection, i64) -> rusqlite::Result<T> + Send + 'static,
{
    let st = state.clone();
    web::block(move || {
        st.db.write(move |tx| {
            let auth = authorize(tx, &serial, &token)?;
            Ok(f(tx, auth.customer_card_id)?)
        })
    })
    .await?
}

/// `GET /passes/v1/devices/{device}/registrations/{pass_type}?passesUpdatedSince=<tag>`:
/// the serial numbers of the device's passes changed since the tag, or 204.
async fn updated_passes(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    query: web::Query<std::collections::HashMap<String, String>>,
) -> Result<HttpResponse, ApiError> {
    let (device, pass_type) = path.into_inner();
    check_pass_type(&state, &pass_type)?;
    let device = device_id(&device)?;
    // A tag this server did not hand out is ignored: the device gets every pass.
    let since = query
        .get("passesUpdatedSince")
        .and_then(|t| crate::time_fmt::parse_timestamp(t))
        .map(crate::time_fmt::format_timestamp);
    let st = state.clone();
    let updated = web::block(move || {
        st.db.read(|conn| {
            let now = OffsetDateTime::now_utc();
            Ok(db::passes::updated_since(
                conn,
                &device,
                since.as_deref(),
                now,
            )?)
        })
    })
    .await??;
    Ok(match updated {
        Some(u) => HttpResponse::Ok().json(json!({
            "serialNumbers": u.serial_numbers,
            "lastUpdated": u.last_updated,
        })),
        None => HttpResponse::NoContent().finish(),
    })
}

/// `GET /passes/v1/passes/{pass_type}/{serial}`: the pass as it is now, with
/// `Last-Modified`; 304 when it has not changed since `If-Modified-Since`.
async fn latest_pass(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    service_reply(
        async move {
            let (pass_type, serial) = path.into_inner();
            let serial = our_serial(&state, &pass_type, &serial)?;
            let token = apple_pass_token(&req)?;
            let if_modified_since = req
                .headers()
                .get(header::IF_MODIFIED_SINCE)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<HttpDate>().ok())
                .map(SystemTime::from);
            let st = state.clone();
            let fetched = web::block(move || {
                let (view, modified) = st.db.read(|conn| {
                    let auth = authorize(conn, &serial, &token)?;
                    // The time first: a change landing between the two reads then makes
                    // the copy newer than its validator, which costs a refetch, never a
                    // stale pass behind a 304.
                    let modified = db::passes::modified_at(conn, auth.customer_card_id)?
                        .ok_or_else(pass_not_found)?;
                    let view = db::customer_cards::view_by_uuid(conn, &serial)?
                        .ok_or_else(pass_not_found)?;
                    Ok((view, modified))
                })?;
                let modified = OffsetDateTime::parse(
                    &modified,
                    &time::format_description::well_known::Rfc3339,
                )
                .map_err(|e| {
                    ApiError::internal_in(format!("pass modified time {modified:?}"), e)
                })?;
                let now = OffsetDateTime::now_utc();
                let validator = last_modified_validator(modified, now);
                if if_modified_since.is_some_and(|since| not_modified_since(modified, now, since)) {
                    return Ok(Fetched::NotModified(validator));
                }
                let signer = st.wallets.apple.as_ref().ok_or_else(pass_not_found)?;
                let pass = signer
                    .pkpass(&view, &st.public_url)
                    .map_err(ApiError::internal)?;
                Ok::<_, ApiError>(Fetched::Pass(pass, validator))
            })
            .await??;
            Ok(match fetched {
                Fetched::NotModified(validator) => HttpResponse::NotModified()
                    .insert_header((header::LAST_MODIFIED, HttpDate::from(validator)))
                    .finish(),
                Fetched::Pass(pass, validator) => HttpResponse::Ok()
                    .content_type(apple::CONTENT_TYPE)
                    .insert_header((header::LAST_MODIFIED, HttpDate::from(validator)))
                    .insert_header((header::CACHE_CONTROL, "no-cache"))
                    .body(pass),
            })
        }
        .await,
    )
}

enum Fetched {
    NotModified(SystemTime),
    Pass(Vec<u8>, SystemTime),
}

/// The `Last-Modified` of a pass: its modified time in whole seconds, but never later
/// than [`db::passes::SETTLE`] ago, so that a change in the same second, or one about
/// to commit, always counts as newer than the copy handed out.
fn last_modified_validator(modified: OffsetDateTime, now: OffsetDateTime) -> SystemTime {
    whole_seconds(modified.min(now - db::passes::SETTLE))
}

/// True when the copy a device got with validator `since` is still the pass as it is:
/// the last change is settled and not later than the validator.
fn not_modified_since(modified: OffsetDateTime, now: OffsetDateTime, since: SystemTime) -> bool {
    modified <= now - db::passes::SETTLE && whole_seconds(modified) <= since
}

fn whole_seconds(t: OffsetDateTime) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(t.unix_timestamp().max(0) as u64)
}

/// Reports a minute `/passes/v1/log` takes from one address, and from all together.
const LOG_REPORTS_PER_ADDRESS: u32 = 10;
const LOG_REPORTS_IN_TOTAL: u32 = 60;
/// Addresses the limit of `/passes/v1/log` remembers at most.
const LOG_ADDRESSES: usize = 10_000;
/// Messages logged from one report, and characters kept of each.
const LOG_MESSAGES_PER_REPORT: usize = 10;
const LOG_MESSAGE_CHARS: usize = 500;

/// The limit of `/passes/v1/log`: anyone may post to it, and each message becomes a
/// line of the server's log.
pub fn log_limit() -> PerAddressLimit {
    PerAddressLimit::per_minute(LOG_REPORTS_PER_ADDRESS, LOG_REPORTS_IN_TOTAL, LOG_ADDRESSES)
        .expect("the limits are positive")
}

/// `POST /passes/v1/log`: messages Wallet reports about passes, written to the log at
/// INFO, one line each, quoted with control and invisible characters escaped, so a
/// message can neither forge log lines nor hide what it says. The rate limit comes
/// before the body is read.
async fn log_messages(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    state
        .pass_log_limit
        .check(peer::request_key(&req))
        .map_err(|retry_after| ApiError::RateLimited { retry_after })?;
    let RawBody(body) = RawBody::from_request(&req, &mut payload.into_inner()).await?;
    let logs = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|mut v| v.get_mut("logs").map(Value::take))
        .unwrap_or_default();
    let messages = logs.as_array().map(Vec::as_slice).unwrap_or_default();
    for message in messages
        .iter()
        .filter_map(Value::as_str)
        .take(LOG_MESSAGES_PER_REPORT)
    {
        log::info!("Apple Wallet reports: {:?}", shortened(message));
    }
    Ok(HttpResponse::Ok().finish())
}

/// At most [`LOG_MESSAGE_CHARS`] characters of a message, marked when cut.
fn shortened(message: &str) -> std::borrow::Cow<'_, str> {
    match message.char_indices().nth(LOG_MESSAGE_CHARS) {
        Some((cut, _)) => format!("{}...", &message[..cut]).into(),
        None => message.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validators_stay_behind_changes_that_may_still_commit() {
        let t =
            |ms: i64| OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000).unwrap();
        let at = |s: u64| SystemTime::UNIX_EPOCH + Duration::from_secs(s);
        let modified = t(1_700_000_000_400);
        // Long settled: the modified second itself, and 304 for a copy that new.
        let later = t(1_700_000_010_000);
        assert_eq!(last_modified_validator(modified, later), at(1_700_000_000));
        assert!(not_modified_since(modified, later, at(1_700_000_000)));
        assert!(!not_modified_since(modified, later, at(1_699_999_999)));
        // Just changed: a validator from before the change, and never a 304.
        let soon = t(1_700_000_000_900);
        assert_eq!(last_modified_validator(modified, soon), at(1_699_999_998));
        assert!(!not_modified_since(modified, soon, at(1_800_000_000)));
    }

    #[test]
    fn secrets_and_ids() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "abcd"));
        assert_eq!(
            parse_uuid("9B2F4A9E-3F0C-4D8E-9A51-2D1F8C0E7B6A").as_deref(),
            Some("9b2f4a9e-3f0c-4d8e-9a51-2d1f8c0e7b6a")
        );
        assert_eq!(parse_uuid("../etc"), None);
        assert!(device_id("a1b2c3").is_ok());
        assert!(device_id("has space").is_err());
        assert_eq!(push_token(br#"{"pushToken": " ff00 "}"#).unwrap(), "ff00");
        assert!(push_token(br#"{"pushToken": ""}"#).is_err());
        assert!(push_token(b"nope").is_err());
    }

    #[test]
    fn log_messages_are_cut_short() {
        assert_eq!(shortened("short"), "short");
        let long = "é".repeat(LOG_MESSAGE_CHARS + 1);
        let cut = shortened(&long);
        assert_eq!(cut.chars().count(), LOG_MESSAGE_CHARS + 3);
        assert!(cut.ends_with("..."));
    }
}
