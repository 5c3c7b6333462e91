//! The HTTP API: routes, authentication, and the one hop to a blocking thread that
//! every handler's database work goes through.

pub mod cards;
pub mod counter_page;
pub mod crud;
pub mod customer_cards;
pub mod customers;
pub mod deliveries;
pub mod devices;
pub mod docs;
pub mod endpoint;
pub mod flags;
pub mod insights;
pub mod locations;
pub mod openapi;
pub mod passes;
pub mod posters;
pub mod rate_limit;
pub mod read_gate;
pub mod rewards;
pub mod roles;
pub mod signup;
pub mod staff;
pub mod status;
pub mod stores;
pub mod transfers;
pub mod web_card;
pub mod webhook_subscriptions;

use std::collections::HashMap;
use std::future::{ready, Ready};
use std::sync::Mutex;

use actix_web::http::{header, Method, StatusCode};
use actix_web::ResponseError;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use rusqlite::Connection;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::config::Settings;
use crate::db::{self, Db};
use crate::error::{ApiError, FieldErrors};
use crate::params::Body;
use crate::time_fmt;

/// What every handler can reach.
pub struct AppState {
    pub db: Db,
    pub settings: Settings,
    /// Base URL of public links (wallet passes), without a trailing slash.
    pub public_url: String,
    pub token_usage: TokenUsage,
    /// `None` when rate limits are off.
    pub rate_limits: Option<rate_limit::RateLimits>,
    /// Per-address limits of the public signup form; `None` when off.
    pub signup_limits: Option<signup::SignupLimits>,
    /// Wakes the outbox's senders when rows are queued.
    pub outbox: crate::outbox::Outbox,
    /// Apple and Google Wallet signing identities (each `None` when not configured).
    pub wallets: crate::wallet::Wallets,
    /// True while the full database check of a big database runs after startup.
    pub db_check_running: std::sync::atomic::AtomicBool,
    /// One turn per reader connection. API reads queue here, first come first served,
    /// instead of in the pool (whose waiters are woken in no fixed order): under load
    /// no request waits much longer than the others. Searches never hold every reader.
    pub read_gate: read_gate::ReadGate,
    /// Per-address limit of the Apple pass web service's public log route.
    pub pass_log_limit: crate::edge::limit::PerAddressLimit,
    /// What `/metrics` reports (kept whether or not it is served).
    pub metrics: crate::metrics::Metrics,
}

/// When each token was last used, kept in memory and written to the database in the
/// background, so that read requests never need the writer.
#[derive(Default)]
pub struct TokenUsage(Mutex<HashMap<i64, String>>);

impl TokenUsage {
    pub fn touch(&self, token_id: i64) {
        let mut m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        m.insert(token_id, time_fmt::now());
    }

    pub fn take(&self) -> Vec<(i64, String)> {
        let mut m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        m.drain().collect()
    }

    /// Writes what was recorded. Blocking.
    pub fn flush(&self, db: &Db) -> Result<(), ApiError> {
        let used = self.take();
        if used.is_empty() {
            return Ok(());
        }
        db.write(move |tx| Ok(db::tokens::record_usage(tx, &used)?))
    }
}

/// The bearer token of a request, hashed. Extracting it fails with 401 when the
/// `Authorization` header is missing or malformed; whether the token is live is
/// checked in the handler's database work.
#[derive(Clone)]
pub struct Bearer([u8; 32]);

impl FromRequest for Bearer {
    type Error = ApiError;
    type Future = Ready<Result<Bearer, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        ready(bearer(req).ok_or(ApiError::Unauthorized))
    }
}

/// An authenticated handler's call: the server's state and the request's token, which
/// is checked in the call's one hop to the database (`read`, `write`). Extracting it
/// fails with 401 like `Bearer`.
pub struct Call {
    pub state: web::Data<AppState>,
    bearer: Bearer,
    /// A staff member's session on a paired device, hashed.
    session: Option<[u8; 32]>,
    /// What the route's operation needs of the request's role.
    need: endpoint::Need,
}

impl FromRequest for Call {
    type Error = ApiError;
    type Future = Ready<Result<Call, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let call = match req.app_data::<web::Data<AppState>>() {
            None => Err(ApiError::internal("the server state is not registered")),
            Some(state) => bearer(req)
                .ok_or(ApiError::Unauthorized)
                .map(|bearer| Call {
                    state: state.clone(),
                    bearer,
                    session: roles::session_of(req),
                    need: roles::need_of(req),
                }),
        };
        ready(call)
    }
}

