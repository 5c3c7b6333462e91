//! Reading a spreadsheet's CSV: the separator (`,`, `;` or tab, from the header line),
//! the columns by header name with the aliases other systems' exports use (or a mapping
//! given explicitly), and each row read into customer attributes, validated with the
//! API's own rules, before any of it reaches the writer.

use std::io::Read;

use serde_json::{Map, Value};

use crate::api::customers::input::CustomerInput;
use crate::domain::{limits, CardCode};
use crate::error::FieldErrors;
use crate::params::Parsed;

use super::apply::{CardLine, Incoming, Template};

/// What a column can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    FirstName,
    LastName,
    Email,
    Phone,
    Birthday,
    Stamps,
    Code,
    ExternalId,
    Metadata,
    ExternalReferences,
    Card,
}

/// Each column's name (as the mapping and the preview show it) and the header names
/// read as it, compared lower-case with `_`, `-` and runs of spaces as one space.
pub const COLUMNS: &[(Column, &str, &[&str])] = &[
    (
        Column::FirstName,
        "first_name",
        &[
            "first name",
            "firstname",
            "given name",
            "givenname",
            "forename",
            "vorname",
            "prenom",
            "prénom",
        ],
    ),
    (
        Column::LastName,
        "last_name",
        &[
            "last name",
            "lastname",
            "family name",
            "familyname",
            "surname",
            "nachname",
            "nom",
        ],
    ),
    (
        Column::Email,
        "email",
        &["e mail", "email address", "e mail address", "mail"],
    ),
    (
        Column::Phone,
        "phone",
        &[
            "phone number",
            "mobile",
            "mobile number",
            "mobile phone",
            "cell",
            "cell phone",
            "telephone",
            "tel",
        ],
    ),
    (
        Column::Birthday,
        "birthday",
        &[
            "date of birth",
            "dob",
            "birth date",
            "birthdate",
            "birth day",
        ],
    ),
    (
        Column::Stamps,
        "stamps",
        &[
            "points",
            "balance",
            "stamp count",
            "stamps count",
            "stamp balance",
            "points balance",
        ],
    ),
    (
        Column::Code,
        "code",
        &["card number", "card code", "barcode", "card no", "card"],
    ),
    (
        Column::ExternalId,
        "external_id",
        &[
            "external id",
            "externalid",
            "member id",
            "member number",
            "customer number",
            "customer no",
        ],
    ),
    (Column::Metadata, "metadata", &[]),
    (
        Column::ExternalReferences,
        "external_references",
        &["external references"],
    ),
    (
        Column::Card,
        "card_name",
        &["card name", "card template", "program"],
    ),
];

