//! Which database files are stampd's: a file's schema (the tables, indexes, triggers and
//! views of `sqlite_schema`) must be exactly what the embedded migrations up to its
//! version create, and its migration history exactly theirs. Anything else — a trigger
//! someone added, a table missing or changed, a history that names other migrations, a
//! newer schema — is refused before a server, a command or `restore` uses the file: a
//! foreign trigger would run with stampd's rights on the next write.
//!
//! Only what SQLite and the tools stampd works with add on their own is let through:
//! `sqlite_stat1`..`sqlite_stat4` (`ANALYZE`, `PRAGMA optimize`), the shadow tables of
//! the FTS5 search index (their columns vary with the SQLite version that made them)
//! and Litestream's `_litestream_*` tables.
//!
//! The check reads `sqlite_schema` and the history table only, so it costs the same on
//! a database of any size.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, OnceLock};

use rusqlite::Connection;

use super::open::{embedded_migrations, known_schema_version};

/// The migration history table refinery keeps, as refinery creates it (its
/// `ASSERT_MIGRATIONS_TABLE_QUERY`); `expected_schema_is_what_the_migrations_make`
/// checks it against the table refinery really creates.
const HISTORY_TABLE: &str = "CREATE TABLE IF NOT EXISTS refinery_schema_history(
             version int4 PRIMARY KEY,
             name VARCHAR(255),
             applied_on VARCHAR(255),
             checksum VARCHAR(255));";

const HISTORY: &str = "refinery_schema_history";

/// The shadow tables FTS5 keeps beside a full-text index `<name>`, as `<name>_<suffix>`.
const FTS5_SHADOW_SUFFIXES: [&str; 5] = ["data", "idx", "content", "docsize", "config"];

#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// The file could not be read (not a database, damaged, locked ...).
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    #[error("it was written by a newer stampd (schema version {found}; this stampd knows up to {known})")]
    TooNew { found: i64, known: i64 },
    /// The schema or the history is not one stampd wrote; says what differs.
    #[error("{0}")]
    Foreign(String),
}

/// One row of `sqlite_schema`, keyed by (type, name).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Object {
    table: String,
    /// The CREATE statement, normalised (see [`normalise`]); `None` for the indexes
    /// SQLite makes for UNIQUE and PRIMARY KEY constraints.
    sql: Option<String>,
}

type Schema = BTreeMap<(String, String), Object>;

/// Checks that `conn`'s database is empty (nothing but what tools add) or exactly a
/// schema stampd's migrations made. Returns its schema version, `None` when empty.
pub fn check(conn: &Connection) -> Result<Option<i64>, SchemaError> {
    let found = read_schema(conn)?;
    let ours: Schema = found
        .into_iter()
        .filter(|((kind, name), _)| !added_by_tools(kind, name))
        .collect();
    if !ours.contains_key(&("table".into(), HISTORY.into())) {
        if ours.is_empty() {
            return Ok(None);
        }
        return Err(SchemaError::Foreign(format!(
            "it has tables but no migration history ({HISTORY}); it was not made by stampd"
        )));
    }
    let history = read_history(conn)?;
    let version = history.iter().map(|h| h.version).max().unwrap_or(0);
    let known = known_schema_version();
    if version > known {
        return Err(SchemaError::TooNew {
            found: version,
            known,
        });
    }
    let expected = expected_schema(version)?;
    let differences = compare(&ours, &expected);
    if !differences.is_empty() {
        return Err(SchemaError::Foreign(describe(&differences, version)));
    }
    check_history(&history, version)?;
    Ok(Some(version))
}

/// Tables SQLite itself or Litestream create in a database they work on.
fn added_by_tools(kind: &str, name: &str) -> bool {
    kind == "table"
        && (matches!(
            name,
            "sqlite_stat1" | "sqlite_stat2" | "sqlite_stat3" | "sqlite_stat4"
        ) || name.starts_with("_litestream_"))
}

fn read_schema(conn: &Connection) -> Result<Schema, rusqlite::Error> {
    let mut stmt = conn.prepare("SELECT type, name, tbl_name, sql FROM sqlite_schema")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            (r.get::<_, String>(0)?, r.get::<_, String>(1)?),
            Object {
                table: r.get(2)?,
                sql: r.get::<_, Option<String>>(3)?.map(|s| normalise(&s)),
            },
        ))
    })?;
    rows.collect()
}

