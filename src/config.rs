//! Settings: built-in defaults < config file < `STAMPD_*` environment < command-line flags.
//!
//! Every setting is validated after merging, and an error names the offending key
//! (as it is spelled in `config.toml`) and what to put there instead.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

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

/// The merged, validated settings stampd runs with.
#[derive(Debug, Clone)]
pub struct Settings {
    pub bind: String,
    pub database: PathBuf,
    pub synchronous: Synchronous,
    pub read_pool_size: u32,
    pub busy_timeout_ms: u64,
    /// Base of the public links (wallet passes, web cards). `None`: `http://<bound address>`.
    pub public_url: Option<String>,
    pub default_country: phonenumber::country::Id,
    pub log_level: log::LevelFilter,
    pub workers: usize,
    /// Requests a minute per API token (in bursts of up to as many); 0 turns limits off.
    pub rate_limit_per_minute: u32,
    /// Apple Wallet passes; `None` until all the apple_* settings are given.
    pub apple: Option<AppleSettings>,
    /// Google Wallet; `None` until both google_* settings are given.
    pub google: Option<GoogleSettings>,
    /// Card links by email; `None` until smtp_host is given.
    pub smtp: Option<SmtpSettings>,
    /// Card links by SMS; `None` until sms_base_url is given.
    pub sms: Option<SmsSettings>,
    /// How many times a card-link delivery is tried before it is kept as failed.
    pub delivery_max_attempts: u32,
    /// The wait before the first retry; it doubles with each further try.
    pub delivery_retry_base_secs: u64,
    /// Where automatic and `stampd backup` copies go (default: `backups/` beside the database).
    pub backup_dir: PathBuf,
    /// Hours between automatic backups; 0 turns them off.
    pub backup_interval_hours: u64,
    /// How many automatic backups to keep.
    pub backup_keep: usize,
    /// Web origins allowed to call the API from a browser (CORS); empty: none.
    pub cors_allowed_origins: Vec<String>,
    /// Self-signups a poster's page accepts per hour from one address; 0: no limit.
    pub signup_rate_limit_per_hour: u32,
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

impl Default for Settings {
    fn default() -> Self {
        Settings {
            bind: "127.0.0.1:8080".into(),
            database: PathBuf::from("stampd.db"),
            synchronous: Synchronous::Full,
            read_pool_size: 6,
            busy_timeout_ms: 5000,
            public_url: None,
            default_country: phonenumber::country::Id::US,
            log_level: log::LevelFilter::Info,
            workers: 2,
            rate_limit_per_minute: 1200,
            apple: None,
            google: None,
            smtp: None,
            sms: None,
            delivery_max_attempts: 8,
            delivery_retry_base_secs: 30,
            backup_dir: PathBuf::from("backups"),
            backup_interval_hours: 24,
            backup_keep: 7,
            cors_allowed_origins: Vec::new(),
            signup_rate_limit_per_hour: 20,
        }
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
}

/// Every setting, by its `config.toml` name (the environment variable is
/// `STAMPD_` + the name in capitals).
const KEYS: &[&str] = &[
    "bind",
    "database",
    "synchronous",
    "read_pool_size",
    "busy_timeout_ms",
    "public_url",
    "default_country",
    "log_level",
    "workers",
    "rate_limit_per_minute",
    "apple_pass_type_id",
    "apple_team_id",
    "apple_certificate",
    "apple_private_key",
    "apple_wwdr_certificate",
    "google_issuer_id",
    "google_service_account_key",
    "smtp_host",
    "smtp_port",
    "smtp_tls",
    "smtp_username",
    "smtp_password",
    "smtp_from",
    "sms_base_url",
    "sms_account_sid",
    "sms_auth_token",
    "sms_from",
    "delivery_max_attempts",
    "delivery_retry_base_secs",
    "backup_dir",
    "backup_interval_hours",
    "backup_keep",
    "cors_allowed_origins",
    "signup_rate_limit_per_hour",
];

/// Settings whose values are never printed.
pub const SECRET_KEYS: &[&str] = &["smtp_password", "sms_auth_token"];

/// One raw value and where it came from, for error messages.
struct Raw {
    value: String,
    origin: String,
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

