//! Locations (`/accounts/:account_id/locations`): a store's shops. stampd has no
//! geocoder: clients send `latitude`/`longitude` when they want the shop to appear on
//! the lock screen of customers' Apple passes. The attributes a request sets
//! (`LocationInput`), their rules and their schema live here too.

use rusqlite::Connection;
use serde_json::{Map, Value};

use super::crud::{self, Attributes, Done, Find, Parse, Query};
use super::endpoint::{endpoints, Components, Doc, Endpoint, Resource};
use crate::db;
use crate::db::locations::{Location, LocationFields};
use crate::error::FieldErrors;
use crate::params::{bounded_text, name_text, number, Field, Parsed};

pub const RESOURCE: Resource = Resource::new("Locations", ENDPOINTS, components);

const ENDPOINTS: &[Endpoint] = endpoints!["/accounts/{account_id}/locations";
    Get "" => crud::list::<Location>, Doc::new("listLocations", "The store's locations").ok(200, "The locations, by id", "LocationList");
    Post "" => crud::create::<Location>, Doc::new("createLocation", "Create a location").describe("Needs `name` and `address`. `latitude` and `longitude` go together (shown on the lock screen of Apple passes).").body("LocationCreate").ok(201, "The new location", "Location");
    Get "/{id}" => crud::show::<Location>, Doc::new("getLocation", "One location").ok(200, "The location", "Location");
    Patch "/{id}" => crud::update::<Location>, Doc::new("updateLocation", "Change a location").describe("Partial: only the given keys change. `latitude: null` and `longitude: null` remove the position.").body("LocationUpdate").ok(200, "The updated location", "Location"), Put "updateLocationPut" "Change a location (same as PATCH)";
    Delete "/{id}" => crud::delete::<Location>, Doc::new("deleteLocation", "Delete a location").empty(204, "Deleted (no body)");
];

pub const NAME_MAX: usize = 100;
pub const ADDRESS_MAX: usize = 255;

impl crud::Plain for Location {
    const WHAT: &'static str = "Location";
    const FIND: Find<Location> = db::locations::find;
}

impl crud::List for Location {
    fn list(conn: &Connection, store_id: i64, _: &Query, _: &str) -> Done<Vec<Location>> {
        Ok(db::locations::list(conn, store_id)?)
    }
}

impl crud::Create for Location {
    type New = LocationFields;
    const PARSE_NEW: Parse<Self::New> = |body| {
        let (_, fields) =
            crud::read_new(body, LocationFields::default(), LocationInput::merge_into)?;
        Ok(fields)
    };

    fn insert(tx: &Connection, store_id: i64, fields: LocationFields) -> Done<i64> {
        Ok(db::locations::insert(tx, store_id, &fields)?)
    }
}

impl crud::Update for Location {
    type Input = LocationInput;
    const FIND: Find<Location> = db::locations::find;

    fn update(tx: &Connection, current: Location, input: Parsed<LocationInput>) -> Done {
        let Parsed { value, mut errors } = input;
        let mut fields = current.fields;
        value.merge_into(&mut fields, &mut errors);
        errors.into_result()?;
        Ok(db::locations::update(tx, current.id, &fields)?)
    }
}

impl crud::Delete for Location {
    const DELETE: crud::Remove = db::locations::delete;
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

impl crud::Attributes for LocationInput {
    const ROOT: &'static str = "location";

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

impl LocationInput {
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
    c.create_and_update(
        "Location",
        LocationInput::ROOT,
        LocationInput::schema,
        Map::new(),
    );
}