impl Call {
    /// Authenticates and runs read-only work on a reader, in one blocking hop.
    pub async fn read<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection, &Access) -> Result<T, ApiError> + Send + 'static,
    {
        self.read_at_cost(read_gate::Cost::Cheap, f).await
    }

    /// `read` for work whose cost its answer does not bound (a search): it queues for
    /// the readers searches may hold, so that it never takes the last one, and runs on a
    /// search thread, which yields the CPU to other requests.
    pub async fn read_at_cost<T, F>(&self, cost: read_gate::Cost, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection, &Access) -> Result<T, ApiError> + Send + 'static,
    {
        let st = self.state.clone();
        let bearer = self.bearer.clone();
        let (session, need) = (self.session, self.need);
        let work = move || {
            st.db.read(|conn| {
                let access = Access::check(&st, conn, &bearer, session, need)?;
                st.token_usage.touch(access.token_id);
                f(conn, &access)
            })
        };
        self.state.read_gate.run(cost, work).await?
    }

    /// Authenticates and runs work in one IMMEDIATE write transaction, in one blocking hop.
    ///
    /// The body is parsed into the handler's typed input by `parse` first, on the request's
    /// own thread, so the one writer thread does only what needs the database. The parse
    /// result goes to `f` as it is: `f` answers the errors that come first (401, then the
    /// 404 of a store or record that is not there) before the input's own (`input?`).
    ///
    /// With an `Idempotency-Key`, the key's stored answer is looked up in the same
    /// transaction: a repeat gets the stored status and body without running again; a
    /// first request runs and its answer (a 4xx refusal too, except a 429) is stored before
    /// the commit, so an acknowledged request and its key are saved together or not at all.
    /// An answer that does not fit in the token's quota of stored replies
    /// (`idempotency_quota_kib`) undoes the request: 429 until older replies expire.
    pub async fn write<I, P, F>(&self, body: Body, parse: P, f: F) -> Answer
    where
        I: Send + 'static,
        P: FnOnce(&Map<String, Value>) -> Result<I, ApiError>,
        F: FnOnce(&Connection, &Access, Result<I, ApiError>) -> Result<Reply, ApiError>
            + Send
            + 'static,
    {
        let input = parse(&body.params);
        let Body {
            idempotency_key,
            fingerprint,
            ..
        } = body;
        let quota_kib = self.state.settings.idempotency_quota_kib;
        let state = self.state.clone();
        let bearer = self.bearer.clone();
        let (session, need) = (self.session, self.need);
        let outcome = web::block(move || {
            let db = state.db.clone();
            db.write(move |tx| {
                let access = Access::check(&state, tx, &bearer, session, need)?;
                state.token_usage.touch(access.token_id);
                let Some(key) = idempotency_key.as_deref() else {
                    return f(tx, &access, input).map(Outcome::Done);
                };
                if let Some(stored) = db::idempotency::find(tx, access.token_id, key)? {
                    if stored.fingerprint != fingerprint {
                        return Err(ApiError::Unprocessable {
                            message: "Idempotency-Key was already used with a different request; use a new key for a new request".into(),
                            errors: FieldErrors::new(),
                        });
                    }
                    let status = StatusCode::from_u16(stored.status).map_err(ApiError::internal)?;
                    return Ok(Outcome::Replayed(Reply {
                        status,
                        body: stored.body,
                    }));
                }
                db::idempotency::forget_expired(tx, access.token_id)?;
                db::exec(tx, "SAVEPOINT request")?;
                let (reply, refused) = match f(tx, &access, input) {
                    Ok(reply) => (reply, false),
                    // A 429 says "not now", not what the request comes to: a repeat with
                    // the same key later runs again instead of replaying it.
                    Err(e)
                        if e.status_code().is_client_error()
                            && e.status_code() != StatusCode::TOO_MANY_REQUESTS =>
                    {
                        db::exec(tx, "ROLLBACK TO request")?;
                        // What the refused request changed fires no webhook event.
                        db::webhooks::events::discard();
                        let body = e.body().to_string();
                        (Reply { status: e.status_code(), body }, true)
                    }
                    Err(e) => return Err(e),
                };
                db::idempotency::save(
                    tx,
                    access.token_id,
                    key,
                    &fingerprint,
                    reply.status.as_u16(),
                    &reply.body,
                )?;
                if db::idempotency::bytes_held(tx, access.token_id)? > quota_kib.saturating_mul(1024) {
                    db::exec(tx, "ROLLBACK TO request")?;
                    db::exec(tx, "RELEASE request")?;
                    let retry_after =
                        db::idempotency::seconds_until_oldest_expires(tx, access.token_id)?;
                    return Ok(Outcome::OverQuota { retry_after });
                }
                db::exec(tx, "RELEASE request")?;
                Ok(if refused {
                    Outcome::Refused(reply)
                } else {
                    Outcome::Done(reply)
                })
            })
        })
        .await??;
        let (reply, replayed) = match outcome {
            Outcome::Done(r) | Outcome::Refused(r) => (r, false),
            Outcome::Replayed(r) => (r, true),
            Outcome::OverQuota { retry_after } => {
                return Err(ApiError::TooSoon {
                    message: format!(
                        "Idempotency-Key: this token's stored replies fill its quota ({} KiB); \
                         nothing was done. Send it again once older replies expire (each is \
                         kept 24 hours), or without the key",
                        quota_kib
                    ),
                    retry_after,
                })
            }
        };
        let mut res = HttpResponse::build(reply.status);
        if replayed {
            res.insert_header(("Idempotent-Replayed", "true"));
        }
        Ok(if reply.status == StatusCode::NO_CONTENT {
            res.finish()
        } else {
            res.insert_header(header::ContentType::json())
                .body(reply.body)
        })
    }
}

