//! The counter page: the in-store tablet app at `/` with its assets under `/assets/`,
//! and the QR code of a card's web card link at `/c/<uuid>/qr.svg`.
//!
//! The page is plain HTML, CSS and JavaScript modules from `web/`, embedded in the
//! binary, plus `/assets/vocab.js`, which stampd writes from its own definitions (see
//! `vocab`). It holds no data of its own: it signs in with an API token or as a paired
//! tablet and speaks only the public JSON API, so everything it does an API client can
//! do too.

mod vocab;

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::web::Bytes;
use actix_web::{web, HttpRequest, HttpResponse};
use sha2::{Digest, Sha256};

use super::AppState;
use crate::codes;
use crate::db;
use crate::error::ApiError;

/// The page may run its own script and styles and call its own API; nothing else.
/// `mediastream:` and `blob:` let the "Scan" button show the camera.
const PAGE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data: blob:; connect-src 'self'; media-src 'self' blob: mediastream:; \
     manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// An SVG image may draw itself and nothing more.
const SVG_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'";

pub(super) const JAVASCRIPT: &str = "text/javascript; charset=utf-8";

/// A file embedded in the binary.
pub(super) struct Asset {
    pub name: &'static str,
    pub content_type: &'static str,
    pub body: &'static [u8],
}

/// A file of `web/`, embedded.
macro_rules! asset {
    ($name:literal, $content_type:expr) => {
        Asset {
            name: $name,
            content_type: $content_type,
            body: include_bytes!(concat!("../../web/", $name)),
        }
    };
}

const INDEX: Asset = asset!("index.html", "text/html; charset=utf-8");

/// Every file of `web/` but the page itself; a test checks that none is missing.
const ASSETS: &[Asset] = &[
    asset!("app.js", JAVASCRIPT),
    asset!("api.js", JAVASCRIPT),
    asset!("card-editor.js", JAVASCRIPT),
    asset!("card-face.js", JAVASCRIPT),
    asset!("cards.js", JAVASCRIPT),
    asset!("catalog.js", JAVASCRIPT),
    asset!("customer-card.js", JAVASCRIPT),
    asset!("customer.js", JAVASCRIPT),
    asset!("enrol.js", JAVASCRIPT),
    asset!("enrolment.js", JAVASCRIPT),
    asset!("find.js", JAVASCRIPT),
    asset!("flags.js", JAVASCRIPT),
    asset!("posters.js", JAVASCRIPT),
    asset!("queue.js", JAVASCRIPT),
    asset!("queue-store.js", JAVASCRIPT),
    asset!("router.js", JAVASCRIPT),
    asset!("scan-guard.js", JAVASCRIPT),
    asset!("session.js", JAVASCRIPT),
    asset!("signin.js", JAVASCRIPT),
    asset!("staff-admin.js", JAVASCRIPT),
    asset!("stamp-guard.js", JAVASCRIPT),
    asset!("tablet.js", JAVASCRIPT),
    asset!("ui.js", JAVASCRIPT),
    asset!("webhooks.js", JAVASCRIPT),
    asset!("words.js", JAVASCRIPT),
    asset!("app.css", "text/css; charset=utf-8"),
    asset!("icon.svg", "image/svg+xml"),
];

/// Pixel size of the web card QR code.
const QR_SIZE: u32 = 320;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(super::resource("/", &[Method::GET]).route(web::get().to(index)))
        .service(super::resource("/assets/vocab.js", &[Method::GET]).route(web::get().to(vocab)))
        .service(super::resource("/assets/{name}", &[Method::GET]).route(web::get().to(asset)));
}

async fn index(req: HttpRequest) -> HttpResponse {
    serve(&req, INDEX.content_type, Bytes::from_static(INDEX.body))
}

async fn asset(req: HttpRequest, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let name = path.into_inner();
    let asset = ASSETS
        .iter()
        .find(|a| a.name == name)
        .ok_or_else(|| ApiError::NotFound("Not found".into()))?;
    Ok(serve(
        &req,
        asset.content_type,
        Bytes::from_static(asset.body),
    ))
}

async fn vocab(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    serve(&req, JAVASCRIPT, vocab::module(&state.public_url).into())
}

/// A file of the page with the page's security headers. Browsers revalidate it on every
/// load (`no-cache`) and get 304 while it is unchanged, so a new stampd binary is
/// picked up at once.
fn serve(req: &HttpRequest, content_type: &'static str, body: Bytes) -> HttpResponse {
    serve_with(req, content_type, body, PAGE_CSP)
}

/// [`serve`] with another page's Content-Security-Policy.
pub(super) fn serve_with(
    req: &HttpRequest,
    content_type: &'static str,
    body: Bytes,
    csp: &'static str,
) -> HttpResponse {
    let etag = format!(
        "\"{}\"",
        hex(&Sha256::digest(&body)[..12]) // 96 bits name a version well enough
    );
    let unchanged = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut res = if unchanged {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    res.insert_header((header::ETAG, etag))
        .insert_header((header::CACHE_CONTROL, "no-cache"));
    security_headers(&mut res, csp);
    if unchanged {
        res.finish()
    } else {
        res.content_type(content_type).body(body)
    }
}

fn security_headers(res: &mut actix_web::HttpResponseBuilder, csp: &'static str) {
    res.insert_header((
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(csp),
    ))
    .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
    .insert_header((header::X_FRAME_OPTIONS, "DENY"))
    .insert_header((header::REFERRER_POLICY, "no-referrer"))
    .insert_header((
        header::HeaderName::from_static("permissions-policy"),
        "camera=(self), microphone=(), geolocation=(), payment=()",
    ))
    .insert_header((
        header::HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    ));
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `GET /c/<uuid>/qr.svg`: a QR code of the card's web card link, for the customer to
/// scan with their phone at the counter. Public like the web card itself; 404 for a
/// uuid that is no card, so it draws codes of real cards only.
pub async fn web_card_qr(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let not_found = || ApiError::not_found("Card");
    let uuid = uuid::Uuid::try_parse(&path.into_inner())
        .map_err(|_| not_found())?
        .hyphenated()
        .to_string();
    let st = state.clone();
    let lookup = uuid.clone();
    let view = web::block(move || {
        st.db
            .read(|conn| Ok(db::customer_cards::view_by_uuid(conn, &lookup)?))
    })
    .await??;
    if view.is_none() {
        return Err(not_found());
    }
    let url = crate::domain::links::CardLinks::new(&state.public_url, &uuid).web_card();
    let svg = codes::qr_svg(&url, QR_SIZE).map_err(ApiError::internal)?;
    let mut res = HttpResponse::build(StatusCode::OK);
    res.content_type("image/svg+xml")
        .insert_header((header::CACHE_CONTROL, "no-store"));
    security_headers(&mut res, SVG_CSP);
    Ok(res.body(svg))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_of_the_page_is_embedded() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/web");
        // Files of the page; folders (`docs/`, `vendor/`) are other pages' and served there.
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .expect("web/")
            .map(|e| e.expect("an entry"))
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .map(|e| e.file_name().into_string().expect("a name"))
            .collect();
        files.sort();
        let mut embedded: Vec<String> = ASSETS
            .iter()
            .chain([&INDEX])
            .map(|a| a.name.to_string())
            .collect();
        embedded.sort();
        assert_eq!(files, embedded);
        assert!(
            !files.iter().any(|f| f == "vocab.js"),
            "stampd writes vocab.js"
        );
        for a in ASSETS.iter().filter(|a| a.name.ends_with(".js")) {
            assert_eq!(a.content_type, JAVASCRIPT, "{}", a.name);
        }
    }
}