    pub fn load_from(
        overrides: &Overrides,
        env: &BTreeMap<String, String>,
    ) -> Result<Settings, ConfigError> {
        let mut raw: BTreeMap<&str, Raw> = BTreeMap::new();

        let config_path = match (&overrides.config, env.get("STAMPD_CONFIG")) {
            (Some(p), _) => Some((p.clone(), true)),
            (None, Some(p)) => Some((PathBuf::from(p), true)),
            (None, None) => {
                let p = PathBuf::from("config.toml");
                p.exists().then_some((p, false))
            }
        };
        // A relative database path is taken relative to the config file's folder.
        let mut base_dir = PathBuf::from(".");
        if let Some((path, _explicit)) = &config_path {
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                path: path.clone(),
                source,
            })?;
            let table: toml::Table = toml::from_str(&text).map_err(|e| ConfigError::Parse {
                path: path.clone(),
                message: e.message().to_string()
                    + &e.span()
                        .map(|s| format!(" (at byte {} of the file)", s.start))
                        .unwrap_or_default(),
            })?;
            if let Some(parent) = path.parent() {
                if !parent.as_os_str().is_empty() {
                    base_dir = parent.to_path_buf();
                }
            }
            let origin = path.display().to_string();
            for (key, value) in table {
                let Some(known) = KEYS.iter().find(|k| **k == key) else {
                    return Err(ConfigError::Invalid {
                        key,
                        origin,
                        message: "is not a setting stampd knows (see config.toml for the list)"
                            .into(),
                    });
                };
                let value = match value {
                    toml::Value::String(s) => s,
                    toml::Value::Integer(i) => i.to_string(),
                    toml::Value::Boolean(b) => b.to_string(),
                    toml::Value::Float(f) => f.to_string(),
                    other => {
                        return Err(ConfigError::Invalid {
                            key,
                            origin,
                            message: format!(
                                "must be a string or a number, not {}",
                                other.type_str()
                            ),
                        })
                    }
                };
                raw.insert(
                    known,
                    Raw {
                        value,
                        origin: origin.clone(),
                    },
                );
            }
        }

        for key in KEYS {
            let var = format!("STAMPD_{}", key.to_ascii_uppercase());
            if let Some(v) = env.get(&var) {
                raw.insert(
                    key,
                    Raw {
                        value: v.clone(),
                        origin: format!("environment variable {var}"),
                    },
                );
            }
        }
        if let Some(db) = &overrides.database {
            raw.insert(
                "database",
                Raw {
                    value: db.display().to_string(),
                    origin: "--db".into(),
                },
            );
        }
        if let Some(bind) = &overrides.bind {
            raw.insert(
                "bind",
                Raw {
                    value: bind.clone(),
                    origin: "--bind".into(),
                },
            );
        }

