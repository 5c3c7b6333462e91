//! What each setting accepts: the checks named in the declarations (each turns a raw
//! value into its typed value or says what to put there instead), and the settings
//! that are put together after every key is checked — the groups (Apple, Google,
//! SMTP, SMS) and the backup folder's default beside the database.

use std::marker::PhantomData;
use std::net::SocketAddr;
use std::path::PathBuf;

use super::load::{Origin, Raw, RawValue};
use super::{
    AcmeSettings, AppleSettings, ConfigError, GoogleSettings, GroupKeys, Settings, SmsSettings,
    SmtpSettings, SmtpTls, TlsSettings,
};
use crate::edge::peer::AddressRange;

/// Turns a raw value into a setting's value; the error says what is wrong and what to
/// put there instead (the key and where the value came from are added around it).
pub trait Check {
    type Value;
    fn check(&self, raw: &Raw) -> Result<Self::Value, String>;
}

/// A whole number in a range: "must be a whole number of hours from 0 (off) to 8760".
pub struct Whole<T> {
    min: i64,
    max: i64,
    noun: &'static str,
    unit: Option<&'static str>,
    zero: Option<&'static str>,
    _value: PhantomData<T>,
}

impl<T> Whole<T> {
    pub fn new(min: i64, max: i64) -> Self {
        Whole {
            min,
            max,
            noun: "whole number",
            unit: None,
            zero: None,
            _value: PhantomData,
        }
    }

    /// A TCP port.
    pub fn port() -> Self {
        Whole {
            noun: "port number",
            ..Whole::new(1, 65_535)
        }
    }

    /// What the number counts: "seconds", "hours"...
    pub fn of(self, unit: &'static str) -> Self {
        Whole {
            unit: Some(unit),
            ..self
        }
    }

    /// What 0 means: "off", "no limit".
    pub fn zero(self, meaning: &'static str) -> Self {
        Whole {
            zero: Some(meaning),
            ..self
        }
    }
}

impl<T: TryFrom<i64>> Check for Whole<T> {
    type Value = T;
    fn check(&self, raw: &Raw) -> Result<T, String> {
        raw.text()?
            .parse::<i64>()
            .ok()
            .filter(|n| (self.min..=self.max).contains(n))
            .and_then(|n| T::try_from(n).ok())
            .ok_or_else(|| {
                let unit = self.unit.map(|u| format!(" of {u}")).unwrap_or_default();
                let zero = self.zero.map(|z| format!(" ({z})")).unwrap_or_default();
                format!(
                    "must be a {}{unit} from {}{zero} to {}",
                    self.noun, self.min, self.max
                )
            })
    }
}

/// One of a few words, in any case: `OneOf(&[("full", Synchronous::Full), ...])`.
pub struct OneOf<T: 'static>(pub &'static [(&'static str, T)]);

impl<T: Copy> Check for OneOf<T> {
    type Value = T;
    fn check(&self, raw: &Raw) -> Result<T, String> {
        let v = raw.text()?;
        self.0
            .iter()
            .find(|(word, _)| word.eq_ignore_ascii_case(v))
            .map(|(_, value)| *value)
            .ok_or_else(|| {
                let words: Vec<String> = self.0.iter().map(|(w, _)| format!("{w:?}")).collect();
                format!("{v:?} is not one of {}", words.join(", "))
            })
    }
}

/// `true` or `false` (also `1`/`0`, `yes`/`no`, `on`/`off`, in any case).
pub struct Flag;

impl Check for Flag {
    type Value = bool;
    fn check(&self, raw: &Raw) -> Result<bool, String> {
        let v = raw.text()?;
        match v.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Ok(true),
            "false" | "0" | "no" | "off" => Ok(false),
            _ => Err(format!("{v:?} is not true or false")),
        }
    }
}

/// A number in a range, decimals allowed: "must be a number of seconds from 0.0001 to 86400".
pub struct Decimal {
    min: f64,
    max: f64,
    unit: &'static str,
}

impl Decimal {
    pub const fn new(min: f64, max: f64) -> Self {
        Decimal { min, max, unit: "" }
    }

    /// What the number counts: "seconds".
    pub const fn of(self, unit: &'static str) -> Self {
        Decimal { unit, ..self }
    }
}

impl Check for Decimal {
    type Value = f64;
    fn check(&self, raw: &Raw) -> Result<f64, String> {
        raw.text()?
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite() && (self.min..=self.max).contains(n))
            .ok_or_else(|| {
                format!(
                    "must be a number of {} from {} to {}",
                    self.unit, self.min, self.max
                )
            })
    }
}

