//! Settings: each one declared once, below, with its `config.toml` name (the
//! environment variable is `STAMPD_` + the name in capitals), type, default, check
//! (range or allowed values) and description. Sources are merged in `load` (built-in
//! defaults < config file < `STAMPD_*` environment < command-line flags) and each value
//! goes through its check in `check`; an error names the offending key as `config.toml`
//! spells it, where the value came from, and what to put there instead.
//!
//! The declarations go through a small macro of our own (`declare.rs`, after
//! vaultwarden's `make_config!`) rather than a configuration crate such as figment:
//! it adds no dependency, and every message is ours — figment passes on serde's type
//! errors ("invalid type: found string, expected u32"), which would need rewording per
//! key to say what to write instead.

#[macro_use]
mod declare;
mod check;
mod load;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use check::{
    Address, BearerSecret, CaFile, Country, Decimal, Domains, EmailAddress, FilePath, Flag,
    HttpUrl, HttpsUrl, ListenAddress, LogLevel, Mailbox, OneOf, OptionalAddress, Origins, Proxies,
    PublicUrl, ReadableFile, Text, Whole,
};
pub use declare::Setting;

use crate::edge::peer::AddressRange;

settings! {
    /// Address and port of plain HTTP. Empty: 127.0.0.1:8080, or with HTTPS on
    /// 0.0.0.0:80 (where it only redirects to HTTPS and answers ACME's HTTP-01 challenge).
    bind: String = "", Address;
    /// Address and port of HTTPS, when it is on (`tls_domains` or `tls_certificate`).
    /// Empty: 0.0.0.0:443.
    https_bind: String = "", Address;
    /// The ACME directory certificates for `tls_domains` come from.
    acme_directory: String = "https://acme-v02.api.letsencrypt.org/directory", HttpUrl;
    /// How the ACME server is shown that stampd serves the domains: on the HTTPS port
    /// (`tls-alpn-01`) or on the HTTP port (`http-01`).
    acme_challenge: AcmeChallenge = "tls-alpn-01", OneOf(&[
        ("tls-alpn-01", AcmeChallenge::TlsAlpn01),
        ("http-01", AcmeChallenge::Http01),
    ]);
    /// Reverse proxies (addresses or CIDR blocks) whose X-Forwarded-For,
    /// X-Forwarded-Proto and Forwarded headers are believed; empty: nobody's.
    trusted_proxies: Vec<AddressRange> = "", Proxies;
    /// The SQLite database file (relative to the config file's folder).
    database: PathBuf = "stampd.db", FilePath { example: Some("stampd.db") };
    /// How hard SQLite works to make each commit survive a power cut.
    synchronous: Synchronous = "full", OneOf(&[
        ("full", Synchronous::Full),
        ("normal", Synchronous::Normal),
        ("extra", Synchronous::Extra),
    ]);
    /// Read connections; there is always exactly one writer connection.
    read_pool_size: u32 = 6, Whole::new(1, 64);
    /// How many of the readers customer searches may hold at once (at most all but one;
    /// the rest stay for cheap reads such as a customer show).
    search_readers: u32 = 2, Whole::new(1, 63);
    /// CPU time one customer search may spend; a search that needs more (its letters
    /// are too common among the store's customers) is refused with 422 on `search`.
    search_budget_ms: u64 = 100, Whole::new(1, 60_000).of("milliseconds");
    /// How long a connection waits for a lock before giving up.
    busy_timeout_ms: u64 = 5000, Whole::new(0, 600_000).of("milliseconds");
    /// HTTP worker threads.
    workers: usize = 2, Whole::new(1, 64);
    /// Base of the public links (wallet passes, web cards). `None`: `http://<bound address>`.
    public_url: Option<String> = "", PublicUrl;
    /// Country assumed for phone numbers written without a country code.
    default_country: phonenumber::country::Id = "US", Country;
    /// Log level (RUST_LOG overrides it in detail).
    log_level: log::LevelFilter = "info", LogLevel;
    /// Requests a minute per API token (in bursts of up to as many); 0 turns limits off.
    rate_limit_per_minute: u32 = 1200, Whole::new(0, 1_000_000).zero("no limit");
    /// Requests a minute from one client address (an IPv6 /64) that carry no token
    /// known to be live (public pages, made-up or revoked tokens); 0 turns it off.
    rate_limit_per_address_per_minute: u32 = 1200, Whole::new(0, 1_000_000).zero("no limit");
    /// How long a client may take to send a request's head before it is cut off.
    request_head_timeout_secs: u64 = 10, Whole::new(1, 3600).of("seconds");
    /// How long a request's body may take to arrive once its head is in (else 408).
    request_body_timeout_secs: u64 = 20, Whole::new(1, 3600).of("seconds");
    /// The largest CSV file an import over the API takes (MiB), streamed to a
    /// temporary file; the one exception to the 64 KiB body limit.
    import_body_limit_mib: u64 = 50, Whole::new(1, 4096).of("MiB");
    /// Connections one address may hold open at once; one past it is closed at once.
    max_connections_per_address: u32 = 64, Whole::new(1, 100_000);
    /// Stored `Idempotency-Key` replies one API token may hold (KiB); a keyed request
    /// whose reply does not fit is refused (429) until older replies expire.
    idempotency_quota_kib: u64 = 32768, Whole::new(1, 16_777_216).of("KiB");
    /// How many times a card-link delivery is tried before it is kept as failed.
    delivery_max_attempts: u32 = 8, Whole::new(1, 100);
    /// The wait before the first retry; it doubles with each further try (plus up to
    /// half again at random).
    delivery_retry_base_secs: u64 = 30, Whole::new(0, 86_400).of("seconds");
    /// Webhooks: allow targets that resolve to loopback, private, link-local or other
    /// non-public addresses, and plain http targets (a shop's own LAN).
    webhooks_allow_private_targets: bool = false, Flag;
    /// Webhooks: the wait before a failed event's first retry; the whole schedule (5 s,
    /// 5 min, 30 min, 2 h, 5 h, then every 10 h, for 3 days at 5) scales with it.
    webhook_retry_base_secs: f64 = 5, Decimal::new(0.000_1, 86_400.0).of("seconds");
    /// Webhooks: deliveries in flight at once, over all subscriptions.
    webhook_concurrency: usize = 16, Whole::new(1, 256);
    /// Webhooks: deliveries in flight at once to one subscription.
    webhook_concurrency_per_subscription: usize = 4, Whole::new(1, 64);
    /// Webhooks: the DNS server (address:port) target names are resolved with; blank:
    /// the system's resolver.
    webhook_dns_server: Option<SocketAddr> = "", OptionalAddress;
    /// Webhooks: how long each subscription's delivery history (its tries, and the
    /// events they sent, which redeliver needs) is kept.
    webhook_history_days: u64 = 30, Whole::new(1, 3650).of("days");
    /// Webhooks: the most tries kept per subscription; older ones go sooner than
    /// `webhook_history_days` when there are more.
    webhook_history_per_subscription: u64 = 10000, Whole::new(1, 10_000_000);
    /// Webhooks: seconds between sweeps of the history beyond those limits.
    webhook_history_sweep_secs: u64 = 600, Whole::new(1, 86_400).of("seconds");
    /// Which APNs service Apple Wallet updates are pushed through: "production" (passes
    /// on customers' phones always use it) or "sandbox".
    apns_environment: ApnsEnvironment = "production", OneOf(&[
        ("production", ApnsEnvironment::Production),
        ("sandbox", ApnsEnvironment::Sandbox),
    ]);
    /// An https base URL for APNs in place of the environment's (a stand-in); blank: Apple's.
    apns_base_url: Option<String> = "", HttpsUrl;
    /// Google Wallet: where the service account's access tokens come from.
    google_token_url: String = "https://oauth2.googleapis.com/token", HttpUrl;
    /// Google Wallet: the base URL of the Wallet REST API.
    google_api_url: String = "https://walletobjects.googleapis.com/walletobjects/v1", HttpUrl;
    /// How many times a wallet update (APNs push, Google Wallet change) is tried before it
    /// is kept as failed.
    push_max_attempts: u32 = 10, Whole::new(1, 100);
    /// The wait before a wallet update's first retry; it doubles with each further try
    /// (plus up to half again at random).
    push_retry_base_secs: u64 = 5, Whole::new(0, 86_400).of("seconds");
    /// CA certificates (a PEM file) trusted for outgoing https in addition to the public
    /// ones; blank: the public ones alone.
    extra_ca_file: Option<PathBuf> = "", CaFile;
    /// Where automatic and `stampd backup` copies go (default: `backups/` beside the database).
    backup_dir: PathBuf = "", FilePath { example: None };
    /// Hours between automatic backups; 0 turns them off.
    backup_interval_hours: u64 = 24, Whole::new(0, 24 * 365).of("hours").zero("off");
    /// How many automatic backups to keep.
    backup_keep: usize = 7, Whole::new(1, 10_000);
    /// Seconds between refreshes of `latest.db` in `backup_dir` (a consistent copy that
    /// is always safe to copy), made only when something was written since; 0: off.
    latest_backup_interval_secs: u64 = 900, Whole::new(0, 86_400).of("seconds").zero("off");
    /// Who copies the WAL into the database file: stampd itself, or an external tool
    /// that replicates the WAL (Litestream), which must be the only one to checkpoint.
    checkpoint_mode: CheckpointMode = "stampd", OneOf(&[
        ("stampd", CheckpointMode::Stampd),
        ("external", CheckpointMode::External),
    ]);
    /// A separate address and port serving `GET /metrics` alone; blank: none.
    metrics_bind: Option<String> = "", ListenAddress;
    /// The bearer token `GET /metrics` requires; with it and without `metrics_bind`,
    /// `/metrics` is served on `bind` too. Blank: no token (only with a loopback
    /// `metrics_bind`).
    metrics_token: Option<String> = "", BearerSecret, secret;
    /// Web origins allowed to call the API from a browser (CORS); empty: none.
    cors_allowed_origins: Vec<String> = "", Origins;
    /// Self-signups a poster's page accepts per hour from one address; 0: no limit.
    signup_rate_limit_per_hour: u32 = 20, Whole::new(0, 100_000).zero("no limit");
    /// Seconds without a touch after which the counter page locks back to the staff
    /// picker on a paired device; 0: never.
    counter_idle_lock_secs: u32 = 120, Whole::new(0, 86_400).zero("never");
    /// Hours a staff member's sign-in on a paired device lasts at most.
    staff_session_hours: u32 = 12, Whole::new(1, 168);

    grouped {
        /// HTTPS with certificates obtained and renewed by ACME for these domain names.
        tls_domains: Vec<String>, Domains;
        /// ACME: the contact address for the account (expiry and policy notices).
        acme_email: String, EmailAddress;
        /// ACME: a CA certificate (PEM) to trust for the directory, for a private or test CA.
        acme_ca_certificate: PathBuf, ReadableFile;
        /// HTTPS with a certificate of your own: the certificate chain (PEM).
        tls_certificate: PathBuf, ReadableFile;
        /// HTTPS with a certificate of your own: its private key (PEM).
        tls_private_key: PathBuf, ReadableFile;
        /// Apple Wallet: the Pass Type ID.
        apple_pass_type_id: String, Text;
        /// Apple Wallet: the Apple Developer team id.
        apple_team_id: String, Text;
        /// Apple Wallet: the Pass Type ID certificate (PEM).
        apple_certificate: PathBuf, ReadableFile;
        /// Apple Wallet: the certificate's private key (PEM, unencrypted).
        apple_private_key: PathBuf, ReadableFile;
        /// Apple Wallet: Apple's WWDR intermediate certificate (PEM).
        apple_wwdr_certificate: PathBuf, ReadableFile;
        /// Google Wallet: the issuer id.
        google_issuer_id: String, Text;
        /// Google Wallet: the service account's JSON key file.
        google_service_account_key: PathBuf, ReadableFile;
        /// Mail: the SMTP server; card links by email are off without it.
        smtp_host: String, Text;
        /// Mail: the SMTP port (default: 587 for starttls, 465 for tls, 25 for none).
        smtp_port: u16, Whole::port();
        /// Mail: how the connection is secured (default: starttls).
        smtp_tls: SmtpTls, OneOf(&[
            ("starttls", SmtpTls::StartTls),
            ("tls", SmtpTls::Tls),
            ("none", SmtpTls::None),
        ]);
        /// Mail: the SMTP user name.
        smtp_username: String, Text;
        /// Mail: the SMTP password.
        smtp_password: String, Text, secret;
        /// Mail: the sender, e.g. "Ann's Coffee <cards@example.com>".
        smtp_from: String, Mailbox;
        /// SMS: the Twilio-compatible gateway; card links by SMS are off without it.
        sms_base_url: String, HttpUrl;
        /// SMS: the account SID.
        sms_account_sid: String, Text;
        /// SMS: the auth token.
        sms_auth_token: String, Text, secret;
        /// SMS: the sending number.
        sms_from: String, Text;
    }

    assembled {
        /// HTTPS; `None` without `tls_domains` and `tls_certificate`.
        tls: Option<TlsSettings>,
        /// Apple Wallet passes; `None` until all the apple_* settings are given.
        apple: Option<AppleSettings>,
        /// Google Wallet; `None` until both google_* settings are given.
        google: Option<GoogleSettings>,
        /// Card links by email; `None` until smtp_host is given.
        smtp: Option<SmtpSettings>,
        /// Card links by SMS; `None` until sms_base_url is given.
        sms: Option<SmsSettings>,
    }
}

