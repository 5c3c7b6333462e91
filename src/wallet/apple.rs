//! Apple Wallet store-card passes: `pass.json`, the default images, `manifest.json`
//! and the detached CMS signature over the manifest, zipped into a `.pkpass`.

use std::io::{Cursor, Write};

use cms::builder::{create_signing_time_attribute, SignedDataBuilder, SignerInfoBuilder};
use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::signed_data::{EncapsulatedContentInfo, SignerIdentifier};
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::DecodePublicKey;
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde_json::{json, Map, Value};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use x509_cert::der::asn1::{PrintableStringRef, Utf8StringRef};
use x509_cert::der::oid::db::{rfc4519, rfc5911, rfc5912};
use x509_cert::der::oid::ObjectIdentifier;
use x509_cert::der::Encode;
use x509_cert::name::Name;
use x509_cert::spki::AlgorithmIdentifierOwned;
use x509_cert::Certificate;

use super::{keys, strip, LoadError};
use crate::config::AppleSettings;
use crate::db::customer_cards::CardView;
use crate::domain::links::{self, CardLinks};

pub const CONTENT_TYPE: &str = "application/vnd.apple.pkpass";

/// The images every pass carries (Wallet requires an icon; the logo sits beside
/// the logo text).
const IMAGES: &[(&str, &[u8])] = &[
    ("icon.png", include_bytes!("assets/icon.png")),
    ("icon@2x.png", include_bytes!("assets/icon@2x.png")),
    ("logo.png", include_bytes!("assets/logo.png")),
];

/// The Pass Type ID identity passes are signed with, loaded and checked at startup.
pub struct PassSigner {
    pass_type_id: String,
    team_id: String,
    key: SigningKey<Sha256>,
    certificate: Certificate,
    wwdr: Certificate,
}

impl PassSigner {
    /// Reads the certificate, its key and the WWDR intermediate, and checks that they
    /// belong together.
    pub fn load(settings: &AppleSettings) -> Result<PassSigner, LoadError> {
        let certificate = keys::certificate(&settings.certificate)
            .map_err(|e| LoadError::new("apple_certificate", e))?;
        let private_key = keys::rsa_private_key(&settings.private_key)
            .map_err(|e| LoadError::new("apple_private_key", e))?;
        let wwdr = keys::certificate(&settings.wwdr_certificate)
            .map_err(|e| LoadError::new("apple_wwdr_certificate", e))?;
        check_key_matches(&certificate, &private_key)?;
        let tbs = &certificate.tbs_certificate;
        if tbs.issuer != wwdr.tbs_certificate.subject {
            return Err(LoadError::new(
                "apple_wwdr_certificate",
                format!(
                    "{} ({}) did not issue the pass certificate, which was issued by {}; \
                     use the Apple WWDR intermediate that signed your Pass Type ID certificate",
                    settings.wwdr_certificate.display(),
                    wwdr.tbs_certificate.subject,
                    tbs.issuer
                ),
            ));
        }
        let pass_type_id = settings.pass_type_id.trim().to_string();
        let team_id = settings.team_id.trim().to_string();
        // The certificate names the pass type (UID) and the team (OU) it was issued for.
        let issued_for = [
            (rfc4519::UID, "apple_pass_type_id", &pass_type_id, "is for"),
            (rfc4519::OU, "apple_team_id", &team_id, "belongs to team"),
        ];
        for (attribute, key, set, relation) in issued_for {
            match name_attribute(&tbs.subject, attribute) {
                Some(named) if &named != set => {
                    return Err(LoadError::new(
                        key,
                        format!(
                            "is {set:?}, but the certificate {} {relation} {named:?}",
                            settings.certificate.display()
                        ),
                    ));
                }
                _ => {}
            }
        }
        let now = std::time::SystemTime::now();
        if tbs.validity.not_after.to_system_time() < now {
            log::warn!(
                "the Apple pass certificate {} expired on {}; Wallet refuses passes signed with it",
                settings.certificate.display(),
                tbs.validity.not_after
            );
        } else if tbs.validity.not_before.to_system_time() > now {
            log::warn!(
                "the Apple pass certificate {} is valid only from {}",
                settings.certificate.display(),
                tbs.validity.not_before
            );
        }
        Ok(PassSigner {
            pass_type_id,
            team_id,
            key: SigningKey::<Sha256>::new(private_key),
            certificate,
            wwdr,
        })
    }

    pub fn pass_type_id(&self) -> &str {
        &self.pass_type_id
    }

