//! Plain HTTP while HTTPS is on: every request is sent to HTTPS (308, so a POST stays a
//! POST, with the same path and query), except ACME's HTTP-01 challenge
//! (`/.well-known/acme-challenge/<token>`), answered here.
//!
//! The HTTPS address is `public_url`'s origin when one is set and https (ACME makes it
//! `https://<first domain>` by default); else the host the client asked for, on the
//! HTTPS port (own certificates without a `public_url`).

use std::sync::Arc;

use actix_http::body::BoxBody;
use actix_http::{Request, Response, StatusCode};
use actix_service::{fn_service, ServiceFactory};
use actix_web::http::header::{self, HeaderValue};
use actix_web::HttpMessage;

use crate::tls::acme::Http01Answers;

const CHALLENGE_PATH: &str = "/.well-known/acme-challenge/";

/// Where plain HTTP requests are sent.
pub struct Redirect {
    /// `https://host[:port]` of `public_url`, when it is https.
    origin: Option<String>,
    https_port: u16,
    answers: Arc<Http01Answers>,
}

impl Redirect {
    /// `public_url` as the settings give it (not the bound address it defaults to).
    pub fn new(public_url: Option<&str>, https_port: u16, answers: Arc<Http01Answers>) -> Redirect {
        let origin = public_url
            .and_then(|u| u.strip_prefix("https://"))
            .and_then(|rest| rest.split(['/', '?', '#']).next())
            .filter(|authority| !authority.is_empty())
            .map(|authority| format!("https://{authority}"));
        Redirect {
            origin,
            https_port,
            answers,
        }
    }

    fn answer(&self, req: &Request) -> Response<BoxBody> {
        if let Some(token) = req.path().strip_prefix(CHALLENGE_PATH) {
            return match self.answers.answer(token) {
                Some(key_authorization) => {
                    log::info!("answered an ACME HTTP-01 challenge");
                    Response::build(StatusCode::OK)
                        .insert_header((header::CONTENT_TYPE, "text/plain"))
                        .body(key_authorization)
                        .map_into_boxed_body()
                }
                None => Response::build(StatusCode::NOT_FOUND)
                    .finish()
                    .map_into_boxed_body(),
            };
        }
        let Some(origin) = self.origin.clone().or_else(|| self.same_host(req)) else {
            return Response::build(StatusCode::BAD_REQUEST)
                .insert_header((header::CONTENT_TYPE, "text/plain"))
                .body("This server answers HTTPS only.")
                .map_into_boxed_body();
        };
        let target = req
            .uri()
            .path_and_query()
            .map_or("/", |pq| pq.as_str())
            .to_string();
        match HeaderValue::try_from(format!("{origin}{target}")) {
            Ok(location) => Response::build(StatusCode::PERMANENT_REDIRECT)
                .insert_header((header::LOCATION, location))
                .finish()
                .map_into_boxed_body(),
            Err(_) => Response::build(StatusCode::BAD_REQUEST)
                .finish()
                .map_into_boxed_body(),
        }
    }

    /// `https://` and the host the client asked for, on the HTTPS port.
    fn same_host(&self, req: &Request) -> Option<String> {
        let host = req.headers().get(header::HOST)?.to_str().ok()?;
        let uri: actix_http::Uri = format!("http://{host}/").parse().ok()?;
        let name = uri.host()?;
        let port = match self.https_port {
            443 => String::new(),
            p => format!(":{p}"),
        };
        Some(format!("https://{name}{port}"))
    }
}

/// The HTTP service of the plain port.
pub fn service(
    redirect: Arc<Redirect>,
) -> impl ServiceFactory<
    Request,
    Config = (),
    Response = Response<BoxBody>,
    Error = actix_http::Error,
    InitError = (),
> {
    fn_service(move |req: Request| {
        let answer = redirect.answer(&req);
        async move { Ok(answer) }
    })
}
