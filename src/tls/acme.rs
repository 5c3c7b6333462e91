//! Certificates from an ACME CA (RFC 8555; Let's Encrypt unless `acme_directory` says
//! otherwise): the account and the certificates kept beside the database, private to
//! stampd's user; the challenge answered by stampd itself — TLS-ALPN-01 on the HTTPS
//! port or HTTP-01 on the plain HTTP port; and renewal while serving, once a third of
//! the certificate's lifetime is left.
//!
//! Files, under the database's folder:
//!
//! ```text
//! acme/<directory host>/account.json            the account's key and URL
//! acme/<directory host>/<first domain>/certificate.pem
//! acme/<directory host>/<first domain>/private_key.pem
//! ```
//!
//! One folder per CA, so the staging server's account and certificates never stand in
//! for the real one's.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use instant_acme::{
    Account, AccountBuilder, AccountCredentials, AuthorizationStatus, ChallengeType, Identifier,
    NewAccount, NewOrder, Order, OrderStatus, RetryPolicy,
};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::sign::CertifiedKey;

use super::{certified_key, Certificates, TlsError, Validity};
use crate::config::{AcmeChallenge, AcmeSettings};
use crate::files;

/// At most this long between two looks at the certificate's dates, so a clock that
/// jumps (a VPS resumed from a snapshot) is noticed.
const LOOK_AGAIN: Duration = Duration::from_secs(3600);
/// The first wait after a failed attempt; it doubles with each failure in a row...
const FIRST_RETRY: Duration = Duration::from_secs(120);
/// ...up to this. Let's Encrypt allows 5 failed validations per name an hour.
const LONGEST_RETRY: Duration = Duration::from_secs(6 * 3600);
/// How long the CA may take to validate the challenges, and to issue.
const CA_PATIENCE: Duration = Duration::from_secs(120);

/// The answers to open HTTP-01 challenges, by token: what the plain HTTP port serves at
/// `/.well-known/acme-challenge/<token>`.
#[derive(Debug, Default)]
pub struct Http01Answers(Mutex<HashMap<String, String>>);

impl Http01Answers {
    pub fn answer(&self, token: &str) -> Option<String> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(token)
            .cloned()
    }

    fn open(&self, token: &str, key_authorization: &str) {
        let mut open = self.0.lock().unwrap_or_else(|e| e.into_inner());
        open.insert(token.to_string(), key_authorization.to_string());
    }

    fn close(&self, token: &str) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(token);
    }
}

/// Obtains and renews the certificate for `tls_domains`.
pub struct Acme {
    settings: AcmeSettings,
    /// `<data dir>/acme/<directory host>`.
    dir: PathBuf,
    certificates: Arc<Certificates>,
    http01: Arc<Http01Answers>,
}

impl Acme {
    pub fn new(
        settings: AcmeSettings,
        data_dir: &Path,
        certificates: &Arc<Certificates>,
        http01: &Arc<Http01Answers>,
    ) -> Result<Acme, TlsError> {
        let dir = data_dir
            .join("acme")
            .join(directory_folder(&settings.directory));
        files::create_dir_all(&dir).map_err(|source| TlsError::AcmeFolder {
            path: dir.clone(),
            source,
        })?;
        Ok(Acme {
            settings,
            dir,
            certificates: certificates.clone(),
            http01: http01.clone(),
        })
    }

    /// Where the certificate for the domains is kept.
    pub fn certificate_dir(&self) -> PathBuf {
        self.dir.join(&self.settings.domains[0])
    }

    fn account_file(&self) -> PathBuf {
        self.dir.join("account.json")
    }