/// What a handler answers.
pub type Answer = Result<HttpResponse, ApiError>;

fn bearer(req: &HttpRequest) -> Option<Bearer> {
    bearer_token(req).map(|t| Bearer(crate::tokens::hash(t)))
}

/// The token of an `Authorization: Bearer <token>` header.
pub fn bearer_token(req: &HttpRequest) -> Option<&str> {
    let value = req
        .headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .trim();
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() || token.len() > 256 {
        return None;
    }
    Some(token)
}

/// An authenticated token, inside a handler's database work.
pub struct Access {
    pub token_id: i64,
    /// The stores this token may reach.
    stores: Vec<i64>,
    /// An owner's API token, or a paired device and who is signed in on it.
    pub credential: roles::Credential,
    /// What the route's operation needs of the credential's role.
    need: endpoint::Need,
}

impl Access {
    /// The live token with this hash and its stores (one query), and for a paired
    /// device the staff member its session names. What it finds also tells the rate
    /// limits whether the token has a bucket of its own.
    fn check(
        state: &AppState,
        conn: &Connection,
        bearer: &Bearer,
        session: Option<[u8; 32]>,
        need: endpoint::Need,
    ) -> Result<Access, ApiError> {
        let found = db::tokens::authenticate(conn, &bearer.0)?;
        if let Some(limits) = &state.rate_limits {
            limits.authenticated(&bearer.0, found.is_some());
        }
        let (token_id, stores) = found.ok_or(ApiError::Unauthorized)?;
        let credential = db::staff::credential(conn, token_id, session.as_ref())?;
        Ok(Access {
            token_id,
            stores,
            credential,
            need,
        })
    }

    /// The store id in a path, when this token may reach it; 404 otherwise, whether
    /// the store does not exist or belongs to someone else. A store that is reachable
    /// answers 403 when the request's role may not call the operation: every handler
    /// asks for its store first, so this is where roles are enforced.
    pub fn store(&self, account_id: &str) -> Result<i64, ApiError> {
        let id = parse_id(account_id)
            .filter(|id| self.stores.contains(id))
            .ok_or_else(|| ApiError::not_found("Store"))?;
        self.credential.permit(self.need)?;
        Ok(id)
    }

    /// Who a ledger row written by this request names.
    pub fn who(&self) -> db::ledger::Who {
        let staff = self.credential.staff();
        db::ledger::Who {
            token_id: Some(self.token_id),
            staff_id: staff.map(|s| s.id),
            staff_name: staff.map(|s| s.name.clone()),
            device_id: self.credential.device_id(),
        }
    }

