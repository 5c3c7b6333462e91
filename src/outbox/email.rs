//! The mail channel: card links by SMTP, the mail built by `crate::pages::card_link_mail`.

use lettre::message::{header::ContentType, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{Message, SmtpTransport, Transport};

use super::{Channel, SendError, SEND_TIMEOUT};
use crate::config::{SmtpSettings, SmtpTls};
use crate::db::outbox::{Due, EMAIL};
use crate::domain::links::CardLinks;
use crate::pages::card_link_mail::CardLinkMail;

pub struct Email {
    configured: bool,
    /// `None` when not configured, or configured with settings that cannot work.
    mailer: Option<(SmtpTransport, Mailbox)>,
    public_url: String,
}

impl Email {
    pub fn new(settings: Option<&SmtpSettings>, public_url: &str) -> Email {
        let mailer = settings.and_then(|s| match mailer(s) {
            Ok(m) => Some(m),
            Err(e) => {
                log::error!("outbox: email is configured but unusable: {e}");
                None
            }
        });
        Email {
            configured: settings.is_some(),
            mailer,
            public_url: public_url.to_string(),
        }
    }
}

impl Channel for Email {
    fn name(&self) -> &'static str {
        EMAIL
    }

    fn configured(&self) -> bool {
        self.configured
    }

    fn send(&self, d: &Due) -> Result<(), SendError> {
        // Unusable settings are the operator's to fix: the row waits for a restart.
        let (transport, from) = self
            .mailer
            .as_ref()
            .ok_or_else(|| SendError::transient("email is not configured"))?;
        let card = d
            .card
            .as_ref()
            .ok_or_else(|| SendError::permanent("no customer card to send"))?;
        let to: Mailbox = d
            .address
            .parse()
            .map_err(|e| SendError::permanent(format!("bad address: {e}")))?;
        let mail = CardLinkMail {
            first_name: &card.first_name,
            card_name: &card.card_name,
            store_name: &d.store_name,
            links: CardLinks::new(&self.public_url, &card.uuid),
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
            .map_err(|e| SendError::permanent(format!("cannot build the message: {e}")))?;
        // Every refusal is retried: a 5xx is as likely the relay's settings (a wrong
        // password) as the address, and settings get fixed.
        transport
            .send(&message)
            .map(|_| ())
            .map_err(|e| SendError::transient(format!("SMTP: {e}")))
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