        let mut s = Settings::default();
        let invalid = |key: &str, r: &Raw, message: String| ConfigError::Invalid {
            key: key.to_string(),
            origin: r.origin.clone(),
            message,
        };
        if let Some(r) = raw.get("bind") {
            if r.value.parse::<SocketAddr>().is_err() {
                return Err(invalid(
                    "bind",
                    r,
                    format!(
                        "{:?} is not an address and port; use e.g. \"127.0.0.1:8080\"",
                        r.value
                    ),
                ));
            }
            s.bind = r.value.clone();
        }
        if let Some(r) = raw.get("database") {
            if r.value.trim().is_empty() {
                return Err(invalid(
                    "database",
                    r,
                    "must be a file path, e.g. \"stampd.db\"".into(),
                ));
            }
            let p = PathBuf::from(&r.value);
            // Paths from the file are relative to the file; from env or flags, to the working directory.
            s.database = if p.is_relative() && r.origin != "--db" && !r.origin.starts_with("env") {
                base_dir.join(p)
            } else {
                p
            };
        } else {
            s.database = base_dir.join("stampd.db");
        }
        if let Some(r) = raw.get("synchronous") {
            s.synchronous = match r.value.to_ascii_lowercase().as_str() {
                "normal" => Synchronous::Normal,
                "full" => Synchronous::Full,
                "extra" => Synchronous::Extra,
                _ => {
                    return Err(invalid(
                        "synchronous",
                        r,
                        format!(
                            "{:?} is not one of \"full\", \"normal\", \"extra\"",
                            r.value
                        ),
                    ))
                }
            };
        }
        if let Some(r) = raw.get("read_pool_size") {
            s.read_pool_size = parse_range(&r.value, 1, 64).ok_or_else(|| {
                invalid(
                    "read_pool_size",
                    r,
                    "must be a whole number from 1 to 64".into(),
                )
            })? as u32;
        }
        if let Some(r) = raw.get("busy_timeout_ms") {
            s.busy_timeout_ms = parse_range(&r.value, 0, 600_000).ok_or_else(|| {
                invalid(
                    "busy_timeout_ms",
                    r,
                    "must be a whole number of milliseconds from 0 to 600000".into(),
                )
            })? as u64;
        }
        if let Some(r) = raw.get("workers") {
            s.workers = parse_range(&r.value, 1, 64).ok_or_else(|| {
                invalid("workers", r, "must be a whole number from 1 to 64".into())
            })? as usize;
        }
        if let Some(r) = raw.get("rate_limit_per_minute") {
            s.rate_limit_per_minute = parse_range(&r.value, 0, 1_000_000).ok_or_else(|| {
                invalid(
                    "rate_limit_per_minute",
                    r,
                    "must be a whole number from 0 (no limit) to 1000000".into(),
                )
            })? as u32;
        }
        if let Some(r) = raw.get("public_url") {
            let v = r.value.trim().trim_end_matches('/');
            if v.is_empty() {
                s.public_url = None;
            } else if (v.starts_with("http://") || v.starts_with("https://"))
                && v.len() > "https://".len()
                && !v.contains(char::is_whitespace)
            {
                s.public_url = Some(v.to_string());
            } else {
                return Err(invalid(
                    "public_url",
                    r,
                    format!(
                        "{:?} is not an http(s) URL; use e.g. \"https://loyalty.example.com\" or \"\" for the bind address",
                        r.value
                    ),
                ));
            }
        }
        if let Some(r) = raw.get("default_country") {
            s.default_country = parse_country(&r.value).ok_or_else(|| {
                invalid(
                    "default_country",
                    r,
                    format!(
                        "{:?} is not a two-letter country code such as \"US\", \"GB\" or \"MX\"",
                        r.value
                    ),
                )
            })?;
        }
        if let Some(r) = raw.get("log_level") {
            s.log_level = r.value.parse().map_err(|_| {
                invalid(
                    "log_level",
                    r,
                    format!(
                        "{:?} is not one of off, error, warn, info, debug, trace",
                        r.value
                    ),
                )
            })?;
        }
        s.load_channels(&raw, &base_dir)?;
        s.backup_dir = match raw.get("backup_dir").filter(|r| !r.value.trim().is_empty()) {
            Some(r) => {
                let p = PathBuf::from(r.value.trim());
                if p.is_relative() && !r.origin.starts_with("env") {
                    base_dir.join(p)
                } else {
                    p
                }
            }
            None => s
                .database
                .parent()
                .map(|d| d.join("backups"))
                .unwrap_or_else(|| PathBuf::from("backups")),
        };
        if let Some(r) = raw.get("backup_interval_hours") {
            s.backup_interval_hours = parse_range(&r.value, 0, 24 * 365).ok_or_else(|| {
                invalid(
                    "backup_interval_hours",
                    r,
                    "must be a whole number of hours from 0 (off) to 8760".into(),
                )
            })? as u64;
        }
        if let Some(r) = raw.get("backup_keep") {
            s.backup_keep = parse_range(&r.value, 1, 10_000).ok_or_else(|| {
                invalid(
                    "backup_keep",
                    r,
                    "must be a whole number from 1 to 10000".into(),
                )
            })? as usize;
        }
        if let Some(r) = raw.get("signup_rate_limit_per_hour") {
            s.signup_rate_limit_per_hour = parse_range(&r.value, 0, 100_000).ok_or_else(|| {
                invalid(
                    "signup_rate_limit_per_hour",
                    r,
                    "must be a whole number from 0 (no limit) to 100000".into(),
                )
            })? as u32;
        }
        if let Some(r) = raw.get("cors_allowed_origins") {
            let mut origins = Vec::new();
            for o in r.value.split(',').map(str::trim).filter(|o| !o.is_empty()) {
                let o = o.trim_end_matches('/');
                let ok = o == "*"
                    || ((o.starts_with("http://") || o.starts_with("https://"))
                        && !o[o.find("://").unwrap_or(0) + 3..].contains('/'));
                if !ok {
                    return Err(invalid(
                        "cors_allowed_origins",
                        r,
                        format!("{o:?} is not an origin such as \"https://shop.example.com\" (scheme and host, no path), or \"*\""),
                    ));
                }
                origins.push(o.to_string());
            }
            s.cors_allowed_origins = origins;
        }
        Ok(s)
    }