    /// The store and record ids of a `/accounts/{account_id}/<records>/{id}` path,
    /// checked in that order: 404 for the store, then 404 naming `what`.
    pub fn record(&self, account_id: &str, id: &str, what: &str) -> Result<(i64, i64), ApiError> {
        Ok((self.store(account_id)?, id_or_404(id, what)?))
    }
}

/// Path ids are positive integers; anything else is "not found".
pub fn parse_id(s: &str) -> Option<i64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<i64>().ok().filter(|n| *n > 0)
}

pub fn id_or_404(s: &str, what: &str) -> Result<i64, ApiError> {
    parse_id(s).ok_or_else(|| ApiError::not_found(what))
}

/// A write handler's answer: status and JSON body, serialised once (so that a request
/// with an `Idempotency-Key` can store it and replay it byte for byte).
pub struct Reply {
    pub status: StatusCode,
    /// The JSON text; empty for 204 No Content.
    pub body: String,
}

impl Reply {
    pub fn new<T: Serialize>(status: StatusCode, body: &T) -> Result<Reply, ApiError> {
        Ok(Reply {
            status,
            body: serde_json::to_string(body).map_err(ApiError::internal)?,
        })
    }

    pub fn no_content() -> Reply {
        Reply {
            status: StatusCode::NO_CONTENT,
            body: String::new(),
        }
    }

    pub fn ok<T: Serialize>(body: &T) -> Result<Reply, ApiError> {
        Self::new(StatusCode::OK, body)
    }

    pub fn created<T: Serialize>(body: &T) -> Result<Reply, ApiError> {
        Self::new(StatusCode::CREATED, body)
    }
}

/// What a write came to.
enum Outcome {
    /// Done now (and, with a key, stored).
    Done(Reply),
    /// A repeat of a keyed request: the stored answer.
    Replayed(Reply),
    /// A keyed request refused with a 4xx: the refusal is stored and answered.
    Refused(Reply),
    /// A keyed request whose answer did not fit in its token's quota of stored replies:
    /// undone, not stored, answered 429 (the token's expired replies stay forgotten).
    OverQuota { retry_after: u64 },
}

/// The `parse` of a write that reads nothing from its body.
pub fn no_input(_: &Map<String, Value>) -> Result<(), ApiError> {
    Ok(())
}

pub fn json<T: Serialize>(status: StatusCode, body: &T) -> HttpResponse {
    HttpResponse::build(status).json(body)
}

/// `page` and `items` of a paginated list: 422 for values that are not positive numbers.
pub fn pagination_params(q: &HashMap<String, String>) -> Result<(i64, i64), ApiError> {
    let mut errors = FieldErrors::new();
    let mut read = |key: &str, default: i64| -> i64 {
        match q.get(key).map(|s| s.trim()) {
            None | Some("") => default,
            Some(v) => match v.parse::<i64>() {
                Ok(n) if n >= 1 => n,
                Ok(_) => {
                    errors.add(key, "must be greater than 0");
                    default
                }
                Err(_) if v.bytes().all(|b| b.is_ascii_digit()) => i64::MAX,
                Err(_) => {
                    errors.add(key, "is not a number");
                    default
                }
            },
        }
    };
    let page = read("page", 1);
    let items = read("items", 25).min(100);
    errors.into_result()?;
    Ok((page, items))
}

#[derive(Debug, Serialize)]
pub struct Pagination {
    pub count: i64,
    pub items: i64,
    pub page: i64,
    pub pages: i64,
}

impl Pagination {
    pub fn new(count: i64, items: i64, page: i64) -> Pagination {
        Pagination {
            count,
            items,
            page,
            pages: ((count + items - 1) / items).max(1),
        }
    }
}

async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound("Not found".into()))
}

