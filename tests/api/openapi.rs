//! The OpenAPI document (`GET /api/v1/openapi.json`) is kept true:
//!
//! - every route of `stampd::api::api_route_list()` is documented, and nothing documented
//!   is missing from it;
//! - the document hangs together (every `$ref` resolves, path parameters are declared,
//!   write operations take `Idempotency-Key`, ...);
//! - every operation, exercised against a live server with valid and invalid requests,
//!   answers with a documented status, a documented content type, and a body that fits
//!   the documented schema (checked by the small schema checker below, for the subset of
//!   OpenAPI the document uses).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use crate::support::app::{spawn_app_with, Resp, TestApp};

// ---- the document ------------------------------------------------------------------

const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

fn fetch_document(app: &TestApp) -> Value {
    let r = app.send("GET", "/api/v1/openapi.json", None, None, None, &[]);
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(
        r.header("content-type")
            .is_some_and(|c| c.starts_with("application/json")),
        "content type {:?}",
        r.header("content-type")
    );
    assert_eq!(r.body["openapi"], "3.0.3");
    r.body
}

/// `(path, METHOD)` of every documented operation.
fn documented_operations(doc: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, _) in item.as_object().expect("path item") {
            if METHODS.contains(&method.as_str()) {
                out.insert((path.clone(), method.to_ascii_uppercase()));
            }
        }
    }
    out
}

#[test]
fn every_route_is_documented_and_nothing_else() {
    let app = spawn_app_with(|_| {});
    let doc = fetch_document(&app);
    let documented = documented_operations(&doc);
    let routes: BTreeSet<(String, String)> = stampd::api::api_route_list()
        .into_iter()
        .map(|(p, m)| (p, m.as_str().to_string()))
        .collect();
    let undocumented: Vec<_> = routes.difference(&documented).collect();
    let phantom: Vec<_> = documented.difference(&routes).collect();
    assert!(
        undocumented.is_empty(),
        "routes of api_routes() missing from the OpenAPI document (declare them in the ENDPOINTS of their resource): {undocumented:?}"
    );
    assert!(
        phantom.is_empty(),
        "operations in the OpenAPI document that the server does not have: {phantom:?}"
    );
}

/// Resolves a local `$ref` (`#/components/...`).
fn resolve<'a>(doc: &'a Value, reference: &str) -> &'a Value {
    let pointer = reference
        .strip_prefix('#')
        .unwrap_or_else(|| panic!("non-local $ref {reference}"));
    doc.pointer(pointer)
        .unwrap_or_else(|| panic!("$ref {reference} does not resolve"))
}

/// Follows a `$ref` if the value is one.
fn deref<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    match v.get("$ref").and_then(Value::as_str) {
        Some(r) => deref(doc, resolve(doc, r)),
        None => v,
    }
}

fn all_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get("$ref") {
                out.push(r.clone());
            }
            m.values().for_each(|x| all_refs(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| all_refs(x, out)),
        _ => {}
    }
}

#[test]
fn the_document_hangs_together() {
    let app = spawn_app_with(|_| {});
    let doc = fetch_document(&app);
    let mut refs = Vec::new();
    all_refs(&doc, &mut refs);
    assert!(!refs.is_empty());
    for r in &refs {
        resolve(&doc, r);
    }
    let bearer = &doc["components"]["securitySchemes"]["bearerAuth"];
    assert_eq!(
        (&bearer["type"], &bearer["scheme"]),
        (&json!("http"), &json!("bearer"))
    );
    assert_eq!(doc["security"], json!([{"bearerAuth": []}]));

    let mut ids = BTreeSet::new();
    for (path, method) in documented_operations(&doc) {
        let op = &doc["paths"][&path][method.to_ascii_lowercase()];
        let what = format!("{method} {path}");
        let id = op["operationId"]
            .as_str()
            .unwrap_or_else(|| panic!("{what}: no operationId"));
        assert!(ids.insert(id.to_string()), "{what}: operationId {id} twice");
        let params: Vec<&Value> = op["parameters"]
            .as_array()
            .map(|a| a.iter().map(|p| deref(&doc, p)).collect())
            .unwrap_or_default();
        // Path parameters: declared, required, integers.
        for seg in path.split('/') {
            if let Some(name) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                let p = params
                    .iter()
                    .find(|p| p["in"] == "path" && p["name"] == name)
                    .unwrap_or_else(|| panic!("{what}: path parameter {name} not declared"));
                assert_eq!(p["required"], true, "{what}: {name}");
                assert_eq!(p["schema"]["type"], "integer", "{what}: {name}");
            }
        }
        let responses = op["responses"].as_object().expect("responses");
        let statuses: BTreeSet<&str> = responses.keys().map(String::as_str).collect();
        let public = stampd::api::status::PUBLIC_PATHS
            .iter()
            .any(|p| *path == format!("/api/v1{p}"));
        if public {
            assert_eq!(op["security"], json!([]), "{what}");
        } else {
            assert!(statuses.contains("401"), "{what}: 401 not documented");
            assert!(op.get("security").is_none(), "{what}");
        }
        assert!(statuses.contains("429"), "{what}: 429 not documented");
        if path.contains('{') {
            assert!(statuses.contains("404"), "{what}: 404 not documented");
        }
        if matches!(method.as_str(), "POST" | "PATCH" | "PUT" | "DELETE") {
            assert!(
                params
                    .iter()
                    .any(|p| p["in"] == "header" && p["name"] == "Idempotency-Key"),
                "{what}: no Idempotency-Key"
            );
            for s in ["400", "408", "413", "415", "422", "503"] {
                assert!(statuses.contains(s), "{what}: {s} not documented");
            }
        }
        if let Some(body) = op.get("requestBody") {
            let body = deref(&doc, body);
            for ct in ["application/json", "application/x-www-form-urlencoded"] {
                assert!(
                    body["content"][ct]["schema"].is_object(),
                    "{what}: no {ct} body"
                );
            }
        }
        // Every response says what it is and, unless 204, what its body looks like.
        for (status, r) in responses {
            let r = deref(&doc, r);
            assert!(r["description"].is_string(), "{what} {status}");
            if status != "204" {
                // Exports answer CSV; everything else JSON.
                assert!(
                    r["content"]["application/json"]["schema"].is_object()
                        || r["content"]["text/csv"]["schema"].is_object(),
                    "{what} {status}: no JSON schema"
                );
            }
            for h in ["RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"] {
                assert!(r["headers"][h].is_object(), "{what} {status}: {h}");
            }
        }
    }
    // The enums and limits the README documents.
    let card = &doc["components"]["requestBodies"]["CardCreate"]["content"]["application/json"]
        ["schema"]["properties"]["card"]["properties"];
    assert_eq!(
        card["strip_type"]["enum"],
        json!(["color", "image", "preset"])
    );
    assert!(card["stamp_icon"]["enum"]
        .as_array()
        .unwrap()
        .contains(&json!("coffee")));
    assert_eq!(card["name"]["maxLength"], 100);
    let form = &doc["components"]["requestBodies"]["CustomerCreate"]["content"]
        ["application/x-www-form-urlencoded"]["schema"];
    assert_eq!(form["properties"]["customer[first_name]"]["maxLength"], 100);
    assert_eq!(form["properties"]["customer[email]"]["maxLength"], 254);
    assert!(form["properties"]["card_id"].is_object());
    assert_eq!(form["required"], json!(["customer[first_name]"]));
}

