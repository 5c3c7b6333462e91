//! The body of a subscription's create and update: top-level attributes (a
//! `webhook_subscription` root is accepted too), their rules and their schema.

use serde_json::{json, Map, Value};

use crate::db::webhooks::{SubscriptionFields, ALL, EVENTS, FORMATS};
use crate::error::{ApiError, FieldErrors};
use crate::params::{attributes, boolean, bounded_text, text, Field, Parsed};
use crate::webhooks::target;

pub const ROOT: &str = "webhook_subscription";
pub const DESCRIPTION_MAX: usize = 255;

/// What a request sets, each field checked on its own.
#[derive(Debug)]
pub struct SubscriptionInput {
    pub target_url: Option<String>,
    pub events: Option<Vec<String>>,
    pub payload_format: Option<String>,
    pub description: Field<String>,
    pub enabled: Option<bool>,
}

/// The target URL a body names, if any (checked against the resolver before the hop).
pub fn target_url(body: &Map<String, Value>) -> Option<String> {
    let attrs = attributes(body, ROOT).ok()?;
    attrs
        .get("target_url")?
        .as_str()
        .map(|s| s.trim().to_string())
}

/// Reads a body; `target_problem` is what the target guard found (resolved before).
pub fn parse(
    body: &Map<String, Value>,
    creating: bool,
    allow_private: bool,
    target_problem: Option<String>,
) -> Result<Parsed<SubscriptionInput>, ApiError> {
    let attrs = attributes(body, ROOT)?;
    let mut errors = FieldErrors::new();
    let target_url = text(attrs, "target_url", &mut errors)
        .not_blank("target_url", creating, &mut errors)
        .and_then(|url| match target::parse(&url, allow_private) {
            Ok(_) => match target_problem {
                Some(p) => {
                    errors.add("target_url", p);
                    None
                }
                None => Some(url),
            },
            Err(m) => {
                errors.add("target_url", m);
                None
            }
        });
    let mut events = None;
    let listed = attrs.get("events").filter(|v| !v.is_null());
    let one = attrs.get("event").filter(|v| !v.is_null());
    match (listed, one) {
        (Some(_), Some(_)) => errors.add("event", "can't be given together with events"),
        (Some(v), None) => events = event_names(v, "events", &mut errors),
        (None, Some(v)) => events = event_names(v, "event", &mut errors),
        (None, None) if creating => errors.add("events", "can't be blank"),
        (None, None) => {}
    }
    let payload_format = match text(attrs, "payload_format", &mut errors) {
        Field::Set(f) if FORMATS.contains(&f.as_str()) => Some(f),
        Field::Set(_) => {
            errors.add(
                "payload_format",
                format!("is not included in the list ({})", FORMATS.join(", ")),
            );
            None
        }
        Field::Null => {
            errors.add("payload_format", "can't be blank");
            None
        }
        Field::Absent => None,
    };
    let description = bounded_text(attrs, "description", DESCRIPTION_MAX, &mut errors);
    let enabled = match boolean(attrs, "enabled", &mut errors) {
        Field::Set(b) => Some(b),
        Field::Null => {
            errors.add("enabled", "can't be blank");
            None
        }
        Field::Absent => None,
    };
    Ok(Parsed {
        value: SubscriptionInput {
            target_url,
            events,
            payload_format,
            description,
            enabled,
        },
        errors,
    })
}

/// The event names of `events` (an array, or one name) or `event` (one name).
fn event_names(v: &Value, key: &str, errors: &mut FieldErrors) -> Option<Vec<String>> {
    let names: Vec<&Value> = match v {
        Value::Array(items) if key == "events" => items.iter().collect(),
        one => vec![one],
    };
    let mut out: Vec<String> = Vec::new();
    for n in names {
        match n.as_str().map(str::trim) {
            Some(name) if name == ALL || EVENTS.contains(&name) => {
                if !out.iter().any(|e| e == name) {
                    out.push(name.to_string());
                }
            }
            Some("") | None if n.is_null() || n.as_str().is_some() => {
                errors.add(key, "can't be blank");
                return None;
            }
            _ => {
                errors.add(
                    key,
                    format!("is not included in the list ({}, *)", EVENTS.join(", ")),
                );
                return None;
            }
        }
    }
    if out.is_empty() {
        errors.add(key, "can't be blank");
        return None;
    }
    if out.iter().any(|e| e == ALL) {
        out = vec![ALL.to_string()];
    }
    Some(out)
}

impl SubscriptionInput {
    /// Applies the input to `fields`; a rule between fields is checked on the result.
    pub fn merge_into(self, fields: &mut SubscriptionFields, errors: &mut FieldErrors) {
        if let Some(u) = self.target_url {
            fields.target_url = u;
        }
        if let Some(e) = self.events {
            fields.events = e;
        }
        if let Some(f) = self.payload_format {
            fields.payload_format = f;
        }
        fields.description = self.description.merge_into(fields.description.take());
        if let Some(e) = self.enabled {
            fields.enabled = e;
        }
        if fields.payload_format == "flat" && fields.events.iter().any(|e| e == ALL) {
            errors.add(
                "payload_format",
                "can't be flat for all events (\"*\"): list the events",
            );
        }
    }
}

/// A new subscription's fields before the input applies.
pub fn defaults() -> SubscriptionFields {
    SubscriptionFields {
        target_url: String::new(),
        events: Vec::new(),
        payload_format: "envelope".into(),
        description: None,
        enabled: true,
    }
}

/// The request body's schema.
pub fn schema(creating: bool) -> Value {
    use crate::api::openapi::schema::*;
    let mut names: Vec<&str> = EVENTS.to_vec();
    names.push(ALL);
    let attributes = json!({
        "target_url": {"type": "string", "maxLength": target::MAX_URL,
            "description": "An absolute https URL (plain http and private addresses only with `webhooks_allow_private_targets`)."},
        "events": {"type": "array", "items": enum_of(&names), "minItems": 1,
            "description": "The events to receive; `[\"*\"]` for all. Not with `event`."},
        "event": {"type": "string", "enum": names, "description": "One event to receive. Not with `events`."},
        "payload_format": enum_of(FORMATS),
        "description": nullable(text(DESCRIPTION_MAX)),
        "enabled": boolean(),
    });
    let mut o = input(
        attributes.clone(),
        if creating { &["target_url"] } else { &[] },
    );
    let mut props = o["properties"].as_object().cloned().unwrap_or_default();
    props.insert(ROOT.into(), input(attributes, &[]));
    o["properties"] = Value::Object(props);
    o["description"] = json!(
        "Attributes at the top level, or under `webhook_subscription`. On create, `target_url` and one of `events` / `event` are required."
    );
    o
}
