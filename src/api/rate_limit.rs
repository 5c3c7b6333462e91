//! Rate limits in bounded memory. A request whose bearer token has authenticated before
//! counts against that token's bucket, and its answer carries `RateLimit-*` headers;
//! every other request — no token, or one never seen to authenticate (made up, revoked)
//! — counts against its client address's bucket. Past either limit: 429 with
//! `Retry-After`.
//!
//! Only a successful authentication (`Access::check`) gives a token a bucket, so a flood
//! of made-up tokens costs no memory per token; a failed one takes it away again. Both
//! tables have a hard cap on entries: a table that is full forgets its idle buckets, and
//! if that is not enough, arbitrary ones (which only ever hands their owners a full
//! bucket again). Buckets follow GCRA: one instant per key, no counters, no timers.

use std::net::IpAddr;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{web, ResponseError};

use super::AppState;
use crate::config::Settings;
use crate::edge::limit::{Buckets, Quota, Verdict};
use crate::error::ApiError;

/// The most tokens with a bucket: far more than a shop has, and only live tokens get in.
const MAX_TOKENS: usize = 10_000;
/// The most client addresses with a bucket (a few MB at most).
pub const MAX_ADDRESSES: usize = 65_536;

/// The limits of one server.
pub struct RateLimits {
    /// Tokens that authenticated, each with its bucket (unused while tokens are not
    /// limited: then membership only exempts them from their address's limit).
    tokens: Buckets<[u8; 32]>,
    token_quota: Option<Quota>,
    addresses: Buckets<IpAddr>,
    address_quota: Option<Quota>,
}

/// Which bucket a request counts against.
enum Route {
    /// A token that authenticated before: its own bucket.
    Token(Verdict),
    /// A token that authenticated before, with tokens not limited.
    Unlimited,
    /// Anything else: its address's bucket.
    Address,
}

impl RateLimits {
    /// `None` when both `rate_limit_per_minute` and `rate_limit_per_address_per_minute`
    /// are 0 (limits off).
    pub fn new(settings: &Settings) -> Option<RateLimits> {
        let token_quota = Quota::per_minute(settings.rate_limit_per_minute);
        let address_quota = Quota::per_minute(settings.rate_limit_per_address_per_minute);
        (token_quota.is_some() || address_quota.is_some()).then(|| RateLimits {
            tokens: Buckets::new(MAX_TOKENS),
            token_quota,
            addresses: Buckets::new(MAX_ADDRESSES),
            address_quota,
        })
    }

    /// Records what checking a token (by its hash) found: a live token gets a bucket
    /// of its own, any other loses the one it had (a token revoked meanwhile).
    pub fn authenticated(&self, token_hash: &[u8; 32], live: bool) {
        if live {
            self.tokens.insert(token_hash);
        } else {
            self.tokens.remove(token_hash);
        }
    }

    /// Forgets the idle buckets of addresses (tokens keep theirs: they are few, and
    /// only a live token has one).
    pub fn forget_idle(&self) {
        self.addresses.forget_idle();
    }

    /// How many addresses have a bucket now.
    pub fn addresses_tracked(&self) -> usize {
        self.addresses.len()
    }

    fn route(&self, token: Option<&[u8; 32]>) -> Route {
        let Some(token) = token else {
            return Route::Address;
        };
        match self.token_quota {
            Some(q) => match self.tokens.take_existing(token, q) {
                Some(v) => Route::Token(v),
                None => Route::Address,
            },
            None if self.tokens.contains(token) => Route::Unlimited,
            None => Route::Address,
        }
    }
}

fn header(name: &'static str, value: u64) -> (HeaderName, HeaderValue) {
    (HeaderName::from_static(name), HeaderValue::from(value))
}

fn refused<B>(
    req: ServiceRequest,
    quota: Quota,
    retry_after: u64,
) -> ServiceResponse<EitherBody<B>> {
    let mut res = ApiError::RateLimited { retry_after }.error_response();
    let h = res.headers_mut();
    for (k, v) in [
        header("ratelimit-limit", u64::from(quota.limit())),
        header("ratelimit-remaining", 0),
        header("ratelimit-reset", retry_after),
    ] {
        h.insert(k, v);
    }
    req.into_response(res).map_into_right_body()
}

fn add_headers<B>(res: &mut ServiceResponse<B>, quota: Quota, remaining: u32, reset: u64) {
    let h = res.headers_mut();
    for (k, v) in [
        header("ratelimit-limit", u64::from(quota.limit())),
        header("ratelimit-remaining", u64::from(remaining)),
        header("ratelimit-reset", reset),
    ] {
        h.insert(k, v);
    }
}

pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let Some(state) = req
        .app_data::<web::Data<AppState>>()
        .filter(|s| s.rate_limits.is_some())
        .cloned()
    else {
        return Ok(next.call(req).await?.map_into_left_body());
    };
    let limits = state.rate_limits.as_ref().expect("filtered above");
    let token = super::bearer_token(req.request()).map(crate::tokens::hash);
    match limits.route(token.as_ref()) {
        Route::Token(Verdict::Refused { retry_after }) => {
            let quota = limits.token_quota.expect("a token verdict has a quota");
            return Ok(refused(req, quota, retry_after));
        }
        Route::Token(Verdict::Allowed { remaining, reset }) => {
            let quota = limits.token_quota.expect("a token verdict has a quota");
            let mut res = next.call(req).await?;
            add_headers(&mut res, quota, remaining, reset);
            return Ok(res.map_into_left_body());
        }
        Route::Unlimited => return Ok(next.call(req).await?.map_into_left_body()),
        Route::Address => {}
    }
    let address = crate::edge::peer::request_key(req.request());
    if let (Some(quota), Some(address)) = (limits.address_quota, address) {
        if let Verdict::Refused { retry_after } = limits.addresses.take(&address, quota) {
            return Ok(refused(req, quota, retry_after));
        }
    }
    let mut res = next.call(req).await?;
    // A token that has just authenticated for the first time: this request opens its
    // bucket, and its answer carries the headers as every later one will.
    if let (Some(token), Some(quota)) = (token, limits.token_quota) {
        match limits.tokens.take_existing(&token, quota) {
            Some(Verdict::Allowed { remaining, reset }) => {
                add_headers(&mut res, quota, remaining, reset)
            }
            Some(Verdict::Refused { retry_after }) => add_headers(&mut res, quota, 0, retry_after),
            None => {}
        }
    }
    Ok(res.map_into_left_body())
}
