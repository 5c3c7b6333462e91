//! The Apple Wallet channel: a push through APNs to each device that holds a pass
//! which changed (the rows `crate::db::pass_updates` queues). The push carries nothing
//! (`{}`): Wallet then asks the pass web service which of its passes changed and fetches
//! them; the lock-screen notice comes from the new pass's `changeMessage`.
//!
//! APNs speaks HTTP/2 only. The client is `h2` over `tokio-rustls`, presenting the Pass
//! Type ID certificate (with Apple's WWDR intermediate) as the TLS client certificate,
//! the pass type id as `apns-topic`. One connection is kept and reused; the rows of a
//! round go out on it together, as concurrent streams, on a small runtime of the
//! sender's own thread.
//!
//! Answers: 200 is sent; 410, or 400 `BadDeviceToken` / `DeviceTokenNotForTopic`, says
//! the device no longer takes pushes for the pass type: its registrations go (and with
//! them `pass_installed`). Connection errors, 429, 5xx and every other refusal (a
//! certificate or topic APNs does not accept: settings to fix) are retried with backoff.

use std::cell::RefCell;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use h2::client::SendRequest;
use http::{Method, Request, StatusCode, Uri};
use rusqlite::Connection;
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio::runtime::Runtime;
use tokio_rustls::TlsConnector;

use super::{Batch, Channel, Forget, SendError, SEND_TIMEOUT};
use crate::config::Settings;
use crate::db::outbox::{Due, APNS};

/// Rows one round takes; they go out together, one stream each.
const ROWS: i64 = 200;
/// How long APNs keeps a push for a device it cannot reach now: by then Wallet has
/// refreshed the pass by itself.
const EXPIRATION: Duration = Duration::from_secs(7 * 24 * 3600);
/// The most of an answer's body kept (APNs answers `{"reason": "..."}`).
const BODY_LIMIT: usize = 4096;

pub struct Apns {
    /// `None` when Apple Wallet is off; the error when its settings cannot be used.
    client: Option<Result<Client, String>>,
}

struct Client {
    runtime: Runtime,
    tls: TlsConnector,
    server_name: ServerName<'static>,
    host: String,
    port: u16,
    /// `https://host[:port]`, the base of each request's URI.
    base: String,
    topic: String,
    /// The open connection, if any.
    connection: RefCell<Option<SendRequest<Bytes>>>,
}

impl Apns {
    pub fn new(settings: &Settings) -> Apns {
        let client = settings.apple.as_ref().map(|apple| {
            Client::new(settings, apple).inspect_err(|e| {
                log::error!("outbox: Apple Wallet pushes cannot be sent: {e}");
            })
        });
        Apns { client }
    }
}