    /// A detached CMS SignedData (DER) over `content`: SHA-256 with RSA, a signing
    /// time, and the signer and WWDR certificates.
    pub fn sign(&self, content: &[u8]) -> Result<Vec<u8>, String> {
        let fail = |e: cms::builder::Error| format!("signing the pass manifest: {e}");
        let digest = Sha256::digest(content);
        let detached = EncapsulatedContentInfo {
            econtent_type: rfc5911::ID_DATA,
            econtent: None,
        };
        let sha256 = AlgorithmIdentifierOwned {
            oid: rfc5912::ID_SHA_256,
            parameters: None,
        };
        let tbs = &self.certificate.tbs_certificate;
        let signer = SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: tbs.issuer.clone(),
            serial_number: tbs.serial_number.clone(),
        });
        let mut signer_info = SignerInfoBuilder::new(
            &self.key,
            signer,
            sha256.clone(),
            &detached,
            Some(digest.as_slice()),
        )
        .map_err(fail)?;
        signer_info
            .add_signed_attribute(create_signing_time_attribute().map_err(fail)?)
            .map_err(fail)?;
        let content_info = SignedDataBuilder::new(&detached)
            .add_digest_algorithm(sha256)
            .map_err(fail)?
            .add_certificate(CertificateChoices::Certificate(self.certificate.clone()))
            .map_err(fail)?
            .add_certificate(CertificateChoices::Certificate(self.wwdr.clone()))
            .map_err(fail)?
            .add_signer_info::<SigningKey<Sha256>, rsa::pkcs1v15::Signature>(signer_info)
            .map_err(fail)?
            .build()
            .map_err(fail)?;
        content_info
            .to_der()
            .map_err(|e| format!("encoding the pass signature: {e}"))
    }

    /// The `pass.json` of a card.
    pub fn pass_json(&self, view: &CardView, public_url: &str) -> Value {
        let design = &view.card.design;
        let mut secondary = Vec::new();
        if design.show_member_field {
            secondary.push(json!({
                "key": "member",
                "label": "Member",
                "value": super::member_name(view),
            }));
        }
        if design.show_stamps_to_reward_field {
            secondary.push(json!({
                "key": "next_reward",
                "label": "Next reward",
                "value": super::next_reward_text(view),
            }));
        }
        let mut back = vec![json!({
            "key": "card",
            "label": "Card",
            "value": format!("{} at {}", design.name, view.store_name),
        })];
        if let Some(list) = super::rewards_list_text(view) {
            back.push(json!({"key": "all_rewards", "label": "Rewards", "value": list}));
        }
        back.push(json!({
            "key": "web_card",
            "label": "Your card online",
            "value": CardLinks::new(public_url, &view.uuid).web_card(),
        }));
        back.push(json!({"key": "code", "label": "Card code", "value": view.code}));

        let mut pass = Map::new();
        let mut put = |k: &str, v: Value| {
            pass.insert(k.to_string(), v);
        };
        put("formatVersion", json!(1));
        put("passTypeIdentifier", json!(self.pass_type_id));
        put("teamIdentifier", json!(self.team_id));
        put("serialNumber", json!(view.uuid));
        put("authenticationToken", json!(view.pass_auth_token));
        put("webServiceURL", json!(links::apple_web_service(public_url)));
        put("organizationName", json!(view.store_name));
        put(
            "description",
            json!(format!("{} – {}", design.name, view.store_name)),
        );
        put(
            "logoText",
            json!(design
                .header_text
                .as_deref()
                .filter(|t| !t.trim().is_empty())
                .unwrap_or(&view.store_name)),
        );
        put("backgroundColor", json!(rgb(design.card_color.as_str())));
        put("foregroundColor", json!(rgb(design.text_color.as_str())));
        put("labelColor", json!(rgb(design.stamp_color.as_str())));
        put("sharingProhibited", json!(true));
        if let Some(expires) = design.expires_at.as_deref().and_then(w3c_date) {
            put("expirationDate", json!(expires));
        }
        if view.card.archived_at.is_some() {
            put("voided", json!(true));
        }
        // The store's shops with coordinates (Wallet takes at most 10): the pass then
        // shows on the lock screen near them.
        let locations: Vec<Value> = view
            .locations
            .iter()
            .map(|l| &l.fields)
            .filter_map(|l| Some((l.latitude?, l.longitude?, l)))
            .take(10)
            .map(|(lat, lon, l)| {
                json!({
                    "latitude": lat,
                    "longitude": lon,
                    "relevantText": format!("{} – show your {} card", l.name, design.name),
                })
            })
            .collect();
        if !locations.is_empty() {
            put("locations", Value::Array(locations));
        }
        put(
            "barcodes",
            json!([{
                "format": "PKBarcodeFormatQR",
                "message": view.code,
                "messageEncoding": "iso-8859-1",
                "altText": view.code,
            }]),
        );
        // The card's own lines follow stampd's, so that a pass keeps its rewards line
        // where Wallet has room for fewer fields.
        let mut auxiliary = vec![json!({
            "key": "rewards",
            "label": "Rewards available",
            "value": super::available_rewards_text(view),
        })];
        for (i, line) in design.auxiliary_fields.lines().iter().enumerate() {
            // The shop's own line, without a label: Wallet shows the value alone.
            auxiliary.push(json!({"key": format!("card_line_{}", i + 1), "value": line}));
        }
        put(
            "storeCard",
            json!({
                // Only the stamps carry a notice: Wallet shows a field's own notice when
                // one such field changes, and a vague "card changed" when several do.
                "primaryFields": [{
                    "key": "stamps",
                    "label": "Stamps",
                    "value": super::stamps_text(view),
                    "changeMessage": change_message(&super::stamps_notice(view)),
                }],
                "secondaryFields": secondary,
                "auxiliaryFields": auxiliary,
                "backFields": back,
            }),
        );
        Value::Object(pass)
    }

    /// The signed `.pkpass` of a card.
    pub fn pkpass(&self, view: &CardView, public_url: &str) -> Result<Vec<u8>, String> {
        let pass_json = serde_json::to_vec_pretty(&self.pass_json(view, public_url))
            .map_err(|e| format!("encoding pass.json: {e}"))?;
        let strips = match view.card.design.drawn_strip() {
            Some(colour) => vec![
                ("strip.png", strip::png(&colour, strip::APPLE)?),
                ("strip@2x.png", strip::png(&colour, strip::APPLE_2X)?),
            ],
            None => Vec::new(),
        };
        let mut files: Vec<(&str, &[u8])> = vec![("pass.json", &pass_json)];
        files.extend_from_slice(IMAGES);
        files.extend(strips.iter().map(|(name, png)| (*name, png.as_slice())));
        let manifest: Map<String, Value> = files
            .iter()
            .map(|(name, bytes)| (name.to_string(), json!(hex(&Sha1::digest(bytes)))))
            .collect();
        let manifest = serde_json::to_vec_pretty(&Value::Object(manifest))
            .map_err(|e| format!("encoding manifest.json: {e}"))?;
        let signature = self.sign(&manifest)?;
        files.push(("manifest.json", &manifest));
        files.push(("signature", &signature));
        zip(&files).map_err(|e| format!("zipping the pass: {e}"))
    }
}

