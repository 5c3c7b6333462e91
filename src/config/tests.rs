//! The loader's behaviour: precedence, errors naming the key, paths, groups, lists,
//! secrets, and `config.toml` documenting exactly the declared settings.

use super::*;

mod wallet;

fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The settings of only these environment variables.
fn env_settings(pairs: &[(&str, &str)]) -> Settings {
    Settings::load_from(&Overrides::default(), &env(pairs)).unwrap()
}

/// The error of loading with only these environment variables set.
fn env_error(pairs: &[(&str, &str)]) -> String {
    Settings::load_from(&Overrides::default(), &env(pairs))
        .unwrap_err()
        .to_string()
}

/// Overrides that name only a config file.
fn config_file(path: PathBuf) -> Overrides {
    Overrides {
        config: Some(path),
        ..Default::default()
    }
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
    let (_d, p) = file("bind = \"127.0.0.1:9000\"\nsynchronous = \"normal\"\nread_pool_size = 3\n");
    let o = config_file(p.clone());
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
    let o = config_file(p);
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
    let o = config_file(p2);
    let err = Settings::load_from(&o, &env(&[])).unwrap_err().to_string();
    assert!(err.contains("bnid"), "{err}");

    for (k, v) in [
        ("STAMPD_BIND", "localhost"),
        ("STAMPD_PUBLIC_URL", "ftp://x"),
        ("STAMPD_DEFAULT_COUNTRY", "Mars"),
        ("STAMPD_LOG_LEVEL", "loud"),
    ] {
        let err = env_error(&[(k, v)]);
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
    let s = env_settings(&[("STAMPD_PUBLIC_URL", "https://cards.example.com/")]);
    assert_eq!(
        s.public_base("127.0.0.1:1".parse().unwrap()),
        "https://cards.example.com"
    );
}

/// The `key = value` lines of config.toml, commented out or not: (key, value, commented).
fn documented() -> Vec<(String, String, bool)> {
    let text = include_str!("../../config.toml");
    let mut out = Vec::new();
    for line in text.lines() {
        let commented = line.trim_start().starts_with('#');
        let line = line.trim_start().trim_start_matches('#').trim_start();
        let Some((key, value)) = line.split_once(" = ") else {
            continue;
        };
        if !key.is_empty()
            && key
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            // A trailing comment after the value is not part of it.
            let value = match value.find("  #") {
                Some(at) => value[..at].trim(),
                None => value.trim(),
            };
            out.push((key.to_string(), value.to_string(), commented));
        }
    }
    out
}

#[test]
fn config_toml_documents_exactly_the_declared_settings() {
    let lines = documented();
    let named: Vec<&str> = lines.iter().map(|(k, _, _)| k.as_str()).collect();
    let declared: Vec<&str> = SETTINGS.iter().map(|s| s.key).collect();
    let undocumented: Vec<&&str> = declared.iter().filter(|k| !named.contains(k)).collect();
    assert!(
        undocumented.is_empty(),
        "declared but not in config.toml: {undocumented:?}"
    );
    let unknown: Vec<&&str> = named.iter().filter(|k| !declared.contains(k)).collect();
    assert!(
        unknown.is_empty(),
        "config.toml names settings that do not exist: {unknown:?}"
    );
    let mut seen = std::collections::BTreeSet::new();
    let twice: Vec<&&str> = named.iter().filter(|k| !seen.insert(**k)).collect();
    assert!(twice.is_empty(), "config.toml names these twice: {twice:?}");
    let mut keys = declared.clone();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), declared.len(), "a key is declared twice");
}

