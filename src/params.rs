//! Request bodies and parameters: JSON or Rails-style form bodies, read into one JSON
//! object, and lenient typed access to its fields (a form sends `"3"` where JSON sends `3`).

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::api::AppState;
use crate::config::Settings;
use crate::error::{ApiError, FieldErrors};

mod list;
mod whole;

pub use list::text_list;
pub use whole::{whole_number, within};

/// Largest accepted request body.
pub const BODY_LIMIT: usize = 64 * 1024;

/// A request body as a JSON object (empty when the request has no body).
#[derive(Debug, Clone)]
pub struct Body {
    pub params: Map<String, Value>,
    /// The request's `Idempotency-Key`, if it carried one.
    pub idempotency_key: Option<String>,
    /// SHA-256 of method, path and raw body: what a repeat of the key must match.
    pub fingerprint: [u8; 32],
}

impl FromRequest for Body {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Body, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap_or("invalid").to_string());
        let key = idempotency_key(req);
        let head = format!("{} {}\n", req.method(), req.path());
        let raw = RawBody::from_request(req, payload);
        Box::pin(async move {
            let idempotency_key = key?;
            let RawBody(raw) = raw.await?;
            let params = parse_body(content_type.as_deref(), &raw)?;
            let mut h = Sha256::new();
            h.update(head.as_bytes());
            h.update(&raw);
            Ok(Body {
                params,
                idempotency_key,
                fingerprint: h.finalize().into(),
            })
        })
    }
}

/// A request body's bytes, as every route that reads a body reads it: at most
/// [`BODY_LIMIT`] bytes (else 413), arriving within `request_body_timeout_secs` of the
/// head (else 408). A client that trickles its body cannot hold a connection, a
/// handler and its buffer for longer than that.
#[derive(Debug, Clone)]
pub struct RawBody(pub Vec<u8>);

impl FromRequest for RawBody {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<RawBody, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let declared_len = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        // How long the whole body may take once the head is in (the head has its own
        // limit, `request_head_timeout_secs`).
        let body_timeout = std::time::Duration::from_secs(
            req.app_data::<web::Data<AppState>>()
                .map(|state| state.settings.request_body_timeout_secs)
                .unwrap_or_else(|| Settings::default().request_body_timeout_secs),
        );
        let mut payload = payload.take();
        Box::pin(async move {
            if declared_len.is_some_and(|n| n > BODY_LIMIT) {
                return Err(ApiError::PayloadTooLarge);
            }
            let raw = actix_web::rt::time::timeout(body_timeout, read_limited(&mut payload))
                .await
                .map_err(|_| ApiError::RequestTimeout)??;
            Ok(RawBody(raw))
        })
    }
}

/// The `Idempotency-Key` header: 1 to 255 visible ASCII characters.
fn idempotency_key(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    let Some(v) = req.headers().get("idempotency-key") else {
        return Ok(None);
    };
    let s = v.to_str().unwrap_or("").trim();
    if s.is_empty() || s.len() > 255 || !s.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ApiError::BadRequest(
            "Idempotency-Key must be 1 to 255 visible ASCII characters".into(),
        ));
    }
    Ok(Some(s.to_string()))
}