/// Who checkpoints the WAL (copies it into the database file and starts it over).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckpointMode {
    /// stampd's checkpointer thread, the writer past 500 pages, and a TRUNCATE at a
    /// clean stop.
    Stampd,
    /// Nobody in stampd while the WAL stays below [`crate::db::EXTERNAL_WAL_LIMIT`]:
    /// the tool that replicates the WAL (Litestream) checkpoints after it has read it.
    External,
}

/// How hard SQLite works to make a commit survive a power cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Synchronous {
    Normal,
    Full,
    Extra,
}

impl Synchronous {
    pub fn as_pragma(self) -> &'static str {
        match self {
            Synchronous::Normal => "NORMAL",
            Synchronous::Full => "FULL",
            Synchronous::Extra => "EXTRA",
        }
    }
}

/// The ACME challenge stampd answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcmeChallenge {
    /// A TLS handshake on the HTTPS port with a certificate made for the challenge.
    TlsAlpn01,
    /// A file under `/.well-known/acme-challenge/` on the plain HTTP port.
    Http01,
}

/// Where the HTTPS certificate comes from.
#[derive(Debug, Clone)]
pub enum TlsSettings {
    /// Obtained and renewed by stampd from an ACME CA.
    Acme(AcmeSettings),
    /// The shop's own PEM files, read again when they change or on SIGHUP.
    Files {
        certificate: PathBuf,
        private_key: PathBuf,
    },
}

