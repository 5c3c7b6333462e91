//! Google Wallet: "Save to Google Wallet" links carrying an RS256-signed JWT with the
//! card's loyalty class and the customer's loyalty object; the same class and object
//! for the Wallet REST API (`crate::outbox::google` keeps saved cards current), and the
//! service account's assertion for its access tokens.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rsa::pkcs1v15::SigningKey;
use rsa::signature::{SignatureEncoding, Signer};
use serde_json::{json, Value};
use sha2::Sha256;

use super::{keys, LoadError};
use crate::config::GoogleSettings;
use crate::db::cards::Card;
use crate::db::customer_cards::CardView;
use crate::domain::links::{self, CardLinks};

pub const SAVE_URL: &str = "https://pay.google.com/gp/v/save/";
/// What the service account's access tokens may do: write the issuer's classes and
/// objects.
pub const SCOPE: &str = "https://www.googleapis.com/auth/wallet_object.issuer";

/// The service account that signs save links, loaded and checked at startup.
pub struct GoogleIssuer {
    issuer_id: String,
    client_email: String,
    key_id: Option<String>,
    key: SigningKey<Sha256>,
}

impl GoogleIssuer {
    pub fn load(settings: &GoogleSettings) -> Result<GoogleIssuer, LoadError> {
        const KEY: &str = "google_service_account_key";
        let issuer_id = settings.issuer_id.trim().to_string();
        if issuer_id.is_empty() || !issuer_id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(LoadError::new(
                "google_issuer_id",
                format!(
                    "{issuer_id:?} is not an issuer id; copy the number shown in the Google Pay \
                     & Wallet Console"
                ),
            ));
        }
        let path = &settings.service_account_key;
        let shown = path.display();
        let text = std::fs::read_to_string(path)
            .map_err(|e| LoadError::new(KEY, format!("cannot read {shown}: {e}")))?;
        let json: Value = serde_json::from_str(&text).map_err(|e| {
            LoadError::new(
                KEY,
                format!("{shown} is not a JSON service account key file: {e}"),
            )
        })?;
        let field = |name: &str| {
            json.get(name)
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let client_email = field("client_email").ok_or_else(|| {
            LoadError::new(
                KEY,
                format!(
                    "{shown} has no \"client_email\"; download a JSON key of the service account"
                ),
            )
        })?;
        let pem = field("private_key").ok_or_else(|| {
            LoadError::new(
                KEY,
                format!(
                    "{shown} has no \"private_key\"; download a JSON key of the service account"
                ),
            )
        })?;
        let key = keys::rsa_private_key_pem(&pem)
            .map_err(|e| LoadError::new(KEY, format!("{shown}: private_key {e}")))?;
        Ok(GoogleIssuer {
            issuer_id,
            client_email,
            key_id: field("private_key_id"),
            key: SigningKey::<Sha256>::new(key),
        })
    }

    /// The issuer id of the Google Pay & Wallet Console.
    pub fn issuer_id(&self) -> &str {
        &self.issuer_id
    }

    /// The id of the loyalty class of a card template.
    pub fn class_id(&self, view: &CardView) -> String {
        self.class_id_of(view.store_id, view.card.id)
    }

    /// The id of the loyalty class of a store's card template.
    pub fn class_id_of(&self, store_id: i64, card_id: i64) -> String {
        format!("{}.stampd-{store_id}-{card_id}", self.issuer_id)
    }

    /// The id of the loyalty object of a customer card.
    pub fn object_id(&self, view: &CardView) -> String {
        self.object_id_of(&view.uuid)
    }

    /// The id of the loyalty object of the customer card with this uuid.
    pub fn object_id_of(&self, uuid: &str) -> String {
        format!("{}.{uuid}", self.issuer_id)
    }

    /// The loyalty class of a store's card template.
    pub fn class(&self, store_id: i64, store_name: &str, card: &Card, public_url: &str) -> Value {
        json!({
            "id": self.class_id_of(store_id, card.id),
            "issuerName": store_name,
            "programName": card.design.name,
            "programLogo": {
                "sourceUri": {"uri": links::google_program_logo(public_url)},
            },
            "hexBackgroundColor": card.design.card_color,
            "reviewStatus": "UNDER_REVIEW",
        })
    }

