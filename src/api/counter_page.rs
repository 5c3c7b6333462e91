//! The counter page: the in-store tablet app at `/` with its assets under `/assets/`,
//! and the QR code of a card's web card link at `/c/<uuid>/qr.svg`.
//!
//! The page is plain HTML, CSS and JavaScript from `web/`, embedded in the binary. It
//! holds no data of its own: it signs in with an API token and speaks only the public
//! JSON API, so everything it does an API client can do too.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
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

struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

const INDEX: Asset = Asset {
    name: "index.html",
    content_type: "text/html; charset=utf-8",
    body: include_bytes!("../../web/index.html"),
};

const ASSETS: &[Asset] = &[
    Asset {
        name: "app.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../web/app.js"),
    },
    Asset {
        name: "app.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("../../web/app.css"),
    },
    Asset {
        name: "icon.svg",
        content_type: "image/svg+xml",
        body: include_bytes!("../../web/icon.svg"),
    },
];

/// Pixel size of the web card QR code.
const QR_SIZE: u32 = 320;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(super::resource("/", &[Method::GET]).route(web::get().to(index)))
        .service(super::resource("/assets/{name}", &[Method::GET]).route(web::get().to(asset)));
}

async fn index(req: HttpRequest) -> HttpResponse {
    serve(&req, &INDEX)
}

async fn asset(req: HttpRequest, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let name = path.into_inner();
    let asset = ASSETS
        .iter()
        .find(|a| a.name == name)
        .ok_or_else(|| ApiError::NotFound("Not found".into()))?;
    Ok(serve(&req, asset))
}

/// An embedded file with the page's security headers. Browsers revalidate it on every
/// load (`no-cache`) and get 304 while it is unchanged, so a new stampd binary is
/// picked up at once.
fn serve(req: &HttpRequest, asset: &Asset) -> HttpResponse {
    let etag = format!(
        "\"{}\"",
        hex(&Sha256::digest(asset.body)[..12]) // 96 bits name a version well enough
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
    security_headers(&mut res, PAGE_CSP);
    if unchanged {
        res.finish()
    } else {
        res.content_type(asset.content_type).body(asset.body)
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
    let url = crate::wallet::web_card_url(&state.public_url, &uuid);
    let svg = codes::qr_svg(&url, QR_SIZE).map_err(ApiError::internal)?;
    let mut res = HttpResponse::build(StatusCode::OK);
    res.content_type("image/svg+xml")
        .insert_header((header::CACHE_CONTROL, "no-store"));
    security_headers(&mut res, SVG_CSP);
    Ok(res.body(svg))
}
