//! Where settings come from, and which source wins: built-in defaults < config file <
//! `STAMPD_*` environment < command-line flags. Each source is read into raw values
//! that remember where they came from, for error messages and for relative paths.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use super::check::Check;
use super::declare::Setting;
use super::{ConfigError, Overrides, SETTINGS};

/// Where a value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Default,
    File(PathBuf),
    /// The variable's name.
    Env(String),
    /// The flag, e.g. `--db`.
    Flag(&'static str),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Default => f.write_str("the built-in default"),
            Origin::File(path) => write!(f, "{}", path.display()),
            Origin::Env(var) => write!(f, "environment variable {var}"),
            Origin::Flag(flag) => f.write_str(flag),
        }
    }
}

/// A value as a source gave it: text (numbers and booleans of the config file become
/// their text), or a list (a TOML array).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RawValue {
    Text(String),
    List(Vec<String>),
}

/// One raw value on its way through a check.
pub struct Raw<'a> {
    pub value: &'a RawValue,
    pub origin: &'a Origin,
    base_dir: &'a Path,
}

impl Raw<'_> {
    /// The value of a setting that takes one value; a list is refused.
    pub fn text(&self) -> Result<&str, String> {
        match self.value {
            RawValue::Text(t) => Ok(t.trim()),
            RawValue::List(_) => Err("must be a string or a number, not array".into()),
        }
    }

    /// A path as given: paths written in the config file (and the defaults it shows)
    /// are relative to the file's folder; those from the environment or a flag, to the
    /// working directory.
    pub fn path(&self, given: &str) -> PathBuf {
        let p = PathBuf::from(given);
        match self.origin {
            Origin::File(_) | Origin::Default if p.is_relative() => self.base_dir.join(p),
            _ => p,
        }
    }
}

/// A checked value of a group's key and where it came from (a missing partner key is
/// reported against it).
#[derive(Debug, Clone)]
pub struct Given<T> {
    pub value: T,
    pub origin: Origin,
}

/// Every source merged: for each key, the value of the highest source that gives it.
pub struct Layers {
    given: BTreeMap<&'static str, (RawValue, Origin)>,
    /// The config file's folder (relative paths in the file start there).
    base_dir: PathBuf,
}

impl Layers {
    /// No sources: every setting at its default.
    pub fn defaults_only() -> Layers {
        Layers {
            given: BTreeMap::new(),
            base_dir: PathBuf::new(),
        }
    }

    /// Reads the config file (the one named by `--config`, else by `STAMPD_CONFIG`,
    /// else `config.toml` in the working directory when it exists), then the
    /// `STAMPD_*` variables of `env`, then the flags.
    pub fn gather(
        overrides: &Overrides,
        env: &BTreeMap<String, String>,
    ) -> Result<Layers, ConfigError> {
        let mut layers = Layers {
            given: BTreeMap::new(),
            base_dir: PathBuf::from("."),
        };
        let config_path = match (&overrides.config, env.get("STAMPD_CONFIG")) {
            (Some(p), _) => Some(p.clone()),
            (None, Some(p)) => Some(PathBuf::from(p)),
            (None, None) => Some(PathBuf::from("config.toml")).filter(|p| p.exists()),
        };
        if let Some(path) = config_path {
            layers.read_file(&path)?;
        }
        for setting in SETTINGS {
            let var = setting.env_var();
            if let Some(v) = env.get(&var) {
                let value = RawValue::Text(v.clone());
                layers.given.insert(setting.key, (value, Origin::Env(var)));
            }
        }
        if let Some(db) = &overrides.database {
            let value = RawValue::Text(db.display().to_string());
            layers
                .given
                .insert("database", (value, Origin::Flag("--db")));
        }
        let flags = [
            ("bind", "--bind", overrides.bind.clone().map(RawValue::Text)),
            (
                "https_bind",
                "--https-bind",
                overrides.https_bind.clone().map(RawValue::Text),
            ),
            (
                "acme_email",
                "--acme-email",
                overrides.acme_email.clone().map(RawValue::Text),
            ),
            (
                "tls_domains",
                "stampd serve DOMAIN",
                Some(RawValue::List(overrides.tls_domains.clone()))
                    .filter(|_| !overrides.tls_domains.is_empty()),
            ),
        ];
        for (key, flag, value) in flags {
            if let Some(value) = value {
                layers.given.insert(key, (value, Origin::Flag(flag)));
            }
        }
        Ok(layers)
    }

