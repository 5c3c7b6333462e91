//! The text-message channel: card links through a Twilio-compatible HTTP gateway.

use super::{Channel, SendError, SEND_TIMEOUT};
use crate::config::SmsSettings;
use crate::db::outbox::{Due, SMS};
use crate::domain::links::CardLinks;

pub struct Sms {
    gateway: Option<(SmsSettings, ureq::Agent)>,
    public_url: String,
}

impl Sms {
    /// The gateway's https is checked against the public CAs and `extra_ca_file`'s.
    pub fn new(
        settings: Option<SmsSettings>,
        public_url: &str,
        extra_ca_file: Option<&std::path::Path>,
    ) -> Sms {
        Sms {
            gateway: settings.map(|s| {
                let agent = super::tls::agent(extra_ca_file, SEND_TIMEOUT).unwrap_or_else(|e| {
                    log::error!("outbox: sms: {e}; trusting the public CAs alone");
                    ureq::AgentBuilder::new().timeout(SEND_TIMEOUT).build()
                });
                (s, agent)
            }),
            public_url: public_url.to_string(),
        }
    }
}

impl Channel for Sms {
    fn name(&self) -> &'static str {
        SMS
    }

    fn configured(&self) -> bool {
        self.gateway.is_some()
    }

    fn send(&self, d: &Due) -> Result<(), SendError> {
        let (s, agent) = self
            .gateway
            .as_ref()
            .ok_or_else(|| SendError::transient("SMS is not configured"))?;
        let card = d
            .card
            .as_ref()
            .ok_or_else(|| SendError::permanent("no customer card to send"))?;
        let url = format!(
            "{}/2010-04-01/Accounts/{}/Messages.json",
            s.base_url, s.account_sid
        );
        let body = format!(
            "{store}: here is your {card} card: {card_url}",
            store = d.store_name,
            card = card.card_name,
            card_url = CardLinks::new(&self.public_url, &card.uuid).web_card(),
        );
        let auth = base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            format!("{}:{}", s.account_sid, s.auth_token),
        );
        // Every refusal is retried: a 4xx is as likely the gateway's settings (a wrong
        // token, an account on hold) as the number, and settings get fixed.
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
                Err(SendError::transient(format!(
                    "SMS gateway answered {code}: {snippet}"
                )))
            }
            Err(e) => Err(SendError::transient(format!("SMS gateway: {e}"))),
        }
    }
}