/// Fails unless the private key is the one the certificate was issued for.
fn check_key_matches(certificate: &Certificate, key: &RsaPrivateKey) -> Result<(), LoadError> {
    let spki = certificate
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .map_err(|e| LoadError::new("apple_certificate", format!("cannot be encoded: {e}")))?;
    let public = RsaPublicKey::from_public_key_der(&spki).map_err(|e| {
        LoadError::new(
            "apple_certificate",
            format!("does not hold an RSA public key ({e}); Pass Type ID certificates are RSA"),
        )
    })?;
    if public != RsaPublicKey::from(key) {
        return Err(LoadError::new(
            "apple_private_key",
            "is not the private key of `apple_certificate`; export the key that belongs to the \
             Pass Type ID certificate",
        ));
    }
    Ok(())
}

/// The text of the first attribute `oid` of a distinguished name.
fn name_attribute(name: &Name, oid: ObjectIdentifier) -> Option<String> {
    name.0
        .iter()
        .flat_map(|rdn| rdn.0.iter())
        .find(|atv| atv.oid == oid)
        .and_then(|atv| {
            Utf8StringRef::try_from(&atv.value)
                .map(|s| s.as_str().to_string())
                .or_else(|_| PrintableStringRef::try_from(&atv.value).map(|s| s.to_string()))
                .ok()
        })
}

/// A notice as a `changeMessage`, which Wallet reads as a format: `%@` would stand for
/// the field's value, so a `%` of the text is doubled.
fn change_message(notice: &str) -> String {
    notice.replace('%', "%%")
}

/// `#RRGGBB` as Wallet wants colours: `rgb(r, g, b)`.
pub fn rgb(hex: &str) -> String {
    let channel = |i: usize| {
        hex.get(i..i + 2)
            .and_then(|h| u8::from_str_radix(h, 16).ok())
            .unwrap_or(0)
    };
    format!("rgb({}, {}, {})", channel(1), channel(3), channel(5))
}

/// A stored timestamp as a W3C date without fractions of a second.
fn w3c_date(stored: &str) -> Option<String> {
    let t = crate::time_fmt::parse_timestamp(stored)?;
    let format =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    t.to_offset(time::UtcOffset::UTC).format(format).ok()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A zip archive of uncompressed entries.
fn zip(files: &[(&str, &[u8])]) -> zip::result::ZipResult<Vec<u8>> {
    let mut archive = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, bytes) in files {
        archive.start_file(*name, options)?;
        archive.write_all(bytes)?;
    }
    Ok(archive.finish()?.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_notice_keeps_its_percent_signs() {
        assert_eq!(change_message("10% off at 7 of 10"), "10%% off at 7 of 10");
        assert_eq!(change_message("%@"), "%%@");
    }

    #[test]
    fn colours_become_rgb() {
        assert_eq!(rgb("#3B2F2F"), "rgb(59, 47, 47)");
        assert_eq!(rgb("#FFFFFF"), "rgb(255, 255, 255)");
        assert_eq!(rgb("#00ff7f"), "rgb(0, 255, 127)");
    }

    #[test]
    fn expiry_is_a_w3c_date() {
        assert_eq!(
            w3c_date("2026-12-31T23:59:59.999Z").as_deref(),
            Some("2026-12-31T23:59:59Z")
        );
        assert_eq!(w3c_date("someday"), None);
    }

    #[test]
    fn images_are_pngs() {
        for (name, bytes) in IMAGES {
            assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "{name}");
        }
    }
}
