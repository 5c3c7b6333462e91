//! The background sender of card links: takes due deliveries from the outbox table,
//! sends them by email (SMTP) or SMS (an HTTP gateway), and records each try. A failed
//! try is retried with doubling waits; after the last one the delivery stays, marked
//! failed, with its error. Channels without settings leave their deliveries pending
//! with the reason "not configured", to go out once the channel is set up.

use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::Mutex;
use std::thread::JoinHandle;
use std::time::Duration;

use lettre::message::{header::ContentType, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{Message, SmtpTransport, Transport};

use crate::config::{Settings, SmsSettings, SmtpSettings, SmtpTls};
use crate::db::deliveries::{self, Due};
use crate::db::Db;
use crate::domain::links::CardLinks;
use crate::pages::card_link_mail::CardLinkMail;
use crate::time_fmt;

/// How many due deliveries one round takes.
const BATCH: i64 = 20;
/// The longest the sender sleeps without looking at the table.
const IDLE: Duration = Duration::from_secs(30);
/// Network timeout of one try.
const SEND_TIMEOUT: Duration = Duration::from_secs(15);

enum Signal {
    Wake,
    Stop,
}

/// The handle request handlers use to say "new deliveries are queued".
pub struct Outbox {
    tx: Mutex<Sender<Signal>>,
}

/// The receiving end, handed to [`spawn`].
pub struct OutboxReceiver(Receiver<Signal>);

pub fn channel() -> (Outbox, OutboxReceiver) {
    let (tx, rx) = mpsc::channel();
    (Outbox { tx: Mutex::new(tx) }, OutboxReceiver(rx))
}

impl Outbox {
    pub fn wake(&self) {
        let tx = self.tx.lock().unwrap_or_else(|e| e.into_inner());
        let _ = tx.send(Signal::Wake);
    }

    pub fn stop(&self) {
        let tx = self.tx.lock().unwrap_or_else(|e| e.into_inner());
        let _ = tx.send(Signal::Stop);
    }
}

/// Starts the sender thread.
pub fn spawn(rx: OutboxReceiver, db: Db, settings: Settings, public_url: String) -> JoinHandle<()> {
    std::thread::Builder::new()
        .name("outbox".into())
        .spawn(move || {
            let sender = Sender_::new(&settings, public_url);
            run(rx.0, &db, &settings, &sender)
        })
        .expect("can start the outbox thread")
}

fn run(rx: Receiver<Signal>, db: &Db, settings: &Settings, sender: &Sender_) {
    let mut configured: Vec<&str> = Vec::new();
    let mut unconfigured: Vec<&str> = Vec::new();
    for (channel, on) in [
        ("email", settings.smtp.is_some()),
        ("sms", settings.sms.is_some()),
    ] {
        if on {
            configured.push(channel)
        } else {
            unconfigured.push(channel)
        }
    }
    loop {
        let idle: Vec<&'static str> = unconfigured.clone();
        if let Err(e) = db.write(move |tx| Ok(deliveries::mark_unconfigured(tx, &idle)?)) {
            log::warn!("outbox: {}", crate::error::Chain(&e));
        }
        let due = match db.read(|c| Ok(deliveries::due(c, &configured, BATCH)?)) {
            Ok(d) => d,
            Err(e) => {
                log::warn!(
                    "outbox: cannot read due deliveries: {}",
                    crate::error::Chain(&e)
                );
                Vec::new()
            }
        };
        for d in &due {
            let outcome = sender.send(d);
            let tries = d.attempts + 1;
            let retry_at = outcome.is_err().then_some(()).and_then(|_| {
                (tries < i64::from(settings.delivery_max_attempts)).then(|| {
                    let wait = settings
                        .delivery_retry_base_secs
                        .saturating_mul(1 << (tries - 1).min(20));
                    time_fmt::format_timestamp(
                        time::OffsetDateTime::now_utc() + Duration::from_secs(wait),
                    )
                })
            });
            if let Err(error) = &outcome {
                log::warn!(
                    "outbox: {} delivery {} failed (try {tries}): {error}{}",
                    d.channel,
                    d.id,
                    if retry_at.is_some() {
                        "; will retry"
                    } else {
                        "; giving up"
                    }
                );
            }
            let id = d.id;
            let recorded = db.write(move |tx| {
                match &outcome {
                    Ok(()) => deliveries::mark_sent(tx, id)?,
                    Err(error) => deliveries::mark_failed_try(tx, id, error, retry_at.as_deref())?,
                }
                Ok(())
            });
            if let Err(e) = recorded {
                log::error!(
                    "outbox: cannot record delivery {}: {}",
                    d.id,
                    crate::error::Chain(&e)
                );
            }
        }
        if due.len() as i64 == BATCH {
            continue;
        }
        let wait = match db.read(|c| Ok(deliveries::next_due_at(c, &configured)?)) {
            Ok(Some(at)) => time_fmt::parse_timestamp(&at)
                .map(|t| (t - time::OffsetDateTime::now_utc()).max(time::Duration::ZERO))
                .map(|d| Duration::from_millis(d.whole_milliseconds() as u64 + 5).min(IDLE))
                .unwrap_or(IDLE),
            _ => IDLE,
        };
        match rx.recv_timeout(wait) {
            Ok(Signal::Wake) | Err(RecvTimeoutError::Timeout) => {}
            Ok(Signal::Stop) | Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

/// What the message of a delivery says, and the means to send it.
struct Sender_ {
    mailer: Option<(SmtpTransport, Mailbox)>,
    sms: Option<(SmsSettings, ureq::Agent)>,
    public_url: String,
}

impl Sender_ {
    fn new(settings: &Settings, public_url: String) -> Sender_ {
        let mailer = settings.smtp.as_ref().and_then(|s| match mailer(s) {
            Ok(m) => Some(m),
            Err(e) => {
                log::error!("outbox: email is configured but unusable: {e}");
                None
            }
        });
        let sms = settings.sms.clone().map(|s| {
            let agent = ureq::AgentBuilder::new().timeout(SEND_TIMEOUT).build();
            (s, agent)
        });
        Sender_ {
            mailer,
            sms,
            public_url,
        }
    }

    fn send(&self, d: &Due) -> Result<(), String> {
        let links = CardLinks::new(&self.public_url, &d.uuid);
        match d.channel.as_str() {
            "email" => {
                let (transport, from) = self.mailer.as_ref().ok_or("email is not configured")?;
                let to: Mailbox = d.address.parse().map_err(|e| format!("bad address: {e}"))?;
                let mail = CardLinkMail {
                    first_name: &d.first_name,
                    card_name: &d.card_name,
                    store_name: &d.store_name,
                    links,
                };
                let message = Message::builder()
                    .from(from.clone())
                    .to(to)
                    .subject(mail.subject())
                    .multipart(
                        MultiPart::alternative()
                            .singlepart(
                                SinglePart::builder()
                                    .header(ContentType::TEXT_PLAIN)
                                    .body(mail.text()),
                            )
                            .singlepart(
                                SinglePart::builder()
                                    .header(ContentType::TEXT_HTML)
                                    .body(mail.html().into_string()),
                            ),
                    )
                    .map_err(|e| format!("cannot build the message: {e}"))?;
                transport
                    .send(&message)
                    .map(|_| ())
                    .map_err(|e| format!("SMTP: {e}"))
            }
            "sms" => {
                let (s, agent) = self.sms.as_ref().ok_or("SMS is not configured")?;
                let url = format!(
                    "{}/2010-04-01/Accounts/{}/Messages.json",
                    s.base_url, s.account_sid
                );
                let body = format!(
                    "{store}: here is your {card} card: {card_url}",
                    store = d.store_name,
                    card = d.card_name,
                    card_url = links.web_card(),
                );
                let auth = base64::Engine::encode(
                    &base64::engine::general_purpose::STANDARD,
                    format!("{}:{}", s.account_sid, s.auth_token),
                );
                match agent
                    .post(&url)
                    .set("Authorization", &format!("Basic {auth}"))
                    .send_form(&[
                        ("To", d.address.as_str()),
                        ("From", s.from.as_str()),
                        ("Body", body.as_str()),
                    ]) {
                    Ok(_) => Ok(()),
                    Err(ureq::Error::Status(code, resp)) => {
                        let text = resp.into_string().unwrap_or_default();
                        let snippet: String = text.chars().take(200).collect();
                        Err(format!("SMS gateway answered {code}: {snippet}"))
                    }
                    Err(e) => Err(format!("SMS gateway: {e}")),
                }
            }
            other => Err(format!("unknown channel {other}")),
        }
    }
}

fn mailer(s: &SmtpSettings) -> Result<(SmtpTransport, Mailbox), String> {
    let from: Mailbox = s.from.parse().map_err(|e| format!("smtp_from: {e}"))?;
    let builder = match s.tls {
        SmtpTls::None => SmtpTransport::builder_dangerous(&s.host),
        SmtpTls::StartTls => {
            SmtpTransport::starttls_relay(&s.host).map_err(|e| format!("smtp_host: {e}"))?
        }
        SmtpTls::Tls => SmtpTransport::relay(&s.host).map_err(|e| format!("smtp_host: {e}"))?,
    };
    let mut builder = builder.port(s.port).timeout(Some(SEND_TIMEOUT));
    if let Some(user) = &s.username {
        builder = builder.credentials(Credentials::new(
            user.clone(),
            s.password.clone().unwrap_or_default(),
        ));
    }
    Ok((builder.build(), from))
}
