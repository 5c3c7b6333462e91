//! Moving in and out over the API (`/accounts/:account_id/imports`, `/exports`): a
//! CSV file imported (the one body past 64 KiB: up to `import_body_limit_mib`, streamed
//! to a private temporary file beside the database, never held in memory) or
//! previewed, and the customers and the ledger exported as CSV, streamed from one read
//! transaction as the client takes them.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};

use actix_web::http::{header, StatusCode};
use actix_web::web::{Bytes, Payload};
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use super::endpoint::{endpoints, Components, Doc, Endpoint, Resource};
use super::{json, Answer, Call};
use crate::error::{ApiError, FieldErrors};
use crate::params::{parse_integer, query_map};
use crate::transfer::{self, export, ImportError};

pub const RESOURCE: Resource = Resource::new("Imports and exports", ENDPOINTS, components);

const ENDPOINTS: &[Endpoint] = endpoints!("/accounts/{account_id}";
    Post "/imports" => import, Doc::new("importCustomers", "Import customers, cards and balances from a CSV file")
        .describe("The body is the CSV file itself (`text/csv`; UTF-8 with or without BOM, `,` or `;` separated), up to `import_body_limit_mib` (default 50 MiB). Columns are found by header name, case-insensitively, with the aliases other systems' exports use (`first name`/`given name`, `last name`/`family name`/`surname`, `email`/`e-mail`, `phone`/`mobile`, `birthday`/`date of birth`, `stamps`/`points`/`balance`, `code`/`card number`, `external id`, `card_name`, `metadata`, `external_references`); `map=column=Header` (repeated) maps others. Rows are matched by email, then phone, then external id, and created or updated; a card's balance arrives as an `import` ledger entry, less what earlier imports of the card brought, so the same file twice changes nothing. Rows are committed in batches (stamps go on meanwhile); an interrupted import sent again resumes after the last batch. No webhooks or card links are sent. Answers the report: rows created, updated, unchanged and skipped (each with its line and errors).")
        .query(&["card_id", "dry_run", "map"])
        .ok(200, "What the import did (or, with dry_run, would do)", "ImportReport");
    Post "/imports/preview" => preview, Doc::new("previewImport", "How a CSV file's columns map, and its first rows")
        .describe("The body is the CSV file, as for an import. Nothing is written.")
        .query(&["map"])
        .ok(200, "The columns as the import reads them and the first ten rows", "ImportPreview");
    Get "/exports/customers.csv" => export_customers, Doc::new("exportCustomers", "The store's customers and their cards as CSV")
        .describe("One row per card (a customer without cards: one row with the card's columns empty), in the columns an import reads: an export imports into another store with everything kept. Streamed.")
        .ok(200, "CSV (text/csv)", "CsvFile");
    Get "/exports/ledger.csv" => export_ledger, Doc::new("exportLedger", "The store's stamp ledger as CSV")
        .describe("Every ledger row, oldest first, within `from` and `to` (dates, `to` counting its whole day, or timestamps). Streamed.")
        .query(&["from", "to"])
        .ok(200, "CSV (text/csv)", "CsvFile");
);

/// The `map` pairs of a query (`map=column=Header`, repeated).
fn mapping(req: &HttpRequest) -> Result<Vec<(String, String)>, ApiError> {
    let mut pairs = Vec::new();
    for (k, v) in form_urlencoded::parse(req.query_string().as_bytes()) {
        if k == "map" {
            let Some((column, header)) = v.split_once('=') else {
                return Err(FieldErrors::single("map", "must be column=Header"));
            };
            pairs.push((column.trim().to_string(), header.trim().to_string()));
        }
    }
    Ok(pairs)
}

/// A temporary file that is removed when dropped.
struct Upload(PathBuf);

