//! The wallet senders' settings: where APNs is, and the extra CA of outgoing https.

use super::*;

/// Wallet updates go to the chosen APNs service, or to an https URL given instead; the
/// extra CA file must hold certificates.
#[test]
fn apns_and_the_extra_ca_file_are_checked() {
    let s = env_settings(&[("STAMPD_APNS_ENVIRONMENT", "Sandbox")]);
    assert_eq!(s.apns_url(), "https://api.sandbox.push.apple.com");
    let s = env_settings(&[("STAMPD_APNS_BASE_URL", "https://localhost:8443/")]);
    assert_eq!(s.apns_url(), "https://localhost:8443");
    let err = env_error(&[("STAMPD_APNS_BASE_URL", "http://localhost:8443")]);
    assert_eq!(
        err,
        "setting `apns_base_url` (from environment variable STAMPD_APNS_BASE_URL): \
         \"http://localhost:8443\" is not an https URL; use e.g. \"https://localhost:8443\", \
         or \"\" for Apple's"
    );
    let err = env_error(&[("STAMPD_APNS_ENVIRONMENT", "staging")]);
    assert!(
        err.contains("\"staging\" is not one of \"production\", \"sandbox\""),
        "{err}"
    );

    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("ca.pem");
    let err = env_error(&[("STAMPD_EXTRA_CA_FILE", missing.to_str().unwrap())]);
    assert!(
        err.starts_with(
            "setting `extra_ca_file` (from environment variable STAMPD_EXTRA_CA_FILE): cannot read"
        ),
        "{err}"
    );
    std::fs::write(&missing, "not a certificate\n").unwrap();
    let err = env_error(&[("STAMPD_EXTRA_CA_FILE", missing.to_str().unwrap())]);
    assert!(err.ends_with("holds no CERTIFICATE PEM block"), "{err}");
    let s = env_settings(&[("STAMPD_EXTRA_CA_FILE", "")]);
    assert_eq!(s.extra_ca_file, None);
}
