//! Builders of JSON Schema pieces for the OpenAPI document: response objects (every
//! property present, nothing else), request objects (unknown keys ignored), and the
//! Rails-style form version of a request body.

use serde_json::{json, Map, Value};

pub fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

/// A response object: every property always present, nothing else.
pub fn object(properties: Value) -> Value {
    let required: Vec<String> = properties
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    json!({
        "type": "object",
        "required": required,
        "properties": properties,
        "additionalProperties": false,
    })
}

pub fn nullable(mut schema: Value) -> Value {
    schema["nullable"] = json!(true);
    if let Some(e) = schema.get_mut("enum").and_then(Value::as_array_mut) {
        e.push(Value::Null);
    }
    schema
}

pub fn array_of(name: &str) -> Value {
    json!({"type": "array", "items": schema_ref(name)})
}

pub fn id() -> Value {
    json!({"type": "integer", "format": "int64", "minimum": 1})
}

pub fn count() -> Value {
    json!({"type": "integer", "format": "int64", "minimum": 0})
}

pub fn timestamp() -> Value {
    json!({"type": "string", "format": "date-time", "example": "2026-11-25T21:07:21.123Z"})
}

pub fn string() -> Value {
    json!({"type": "string"})
}

pub fn boolean() -> Value {
    json!({"type": "boolean"})
}

pub fn stored_colour() -> Value {
    json!({"type": "string", "pattern": "^#[0-9A-F]{6}$", "example": "#3B2F2F"})
}

pub fn enum_of(values: &[&str]) -> Value {
    json!({"type": "string", "enum": values})
}

pub fn pagination_page(list: &str, item: &str) -> Value {
    let mut props = Map::new();
    props.insert(list.into(), array_of(item));
    props.insert("pagination".into(), schema_ref("Pagination"));
    object(Value::Object(props))
}

pub fn text(max: usize) -> Value {
    json!({"type": "string", "maxLength": max})
}

/// A whole number in a request (numeric strings are accepted too).
pub fn int(min: i64, max: i64) -> Value {
    json!({"type": "integer", "minimum": min, "maximum": max})
}

pub fn input_colour() -> Value {
    json!({"type": "string", "pattern": "^#[0-9A-Fa-f]{6}$", "example": "#3B2F2F"})
}

/// A request object: the given properties, `required` ones, and unknown keys ignored.
pub fn input(properties: Value, required: &[&str]) -> Value {
    let mut o = json!({"type": "object", "properties": properties});
    if !required.is_empty() {
        o["required"] = json!(required);
    }
    o
}

/// `{"<root>": attributes}` plus top-level action parameters.
pub fn wrapped(root: &str, attributes: Value, mut top: Map<String, Value>) -> Value {
    let mut props = Map::new();
    props.insert(root.to_string(), attributes);
    props.append(&mut top);
    let mut o = input(Value::Object(props), &[root]);
    o["description"] = json!(format!(
        "Attributes under `{root}`; as in Rails, a body without the `{root}` key is taken as the attributes themselves."
    ));
    o
}

/// The top-level alternative to an id among the attributes (see `params::owner_id`).
pub fn top_level_id(key: &str) -> Map<String, Value> {
    let mut top = Map::new();
    top.insert(
        key.to_string(),
        json!({"type": "integer", "format": "int64", "minimum": 1,
            "description": format!("Alternative to {key} inside the attributes.")}),
    );
    top
}

/// The Rails-style form version of a JSON request schema: nested keys flattened to
/// `root[field]`, `root[list][][field]` and `root[list][]`; free-form objects (metadata) left out; no
/// nulls (a blank value counts as null).
pub fn form_schema(schema: &Value) -> Value {
    let mut props = Map::new();
    let mut required = Vec::new();
    flatten(schema, "", true, &mut props, &mut required);
    let mut o = json!({
        "type": "object",
        "description": "Rails-style form: nested attributes as `root[field]`, list entries as `root[list][][field]` (`root[list][]` for a list of text), metadata keys as `root[metadata][key]` (values are text). Every value is text: numbers and booleans (`true`, `false`, `1`, `0`) as written; a blank value counts as null.",
        "properties": props,
    });
    if !required.is_empty() {
        o["required"] = json!(required);
    }
    o
}

pub fn flatten(
    schema: &Value,
    prefix: &str,
    parent_required: bool,
    props: &mut Map<String, Value>,
    required: &mut Vec<String>,
) {
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
        return;
    };
    let req: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    for (key, sub) in properties {
        let name = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}[{key}]")
        };
        let is_required = parent_required && req.contains(&key.as_str());
        match sub.get("type").and_then(Value::as_str) {
            Some("object") => flatten(sub, &name, is_required, props, required),
            Some("array") => match sub.get("items") {
                Some(items) if items.get("properties").is_some() => {
                    flatten(items, &format!("{name}[]"), false, props, required);
                }
                // A list of plain values: `root[list][]` once per value.
                Some(items) => {
                    props.insert(format!("{name}[]"), items.clone());
                }
                None => {}
            },
            _ => {
                let mut s = sub.clone();
                if let Some(m) = s.as_object_mut() {
                    m.remove("nullable");
                    if let Some(Value::Array(e)) = m.get_mut("enum") {
                        e.retain(|v| !v.is_null());
                    }
                }
                if is_required {
                    required.push(name.clone());
                }
                props.insert(name, s);
            }
        }
    }
}