// ---- a schema checker for the subset of OpenAPI 3.0 the document uses -----------------

/// Keywords that only describe.
const ANNOTATIONS: &[&str] = &["description", "example", "default", "title"];

/// Checks `value` against `schema`; pushes one message per violation.
fn check(doc: &Value, schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
    let schema = deref(doc, schema);
    let Some(s) = schema.as_object() else {
        errors.push(format!("{at}: schema is not an object"));
        return;
    };
    for key in s.keys() {
        let known = ANNOTATIONS.contains(&key.as_str())
            || matches!(
                key.as_str(),
                "type"
                    | "nullable"
                    | "required"
                    | "properties"
                    | "additionalProperties"
                    | "items"
                    | "enum"
                    | "minimum"
                    | "maximum"
                    | "minLength"
                    | "maxLength"
                    | "maxItems"
                    | "format"
                    // No regex engine here; schemathesis checks patterns.
                    | "pattern"
            );
        if !known {
            errors.push(format!(
                "{at}: the checker does not know the keyword {key:?}"
            ));
        }
    }
    if value.is_null() {
        if s.get("nullable") != Some(&Value::Bool(true)) {
            errors.push(format!("{at}: null, but not nullable"));
        }
        return;
    }
    if let Some(allowed) = s.get("enum").and_then(Value::as_array) {
        if !allowed.contains(value) {
            errors.push(format!("{at}: {value} is not one of {allowed:?}"));
        }
    }
    let ty = s.get("type").and_then(Value::as_str);
    let type_ok = match ty {
        None => true,
        Some("object") => value.is_object(),
        Some("array") => value.is_array(),
        Some("string") => value.is_string(),
        Some("integer") => value.is_i64() || value.is_u64(),
        Some("number") => value.is_number(),
        Some("boolean") => value.is_boolean(),
        Some(other) => {
            errors.push(format!("{at}: unknown type {other}"));
            true
        }
    };
    if !type_ok {
        errors.push(format!(
            "{at}: {value} is not of type {}",
            ty.unwrap_or("?")
        ));
        return;
    }
    if let Some(n) = value.as_f64() {
        if let Some(min) = s.get("minimum").and_then(Value::as_f64) {
            if n < min {
                errors.push(format!("{at}: {n} < minimum {min}"));
            }
        }
        if let Some(max) = s.get("maximum").and_then(Value::as_f64) {
            if n > max {
                errors.push(format!("{at}: {n} > maximum {max}"));
            }
        }
    }
    if let Some(text) = value.as_str() {
        let len = text.chars().count() as u64;
        if let Some(min) = s.get("minLength").and_then(Value::as_u64) {
            if len < min {
                errors.push(format!("{at}: shorter than {min}"));
            }
        }
        if let Some(max) = s.get("maxLength").and_then(Value::as_u64) {
            if len > max {
                errors.push(format!("{at}: longer than {max}"));
            }
        }
        match s.get("format").and_then(Value::as_str) {
            Some("date-time") if !is_timestamp(text) => {
                errors.push(format!("{at}: {text:?} is not an ISO 8601 UTC timestamp"))
            }
            Some("date") if !is_date(text) => {
                errors.push(format!("{at}: {text:?} is not a YYYY-MM-DD date"))
            }
            Some("uuid") if !is_uuid(text) => errors.push(format!("{at}: {text:?} is not a uuid")),
            _ => {}
        }
    }
    if let Some(items) = value.as_array() {
        if let Some(max) = s.get("maxItems").and_then(Value::as_u64) {
            if items.len() as u64 > max {
                errors.push(format!("{at}: more than {max} items"));
            }
        }
        if let Some(item_schema) = s.get("items") {
            for (i, v) in items.iter().enumerate() {
                check(doc, item_schema, v, &format!("{at}[{i}]"), errors);
            }
        }
    }
    if let Some(obj) = value.as_object() {
        let props = s.get("properties").and_then(Value::as_object);
        if let Some(required) = s.get("required").and_then(Value::as_array) {
            for r in required.iter().filter_map(Value::as_str) {
                if !obj.contains_key(r) {
                    errors.push(format!("{at}: required property {r:?} missing"));
                }
            }
        }
        for (k, v) in obj {
            match props.and_then(|p| p.get(k)) {
                Some(sub) => check(doc, sub, v, &format!("{at}.{k}"), errors),
                None => match s.get("additionalProperties") {
                    Some(Value::Bool(false)) => {
                        errors.push(format!("{at}: property {k:?} is not documented"))
                    }
                    Some(extra @ Value::Object(_)) => {
                        check(doc, extra, v, &format!("{at}.{k}"), errors)
                    }
                    _ => {}
                },
            }
        }
    }
}

/// `2026-11-25T21:07:21.123Z` (what the server writes).
fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 24
        && is_date(&s[..10])
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'.'
        && b[23] == b'Z'
        && [11, 12, 14, 15, 17, 18, 20, 21, 22]
            .iter()
            .all(|&i| b[i].is_ascii_digit())
}

fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && [0, 1, 2, 3, 5, 6, 8, 9]
            .iter()
            .all(|&i| b[i].is_ascii_digit())
}

fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                c == '-'
            } else {
                c.is_ascii_hexdigit()
            }
        })
}

#[test]
fn the_checker_catches_what_it_should() {
    let doc = json!({"components": {"schemas": {
        "T": {"type": "object", "required": ["a", "b"], "additionalProperties": false, "properties": {
            "a": {"type": "integer", "minimum": 1},
            "b": {"type": "string", "nullable": true, "enum": ["x", null]},
            "c": {"type": "array", "items": {"type": "string", "format": "date-time"}},
            "d": {"type": "array", "items": {"type": "string"}, "maxItems": 1},
        }},
    }}});
    let t = json!({"$ref": "#/components/schemas/T"});
    let errs = |v: Value| {
        let mut e = Vec::new();
        check(&doc, &t, &v, "$", &mut e);
        e
    };
    assert!(errs(json!({"a": 1, "b": null})).is_empty());
    assert!(errs(json!({"a": 1, "b": "x", "c": ["2026-11-25T21:07:21.123Z"]})).is_empty());
    assert_eq!(errs(json!({"a": 0, "b": "x"})).len(), 1);
    assert_eq!(errs(json!({"a": 1.5, "b": "x"})).len(), 1);
    assert_eq!(errs(json!({"a": 1})).len(), 1);
    assert_eq!(errs(json!({"a": 1, "b": "y"})).len(), 1);
    assert_eq!(errs(json!({"a": 1, "b": "x", "e": 1})).len(), 1);
    assert!(errs(json!({"a": 1, "b": "x", "d": ["one"]})).is_empty());
    assert_eq!(
        errs(json!({"a": 1, "b": "x", "d": ["one", "two"]})).len(),
        1
    );
    assert_eq!(
        errs(json!({"a": 1, "b": "x", "c": ["2026-11-25"]})).len(),
        1
    );
    assert_eq!(errs(json!([])).len(), 1);
    assert_eq!(errs(json!({"a": null, "b": "x"})).len(), 1);
}

// ---- exercising the operations ---------------------------------------------------------

/// Calls operations of the live server and validates each answer against the document.
struct Exerciser<'a> {
    app: &'a TestApp,
    doc: Value,
    /// (path template, METHOD) -> statuses seen.
    seen: BTreeMap<(String, String), BTreeSet<u16>>,
    failures: Vec<String>,
}