async fn read_limited(payload: &mut Payload) -> Result<Vec<u8>, ApiError> {
    use futures_core::Stream;
    let mut buf = Vec::new();
    loop {
        let next = std::future::poll_fn(|cx| Pin::new(&mut *payload).poll_next(cx)).await;
        let Some(chunk) = next else { break };
        let chunk = chunk
            .map_err(|e| ApiError::BadRequest(format!("Could not read the request body: {e}")))?;
        if buf.len() + chunk.len() > BODY_LIMIT {
            return Err(ApiError::PayloadTooLarge);
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf)
}

/// Parses a body by its content type into a JSON object.
pub fn parse_body(content_type: Option<&str>, raw: &[u8]) -> Result<Map<String, Value>, ApiError> {
    let mime = content_type
        .map(|ct| {
            ct.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default();
    let blank = raw.iter().all(|b| b.is_ascii_whitespace());
    let is_json =
        mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"));
    if is_json || mime.is_empty() {
        if blank {
            return Ok(Map::new());
        }
        return match serde_json::from_slice::<Value>(raw) {
            Ok(Value::Object(m)) => Ok(m),
            Ok(_) => Err(ApiError::BadRequest(
                "Request body must be a JSON object, e.g. {\"customer\": {...}}".into(),
            )),
            Err(e) if is_json => Err(ApiError::BadRequest(format!("Request body is not valid JSON: {e}"))),
            Err(_) => Err(ApiError::UnsupportedMediaType(
                "Unsupported Content-Type: send application/json or application/x-www-form-urlencoded".into(),
            )),
        };
    }
    if mime == "application/x-www-form-urlencoded" {
        return parse_form(raw);
    }
    if blank {
        return Ok(Map::new());
    }
    Err(ApiError::UnsupportedMediaType(format!(
        "Unsupported Content-Type {mime:?}: send application/json or application/x-www-form-urlencoded"
    )))
}

/// Parses `customer[first_name]=Ann&customer[tags][]=a&refs[][source]=pos` the way Rails does.
pub fn parse_form(raw: &[u8]) -> Result<Map<String, Value>, ApiError> {
    if std::str::from_utf8(raw).is_err() {
        return Err(ApiError::BadRequest("Form body is not valid UTF-8".into()));
    }
    let mut root = Value::Object(Map::new());
    for (key, value) in form_urlencoded::parse(raw) {
        if key.is_empty() {
            continue;
        }
        let shown = shorten(&key);
        let segments = split_key(&key).ok_or_else(|| {
            ApiError::BadRequest(format!("Malformed form parameter name {shown:?}"))
        })?;
        // Nesting is followed recursively (and the value tree is dropped recursively), so
        // a deep key would overflow the stack and bring the whole server down.
        if segments.len() > FORM_DEPTH_LIMIT {
            return Err(ApiError::BadRequest(format!(
                "Form parameter name {shown:?} is nested too deeply (at most {FORM_DEPTH_LIMIT} levels)"
            )));
        }
        insert(&mut root, &segments, value.into_owned())
            .map_err(|_| ApiError::BadRequest(format!("Conflicting form parameter {shown:?}")))?;
    }
    match root {
        Value::Object(m) => Ok(m),
        _ => unreachable!("the root is always an object"),
    }
}

/// Deepest nesting of a form parameter name (`a[b][c]` is 3 levels).
const FORM_DEPTH_LIMIT: usize = 32;

/// A parameter name as quoted in an error: at most 60 characters.
fn shorten(key: &str) -> String {
    match key.char_indices().nth(60) {
        Some((i, _)) => format!("{}...", &key[..i]),
        None => key.to_string(),
    }
}

fn split_key(key: &str) -> Option<Vec<String>> {
    let (head, mut rest) = match key.find('[') {
        Some(i) => (&key[..i], &key[i..]),
        None => return Some(vec![key.to_string()]),
    };
    if head.is_empty() {
        return None;
    }
    let mut segs = vec![head.to_string()];
    while !rest.is_empty() {
        if !rest.starts_with('[') {
            return None;
        }
        let end = rest.find(']')?;
        segs.push(rest[1..end].to_string());
        rest = &rest[end + 1..];
    }
    Some(segs)
}

fn insert(target: &mut Value, segs: &[String], value: String) -> Result<(), ()> {
    let obj = target.as_object_mut().ok_or(())?;
    let name = &segs[0];
    let rest = &segs[1..];
    if rest.is_empty() {
        obj.insert(name.clone(), Value::String(value));
        return Ok(());
    }
    if rest[0].is_empty() {
        let arr = obj
            .entry(name.clone())
            .or_insert_with(|| Value::Array(Vec::new()))
            .as_array_mut()
            .ok_or(())?;
        if rest.len() == 1 {
            arr.push(Value::String(value));
            return Ok(());
        }
        let child_key = &rest[1];
        let reuse = matches!(arr.last(), Some(Value::Object(m)) if !m.contains_key(child_key) || rest.len() > 2 && m.get(child_key).is_some_and(|v| v.is_object()));
        if !reuse {
            arr.push(Value::Object(Map::new()));
        }
        let last = arr.last_mut().ok_or(())?;
        return insert(last, &rest[1..], value);
    }
    let child = obj
        .entry(name.clone())
        .or_insert_with(|| Value::Object(Map::new()));
    insert(child, rest, value)
}

/// A body read into a handler's typed input: the values that were valid, and the errors
/// of those that were not. The writer adds the errors only the database can find
/// (uniqueness, a card that is not there, ...) and answers them all at once.
pub struct Parsed<T> {
    pub value: T,
    pub errors: FieldErrors,
}

/// A field as the client sent it: left out, explicitly `null` (or blank), or a value.
#[derive(Debug, Clone, PartialEq)]
pub enum Field<T> {
    Absent,
    Null,
    Set(T),
}

impl<T> Field<T> {
    pub fn is_absent(&self) -> bool {
        matches!(self, Field::Absent)
    }

    /// Applies the field to a current optional value: absent keeps it.
    pub fn merge_into(self, current: Option<T>) -> Option<T> {
        match self {
            Field::Absent => current,
            Field::Null => None,
            Field::Set(v) => Some(v),
        }
    }

    pub fn set(self) -> Option<T> {
        match self {
            Field::Set(v) => Some(v),
            _ => None,
        }
    }

    /// The value of a field that can be left out but not cleared: `null` (or blank) is
    /// "can't be blank", and so is leaving it out when it is `required` (on create) and
    /// it has no error yet.
    pub fn not_blank(self, key: &str, required: bool, errors: &mut FieldErrors) -> Option<T> {
        match self {
            Field::Set(v) => Some(v),
            Field::Null => {
                errors.add(key, "can't be blank");
                None
            }
            Field::Absent if required && !errors.has(key) => {
                errors.add(key, "can't be blank");
                None
            }
            Field::Absent => None,
        }
    }
}

impl<T: PartialEq> Field<T> {
    /// A field that never changes: given, it must be the stored value.
    pub fn unchanged(&self, stored: &T, key: &str, errors: &mut FieldErrors) {
        match self {
            Field::Set(v) if v == stored => {}
            Field::Set(_) | Field::Null => errors.add(key, "can't be changed"),
            Field::Absent => {}
        }
    }
}

/// The attributes object under a root key (`customer`, `card`, ...). Like Rails' JSON
/// parameter wrapping, a body without the root key is taken as the attributes itself.
pub fn attributes<'a>(
    body: &'a Map<String, Value>,
    root: &str,
) -> Result<&'a Map<String, Value>, ApiError> {
    match body.get(root) {
        None => Ok(body),
        Some(Value::Object(m)) => Ok(m),
        Some(_) => Err(FieldErrors::single(root, "must be an object")),
    }
}

/// A text field. Numbers and booleans are taken as their text (forms send everything
/// as text); blank text counts as `null`. NUL characters are refused.
pub fn text(obj: &Map<String, Value>, key: &str, errors: &mut FieldErrors) -> Field<String> {
    match obj.get(key) {
        None => Field::Absent,
        Some(Value::Null) => Field::Null,
        Some(Value::String(s)) if s.trim().is_empty() => Field::Null,
        Some(Value::String(s)) if s.contains('\0') => {
            errors.add(key, "is invalid");
            Field::Absent
        }
        Some(Value::String(s)) => Field::Set(s.trim().to_string()),
        Some(Value::Number(n)) => Field::Set(n.to_string()),
        Some(Value::Bool(b)) => Field::Set(b.to_string()),
        Some(_) => {
            errors.add(key, "is invalid");
            Field::Absent
        }
    }
}

/// A text field read into a domain value by `parse`, whose message is the field's error.
pub fn domain<T>(
    obj: &Map<String, Value>,
    key: &str,
    errors: &mut FieldErrors,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Field<T> {
    match text(obj, key, errors) {
        Field::Set(s) => match parse(&s) {
            Ok(v) => Field::Set(v),
            Err(m) => {
                errors.add(key, m);
                Field::Absent
            }
        },
        Field::Null => Field::Null,
        Field::Absent => Field::Absent,
    }
}

/// A text field with a length limit (in characters).
pub fn bounded_text(
    obj: &Map<String, Value>,
    key: &str,
    max: usize,
    errors: &mut FieldErrors,
) -> Field<String> {
    match text(obj, key, errors) {
        Field::Set(s) if s.chars().count() > max => {
            errors.add(key, crate::domain::too_long(max));
            Field::Absent
        }
        f => f,
    }
}

/// A name or title shown to people ([`bounded_text`] whose characters pass
/// [`crate::domain::check_name`]): every such field reads through here, so the rule
/// holds for all of them.
pub fn name_text(
    obj: &Map<String, Value>,
    key: &str,
    max: usize,
    errors: &mut FieldErrors,
) -> Field<String> {
    match bounded_text(obj, key, max, errors) {
        Field::Set(s) => match crate::domain::check_name(&s) {
            Ok(()) => Field::Set(s),
            Err(message) => {
                errors.add(key, message);
                Field::Absent
            }
        },
        f => f,
    }
}

/// A whole number, from a JSON number or a numeric string.
pub fn integer(obj: &Map<String, Value>, key: &str, errors: &mut FieldErrors) -> Field<i64> {
    match obj.get(key) {
        None => Field::Absent,
        Some(Value::Null) => Field::Null,
        Some(v) => match parse_integer(v) {
            Ok(Some(n)) => Field::Set(n),
            Ok(None) => Field::Null,
            Err(msg) => {
                errors.add(key, msg);
                Field::Absent
            }
        },
    }
}

/// `Ok(None)` for a blank string. A number written with a fraction or an exponent
/// (`1.0`, `"1.0"`, `1e2`) is not taken as a whole number, even when its value is one:
/// "must be an integer" says what to send instead; "is out of range" is kept for whole
/// numbers beyond 64 bits.
pub fn parse_integer(v: &Value) -> Result<Option<i64>, &'static str> {
    match v {
        Value::Number(n) => match n.as_i64() {
            Some(i) => Ok(Some(i)),
            None if n.is_f64() => not_whole(n.as_f64().unwrap_or(f64::NAN)),
            None => Err("is out of range"),
        },
        Value::String(s) if s.trim().is_empty() => Ok(None),
        Value::String(s) => {
            let t = s.trim();
            let digits = t.strip_prefix(['-', '+']).unwrap_or(t);
            match t.parse::<i64>() {
                Ok(i) => Ok(Some(i)),
                Err(_) if !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()) => {
                    Err("is out of range")
                }
                // Rust also reads "inf" and "NaN" as numbers; a client means no number.
                Err(_) if digits.starts_with(|c: char| c.is_ascii_digit() || c == '.') => {
                    match t.parse::<f64>() {
                        Ok(f) => not_whole(f),
                        Err(_) => Err("is not a number"),
                    }
                }
                Err(_) => Err("is not a number"),
            }
        }
        _ => Err("is not a number"),
    }
}

