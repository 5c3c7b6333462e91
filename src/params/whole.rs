//! Whole numbers of a body: written as decimals where Leal's SDK sends floats, and kept
//! to a range.

use serde_json::{Map, Value};

use super::{integer, parse_integer, Field};
use crate::error::FieldErrors;

/// A whole number in a field that Leal's SDK types as a float (`strip_opacity`,
/// `minimum_age`): its models send `60.0` for 60, so a decimal without a fraction is
/// the whole number it writes; `60.5` is still "must be an integer".
pub fn whole_number(obj: &Map<String, Value>, key: &str, errors: &mut FieldErrors) -> Field<i64> {
    let as_whole = |v: &Value| -> Option<i64> {
        let f = match v {
            Value::Number(n) => n.as_f64()?,
            Value::String(s) => s.trim().parse::<f64>().ok()?,
            _ => return None,
        };
        // Past 2^53 a float no longer tells whole numbers apart.
        (f.is_finite() && f.fract() == 0.0 && f.abs() <= 9_007_199_254_740_992.0)
            .then_some(f as i64)
    };
    match obj.get(key) {
        Some(v) if parse_integer(v) == Err("must be an integer") => match as_whole(v) {
            Some(n) => Field::Set(n),
            None => {
                errors.add(key, "must be an integer");
                Field::Absent
            }
        },
        _ => integer(obj, key, errors),
    }
}

/// A whole number kept to `range`; outside it, Rails' message names the bound.
pub fn within(
    n: Field<i64>,
    key: &str,
    range: &std::ops::RangeInclusive<i64>,
    errors: &mut FieldErrors,
) -> Field<i64> {
    match n {
        Field::Set(n) if n < *range.start() => {
            errors.add(
                key,
                format!("must be greater than or equal to {}", range.start()),
            );
            Field::Absent
        }
        Field::Set(n) if n > *range.end() => {
            errors.add(
                key,
                format!("must be less than or equal to {}", range.end()),
            );
            Field::Absent
        }
        f => f,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn whole_numbers_may_be_written_as_decimals() {
        let obj =
            json!({"a": 60, "b": 60.0, "c": "60.0", "d": 60.5, "e": "sixty", "f": 1e300, "g": ""});
        let obj = obj.as_object().unwrap();
        let mut errors = FieldErrors::new();
        for key in ["a", "b", "c"] {
            assert!(
                matches!(whole_number(obj, key, &mut errors), Field::Set(60)),
                "{key}"
            );
        }
        assert!(errors.is_empty());
        assert!(matches!(whole_number(obj, "g", &mut errors), Field::Null));
        assert!(matches!(whole_number(obj, "z", &mut errors), Field::Absent));
        for (key, message) in [
            ("d", "must be an integer"),
            ("e", "is not a number"),
            ("f", "is out of range"),
        ] {
            assert!(
                matches!(whole_number(obj, key, &mut errors), Field::Absent),
                "{key}"
            );
            assert_eq!(errors.0[key], [message], "{key}");
        }
    }
}