#[test]
fn config_toml_shows_each_default_and_is_a_valid_config() {
    let as_toml = |v: &str| -> toml::Value {
        toml::from_str::<toml::Table>(&format!("v = {v}")).unwrap()["v"].clone()
    };
    for (key, value, commented) in documented() {
        let setting = Setting::find(&key).expect("declared");
        if commented {
            continue;
        }
        let default = setting
            .default
            .unwrap_or_else(|| panic!("`{key}` has no default; config.toml sets it"));
        assert_eq!(
            as_toml(&value),
            as_toml(default),
            "config.toml sets `{key}` to {value}, its default is {default}"
        );
    }
    // Every setting that has a default shows it, not commented out.
    for s in SETTINGS.iter().filter(|s| s.default.is_some()) {
        assert!(
            documented().iter().any(|(k, _, c)| k == s.key && !c),
            "`{}` is only mentioned in a comment",
            s.key
        );
    }
    // The file itself loads, giving the defaults.
    let path = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/config.toml"));
    let s = Settings::load_from(&config_file(path.clone()), &env(&[])).unwrap();
    assert_eq!(
        format!("{s:?}"),
        format!(
            "{:?}",
            Settings {
                database: path.parent().unwrap().join("stampd.db"),
                backup_dir: path.parent().unwrap().join("backups"),
                ..Settings::default()
            }
        )
    );
}

#[test]
fn defaults_are_the_documented_ones() {
    let s = Settings::default();
    assert_eq!(s.bind, "127.0.0.1:8080");
    assert_eq!(s.database, PathBuf::from("stampd.db"));
    assert_eq!(s.synchronous, Synchronous::Full);
    assert_eq!(s.read_pool_size, 6);
    assert_eq!(s.busy_timeout_ms, 5000);
    assert_eq!(s.workers, 2);
    assert_eq!(s.public_url, None);
    assert_eq!(s.default_country, phonenumber::country::Id::US);
    assert_eq!(s.log_level, log::LevelFilter::Info);
    assert_eq!(s.rate_limit_per_minute, 1200);
    assert_eq!(s.request_head_timeout_secs, 10);
    assert_eq!(s.request_body_timeout_secs, 20);
    assert_eq!(s.delivery_max_attempts, 8);
    assert_eq!(s.delivery_retry_base_secs, 30);
    assert_eq!(s.apns_environment, ApnsEnvironment::Production);
    assert_eq!(s.apns_url(), "https://api.push.apple.com");
    assert_eq!(s.google_token_url, "https://oauth2.googleapis.com/token");
    assert_eq!(
        s.google_api_url,
        "https://walletobjects.googleapis.com/walletobjects/v1"
    );
    assert_eq!((s.push_max_attempts, s.push_retry_base_secs), (10, 5));
    assert_eq!(s.extra_ca_file, None);
    assert_eq!(s.backup_dir, PathBuf::from("backups"));
    assert_eq!(s.backup_interval_hours, 24);
    assert_eq!(s.backup_keep, 7);
    assert!(s.cors_allowed_origins.is_empty());
    assert_eq!(s.signup_rate_limit_per_hour, 20);
    assert!(s.apple.is_none() && s.google.is_none() && s.smtp.is_none() && s.sms.is_none());
}

#[test]
fn every_setting_has_its_environment_variable() {
    for s in SETTINGS {
        assert_eq!(s.env_var(), format!("STAMPD_{}", s.key.to_uppercase()));
        assert!(!s.doc.trim().is_empty(), "`{}` has no description", s.key);
    }
    let s = env_settings(&[("STAMPD_DELIVERY_RETRY_BASE_SECS", "2")]);
    assert_eq!(s.delivery_retry_base_secs, 2);
    let e = env(&[
        ("STAMPD_REQUEST_HEAD_TIMEOUT_SECS", "1"),
        ("STAMPD_REQUEST_BODY_TIMEOUT_SECS", "2"),
    ]);
    let s = Settings::load_from(&Overrides::default(), &e).unwrap();
    assert_eq!(s.request_head_timeout_secs, 1);
    assert_eq!(s.request_body_timeout_secs, 2);
    let err = env_error(&[("STAMPD_REQUEST_BODY_TIMEOUT_SECS", "0")]);
    assert_eq!(
        err,
        "setting `request_body_timeout_secs` (from environment variable \
         STAMPD_REQUEST_BODY_TIMEOUT_SECS): must be a whole number of seconds from 1 to 3600"
    );
}

