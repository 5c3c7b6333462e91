//! HTTPS with the shop's own certificate: the PEM files `tls_certificate` (the chain,
//! leaf first) and `tls_private_key`, read again without a restart when either file
//! changes (looked at every few seconds: a renewal by certbot or a copy by hand is
//! picked up by itself) or on SIGHUP. A replacement that cannot be used — half written,
//! or a key that is not the certificate's — is logged, and the served certificate stays.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use super::{certified_key, Certificates, Validity};

/// How often the files are looked at.
pub const LOOK_EVERY: Duration = Duration::from_secs(2);

/// What identifies a version of a file: its modification time, size and inode (a
/// link switched to a new file, as certbot's `live/` links are, changes the inode).
type Version = (Option<SystemTime>, u64, u64);

pub struct OwnFiles {
    certificate: PathBuf,
    private_key: PathBuf,
    certificates: Arc<Certificates>,
    /// The versions of both files last read, good or not.
    seen: Mutex<Option<[Version; 2]>>,
}

impl OwnFiles {
    pub fn new(certificate: &Path, private_key: &Path, certificates: &Arc<Certificates>) -> Self {
        OwnFiles {
            certificate: certificate.to_path_buf(),
            private_key: private_key.to_path_buf(),
            certificates: certificates.clone(),
            seen: Mutex::new(None),
        }
    }

    /// Reads both files and serves them.
    pub fn load(&self) -> Result<Validity, String> {
        let versions = [version(&self.certificate), version(&self.private_key)];
        *self.seen.lock().unwrap_or_else(|e| e.into_inner()) = Some(versions);
        let read = |p: &Path| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
        let (key, validity) = certified_key(&read(&self.certificate)?, &read(&self.private_key)?)?;
        self.certificates.install(key, validity.clone());
        Ok(validity)
    }

    /// Reads the files again, logging what came of it; `why` says what asked.
    pub fn reload(&self, why: &str) {
        match self.load() {
            Ok(v) => log::info!(
                "{why}: now serving the certificate in {} (for {}, valid until {})",
                self.certificate.display(),
                v.names.join(", "),
                crate::time_fmt::format_timestamp(v.not_after.into())
            ),
            Err(e) => log::error!(
                "{why}: the certificate in {} cannot be used ({e}); still serving the previous one",
                self.certificate.display()
            ),
        }
    }

    /// Whether either file is another version than the one last read.
    fn changed(&self) -> bool {
        let now = [version(&self.certificate), version(&self.private_key)];
        *self.seen.lock().unwrap_or_else(|e| e.into_inner()) != Some(now)
    }

    /// Looks at the files every `LOOK_EVERY` while the server runs, and reads them again
    /// when they changed.
    pub async fn watch(self: Arc<Self>) {
        let mut ticks = actix_web::rt::time::interval(LOOK_EVERY);
        loop {
            ticks.tick().await;
            if self.changed() {
                self.reload("the certificate files changed");
            }
        }
    }
}

fn version(path: &Path) -> Version {
    use std::os::unix::fs::MetadataExt;
    match std::fs::metadata(path) {
        Ok(m) => (m.modified().ok(), m.len(), m.ino()),
        Err(_) => (None, 0, 0),
    }
}