#[derive(Debug, Clone)]
pub struct AcmeSettings {
    /// The names the certificate is for; the first is the public URL's by default.
    pub domains: Vec<String>,
    pub email: Option<String>,
    pub directory: String,
    /// A CA certificate (PEM) to trust for the directory's HTTPS, instead of the system's.
    pub ca_certificate: Option<PathBuf>,
    pub challenge: AcmeChallenge,
}

/// Apple's push service for Wallet updates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApnsEnvironment {
    Production,
    Sandbox,
}

impl ApnsEnvironment {
    /// The service's base URL.
    pub fn base_url(self) -> &'static str {
        match self {
            ApnsEnvironment::Production => "https://api.push.apple.com",
            ApnsEnvironment::Sandbox => "https://api.sandbox.push.apple.com",
        }
    }
}

#[derive(Debug, Clone)]
pub struct AppleSettings {
    pub pass_type_id: String,
    pub team_id: String,
    /// PEM files: the Pass Type ID certificate, its private key, Apple's WWDR intermediate.
    pub certificate: PathBuf,
    pub private_key: PathBuf,
    pub wwdr_certificate: PathBuf,
}

#[derive(Debug, Clone)]
pub struct GoogleSettings {
    pub issuer_id: String,
    /// The service account's JSON key file (with `client_email` and `private_key`).
    pub service_account_key: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain SMTP (only for a relay on the same machine or network).
    None,
    /// SMTP upgraded with STARTTLS (usually port 587).
    StartTls,
    /// SMTP over TLS from the first byte (usually port 465).
    Tls,
}

