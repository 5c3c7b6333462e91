//! Per-token rate limits: a GCRA bucket per bearer token, `RateLimit-*` headers on every
//! response to a request that carries a token, and 429 with `Retry-After` past the limit.

use std::num::NonZeroU32;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{web, ResponseError};
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

use super::AppState;
use crate::error::ApiError;

type Limiter = RateLimiter<
    [u8; 32],
    DefaultKeyedStateStore<[u8; 32]>,
    DefaultClock,
    StateInformationMiddleware,
>;

/// The limiter of one server: `per_minute` requests a minute per token, in bursts of
/// up to the same number.
pub struct RateLimits {
    limiter: Limiter,
    per_minute: u32,
}

impl RateLimits {
    /// `None` when `per_minute` is 0 (limits off).
    pub fn new(per_minute: u32) -> Option<RateLimits> {
        let n = NonZeroU32::new(per_minute)?;
        Some(RateLimits {
            limiter: RateLimiter::keyed(Quota::per_minute(n))
                .with_middleware::<StateInformationMiddleware>(),
            per_minute,
        })
    }

    /// Forgets buckets that are full again, so memory stays bounded.
    pub fn forget_idle(&self) {
        self.limiter.retain_recent();
    }

    /// Seconds until a bucket with `remaining` requests left is full again.
    fn reset_secs(&self, remaining: u32) -> u64 {
        let used = u64::from(self.per_minute.saturating_sub(remaining));
        (used * 60).div_ceil(u64::from(self.per_minute))
    }
}

fn header(name: &'static str, value: u64) -> (HeaderName, HeaderValue) {
    (HeaderName::from_static(name), HeaderValue::from(value))
}

pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .filter(|s| s.rate_limits.is_some())
        .cloned();
    let key = state
        .as_ref()
        .and_then(|_| super::bearer_token(req.request()).map(crate::tokens::hash));
    let (Some(state), Some(key)) = (state, key) else {
        return Ok(next.call(req).await?.map_into_left_body());
    };
    let Some(limits) = state.rate_limits.as_ref() else {
        return Ok(next.call(req).await?.map_into_left_body());
    };
    let limit = u64::from(limits.per_minute);
    match limits.limiter.check_key(&key) {
        Ok(snapshot) => {
            let remaining = snapshot.remaining_burst_capacity();
            let mut res = next.call(req).await?;
            let h = res.headers_mut();
            for (k, v) in [
                header("ratelimit-limit", limit),
                header("ratelimit-remaining", u64::from(remaining)),
                header("ratelimit-reset", limits.reset_secs(remaining)),
            ] {
                h.insert(k, v);
            }
            Ok(res.map_into_left_body())
        }
        Err(not_until) => {
            let wait = not_until.wait_time_from(limits.limiter.clock().now());
            let retry_after = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            let mut res = ApiError::RateLimited { retry_after }.error_response();
            let h = res.headers_mut();
            for (k, v) in [
                header("ratelimit-limit", limit),
                header("ratelimit-remaining", 0),
                header("ratelimit-reset", retry_after.max(limits.reset_secs(0))),
            ] {
                h.insert(k, v);
            }
            Ok(req.into_response(res).map_into_right_body())
        }
    }
}