impl Drop for Upload {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Streams the body to a private temporary file beside the database, refusing one past
/// the import limit (413) or one that does not arrive in time (408).
async fn receive(call: &Call, req: &HttpRequest, mut payload: Payload) -> Result<Upload, ApiError> {
    use futures_core::Stream;
    let settings = &call.state.settings;
    let limit = settings.import_body_limit_mib.saturating_mul(1024 * 1024) as usize;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(ApiError::TooLarge(limit));
    }
    let dir = settings
        .database_path()
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
        .join("imports");
    crate::files::create_dir_all(&dir)
        .map_err(|e| ApiError::internal_in("the imports folder", e))?;
    // A JSON or form body is refused once read (the body's deadline and limit first,
    // as on every route).
    let refused = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_ascii_lowercase)
        .is_some_and(|ct| {
            ct.starts_with("application/json")
                || ct.starts_with("application/x-www-form-urlencoded")
                || ct.starts_with("multipart/")
        });
    let upload = Upload(dir.join(format!("{}.csv", uuid::Uuid::new_v4())));
    let mut file = std::io::BufWriter::new(
        crate::files::create_new(&upload.0)
            .map_err(|e| ApiError::internal_in("an import's file", e))?,
    );
    // The body deadline of every route, moved on by 6 s for each MiB that has arrived:
    // a file coming at 170 KiB/s or more is taken whole, a trickle is cut off (408).
    let started = std::time::Instant::now();
    let base = std::time::Duration::from_secs(settings.request_body_timeout_secs);
    let mut size = 0usize;
    loop {
        let more = std::time::Duration::from_secs(6 * (size / (1024 * 1024)) as u64);
        let left = (base + more).saturating_sub(started.elapsed());
        let next = std::future::poll_fn(|cx| Pin::new(&mut payload).poll_next(cx));
        let next = actix_web::rt::time::timeout(left, next)
            .await
            .map_err(|_| ApiError::RequestTimeout)?;
        let Some(chunk) = next else { break };
        let chunk = chunk
            .map_err(|e| ApiError::BadRequest(format!("Could not read the request body: {e}")))?;
        size += chunk.len();
        if size > limit {
            return Err(ApiError::TooLarge(limit));
        }
        file.write_all(&chunk)
            .map_err(|e| ApiError::internal_in("an import's file", e))?;
    }
    file.flush()
        .map_err(|e| ApiError::internal_in("an import's file", e))?;
    if refused {
        return Err(ApiError::UnsupportedMediaType(
            "Send the CSV file itself as the body (Content-Type: text/csv)".into(),
        ));
    }
    Ok(upload)
}

fn import_error(e: ImportError) -> ApiError {
    match e {
        ImportError::Input(message) | ImportError::Source(message) => {
            let mut errors = FieldErrors::new();
            errors.add("file", message.clone());
            ApiError::Unprocessable { message, errors }
        }
        ImportError::Db(e) => e,
    }
}

pub async fn import(
    call: Call,
    path: web::Path<String>,
    req: HttpRequest,
    payload: Payload,
) -> Answer {
    let q = query_map(&req);
    let account = path.into_inner();
    let store_id = call.read(move |_, access| access.store(&account)).await?;
    let mut errors = FieldErrors::new();
    let card_id = match q.get("card_id").filter(|v| !v.trim().is_empty()) {
        None => None,
        Some(v) => parse_integer(&serde_json::Value::String(v.clone())).unwrap_or_else(|m| {
            errors.add("card_id", m);
            None
        }),
    };
    let dry_run = match q.get("dry_run").map(|v| v.trim().to_ascii_lowercase()) {
        None => false,
        Some(v) => match v.as_str() {
            "" | "true" | "1" => true,
            "false" | "0" => false,
            _ => {
                errors.add("dry_run", "must be true or false");
                false
            }
        },
    };
    let mapping = mapping(&req)?;
    errors.into_result()?;
    let upload = receive(&call, &req, payload).await?;
    let options = transfer::CsvImport {
        store_id,
        card_id,
        mapping,
        dry_run,
        country: call.state.settings.default_country,
    };
    let db = call.state.db.clone();
    let report = web::block(move || {
        let mut sink = &db;
        let report = transfer::import_csv(&mut sink, &upload.0, &options, &mut |_, _| {});
        drop(upload);
        report
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(import_error)?;
    Ok(json(StatusCode::OK, &report))
}

pub async fn preview(
    call: Call,
    path: web::Path<String>,
    req: HttpRequest,
    payload: Payload,
) -> Answer {
    let account = path.into_inner();
    call.read(move |_, access| access.store(&account)).await?;
    let mapping = mapping(&req)?;
    let upload = receive(&call, &req, payload).await?;
    let preview = web::block(move || transfer::preview(&upload.0, &mapping, 10))
        .await
        .map_err(ApiError::internal)?
        .map_err(import_error)?;
    Ok(json(StatusCode::OK, &preview))
}

/// The body of a streamed export: chunks a thread of its own writes from its read
/// transaction; the channel's few slots hold it back while the client is slow.
struct Chunks(tokio::sync::mpsc::Receiver<Result<Bytes, std::io::Error>>);

impl futures_core::Stream for Chunks {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_recv(cx)
    }
}

/// An export's writer: 64 KiB at a time into the channel; a client gone stops it.
struct ChannelWriter {
    buf: Vec<u8>,
    tx: tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>,
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= 64 * 1024 {
            self.flush()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::take(&mut self.buf));
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the client has gone"))
    }
}