#[derive(Clone)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    pub username: Option<String>,
    pub password: Option<String>,
    pub from: String,
}

impl std::fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "********"))
            .field("from", &self.from)
            .finish()
    }
}

/// A Twilio-compatible SMS gateway: `POST {base_url}/2010-04-01/Accounts/{sid}/Messages.json`
/// with a form (`To`, `From`, `Body`) and basic auth (`sid:auth_token`).
#[derive(Clone)]
pub struct SmsSettings {
    pub base_url: String,
    pub account_sid: String,
    pub auth_token: String,
    pub from: String,
}

impl std::fmt::Debug for SmsSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmsSettings")
            .field("base_url", &self.base_url)
            .field("account_sid", &self.account_sid)
            .field("auth_token", &"********")
            .field("from", &self.from)
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path} is not valid: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("setting `{key}` (from {origin}): {message}")]
    Invalid {
        key: String,
        origin: String,
        message: String,
    },
}

/// Values given on the command line; they win over everything else.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub config: Option<PathBuf>,
    pub database: Option<PathBuf>,
    pub bind: Option<String>,
    pub https_bind: Option<String>,
    /// `stampd serve DOMAIN...`; empty: not given.
    pub tls_domains: Vec<String>,
    pub acme_email: Option<String>,
}

impl Default for Settings {
    /// Every setting at its declared default.
    fn default() -> Self {
        Settings::from_layers(&load::Layers::defaults_only())
            .expect("the declared defaults pass their checks")
    }
}

