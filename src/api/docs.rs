//! `GET /docs`: the API reference for developers (the status's `documentation_url`),
//! with the renderer and the page's style, all embedded in the binary: no CDN.

use actix_web::http::header;
use actix_web::http::Method;
use actix_web::web::Bytes;
use actix_web::{web, HttpRequest, HttpResponse};

use super::counter_page::{serve_with, Asset, JAVASCRIPT};
use super::AppState;

/// RapiDoc runs its own bundle and draws with inline styles (its web components set
/// style attributes), so this page alone allows inline styles; script stays `'self'`.
pub const DOCS_CSP: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; \
     connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const RENDERER: Asset = Asset {
    name: "rapidoc-min.js",
    content_type: JAVASCRIPT,
    body: include_bytes!("../../web/vendor/rapidoc/rapidoc-min.js"),
};

const STYLE: Asset = Asset {
    name: "docs.css",
    content_type: "text/css; charset=utf-8",
    body: include_bytes!("../../web/docs/docs.css"),
};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(super::resource("/docs", &[Method::GET]).route(web::get().to(page)))
        .service(
            super::resource("/docs/rapidoc-min.js", &[Method::GET])
                .route(web::get().to(|req: HttpRequest| async move { file(&req, &RENDERER) })),
        )
        .service(
            super::resource("/docs/docs.css", &[Method::GET])
                .route(web::get().to(|req: HttpRequest| async move { file(&req, &STYLE) })),
        );
}

async fn page(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let html = crate::pages::docs::page(&state.public_url).into_string();
    let mut res = serve_with(
        &req,
        "text/html; charset=utf-8",
        Bytes::from(html),
        DOCS_CSP,
    );
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-cache"),
    );
    res
}

fn file(req: &HttpRequest, asset: &Asset) -> HttpResponse {
    serve_with(
        req,
        asset.content_type,
        Bytes::from_static(asset.body),
        DOCS_CSP,
    )
}
