//! HTTPS: the certificate the server presents and where it comes from — obtained and
//! renewed by ACME (`acme`), or the shop's own files, read again when they change or on
//! SIGHUP (`own_files`) — and the rustls configuration that presents it. The server
//! itself (listeners, the redirect from plain HTTP) is assembled in `edge`.
//!
//! rustls with ring: pure Rust apart from ring's own assembly, no system OpenSSL.

pub mod acme;
pub mod own_files;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use x509_cert::der::Decode;

use crate::config::{Settings, TlsSettings};

/// The ALPN protocol of ACME's TLS-ALPN-01 challenge (RFC 8737).
pub const ACME_TLS_ALPN: &[u8] = b"acme-tls/1";

/// What the HTTPS server presents: the current certificate, and while an ACME
/// TLS-ALPN-01 challenge is open, the challenge's certificate to the validator that
/// asks for it. Swapping the certificate needs no restart: each handshake asks here.
#[derive(Default)]
pub struct Certificates {
    current: RwLock<Option<Served>>,
    alpn_challenges: Mutex<HashMap<String, Arc<CertifiedKey>>>,
}

/// A certificate being served, and what stampd needs to know of it.
#[derive(Clone)]
struct Served {
    key: Arc<CertifiedKey>,
    validity: Validity,
}

impl std::fmt::Debug for Certificates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Certificates")
            .field("current", &self.validity())
            .finish()
    }
}

impl Certificates {
    /// Serves `key` from the next handshake on.
    pub fn install(&self, key: CertifiedKey, validity: Validity) {
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Some(Served {
            key: Arc::new(key),
            validity,
        });
    }

    /// The served certificate's names and dates; `None` before there is one.
    pub fn validity(&self) -> Option<Validity> {
        let current = self.current.read().unwrap_or_else(|e| e.into_inner());
        current.as_ref().map(|s| s.validity.clone())
    }

    /// Answers TLS-ALPN-01 validations for `domain` with `key` until `close_challenge`.
    pub fn open_challenge(&self, domain: &str, key: CertifiedKey) {
        let mut open = self
            .alpn_challenges
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        open.insert(domain.to_ascii_lowercase(), Arc::new(key));
    }

    pub fn close_challenge(&self, domain: &str) {
        let mut open = self
            .alpn_challenges
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        open.remove(&domain.to_ascii_lowercase());
    }
}

impl ResolvesServerCert for Certificates {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let challenge = hello
            .alpn()
            .is_some_and(|mut protocols| protocols.any(|p| p == ACME_TLS_ALPN));
        if challenge {
            // Only the validator asks for this protocol; it gets the challenge's
            // certificate and nothing else (and nobody gets that one otherwise).
            let name = hello.server_name()?.to_ascii_lowercase();
            let open = self
                .alpn_challenges
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            return open.get(&name).cloned();
        }
        let current = self.current.read().unwrap_or_else(|e| e.into_inner());
        current.as_ref().map(|s| s.key.clone())
    }
}

/// The names and dates of a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validity {
    /// DNS names of its subject alternative names, in lower case.
    pub names: Vec<String>,
    pub not_before: SystemTime,
    pub not_after: SystemTime,
}