/// One row of the migration history.
struct Applied {
    version: i64,
    name: String,
    applied_on: String,
    checksum: String,
}

fn read_history(conn: &Connection) -> Result<Vec<Applied>, SchemaError> {
    let unreadable = |e: rusqlite::Error| {
        SchemaError::Foreign(format!("its migration history cannot be read ({e})"))
    };
    let mut stmt = conn
        .prepare(&format!(
            "SELECT version, name, applied_on, checksum FROM {HISTORY} ORDER BY version"
        ))
        .map_err(unreadable)?;
    let rows = stmt
        .query_map([], |r| {
            Ok(Applied {
                version: r.get(0)?,
                name: r.get(1)?,
                applied_on: r.get(2)?,
                checksum: r.get(3)?,
            })
        })
        .map_err(unreadable)?;
    rows.collect::<Result<_, _>>().map_err(unreadable)
}

/// The history must list exactly the embedded migrations up to `version`, by version,
/// name and checksum, each with a time refinery can read back (it panics on one it
/// cannot).
fn check_history(history: &[Applied], version: i64) -> Result<(), SchemaError> {
    let expected: Vec<_> = embedded_migrations()
        .into_iter()
        .filter(|m| m.version <= version)
        .collect();
    let matches = history.len() == expected.len()
        && history.iter().zip(&expected).all(|(h, m)| {
            h.version == m.version
                && h.name == m.name
                && h.checksum == m.checksum.to_string()
                && time::OffsetDateTime::parse(
                    &h.applied_on,
                    &time::format_description::well_known::Rfc3339,
                )
                .is_ok()
        });
    if matches {
        Ok(())
    } else {
        Err(SchemaError::Foreign(
            "its migration history does not match stampd's migrations".into(),
        ))
    }
}

/// The schema the embedded migrations up to `version` make, built once per version in
/// an in-memory database.
fn expected_schema(version: i64) -> Result<Arc<Schema>, SchemaError> {
    static BUILT: OnceLock<Mutex<BTreeMap<i64, Arc<Schema>>>> = OnceLock::new();
    let built = BUILT.get_or_init(Default::default);
    if let Some(schema) = built
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(&version)
    {
        return Ok(schema.clone());
    }
    // Run here rather than by refinery's runner, which would log every migration as
    // "applying" on each start.
    let mem = Connection::open_in_memory()?;
    mem.execute_batch(HISTORY_TABLE)?;
    for m in embedded_migrations()
        .into_iter()
        .filter(|m| m.version <= version)
    {
        mem.execute_batch(&m.sql).map_err(|e| {
            SchemaError::Foreign(format!("migration V{} cannot be replayed: {e}", m.version))
        })?;
    }
    let schema = Arc::new(read_schema(&mem)?);
    built
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(version, schema.clone());
    Ok(schema)
}

/// The FTS5 shadow tables of the full-text indexes in `schema`.
fn fts5_shadow_tables(schema: &Schema) -> BTreeSet<String> {
    schema
        .iter()
        .filter(|((kind, _), o)| {
            kind == "table"
                && o.sql.as_deref().is_some_and(|s| {
                    let s = s.to_ascii_lowercase();
                    s.starts_with("create virtual table") && s.contains("using fts5")
                })
        })
        .flat_map(|((_, name), _)| {
            FTS5_SHADOW_SUFFIXES
                .iter()
                .map(move |suffix| format!("{name}_{suffix}"))
        })
        .collect()
}

#[derive(Debug, PartialEq, Eq)]
enum Difference {
    Unexpected(String, String),
    Missing(String, String),
    Changed(String, String),
}

fn compare(found: &Schema, expected: &Schema) -> Vec<Difference> {
    let shadow = fts5_shadow_tables(expected);
    let counts = |kind: &str, name: &str| !(kind == "table" && shadow.contains(name));
    let mut differences = Vec::new();
    for ((kind, name), object) in found.iter().filter(|((k, n), _)| counts(k, n)) {
        match expected.get(&(kind.clone(), name.clone())) {
            None => differences.push(Difference::Unexpected(kind.clone(), name.clone())),
            Some(e) if e != object => {
                differences.push(Difference::Changed(kind.clone(), name.clone()))
            }
            Some(_) => {}
        }
    }
    for (kind, name) in expected.keys().filter(|(k, n)| counts(k, n)) {
        if !found.contains_key(&(kind.clone(), name.clone())) {
            differences.push(Difference::Missing(kind.clone(), name.clone()));
        }
    }
    differences
}

