//! Card-link deliveries (`/accounts/:account_id/deliveries`): the outbox, with status.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use super::{json, pagination_params, AppState, Bearer, Pagination};
use crate::db;
use crate::db::deliveries::Filter;
use crate::error::{ApiError, FieldErrors};
use crate::params::{parse_integer, query_map};

pub async fn list(
    state: web::Data<AppState>,
    bearer: Bearer,
    path: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let q = query_map(&req);
    let body = super::read(&state, bearer, move |conn, access| {
        let store_id = access.store(&path)?;
        let (page, items) = pagination_params(&q)?;
        let mut errors = FieldErrors::new();
        let status = q
            .get("status")
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty());
        if let Some(s) = &status {
            if !["pending", "sent", "failed"].contains(&s.as_str()) {
                errors.add(
                    "status",
                    "is not included in the list (pending, sent, failed)",
                );
            }
        }
        let customer_id = match q.get("customer_id") {
            None => None,
            Some(v) => parse_integer(&Value::String(v.clone())).unwrap_or_else(|m| {
                errors.add("customer_id", m);
                None
            }),
        };
        errors.into_result()?;
        let (deliveries, count) = db::deliveries::page(
            conn,
            store_id,
            &Filter {
                status,
                customer_id,
            },
            page,
            items,
        )?;
        Ok(json!({
            "deliveries": deliveries,
            "pagination": Pagination::new(count, items, page),
        }))
    })
    .await?;
    Ok(json(StatusCode::OK, &body))
}