fn key(header: &str) -> String {
    let lower = header.trim_start_matches('\u{feff}').trim().to_lowercase();
    lower
        .replace(['_', '-'], " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The name of a column as the mapping writes it.
pub fn column_name(c: Column) -> &'static str {
    COLUMNS.iter().find(|e| e.0 == c).map_or("", |e| e.1)
}

/// A column by its own name or one of its aliases.
pub fn column_of(header: &str) -> Option<Column> {
    let k = key(header);
    COLUMNS
        .iter()
        .find(|(_, name, aliases)| key(name) == k || aliases.iter().any(|a| key(a) == k))
        .map(|e| e.0)
}

/// Which header holds which column: found by name, then `explicit` (`column=Header`
/// pairs) laid over it. An explicit pair naming an unknown column or header is an error.
#[derive(Debug, Clone)]
pub struct Mapping {
    pub headers: Vec<String>,
    /// The column of each header (by position), if it is read.
    pub columns: Vec<Option<Column>>,
}

impl Mapping {
    pub fn new(headers: Vec<String>, explicit: &[(String, String)]) -> Result<Mapping, String> {
        let mut columns: Vec<Option<Column>> = headers.iter().map(|h| column_of(h)).collect();
        // A header read twice as the same column (two "card" columns): the first counts.
        for i in 0..columns.len() {
            if let Some(c) = columns[i] {
                if columns[..i].contains(&Some(c)) {
                    columns[i] = None;
                }
            }
        }
        for (column, header) in explicit {
            let Some(c) = COLUMNS
                .iter()
                .find(|e| key(e.1) == key(column))
                .map(|e| e.0)
            else {
                let names: Vec<&str> = COLUMNS.iter().map(|e| e.1).collect();
                return Err(format!(
                    "mapping: unknown column \"{column}\" (columns: {})",
                    names.join(", ")
                ));
            };
            let Some(at) = headers.iter().position(|h| key(h) == key(header)) else {
                return Err(format!("mapping: the file has no column \"{header}\""));
            };
            for slot in columns.iter_mut() {
                if *slot == Some(c) {
                    *slot = None;
                }
            }
            columns[at] = Some(c);
        }
        Ok(Mapping { headers, columns })
    }

    /// `(header, column name)` of every header, `None` for one that is not read.
    pub fn describe(&self) -> Vec<(String, Option<&'static str>)> {
        self.headers
            .iter()
            .zip(&self.columns)
            .map(|(h, c)| (h.clone(), c.map(column_name)))
            .collect()
    }

    fn has(&self, c: Column) -> bool {
        self.columns.contains(&Some(c))
    }
}

/// The separator of a file: whichever of `,`, `;` and tab its header line holds most.
pub fn separator(head: &[u8]) -> u8 {
    let line = head.split(|&b| b == b'\n').next().unwrap_or(&[]);
    let count = |c: u8| line.iter().filter(|&&b| b == c).count();
    [b',', b';', b'\t']
        .into_iter()
        .max_by_key(|&c| (count(c), c == b','))
        .unwrap_or(b',')
}

/// A file's rows, read one at a time.
pub struct Rows<R: Read> {
    reader: csv::Reader<R>,
    pub mapping: Mapping,
    country: phonenumber::country::Id,
    record: csv::ByteRecord,
    /// The line the next record starts on, by this reader's count.
    next_line: u64,
}

fn newlines(record: &csv::ByteRecord) -> u64 {
    record
        .iter()
        .map(|f| f.iter().filter(|&&b| b == b'\n').count() as u64)
        .sum()
}

impl<R: Read> Rows<R> {
    /// Reads the header line. `head` is the file's first bytes (for the separator).
    pub fn new(
        mut source: R,
        head: &[u8],
        explicit: &[(String, String)],
        country: phonenumber::country::Id,
    ) -> Result<Rows<R>, String> {
        // The BOM is taken off before the parser sees it, so its line count starts true.
        if head.starts_with(b"\xef\xbb\xbf") {
            source
                .read_exact(&mut [0u8; 3])
                .map_err(|e| format!("the file cannot be read: {e}"))?;
        }
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(separator(
                head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head),
            ))
            .flexible(true)
            .from_reader(source);
        let header = reader
            .byte_headers()
            .map_err(|e| format!("the header line cannot be read: {e}"))?;
        let next_line = 2 + newlines(header);
        let headers = header
            .iter()
            .map(|h| {
                String::from_utf8_lossy(h)
                    .trim_start_matches('\u{feff}')
                    .trim()
                    .to_string()
            })
            .collect::<Vec<_>>();
        if headers.iter().all(String::is_empty) {
            return Err("the file is empty: the first line must name the columns".into());
        }
        let mapping = Mapping::new(headers, explicit)?;
        if !mapping.has(Column::Email)
            && !mapping.has(Column::Phone)
            && !mapping.has(Column::ExternalId)
        {
            return Err(format!(
                "no column holds an email, a phone or an external id (the columns found: {}); \
                 name them, or give a mapping such as email=\"E-Mail Address\"",
                mapping.headers.join(", ")
            ));
        }
        Ok(Rows {
            reader,
            mapping,
            country,
            record: csv::ByteRecord::new(),
            next_line,
        })
    }

    /// The next row, `None` at the end; `Err` when the file itself cannot be read further.
    pub fn next_row(&mut self) -> Result<Option<Incoming>, String> {
        match self.reader.read_byte_record(&mut self.record) {
            Ok(false) => return Ok(None),
            Ok(true) => {}
            Err(e) => return Err(format!("the file cannot be read: {e}")),
        }
        // The parser's own count misses line ends written `\r\n`; this reader counts
        // the lines each record took (embedded line breaks too). Blank lines, which
        // the parser skips, are not counted by either.
        let counted = self.next_line;
        self.next_line += 1 + newlines(&self.record);
        let line = counted.max(self.record.position().map_or(0, |p| p.line()));
        self.next_line = self.next_line.max(line + 1 + newlines(&self.record));
        let mut errors = FieldErrors::new();
        let mut attrs = Map::new();
        let mut row = Incoming {
            line,
            customer: empty_input(),
            errors: FieldErrors::new(),
            external_id: None,
            cards: Vec::new(),
        };
        let (mut stamps, mut code, mut card_name) = (None, None, None);
        for (field, column) in self.record.iter().zip(&self.mapping.columns) {
            let Some(column) = column else { continue };
            let name = column_name(*column);
            let Ok(text) = std::str::from_utf8(field) else {
                errors.add(name, "is not UTF-8 text (save the file as UTF-8)");
                continue;
            };
            let text = text.trim();
            if text.is_empty() {
                continue;
            }
            match column {
                Column::FirstName
                | Column::LastName
                | Column::Email
                | Column::Phone
                | Column::Birthday => {
                    attrs.insert(name.into(), Value::String(text.into()));
                }
                Column::Metadata | Column::ExternalReferences => {
                    match serde_json::from_str::<Value>(text) {
                        Ok(v) => {
                            attrs.insert(name.into(), v);
                        }
                        Err(_) => errors.add(name, "is not valid JSON"),
                    }
                }
                Column::Stamps => match text.parse::<f64>() {
                    Ok(n) if n >= 0.0 && n.fract() == 0.0 && n <= 1_000_000.0 => {
                        stamps = Some(n as i64)
                    }
                    _ => errors.add(name, "must be a whole number of 0 or more"),
                },
                Column::Code => match CardCode::normalise_imported(text) {
                    Some(c) => code = Some(c),
                    None => errors.add(name, "is invalid"),
                },
                Column::ExternalId => {
                    if text.chars().count() > limits::EXTERNAL_ID {
                        errors.add(name, crate::domain::too_long(limits::EXTERNAL_ID));
                    } else {
                        row.external_id = Some(text.into());
                    }
                }
                Column::Card => card_name = Some(text.to_string()),
            }
        }
        if stamps.is_some() || code.is_some() || card_name.is_some() {
            row.cards.push(CardLine {
                template: card_name.map_or(Template::Default, Template::Named),
                code,
                stamps,
                note: format!("imported from line {line}"),
            });
        }
        let body = Map::from_iter([("customer".to_string(), Value::Object(attrs))]);
        match CustomerInput::read(&body, self.country) {
            Ok(Parsed { value, errors: own }) => {
                row.customer = value;
                for (field, messages) in own.0 {
                    for m in messages {
                        errors.add(field.clone(), m);
                    }
                }
            }
            Err(e) => errors.add("base", e.to_string()),
        }
        row.errors = errors;
        Ok(Some(row))
    }

    /// Skips `n` rows (an import resuming after the rows it has done).
    pub fn skip(&mut self, n: u64) -> Result<(), String> {
        for _ in 0..n {
            match self.reader.read_byte_record(&mut self.record) {
                Ok(true) => self.next_line += 1 + newlines(&self.record),
                Ok(false) => break,
                Err(e) => return Err(format!("the file cannot be read: {e}")),
            }
        }
        Ok(())
    }
}

pub(super) fn empty_input() -> CustomerInput {
    let body = Map::from_iter([("customer".to_string(), Value::Object(Map::new()))]);
    CustomerInput::read(&body, phonenumber::country::Id::US)
        .map(|p| p.value)
        .expect("an empty customer reads")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(file: &str) -> Vec<u64> {
        let mut rows = Rows::new(
            file.as_bytes(),
            file.as_bytes(),
            &[],
            phonenumber::country::Id::US,
        )
        .unwrap();
        let mut out = Vec::new();
        while let Some(row) = rows.next_row().unwrap() {
            out.push(row.line);
        }
        out
    }

    #[test]
    fn rows_know_their_lines() {
        assert_eq!(lines("email\na@x.com\nb@x.com\n"), [2, 3]);
        assert_eq!(lines("email\r\na@x.com\r\nb@x.com\r\n"), [2, 3]);
        assert_eq!(lines("\u{feff}email\r\na@x.com\r\nb@x.com\r\n"), [2, 3]);
        assert_eq!(
            lines("email;notes\r\na@x.com;\"x\ny\"\r\nb@x.com;\r\n"),
            [2, 4]
        );
    }
}
