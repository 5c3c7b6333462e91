//! The `settings!` macro: from one declaration per setting it makes the `Settings`
//! struct, the list of every key (`SETTINGS`, which also gives each key's environment
//! variable and default), and the code that reads each key from the merged sources
//! through its check.

/// One setting as declared in `config/mod.rs`.
#[derive(Debug, Clone, Copy)]
pub struct Setting {
    /// The name in `config.toml`.
    pub key: &'static str,
    /// The default, written as in `config.toml` (a TOML value); `None` for the keys of
    /// a group (Apple, Google, SMTP, SMS), which is off until its keys are given.
    pub default: Option<&'static str>,
    /// The setting's one-line description.
    pub doc: &'static str,
    /// A secret's value is never printed or put in an error message.
    pub secret: bool,
}

impl Setting {
    /// `STAMPD_` and the key in capitals: `bind` → `STAMPD_BIND`.
    pub fn env_var(&self) -> String {
        format!("STAMPD_{}", self.key.to_ascii_uppercase())
    }

    /// The declaration of `key`, if stampd has such a setting.
    pub fn find(key: &str) -> Option<&'static Setting> {
        super::SETTINGS.iter().find(|s| s.key == key)
    }
}

/// Declares every setting once. Each entry is
///
/// ```text
/// /// doc
/// key: Type = default, check [, secret];
/// ```
///
/// where `default` is the value as `config.toml` writes it and `check` is a
/// `check::Check` that turns a raw value into `Type` (or says what is
/// wrong with it). Entries under `grouped` have no default: they are read into
/// `GroupKeys` and put together into the `assembled` fields of `Settings` by
/// `check::finish`.
macro_rules! settings {
    (@secret secret) => { true };
    (@secret) => { false };
    (
        $(
            $(#[doc = $doc:literal])+
            $key:ident: $ty:ty = $default:literal, $check:expr $(, $secret:ident)?;
        )+
        grouped {
            $(
                $(#[doc = $gdoc:literal])+
                $gkey:ident: $gty:ty, $gcheck:expr $(, $gsecret:ident)?;
            )+
        }
        assembled {
            $(
                $(#[doc = $adoc:literal])+
                $afield:ident: $aty:ty,
            )+
        }
    ) => {
        /// The merged, validated settings stampd runs with.
        #[derive(Clone)]
        pub struct Settings {
            $( $(#[doc = $doc])+ pub $key: $ty, )+
            $( $(#[doc = $adoc])+ pub $afield: $aty, )+
        }

        // Secrets are masked (the groups' own Debug masks theirs).
        impl std::fmt::Debug for Settings {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                let mut d = f.debug_struct("Settings");
                $(
                    if settings!(@secret $($secret)?) {
                        d.field(stringify!($key), &"********");
                    } else {
                        d.field(stringify!($key), &self.$key);
                    }
                )+
                $( d.field(stringify!($afield), &self.$afield); )+
                d.finish()
            }
        }

        /// The keys of the groups as given (each `None` when absent or blank), before
        /// `check::finish` puts each group together.
        #[derive(Default)]
        pub(crate) struct GroupKeys {
            $( pub $gkey: Option<$crate::config::load::Given<$gty>>, )+
        }

        /// Every setting stampd knows: the plain ones, then the keys of the groups.
        pub const SETTINGS: &[$crate::config::declare::Setting] = &[
            $(
                $crate::config::declare::Setting {
                    key: stringify!($key),
                    default: Some(stringify!($default)),
                    doc: concat!($($doc),+),
                    secret: settings!(@secret $($secret)?),
                },
            )+
            $(
                $crate::config::declare::Setting {
                    key: stringify!($gkey),
                    default: None,
                    doc: concat!($($gdoc),+),
                    secret: settings!(@secret $($gsecret)?),
                },
            )+
        ];

        impl Settings {
            /// Each setting from the highest source that gives it, else its default,
            /// through its check; the groups are put together after.
            fn from_layers(
                layers: &$crate::config::load::Layers,
            ) -> Result<Settings, $crate::config::ConfigError> {
                let mut settings = Settings {
                    $( $key: layers.read(stringify!($key), stringify!($default), &$check)?, )+
                    $( $afield: Default::default(), )+
                };
                let groups = GroupKeys {
                    $( $gkey: layers.read_given(stringify!($gkey), &$gcheck)?, )+
                };
                $crate::config::check::finish(&mut settings, groups)?;
                Ok(settings)
            }
        }
    };
}