impl Client {
    fn new(settings: &Settings, apple: &crate::config::AppleSettings) -> Result<Client, String> {
        let identity = crate::wallet::keys::tls_identity(apple)
            .map_err(|e| format!("the Pass Type ID certificate: {e}"))?;
        let config =
            super::tls::client_config(settings.extra_ca_file.as_deref(), Some(identity), &[b"h2"])?;
        let base = settings.apns_url().to_string();
        let uri: Uri = base
            .parse()
            .map_err(|e| format!("APNs base URL {base:?}: {e}"))?;
        let host = uri
            .host()
            .ok_or_else(|| format!("APNs base URL {base:?} has no host"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let server_name = ServerName::try_from(host.clone())
            .map_err(|e| format!("APNs base URL {base:?}: {e}"))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the APNs client: {e}"))?;
        Ok(Client {
            runtime,
            tls: TlsConnector::from(config),
            server_name,
            port: uri.port_u16().unwrap_or(443),
            host,
            base: base.trim_end_matches('/').to_string(),
            topic: apple.pass_type_id.trim().to_string(),
            connection: RefCell::new(None),
        })
    }

    /// Sends a push for each row, all at once; reconnects and sends again once when a
    /// kept connection turns out to be closed.
    fn push_all(&self, rows: &[Due]) -> Vec<Result<(), SendError>> {
        self.runtime.block_on(async {
            let reused = self.connection.borrow().is_some();
            let outcomes = self.push_once(rows).await;
            let broken = outcomes
                .iter()
                .all(|o| matches!(o, Err(Failure::Connection(_))));
            let outcomes = if reused && broken {
                self.push_once(rows).await
            } else {
                outcomes
            };
            outcomes
                .into_iter()
                .map(|o| o.map_err(Failure::into_send_error))
                .collect()
        })
    }

    async fn push_once(&self, rows: &[Due]) -> Vec<Result<(), Failure>> {
        let connection = match self.connection().await {
            Ok(c) => c,
            Err(e) => {
                return rows
                    .iter()
                    .map(|_| Err(Failure::Connection(e.clone())))
                    .collect()
            }
        };
        let mut pushes = tokio::task::JoinSet::new();
        let mut outcomes: Vec<Result<(), Failure>> = Vec::with_capacity(rows.len());
        for (i, row) in rows.iter().enumerate() {
            outcomes.push(Ok(()));
            match self.request(&row.address) {
                Ok(request) => {
                    let connection = connection.clone();
                    pushes.spawn(async move {
                        let answer = tokio::time::timeout(SEND_TIMEOUT, push(connection, request));
                        let outcome = match answer.await {
                            Ok(Ok((status, body))) => outcome(status, &body),
                            Ok(Err(e)) => Err(Failure::Connection(format!("APNs: {e}"))),
                            Err(_) => Err(Failure::Connection(format!(
                                "APNs did not answer within {} s",
                                SEND_TIMEOUT.as_secs()
                            ))),
                        };
                        (i, outcome)
                    });
                }
                Err(e) => outcomes[i] = Err(e),
            }
        }
        while let Some(done) = pushes.join_next().await {
            match done {
                Ok((i, outcome)) => outcomes[i] = outcome,
                Err(e) => log::error!("outbox: an APNs push stopped: {e}"),
            }
        }
        if outcomes
            .iter()
            .any(|o| matches!(o, Err(Failure::Connection(_))))
        {
            // The next round starts on a new connection.
            self.connection.borrow_mut().take();
        }
        outcomes
    }

    /// The kept connection, or a new one.
    async fn connection(&self) -> Result<SendRequest<Bytes>, String> {
        if let Some(c) = self.connection.borrow().as_ref() {
            return Ok(c.clone());
        }
        let c = tokio::time::timeout(SEND_TIMEOUT, self.connect())
            .await
            .map_err(|_| {
                format!(
                    "APNs: no connection to {} within {} s",
                    self.base,
                    SEND_TIMEOUT.as_secs()
                )
            })??;
        *self.connection.borrow_mut() = Some(c.clone());
        Ok(c)
    }

    async fn connect(&self) -> Result<SendRequest<Bytes>, String> {
        let fail =
            |what: &str, e: &dyn std::fmt::Display| format!("APNs {}: {what}: {e}", self.base);
        let tcp = TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|e| fail("cannot connect", &e))?;
        let _ = tcp.set_nodelay(true);
        let tls = self
            .tls
            .connect(self.server_name.clone(), tcp)
            .await
            .map_err(|e| fail("TLS", &e))?;
        if tls.get_ref().1.alpn_protocol() != Some(b"h2") {
            return Err(format!("APNs {} does not speak HTTP/2", self.base));
        }
        let (send, connection) = h2::client::handshake(tls)
            .await
            .map_err(|e| fail("HTTP/2", &e))?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                log::debug!("outbox: the APNs connection ended: {e}");
            }
        });
        Ok(send)
    }

    /// The request of a push to the device with push token `token`.
    fn request(&self, token: &str) -> Result<Request<()>, Failure> {
        // Apple's push tokens are hexadecimal; anything else in the path is refused,
        // not escaped.
        if token.is_empty() || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Failure::Device(format!(
                "{token:?} is not an APNs push token"
            )));
        }
        let expiration = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .saturating_add(EXPIRATION)
            .as_secs();
        Request::builder()
            .method(Method::POST)
            .uri(format!("{}/3/device/{token}", self.base))
            .header("apns-topic", &self.topic)
            // A pass update carries no alert: Wallet fetches the pass, and the pass's
            // changeMessage is the notice. Such background pushes go at priority 5.
            .header("apns-push-type", "background")
            .header("apns-priority", "5")
            .header("apns-expiration", expiration.to_string())
            .header("content-type", "application/json")
            .header("content-length", "2")
            .body(())
            .map_err(|e| Failure::Connection(format!("APNs request: {e}")))
    }
}

/// Why a push did not go out.
#[derive(Debug, Clone)]
enum Failure {
    /// No answer (no connection, a broken one, a timeout): retried.
    Connection(String),
    /// APNs answered with a refusal a retry may mend (429, 5xx, a certificate or topic
    /// it does not accept).
    Refused(String),
    /// The device no longer takes pushes for this pass type.
    Device(String),
}

impl Failure {
    fn into_send_error(self) -> SendError {
        match self {
            Failure::Connection(m) | Failure::Refused(m) => SendError::transient(m),
            Failure::Device(m) => SendError::gone(m),
        }
    }
}