#[test]
fn range_messages_say_what_to_write() {
    for (key, value, message) in [
        ("read_pool_size", "0", "must be a whole number from 1 to 64"),
        (
            "busy_timeout_ms",
            "-1",
            "must be a whole number of milliseconds from 0 to 600000",
        ),
        (
            "rate_limit_per_minute",
            "lots",
            "must be a whole number from 0 (no limit) to 1000000",
        ),
        (
            "delivery_retry_base_secs",
            "-1",
            "must be a whole number of seconds from 0 to 86400",
        ),
        (
            "backup_interval_hours",
            "8761",
            "must be a whole number of hours from 0 (off) to 8760",
        ),
        (
            "synchronous",
            "sometimes",
            "\"sometimes\" is not one of \"full\", \"normal\", \"extra\"",
        ),
    ] {
        let var = format!("STAMPD_{}", key.to_uppercase());
        let err = env_error(&[(&var, value)]);
        assert_eq!(
            err,
            format!("setting `{key}` (from environment variable {var}): {message}")
        );
    }
}

#[test]
fn lists_may_be_toml_arrays_or_one_string_with_commas() {
    let load = |text: &str| {
        let (_d, p) = file(text);
        Settings::load_from(&config_file(p), &env(&[]))
    };
    let want = vec![
        "https://shop.example.com".to_string(),
        "http://127.0.0.1:3000".to_string(),
    ];
    let s =
        load("cors_allowed_origins = [\"https://shop.example.com/\", \"http://127.0.0.1:3000\"]\n")
            .unwrap();
    assert_eq!(s.cors_allowed_origins, want);
    let s = load("cors_allowed_origins = \"https://shop.example.com, http://127.0.0.1:3000\"\n")
        .unwrap();
    assert_eq!(s.cors_allowed_origins, want);
    let s = env_settings(&[("STAMPD_CORS_ALLOWED_ORIGINS", "*")]);
    assert_eq!(s.cors_allowed_origins, vec!["*".to_string()]);

    let err = load("cors_allowed_origins = [\"https://shop.example.com/admin\"]\n")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("`cors_allowed_origins`") && err.contains("/admin"),
        "{err}"
    );
    let err = load("cors_allowed_origins = [[\"x\"]]\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("`cors_allowed_origins`"), "{err}");
    // A setting of one value refuses a list, and a table is refused everywhere.
    let err = load("bind = [\"127.0.0.1:1\"]\n").unwrap_err().to_string();
    assert!(
        err.contains("`bind`") && err.ends_with("must be a string or a number, not array"),
        "{err}"
    );
    let err = load("[bind]\nhost = \"x\"\n").unwrap_err().to_string();
    assert!(
        err.ends_with("must be a string or a number, not table"),
        "{err}"
    );
}

#[test]
fn paths_in_the_file_are_relative_to_its_folder() {
    let (d, p) = file("database = \"data/shop.db\"\nbackup_dir = \"copies\"\n");
    let o = config_file(p);
    let s = Settings::load_from(&o, &env(&[])).unwrap();
    assert_eq!(s.database, d.path().join("data/shop.db"));
    assert_eq!(s.backup_dir, d.path().join("copies"));
    // From the environment (or a flag), relative to the working directory.
    let s = Settings::load_from(
        &o,
        &env(&[("STAMPD_DATABASE", "x.db"), ("STAMPD_BACKUP_DIR", "b")]),
    )
    .unwrap();
    assert_eq!(s.database, PathBuf::from("x.db"));
    assert_eq!(s.backup_dir, PathBuf::from("b"));
    // Without backup_dir, backups go beside the database.
    let s = Settings::load_from(&o, &env(&[("STAMPD_BACKUP_DIR", " ")])).unwrap();
    assert_eq!(s.backup_dir, d.path().join("data/backups"));
    let err = Settings::load_from(&o, &env(&[("STAMPD_DATABASE", "")]))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("`database`") && err.contains("file path"),
        "{err}"
    );
}