impl Validity {
    /// Reads an end-entity certificate (DER).
    pub fn of(cert: &CertificateDer<'_>) -> Result<Validity, String> {
        use x509_cert::ext::pkix::name::GeneralName;
        use x509_cert::ext::pkix::SubjectAltName;
        let cert = x509_cert::Certificate::from_der(cert.as_ref())
            .map_err(|e| format!("not an X.509 certificate: {e}"))?;
        let tbs = &cert.tbs_certificate;
        let names = match tbs.get::<SubjectAltName>() {
            Ok(Some((_, san))) => san
                .0
                .iter()
                .filter_map(|n| match n {
                    GeneralName::DnsName(d) => Some(d.as_str().to_ascii_lowercase()),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        };
        Ok(Validity {
            names,
            not_before: tbs.validity.not_before.to_system_time(),
            not_after: tbs.validity.not_after.to_system_time(),
        })
    }

    /// When a certificate is renewed: once a third of its lifetime is left (30 days of
    /// Let's Encrypt's 90), as Caddy and certbot do, so a failing CA or challenge
    /// leaves weeks of retries before it expires.
    pub fn renew_at(&self) -> SystemTime {
        let lifetime = self
            .not_after
            .duration_since(self.not_before)
            .unwrap_or(Duration::ZERO);
        self.not_after - lifetime / 3
    }

    /// Whether it names exactly `domains` (in any order).
    pub fn is_for(&self, domains: &[String]) -> bool {
        let mut have = self.names.clone();
        let mut want: Vec<String> = domains.iter().map(|d| d.to_ascii_lowercase()).collect();
        have.sort();
        have.dedup();
        want.sort();
        want.dedup();
        have == want
    }
}

/// The crypto stampd's TLS uses everywhere: ring.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A certificate chain and its private key from PEM, checked to belong together.
pub fn certified_key(chain_pem: &[u8], key_pem: &[u8]) -> Result<(CertifiedKey, Validity), String> {
    let chain = CertificateDer::pem_slice_iter(chain_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("the certificate is not PEM: {e}"))?;
    let leaf = chain
        .first()
        .ok_or("the certificate file holds no certificate (-----BEGIN CERTIFICATE-----)")?;
    let validity = Validity::of(leaf)?;
    let key = PrivateKeyDer::from_pem_slice(key_pem)
        .map_err(|e| format!("the private key is not a PEM private key: {e}"))?;
    let key = CertifiedKey::from_der(chain, key, &provider()).map_err(|e| match e {
        rustls::Error::InconsistentKeys(_) => {
            "the private key does not belong to the certificate".to_string()
        }
        other => format!("the private key cannot be used: {other}"),
    })?;
    Ok((key, validity))
}

/// HTTPS as `settings` ask for it: the certificates to present, and where they come
/// from.
pub struct Https {
    pub certificates: Arc<Certificates>,
    /// HTTP-01 challenge answers the plain HTTP port gives.
    pub http01: Arc<acme::Http01Answers>,
    pub source: Source,
}

/// Where the certificate comes from.
pub enum Source {
    Acme(acme::Acme),
    OwnFiles(Arc<own_files::OwnFiles>),
}

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot use the certificate {certificate} with the key {private_key}: {detail}")]
    OwnFiles {
        certificate: PathBuf,
        private_key: PathBuf,
        detail: String,
    },
    #[error("cannot create the ACME folder {path}: {source}")]
    AcmeFolder {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl Https {
    /// Loads what can be served at once: the shop's own files (a file that cannot be
    /// used stops the start), or a stored ACME certificate for the domains (without one,
    /// HTTPS handshakes fail until the first is obtained, moments after start). `None`
    /// when HTTPS is off.
    pub fn start(settings: &Settings) -> Result<Option<Https>, TlsError> {
        let Some(tls) = &settings.tls else {
            return Ok(None);
        };
        // The process's default for TLS clients made by libraries (the ACME client's).
        // Already set (a second server in one process): the same provider.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let certificates = Arc::new(Certificates::default());
        let http01 = Arc::new(acme::Http01Answers::default());
        let source = match tls {
            TlsSettings::Files {
                certificate,
                private_key,
            } => {
                let own = own_files::OwnFiles::new(certificate, private_key, &certificates);
                own.load().map_err(|detail| TlsError::OwnFiles {
                    certificate: certificate.clone(),
                    private_key: private_key.clone(),
                    detail,
                })?;
                Source::OwnFiles(Arc::new(own))
            }
            TlsSettings::Acme(acme_settings) => {
                let acme = acme::Acme::new(
                    acme_settings.clone(),
                    settings.data_dir(),
                    &certificates,
                    &http01,
                )?;
                acme.load_stored();
                Source::Acme(acme)
            }
        };
        Ok(Some(Https {
            certificates,
            http01,
            source,
        }))
    }

    /// The rustls configuration of the HTTPS listener.
    pub fn server_config(&self) -> rustls::ServerConfig {
        let mut config = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .expect("ring supports the default protocol versions")
            .with_no_client_auth()
            .with_cert_resolver(self.certificates.clone());
        if matches!(self.source, Source::Acme(_)) {
            // Offered after HTTP's own protocols (actix-http puts those first), so only
            // a client that asks for nothing else, the validator, gets it.
            config.alpn_protocols.push(ACME_TLS_ALPN.to_vec());
        }
        config
    }
}

/// The tasks that keep the certificate served while the server runs.
pub struct Keeping(Vec<actix_web::rt::task::JoinHandle<()>>);

impl Keeping {
    pub fn abort(self) {
        for task in self.0 {
            task.abort();
        }
    }
}

/// SIGHUP, listened for from the start (by default it would stop the server).
pub struct Hangups(Option<tokio::signal::unix::Signal>);

impl Hangups {
    /// Must be called inside the runtime, before the server serves (so that a SIGHUP
    /// sent once it answers never finds the default action in place).
    pub fn listen() -> Hangups {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::hangup()) {
            Ok(s) => Hangups(Some(s)),
            Err(e) => {
                log::warn!("SIGHUP cannot be listened for: {e}");
                Hangups(None)
            }
        }
    }
}

/// Starts what keeps a valid certificate served — ACME's renewals, or looking at the
/// shop's own files for changes — and what SIGHUP does: read the own files again (with
/// anything else there is nothing to read again: settings are read at start).
pub fn keep_served(https: Option<Https>, hangups: Hangups) -> Keeping {
    use actix_web::rt::spawn;
    let mut tasks = Vec::new();
    let own = match https.map(|h| h.source) {
        Some(Source::Acme(acme)) => {
            tasks.push(spawn(acme.run()));
            None
        }
        Some(Source::OwnFiles(own)) => {
            tasks.push(spawn(own.clone().watch()));
            Some(own)
        }
        None => None,
    };
    if let Hangups(Some(mut hangups)) = hangups {
        tasks.push(spawn(async move {
            while hangups.recv().await.is_some() {
                match &own {
                    Some(own) => own.reload("SIGHUP"),
                    None => log::info!(
                        "SIGHUP: nothing to read again (it reads the certificate files of tls_certificate again; settings need a restart)"
                    ),
                }
            }
        }));
    }
    Keeping(tasks)
}
