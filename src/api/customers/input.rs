//! The customer attributes of a request, read into domain values before the request
//! reaches the writer: the rules of each field (and their OpenAPI schema) live here.

use serde_json::{Map, Value};

use crate::db::customers::{CustomerFields, StoredReference};
use crate::domain::{limits, Birthday, Email, Phone};
use crate::error::{ApiError, FieldErrors};
use crate::params::{attributes, boolean, bounded_text, domain, integer, name_text, Field, Parsed};
use crate::time_fmt;

/// One external reference as given by the client.
pub struct ReferenceInput {
    pub source: String,
    pub external_id: String,
    pub metadata: Option<Value>,
}

/// The customer attributes of a request, parsed and validated one by one: what was
/// valid, as domain values; what was not is in the errors beside it.
pub struct CustomerInput {
    pub first_name: Field<String>,
    pub last_name: Field<String>,
    pub email: Field<Email>,
    pub phone: Field<Phone>,
    pub birthday: Field<Birthday>,
    pub metadata: Field<Map<String, Value>>,
    pub external_references: Vec<ReferenceInput>,
}

/// `POST /customers`: the attributes and the top-level action parameters.
pub struct CustomerCreate {
    /// The attributes applied to a new customer (first name and contact checked).
    pub fields: CustomerFields,
    pub external_references: Vec<ReferenceInput>,
    /// The card to enrol the customer in.
    pub card_id: Option<i64>,
    pub send_card_links: bool,
}

impl CustomerCreate {
    pub fn parse(
        params: &Map<String, Value>,
        country: phonenumber::country::Id,
    ) -> Result<Parsed<CustomerCreate>, ApiError> {
        let Parsed {
            value: input,
            mut errors,
        } = CustomerInput::read(params, country)?;
        let attrs = attributes(params, "customer")?;
        let mut fields = CustomerFields::default();
        input.merge_into(&mut fields, &mut errors);
        check_required(&fields, &mut errors);
        check_reference_totals(&[], &input.external_references, &mut errors);
        let card_id = match integer(params, "card_id", &mut errors) {
            Field::Absent => integer(attrs, "card_id", &mut errors).set(),
            f => f.set(),
        };
        let send_card_links = boolean(params, "send_card_links", &mut errors)
            .set()
            .unwrap_or(false);
        Ok(Parsed {
            value: CustomerCreate {
                fields,
                external_references: input.external_references,
                card_id,
                send_card_links,
            },
            errors,
        })
    }
}

impl CustomerInput {
    /// The customer attributes of a body, each field read on its own (for a `PATCH`,
    /// to be applied to the stored customer).
    pub fn read(
        params: &Map<String, Value>,
        country: phonenumber::country::Id,
    ) -> Result<Parsed<CustomerInput>, ApiError> {
        let mut errors = FieldErrors::new();
        let value = CustomerInput::parse(attributes(params, "customer")?, country, &mut errors);
        Ok(Parsed { value, errors })
    }

    fn parse(
        attrs: &Map<String, Value>,
        country: phonenumber::country::Id,
        errors: &mut FieldErrors,
    ) -> CustomerInput {
        let first_name = name_text(attrs, "first_name", limits::NAME, errors);
        let last_name = name_text(attrs, "last_name", limits::NAME, errors);
        let email = domain(attrs, "email", errors, Email::parse);
        let phone = domain(attrs, "phone", errors, |s| Phone::parse(s, country));
        let birthday = domain(attrs, "birthday", errors, |s| {
            Birthday::parse(s, time_fmt::today())
        });
        let metadata = match attrs.get("metadata") {
            None => Field::Absent,
            Some(Value::Null) => Field::Null,
            Some(Value::Object(m)) => {
                if Value::Object(m.clone()).to_string().len() > limits::METADATA_BYTES {
                    errors.add(
                        "metadata",
                        format!(
                            "is too large (maximum is {} bytes of JSON)",
                            limits::METADATA_BYTES
                        ),
                    );
                    Field::Absent
                } else {
                    Field::Set(m.clone())
                }
            }
            Some(_) => {
                errors.add("metadata", "must be a JSON object");
                Field::Absent
            }
        };
        let external_references = parse_references(attrs, errors);
        CustomerInput {
            first_name,
            last_name,
            email,
            phone,
            birthday,
            metadata,
            external_references,
        }
    }