impl Settings {
    /// Loads settings the way `stampd` does: the config file named by `--config`, else by
    /// `STAMPD_CONFIG`, else `config.toml` in the working directory when it exists.
    pub fn load(overrides: &Overrides) -> Result<Settings, ConfigError> {
        let env: BTreeMap<String, String> = std::env::vars()
            .filter(|(k, _)| k.starts_with("STAMPD_"))
            .collect();
        Self::load_from(overrides, &env)
    }

    /// As `load`, with `env` in place of the process environment.
    pub fn load_from(
        overrides: &Overrides,
        env: &BTreeMap<String, String>,
    ) -> Result<Settings, ConfigError> {
        Settings::from_layers(&load::Layers::gather(overrides, env)?)
    }

    /// The base URL for public links, given the address the server actually bound
    /// (the HTTPS one when HTTPS is on).
    pub fn public_base(&self, bound: SocketAddr) -> String {
        match &self.public_url {
            Some(u) => u.clone(),
            None if self.tls.is_some() => format!("https://{bound}"),
            None => format!("http://{bound}"),
        }
    }

    /// The folder stampd keeps its own files in: the database's.
    pub fn data_dir(&self) -> &Path {
        match self.database.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        }
    }

    pub fn database_path(&self) -> &Path {
        &self.database
    }

    /// The base URL Apple Wallet updates are pushed to.
    pub fn apns_url(&self) -> &str {
        self.apns_base_url
            .as_deref()
            .unwrap_or(self.apns_environment.base_url())
    }
}

pub fn parse_country(v: &str) -> Option<phonenumber::country::Id> {
    let v = v.trim();
    if v.len() != 2 {
        return None;
    }
    v.to_ascii_uppercase().parse().ok()
}