    /// Serves the stored certificate, if there is one for exactly these domains (an
    /// expired one too: renewal starts at once, and until it is done a client at least
    /// gets a clear certificate error instead of none).
    pub fn load_stored(&self) -> bool {
        let dir = self.certificate_dir();
        let (Ok(chain), Ok(key)) = (
            std::fs::read(dir.join("certificate.pem")),
            std::fs::read(dir.join("private_key.pem")),
        ) else {
            return false;
        };
        match certified_key(&chain, &key) {
            Ok((key, validity)) if validity.is_for(&self.settings.domains) => {
                log::info!(
                    "serving the stored certificate for {} (valid until {})",
                    self.settings.domains.join(", "),
                    when(validity.not_after)
                );
                self.certificates.install(key, validity);
                true
            }
            Ok(_) => false,
            Err(e) => {
                log::warn!(
                    "the stored certificate in {} is not usable ({e}); obtaining a new one",
                    dir.display()
                );
                false
            }
        }
    }

    /// Keeps a valid certificate served, for as long as the server runs: obtains one
    /// when there is none (or it is for other names), renews it once a third of its
    /// lifetime is left, and after a failure tries again later, waiting longer each time.
    pub async fn run(self) {
        let mut failures = 0u32;
        loop {
            let due = match self.certificates.validity() {
                Some(v) if v.is_for(&self.settings.domains) => v.renew_at(),
                _ => SystemTime::UNIX_EPOCH,
            };
            if let Ok(wait) = due.duration_since(SystemTime::now()) {
                if !wait.is_zero() {
                    actix_web::rt::time::sleep(wait.min(LOOK_AGAIN)).await;
                    continue;
                }
            }
            let names = self.settings.domains.join(", ");
            log::info!(
                "obtaining a certificate for {names} from {}",
                self.settings.directory
            );
            match self.obtain().await {
                Ok(v) => {
                    failures = 0;
                    log::info!(
                        "certificate for {names} obtained: valid until {}, renewed from {}",
                        when(v.not_after),
                        when(v.renew_at())
                    );
                    if v.renew_at() <= SystemTime::now() {
                        // Never an order after order: a certificate due at once means
                        // the clock or the CA is off.
                        log::warn!(
                            "the new certificate for {names} is already due for renewal; is this machine's clock right? Trying again in an hour"
                        );
                        actix_web::rt::time::sleep(LOOK_AGAIN).await;
                    }
                }
                Err(e) => {
                    failures += 1;
                    let wait = FIRST_RETRY
                        .saturating_mul(2u32.saturating_pow(failures - 1))
                        .min(LONGEST_RETRY);
                    log::error!(
                        "could not obtain a certificate for {names} from {}: {e}; trying again in {} minutes",
                        self.settings.directory,
                        wait.as_secs() / 60
                    );
                    actix_web::rt::time::sleep(wait).await;
                }
            }
        }
    }

    /// One certificate from the CA: an order for the domains, their challenges answered,
    /// a new key and its certificate stored and served.
    async fn obtain(&self) -> Result<Validity, String> {
        let account = self.account().await?;
        let identifiers: Vec<Identifier> = (self.settings.domains.iter())
            .map(|d| Identifier::Dns(d.clone()))
            .collect();
        let order = match account.new_order(&NewOrder::new(&identifiers)).await {
            Err(instant_acme::Error::Api(p))
                if p.r#type.as_deref()
                    == Some("urn:ietf:params:acme:error:accountDoesNotExist") =>
            {
                // The CA forgot the account (a test CA restarted, an account closed):
                // a new one, once.
                log::warn!("the ACME account is unknown to the CA; creating a new one");
                let _ = std::fs::remove_file(self.account_file());
                self.account()
                    .await?
                    .new_order(&NewOrder::new(&identifiers))
                    .await
            }
            other => other,
        };
        let mut order = order.map_err(|e| format!("new order: {e}"))?;
        let mut open = OpenChallenges {
            acme: self,
            alpn: Vec::new(),
            http: Vec::new(),
        };
        self.answer_challenges(&mut order, &mut open).await?;
        let status = order
            .poll_ready(&RetryPolicy::new().timeout(CA_PATIENCE))
            .await
            .map_err(|e| format!("waiting for validation: {e}"))?;
        if status != OrderStatus::Ready {
            return Err(why_invalid(&mut order).await);
        }
        drop(open);
        let key_pem = order
            .finalize()
            .await
            .map_err(|e| format!("finalizing the order: {e}"))?;
        let chain_pem = order
            .poll_certificate(&RetryPolicy::new().timeout(CA_PATIENCE))
            .await
            .map_err(|e| format!("fetching the certificate: {e}"))?;
        let (key, validity) = certified_key(chain_pem.as_bytes(), key_pem.as_bytes())
            .map_err(|e| format!("the CA's certificate: {e}"))?;
        // Stored before it is served, so a certificate clients have seen is the one a
        // restart finds; served whether or not it could be stored: asking again would
        // count against the CA's limit of certificates per week for the same names.
        if let Err(e) = self.store(key_pem.as_bytes(), chain_pem.as_bytes()) {
            log::error!(
                "the new certificate is served but could not be stored in {} ({e}); a restart will obtain another",
                self.certificate_dir().display()
            );
        }
        self.certificates.install(key, validity.clone());
        Ok(validity)
    }