    /// Applies the input to stored (or, on create, empty) attributes. Metadata is
    /// merged shallowly: given keys replace stored ones, a `null` value removes a key.
    pub fn merge_into(&self, f: &mut CustomerFields, errors: &mut FieldErrors) {
        match &self.first_name {
            Field::Set(n) => f.first_name = n.clone(),
            Field::Null => errors.add("first_name", "can't be blank"),
            Field::Absent => {}
        }
        f.last_name = self.last_name.clone().merge_into(f.last_name.take());
        f.email = self.email.clone().merge_into(f.email.take());
        f.phone = self.phone.clone().merge_into(f.phone.take());
        f.birthday = self.birthday.clone().merge_into(f.birthday.take());
        match &self.metadata {
            Field::Set(m) => {
                let before = json_bytes(&f.metadata);
                for (k, v) in m {
                    if v.is_null() {
                        f.metadata.remove(k);
                    } else {
                        f.metadata.insert(k.clone(), v.clone());
                    }
                }
                // The limit holds for what the customer keeps, not per request: merges
                // would otherwise grow one customer without end. A customer stored
                // over it before may still change and shrink, never grow.
                let after = json_bytes(&f.metadata);
                if after > limits::METADATA_BYTES && after > before {
                    errors.add(
                        "metadata",
                        format!(
                            "is too large: merged with the stored metadata it would be {after} \
                             bytes of JSON (maximum is {} bytes per customer)",
                            limits::METADATA_BYTES
                        ),
                    );
                }
            }
            Field::Null => f.metadata.clear(),
            Field::Absent => {}
        }
    }
}

fn parse_references(attrs: &Map<String, Value>, errors: &mut FieldErrors) -> Vec<ReferenceInput> {
    const KEY: &str = "external_references";
    let list = match attrs.get(KEY) {
        None | Some(Value::Null) => return Vec::new(),
        Some(Value::Array(a)) => a.clone(),
        // A form body sends `external_references[0][source]=...` as an object keyed by index.
        Some(Value::Object(m)) if m.keys().all(|k| k.parse::<usize>().is_ok()) => {
            let mut entries: Vec<(usize, Value)> = m
                .iter()
                .map(|(k, v)| (k.parse().unwrap_or(0), v.clone()))
                .collect();
            entries.sort_by_key(|e| e.0);
            entries.into_iter().map(|e| e.1).collect()
        }
        Some(_) => {
            errors.add(KEY, "must be an array of {source, external_id, metadata}");
            return Vec::new();
        }
    };
    if list.len() > limits::EXTERNAL_REFERENCES {
        errors.add(
            KEY,
            format!(
                "is too long (maximum is {} entries)",
                limits::EXTERNAL_REFERENCES
            ),
        );
        return Vec::new();
    }
    let mut out = Vec::new();
    for item in list {
        let Value::Object(obj) = item else {
            errors.add(KEY, "must be an array of {source, external_id, metadata}");
            continue;
        };
        let mut e = FieldErrors::new();
        let source = bounded_text(&obj, "source", limits::EXTERNAL_SOURCE, &mut e);
        let external_id = bounded_text(&obj, "external_id", limits::EXTERNAL_ID, &mut e);
        let metadata = match obj.get("metadata") {
            None | Some(Value::Null) => None,
            Some(Value::Object(m))
                if Value::Object(m.clone()).to_string().len() <= limits::METADATA_BYTES =>
            {
                Some(Value::Object(m.clone()))
            }
            Some(Value::Object(_)) => {
                e.add(
                    "metadata",
                    format!(
                        "is too large (maximum is {} bytes of JSON)",
                        limits::METADATA_BYTES
                    ),
                );
                None
            }
            Some(_) => {
                e.add("metadata", "must be a JSON object");
                None
            }
        };
        if !matches!(source, Field::Set(_)) && !e.has("source") {
            e.add("source", "can't be blank");
        }
        if !matches!(external_id, Field::Set(_)) && !e.has("external_id") {
            e.add("external_id", "can't be blank");
        }
        for (field, msgs) in e.0 {
            for m in msgs {
                errors.add(format!("{KEY}.{field}"), m);
            }
        }
        if let (Field::Set(source), Field::Set(external_id)) = (source, external_id) {
            out.push(ReferenceInput {
                source,
                external_id,
                metadata,
            });
        }
    }
    out
}