/// An address and port to connect to; blank: none.
pub struct OptionalAddress;

impl Check for OptionalAddress {
    type Value = Option<SocketAddr>;
    fn check(&self, raw: &Raw) -> Result<Option<SocketAddr>, String> {
        let v = raw.text()?;
        if v.is_empty() {
            return Ok(None);
        }
        v.parse::<SocketAddr>().map(Some).map_err(|_| {
            format!("{v:?} is not an address and port; use e.g. \"127.0.0.1:53\", or \"\" for the system's")
        })
    }
}

/// A PEM file of CA certificates (at least one, each readable); blank: none.
pub struct CaFile;

impl Check for CaFile {
    type Value = Option<PathBuf>;
    fn check(&self, raw: &Raw) -> Result<Option<PathBuf>, String> {
        let v = raw.text()?;
        if v.is_empty() {
            return Ok(None);
        }
        let p = raw.path(v);
        crate::outbox::tls::read_ca_file(&p)?;
        Ok(Some(p))
    }
}

/// Any text (trimmed).
pub struct Text;

impl Check for Text {
    type Value = String;
    fn check(&self, raw: &Raw) -> Result<String, String> {
        raw.text().map(str::to_string)
    }
}

/// An address and port to listen on; blank: the default `finish` picks.
pub struct Address;

impl Check for Address {
    type Value = String;
    fn check(&self, raw: &Raw) -> Result<String, String> {
        let v = raw.text()?;
        match v.parse::<SocketAddr>() {
            _ if v.is_empty() => Ok(String::new()),
            Ok(_) => Ok(v.to_string()),
            Err(_) => Err(format!(
                "{v:?} is not an address and port; use e.g. \"127.0.0.1:8080\""
            )),
        }
    }
}

/// An optional address and port to listen on; blank: none.
pub struct ListenAddress;

impl Check for ListenAddress {
    type Value = Option<String>;
    fn check(&self, raw: &Raw) -> Result<Option<String>, String> {
        match raw.text()? {
            "" => Ok(None),
            _ => Address.check(raw).map(Some),
        }
    }
}

/// An optional secret sent as `Authorization: Bearer <secret>`; blank: none. Long
/// enough not to be guessed, and without characters a header cannot carry.
pub struct BearerSecret;

impl Check for BearerSecret {
    type Value = Option<String>;
    fn check(&self, raw: &Raw) -> Result<Option<String>, String> {
        let v = raw.text()?;
        if v.is_empty() {
            Ok(None)
        } else if v.len() < 24 || v.len() > 256 || !v.bytes().all(|b| b.is_ascii_graphic()) {
            // The value itself is a secret: never repeated in the message.
            Err("must be 24 to 256 visible ASCII characters (no spaces), e.g. the output of `openssl rand -hex 24`".into())
        } else {
            Ok(Some(v.to_string()))
        }
    }
}

/// A file or folder path; blank is refused when `example` is given (it shows what to
/// write), else it stands for "the default place" (an empty path).
pub struct FilePath {
    pub example: Option<&'static str>,
}

impl Check for FilePath {
    type Value = PathBuf;
    fn check(&self, raw: &Raw) -> Result<PathBuf, String> {
        let v = raw.text()?;
        match (v.is_empty(), self.example) {
            (true, Some(example)) => Err(format!("must be a file path, e.g. {example:?}")),
            (true, None) => Ok(PathBuf::new()),
            (false, _) => Ok(raw.path(v)),
        }
    }
}

/// A file that must be there and readable when stampd starts (certificates, keys).
pub struct ReadableFile;

impl Check for ReadableFile {
    type Value = PathBuf;
    fn check(&self, raw: &Raw) -> Result<PathBuf, String> {
        let p = raw.path(raw.text()?);
        std::fs::metadata(&p).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
        Ok(p)
    }
}

/// The public base URL of links; blank: none (the bound address is used).
pub struct PublicUrl;

