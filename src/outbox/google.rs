//! The Google Wallet channel: keeps the loyalty classes and objects that customers
//! saved current through the Google Wallet REST API (the rows `crate::db::pass_updates`
//! queues), and adds the messages that notify them of a reward.
//!
//! A row names what to write (its address): `object/<uuid>` (a customer card),
//! `class/<card id>` (a card template) or `message/<uuid>` (a reward became affordable).
//! What is written is read when the row is sent, so changes merged into one row go out
//! as one. An object is patched, and inserted when Google does not know it (404), after
//! its class when Google does not know that either; a class likewise.
//!
//! Access tokens come from the service account (OAuth 2.0 JWT bearer grant, scope
//! `wallet_object.issuer`), kept until a minute before they expire. Google allows three
//! notifying messages per pass a day: past them a message is added without a
//! notification.

use std::cell::RefCell;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::{Batch, Channel, SendError, SEND_TIMEOUT};
use crate::config::Settings;
use crate::db::outbox::{Due, GOOGLE};
use crate::db::{self, Db};
use crate::time_fmt;
use crate::wallet::google::GoogleIssuer;

/// Notifying messages Google allows per pass in a day.
const NOTIFICATIONS_PER_DAY: i64 = 3;
/// How long a message stays on the back of the pass.
const MESSAGE_SHOWN_FOR: time::Duration = time::Duration::days(7);

pub struct Google {
    /// `None` when Google Wallet is off; the error when its settings cannot be used.
    client: Option<Result<Client, String>>,
}

struct Client {
    issuer: GoogleIssuer,
    agent: ureq::Agent,
    token_url: String,
    api: String,
    db: Db,
    public_url: String,
    /// The access token and when to stop using it.
    token: RefCell<Option<(String, Instant)>>,
}

impl Google {
    pub fn new(settings: &Settings, db: &Db, public_url: &str) -> Google {
        let client = settings.google.as_ref().map(|google| {
            let issuer = GoogleIssuer::load(google).map_err(|e| e.to_string())?;
            let agent = super::tls::agent(settings.extra_ca_file.as_deref(), SEND_TIMEOUT)?;
            Ok(Client {
                issuer,
                agent,
                token_url: settings.google_token_url.clone(),
                api: settings.google_api_url.trim_end_matches('/').to_string(),
                db: db.clone(),
                public_url: public_url.to_string(),
                token: RefCell::new(None),
            })
        });
        if let Some(Err(e)) = &client {
            log::error!("outbox: Google Wallet updates cannot be sent: {e}");
        }
        Google { client }
    }
}

