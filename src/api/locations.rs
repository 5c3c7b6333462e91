//! Locations (`/accounts/:account_id/locations`): a store's shops. stampd has no
//! geocoder: clients send `latitude`/`longitude` when they want the shop to appear on
//! the lock screen of customers' Apple passes. The attributes a request sets
//! (`LocationInput`), their rules and their schema live here too.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde_json::{Map, Value};

use super::endpoint::{Components, Doc, Endpoint, In, Resource, Verb::*};
use super::{id_or_404, json, AppState, Bearer, Reply};
use crate::db;
use crate::db::locations::LocationFields;
use crate::error::{ApiError, FieldErrors};
use crate::params::{attributes, bounded_text, name_text, number, Body, Field, Parsed};
use actix_web::web::route;

pub const RESOURCE: Resource = Resource {
    tag: "Locations",
    endpoints: ENDPOINTS,
    components,
};

const ENDPOINTS: &[Endpoint] = &[
    Endpoint {
        method: Get,
        path: "/accounts/{account_id}/locations",
        handler: || route().to(list),
        doc: Doc {
            id: "listLocations",
            summary: "The store's locations",
            ok: (200, "The locations, by id", Some("LocationList")),
            ..Doc::PLAIN
        },
    },
    Endpoint {
        method: Post,
        path: "/accounts/{account_id}/locations",
        handler: || route().to(create),
        doc: Doc {
            id: "createLocation",
            summary: "Create a location",
            description: "Needs `name` and `address`. `latitude` and `longitude` go together (shown on the lock screen of Apple passes).",
            body: In::Body("LocationCreate"),
            ok: (201, "The new location", Some("Location")),
            ..Doc::PLAIN
        },
    },
    Endpoint {
        method: Get,
        path: "/accounts/{account_id}/locations/{id}",
        handler: || route().to(show),
        doc: Doc {
            id: "getLocation",
            summary: "One location",
            ok: (200, "The location", Some("Location")),
            ..Doc::PLAIN
        },
    },
    Endpoint {
        method: Patch,
        path: "/accounts/{account_id}/locations/{id}",
        handler: || route().to(update),
        doc: Doc {
            id: "updateLocation",
            summary: "Change a location",
            description: "Partial: only the given keys change. `latitude: null` and `longitude: null` remove the position.",
            body: In::Body("LocationUpdate"),
            ok: (200, "The updated location", Some("Location")),
            ..Doc::PLAIN
        },
    },
    Endpoint {
        method: Put,
        path: "/accounts/{account_id}/locations/{id}",
        handler: || route().to(update),
        doc: Doc {
            id: "updateLocationPut",
            summary: "Change a location (same as PATCH)",
            description: "Partial, exactly like PATCH.",
            body: In::Body("LocationUpdate"),
            ok: (200, "The updated location", Some("Location")),
            ..Doc::PLAIN
        },
    },
    Endpoint {
        method: Delete,
        path: "/accounts/{account_id}/locations/{id}",
        handler: || route().to(delete),
        doc: Doc {
            id: "deleteLocation",
            summary: "Delete a location",
            ok: (204, "Deleted (no body)", None),
            ..Doc::PLAIN
        },
    },
];

pub const NAME_MAX: usize = 100;
pub const ADDRESS_MAX: usize = 255;

pub async fn list(
    state: web::Data<AppState>,
    bearer: Bearer,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let list = super::read(&state, bearer, move |conn, access| {
        let store_id = access.store(&path)?;
        Ok(db::locations::list(conn, store_id)?)
    })
    .await?;
    Ok(json(StatusCode::OK, &list))
}

pub async fn show(
    state: web::Data<AppState>,
    bearer: Bearer,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (account, id) = path.into_inner();
    let location = super::read(&state, bearer, move |conn, access| {
        let store_id = access.store(&account)?;
        let id = id_or_404(&id, "Location")?;
        db::locations::find(conn, store_id, id)?.ok_or_else(|| ApiError::not_found("Location"))
    })
    .await?;
    Ok(json(StatusCode::OK, &location))
}

pub async fn create(
    state: web::Data<AppState>,
    bearer: Bearer,
    path: web::Path<String>,
    body: Body,
) -> Result<HttpResponse, ApiError> {
    super::write(
        &state,
        bearer,
        body,
        LocationInput::parse_create,
        move |tx, access, input| {
            let store_id = access.store(&path)?;
            let fields = input?;
            let id = db::locations::insert(tx, store_id, &fields)?;
            Reply::created(&db::locations::find(tx, store_id, id)?)
        },
    )
    .await
}

pub async fn update(
    state: web::Data<AppState>,
    bearer: Bearer,
    path: web::Path<(String, String)>,
    body: Body,
) -> Result<HttpResponse, ApiError> {
    let (account, id) = path.into_inner();
    super::write(
        &state,
        bearer,
        body,
        LocationInput::parse_update,
        move |tx, access, input| {
            let store_id = access.store(&account)?;
            let id = id_or_404(&id, "Location")?;
            let current = db::locations::find(tx, store_id, id)?
                .ok_or_else(|| ApiError::not_found("Location"))?;
            let Parsed {
                value: input,
                mut errors,
            } = input?;
            let mut fields = LocationFields {
                name: current.name,
                address: current.address,
                latitude: current.latitude,
                longitude: current.longitude,
            };
            input.merge_into(&mut fields, &mut errors);
            errors.into_result()?;
            db::locations::update(tx, id, &fields)?;
            Reply::ok(&db::locations::find(tx, store_id, id)?)
        },
    )
    .await
}

