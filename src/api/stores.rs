//! Stores (`/accounts`): list, show, update.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};

use super::{json, AppState, Bearer, Reply};
use crate::db;
use crate::domain::limits;
use crate::error::{ApiError, FieldErrors};
use crate::params::{attributes, bounded_text, Body, Field};

pub async fn list(state: web::Data<AppState>, bearer: Bearer) -> Result<HttpResponse, ApiError> {
    let stores = super::read(&state, bearer, |conn, access| {
        Ok(db::stores::list_for_token(conn, access.token_id)?)
    })
    .await?;
    Ok(json(StatusCode::OK, &stores))
}

pub async fn show(
    state: web::Data<AppState>,
    bearer: Bearer,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let store = super::read(&state, bearer, move |conn, access| {
        let id = access.store(&path)?;
        db::stores::find(conn, id)?.ok_or_else(|| ApiError::not_found("Store"))
    })
    .await?;
    Ok(json(StatusCode::OK, &store))
}

pub async fn update(
    state: web::Data<AppState>,
    bearer: Bearer,
    path: web::Path<String>,
    body: Body,
) -> Result<HttpResponse, ApiError> {
    super::write(&state, bearer, body, move |tx, access, params| {
        let id = access.store(&path)?;
        let attrs = attributes(params, "account")?;
        let mut errors = FieldErrors::new();
        let name = bounded_text(attrs, "name", limits::STORE_NAME, &mut errors);
        let store_name = bounded_text(attrs, "store_name", limits::STORE_NAME, &mut errors);
        if matches!(name, Field::Null) {
            errors.add("name", "can't be blank");
        }
        errors.into_result()?;
        let current = db::stores::find(tx, id)?.ok_or_else(|| ApiError::not_found("Store"))?;
        let name = name.set().unwrap_or(current.name);
        let store_name = store_name.merge_into(current.store_name);
        db::stores::update(tx, id, &name, store_name.as_deref())?;
        Reply::ok(&db::stores::find(tx, id)?)
    })
    .await
}