/// What a row asks to write.
enum Write<'a> {
    Object(&'a str),
    Class(i64),
    Message(&'a str),
}

impl<'a> Write<'a> {
    fn of(address: &'a str) -> Option<Write<'a>> {
        if let Some(uuid) = address.strip_prefix("object/") {
            Some(Write::Object(uuid))
        } else if let Some(uuid) = address.strip_prefix("message/") {
            Some(Write::Message(uuid))
        } else {
            address
                .strip_prefix("class/")
                .and_then(|id| id.parse().ok())
                .map(Write::Class)
        }
    }
}

/// An answer of Google's: its status and body.
struct Answer {
    status: u16,
    body: String,
}

impl Answer {
    fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The failure it is: a refusal a retry may mend.
    fn refused(&self, what: &str) -> SendError {
        let snippet: String = self.body.chars().take(300).collect();
        SendError::transient(format!(
            "Google Wallet answered {} to {what}: {snippet}",
            self.status
        ))
    }
}

impl Client {
    fn send(&self, due: &Due) -> Result<(), SendError> {
        match Write::of(&due.address) {
            Some(Write::Object(uuid)) => self.write_object(uuid),
            Some(Write::Class(card_id)) => self.write_class(due.store_id, &due.store_name, card_id),
            Some(Write::Message(uuid)) => self.add_message(due, uuid),
            None => Err(SendError::permanent(format!(
                "{:?} is not a Google Wallet class, object or message",
                due.address
            ))),
        }
    }

    /// The card a row is about, as it is now.
    fn view(&self, uuid: &str) -> Result<db::customer_cards::CardView, SendError> {
        let uuid = uuid.to_string();
        self.db
            .read(move |c| Ok(db::customer_cards::view_by_uuid(c, &uuid)?))
            .map_err(|e| SendError::transient(crate::error::Chain(&e).to_string()))?
            .ok_or_else(|| SendError::permanent("the card is gone (its customer was erased)"))
    }

    fn write_object(&self, uuid: &str) -> Result<(), SendError> {
        let view = self.view(uuid)?;
        let object = self.issuer.object(&view, &self.public_url);
        let id = self.issuer.object_id(&view);
        let patched = self.call("PATCH", &format!("loyaltyObject/{id}"), Some(&object))?;
        if patched.ok() {
            return Ok(());
        }
        if patched.status != 404 {
            return Err(patched.refused("the object's update"));
        }
        let inserted = self.call("POST", "loyaltyObject", Some(&object))?;
        match inserted.status {
            _ if inserted.ok() => Ok(()),
            // Inserted meanwhile (the customer saved the card): patch it after all.
            409 => self.expect_ok("PATCH", &format!("loyaltyObject/{id}"), &object),
            // Google does not know the class either: the class first.
            400 | 404 => {
                self.put_class(view.store_id, &view.store_name, &view.card)?;
                self.expect_ok("POST", "loyaltyObject", &object)
            }
            _ => Err(inserted.refused("the object's insert")),
        }
    }

    fn write_class(&self, store_id: i64, store_name: &str, card_id: i64) -> Result<(), SendError> {
        let card = self
            .db
            .read(move |c| Ok(db::cards::find(c, store_id, card_id)?))
            .map_err(|e| SendError::transient(crate::error::Chain(&e).to_string()))?
            .ok_or_else(|| SendError::permanent("the card template is gone"))?;
        self.put_class(store_id, store_name, &card)
    }

    /// Patches a class, or inserts it when Google does not know it.
    fn put_class(
        &self,
        store_id: i64,
        store_name: &str,
        card: &db::cards::Card,
    ) -> Result<(), SendError> {
        let class = self
            .issuer
            .class(store_id, store_name, card, &self.public_url);
        let id = self.issuer.class_id_of(store_id, card.id);
        let patched = self.call("PATCH", &format!("loyaltyClass/{id}"), Some(&class))?;
        match patched.status {
            _ if patched.ok() => Ok(()),
            404 => match self.call("POST", "loyaltyClass", Some(&class))? {
                a if a.ok() || a.status == 409 => Ok(()),
                a => Err(a.refused("the class's insert")),
            },
            _ => Err(patched.refused("the class's update")),
        }
    }

    /// Adds the message of a reward that became affordable; it notifies unless the pass
    /// had its notifications of the day.
    fn add_message(&self, due: &Due, uuid: &str) -> Result<(), SendError> {
        let payload: Value = due
            .payload
            .as_deref()
            .and_then(|p| serde_json::from_str(p).ok())
            .unwrap_or_default();
        let reward = payload["reward"].as_str().unwrap_or("A reward");
        let card_id = due.customer_card_id.unwrap_or_default();
        let since =
            time_fmt::format_timestamp(time::OffsetDateTime::now_utc() - time::Duration::DAY);
        let notified = self
            .db
            .read(move |c| {
                Ok(db::outbox::sent_since(
                    c, GOOGLE, card_id, "message/", &since,
                )?)
            })
            .map_err(|e| SendError::transient(crate::error::Chain(&e).to_string()))?;
        let view = self.view(uuid)?;
        let id = self.issuer.object_id(&view);
        let now = time::OffsetDateTime::now_utc();
        let message = |kind: &str| {
            json!({"message": {
                "id": format!("stampd-{}", due.id),
                "header": format!("{reward} is ready"),
                "body": format!("Show this card at {} to redeem it.", due.store_name),
                "messageType": kind,
                "displayInterval": {
                    "start": {"date": time_fmt::format_timestamp(now)},
                    "end": {"date": time_fmt::format_timestamp(now + MESSAGE_SHOWN_FOR)},
                },
            }})
        };
        let path = format!("loyaltyObject/{id}/addMessage");
        let kind = if notified < NOTIFICATIONS_PER_DAY {
            "TEXT_AND_NOTIFY"
        } else {
            "TEXT"
        };
        let mut added = self.call("POST", &path, Some(&message(kind)))?;
        if added.status == 404 {
            // Not at Google yet: the object first.
            self.write_object(uuid)?;
            added = self.call("POST", &path, Some(&message(kind)))?;
        }
        if added.status == 429 && kind != "TEXT" {
            // Google counts differently: the message without its notification.
            added = self.call("POST", &path, Some(&message("TEXT")))?;
        }
        if added.ok() {
            Ok(())
        } else {
            Err(added.refused("the message"))
        }
    }

    fn expect_ok(&self, method: &str, path: &str, body: &Value) -> Result<(), SendError> {
        let answer = self.call(method, path, Some(body))?;
        if answer.ok() {
            Ok(())
        } else {
            Err(answer.refused(path))
        }
    }

    /// One request to the Wallet API with the access token; a token Google no longer
    /// takes (401) is replaced once.
    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Answer, SendError> {
        let url = format!("{}/{path}", self.api);
        let mut renewed = false;
        loop {
            let token = self.access_token()?;
            let request = self
                .agent
                .request(method, &url)
                .set("Authorization", &format!("Bearer {token}"));
            let result = match body {
                Some(b) => request.send_json(b),
                None => request.call(),
            };
            let answer = read(result)
                .map_err(|e| SendError::transient(format!("Google Wallet {method} {path}: {e}")))?;
            if answer.status == 401 && !renewed {
                self.token.borrow_mut().take();
                renewed = true;
                continue;
            }
            return Ok(answer);
        }
    }

    /// The kept access token, or a new one from the token endpoint.
    fn access_token(&self) -> Result<String, SendError> {
        if let Some((token, until)) = self.token.borrow().as_ref() {
            if Instant::now() < *until {
                return Ok(token.clone());
            }
        }
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let assertion = self
            .issuer
            .sign(&self.issuer.token_claims(&self.token_url, now));
        let result = self.agent.post(&self.token_url).send_form(&[
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            ("assertion", assertion.as_str()),
        ]);
        let answer = read(result)
            .map_err(|e| SendError::transient(format!("Google's token endpoint: {e}")))?;
        if !answer.ok() {
            return Err(answer.refused("the service account's token request"));
        }
        let json: Value = serde_json::from_str(&answer.body).unwrap_or_default();
        let token = json["access_token"]
            .as_str()
            .filter(|t| !t.is_empty())
            .ok_or_else(|| SendError::transient("Google's token endpoint gave no access_token"))?
            .to_string();
        let lasts = json["expires_in"].as_u64().unwrap_or(3600);
        let until = Instant::now() + Duration::from_secs(lasts.saturating_sub(60));
        *self.token.borrow_mut() = Some((token.clone(), until));
        Ok(token)
    }
}

/// The status and body of an answer, whatever its status; `Err` when there is none.
fn read(result: Result<ureq::Response, ureq::Error>) -> Result<Answer, String> {
    let response = match result {
        Ok(r) | Err(ureq::Error::Status(_, r)) => r,
        Err(e) => return Err(e.to_string()),
    };
    let status = response.status();
    let body = response
        .into_string()
        .map_err(|e| format!("reading the answer: {e}"))?;
    Ok(Answer { status, body })
}

impl Channel for Google {
    fn name(&self) -> &'static str {
        GOOGLE
    }

    fn configured(&self) -> bool {
        self.client.is_some()
    }

    fn send(&self, due: &Due) -> Result<(), SendError> {
        match &self.client {
            Some(Ok(client)) => client.send(due),
            Some(Err(e)) => Err(SendError::transient(e)),
            None => Err(SendError::transient("Google Wallet is not configured")),
        }
    }

    /// Requests go one after another; their tries are recorded ten at a time (a crash
    /// between sends them again, which writes the same state twice).
    fn batch(&self) -> Batch {
        Batch {
            rows: 50,
            together: 10,
        }
    }

    /// Updates of classes and objects that went out are not kept (one per change);
    /// messages are, as they count against Google's notifications of the day.
    fn keeps_sent(&self, due: &Due) -> bool {
        matches!(Write::of(&due.address), Some(Write::Message(_)))
    }

    /// One write of an object or class stands for every change queued before it; of
    /// several messages waiting for a card, the newest goes.
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
    fn a_row_names_what_to_write() {
        assert!(matches!(
            Write::of("object/ab-12"),
            Some(Write::Object("ab-12"))
        ));
        assert!(matches!(Write::of("class/7"), Some(Write::Class(7))));
        assert!(matches!(
            Write::of("message/ab"),
            Some(Write::Message("ab"))
        ));
        assert!(Write::of("class/x").is_none());
        assert!(Write::of("device/1").is_none());
    }
}