#[test]
fn a_group_is_off_until_a_key_is_given_then_needs_all_its_keys() {
    let s = env_settings(&[("STAMPD_SMTP_HOST", "")]);
    assert!(s.smtp.is_none());

    let err = env_error(&[("STAMPD_SMTP_HOST", "mail.example.com")]);
    assert_eq!(
        err,
        "setting `smtp_from` (from environment variable STAMPD_SMTP_HOST): \
         is required when `smtp_host` is set"
    );

    let smtp = env_settings(&[
        ("STAMPD_SMTP_HOST", "mail.example.com"),
        ("STAMPD_SMTP_TLS", "TLS"),
        ("STAMPD_SMTP_FROM", "Ann's Coffee <cards@example.com>"),
        ("STAMPD_SMTP_PASSWORD", "hunter2-secret"),
    ])
    .smtp
    .unwrap();
    assert_eq!((smtp.port, smtp.tls), (465, SmtpTls::Tls));
    assert_eq!(smtp.password.as_deref(), Some("hunter2-secret"));

    let err = env_error(&[
        ("STAMPD_SMTP_HOST", "mail.example.com"),
        ("STAMPD_SMTP_FROM", "not an address"),
    ]);
    assert!(err.starts_with("setting `smtp_from`"), "{err}");

    let (d, p) = file("apple_team_id = \"ABCDE12345\"\n");
    let o = config_file(p.clone());
    let err = Settings::load_from(&o, &env(&[])).unwrap_err().to_string();
    assert_eq!(
        err,
        format!(
            "setting `apple_pass_type_id` (from {}): is required when `apple_team_id` is set",
            p.display()
        )
    );
    let err = Settings::load_from(
        &o,
        &env(&[
            ("STAMPD_APPLE_PASS_TYPE_ID", "pass.example"),
            ("STAMPD_APPLE_CERTIFICATE", "no-such.pem"),
        ]),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.starts_with("setting `apple_certificate` (from environment variable")
            && err.contains("cannot read no-such.pem"),
        "{err}"
    );
    std::fs::write(d.path().join("key.json"), "{}").unwrap();
    let (_d2, p2) = file(&format!(
        "google_issuer_id = 3388000000012345678\ngoogle_service_account_key = \"{}\"\n",
        d.path().join("key.json").display()
    ));
    let google = Settings::load_from(&config_file(p2), &env(&[]))
        .unwrap()
        .google
        .unwrap();
    assert_eq!(google.issuer_id, "3388000000012345678");
    assert_eq!(google.service_account_key, d.path().join("key.json"));
}

#[test]
fn secrets_never_print() {
    let s = env_settings(&[
        ("STAMPD_SMTP_HOST", "mail.example.com"),
        ("STAMPD_SMTP_FROM", "cards@example.com"),
        ("STAMPD_SMTP_PASSWORD", "hunter2-secret"),
        ("STAMPD_SMS_BASE_URL", "https://sms.example.com/"),
        ("STAMPD_SMS_ACCOUNT_SID", "AC1"),
        ("STAMPD_SMS_AUTH_TOKEN", "token-secret"),
        ("STAMPD_SMS_FROM", "+14155550100"),
        ("STAMPD_METRICS_TOKEN", "metrics-token-secret-0123456789"),
    ]);
    let printed = format!("{s:?}");
    assert!(printed.contains("mail.example.com"), "{printed}");
    assert!(printed.contains("https://sms.example.com\""), "{printed}");
    assert!(!printed.contains("hunter2-secret"), "{printed}");
    assert!(!printed.contains("token-secret"), "{printed}");
    assert!(!printed.contains("metrics-token-secret"), "{printed}");
    let secrets: Vec<&str> = SETTINGS
        .iter()
        .filter(|s| s.secret)
        .map(|s| s.key)
        .collect();
    assert_eq!(
        secrets,
        ["metrics_token", "smtp_password", "sms_auth_token"]
    );
    // An error about a secret's value never repeats it.
    assert_eq!(
        load::mask(
            "\"hunter2\" is not accepted".into(),
            &load::RawValue::Text(" hunter2 ".into())
        ),
        "\"********\" is not accepted"
    );
}