    /// Opens the challenge of each authorization still pending, and tells the CA.
    async fn answer_challenges(
        &self,
        order: &mut Order,
        open: &mut OpenChallenges<'_>,
    ) -> Result<(), String> {
        let kind = match self.settings.challenge {
            AcmeChallenge::TlsAlpn01 => ChallengeType::TlsAlpn01,
            AcmeChallenge::Http01 => ChallengeType::Http01,
        };
        let mut authorizations = order.authorizations();
        while let Some(authz) = authorizations.next().await {
            let mut authz = authz.map_err(|e| format!("reading an authorization: {e}"))?;
            let domain = authz.identifier().to_string();
            match authz.status {
                AuthorizationStatus::Pending => {}
                // Validated for an earlier order: nothing to show.
                AuthorizationStatus::Valid => continue,
                other => return Err(format!("the CA's authorization for {domain} is {other:?}")),
            }
            let mut challenge = authz.challenge(kind.clone()).ok_or_else(|| {
                format!(
                    "the CA offers no {} challenge for {domain}; choose another acme_challenge",
                    challenge_name(self.settings.challenge)
                )
            })?;
            let key_authorization = challenge.key_authorization();
            match self.settings.challenge {
                AcmeChallenge::TlsAlpn01 => {
                    let cert = alpn_certificate(&domain, key_authorization.digest().as_ref())?;
                    self.certificates.open_challenge(&domain, cert);
                    open.alpn.push(domain.clone());
                }
                AcmeChallenge::Http01 => {
                    self.http01
                        .open(&challenge.token, key_authorization.as_str());
                    open.http.push(challenge.token.clone());
                }
            }
            challenge
                .set_ready()
                .await
                .map_err(|e| format!("the challenge for {domain}: {e}"))?;
        }
        Ok(())
    }

    /// The account: the stored one, or a new one (stored at once, 0600: its key is
    /// what proves the certificates are ours).
    async fn account(&self) -> Result<Account, String> {
        let file = self.account_file();
        if let Ok(json) = std::fs::read(&file) {
            let credentials: AccountCredentials = serde_json::from_slice(&json)
                .map_err(|e| format!("{} is not an ACME account: {e}", file.display()))?;
            return self
                .builder()?
                .from_credentials(credentials)
                .await
                .map_err(|e| format!("the ACME account: {e}"));
        }
        let contact = self.settings.email.as_ref().map(|e| format!("mailto:{e}"));
        let contacts: Vec<&str> = contact.iter().map(String::as_str).collect();
        let (account, credentials) = self
            .builder()?
            .create(
                &NewAccount {
                    contact: &contacts,
                    // Asking for certificates for tls_domains is agreeing to the CA's
                    // terms (the README and config.toml say so).
                    terms_of_service_agreed: true,
                    only_return_existing: false,
                },
                self.settings.directory.clone(),
                None,
            )
            .await
            .map_err(|e| format!("creating an ACME account: {e}"))?;
        let json = serde_json::to_vec_pretty(&credentials).map_err(|e| e.to_string())?;
        files::write_atomically(&file, &json)
            .map_err(|e| format!("storing the account in {}: {e}", file.display()))?;
        Ok(account)
    }