type ExportFn =
    Box<dyn FnOnce(&rusqlite::Connection, ChannelWriter) -> Result<u64, ApiError> + Send>;

fn stream(call: &Call, name: String, run: ExportFn) -> HttpResponse {
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let state = call.state.clone();
    std::thread::Builder::new()
        .name("export".into())
        .spawn(move || {
            let writer = ChannelWriter {
                buf: Vec::with_capacity(64 * 1024),
                tx: tx.clone(),
            };
            if let Err(e) = state.db.read(|conn| run(conn, writer)) {
                log::info!("an export stopped: {}", crate::error::Chain(&e));
                let _ = tx.blocking_send(Err(std::io::Error::other("the export stopped")));
            }
        })
        .ok();
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/csv; charset=utf-8"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        ))
        .streaming(Chunks(rx))
}

pub async fn export_customers(call: Call, path: web::Path<String>) -> Answer {
    let account = path.into_inner();
    let store_id = call.read(move |_, access| access.store(&account)).await?;
    Ok(stream(
        &call,
        format!("customers-{store_id}.csv"),
        Box::new(move |conn, w| export::customers(conn, store_id, w, &mut |_| {})),
    ))
}

pub async fn export_ledger(call: Call, path: web::Path<String>, req: HttpRequest) -> Answer {
    let q = query_map(&req);
    let account = path.into_inner();
    let store_id = call.read(move |_, access| access.store(&account)).await?;
    let period = export::Period::parse(
        q.get("from").map(String::as_str),
        q.get("to").map(String::as_str),
    )?;
    Ok(stream(
        &call,
        format!("ledger-{store_id}.csv"),
        Box::new(move |conn, w| export::ledger(conn, store_id, &period, w, &mut |_| {})),
    ))
}

fn components(c: &mut Components) {
    use super::openapi::schema::*;
    c.query(
        "dry_run",
        "Report what would be done without writing anything.",
        json!({"type": "boolean"}),
    );
    c.query(
        "map",
        "A column read from a header of another name: `column=Header` (repeat for several).",
        json!({"type": "string"}),
    );
    super::insights::date_range(c);
    c.schema(
        "CsvFile",
        json!({"type": "string", "description": "CSV text, a header line first"}),
    );
    c.schema(
        "ImportReport",
        object(json!({
            "dry_run": boolean(),
            "rows": count(),
            "created": count(),
            "updated": count(),
            "unchanged": count(),
            "cards_created": count(),
            "stamps_imported": json!({"type": "integer"}),
            "skipped": json!({"type": "array", "items": object(json!({
                "line": count(),
                "errors": json!({"type": "object", "additionalProperties": {"type": "array", "items": string()}}),
            }))}),
            "resumed_after": count(),
        })),
    );
    c.schema(
        "ImportPreview",
        object(json!({
            "separator": string(),
            "columns": json!({"type": "array", "items": object(json!({
                "header": string(),
                "column": nullable(string()),
            }))}),
            "rows": json!({"type": "array", "items": {"type": "array", "items": string()}}),
            "total_rows": count(),
        })),
    );
}