#[test]
fn https_is_off_by_default_and_its_defaults_are_the_documented_ones() {
    let s = Settings::default();
    assert!(s.tls.is_none());
    assert_eq!(s.bind, "127.0.0.1:8080");
    assert_eq!(s.https_bind, "0.0.0.0:443");
    assert_eq!(
        s.acme_directory,
        "https://acme-v02.api.letsencrypt.org/directory"
    );
    assert_eq!(s.acme_challenge, AcmeChallenge::TlsAlpn01);
    assert!(s.trusted_proxies.is_empty());
}

#[test]
fn tls_domains_turn_on_acme_with_the_ports_and_public_url_a_shop_needs() {
    let s = env_settings(&[
        (
            "STAMPD_TLS_DOMAINS",
            "Shop.Example.com, www.shop.example.com",
        ),
        ("STAMPD_ACME_EMAIL", "owner@example.com"),
    ]);
    let Some(TlsSettings::Acme(acme)) = &s.tls else {
        panic!("ACME is on: {s:?}");
    };
    assert_eq!(acme.domains, ["shop.example.com", "www.shop.example.com"]);
    assert_eq!(acme.email.as_deref(), Some("owner@example.com"));
    assert_eq!(acme.directory, s.acme_directory);
    assert_eq!(s.bind, "0.0.0.0:80", "plain HTTP redirects from port 80");
    assert_eq!(s.https_bind, "0.0.0.0:443");
    assert_eq!(s.public_url.as_deref(), Some("https://shop.example.com"));

    // Another HTTPS port is part of the public address; given values win.
    let s = env_settings(&[
        ("STAMPD_TLS_DOMAINS", "shop.example.com"),
        ("STAMPD_HTTPS_BIND", "0.0.0.0:8443"),
        ("STAMPD_BIND", "127.0.0.1:8080"),
    ]);
    assert_eq!(
        s.public_url.as_deref(),
        Some("https://shop.example.com:8443")
    );
    assert_eq!(s.bind, "127.0.0.1:8080");
    let s = env_settings(&[
        ("STAMPD_TLS_DOMAINS", "shop.example.com"),
        ("STAMPD_PUBLIC_URL", "https://cards.example.com"),
    ]);
    assert_eq!(s.public_url.as_deref(), Some("https://cards.example.com"));

    // `stampd serve DOMAIN` and the flags.
    let o = Overrides {
        tls_domains: vec!["flag.example.com".into()],
        https_bind: Some("127.0.0.1:9443".into()),
        acme_email: Some("flag@example.com".into()),
        ..Default::default()
    };
    let s = Settings::load_from(&o, &env(&[("STAMPD_TLS_DOMAINS", "env.example.com")])).unwrap();
    let Some(TlsSettings::Acme(acme)) = &s.tls else {
        panic!("ACME is on");
    };
    assert_eq!(acme.domains, ["flag.example.com"]);
    assert_eq!(acme.email.as_deref(), Some("flag@example.com"));
    assert_eq!(s.https_bind, "127.0.0.1:9443");
    let err = Settings::load_from(
        &Overrides {
            tls_domains: vec!["*.example.com".into()],
            ..Default::default()
        },
        &env(&[]),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.starts_with(
            "setting `tls_domains` (from stampd serve DOMAIN): \"*.example.com\": wildcard"
        ),
        "{err}"
    );
}