impl Check for PublicUrl {
    type Value = Option<String>;
    fn check(&self, raw: &Raw) -> Result<Option<String>, String> {
        let given = raw.text()?;
        let v = given.trim_end_matches('/');
        if v.is_empty() {
            Ok(None)
        } else if (v.starts_with("http://") || v.starts_with("https://"))
            && v.len() > "https://".len()
            && !v.contains(char::is_whitespace)
        {
            Ok(Some(v.to_string()))
        } else {
            Err(format!(
                "{given:?} is not an http(s) URL; use e.g. \"https://loyalty.example.com\" or \"\" for the bind address"
            ))
        }
    }
}

/// An http(s) URL, kept without a trailing slash.
pub struct HttpUrl;

impl Check for HttpUrl {
    type Value = String;
    fn check(&self, raw: &Raw) -> Result<String, String> {
        let v = raw.text()?;
        if v.starts_with("http://") || v.starts_with("https://") {
            Ok(v.trim_end_matches('/').to_string())
        } else {
            Err(format!("{v:?} is not an http(s) URL"))
        }
    }
}

/// An https URL, kept without a trailing slash; blank: none.
pub struct HttpsUrl;

impl Check for HttpsUrl {
    type Value = Option<String>;
    fn check(&self, raw: &Raw) -> Result<Option<String>, String> {
        let v = raw.text()?.trim_end_matches('/');
        if v.is_empty() {
            Ok(None)
        } else if v.starts_with("https://")
            && v.len() > "https://".len()
            && !v.contains(char::is_whitespace)
        {
            Ok(Some(v.to_string()))
        } else {
            Err(format!(
                "{v:?} is not an https URL; use e.g. \"https://localhost:8443\", or \"\" for Apple's"
            ))
        }
    }
}

/// A two-letter country code.
pub struct Country;

impl Check for Country {
    type Value = phonenumber::country::Id;
    fn check(&self, raw: &Raw) -> Result<phonenumber::country::Id, String> {
        let v = raw.text()?;
        super::parse_country(v).ok_or_else(|| {
            format!("{v:?} is not a two-letter country code such as \"US\", \"GB\" or \"MX\"")
        })
    }
}

/// A log level.
pub struct LogLevel;

impl Check for LogLevel {
    type Value = log::LevelFilter;
    fn check(&self, raw: &Raw) -> Result<log::LevelFilter, String> {
        let v = raw.text()?;
        v.parse()
            .map_err(|_| format!("{v:?} is not one of off, error, warn, info, debug, trace"))
    }
}

/// A sender address for mail: `cards@example.com` or `Ann's Coffee <cards@example.com>`.
pub struct Mailbox;

impl Check for Mailbox {
    type Value = String;
    fn check(&self, raw: &Raw) -> Result<String, String> {
        let from = raw.text()?;
        let address = from
            .rsplit(['<', ' '])
            .next()
            .unwrap_or("")
            .trim_end_matches('>');
        match crate::domain::Email::parse(address) {
            Ok(_) => Ok(from.to_string()),
            Err(_) => Err(format!(
                "{from:?} is not an email address such as \"Ann's Coffee <cards@example.com>\""
            )),
        }
    }
}

/// The items of a list setting: a TOML array, or one string with the items separated
/// by commas (the way an environment variable gives a list); blank items are dropped.
fn items<'a>(raw: &'a Raw) -> Vec<&'a str> {
    let given: Vec<&str> = match raw.value {
        RawValue::Text(t) => t.split(',').collect(),
        RawValue::List(items) => items.iter().map(String::as_str).collect(),
    };
    given
        .into_iter()
        .map(str::trim)
        .filter(|i| !i.is_empty())
        .collect()
}

/// Domain names a certificate can be had for by stampd's own challenges (no
/// wildcards, no addresses), kept in lower case.
pub struct Domains;

impl Check for Domains {
    type Value = Vec<String>;
    fn check(&self, raw: &Raw) -> Result<Vec<String>, String> {
        let mut domains: Vec<String> = Vec::new();
        for d in items(raw) {
            let name = d.trim_end_matches('.').to_ascii_lowercase();
            if name.starts_with("*.") {
                return Err(format!(
                    "{d:?}: wildcard names need a DNS challenge, which stampd does not answer; list each name"
                ));
            }
            let label_ok = |l: &str| {
                (1..=63).contains(&l.len())
                    && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                    && !l.starts_with('-')
                    && !l.ends_with('-')
            };
            let labels: Vec<&str> = name.split('.').collect();
            let is_name = name.len() <= 253
                && labels.len() >= 2
                && labels.iter().all(|l| label_ok(l))
                && name.parse::<std::net::IpAddr>().is_err()
                && !labels[labels.len() - 1].bytes().all(|b| b.is_ascii_digit());
            if !is_name {
                return Err(format!(
                    "{d:?} is not a domain name such as \"shop.example.com\""
                ));
            }
            if !domains.contains(&name) {
                domains.push(name);
            }
        }
        Ok(domains)
    }
}