    /// The loyalty object of a customer card: its state, stamps as the balance, rewards
    /// and the code as a QR barcode.
    pub fn object(&self, view: &CardView, public_url: &str) -> Value {
        let design = &view.card.design;
        let now = crate::time_fmt::now();
        let state = if view.card.archived_at.is_some() {
            "INACTIVE"
        } else if view.card.is_expired(&now) {
            "EXPIRED"
        } else {
            "ACTIVE"
        };
        let mut modules = Vec::new();
        if design.show_stamps_to_reward_field {
            modules.push(json!({
                "header": "Next reward",
                "body": super::next_reward_text(view),
            }));
        }
        modules.push(json!({
            "header": "Rewards available",
            "body": super::available_rewards_text(view),
        }));
        for (i, line) in design.auxiliary_fields.lines().iter().enumerate() {
            modules.push(json!({"id": format!("card_line_{}", i + 1), "body": line}));
        }
        let links = CardLinks::new(public_url, &view.uuid);
        let mut object = json!({
            "id": self.object_id(view),
            "classId": self.class_id(view),
            "state": state,
            "accountId": view.code,
            "loyaltyPoints": {
                "label": "Stamps",
                "balance": {"int": view.stamps_count},
            },
            "barcode": {
                "type": "QR_CODE",
                "value": view.code,
                "alternateText": view.code,
            },
            "textModulesData": modules,
            "linksModuleData": {"uris": [{
                "uri": links.web_card(),
                "description": "Your card online",
            }]},
        });
        if design.show_member_field {
            object["accountName"] = json!(super::member_name(view));
        }
        // Google fetches the image from stampd (`GET /passes/<uuid>/strip.png`).
        if design.drawn_strip().is_some() {
            object["heroImage"] = json!({
                "sourceUri": {"uri": links.strip_image()},
                "contentDescription": {"defaultValue": {"language": "en", "value": "Card strip"}},
            });
        }
        object
    }

    /// The JWT claims of a card's save link.
    pub fn claims(&self, view: &CardView, public_url: &str, issued_at: i64) -> Value {
        json!({
            "iss": self.client_email,
            "aud": "google",
            "typ": "savetowallet",
            "iat": issued_at,
            "origins": [public_url],
            "payload": {
                "loyaltyClasses": [
                    self.class(view.store_id, &view.store_name, &view.card, public_url),
                ],
                "loyaltyObjects": [self.object(view, public_url)],
            },
        })
    }

    /// The claims of the JWT the service account trades for an access token at
    /// `token_url` (OAuth 2.0 JWT bearer grant), valid for an hour from `issued_at`.
    pub fn token_claims(&self, token_url: &str, issued_at: i64) -> Value {
        json!({
            "iss": self.client_email,
            "scope": SCOPE,
            "aud": token_url,
            "iat": issued_at,
            "exp": issued_at + 3600,
        })
    }

    /// An RS256 JWT of the claims.
    pub fn sign(&self, claims: &Value) -> String {
        let mut header = json!({"alg": "RS256", "typ": "JWT"});
        if let Some(kid) = &self.key_id {
            header["kid"] = json!(kid);
        }
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = self.key.sign(signing_input.as_bytes());
        format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature.to_bytes())
        )
    }

    /// The "Save to Google Wallet" link of a card.
    pub fn save_url(&self, view: &CardView, public_url: &str) -> String {
        let issued_at = time::OffsetDateTime::now_utc().unix_timestamp();
        format!(
            "{SAVE_URL}{}",
            self.sign(&self.claims(view, public_url, issued_at))
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsa::pkcs1v15::{Signature, VerifyingKey};
    use rsa::signature::Verifier;
    use rsa::RsaPrivateKey;

    fn issuer() -> (GoogleIssuer, VerifyingKey<Sha256>) {
        let key = RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 1024).expect("key");
        let verifying = VerifyingKey::<Sha256>::new(key.to_public_key());
        (
            GoogleIssuer {
                issuer_id: "3388000000012345678".into(),
                client_email: "wallet@example.iam.gserviceaccount.com".into(),
                key_id: Some("k1".into()),
                key: SigningKey::<Sha256>::new(key),
            },
            verifying,
        )
    }

    #[test]
    fn jwt_is_signed_and_holds_the_object() {
        let (issuer, verifying) = issuer();
        let view = crate::wallet::tests::view(7, &[("Free coffee", 5), ("Cake", 10)]);
        let claims = issuer.claims(&view, "https://cards.example.com", 1_700_000_000);
        let jwt = issuer.sign(&claims);
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        let header: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(header, json!({"alg": "RS256", "typ": "JWT", "kid": "k1"}));
        let signature =
            Signature::try_from(URL_SAFE_NO_PAD.decode(parts[2]).unwrap().as_slice()).unwrap();
        verifying
            .verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &signature)
            .expect("signature verifies");
        let decoded: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(decoded, claims);
        let object = &claims["payload"]["loyaltyObjects"][0];
        assert_eq!(object["id"], format!("3388000000012345678.{}", view.uuid));
        assert_eq!(object["classId"], "3388000000012345678.stampd-1-3");
        assert_eq!(object["loyaltyPoints"]["balance"]["int"], 7);
        assert_eq!(object["accountName"], "Ann Lee");
        assert_eq!(object["textModulesData"][1]["body"], "Free coffee");
    }
}