/// One request: operation (template and method), concrete path, body, and extras.
struct Call<'c> {
    method: &'c str,
    template: &'c str,
    path: String,
    token: Option<String>,
    content_type: Option<&'c str>,
    body: Option<Vec<u8>>,
    headers: Vec<(&'c str, String)>,
}

impl<'a> Exerciser<'a> {
    fn new(app: &'a TestApp, doc: Value) -> Self {
        Exerciser {
            app,
            doc,
            seen: BTreeMap::new(),
            failures: Vec::new(),
        }
    }

    fn call<'c>(&self, method: &'c str, template: &'c str, ids: &[i64]) -> Call<'c> {
        let mut path = template.to_string();
        for id in ids {
            let start = path.find('{').expect("more ids than parameters");
            let end = start + path[start..].find('}').expect("closing brace");
            path.replace_range(start..=end, &id.to_string());
        }
        assert!(!path.contains('{'), "{template}: ids missing");
        Call {
            method,
            template,
            path: format!("/api/v1{path}"),
            token: Some(self.app.token.clone()),
            content_type: None,
            body: None,
            headers: Vec::new(),
        }
    }

    /// Sends a call, checks the answer against the document, returns it.
    fn run(&mut self, c: Call) -> Resp {
        let headers: Vec<(&str, &str)> = c.headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = self.app.send(
            c.method,
            &c.path,
            c.token.as_deref(),
            c.content_type,
            c.body.as_deref(),
            &headers,
        );
        let template = format!("/api/v1{}", c.template);
        self.seen
            .entry((template.clone(), c.method.to_string()))
            .or_default()
            .insert(r.status);
        let what = format!("{} {} -> {} {}", c.method, c.path, r.status, r.text);
        let Some(op) = self.doc["paths"][&template]
            .get(c.method.to_ascii_lowercase())
            .cloned()
        else {
            self.failures
                .push(format!("{what}: operation not documented"));
            return r;
        };
        let Some(response) = op["responses"].get(r.status.to_string()).cloned() else {
            self.failures
                .push(format!("{what}: status {} not documented", r.status));
            return r;
        };
        let response = deref(&self.doc, &response).clone();
        for h in [
            "RateLimit-Limit",
            "RateLimit-Remaining",
            "RateLimit-Reset",
            "Retry-After",
            "Idempotent-Replayed",
        ] {
            if r.header(h).is_some() && response["headers"].get(h).is_none() {
                self.failures
                    .push(format!("{what}: header {h} sent but not documented"));
            }
        }
        if response["content"].get("text/csv").is_some() {
            if !r
                .header("content-type")
                .is_some_and(|ct| ct.starts_with("text/csv"))
            {
                self.failures.push(format!(
                    "{what}: content type {:?}, documented text/csv",
                    r.header("content-type")
                ));
            }
            return r;
        }
        match response["content"]["application/json"].get("schema") {
            None => {
                if !r.text.is_empty() {
                    self.failures
                        .push(format!("{what}: a body where none is documented"));
                }
            }
            Some(schema) => {
                if !r
                    .header("content-type")
                    .is_some_and(|ct| ct.starts_with("application/json"))
                {
                    self.failures.push(format!(
                        "{what}: content type {:?}, documented application/json",
                        r.header("content-type")
                    ));
                }
                if r.body.is_null() {
                    self.failures.push(format!("{what}: body is not JSON"));
                } else {
                    let mut errors = Vec::new();
                    check(&self.doc, schema, &r.body, "$", &mut errors);
                    for e in errors {
                        self.failures.push(format!("{what}: {e}"));
                    }
                }
            }
        }
        r
    }

    fn json(&mut self, method: &str, template: &str, ids: &[i64], body: Value) -> Resp {
        let mut c = self.call(method, template, ids);
        c.content_type = Some("application/json");
        c.body = Some(body.to_string().into_bytes());
        self.run(c)
    }

    fn raw(
        &mut self,
        method: &str,
        template: &str,
        ids: &[i64],
        content_type: Option<&str>,
        body: &[u8],
    ) -> Resp {
        let mut c = self.call(method, template, ids);
        c.content_type = content_type;
        c.body = Some(body.to_vec());
        self.run(c)
    }

    fn get(&mut self, template: &str, ids: &[i64], query: &str) -> Resp {
        let mut c = self.call("GET", template, ids);
        c.path.push_str(query);
        self.run(c)
    }

    fn expect(&mut self, r: &Resp, status: u16, what: &str) {
        if r.status != status {
            self.failures.push(format!(
                "{what}: expected {status}, got {} {}",
                r.status, r.text
            ));
        }
    }
}