/// Addresses or CIDR blocks of reverse proxies.
pub struct Proxies;

impl Check for Proxies {
    type Value = Vec<AddressRange>;
    fn check(&self, raw: &Raw) -> Result<Vec<AddressRange>, String> {
        items(raw)
            .into_iter()
            .map(|i| {
                AddressRange::parse(i).map_err(|e| {
                    format!("{e}; list addresses or blocks such as \"127.0.0.1\" or \"10.0.0.0/8\"")
                })
            })
            .collect()
    }
}

/// One email address, without a name.
pub struct EmailAddress;

impl Check for EmailAddress {
    type Value = String;
    fn check(&self, raw: &Raw) -> Result<String, String> {
        let v = raw.text()?;
        crate::domain::Email::parse(v)
            .map(|e| e.as_str().to_string())
            .map_err(|_| format!("{v:?} is not an email address such as \"owner@example.com\""))
    }
}

/// Web origins (scheme and host, no path) or `*`: a TOML array, or one string with
/// the origins separated by commas.
pub struct Origins;

impl Check for Origins {
    type Value = Vec<String>;
    fn check(&self, raw: &Raw) -> Result<Vec<String>, String> {
        let mut origins = Vec::new();
        for o in items(raw) {
            let o = o.trim_end_matches('/');
            let ok = o == "*"
                || ((o.starts_with("http://") || o.starts_with("https://"))
                    && !o[o.find("://").unwrap_or(0) + 3..].contains('/'));
            if !ok {
                return Err(format!("{o:?} is not an origin such as \"https://shop.example.com\" (scheme and host, no path), or \"*\""));
            }
            origins.push(o.to_string());
        }
        Ok(origins)
    }
}

/// What is decided once every key is checked: the backup folder's default (beside the
/// database), and each group — off until one of its keys is given, and then every
/// required key of the group must be there.
pub fn finish(s: &mut Settings, g: GroupKeys) -> Result<(), ConfigError> {
    if s.backup_dir.as_os_str().is_empty() {
        s.backup_dir = s
            .database
            .parent()
            .map(|d| d.join("backups"))
            .unwrap_or_else(|| PathBuf::from("backups"));
    }

    // `need!(g.key, on)`: the key's value, or an error naming it and the key that
    // turned its group on.
    macro_rules! need {
        ($g:ident . $key:ident, $on:expr) => {
            match $g.$key {
                Some(given) => given.value,
                None => return Err(missing(stringify!($key), $on)),
            }
        };
    }
    // `first_given!(g, key, ...)`: the first of these keys that is given (it turns the
    // group on), and where it came from.
    macro_rules! first_given {
        ($g:ident, $($key:ident),+) => {
            [$((stringify!($key), $g.$key.as_ref().map(|k| &k.origin))),+]
                .into_iter()
                .find_map(|(key, origin): (&str, Option<&Origin>)| {
                    origin.map(|o| (key, o.to_string()))
                })
        };
    }

    finish_tls(s, &g)?;
    let apple = first_given!(
        g,
        apple_pass_type_id,
        apple_team_id,
        apple_certificate,
        apple_private_key,
        apple_wwdr_certificate
    );
    if let Some(on) = apple {
        s.apple = Some(AppleSettings {
            pass_type_id: need!(g.apple_pass_type_id, &on),
            team_id: need!(g.apple_team_id, &on),
            certificate: need!(g.apple_certificate, &on),
            private_key: need!(g.apple_private_key, &on),
            wwdr_certificate: need!(g.apple_wwdr_certificate, &on),
        });
    }
    let google = first_given!(g, google_issuer_id, google_service_account_key);
    if let Some(on) = google {
        s.google = Some(GoogleSettings {
            issuer_id: need!(g.google_issuer_id, &on),
            service_account_key: need!(g.google_service_account_key, &on),
        });
    }
    if let Some(host) = g.smtp_host {
        let on = ("smtp_host", host.origin.to_string());
        let tls = g.smtp_tls.map_or(SmtpTls::StartTls, |t| t.value);
        let port = g.smtp_port.map_or(
            match tls {
                SmtpTls::StartTls => 587,
                SmtpTls::Tls => 465,
                SmtpTls::None => 25,
            },
            |p| p.value,
        );
        s.smtp = Some(SmtpSettings {
            host: host.value,
            port,
            tls,
            username: g.smtp_username.map(|u| u.value),
            password: g.smtp_password.map(|p| p.value),
            from: need!(g.smtp_from, &on),
        });
    }
    if let Some(base_url) = g.sms_base_url {
        let on = ("sms_base_url", base_url.origin.to_string());
        s.sms = Some(SmsSettings {
            base_url: base_url.value,
            account_sid: need!(g.sms_account_sid, &on),
            auth_token: need!(g.sms_auth_token, &on),
            from: need!(g.sms_from, &on),
        });
    }
    Ok(())
}

