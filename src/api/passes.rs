//! Public wallet endpoints: `/passes/<uuid>.pkpass`, `/passes/<uuid>/google`, and the
//! Apple pass web service under `/passes/v1/`.

use actix_web::web;

pub fn configure(_cfg: &mut web::ServiceConfig) {}