fn json_bytes(m: &Map<String, Value>) -> usize {
    serde_json::to_string(m).map_or(0, |s| s.len())
}

/// What one customer may hold across requests: at most `limits::EXTERNAL_REFERENCES`
/// references, whose metadata together is at most `limits::METADATA_BYTES` of JSON.
/// `stored` is what the customer holds now (nothing for a new customer); `refs` are
/// upserted into it. As with metadata, a customer over a limit from before may keep
/// what they have and shrink, never grow.
pub fn check_reference_totals(
    stored: &[StoredReference],
    refs: &[ReferenceInput],
    errors: &mut FieldErrors,
) {
    let mut held: std::collections::HashMap<(&str, &str), usize> = stored
        .iter()
        .map(|r| {
            (
                (r.source.as_str(), r.external_id.as_str()),
                r.metadata_bytes,
            )
        })
        .collect();
    let (count_before, bytes_before) = (held.len(), held.values().sum::<usize>());
    for r in refs {
        let bytes = held
            .entry((r.source.as_str(), r.external_id.as_str()))
            // A new reference without metadata is stored with `{}`.
            .or_insert(2);
        if let Some(m) = &r.metadata {
            *bytes = m.to_string().len();
        }
    }
    let (count, bytes) = (held.len(), held.values().sum::<usize>());
    if count > limits::EXTERNAL_REFERENCES && count > count_before {
        errors.add(
            "external_references",
            format!(
                "is too long: the customer would hold {count} (maximum is {} per customer)",
                limits::EXTERNAL_REFERENCES
            ),
        );
    }
    if bytes > limits::METADATA_BYTES && bytes > bytes_before {
        errors.add(
            "external_references.metadata",
            format!(
                "is too large: the customer's references would hold {bytes} bytes of metadata \
                 JSON (maximum is {} bytes per customer, all references together)",
                limits::METADATA_BYTES
            ),
        );
    }
}

/// A customer needs a first name and a way to reach them.
pub fn check_required(f: &CustomerFields, errors: &mut FieldErrors) {
    if f.first_name.trim().is_empty() && !errors.has("first_name") {
        errors.add("first_name", "can't be blank");
    }
    if f.email.is_none() && f.phone.is_none() && !errors.has("email") && !errors.has("phone") {
        errors.add("email", "can't be blank when phone is blank");
        errors.add("phone", "can't be blank when email is blank");
    }
}

/// The OpenAPI schema of the attributes, from the same limits `parse` checks.
pub fn attributes_schema(creating: bool) -> Value {
    use crate::api::openapi::schema::*;
    use serde_json::json;
    input(
        json!({
            "first_name": text(limits::NAME),
            "last_name": nullable(text(limits::NAME)),
            "email": nullable(json!({"type": "string", "format": "email", "maxLength": limits::EMAIL})),
            "phone": nullable(json!({"type": "string", "maxLength": limits::PHONE_INPUT,
                "description": "Any common notation; stored as E.164 using the server's default country."})),
            "birthday": nullable(json!({"type": "string", "format": "date",
                "description": "YYYY-MM-DD, a real date, not in the future, not before 1900."})),
            "metadata": nullable(json!({"type": "object", "additionalProperties": true,
                "description": "At most 16 KiB of JSON per customer (what is stored after the merge). On update merged shallowly; a key set to null is removed."})),
            "external_references": nullable(json!({
                "type": "array",
                "maxItems": limits::EXTERNAL_REFERENCES,
                "description": "Upserted by (source, external_id). A customer holds at most 50, \
                    whose metadata together is at most 16 KiB of JSON.",
                "items": input(json!({
                    "source": text(limits::EXTERNAL_SOURCE),
                    "external_id": text(limits::EXTERNAL_ID),
                    "metadata": nullable(json!({"type": "object", "additionalProperties": true})),
                }), &["source", "external_id"]),
            })),
        }),
        if creating { &["first_name"] } else { &[] },
    )
}