    fn builder(&self) -> Result<AccountBuilder, String> {
        match &self.settings.ca_certificate {
            Some(root) => Account::builder_with_root(root),
            None => Account::builder(),
        }
        .map_err(|e| format!("cannot set up HTTPS to the ACME directory: {e}"))
    }

    /// The key, then the chain: each written whole (a crash between them leaves a pair
    /// that does not match, which is not served, and a new one is obtained).
    fn store(&self, key_pem: &[u8], chain_pem: &[u8]) -> std::io::Result<()> {
        let dir = self.certificate_dir();
        files::create_dir_all(&dir)?;
        files::write_atomically(&dir.join("private_key.pem"), key_pem)?;
        files::write_atomically(&dir.join("certificate.pem"), chain_pem)
    }
}

/// The challenges shown for one order; closed however the order ends.
struct OpenChallenges<'a> {
    acme: &'a Acme,
    alpn: Vec<String>,
    http: Vec<String>,
}

impl Drop for OpenChallenges<'_> {
    fn drop(&mut self) {
        for domain in &self.alpn {
            self.acme.certificates.close_challenge(domain);
        }
        for token in &self.http {
            self.acme.http01.close(token);
        }
    }
}

/// The certificate a TLS-ALPN-01 validator must get (RFC 8737): self-signed, for the
/// domain alone, carrying the digest of the key authorization in a critical extension.
fn alpn_certificate(domain: &str, digest: &[u8]) -> Result<CertifiedKey, String> {
    let fail = |e: rcgen::Error| format!("making the TLS-ALPN-01 certificate: {e}");
    let key = rcgen::KeyPair::generate().map_err(fail)?;
    let mut params = rcgen::CertificateParams::new(vec![domain.to_string()]).map_err(fail)?;
    params.custom_extensions = vec![rcgen::CustomExtension::new_acme_identifier(digest)];
    let cert = params.self_signed(&key).map_err(fail)?;
    let der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let signing = rustls::crypto::ring::sign::any_supported_type(&der)
        .map_err(|e| format!("the TLS-ALPN-01 key: {e}"))?;
    Ok(CertifiedKey::new(vec![cert.der().clone()], signing))
}

/// What the CA said of the challenges of an order that became invalid.
async fn why_invalid(order: &mut Order) -> String {
    let mut reasons = Vec::new();
    let mut authorizations = order.authorizations();
    while let Some(Ok(authz)) = authorizations.next().await {
        let domain = authz.identifier().to_string();
        for challenge in &authz.challenges {
            if let Some(problem) = &challenge.error {
                let detail = problem.detail.as_deref().unwrap_or("no detail");
                reasons.push(format!("{domain}: {detail}"));
            }
        }
    }
    if reasons.is_empty() {
        "the CA did not validate the domains".into()
    } else {
        format!(
            "the CA could not validate {} (is the domain's DNS pointing at this server, and are its ports 80 and 443 open?)",
            reasons.join("; ")
        )
    }
}

fn challenge_name(c: AcmeChallenge) -> &'static str {
    match c {
        AcmeChallenge::TlsAlpn01 => "tls-alpn-01",
        AcmeChallenge::Http01 => "http-01",
    }
}

/// The folder of a CA: its directory URL's host (and port), e.g.
/// `acme-v02.api.letsencrypt.org` or `localhost_14000`.
fn directory_folder(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split('/').next().unwrap_or("");
    let folder: String = authority
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    if folder.is_empty() || folder.starts_with('.') {
        format!("ca{folder}")
    } else {
        folder
    }
}

/// A time as the log shows it.
fn when(t: SystemTime) -> String {
    crate::time_fmt::format_timestamp(t.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_ca_has_its_folder() {
        assert_eq!(
            directory_folder("https://acme-v02.api.letsencrypt.org/directory"),
            "acme-v02.api.letsencrypt.org"
        );
        assert_eq!(
            directory_folder("https://localhost:14000/dir"),
            "localhost_14000"
        );
        // Never a path out of the acme folder.
        assert_eq!(directory_folder("https://../x"), "ca..");
    }
}
