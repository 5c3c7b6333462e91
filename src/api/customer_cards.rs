//! A customer's cards (`/customers/:customer_id/customer_cards`): list and show.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};

use super::{id_or_404, json, AppState, Bearer};
use crate::db;
use crate::error::ApiError;

pub async fn list(
    state: web::Data<AppState>,
    bearer: Bearer,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (account, customer) = path.into_inner();
    let base = state.public_url.clone();
    let cards = super::read(&state, bearer, move |conn, access| {
        let store_id = access.store(conn, &account)?;
        let customer_id = id_or_404(&customer, "Customer")?;
        if !db::customers::exists(conn, store_id, customer_id)? {
            return Err(ApiError::not_found("Customer"));
        }
        let mut by_customer = db::customer_cards::for_customers(conn, &[customer_id], &base)?;
        Ok(by_customer.remove(&customer_id).unwrap_or_default())
    })
    .await?;
    Ok(json(StatusCode::OK, &cards))
}

pub async fn show(
    state: web::Data<AppState>,
    bearer: Bearer,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (account, customer, id) = path.into_inner();
    let base = state.public_url.clone();
    let card = super::read(&state, bearer, move |conn, access| {
        let store_id = access.store(conn, &account)?;
        let customer_id = id_or_404(&customer, "Customer")?;
        if !db::customers::exists(conn, store_id, customer_id)? {
            return Err(ApiError::not_found("Customer"));
        }
        let id = id_or_404(&id, "Customer card")?;
        db::customer_cards::find(conn, store_id, customer_id, id, &base)?
            .ok_or_else(|| ApiError::not_found("Customer card"))
    })
    .await?;
    Ok(json(StatusCode::OK, &card))
}