/// The message for a number written as a decimal: within range it is "must be an
/// integer", whatever its fraction.
fn not_whole(f: f64) -> Result<Option<i64>, &'static str> {
    // 2^63: the first magnitude an i64 cannot hold.
    if f.is_finite() && f.abs() < 9_223_372_036_854_775_808.0 {
        Err("must be an integer")
    } else {
        Err("is out of range")
    }
}

/// A boolean: `true`/`false`, `1`/`0`, as JSON values or strings.
pub fn boolean(obj: &Map<String, Value>, key: &str, errors: &mut FieldErrors) -> Field<bool> {
    match obj.get(key) {
        None => Field::Absent,
        Some(Value::Null) => Field::Null,
        Some(v) => match parse_bool(v) {
            Some(b) => Field::Set(b),
            None if matches!(v, Value::String(s) if s.trim().is_empty()) => Field::Null,
            None => {
                errors.add(key, "must be one of: true, false, 1, 0");
                Field::Absent
            }
        },
    }
}

pub fn parse_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => match n.as_i64() {
            Some(1) => Some(true),
            Some(0) => Some(false),
            _ => None,
        },
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" => Some(true),
            "false" | "0" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// The query string as key/value pairs (last one wins).
pub fn query_map(req: &HttpRequest) -> std::collections::HashMap<String, String> {
    form_urlencoded::parse(req.query_string().as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// The query string as JSON text values, so that a list's filters are read (and
/// refused) by the same rules as a body's fields.
pub fn query_fields(query: &std::collections::HashMap<String, String>) -> Map<String, Value> {
    query
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect()
}

/// A number (JSON number or numeric text).
pub fn number(obj: &Map<String, Value>, key: &str, errors: &mut FieldErrors) -> Field<f64> {
    match obj.get(key) {
        None => Field::Absent,
        Some(Value::Null) => Field::Null,
        Some(Value::String(s)) if s.trim().is_empty() => Field::Null,
        Some(Value::Number(n)) => match n.as_f64().filter(|f| f.is_finite()) {
            Some(f) => Field::Set(f),
            None => {
                errors.add(key, "is not a number");
                Field::Absent
            }
        },
        Some(Value::String(s)) => match s.trim().parse::<f64>().ok().filter(|f| f.is_finite()) {
            Some(f) => Field::Set(f),
            None => {
                errors.add(key, "is not a number");
                Field::Absent
            }
        },
        Some(_) => {
            errors.add(key, "is not a number");
            Field::Absent
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rails_form_bodies_nest() {
        let m = parse_form(
            b"customer%5Bfirst_name%5D=Ann&customer[email]=a%40b.co&card_id=3&send_card_links=1",
        )
        .unwrap();
        assert_eq!(
            Value::Object(m),
            json!({"customer": {"first_name": "Ann", "email": "a@b.co"}, "card_id": "3", "send_card_links": "1"})
        );
        let m = parse_form(b"c[refs][][source]=pos&c[refs][][external_id]=1&c[refs][][source]=crm&c[refs][][external_id]=2&tags[]=a&tags[]=b").unwrap();
        assert_eq!(
            Value::Object(m),
            json!({"c": {"refs": [{"source": "pos", "external_id": "1"}, {"source": "crm", "external_id": "2"}]}, "tags": ["a", "b"]})
        );
        assert!(parse_form(b"a=1&a[b]=2").is_err());
        assert!(parse_form(b"a[b=1").is_err());
        let deep = format!("a{}=1", "[b]".repeat(40_000));
        assert!(matches!(
            parse_form(deep.as_bytes()),
            Err(ApiError::BadRequest(_))
        ));
        let deep = format!("a{}=1", "[]".repeat(40_000));
        assert!(matches!(
            parse_form(deep.as_bytes()),
            Err(ApiError::BadRequest(_))
        ));
        let ok = format!("a{}=1", "[b]".repeat(FORM_DEPTH_LIMIT - 1));
        assert!(parse_form(ok.as_bytes()).is_ok());
    }

    #[test]
    fn bodies_by_content_type() {
        assert!(parse_body(Some("application/json; charset=utf-8"), b"{\"a\":1}").is_ok());
        assert!(matches!(
            parse_body(Some("application/json"), b"[1]"),
            Err(ApiError::BadRequest(_))
        ));
        assert!(matches!(
            parse_body(Some("application/json"), b"{bad"),
            Err(ApiError::BadRequest(_))
        ));
        assert!(matches!(
            parse_body(Some("text/plain"), b"hello"),
            Err(ApiError::UnsupportedMediaType(_))
        ));
        assert!(matches!(
            parse_body(None, b"hello"),
            Err(ApiError::UnsupportedMediaType(_))
        ));
        assert!(parse_body(None, b"").unwrap().is_empty());
        assert!(parse_body(None, b"{\"a\":1}").is_ok());
    }

    #[test]
    fn lenient_scalars() {
        let obj =
            json!({"a": "3", "b": 4, "c": "x", "d": 1.5, "e": "", "t": "true", "z": 0, "n": null});
        let obj = obj.as_object().unwrap();
        let mut e = FieldErrors::new();
        assert_eq!(integer(obj, "a", &mut e), Field::Set(3));
        assert_eq!(integer(obj, "b", &mut e), Field::Set(4));
        assert_eq!(integer(obj, "e", &mut e), Field::Null);
        assert_eq!(integer(obj, "n", &mut e), Field::Null);
        assert_eq!(integer(obj, "missing", &mut e), Field::Absent);
        assert!(e.is_empty());
        integer(obj, "c", &mut e);
        integer(obj, "d", &mut e);
        assert_eq!(e.0["c"], vec!["is not a number"]);
        assert_eq!(e.0["d"], vec!["must be an integer"]);
        for (v, message) in [
            (json!(1.0), "must be an integer"),
            (json!("1.0"), "must be an integer"),
            (json!(" -2.50 "), "must be an integer"),
            (json!("1e2"), "must be an integer"),
            (json!(".5"), "must be an integer"),
            (json!(1e300), "is out of range"),
            (json!("1e300"), "is out of range"),
            (json!(u64::MAX), "is out of range"),
            (json!("99999999999999999999"), "is out of range"),
            (json!("1e999"), "is out of range"),
            (json!("inf"), "is not a number"),
            (json!("NaN"), "is not a number"),
            (json!("-"), "is not a number"),
            (json!("1.2.3"), "is not a number"),
            (json!(true), "is not a number"),
        ] {
            assert_eq!(parse_integer(&v), Err(message), "{v}");
        }
        let mut e = FieldErrors::new();
        assert_eq!(boolean(obj, "t", &mut e), Field::Set(true));
        assert_eq!(boolean(obj, "z", &mut e), Field::Set(false));
        assert_eq!(boolean(obj, "b", &mut e), Field::Absent);
        assert!(e.has("b"));
    }

    #[test]
    fn fields_that_cannot_be_cleared() {
        let mut e = FieldErrors::new();
        assert_eq!(Field::Set(3).not_blank("a", true, &mut e), Some(3));
        assert_eq!(Field::<i64>::Absent.not_blank("b", false, &mut e), None);
        assert!(e.is_empty());
        assert_eq!(Field::<i64>::Null.not_blank("c", false, &mut e), None);
        assert_eq!(Field::<i64>::Absent.not_blank("d", true, &mut e), None);
        assert_eq!(e.0["c"], vec!["can't be blank"]);
        assert_eq!(e.0["d"], vec!["can't be blank"]);
        // A field already refused keeps that one message.
        e.add("f", "is invalid");
        Field::<i64>::Absent.not_blank("f", true, &mut e);
        assert_eq!(e.0["f"], vec!["is invalid"]);
    }
}
