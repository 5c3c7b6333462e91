//! The network edge: what happens to a connection and to a request before a handler
//! sees it. The HTTP server assembled from actix-web's parts — over TLS when HTTPS is
//! on, with plain HTTP redirecting to it (`redirect`) — with each connection counted
//! against its peer's address (`connections`), the client address and scheme behind
//! trusted proxies and the keys of per-address limits (`peer`), bounded rate-limit
//! tables (`limit`), the access log without secrets (`access_log`), and HEAD answered
//! as GET.
//!
//! Deadlines and the size limit of request bodies live with the one body reader,
//! `params::RawBody`.

pub mod access_log;
pub mod connections;
pub mod limit;
pub mod peer;
pub mod redirect;

use std::fmt;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_http::body::MessageBody;
use actix_http::{HttpService, Request, Response};
use actix_service::{map_config, IntoServiceFactory, ServiceFactory, ServiceFactoryExt};
use actix_web::dev::{AppConfig, Server, ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;

use crate::config::Settings;
use connections::OpenConnections;

/// How long a worker finishes requests in flight once the server is told to stop.
const SHUTDOWN_TIMEOUT_SECS: u64 = 10;
/// How long the server waits for a client to close its side after the last answer.
const DISCONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// HTTPS beside the plain listener: its listener, its rustls configuration, and where
/// the plain listener then sends requests.
pub struct HttpsListener {
    pub listener: TcpListener,
    pub config: rustls::ServerConfig,
    pub redirect: redirect::Redirect,
}

/// The HTTP/1.1 server serving the app `app` builds (once per worker), with
/// `settings`' workers, head deadline and per-address connection cap: on `listener`
/// alone, or with `https`, over TLS on its listener while `listener` redirects to it.
///
/// This is what actix-web's `HttpServer::listen` assembles, with one layer more: each
/// connection service is wrapped by `connections::counted` (one table for both
/// listeners), which `HttpServer` has no place for.
pub fn http_server<F, I, S, B>(
    settings: &Settings,
    listener: TcpListener,
    https: Option<HttpsListener>,
    app: F,
) -> std::io::Result<Server>
where
    F: Fn() -> I + Send + Clone + 'static,
    I: IntoServiceFactory<S, Request>,
    S: ServiceFactory<Request, Config = AppConfig> + 'static,
    S::Error: Into<actix_web::Error> + 'static,
    S::InitError: fmt::Debug,
    S::Response: Into<Response<B>> + 'static,
    S::Service: 'static,
    B: MessageBody + 'static,
{
    let builder = actix_server::Server::build()
        .workers(settings.workers)
        .shutdown_timeout(SHUTDOWN_TIMEOUT_SECS);
    let stopping = builder.graceful_shutdown_signal();
    let head_timeout = Duration::from_secs(settings.request_head_timeout_secs);
    let open = OpenConnections::new(settings.max_connections_per_address);
    let trusted = peer::TrustedProxies::new(&settings.trusted_proxies);
    // The actix-http service builder for a listener at `$local`, its idle connections
    // closed on `$stopping`.
    macro_rules! http_service {
        ($stopping:expr, $local:expr) => {{
            let stopping = $stopping.clone();
            HttpService::build()
                // Idle keep-alive connections close when the server stops.
                .graceful_shutdown_signal(move || {
                    let stopping = stopping.clone();
                    async move { stopping.notified().await }
                })
                .client_request_timeout(head_timeout)
                .client_disconnect_timeout(DISCONNECT_TIMEOUT)
                .local_addr($local)
        }};
    }
    // The app, as actix-web's `HttpServer` wraps it. stampd reads neither the host nor
    // the address of the app config (no `url_for`, no `connection_info`), so the
    // default stands.
    let app_factory = move |app: &F| {
        map_config(
            app()
                .into_factory()
                .map_err(|err| err.into().error_response()),
            |_| AppConfig::default(),
        )
    };
    let server = match https {
        None => {
            let local = listener.local_addr()?;
            builder.listen("stampd", listener, move || {
                let http = http_service!(stopping, local)
                    .finish(app_factory(&app))
                    .tcp();
                connections::counted(Arc::clone(&open), trusted.clone(), http)
            })?
        }
        Some(https) => {
            let local = https.listener.local_addr()?;
            let plain_local = listener.local_addr()?;
            let config = https.config;
            let redirect = Arc::new(https.redirect);
            let (open_tls, trusted_tls) = (Arc::clone(&open), trusted.clone());
            let stopping_plain = stopping.clone();
            builder
                .listen("stampd-https", https.listener, move || {
                    let http = http_service!(stopping, local)
                        // Handlers tell the client's connection is HTTPS by this mark.
                        .on_connect_ext(|_, data| {
                            data.insert(peer::OverTls);
                        })
                        .finish(app_factory(&app))
                        .rustls_0_23(config.clone());
                    connections::counted(Arc::clone(&open_tls), trusted_tls.clone(), http)
                })?
                .listen("stampd-http", listener, move || {
                    let http = http_service!(stopping_plain, plain_local)
                        .finish(redirect::service(redirect.clone()))
                        .tcp();
                    connections::counted(Arc::clone(&open), trusted.clone(), http)
                })?
        }
    }
    .run();
    Ok(server)
}

/// HEAD is answered as GET, so that it works on every GET route with the same status
/// and headers; actix-http leaves the body out of the answer to a HEAD request.
pub async fn head_as_get(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if req.method() == Method::HEAD {
        req.head_mut().method = Method::GET;
    }
    next.call(req).await
}
