//! Standard Webhooks signatures: `webhook-signature` is `v1,` and the base64 of
//! HMAC-SHA256 over `<webhook-id>.<webhook-timestamp>.<body>`, keyed with the
//! base64-decoded part of the secret after `whsec_`; one such entry per secret that
//! signs (two while a rotated secret's overlap lasts), separated by spaces.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ring::hmac;

/// The key of a `whsec_` secret; `None` for a secret that is not one.
fn key(secret: &str) -> Option<hmac::Key> {
    let bytes = STANDARD.decode(secret.strip_prefix("whsec_")?).ok()?;
    Some(hmac::Key::new(hmac::HMAC_SHA256, &bytes))
}

/// The `webhook-signature` header of one delivery, signed with each of `secrets`.
pub fn header(secrets: &[String], id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut signed = Vec::with_capacity(id.len() + body.len() + 24);
    signed.extend_from_slice(id.as_bytes());
    signed.push(b'.');
    signed.extend_from_slice(timestamp.to_string().as_bytes());
    signed.push(b'.');
    signed.extend_from_slice(body);
    secrets
        .iter()
        .filter_map(|s| key(s))
        .map(|k| format!("v1,{}", STANDARD.encode(hmac::sign(&k, &signed).as_ref())))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Standard Webhooks specification's reference libraries.
    #[test]
    fn signs_as_the_specification_example() {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_string();
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            header(&[secret], "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn two_secrets_give_two_entries_and_a_bad_secret_none() {
        let a = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_string();
        let h = header(&[a.clone(), a.clone()], "id", 1, b"{}");
        let parts: Vec<&str> = h.split(' ').collect();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0], parts[1]);
        assert_eq!(header(&["nope".into()], "id", 1, b"{}"), "");
    }
}