    /// Wallet, mail and SMS settings: each group is off until its first key is given,
    /// and then every required key of the group must be there.
    fn load_channels(
        &mut self,
        raw: &BTreeMap<&str, Raw>,
        base_dir: &Path,
    ) -> Result<(), ConfigError> {
        let get = |key: &str| {
            raw.get(key)
                .map(|r| r.value.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let missing = |key: &str, group_key: &str| {
            let origin = raw
                .get(group_key)
                .map(|r| r.origin.clone())
                .unwrap_or_default();
            ConfigError::Invalid {
                key: key.to_string(),
                origin,
                message: format!("is required when `{group_key}` is set"),
            }
        };
        let file = |key: &str, group_key: &str| -> Result<PathBuf, ConfigError> {
            let v = get(key).ok_or_else(|| missing(key, group_key))?;
            let r = &raw[key];
            let p = PathBuf::from(&v);
            let p = if p.is_relative() && !r.origin.starts_with("env") {
                base_dir.join(p)
            } else {
                p
            };
            std::fs::metadata(&p).map_err(|e| ConfigError::Invalid {
                key: key.to_string(),
                origin: r.origin.clone(),
                message: format!("cannot read {}: {e}", p.display()),
            })?;
            Ok(p)
        };

        let apple_keys = [
            "apple_pass_type_id",
            "apple_team_id",
            "apple_certificate",
            "apple_private_key",
            "apple_wwdr_certificate",
        ];
        if let Some(first) = apple_keys.iter().find(|k| get(k).is_some()) {
            self.apple = Some(AppleSettings {
                pass_type_id: get("apple_pass_type_id")
                    .ok_or_else(|| missing("apple_pass_type_id", first))?,
                team_id: get("apple_team_id").ok_or_else(|| missing("apple_team_id", first))?,
                certificate: file("apple_certificate", first)?,
                private_key: file("apple_private_key", first)?,
                wwdr_certificate: file("apple_wwdr_certificate", first)?,
            });
        }
        let google_keys = ["google_issuer_id", "google_service_account_key"];
        if let Some(first) = google_keys.iter().find(|k| get(k).is_some()) {
            self.google = Some(GoogleSettings {
                issuer_id: get("google_issuer_id")
                    .ok_or_else(|| missing("google_issuer_id", first))?,
                service_account_key: file("google_service_account_key", first)?,
            });
        }
        if let Some(host) = get("smtp_host") {
            let tls = match get("smtp_tls")
                .as_deref()
                .map(str::to_ascii_lowercase)
                .as_deref()
            {
                None | Some("starttls") => SmtpTls::StartTls,
                Some("tls") => SmtpTls::Tls,
                Some("none") => SmtpTls::None,
                Some(other) => {
                    return Err(ConfigError::Invalid {
                        key: "smtp_tls".into(),
                        origin: raw["smtp_tls"].origin.clone(),
                        message: format!("{other:?} is not one of \"starttls\", \"tls\", \"none\""),
                    })
                }
            };
            let port = match raw.get("smtp_port") {
                Some(r) => parse_range(&r.value, 1, 65535).ok_or_else(|| ConfigError::Invalid {
                    key: "smtp_port".into(),
                    origin: r.origin.clone(),
                    message: "must be a port number from 1 to 65535".into(),
                })? as u16,
                None => match tls {
                    SmtpTls::StartTls => 587,
                    SmtpTls::Tls => 465,
                    SmtpTls::None => 25,
                },
            };
            let from = get("smtp_from").ok_or_else(|| missing("smtp_from", "smtp_host"))?;
            if crate::domain::Email::parse(
                from.rsplit(['<', ' '])
                    .next()
                    .unwrap_or("")
                    .trim_end_matches('>'),
            )
            .is_err()
            {
                return Err(ConfigError::Invalid {
                    key: "smtp_from".into(),
                    origin: raw["smtp_from"].origin.clone(),
                    message: format!("{from:?} is not an email address such as \"Ann's Coffee <cards@example.com>\""),
                });
            }
            self.smtp = Some(SmtpSettings {
                host,
                port,
                tls,
                username: get("smtp_username"),
                password: get("smtp_password"),
                from,
            });
        }
        if let Some(base_url) = get("sms_base_url") {
            if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
                return Err(ConfigError::Invalid {
                    key: "sms_base_url".into(),
                    origin: raw["sms_base_url"].origin.clone(),
                    message: format!("{base_url:?} is not an http(s) URL"),
                });
            }
            self.sms = Some(SmsSettings {
                base_url: base_url.trim_end_matches('/').to_string(),
                account_sid: get("sms_account_sid")
                    .ok_or_else(|| missing("sms_account_sid", "sms_base_url"))?,
                auth_token: get("sms_auth_token")
                    .ok_or_else(|| missing("sms_auth_token", "sms_base_url"))?,
                from: get("sms_from").ok_or_else(|| missing("sms_from", "sms_base_url"))?,
            });
        }
        if let Some(r) = raw.get("delivery_max_attempts") {
            self.delivery_max_attempts =
                parse_range(&r.value, 1, 100).ok_or_else(|| ConfigError::Invalid {
                    key: "delivery_max_attempts".into(),
                    origin: r.origin.clone(),
                    message: "must be a whole number from 1 to 100".into(),
                })? as u32;
        }
        if let Some(r) = raw.get("delivery_retry_base_secs") {
            self.delivery_retry_base_secs =
                parse_range(&r.value, 0, 86_400).ok_or_else(|| ConfigError::Invalid {
                    key: "delivery_retry_base_secs".into(),
                    origin: r.origin.clone(),
                    message: "must be a whole number of seconds from 0 to 86400".into(),
                })? as u64;
        }
        Ok(())
    }

    /// The base URL for public links, given the address the server actually bound.
    pub fn public_base(&self, bound: SocketAddr) -> String {
        match &self.public_url {
            Some(u) => u.clone(),
            None => format!("http://{bound}"),
        }
    }

    pub fn database_path(&self) -> &Path {
        &self.database
    }
}

fn parse_range(v: &str, min: i64, max: i64) -> Option<i64> {
    v.trim()
        .parse::<i64>()
        .ok()
        .filter(|n| (min..=max).contains(n))
}

pub fn parse_country(v: &str) -> Option<phonenumber::country::Id> {
    let v = v.trim();
    if v.len() != 2 {
        return None;
    }
    v.to_ascii_uppercase().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn file(text: &str) -> (tempfile_dir::Dir, PathBuf) {
        let dir = tempfile_dir::Dir::new();
        let p = dir.path().join("config.toml");
        std::fs::write(&p, text).unwrap();
        (dir, p)
    }

    mod tempfile_dir {
        pub struct Dir(std::path::PathBuf);
        impl Dir {
            pub fn new() -> Dir {
                let p = std::env::temp_dir().join(format!("stampd-cfg-{}", uuid::Uuid::new_v4()));
                std::fs::create_dir_all(&p).unwrap();
                Dir(p)
            }
            pub fn path(&self) -> &std::path::Path {
                &self.0
            }
        }
        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }

    #[test]
    fn precedence_is_defaults_file_env_flags() {
        let (_d, p) =
            file("bind = \"127.0.0.1:9000\"\nsynchronous = \"normal\"\nread_pool_size = 3\n");
        let o = Overrides {
            config: Some(p.clone()),
            ..Default::default()
        };
        let s = Settings::load_from(&o, &env(&[])).unwrap();
        assert_eq!(s.bind, "127.0.0.1:9000");
        assert_eq!(s.synchronous, Synchronous::Normal);
        assert_eq!(s.read_pool_size, 3);
        assert_eq!(s.busy_timeout_ms, 5000);
        assert_eq!(s.database, p.parent().unwrap().join("stampd.db"));

        let e = env(&[
            ("STAMPD_BIND", "127.0.0.1:9100"),
            ("STAMPD_READ_POOL_SIZE", "5"),
        ]);
        let s = Settings::load_from(&o, &e).unwrap();
        assert_eq!(s.bind, "127.0.0.1:9100");
        assert_eq!(s.read_pool_size, 5);

        let o2 = Overrides {
            bind: Some("127.0.0.1:9200".into()),
            database: Some("/tmp/x.db".into()),
            ..o
        };
        let s = Settings::load_from(&o2, &e).unwrap();
        assert_eq!(s.bind, "127.0.0.1:9200");
        assert_eq!(s.database, PathBuf::from("/tmp/x.db"));
    }

    #[test]
    fn bad_values_name_the_key() {
        let (_d, p) = file("read_pool_size = 0\n");
        let o = Overrides {
            config: Some(p),
            ..Default::default()
        };
        let err = Settings::load_from(&o, &env(&[])).unwrap_err().to_string();
        assert!(err.contains("read_pool_size"), "{err}");

        let err = Settings::load_from(
            &o,
            &env(&[
                ("STAMPD_READ_POOL_SIZE", "2"),
                ("STAMPD_SYNCHRONOUS", "sometimes"),
            ]),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("synchronous") && err.contains("STAMPD_SYNCHRONOUS"),
            "{err}"
        );

        let (_d2, p2) = file("bnid = \"127.0.0.1:1\"\n");
        let o = Overrides {
            config: Some(p2),
            ..Default::default()
        };
        let err = Settings::load_from(&o, &env(&[])).unwrap_err().to_string();
        assert!(err.contains("bnid"), "{err}");

        for (k, v) in [
            ("STAMPD_BIND", "localhost"),
            ("STAMPD_PUBLIC_URL", "ftp://x"),
            ("STAMPD_DEFAULT_COUNTRY", "Mars"),
            ("STAMPD_LOG_LEVEL", "loud"),
        ] {
            let err = Settings::load_from(&Overrides::default(), &env(&[(k, v)]))
                .unwrap_err()
                .to_string();
            let key = k.trim_start_matches("STAMPD_").to_ascii_lowercase();
            assert!(err.contains(&format!("`{key}`")), "{err}");
        }
    }

    #[test]
    fn public_url_defaults_to_bound_address() {
        let s = Settings::default();
        assert_eq!(
            s.public_base("127.0.0.1:4321".parse().unwrap()),
            "http://127.0.0.1:4321"
        );
        let s = Settings::load_from(
            &Overrides::default(),
            &env(&[("STAMPD_PUBLIC_URL", "https://cards.example.com/")]),
        )
        .unwrap();
        assert_eq!(
            s.public_base("127.0.0.1:1".parse().unwrap()),
            "https://cards.example.com"
        );
    }
}