/// The first few differences, names quoted with their control characters escaped (they
/// come from the file).
fn describe(differences: &[Difference], version: i64) -> String {
    const SHOWN: usize = 3;
    let mut parts: Vec<String> = differences
        .iter()
        .take(SHOWN)
        .map(|d| match d {
            Difference::Unexpected(kind, name) => format!("an unexpected {kind} {name:?}"),
            Difference::Missing(kind, name) => format!("{kind} {name:?} is missing"),
            Difference::Changed(kind, name) => format!("{kind} {name:?} is changed"),
        })
        .collect();
    if differences.len() > SHOWN {
        parts.push(format!("{} more differences", differences.len() - SHOWN));
    }
    format!(
        "its schema is not the one stampd's migrations make for version {version}: {}",
        parts.join(", ")
    )
}

/// A CREATE statement with its comments dropped and every run of whitespace outside
/// quotes made one space, so a file whose statements were reformatted (a dump loaded
/// again) still compares equal, while any change to a name, a literal or a clause does
/// not.
fn normalise(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    let mut space = false;
    while let Some(c) = chars.next() {
        let close = match c {
            '\'' | '"' | '`' => Some(c),
            '[' => Some(']'),
            _ => None,
        };
        if let Some(close) = close {
            if space && !out.is_empty() {
                out.push(' ');
            }
            space = false;
            out.push(c);
            // A doubled quote inside a literal closes and reopens it: the same text.
            for q in chars.by_ref() {
                out.push(q);
                if q == close {
                    break;
                }
            }
            continue;
        }
        if c == '-' && chars.peek() == Some(&'-') {
            for q in chars.by_ref() {
                if q == '\n' {
                    break;
                }
            }
            space = true;
            continue;
        }
        if c == '/' && chars.peek() == Some(&'*') {
            chars.next();
            let mut last = '\0';
            for q in chars.by_ref() {
                if last == '*' && q == '/' {
                    break;
                }
                last = q;
            }
            space = true;
            continue;
        }
        if c.is_whitespace() {
            space = true;
            continue;
        }
        if space && !out.is_empty() {
            out.push(' ');
        }
        space = false;
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Running the migrations' SQL directly makes exactly what refinery makes, history
    /// table included.
    #[test]
    fn expected_schema_is_what_the_migrations_make() {
        let mut conn = Connection::open_in_memory().unwrap();
        super::super::open::migrate_to(&mut conn, known_schema_version() as i32).unwrap();
        let made = read_schema(&conn).unwrap();
        let expected = expected_schema(known_schema_version()).unwrap();
        assert_eq!(compare(&made, &expected), vec![]);
        assert_eq!(made, *expected, "shadow tables included");
        assert_eq!(check(&conn).unwrap(), Some(known_schema_version()));
    }

    #[test]
    fn an_empty_database_is_new() {
        let conn = Connection::open_in_memory().unwrap();
        assert_eq!(check(&conn).unwrap(), None);
        conn.execute_batch("CREATE TABLE _litestream_seq (id INTEGER PRIMARY KEY, seq INTEGER)")
            .unwrap();
        assert_eq!(check(&conn).unwrap(), None);
        conn.execute_batch("CREATE TABLE notes (t TEXT)").unwrap();
        assert!(matches!(check(&conn), Err(SchemaError::Foreign(_))));
    }

    #[test]
    fn normalising_keeps_literals_and_names() {
        assert_eq!(
            normalise("CREATE TABLE t (\n  a  TEXT, -- why\n  b /* x */ INT\n)"),
            "CREATE TABLE t ( a TEXT, b INT )"
        );
        assert_eq!(
            normalise("SELECT '  two  spaces', \"a  b\", [c  d]"),
            "SELECT '  two  spaces', \"a  b\", [c  d]"
        );
        assert_eq!(
            normalise("SELECT 'it''s  -- not a comment'"),
            "SELECT 'it''s  -- not a comment'"
        );
        assert_ne!(normalise("SELECT 1 - -1"), normalise("SELECT 1 -- -1"));
    }
}