#[test]
fn every_operation_answers_as_documented() {
    let app = spawn_app_with(|s| s.webhooks_allow_private_targets = true);
    let receiver = crate::support::receiver::Receiver::http();
    let doc = fetch_document(&app);
    let mut x = Exerciser::new(&app, doc.clone());
    let s = app.store_id;

    // Public.
    let mut c = x.call("GET", "/status", &[]);
    c.token = None;
    let r = x.run(c);
    x.expect(&r, 200, "status");
    let mut c = x.call("GET", "/openapi.json", &[]);
    c.token = None;
    let r = x.run(c);
    x.expect(&r, 200, "openapi");

    // Stores.
    let r = x.get("/accounts", &[], "");
    x.expect(&r, 200, "accounts");
    let mut c = x.call("GET", "/accounts", &[]);
    c.token = Some("nope".into());
    let r = x.run(c);
    x.expect(&r, 401, "accounts with a bad token");
    let r = x.get("/accounts/{account_id}", &[s], "");
    x.expect(&r, 200, "account");
    let r = x.get("/accounts/{account_id}", &[s + 100], "");
    x.expect(&r, 404, "other account");
    let r = x.json(
        "PATCH",
        "/accounts/{account_id}",
        &[s],
        json!({"account": {"store_name": "Ann's Coffee"}}),
    );
    x.expect(&r, 200, "rename");
    let r = x.json(
        "PATCH",
        "/accounts/{account_id}",
        &[s],
        json!({"account": {"name": null}}),
    );
    x.expect(&r, 422, "blank name");
    let r = x.raw(
        "PUT",
        "/accounts/{account_id}",
        &[s],
        Some("application/x-www-form-urlencoded"),
        b"account[name]=Main&account[store_name]=",
    );
    x.expect(&r, 200, "rename by form");
    let r = x.raw(
        "PUT",
        "/accounts/{account_id}",
        &[s],
        Some("application/json"),
        b"{bad",
    );
    x.expect(&r, 400, "bad JSON");
    let r = x.raw(
        "PATCH",
        "/accounts/{account_id}",
        &[s],
        Some("text/plain"),
        b"hello",
    );
    x.expect(&r, 415, "text body");
    let big = json!({"account": {"name": "x".repeat(70 * 1024)}}).to_string();
    let r = x.raw(
        "PATCH",
        "/accounts/{account_id}",
        &[s],
        Some("application/json"),
        big.as_bytes(),
    );
    x.expect(&r, 413, "big body");
    let mut c = x.call("PATCH", "/accounts/{account_id}", &[s]);
    c.token = None;
    c.content_type = Some("application/json");
    c.body = Some(b"{}".to_vec());
    let r = x.run(c);
    x.expect(&r, 401, "no token");
    let mut c = x.call("PATCH", "/accounts/{account_id}", &[s]);
    c.content_type = Some("application/json");
    c.body = Some(b"{}".to_vec());
    c.headers.push(("Idempotency-Key", "x".repeat(300)));
    let r = x.run(c);
    x.expect(&r, 400, "long Idempotency-Key");

    // Cards.
    let r = x.json(
        "POST",
        "/accounts/{account_id}/cards",
        &[s],
        json!({"card": {"name": "Coffee", "stamps_required": 10, "initial_stamps": 2,
            "stamp_icon": "coffee", "strip_type": "preset", "strip_preset": "waves",
            "header_text": "Hi", "expires_at": "2099-12-31", "strip_color": "#aabbcc",
            "strip_opacity": 60.0, "auxiliary_fields": ["Open 7-19", "", "Oat milk free"]}}),
    );
    x.expect(&r, 201, "create card");
    let card = r.body["id"].as_i64().unwrap_or(0);
    let r = x.raw(
        "POST",
        "/accounts/{account_id}/cards",
        &[s],
        Some("application/x-www-form-urlencoded"),
        b"card[name]=Small&card[stamps_required]=3&card[auxiliary_fields][]=Open+late",
    );
    x.expect(&r, 201, "create card by form");
    let small_card = r.body["id"].as_i64().unwrap_or(0);
    let r = x.json(
        "POST",
        "/accounts/{account_id}/cards",
        &[s],
        json!({"card": {"stamps_required": 30, "stamp_icon": "spaceship", "card_color": "red"}}),
    );
    x.expect(&r, 422, "invalid card");
    let r = x.get("/accounts/{account_id}/cards", &[s], "");
    x.expect(&r, 200, "cards");
    let r = x.get("/accounts/{account_id}/cards", &[s], "?scope=all");
    x.expect(&r, 200, "all cards");
    let r = x.get("/accounts/{account_id}/cards", &[s], "?scope=bogus");
    x.expect(&r, 422, "bad scope");
    let r = x.get("/accounts/{account_id}/cards/{id}", &[s, card], "");
    x.expect(&r, 200, "card");
    let r = x.get("/accounts/{account_id}/cards/{id}", &[s, 9999], "");
    x.expect(&r, 404, "no card");
    let r = x.json(
        "PATCH",
        "/accounts/{account_id}/cards/{id}",
        &[s, card],
        json!({"card": {"header_text": null, "show_member_field": "0"}}),
    );
    x.expect(&r, 200, "update card");
    let r = x.json(
        "PUT",
        "/accounts/{account_id}/cards/{id}",
        &[s, card],
        json!({"card": {"initial_stamps": 10}}),
    );
    x.expect(&r, 422, "initial stamps too many");
    let r = x.json(
        "PUT",
        "/accounts/{account_id}/cards/{id}",
        &[s, small_card],
        json!({"card": {"archived": true}}),
    );
    x.expect(&r, 200, "archive card");
    let r = x.json(
        "PATCH",
        "/accounts/{account_id}/cards/{id}",
        &[s, 9999],
        json!({"card": {"name": "x"}}),
    );
    x.expect(&r, 404, "update no card");

    // Rewards.
    let r = x.json(
        "POST",
        "/accounts/{account_id}/rewards",
        &[s],
        json!({"reward": {"card_id": card, "name": "Free coffee", "stamps_required": 3}}),
    );
    x.expect(&r, 201, "create reward");
    let reward = r.body["id"].as_i64().unwrap_or(0);
    let r = x.json(
        "POST",
        "/accounts/{account_id}/rewards",
        &[s],
        json!({"card_id": card, "reward": {"name": "Cake", "stamps_required": 10, "description": "<b>big</b>"}}),
    );
    x.expect(&r, 201, "create reward, card_id at the top");
    let r = x.json(
        "POST",
        "/accounts/{account_id}/rewards",
        &[s],
        json!({"reward": {"card_id": 9999, "name": "X", "stamps_required": 1}}),
    );
    x.expect(&r, 404, "reward of no card");
    let r = x.json(
        "POST",
        "/accounts/{account_id}/rewards",
        &[s],
        json!({"reward": {"card_id": card}}),
    );
    x.expect(&r, 422, "reward without name");
    let r = x.get("/accounts/{account_id}/rewards", &[s], "");
    x.expect(&r, 200, "rewards");
    let r = x.get(
        "/accounts/{account_id}/rewards",
        &[s],
        &format!("?card_id={card}&active=1"),
    );
    x.expect(&r, 200, "rewards of a card");
    let r = x.get("/accounts/{account_id}/rewards", &[s], "?active=maybe");
    x.expect(&r, 422, "bad active");
    let r = x.get("/accounts/{account_id}/rewards/{id}", &[s, reward], "");
    x.expect(&r, 200, "reward");
    let r = x.json(
        "PATCH",
        "/accounts/{account_id}/rewards/{id}",
        &[s, reward],
        json!({"reward": {"position": 2, "description": "yum"}}),
    );
    x.expect(&r, 200, "update reward");
    let r = x.json(
        "PUT",
        "/accounts/{account_id}/rewards/{id}",
        &[s, reward],
        json!({"reward": {"card_id": small_card}}),
    );
    x.expect(&r, 422, "move reward");
    let r = x.json(
        "PUT",
        "/accounts/{account_id}/rewards/{id}",
        &[s, reward],
        json!({"reward": {"active": "true"}}),
    );
    x.expect(&r, 200, "update reward by PUT");
    let r = x.json(
        "PATCH",
        "/accounts/{account_id}/rewards/{id}",
        &[s, reward],
        json!({"reward": {"stamps_required": 50}}),
    );
    x.expect(&r, 422, "reward needs more than the card");
    let r = x.get("/accounts/{account_id}/rewards/{id}", &[s, 9999], "");
    x.expect(&r, 404, "no reward");
    let r = x.json(
        "POST",
        "/accounts/{account_id}/rewards",
        &[s],
        json!({"reward": {"card_id": small_card, "name": "Spare", "stamps_required": 1}}),
    );
    let spare = r.body["id"].as_i64().unwrap_or(0);
    let c = x.call("DELETE", "/accounts/{account_id}/rewards/{id}", &[s, spare]);
    let r = x.run(c);
    x.expect(&r, 204, "delete reward");
    let c = x.call("DELETE", "/accounts/{account_id}/rewards/{id}", &[s, spare]);
    let r = x.run(c);
    x.expect(&r, 404, "delete reward again");

    // Customers.
    let r = x.json(
        "POST",
        "/accounts/{account_id}/customers",
        &[s],
        json!({"customer": {"first_name": "Ann", "last_name": "Lee", "email": "Ann@Example.com",
            "phone": "(415) 555-0132", "birthday": "1990-05-01", "metadata": {"tier": "gold"},
            "external_references": [{"source": "pos", "external_id": "A-1", "metadata": {"x": 1}}]},
            "card_id": card, "send_card_links": true}),
    );
    x.expect(&r, 201, "create customer with a card");
    let ann = r.body["id"].as_i64().unwrap_or(0);
    let ann_card = r.body["customer_card"]["id"].as_i64().unwrap_or(0);
    if r.body.get("customer_card").is_none() {
        x.failures.push("no customer_card with card_id".into());
    }
    let r = x.raw(
        "POST",
        "/accounts/{account_id}/customers",
        &[s],
        Some("application/x-www-form-urlencoded"),
        b"customer[first_name]=Bob&customer[email]=bob@example.com&customer[external_references][][source]=crm&customer[external_references][][external_id]=7",
    );
    x.expect(&r, 201, "create customer by form");
    let bob = r.body["id"].as_i64().unwrap_or(0);
    if r.body.get("customer_card").is_some() {
        x.failures.push("customer_card without card_id".into());
    }
    let r = x.json(
        "POST",
        "/accounts/{account_id}/customers",
        &[s],
        json!({"customer": {"first_name": "Ann", "email": "ann@example.com", "birthday": "2999-01-01"}}),
    );
    x.expect(&r, 422, "duplicate email, future birthday");
    let r = x.json(
        "POST",
        "/accounts/{account_id}/customers",
        &[s],
        json!({"customer": {"first_name": "Cy", "email": "cy@example.com"}, "card_id": 9999}),
    );
    x.expect(&r, 422, "no such card");
    let r = x.get("/accounts/{account_id}/customers", &[s], "");
    x.expect(&r, 200, "customers");
    let r = x.get(
        "/accounts/{account_id}/customers",
        &[s],
        "?search=ann&page=1&items=200",
    );
    x.expect(&r, 200, "search");
    let r = x.get(
        "/accounts/{account_id}/customers",
        &[s],
        "?source=pos&external_id=A-1",
    );
    x.expect(&r, 200, "look-up");
    let r = x.get("/accounts/{account_id}/customers", &[s], "?page=0&items=x");
    x.expect(&r, 422, "bad paging");
    let r = x.get("/accounts/{account_id}/customers/{id}", &[s, ann], "");
    x.expect(&r, 200, "customer");
    let r = x.get("/accounts/{account_id}/customers/{id}", &[s, 9999], "");
    x.expect(&r, 404, "no customer");
    let r = x.json(
        "PATCH",
        "/accounts/{account_id}/customers/{id}",
        &[s, ann],
        json!({"customer": {"last_name": null, "metadata": {"tier": null, "vip": true}}}),
    );
    x.expect(&r, 200, "update customer");
    let r = x.json(
        "PUT",
        "/accounts/{account_id}/customers/{id}",
        &[s, bob],
        json!({"customer": {"email": null}}),
    );
    x.expect(&r, 422, "no way to reach");
    let r = x.json(
        "PUT",
        "/accounts/{account_id}/customers/{id}",
        &[s, bob],
        json!({"customer": {"phone": "+1 415 555 0199"}}),
    );
    x.expect(&r, 200, "update customer by PUT");
    let r = x.json(
        "PATCH",
        "/accounts/{account_id}/customers/{id}",
        &[s, 9999],
        json!({"customer": {"first_name": "X"}}),
    );
    x.expect(&r, 404, "update no customer");
    // Ann's links went on create: a re-send right away is too soon; once the first
    // send is 11 minutes old (moved back on disk), it goes.
    let r = x.json(
        "POST",
        "/accounts/{account_id}/customers/{id}/send_card_links",
        &[s, ann],
        json!({}),
    );
    x.expect(&r, 429, "send card links too soon");
    app.conn()
        .execute(
            "UPDATE outbox SET created_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-11 minutes')",
            [],
        )
        .unwrap();
    let mut c = x.call(
        "POST",
        "/accounts/{account_id}/customers/{id}/send_card_links",
        &[s, ann],
    );
    c.body = Some(Vec::new());
    let r = x.run(c);
    x.expect(&r, 201, "send card links");
    let r = x.json(
        "POST",
        "/accounts/{account_id}/customers/{id}/send_card_links",
        &[s, bob],
        json!({}),
    );
    x.expect(&r, 422, "send links without a card");

    // Customer cards.
    let cc = "/accounts/{account_id}/customers/{customer_id}/customer_cards";
    let one = "/accounts/{account_id}/customers/{customer_id}/customer_cards/{id}";
    let stamp = "/accounts/{account_id}/customers/{customer_id}/customer_cards/{id}/stamp";
    let redeem = "/accounts/{account_id}/customers/{customer_id}/customer_cards/{id}/redeem";
    let events = "/accounts/{account_id}/customers/{customer_id}/customer_cards/{id}/events";
    let setup = "/accounts/{account_id}/card_links";
    let r = x.get(setup, &[s], "");
    x.expect(&r, 200, "card link setup");
    let r = x.get(setup, &[999_999], "");
    x.expect(&r, 404, "card link setup of no store");
    let r = x.json("POST", cc, &[s, bob], json!({"card_id": card}));
    x.expect(&r, 201, "enrol in a card");
    let r = x.json("POST", cc, &[s, bob], json!({"card_id": card}));
    x.expect(&r, 422, "enrol in the same card again");
    let r = x.get(cc, &[s, ann], "");
    x.expect(&r, 200, "customer cards");
    let r = x.get(cc, &[s, 9999], "");
    x.expect(&r, 404, "cards of no customer");
    let r = x.get(one, &[s, ann, ann_card], "");
    x.expect(&r, 200, "customer card");
    let r = x.get(one, &[s, bob, ann_card], "");
    x.expect(&r, 404, "someone else's card");
    let mut c = x.call("POST", stamp, &[s, ann, ann_card]);
    c.content_type = Some("application/json");
    c.body = Some(br#"{"stamps": 2, "note": "<script>x</script>"}"#.to_vec());
    c.headers.push(("Idempotency-Key", "stamp-1".into()));
    let r = x.run(c);
    x.expect(&r, 200, "stamp");
    let mut c = x.call("POST", stamp, &[s, ann, ann_card]);
    c.content_type = Some("application/json");
    c.body = Some(br#"{"stamps": 2, "note": "<script>x</script>"}"#.to_vec());
    c.headers.push(("Idempotency-Key", "stamp-1".into()));
    let r = x.run(c);
    x.expect(&r, 200, "stamp replayed");
    if r.header("Idempotent-Replayed") != Some("true") {
        x.failures.push("replay without Idempotent-Replayed".into());
    }
    let mut c = x.call("POST", stamp, &[s, ann, ann_card]);
    c.content_type = Some("application/json");
    c.body = Some(br#"{"stamps": 3}"#.to_vec());
    c.headers.push(("Idempotency-Key", "stamp-1".into()));
    let r = x.run(c);
    x.expect(&r, 422, "key reused with another body");
    let r = x.json("POST", stamp, &[s, ann, ann_card], json!({"stamps": 0}));
    x.expect(&r, 422, "zero stamps");
    let r = x.raw(
        "POST",
        stamp,
        &[s, ann, ann_card],
        Some("application/x-www-form-urlencoded"),
        b"stamps=-1&skip_notifications=1",
    );
    x.expect(&r, 200, "correction by form");
    let r = x.json("POST", stamp, &[s, ann, 9999], json!({"stamps": 1}));
    x.expect(&r, 404, "stamp no card");
    let r = x.json(
        "POST",
        redeem,
        &[s, ann, ann_card],
        json!({"reward_id": reward}),
    );
    x.expect(&r, 200, "redeem");
    let r = x.json(
        "POST",
        redeem,
        &[s, ann, ann_card],
        json!({"reward_id": reward}),
    );
    x.expect(&r, 422, "redeem without enough stamps");
    let r = x.json(
        "POST",
        redeem,
        &[s, ann, ann_card],
        json!({"reward_id": 9999}),
    );
    x.expect(&r, 404, "redeem no reward");
    let r = x.json("POST", redeem, &[s, ann, ann_card], json!({}));
    x.expect(&r, 422, "redeem nothing");
    let r = x.get(events, &[s, ann, ann_card], "?items=2");
    x.expect(&r, 200, "events");
    let r = x.get(events, &[s, ann, ann_card], "?page=x");
    x.expect(&r, 422, "events bad page");
    let r = x.get(events, &[s, ann, 9999], "");
    x.expect(&r, 404, "events of no card");

    // Deliveries.
    let r = x.get("/accounts/{account_id}/deliveries", &[s], "");
    x.expect(&r, 200, "deliveries");
    let r = x.get(
        "/accounts/{account_id}/deliveries",
        &[s],
        &format!("?status=pending&customer_id={ann}"),
    );
    x.expect(&r, 200, "deliveries filtered");
    let r = x.get("/accounts/{account_id}/deliveries", &[s], "?status=lost");
    x.expect(&r, 422, "bad status");
    let r = x.get("/accounts/{account_id}/deliveries", &[s], "?channel=sms");
    x.expect(&r, 200, "deliveries by channel");
    let r = x.get("/accounts/{account_id}/deliveries", &[s], "?channel=fax");
    x.expect(&r, 422, "bad channel");
    let r = x.get("/accounts/{account_id}/deliveries", &[s], "?channel=apns");
    x.expect(&r, 200, "wallet deliveries");
    let r = x.get("/accounts/{account_id}/deliveries/channels", &[s], "");
    x.expect(&r, 200, "delivery channels");
    let r = x.get("/accounts/{account_id}/deliveries/channels", &[9999], "");
    x.expect(&r, 404, "delivery channels of no store");

    // Insights.
    let insights = "/accounts/{account_id}/insights";
    let r = x.get(
        insights,
        &[s],
        "?interval=week&from=2026-01-01&to=2026-03-01",
    );
    x.expect(&r, 200, "insights");
    let r = x.get(insights, &[s], "?interval=year");
    x.expect(&r, 422, "insights bad interval");
    let r = x.get("/accounts/{account_id}/insights/segments", &[s], "?items=5");
    x.expect(&r, 200, "segments");
    let r = x.get("/accounts/{account_id}/insights/segments", &[s], "?page=0");
    x.expect(&r, 422, "segments bad page");
    let send = "/accounts/{account_id}/insights/segments/send_card_links";
    let r = x.json("POST", send, &[s], json!({"segment": "new"}));
    x.expect(&r, 201, "send a segment its card links");
    let r = x.json("POST", send, &[s], json!({"segment": "everyone"}));
    x.expect(&r, 422, "send to no segment");

    // Imports and exports.
    let csv = b"first_name,email,stamps\nAnn,ann-import@example.com,2\n";
    let r = x.raw(
        "POST",
        "/accounts/{account_id}/imports",
        &[s],
        Some("text/csv"),
        csv,
    );
    x.expect(&r, 200, "import");
    let r = x.raw(
        "POST",
        "/accounts/{account_id}/imports",
        &[s],
        Some("text/csv"),
        b"name\nAnn\n",
    );
    x.expect(&r, 422, "import without a contact column");
    let r = x.raw(
        "POST",
        "/accounts/{account_id}/imports/preview",
        &[s],
        Some("text/csv"),
        csv,
    );
    x.expect(&r, 200, "import preview");
    let r = x.raw(
        "POST",
        "/accounts/{account_id}/imports/preview",
        &[s + 100],
        Some("text/csv"),
        csv,
    );
    x.expect(&r, 404, "import preview of another store");
    let r = x.get("/accounts/{account_id}/exports/customers.csv", &[s], "");
    x.expect(&r, 200, "customers export");
    let r = x.get(
        "/accounts/{account_id}/exports/customers.csv",
        &[s + 100],
        "",
    );
    x.expect(&r, 404, "customers export of another store");
    let r = x.get(
        "/accounts/{account_id}/exports/ledger.csv",
        &[s],
        "?from=2020-01-01",
    );
    x.expect(&r, 200, "ledger export");
    let r = x.get(
        "/accounts/{account_id}/exports/ledger.csv",
        &[s],
        "?to=soon",
    );
    x.expect(&r, 422, "ledger export with a bad date");

    // Locations.
    let loc = "/accounts/{account_id}/locations";
    let loc1 = "/accounts/{account_id}/locations/{id}";
    let r = x.json(
        "POST",
        loc,
        &[s],
        json!({"location": {"name": "Main St", "address": "1 Main St", "latitude": 37.77, "longitude": -122.42}}),
    );
    x.expect(&r, 201, "create location");
    let location = r.body["id"].as_i64().unwrap_or(0);
    let r = x.raw(
        "POST",
        loc,
        &[s],
        Some("application/x-www-form-urlencoded"),
        b"location[name]=Kiosk&location[address]=Station",
    );
    x.expect(&r, 201, "create location by form");
    let r = x.json(
        "POST",
        loc,
        &[s],
        json!({"location": {"name": "X", "latitude": 91}}),
    );
    x.expect(&r, 422, "invalid location");
    let r = x.get(loc, &[s], "");
    let r2 = x.get(loc, &[s + 100], "");
    x.expect(&r2, 404, "loc of another store");
    x.expect(&r, 200, "locations");
    let r = x.get(loc1, &[s, location], "");
    x.expect(&r, 200, "location");
    let r = x.get(loc1, &[s, 9999], "");
    x.expect(&r, 404, "no location");
    let r = x.json(
        "PATCH",
        loc1,
        &[s, location],
        json!({"location": {"latitude": null, "longitude": null}}),
    );
    x.expect(&r, 200, "update location");
    let r = x.json(
        "PATCH",
        loc1,
        &[s, location],
        json!({"location": {"latitude": 1}}),
    );
    x.expect(&r, 422, "latitude without longitude");
    let r = x.json(
        "PUT",
        loc1,
        &[s, location],
        json!({"location": {"address": "2 Main St"}}),
    );
    x.expect(&r, 200, "update location by PUT");
    let r = x.json("PUT", loc1, &[s, 9999], json!({"location": {}}));
    x.expect(&r, 404, "update no location");
    let c = x.call("DELETE", loc1, &[s, location]);
    let r = x.run(c);
    x.expect(&r, 204, "delete location");
    let c = x.call("DELETE", loc1, &[s, location]);
    let r = x.run(c);
    x.expect(&r, 404, "delete location again");

    // Posters.
    let pos = "/accounts/{account_id}/posters";
    let pos1 = "/accounts/{account_id}/posters/{id}";
    let r = x.json(
        "POST",
        pos,
        &[s],
        json!({"poster": {"card_id": card, "title": "Join us", "paper_size": "a5",
            "primary_color": "#112233", "contact_collection_mode": "email", "birthday_required": true}}),
    );
    x.expect(&r, 201, "create poster");
    let poster = r.body["id"].as_i64().unwrap_or(0);
    let r = x.raw(
        "POST",
        pos,
        &[s],
        Some("application/x-www-form-urlencoded"),
        format!("card_id={card}&poster[title]=Counter").as_bytes(),
    );
    x.expect(&r, 201, "create poster by form");
    let r = x.json(
        "POST",
        pos,
        &[s],
        json!({"poster": {"card_id": card, "contact_collection_mode": "phone_only",
            "require_phone": true, "require_birthday": true, "minimum_age": 18}}),
    );
    x.expect(&r, 201, "create poster with Leal's fields");
    let r = x.json(
        "POST",
        pos,
        &[s],
        json!({"poster": {"card_id": card, "minimum_age": 18}}),
    );
    x.expect(&r, 422, "a minimum age without a birthday");
    let r = x.get(pos, &[s], &format!("?card_id={card}&active"));
    x.expect(&r, 200, "posters of a card, active");
    let r = x.get(pos, &[s], "?active=maybe");
    x.expect(&r, 422, "posters, a filter that is no boolean");
    let r = x.json(
        "POST",
        pos,
        &[s],
        json!({"poster": {"card_id": small_card, "title": "Old card"}}),
    );
    x.expect(&r, 422, "poster of an archived card");
    let r = x.json(
        "POST",
        pos,
        &[s],
        json!({"poster": {"card_id": 9999, "title": "No card"}}),
    );
    x.expect(&r, 404, "poster of no card");
    let r = x.get(pos, &[s], "");
    let r2 = x.get(pos, &[s + 100], "");
    x.expect(&r2, 404, "pos of another store");
    x.expect(&r, 200, "posters");
    let r = x.get(pos1, &[s, poster], "");
    x.expect(&r, 200, "poster");
    let r = x.get(pos1, &[s, 9999], "");
    x.expect(&r, 404, "no poster");
    let r = x.json(
        "PATCH",
        pos1,
        &[s, poster],
        json!({"poster": {"active": false, "paper_size": "letter"}}),
    );
    x.expect(&r, 200, "update poster");
    let r = x.json(
        "PATCH",
        pos1,
        &[s, poster],
        json!({"poster": {"paper_size": "a0"}}),
    );
    x.expect(&r, 422, "bad paper");
    let r = x.json(
        "PUT",
        pos1,
        &[s, poster],
        json!({"poster": {"title": "Stamp cards!"}}),
    );
    x.expect(&r, 200, "update poster by PUT");
    let r = x.json(
        "PUT",
        pos1,
        &[s, poster],
        json!({"poster": {"card_id": small_card}}),
    );
    x.expect(&r, 422, "move poster");
    let c = x.call("DELETE", pos1, &[s, poster]);
    let r = x.run(c);
    x.expect(&r, 204, "delete poster");
    let c = x.call("DELETE", pos1, &[s, poster]);
    let r = x.run(c);
    x.expect(&r, 404, "delete poster again");

    // Staff, paired devices, sessions, the counter and flags.
    let r = x.json(
        "POST",
        "/accounts/{account_id}/staff",
        &[s],
        json!({"staff": {"name": "Sam", "pin": "1234"}}),
    );
    x.expect(&r, 201, "create staff");
    let sam = r.body["id"].as_i64().unwrap_or(0);
    let r = x.raw(
        "POST",
        "/accounts/{account_id}/staff",
        &[s],
        Some("application/x-www-form-urlencoded"),
        b"staff[name]=Olga&staff[pin]=55",
    );
    x.expect(&r, 422, "short PIN");
    let r = x.get("/accounts/{account_id}/staff", &[s], "");
    x.expect(&r, 200, "staff");
    let r = x.get("/accounts/{account_id}/staff", &[s + 100], "");
    x.expect(&r, 404, "staff of another store");
    let member = "/accounts/{account_id}/staff/{id}";
    let r = x.get(member, &[s, sam], "");
    x.expect(&r, 200, "staff member");
    let r = x.get(member, &[s, 9999], "");
    x.expect(&r, 404, "no staff member");
    let r = x.json(
        "PATCH",
        member,
        &[s, sam],
        json!({"staff": {"role": "owner"}}),
    );
    x.expect(&r, 200, "update staff");
    let r = x.json("PUT", member, &[s, sam], json!({"staff": {"role": "boss"}}));
    x.expect(&r, 422, "bad role");
    let r = x.json(
        "PUT",
        member,
        &[s, sam],
        json!({"staff": {"role": "staff"}}),
    );
    x.expect(&r, 200, "update staff by PUT");
    let r = x.json("PATCH", member, &[s, sam], json!({"staff": {"pin": 12}}));
    x.expect(&r, 422, "numeric PIN");
    let codes = "/accounts/{account_id}/devices/pairing_codes";
    let r = x.json("POST", codes, &[s], json!({"name": "Counter"}));
    x.expect(&r, 201, "pairing code");
    let code = r.body["code"].as_str().unwrap_or_default().to_string();
    let r = x.json("POST", codes, &[s], json!({"name": "a\u{202e}b"}));
    x.expect(&r, 422, "device name with a direction override");
    let mut c = x.call("POST", "/devices/pair", &[]);
    c.token = None;
    c.content_type = Some("application/json");
    c.body = Some(json!({"code": code}).to_string().into_bytes());
    let r = x.run(c);
    x.expect(&r, 201, "pair");
    let device_token = r.body["token"].as_str().unwrap_or_default().to_string();
    let device = r.body["device"]["id"].as_i64().unwrap_or(0);
    let mut c = x.call("POST", "/devices/pair", &[]);
    c.token = None;
    c.content_type = Some("application/json");
    c.body = Some(json!({"code": code}).to_string().into_bytes());
    let r = x.run(c);
    x.expect(&r, 422, "pair twice");
    let sessions = "/accounts/{account_id}/staff/{id}/sessions";
    let mut c = x.call("POST", sessions, &[s, sam]);
    c.token = Some(device_token.clone());
    c.content_type = Some("application/json");
    c.body = Some(br#"{"pin": "0000"}"#.to_vec());
    let r = x.run(c);
    x.expect(&r, 422, "wrong PIN");
    let mut c = x.call("POST", sessions, &[s, sam]);
    c.token = Some(device_token.clone());
    c.content_type = Some("application/json");
    c.body = Some(br#"{"pin": "1234"}"#.to_vec());
    let r = x.run(c);
    x.expect(&r, 201, "sign in");
    let session = r.body["token"].as_str().unwrap_or_default().to_string();
    let counter = "/accounts/{account_id}/counter";
    let mut c = x.call("GET", counter, &[s]);
    c.token = Some(device_token.clone());
    c.headers.push(("X-Staff-Session", session.clone()));
    let r = x.run(c);
    x.expect(&r, 200, "counter");
    let r = x.get(counter, &[s + 100], "");
    x.expect(&r, 404, "counter of another store");
    let mut c = x.call("GET", "/accounts/{account_id}/flags", &[s]);
    c.token = Some(device_token.clone());
    c.headers.push(("X-Staff-Session", session.clone()));
    let r = x.run(c);
    x.expect(&r, 403, "flags as staff");
    let r = x.get("/accounts/{account_id}/flags", &[s], "?page=2");
    x.expect(&r, 200, "flags");
    let mut c = x.call("POST", stamp, &[s, ann, ann_card]);
    c.token = Some(device_token.clone());
    c.headers.push(("X-Staff-Session", session.clone()));
    c.content_type = Some("application/json");
    c.body = Some(br#"{"stamps": 1, "override": true}"#.to_vec());
    let r = x.run(c);
    x.expect(&r, 403, "a staff override");
    let mut c = x.call("DELETE", "/accounts/{account_id}/counter/session", &[s]);
    c.token = Some(device_token.clone());
    c.headers.push(("X-Staff-Session", session.clone()));
    let r = x.run(c);
    x.expect(&r, 204, "sign out");
    let c = x.call(
        "DELETE",
        "/accounts/{account_id}/counter/session",
        &[s + 100],
    );
    let r = x.run(c);
    x.expect(&r, 404, "sign out of another store");
    let r = x.json(
        "POST",
        "/accounts/{account_id}/staff/{id}/unlock",
        &[s, sam],
        json!({}),
    );
    x.expect(&r, 200, "unlock staff");
    let r = x.json(
        "POST",
        "/accounts/{account_id}/staff/{id}/unlock",
        &[s, 9999],
        json!({}),
    );
    x.expect(&r, 404, "unlock no one");
    let r = x.get("/accounts/{account_id}/devices", &[s], "");
    x.expect(&r, 200, "devices");
    let r = x.get("/accounts/{account_id}/devices", &[s + 100], "");
    x.expect(&r, 404, "devices of another store");
    let one_device = "/accounts/{account_id}/devices/{id}";
    let r = x.get(one_device, &[s, device], "");
    x.expect(&r, 200, "device");
    let r = x.get(one_device, &[s, 9999], "");
    x.expect(&r, 404, "no device");
    let unlock = "/accounts/{account_id}/devices/{id}/unlock";
    let r = x.json("POST", unlock, &[s, device], json!({}));
    x.expect(&r, 200, "unlock device");
    let r = x.json("POST", unlock, &[s, 9999], json!({}));
    x.expect(&r, 404, "unlock no device");
    let c = x.call("DELETE", one_device, &[s, device]);
    let r = x.run(c);
    x.expect(&r, 204, "revoke device");
    let c = x.call("DELETE", one_device, &[s, device]);
    let r = x.run(c);
    x.expect(&r, 404, "revoke again");
    // Webhook subscriptions, to a receiver of the test's own (plain http, allowed here).
    let hooks = "/accounts/{account_id}/webhook_subscriptions";
    let hook = "/accounts/{account_id}/webhook_subscriptions/{id}";
    let target = format!("http://127.0.0.1:{}/in", receiver.port);
    let r = x.json(
        "POST",
        hooks,
        &[s],
        json!({"target_url": target, "events": ["*"]}),
    );
    x.expect(&r, 201, "create subscription");
    let sub = r.json()["id"].as_i64().unwrap();
    let r = x.json("POST", hooks, &[s], json!({"events": ["*"]}));
    x.expect(&r, 422, "subscription without a target");
    let r = x.get(hooks, &[s], "?event=stamp.earned");
    x.expect(&r, 200, "list subscriptions");
    let r = x.get(hooks, &[s], "?event=nope");
    x.expect(&r, 422, "list subscriptions of no event");
    let r = x.get(hook, &[s, sub], "");
    x.expect(&r, 200, "show subscription");
    let r = x.get(hook, &[s, 999_999], "");
    x.expect(&r, 404, "show missing subscription");
    for method in ["PATCH", "PUT"] {
        let r = x.json(method, hook, &[s, sub], json!({"description": "POS"}));
        x.expect(&r, 200, "update subscription");
        let r = x.json(method, hook, &[s, sub], json!({"payload_format": "flat"}));
        x.expect(&r, 422, "flat for every event");
    }
    let rotate = "/accounts/{account_id}/webhook_subscriptions/{id}/rotate_secret";
    let r = x.json("POST", rotate, &[s, sub], json!({}));
    x.expect(&r, 200, "rotate secret");
    let r = x.json("POST", rotate, &[s, 999_999], json!({}));
    x.expect(&r, 404, "rotate a missing subscription's secret");
    let test = "/accounts/{account_id}/webhook_subscriptions/{id}/test";
    let r = x.json("POST", test, &[s, sub], json!({}));
    x.expect(&r, 200, "test subscription");
    let r = x.json("POST", test, &[s, 999_999], json!({}));
    x.expect(&r, 404, "test a missing subscription");
    let list = "/accounts/{account_id}/webhook_subscriptions/{id}/deliveries";
    let r = x.get(list, &[s, sub], "?items=1");
    x.expect(&r, 200, "delivery attempts");
    let r = x.get(list, &[s, sub], "?page=0");
    x.expect(&r, 422, "delivery attempts, page 0");
    let redeliver =
        "/accounts/{account_id}/webhook_subscriptions/{id}/deliveries/{delivery_id}/redeliver";
    let stamped = app
        .create_customer(json!({"customer": {"first_name": "Hook", "email": "hook@example.com"}}));
    assert!(stamped["id"].is_i64());
    receiver.wait_for(2, std::time::Duration::from_secs(15));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    let delivered = loop {
        let found = app.conn().query_row(
            "SELECT id FROM webhook_deliveries WHERE outbox_id IS NOT NULL LIMIT 1",
            [],
            |r| r.get::<_, i64>(0),
        );
        match found {
            Ok(id) => break id,
            Err(_) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(50))
            }
            Err(e) => panic!("no delivery recorded: {e}"),
        }
    };
    let r = x.json("POST", redeliver, &[s, sub, delivered], json!({}));
    x.expect(&r, 202, "redeliver");
    let r = x.json("POST", redeliver, &[s, sub, 999_999], json!({}));
    x.expect(&r, 404, "redeliver a missing delivery");
    let c = x.call("DELETE", hook, &[s, sub]);
    let r = x.run(c);
    x.expect(&r, 204, "delete subscription");
    let c = x.call("DELETE", hook, &[s, sub]);
    let r = x.run(c);
    x.expect(&r, 404, "delete subscription again");

    // Erasure, last: the customer is gone afterwards.
    let c = x.call("DELETE", "/accounts/{account_id}/customers/{id}", &[s, bob]);
    let r = x.run(c);
    x.expect(&r, 204, "erase");
    let c = x.call("DELETE", "/accounts/{account_id}/customers/{id}", &[s, bob]);
    let r = x.run(c);
    x.expect(&r, 404, "erase again");

    // Every operation was called, with a success and with an error.
    let mut missing = Vec::new();
    for (path, method) in stampd::api::api_route_list() {
        let key = (path.clone(), method.as_str().to_string());
        let statuses = x.seen.get(&key).cloned().unwrap_or_default();
        let public = stampd::api::status::PUBLIC_PATHS
            .iter()
            .any(|p| path == format!("/api/v1{p}"));
        if !statuses.iter().any(|s| (200..300).contains(s))
            || (!public && !statuses.iter().any(|s| *s >= 400))
        {
            missing.push(format!("{method} {path}: saw {statuses:?}"));
        }
    }
    assert!(
        x.failures.is_empty(),
        "answers that contradict the OpenAPI document:\n{}",
        x.failures.join("\n")
    );
    assert!(
        missing.is_empty(),
        "operations not exercised with both a success and an error (add them to this test): {missing:#?}"
    );
}

#[test]
fn rate_limited_answers_are_documented_too() {
    let app = spawn_app_with(|s| s.rate_limit_per_minute = 2);
    let doc = fetch_document(&app);
    let mut x = Exerciser::new(&app, doc);
    let s = app.store_id;
    let r = x.get("/accounts/{account_id}", &[s], "");
    x.expect(&r, 200, "first");
    for h in ["RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"] {
        assert!(r.header(h).is_some(), "{h} missing: {:?}", r.headers);
    }
    x.get("/accounts", &[], "");
    let r = x.json(
        "POST",
        "/accounts/{account_id}/cards",
        &[s],
        json!({"card": {"name": "x"}}),
    );
    x.expect(&r, 429, "third");
    assert!(r.header("Retry-After").is_some(), "{:?}", r.headers);
    assert!(x.failures.is_empty(), "{}", x.failures.join("\n"));
}