/// Sends one push and reads its answer.
async fn push(
    connection: SendRequest<Bytes>,
    request: Request<()>,
) -> Result<(StatusCode, Bytes), h2::Error> {
    let mut connection = connection.ready().await?;
    let (answer, mut stream) = connection.send_request(request, false)?;
    stream.send_data(Bytes::from_static(b"{}"), true)?;
    let answer = answer.await?;
    let status = answer.status();
    let mut body = answer.into_body();
    let mut read = Vec::new();
    while let Some(chunk) = body.data().await {
        let chunk = chunk?;
        let _ = body.flow_control().release_capacity(chunk.len());
        if read.len() < BODY_LIMIT {
            read.extend_from_slice(&chunk[..chunk.len().min(BODY_LIMIT - read.len())]);
        }
    }
    Ok((status, Bytes::from(read)))
}

/// What an answer means.
fn outcome(status: StatusCode, body: &[u8]) -> Result<(), Failure> {
    let reason = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|b| b.get("reason").and_then(|r| r.as_str()).map(str::to_string))
        .unwrap_or_default();
    let said = format!("APNs answered {} {reason}", status.as_u16());
    let said = said.trim_end().to_string();
    match status {
        StatusCode::OK => Ok(()),
        StatusCode::GONE => Err(Failure::Device(format!(
            "{said}: the device no longer takes pushes for this pass type; unregistered"
        ))),
        StatusCode::BAD_REQUEST
            if matches!(
                reason.as_str(),
                "BadDeviceToken" | "DeviceTokenNotForTopic" | "Unregistered"
            ) =>
        {
            Err(Failure::Device(format!("{said}; unregistered")))
        }
        _ => Err(Failure::Refused(said)),
    }
}

/// Unregisters the device a gone row was for (its push token for every pass).
fn unregister(tx: &Connection, due: &Due) -> rusqlite::Result<()> {
    let device = due
        .payload
        .as_deref()
        .and_then(|p| serde_json::from_str::<serde_json::Value>(p).ok())
        .and_then(|p| p.get("device").and_then(|d| d.as_str()).map(str::to_string));
    if let Some(device) = device {
        let gone = crate::db::passes::unregister_push_token(tx, &device, &due.address)?;
        log::info!("outbox: apns: device unregistered from {gone} passes");
    }
    Ok(())
}

impl Channel for Apns {
    fn name(&self) -> &'static str {
        APNS
    }

    fn configured(&self) -> bool {
        self.client.is_some()
    }

    fn send(&self, due: &Due) -> Result<(), SendError> {
        self.send_together(std::slice::from_ref(due))
            .pop()
            .unwrap_or_else(|| Err(SendError::transient("no outcome")))
    }

    fn batch(&self) -> Batch {
        Batch {
            rows: ROWS,
            together: ROWS as usize,
        }
    }

    fn send_together(&self, due: &[Due]) -> Vec<Result<(), SendError>> {
        match &self.client {
            Some(Ok(client)) => client.push_all(due),
            Some(Err(e)) => due.iter().map(|_| Err(SendError::transient(e))).collect(),
            None => due
                .iter()
                .map(|_| Err(SendError::transient("Apple Wallet is not configured")))
                .collect(),
        }
    }

    fn forget(&self) -> Option<Forget> {
        Some(unregister)
    }

    /// A push that went out is not kept: there is one per device and change.
    fn keeps_sent(&self, _due: &Due) -> bool {
        false
    }

    /// A push stands for every change of the device's passes queued before it.
    fn merges(&self) -> bool {
        true
    }

    fn nice(&self) -> i32 {
        super::WALLET_NICE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_say_what_becomes_of_the_device() {
        assert!(outcome(StatusCode::OK, b"").is_ok());
        let gone = |s, b: &[u8]| matches!(outcome(s, b), Err(Failure::Device(_)));
        assert!(gone(StatusCode::GONE, br#"{"reason":"Unregistered"}"#));
        assert!(gone(
            StatusCode::BAD_REQUEST,
            br#"{"reason":"BadDeviceToken"}"#
        ));
        assert!(gone(
            StatusCode::BAD_REQUEST,
            br#"{"reason":"DeviceTokenNotForTopic"}"#
        ));
        let refused = |s, b: &[u8]| match outcome(s, b) {
            Err(Failure::Refused(m)) => m,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            refused(StatusCode::BAD_REQUEST, br#"{"reason":"BadTopic"}"#),
            "APNs answered 400 BadTopic"
        );
        assert_eq!(
            refused(StatusCode::TOO_MANY_REQUESTS, b""),
            "APNs answered 429"
        );
        assert!(
            refused(StatusCode::FORBIDDEN, br#"{"reason":"BadCertificate"}"#)
                .contains("BadCertificate")
        );
        assert!(refused(StatusCode::SERVICE_UNAVAILABLE, b"not json").contains("503"));
    }
}