pub async fn delete(
    state: web::Data<AppState>,
    bearer: Bearer,
    path: web::Path<(String, String)>,
    body: Body,
) -> Result<HttpResponse, ApiError> {
    let (account, id) = path.into_inner();
    super::write(
        &state,
        bearer,
        body,
        super::no_input,
        move |tx, access, _| {
            let store_id = access.store(&account)?;
            let id = id_or_404(&id, "Location")?;
            db::locations::find(tx, store_id, id)?
                .ok_or_else(|| ApiError::not_found("Location"))?;
            db::locations::delete(tx, id)?;
            Ok(Reply::no_content())
        },
    )
    .await
}

/// The location attributes of a request, each field checked on its own; a position
/// needs both coordinates, checked once they are applied.
pub struct LocationInput {
    pub name: Option<String>,
    pub address: Option<String>,
    pub latitude: Field<f64>,
    pub longitude: Field<f64>,
}

/// How far from zero each coordinate goes, in whole degrees.
const LATITUDE_LIMIT: i32 = 90;
const LONGITUDE_LIMIT: i32 = 180;

impl LocationInput {
    /// A new location: the attributes checked whole.
    pub fn parse_create(params: &Map<String, Value>) -> Result<LocationFields, ApiError> {
        let mut errors = FieldErrors::new();
        let input = LocationInput::parse(attributes(params, "location")?, true, &mut errors);
        let mut fields = LocationFields::default();
        input.merge_into(&mut fields, &mut errors);
        errors.into_result()?;
        Ok(fields)
    }

    /// The attributes of a `PATCH`, to be applied to the stored location.
    pub fn parse_update(params: &Map<String, Value>) -> Result<Parsed<LocationInput>, ApiError> {
        let mut errors = FieldErrors::new();
        let value = LocationInput::parse(attributes(params, "location")?, false, &mut errors);
        Ok(Parsed { value, errors })
    }

    fn parse(
        attrs: &Map<String, Value>,
        creating: bool,
        errors: &mut FieldErrors,
    ) -> LocationInput {
        let name = name_text(attrs, "name", NAME_MAX, errors).not_blank("name", creating, errors);
        let address = bounded_text(attrs, "address", ADDRESS_MAX, errors)
            .not_blank("address", creating, errors);
        let mut degrees = |key: &str, limit: i32| match number(attrs, key, errors) {
            Field::Set(v) if v < -f64::from(limit) => {
                errors.add(key, format!("must be greater than or equal to -{limit}"));
                Field::Absent
            }
            Field::Set(v) if v > f64::from(limit) => {
                errors.add(key, format!("must be less than or equal to {limit}"));
                Field::Absent
            }
            f => f,
        };
        let latitude = degrees("latitude", LATITUDE_LIMIT);
        let longitude = degrees("longitude", LONGITUDE_LIMIT);
        LocationInput {
            name,
            address,
            latitude,
            longitude,
        }
    }

    /// Applies the input to a location's fields (new or stored); `errors` holds the
    /// input's own, so a coordinate refused already is not judged again.
    pub fn merge_into(&self, f: &mut LocationFields, errors: &mut FieldErrors) {
        if let Some(name) = &self.name {
            f.name = name.clone();
        }
        if let Some(address) = &self.address {
            f.address = address.clone();
        }
        f.latitude = self.latitude.clone().merge_into(f.latitude);
        f.longitude = self.longitude.clone().merge_into(f.longitude);
        if !errors.has("latitude") && !errors.has("longitude") {
            match (f.latitude, f.longitude) {
                (Some(_), None) => errors.add("longitude", "can't be blank when latitude is set"),
                (None, Some(_)) => errors.add("latitude", "can't be blank when longitude is set"),
                _ => {}
            }
        }
    }

    /// The OpenAPI schema of the attributes, from the same limits `parse` checks.
    fn schema(creating: bool) -> Value {
        use super::openapi::schema::*;
        use serde_json::json;
        input(
            json!({
                "name": text(NAME_MAX),
                "address": text(ADDRESS_MAX),
                "latitude": nullable(json!({"type": "number",
                    "minimum": -LATITUDE_LIMIT, "maximum": LATITUDE_LIMIT,
                    "description": "Degrees; given together with longitude."})),
                "longitude": nullable(json!({"type": "number",
                    "minimum": -LONGITUDE_LIMIT, "maximum": LONGITUDE_LIMIT,
                    "description": "Degrees; given together with latitude."})),
            }),
            if creating { &["name", "address"] } else { &[] },
        )
    }
}

fn components(c: &mut Components) {
    use super::openapi::schema::*;
    use serde_json::json;
    c.schema(
        "Location",
        object(json!({
            "id": id(),
            "account_id": id(),
            "name": string(),
            "address": string(),
            "latitude": nullable(json!({"type": "number",
                "minimum": -LATITUDE_LIMIT, "maximum": LATITUDE_LIMIT})),
            "longitude": nullable(json!({"type": "number",
                "minimum": -LONGITUDE_LIMIT, "maximum": LONGITUDE_LIMIT})),
            "created_at": timestamp(),
            "updated_at": timestamp(),
        })),
    );
    c.schema("LocationList", array_of("Location"));
    c.request_body(
        "LocationCreate",
        true,
        wrapped("location", LocationInput::schema(true), Map::new()),
    );
    c.request_body(
        "LocationUpdate",
        false,
        wrapped("location", LocationInput::schema(false), Map::new()),
    );
}
