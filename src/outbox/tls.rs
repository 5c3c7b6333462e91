//! TLS of outgoing https (APNs, Google Wallet, the SMS gateway): the public CAs
//! (webpki-roots) and, beside them, those of the `extra_ca_file` setting. Certificates
//! are always verified; a server a shop or a test runs itself is trusted by adding its
//! CA, never by turning verification off.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, RootCertStore};

/// The certificates of a PEM file of CA certificates; an error names the file and says
/// what is wrong (unreadable, damaged, no certificate, not a CA certificate).
pub fn read_ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let shown = path.display();
    let text = std::fs::read(path).map_err(|e| format!("cannot read {shown}: {e}"))?;
    let certs = CertificateDer::pem_slice_iter(&text)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{shown} is not a PEM file of certificates: {e}"))?;
    if certs.is_empty() {
        return Err(format!("{shown} holds no CERTIFICATE PEM block"));
    }
    let mut store = RootCertStore::empty();
    for cert in &certs {
        store
            .add(cert.clone())
            .map_err(|e| format!("{shown}: a certificate cannot be trusted as a CA: {e}"))?;
    }
    Ok(certs)
}

/// The public CAs, and those of `extra_ca_file` when it is set.
fn roots(extra_ca_file: Option<&Path>) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    if let Some(path) = extra_ca_file {
        for cert in read_ca_file(path)? {
            roots
                .add(cert)
                .map_err(|e| format!("{}: {e}", path.display()))?;
        }
    }
    Ok(roots)
}

/// A client certificate chain (leaf first) and its key.
pub type Identity = (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>);

/// A TLS client configuration trusting the public CAs and `extra_ca_file`, presenting
/// `identity` when the server asks for a certificate, offering `alpn`.
pub fn client_config(
    extra_ca_file: Option<&Path>,
    identity: Option<Identity>,
    alpn: &[&[u8]],
) -> Result<Arc<ClientConfig>, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_root_certificates(roots(extra_ca_file)?);
    let mut config = match identity {
        Some((chain, key)) => builder
            .with_client_auth_cert(chain, key)
            .map_err(|e| format!("the client certificate cannot be used: {e}"))?,
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Ok(Arc::new(config))
}

/// An HTTP/1.1 client for outgoing https with these CAs (Google Wallet, the SMS
/// gateway); `timeout` bounds each request.
pub fn agent(
    extra_ca_file: Option<&Path>,
    timeout: std::time::Duration,
) -> Result<ureq::Agent, String> {
    Ok(ureq::AgentBuilder::new()
        .tls_config(client_config(extra_ca_file, None, &[])?)
        .timeout(timeout)
        .build())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ca_file_must_hold_readable_certificates() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        assert!(read_ca_file(&missing).unwrap_err().contains("cannot read"));
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "no certificates here\n").unwrap();
        assert!(read_ca_file(&empty)
            .unwrap_err()
            .contains("holds no CERTIFICATE"));
        let damaged = dir.path().join("damaged.pem");
        std::fs::write(
            &damaged,
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        assert!(read_ca_file(&damaged).unwrap_err().contains("damaged.pem"));
        // Without an extra file the public CAs alone are trusted.
        assert!(client_config(None, None, &[b"h2"]).is_ok());
    }
}