    fn read_file(&mut self, path: &Path) -> Result<(), ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let table: toml::Table = toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.message().to_string()
                + &e.span()
                    .map(|s| format!(" (at byte {} of the file)", s.start))
                    .unwrap_or_default(),
        })?;
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            self.base_dir = parent.to_path_buf();
        }
        let origin = Origin::File(path.to_path_buf());
        for (key, value) in table {
            let Some(setting) = Setting::find(&key) else {
                return Err(ConfigError::Invalid {
                    key,
                    origin: origin.to_string(),
                    message: "is not a setting stampd knows (see config.toml for the list)".into(),
                });
            };
            let value = from_toml(value).map_err(|message| ConfigError::Invalid {
                key: key.clone(),
                origin: origin.to_string(),
                message,
            })?;
            self.given.insert(setting.key, (value, origin.clone()));
        }
        Ok(())
    }

    /// The value of `key` through `check`: from the highest source that gives it, else
    /// `default` (written as in config.toml).
    pub fn read<C: Check>(
        &self,
        key: &'static str,
        default: &'static str,
        check: &C,
    ) -> Result<C::Value, ConfigError> {
        match self.given.get(key) {
            Some((value, origin)) => self.check(key, value, origin, check),
            None => {
                let value = default_value(key, default);
                self.check(key, &value, &Origin::Default, check)
            }
        }
    }

    /// The value of a group's key through `check`; `None` when no source gives it or
    /// it is blank.
    pub fn read_given<C: Check>(
        &self,
        key: &'static str,
        check: &C,
    ) -> Result<Option<Given<C::Value>>, ConfigError> {
        match self.given.get(key) {
            Some((RawValue::Text(t), _)) if t.trim().is_empty() => Ok(None),
            None => Ok(None),
            Some((value, origin)) => Ok(Some(Given {
                value: self.check(key, value, origin, check)?,
                origin: origin.clone(),
            })),
        }
    }

    fn check<C: Check>(
        &self,
        key: &'static str,
        value: &RawValue,
        origin: &Origin,
        check: &C,
    ) -> Result<C::Value, ConfigError> {
        let raw = Raw {
            value,
            origin,
            base_dir: &self.base_dir,
        };
        check.check(&raw).map_err(|mut message| {
            if Setting::find(key).is_some_and(|s| s.secret) {
                message = mask(message, value);
            }
            ConfigError::Invalid {
                key: key.to_string(),
                origin: origin.to_string(),
                message,
            }
        })
    }
}

/// A secret's value never shows, even inside an error message.
pub(super) fn mask(message: String, value: &RawValue) -> String {
    let parts = match value {
        RawValue::Text(t) => vec![t.trim()],
        RawValue::List(items) => items.iter().map(|i| i.trim()).collect(),
    };
    parts
        .into_iter()
        .filter(|p| !p.is_empty())
        .fold(message, |m, p| m.replace(p, "********"))
}

/// A declared default (a TOML value) as a raw value.
fn default_value(key: &str, default: &str) -> RawValue {
    toml::from_str::<toml::Table>(&format!("v = {default}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .and_then(|v| from_toml(v).ok())
        .unwrap_or_else(|| panic!("the default of `{key}` is not a TOML value: {default}"))
}

fn from_toml(value: toml::Value) -> Result<RawValue, String> {
    fn scalar(value: toml::Value) -> Result<String, toml::Value> {
        match value {
            toml::Value::String(s) => Ok(s),
            toml::Value::Integer(i) => Ok(i.to_string()),
            toml::Value::Boolean(b) => Ok(b.to_string()),
            toml::Value::Float(f) => Ok(f.to_string()),
            other => Err(other),
        }
    }
    match value {
        toml::Value::Array(items) => items
            .into_iter()
            .map(|item| {
                scalar(item).map_err(|other| {
                    format!(
                        "must be a list of strings, but it holds a {}",
                        other.type_str()
                    )
                })
            })
            .collect::<Result<_, _>>()
            .map(RawValue::List),
        other => scalar(other)
            .map(RawValue::Text)
            .map_err(|other| format!("must be a string or a number, not {}", other.type_str())),
    }
}