/// A resource whose wrong methods answer 405 with a JSON body.
fn resource(path: &str, methods: &[Method]) -> actix_web::Resource {
    let allow = methods
        .iter()
        .map(|m| m.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    web::resource(path).default_service(web::to(move || {
        let allow = allow.clone();
        async move { Err::<HttpResponse, _>(ApiError::MethodNotAllowed { allow }) }
    }))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    // The JSON API first: most requests are for it, and routes are tried in order.
    cfg.service(api_scope());
    passes::configure(cfg);
    cfg.service(web::resource("/c/{uuid}").route(web::get().to(web_card::show)));
    cfg.service(web::resource("/c/{uuid}/qr.svg").route(web::get().to(counter_page::web_card_qr)));
    counter_page::configure(cfg);
    docs::configure(cfg);
    cfg.service(web::resource("/posters/{token}").route(web::get().to(signup::printable)));
    cfg.service(
        web::resource("/s/{token}")
            .route(web::get().to(signup::form))
            .route(web::post().to(signup::submit)),
    );
    cfg.default_service(web::to(not_found));
}

/// Every resource of the JSON API under `/api/v1`, in the order the OpenAPI document
/// lists them. Each declares its routes with their documentation (`endpoint::Endpoint`);
/// the server and the document are both built from this list.
pub const RESOURCES: &[endpoint::Resource] = &[
    status::RESOURCE,
    stores::RESOURCE,
    cards::RESOURCE,
    rewards::RESOURCE,
    customers::RESOURCE,
    customer_cards::RESOURCE,
    deliveries::RESOURCE,
    insights::RESOURCE,
    locations::RESOURCE,
    posters::RESOURCE,
    staff::RESOURCE,
    devices::RESOURCE,
    flags::RESOURCE,
    webhook_subscriptions::RESOURCE,
    transfers::RESOURCE,
];

fn endpoints() -> impl Iterator<Item = &'static endpoint::Endpoint> {
    RESOURCES.iter().flat_map(|r| r.endpoints.iter())
}

/// `(path, method)` of every JSON API route, in the form OpenAPI writes them.
pub fn api_route_list() -> Vec<(String, Method)> {
    endpoints()
        .map(|e| (format!("/api/v1{}", e.path), e.method.method()))
        .collect()
}

/// The paths a busy counter asks for most, busiest first.
const HOT_PATHS: &[&str] = &[
    "/accounts/{account_id}/customers/{id}",
    "/accounts/{account_id}/customers/{customer_id}/customer_cards/{id}/stamp",
    "/accounts/{account_id}/customers",
    "/accounts/{account_id}/customers/{customer_id}/customer_cards/{id}/redeem",
    "/accounts/{account_id}/customers/{customer_id}/customer_cards/{id}",
    "/accounts/{account_id}/customers/{customer_id}/customer_cards",
];

/// The `/api/v1` scope: one resource per path, answering 405 (with `Allow`) to the
/// methods it does not have.
fn api_scope() -> actix_web::Scope {
    let mut paths: Vec<(&'static str, Vec<(Method, actix_web::Route)>)> = Vec::new();
    for e in endpoints() {
        let method = e.method.method();
        let route = (e.handler)().method(method.clone());
        match paths.iter_mut().find(|(p, _)| *p == e.path) {
            Some((_, routes)) => routes.push((method, route)),
            None => paths.push((e.path, vec![(method, route)])),
        }
    }
    // Resources are matched one by one, in order: the counter's busiest paths first.
    paths.sort_by_key(|(path, _)| {
        HOT_PATHS
            .iter()
            .position(|hot| hot == path)
            .unwrap_or(HOT_PATHS.len())
    });
    let mut scope = web::scope("/api/v1");
    for (path, routes) in paths {
        let methods: Vec<Method> = routes.iter().map(|(m, _)| m.clone()).collect();
        let mut res = resource(path, &methods);
        for (_, route) in routes {
            res = res.route(route);
        }
        scope = scope.service(res);
    }
    scope.default_service(web::to(not_found))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_hot_path_is_a_route() {
        let paths: Vec<&str> = endpoints().map(|e| e.path).collect();
        for hot in HOT_PATHS {
            assert!(paths.contains(hot), "{hot} is not a route");
        }
    }

    #[test]
    fn each_route_is_declared_once() {
        let mut seen = std::collections::HashSet::new();
        for e in endpoints() {
            assert!(
                seen.insert((e.path, e.method)),
                "{:?} {} is declared twice",
                e.method,
                e.path
            );
        }
    }

    #[test]
    fn operation_ids_are_unique_and_named() {
        let mut seen = std::collections::HashSet::new();
        for e in endpoints() {
            assert!(!e.doc.id.is_empty(), "{} has no operation id", e.path);
            assert!(!e.doc.summary.is_empty(), "{} has no summary", e.doc.id);
            assert!(!e.doc.ok.1.is_empty(), "{} has no success answer", e.doc.id);
            assert!(
                seen.insert(e.doc.id),
                "operation id {} is used twice",
                e.doc.id
            );
        }
    }
}
