//! Lists of texts in a body (`auxiliary_fields`), from JSON or a Rails-style form.

use serde_json::{Map, Value};

use super::Field;
use crate::error::FieldErrors;

/// A list of texts (`key[]=a&key[]=b` in a form): each entry as text, a null entry as
/// empty text; `null` or blank text for the whole list is `Null`.
pub fn text_list(
    obj: &Map<String, Value>,
    key: &str,
    errors: &mut FieldErrors,
) -> Field<Vec<String>> {
    const NOT_A_LIST: &str = "must be an array of text";
    let entries: Vec<Value> = match obj.get(key) {
        None => return Field::Absent,
        Some(Value::Null) => return Field::Null,
        Some(Value::String(s)) if s.trim().is_empty() => return Field::Null,
        Some(Value::Array(a)) => a.clone(),
        // A form body may number its entries: `key[0]=a&key[1]=b`.
        Some(Value::Object(m)) if !m.is_empty() && m.keys().all(|k| k.parse::<usize>().is_ok()) => {
            let mut numbered: Vec<(usize, &Value)> =
                m.iter().map(|(k, v)| (k.parse().unwrap_or(0), v)).collect();
            numbered.sort_by_key(|e| e.0);
            numbered.into_iter().map(|e| e.1.clone()).collect()
        }
        Some(_) => {
            errors.add(key, NOT_A_LIST);
            return Field::Absent;
        }
    };
    let mut texts = Vec::with_capacity(entries.len());
    for entry in entries {
        match entry {
            Value::Null => texts.push(String::new()),
            Value::String(s) => texts.push(s),
            Value::Number(n) => texts.push(n.to_string()),
            Value::Bool(b) => texts.push(b.to_string()),
            _ => {
                errors.add(key, NOT_A_LIST);
                return Field::Absent;
            }
        }
    }
    Field::Set(texts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::parse_form;
    use serde_json::json;

    #[test]
    fn text_lists_from_json_and_forms() {
        let mut errors = FieldErrors::new();
        let list = |v: Value, errors: &mut FieldErrors| {
            let obj = json!({ "k": v });
            match text_list(obj.as_object().unwrap(), "k", errors) {
                Field::Set(t) => Some(t),
                _ => None,
            }
        };
        assert_eq!(
            list(json!(["a", null, 3, true]), &mut errors).unwrap(),
            ["a", "", "3", "true"]
        );
        let form = parse_form(b"k[1]=second&k[0]=first").unwrap();
        assert_eq!(
            list(form["k"].clone(), &mut errors).unwrap(),
            ["first", "second"]
        );
        let form = parse_form(b"k[]=x&k[]=").unwrap();
        assert_eq!(list(form["k"].clone(), &mut errors).unwrap(), ["x", ""]);
        assert!(errors.is_empty());
        assert_eq!(list(json!(" "), &mut errors), None);
        assert!(errors.is_empty(), "blank text is null");
        for bad in [
            json!("x"),
            json!({"a": 1}),
            json!([["nested"]]),
            json!([{"a": 1}]),
        ] {
            let mut errors = FieldErrors::new();
            assert_eq!(list(bad.clone(), &mut errors), None, "{bad}");
            assert_eq!(errors.0["k"], ["must be an array of text"], "{bad}");
        }
    }
}