#[test]
fn tls_settings_that_do_not_fit_say_what_to_write() {
    for (pairs, message) in [
        (
            vec![("STAMPD_TLS_DOMAINS", "192.0.2.1")],
            "setting `tls_domains` (from environment variable STAMPD_TLS_DOMAINS): \"192.0.2.1\" is not a domain name such as \"shop.example.com\"",
        ),
        (
            vec![("STAMPD_TLS_DOMAINS", "shop")],
            "setting `tls_domains` (from environment variable STAMPD_TLS_DOMAINS): \"shop\" is not a domain name such as \"shop.example.com\"",
        ),
        (
            vec![("STAMPD_ACME_EMAIL", "owner@example.com")],
            "setting `tls_domains` (from environment variable STAMPD_ACME_EMAIL): is required when `acme_email` is set",
        ),
        (
            vec![("STAMPD_ACME_EMAIL", "Owner <owner@example.com>")],
            "setting `acme_email` (from environment variable STAMPD_ACME_EMAIL): \"Owner <owner@example.com>\" is not an email address such as \"owner@example.com\"",
        ),
        (
            vec![("STAMPD_ACME_CHALLENGE", "dns-01")],
            "setting `acme_challenge` (from environment variable STAMPD_ACME_CHALLENGE): \"dns-01\" is not one of \"tls-alpn-01\", \"http-01\"",
        ),
        (
            vec![("STAMPD_TRUSTED_PROXIES", "10.0.0.0/8, proxy.local")],
            "setting `trusted_proxies` (from environment variable STAMPD_TRUSTED_PROXIES): \"proxy.local\" is not an IP address; list addresses or blocks such as \"127.0.0.1\" or \"10.0.0.0/8\"",
        ),
        (
            vec![("STAMPD_HTTPS_BIND", "443")],
            "setting `https_bind` (from environment variable STAMPD_HTTPS_BIND): \"443\" is not an address and port; use e.g. \"127.0.0.1:8080\"",
        ),
    ] {
        assert_eq!(env_error(&pairs), message);
    }
}

#[test]
fn own_certificate_files_go_together_and_not_with_acme() {
    let d = tempfile_dir::Dir::new();
    let cert = d.path().join("cert.pem");
    let key = d.path().join("key.pem");
    std::fs::write(&cert, "x").unwrap();
    std::fs::write(&key, "x").unwrap();
    let (cert, key) = (cert.to_str().unwrap(), key.to_str().unwrap());
    let s = env_settings(&[
        ("STAMPD_TLS_CERTIFICATE", cert),
        ("STAMPD_TLS_PRIVATE_KEY", key),
    ]);
    assert!(
        matches!(&s.tls, Some(TlsSettings::Files { certificate, .. }) if certificate.to_str() == Some(cert))
    );
    assert_eq!(s.bind, "0.0.0.0:80");
    assert_eq!(
        s.public_url, None,
        "the bound HTTPS address, as without HTTPS"
    );
    assert_eq!(
        s.public_base("192.0.2.1:443".parse().unwrap()),
        "https://192.0.2.1:443"
    );
    assert_eq!(
        env_error(&[("STAMPD_TLS_CERTIFICATE", cert)]),
        "setting `tls_private_key` (from environment variable STAMPD_TLS_CERTIFICATE): is required when `tls_certificate` is set"
    );
    assert_eq!(
        env_error(&[
            ("STAMPD_TLS_CERTIFICATE", cert),
            ("STAMPD_TLS_PRIVATE_KEY", key),
            ("STAMPD_TLS_DOMAINS", "shop.example.com"),
        ]),
        "setting `tls_certificate` (from environment variable STAMPD_TLS_CERTIFICATE): cannot be used with `tls_domains`: HTTPS takes either certificates obtained by ACME or your own, not both"
    );
}

#[test]
fn trusted_proxies_are_addresses_or_blocks() {
    let s = env_settings(&[("STAMPD_TRUSTED_PROXIES", "127.0.0.1, 10.0.0.0/8,fd00::/8")]);
    let shown: Vec<String> = s.trusted_proxies.iter().map(|r| r.to_string()).collect();
    assert_eq!(shown, ["127.0.0.1/32", "10.0.0.0/8", "fd00::/8"]);
}

#[test]
fn the_packaged_config_is_valid_and_keeps_the_data_in_var_lib() {
    let text = include_str!("../../dist/config.toml");
    let (_d, p) = file(text);
    let s = Settings::load_from(&config_file(p), &env(&[])).unwrap();
    assert_eq!(s.database, PathBuf::from("/var/lib/stampd/stampd.db"));
    assert_eq!(s.backup_dir, PathBuf::from("/var/lib/stampd/backups"));
    assert_eq!(s.data_dir(), Path::new("/var/lib/stampd"));
    // What it shows commented out are settings too.
    for line in text.lines() {
        if let Some((key, _)) = line.strip_prefix("# ").and_then(|l| l.split_once(" = ")) {
            assert!(Setting::find(key).is_some(), "{key} is not a setting");
        }
    }
}