/// HTTPS: ACME (`tls_domains` and the `acme_*` keys that go with it) or the shop's
/// own files (`tls_certificate` with `tls_private_key`), not both; then the listening
/// addresses' defaults, and `public_url`'s: `https://<first domain>`.
fn finish_tls(s: &mut Settings, g: &GroupKeys) -> Result<(), ConfigError> {
    let domains = g.tls_domains.as_ref().filter(|d| !d.value.is_empty());
    let acme_on = match (domains, &g.acme_email, &g.acme_ca_certificate) {
        (Some(d), _, _) => Some(("tls_domains", d.origin.to_string())),
        (None, Some(e), _) => Some(("acme_email", e.origin.to_string())),
        (None, None, Some(c)) => Some(("acme_ca_certificate", c.origin.to_string())),
        (None, None, None) => None,
    };
    let files_on = first_given_of(&[
        (
            "tls_certificate",
            g.tls_certificate.as_ref().map(|k| &k.origin),
        ),
        (
            "tls_private_key",
            g.tls_private_key.as_ref().map(|k| &k.origin),
        ),
    ]);
    s.tls = match (acme_on, files_on) {
        (Some(_), Some((key, origin))) => {
            return Err(ConfigError::Invalid {
                key: key.into(),
                origin,
                message: "cannot be used with `tls_domains`: HTTPS takes either certificates \
                          obtained by ACME or your own, not both"
                    .into(),
            })
        }
        (Some(on), None) => {
            let Some(domains) = domains else {
                return Err(missing("tls_domains", &on));
            };
            Some(TlsSettings::Acme(AcmeSettings {
                domains: domains.value.clone(),
                email: g.acme_email.as_ref().map(|e| e.value.clone()),
                directory: s.acme_directory.clone(),
                ca_certificate: g.acme_ca_certificate.as_ref().map(|c| c.value.clone()),
                challenge: s.acme_challenge,
            }))
        }
        (None, Some(on)) => {
            let need = |k: &Option<super::load::Given<PathBuf>>, key| {
                k.as_ref()
                    .map(|k| k.value.clone())
                    .ok_or_else(|| missing(key, &(on.0, on.1.clone())))
            };
            Some(TlsSettings::Files {
                certificate: need(&g.tls_certificate, "tls_certificate")?,
                private_key: need(&g.tls_private_key, "tls_private_key")?,
            })
        }
        (None, None) => None,
    };
    if s.bind.is_empty() {
        s.bind = match s.tls {
            Some(_) => "0.0.0.0:80",
            None => "127.0.0.1:8080",
        }
        .into();
    }
    if s.https_bind.is_empty() {
        s.https_bind = "0.0.0.0:443".into();
    }
    if let (None, Some(TlsSettings::Acme(acme))) = (&s.public_url, &s.tls) {
        let port = s.https_bind.parse::<SocketAddr>().map_or(443, |a| a.port());
        let port = if port == 443 {
            String::new()
        } else {
            format!(":{port}")
        };
        s.public_url = Some(format!("https://{}{port}", acme.domains[0]));
    }
    Ok(())
}

/// The first of these keys that is given, and where it came from.
fn first_given_of(keys: &[(&'static str, Option<&Origin>)]) -> Option<(&'static str, String)> {
    keys.iter()
        .find_map(|(key, origin)| origin.map(|o| (*key, o.to_string())))
}

fn missing(key: &str, (on, origin): &(&str, String)) -> ConfigError {
    ConfigError::Invalid {
        key: key.to_string(),
        origin: origin.clone(),
        message: format!("is required when `{on}` is set"),
    }
}
