//! Reading the certificates and RSA private keys that wallet settings point at.
//!
//! Certificates may be PEM (as `openssl` and most exports write them, possibly with
//! "Bag Attributes" text between blocks) or DER (as Apple's WWDR download comes).
//! Private keys are unencrypted PEM, PKCS#8 (`PRIVATE KEY`) or PKCS#1 (`RSA PRIVATE KEY`).

use std::path::Path;

use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs8::DecodePrivateKey;
use rsa::RsaPrivateKey;
use x509_cert::der::{pem, Decode};
use x509_cert::Certificate;

/// Every `-----BEGIN <label>-----` … `-----END <label>-----` block of a text, decoded.
fn pem_blocks(text: &str) -> Result<Vec<(String, Vec<u8>)>, String> {
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN ") {
        let after = &rest[start + "-----BEGIN ".len()..];
        let label_end = after
            .find("-----")
            .ok_or("a PEM header is not closed with -----")?;
        let label = &after[..label_end];
        let end_marker = format!("-----END {label}-----");
        let end = rest[start..]
            .find(&end_marker)
            .ok_or_else(|| format!("the PEM block {label:?} has no {end_marker} line"))?
            + start
            + end_marker.len();
        let (_, der) = pem::decode_vec(&rest.as_bytes()[start..end])
            .map_err(|e| format!("the PEM block {label:?} is damaged: {e}"))?;
        blocks.push((label.to_string(), der));
        rest = &rest[end..];
    }
    Ok(blocks)
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// The first certificate of a PEM or DER file.
pub fn certificate(path: &Path) -> Result<Certificate, String> {
    let bytes = read(path)?;
    let shown = path.display();
    match std::str::from_utf8(&bytes) {
        Ok(text) if text.contains("-----BEGIN ") => {
            let der = pem_blocks(text)
                .map_err(|e| format!("{shown}: {e}"))?
                .into_iter()
                .find(|(label, _)| label == "CERTIFICATE")
                .map(|(_, der)| der)
                .ok_or_else(|| format!("{shown} holds no CERTIFICATE PEM block"))?;
            Certificate::from_der(&der)
                .map_err(|e| format!("{shown}: the certificate cannot be parsed: {e}"))
        }
        _ => Certificate::from_der(&bytes).map_err(|e| {
            format!("{shown} is neither a PEM certificate nor a DER certificate ({e})")
        }),
    }
}

/// An unencrypted RSA private key from a PEM file.
pub fn rsa_private_key(path: &Path) -> Result<RsaPrivateKey, String> {
    let bytes = read(path)?;
    let shown = path.display();
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| format!("{shown} is not a PEM file (expected a PRIVATE KEY block)"))?;
    rsa_private_key_pem(text).map_err(|e| format!("{shown}: {e}"))
}

/// An unencrypted RSA private key from PEM text (PKCS#8 or PKCS#1).
pub fn rsa_private_key_pem(text: &str) -> Result<RsaPrivateKey, String> {
    for (label, der) in pem_blocks(text)? {
        match label.as_str() {
            "PRIVATE KEY" => {
                return RsaPrivateKey::from_pkcs8_der(&der)
                    .map_err(|e| format!("the PRIVATE KEY is not an RSA key ({e})"))
            }
            "RSA PRIVATE KEY" => {
                return RsaPrivateKey::from_pkcs1_der(&der)
                    .map_err(|e| format!("the RSA PRIVATE KEY cannot be parsed ({e})"))
            }
            "ENCRYPTED PRIVATE KEY" => {
                return Err(
                    "the private key is encrypted; write an unencrypted copy with \
                            `openssl pkey -in KEY -out KEY.pem` and point the setting at it"
                        .into(),
                )
            }
            _ => {}
        }
    }
    Err("holds no PRIVATE KEY or RSA PRIVATE KEY PEM block".into())
}

/// The Pass Type ID certificate (with Apple's WWDR intermediate after it) and its key,
/// as TLS presents them to APNs.
pub fn tls_identity(
    settings: &crate::config::AppleSettings,
) -> Result<crate::outbox::tls::Identity, String> {
    use rsa::pkcs8::EncodePrivateKey;
    use x509_cert::der::Encode;
    let der = |c: Certificate| {
        c.to_der()
            .map(rustls::pki_types::CertificateDer::from)
            .map_err(|e| format!("the certificate cannot be encoded: {e}"))
    };
    let chain = vec![
        der(certificate(&settings.certificate)?)?,
        der(certificate(&settings.wwdr_certificate)?)?,
    ];
    let key = rsa_private_key(&settings.private_key)?
        .to_pkcs8_der()
        .map_err(|e| format!("the private key cannot be encoded: {e}"))?;
    let key = rustls::pki_types::PrivatePkcs8KeyDer::from(key.as_bytes().to_vec());
    Ok((chain, key.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_blocks_skip_text_between_them() {
        let text =
            "Bag Attributes\n    friendlyName: x\n-----BEGIN FOO-----\nAQID\n-----END FOO-----\n\
                    subject=...\n-----BEGIN BAR BAZ-----\nBAU=\n-----END BAR BAZ-----\n";
        let blocks = pem_blocks(text).unwrap();
        assert_eq!(
            blocks,
            vec![
                ("FOO".to_string(), vec![1, 2, 3]),
                ("BAR BAZ".to_string(), vec![4, 5])
            ]
        );
    }

    #[test]
    fn unterminated_and_encrypted_blocks_are_named() {
        assert!(pem_blocks("-----BEGIN FOO-----\nAQID\n")
            .unwrap_err()
            .contains("-----END FOO-----"));
        let encrypted =
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAQID\n-----END ENCRYPTED PRIVATE KEY-----\n";
        assert!(rsa_private_key_pem(encrypted)
            .unwrap_err()
            .contains("encrypted"));
        assert!(rsa_private_key_pem("nothing here")
            .unwrap_err()
            .contains("no PRIVATE KEY"));
    }
}
