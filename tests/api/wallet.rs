//! Wallet passes end to end: a real server on 127.0.0.1:0 with a fresh database,
//! Apple pass certificates from a test CA made here with the `openssl` command line,
//! and a Google service-account key made the same way.
//!
//! Signatures are checked by independent verifiers: `openssl cms -verify` for the
//! .pkpass, the `rsa` crate with the key's public half (exported by `openssl`) for
//! the Google JWT.

use std::collections::BTreeSet;
use std::io::{Cursor, Read};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};
use sha1::{Digest, Sha1};
use stampd::config::{AppleSettings, GoogleSettings, Settings};

use crate::support::app::{fetch, spawn_app_in, start_error, test_settings, Resp, TestApp};
use crate::support::apple_chain::{apple_chain, openssl, rsa_key, PASS_TYPE_ID, TEAM_ID};

const ISSUER_ID: &str = "3388000000012345678";
const CLIENT_EMAIL: &str = "stampd-wallet@example-project.iam.gserviceaccount.com";

// ---------------------------------------------------------------------------------
// Requests of the wallet tests
// ---------------------------------------------------------------------------------

impl TestApp {
    fn api(&self, method: &str, path: &str, body: Option<Value>) -> Resp {
        let auth = format!("Bearer {}", self.token);
        let body = body.map(|b| b.to_string());
        fetch(
            method,
            &format!("{}/api/v1/accounts/{}{path}", self.base, self.store_id),
            &[
                ("Authorization", auth.as_str()),
                ("Content-Type", "application/json"),
            ],
            body.as_deref().map(str::as_bytes),
        )
    }

    /// A card template, a reward at 2 stamps, and Ann Lee enrolled in it with
    /// `stamps` stamps: the customer card's JSON.
    fn enrolled_customer(&self, stamps: i64) -> Value {
        let card = self.api(
            "POST",
            "/cards",
            Some(json!({"card": {
                "name": "Coffee Card",
                "stamps_required": 10,
                "card_color": "#112233",
                "text_color": "#FFFFFF",
                "stamp_color": "#F5B041",
                "header_text": "Ann's Coffee",
            }})),
        );
        assert_eq!(card.status, 201, "create card: {}", card.text);
        let card_id = card.json()["id"].as_i64().unwrap();
        let reward = self.api(
            "POST",
            "/rewards",
            Some(json!({"reward": {"card_id": card_id, "name": "Free coffee", "stamps_required": 2}})),
        );
        assert_eq!(reward.status, 201, "create reward: {}", reward.text);
        let customer = self.api(
            "POST",
            "/customers",
            Some(json!({
                "customer": {"first_name": "Ann", "last_name": "Lee", "email": "ann@example.com"},
                "card_id": card_id,
            })),
        );
        assert_eq!(customer.status, 201, "create customer: {}", customer.text);
        let customer = customer.json();
        let cc = customer["customer_card"].clone();
        let path = card_path(&cc);
        if stamps > 0 {
            let r = self.api(
                "POST",
                &format!("{path}/stamp"),
                Some(json!({ "stamps": stamps })),
            );
            assert!(r.status == 200 || r.status == 201, "stamp: {}", r.text);
        }
        self.card_now(&cc)
    }

    /// The customer card as the API shows it now.
    fn card_now(&self, cc: &Value) -> Value {
        let r = self.api("GET", &card_path(cc), None);
        assert_eq!(r.status, 200, "customer card: {}", r.text);
        r.json()
    }

    fn stamp(&self, cc: &Value, stamps: i64) {
        let r = self.api(
            "POST",
            &format!("{}/stamp", card_path(cc)),
            Some(json!({ "stamps": stamps })),
        );
        assert!(r.status == 200 || r.status == 201, "stamp: {}", r.text);
    }

    /// A pass web service request with `Authorization: ApplePass <token>`.
    fn service(&self, method: &str, path: &str, token: Option<&str>, body: Option<&str>) -> Resp {
        let auth = token.map(|t| format!("ApplePass {t}"));
        let mut headers = vec![("Content-Type", "application/json")];
        if let Some(a) = &auth {
            headers.push(("Authorization", a.as_str()));
        }
        fetch(
            method,
            &format!("{}/passes/v1{path}", self.base),
            &headers,
            body.map(str::as_bytes),
        )
    }
}

/// `/customers/:customer_id/customer_cards/:id` of a customer card's JSON.
fn card_path(cc: &Value) -> String {
    format!(
        "/customers/{}/customer_cards/{}",
        cc["customer_id"], cc["id"]
    )
}

/// A service-account JSON key file; the key's public half goes to `google.pub.pem`
/// (exported by openssl).
fn google_key(dir: &Path) -> GoogleSettings {
    rsa_key(dir, "google.key");
    openssl(
        dir,
        &[
            "pkey",
            "-in",
            "google.key",
            "-pubout",
            "-out",
            "google.pub.pem",
        ],
    );
    let pem = std::fs::read_to_string(dir.join("google.key")).unwrap();
    let key_file = dir.join("service-account.json");
    std::fs::write(
        &key_file,
        json!({
            "type": "service_account",
            "project_id": "example-project",
            "private_key_id": "0123abcd",
            "private_key": pem,
            "client_email": CLIENT_EMAIL,
        })
        .to_string(),
    )
    .unwrap();
    GoogleSettings {
        issuer_id: ISSUER_ID.into(),
        service_account_key: key_file,
    }
}

/// The files of a .pkpass, by name; every entry must be stored uncompressed.
fn unzip(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).expect("the .pkpass is a zip");
    (0..archive.len())
        .map(|i| {
            let mut f = archive.by_index(i).unwrap();
            assert_eq!(
                f.compression(),
                zip::CompressionMethod::Stored,
                "{}",
                f.name()
            );
            let mut data = Vec::new();
            f.read_to_end(&mut data).unwrap();
            (f.name().to_string(), data)
        })
        .collect()
}

fn file<'a>(files: &'a [(String, Vec<u8>)], name: &str) -> &'a [u8] {
    &files
        .iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("the pass has no {name}"))
        .1
}

fn pass_json(files: &[(String, Vec<u8>)]) -> Value {
    serde_json::from_slice(file(files, "pass.json")).expect("pass.json is JSON")
}

/// Runs `openssl cms -verify` on a detached signature over `content`, trusting only
/// the test root: the WWDR intermediate must come from the signature itself.
fn openssl_verifies(dir: &Path, content: &[u8], signature: &[u8]) -> bool {
    std::fs::write(dir.join("check-manifest.json"), content).unwrap();
    std::fs::write(dir.join("check-signature"), signature).unwrap();
    Command::new("openssl")
        .args([
            "cms",
            "-verify",
            "-binary",
            "-inform",
            "DER",
            "-in",
            "check-signature",
            "-content",
            "check-manifest.json",
            "-CAfile",
            "root.pem",
            "-purpose",
            "any",
            "-out",
            "check-out",
        ])
        .current_dir(dir)
        .output()
        .expect("the openssl command runs")
        .status
        .success()
}

// ---------------------------------------------------------------------------------
// Apple Wallet passes
// ---------------------------------------------------------------------------------

#[test]
fn apple_pass_is_a_signed_store_card_of_the_customer_card() {
    let app = spawn_app_in(|s, dir| s.apple = Some(apple_chain(dir)));
    let cc = app.enrolled_customer(3);
    let uuid = cc["uuid"].as_str().unwrap();
    let code = cc["code"].as_str().unwrap();

    let r = fetch("GET", cc["apple_wallet_url"].as_str().unwrap(), &[], None);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.header("content-type"),
        Some("application/vnd.apple.pkpass")
    );
    let files = unzip(&r.bytes);
    let names: BTreeSet<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        BTreeSet::from([
            "pass.json",
            "icon.png",
            "icon@2x.png",
            "logo.png",
            "manifest.json",
            "signature"
        ])
    );

    let pass = pass_json(&files);
    assert_eq!(pass["formatVersion"], 1);
    assert_eq!(pass["passTypeIdentifier"], PASS_TYPE_ID);
    assert_eq!(pass["teamIdentifier"], TEAM_ID);
    assert_eq!(pass["serialNumber"], uuid);
    assert!(pass["authenticationToken"].as_str().unwrap().len() >= 16);
    assert_eq!(pass["webServiceURL"], format!("{}/passes/", app.base));
    assert_eq!(pass["organizationName"], "Test Store");
    assert_eq!(pass["logoText"], "Ann's Coffee");
    assert_eq!(pass["backgroundColor"], "rgb(17, 34, 51)");
    assert_eq!(pass["foregroundColor"], "rgb(255, 255, 255)");
    assert_eq!(pass["labelColor"], "rgb(245, 176, 65)");
    assert_eq!(
        pass["barcodes"],
        json!([{
            "format": "PKBarcodeFormatQR",
            "message": code,
            "messageEncoding": "iso-8859-1",
            "altText": code,
        }])
    );
    let store_card = &pass["storeCard"];
    assert_eq!(store_card["primaryFields"][0]["value"], "3 / 10");
    let secondary = store_card["secondaryFields"].as_array().unwrap();
    assert_eq!(secondary[0]["key"], "member");
    assert_eq!(secondary[0]["value"], "Ann Lee");
    assert_eq!(secondary[1]["key"], "next_reward");
    assert_eq!(secondary[1]["value"], "Every reward unlocked");
    assert_eq!(store_card["auxiliaryFields"][0]["value"], "Free coffee");

    // The manifest names every other file with its SHA-1.
    let manifest_bytes = file(&files, "manifest.json");
    let manifest: Value = serde_json::from_slice(manifest_bytes).unwrap();
    let manifest = manifest.as_object().unwrap();
    let listed: BTreeSet<&str> = manifest.keys().map(String::as_str).collect();
    let expected: BTreeSet<&str> = names
        .iter()
        .copied()
        .filter(|n| *n != "manifest.json" && *n != "signature")
        .collect();
    assert_eq!(listed, expected);
    for (name, hash) in manifest {
        let actual: String = Sha1::digest(file(&files, name))
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(hash.as_str().unwrap(), actual, "{name}");
    }

    // The signature verifies against the test root, and only for this manifest.
    let dir = app.dir.path();
    let signature = file(&files, "signature");
    assert!(openssl_verifies(dir, manifest_bytes, signature));
    let mut altered = manifest_bytes.to_vec();
    let at = altered.iter().position(|b| b.is_ascii_hexdigit()).unwrap();
    altered[at] = if altered[at] == b'0' { b'1' } else { b'0' };
    assert!(!openssl_verifies(dir, &altered, signature));

    // SHA-256, a signing time, and both certificates in the signature.
    std::fs::write(dir.join("signature.der"), signature).unwrap();
    let printed = Command::new("openssl")
        .args([
            "cms",
            "-cmsout",
            "-print",
            "-inform",
            "DER",
            "-in",
            "signature.der",
        ])
        .current_dir(dir)
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&printed.stdout);
    assert!(printed.contains("signingTime"), "{printed}");
    assert!(printed.contains("sha256"), "{printed}");
    assert!(printed.contains("stampd Test WWDR"), "{printed}");
    assert!(printed.contains("Pass Type ID"), "{printed}");

    // Unknown cards are "not found", without internals.
    let unknown = fetch(
        "GET",
        &format!("{}/passes/{}.pkpass", app.base, uuid::Uuid::new_v4()),
        &[],
        None,
    );
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.json(), json!({"error": "Card not found"}));
    let garbage = fetch(
        "GET",
        &format!("{}/passes/nope.pkpass", app.base),
        &[],
        None,
    );
    assert_eq!(garbage.status, 404);
}

#[test]
fn pass_web_service_follows_stamps_and_tracks_installs() {
    let app = spawn_app_in(|s, dir| s.apple = Some(apple_chain(dir)));
    let cc = app.enrolled_customer(0);
    let uuid = cc["uuid"].as_str().unwrap().to_string();
    assert_eq!(cc["pass_installed"], false);
    let pass = pass_json(&unzip(
        &fetch("GET", cc["apple_wallet_url"].as_str().unwrap(), &[], None).bytes,
    ));
    let token = pass["authenticationToken"].as_str().unwrap().to_string();
    let registration = format!("/devices/device-1/registrations/{PASS_TYPE_ID}/{uuid}");
    let registrations = format!("/devices/device-1/registrations/{PASS_TYPE_ID}");
    let latest = format!("/passes/{PASS_TYPE_ID}/{uuid}");

    // Registering installs the pass; registering again is not new.
    let body = r#"{"pushToken": "a1b2c3d4e5f6"}"#;
    let r = app.service("POST", &registration, Some(&token), Some(body));
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(app.card_now(&cc)["pass_installed"], true);
    let r = app.service("POST", &registration, Some(&token), Some(body));
    assert_eq!(r.status, 200, "{}", r.text);

    // A device that has no passes here hears "nothing".
    let r = app.service(
        "GET",
        &format!("/devices/device-2/registrations/{PASS_TYPE_ID}"),
        None,
        None,
    );
    assert_eq!(r.status, 204);

    // The device's passes, and the tag to ask with next time.
    let r = app.service("GET", &registrations, None, None);
    assert_eq!(r.status, 200, "{}", r.text);
    let listed = r.json();
    assert_eq!(listed["serialNumbers"], json!([uuid]));
    let tag1 = listed["lastUpdated"].as_str().unwrap().to_string();

    let r = app.service("GET", &latest, Some(&token), None);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        pass_json(&unzip(&r.bytes))["storeCard"]["primaryFields"][0]["value"],
        "0 / 10"
    );
    let before_stamp = r
        .header("last-modified")
        .expect("Last-Modified")
        .to_string();

    // A stamp moves the pass past the tag, and the latest pass shows it.
    app.stamp(&cc, 1);
    let r = app.service(
        "GET",
        &format!("{registrations}?passesUpdatedSince={tag1}"),
        None,
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["serialNumbers"], json!([uuid]));
    let r = app.service("GET", &latest, Some(&token), None);
    let r2 = fetch(
        "GET",
        &format!("{}/passes/v1{latest}", app.base),
        &[
            ("Authorization", &format!("ApplePass {token}")),
            ("If-Modified-Since", &before_stamp),
        ],
        None,
    );
    for r in [r, r2] {
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(
            r.header("content-type"),
            Some("application/vnd.apple.pkpass")
        );
        let pass = pass_json(&unzip(&r.bytes));
        assert_eq!(pass["storeCard"]["primaryFields"][0]["value"], "1 / 10");
        assert_eq!(pass["serialNumber"], uuid.as_str());
    }

    // Once the change has settled, the tag and Last-Modified catch up with it: nothing
    // is listed since the new tag, and the copy just fetched is not sent again.
    std::thread::sleep(Duration::from_millis(2100));
    let r = app.service("GET", &registrations, None, None);
    let tag2 = r.json()["lastUpdated"].as_str().unwrap().to_string();
    assert!(tag2 > tag1, "{tag2} > {tag1}");
    let r = app.service(
        "GET",
        &format!("{registrations}?passesUpdatedSince={tag2}"),
        None,
        None,
    );
    assert_eq!(r.status, 204, "{}", r.text);
    let r = app.service("GET", &latest, Some(&token), None);
    assert_eq!(r.status, 200);
    let last_modified = r.header("last-modified").unwrap().to_string();
    let r = fetch(
        "GET",
        &format!("{}/passes/v1{latest}", app.base),
        &[
            ("Authorization", &format!("ApplePass {token}")),
            ("If-Modified-Since", &last_modified),
        ],
        None,
    );
    assert_eq!(r.status, 304, "{}", r.text);
    assert!(r.bytes.is_empty());

    // Wallet's log messages are accepted.
    let r = app.service(
        "POST",
        "/log",
        None,
        Some(r#"{"logs": ["Web service error for pass.com.example.stampd: 500"]}"#),
    );
    assert_eq!(r.status, 200);

    // Unregistering uninstalls it; a second time is harmless.
    let r = app.service("DELETE", &registration, Some(&token), None);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(app.card_now(&cc)["pass_installed"], false);
    let r = app.service("DELETE", &registration, Some(&token), None);
    assert_eq!(r.status, 200);
    assert_eq!(app.service("GET", &registrations, None, None).status, 204);
}

#[test]
fn pass_web_service_refuses_wrong_tokens_and_unknown_passes() {
    let app = spawn_app_in(|s, dir| s.apple = Some(apple_chain(dir)));
    let cc = app.enrolled_customer(0);
    let other = {
        let r = app.api(
            "POST",
            "/customers",
            Some(json!({
                "customer": {"first_name": "Bo", "email": "bo@example.com"},
                "card_id": cc["card_id"],
            })),
        );
        assert_eq!(r.status, 201, "{}", r.text);
        r.json()["customer_card"].clone()
    };
    let uuid = cc["uuid"].as_str().unwrap();
    let token_of = |c: &Value| {
        pass_json(&unzip(
            &fetch("GET", c["apple_wallet_url"].as_str().unwrap(), &[], None).bytes,
        ))["authenticationToken"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let token = token_of(&cc);
    let other_token = token_of(&other);
    let registration = format!("/devices/device-1/registrations/{PASS_TYPE_ID}/{uuid}");
    let body = Some(r#"{"pushToken": "ff00"}"#);
    let unauthorized = json!({
        "error": "Unauthorized – invalid or missing pass authentication token"
    });

    for t in [
        None,
        Some("wrong-token-0123456789"),
        Some(other_token.as_str()),
    ] {
        let r = app.service("POST", &registration, t, body);
        assert_eq!(r.status, 401, "{t:?}: {}", r.text);
        assert_eq!(r.json(), unauthorized);
        assert_eq!(app.service("DELETE", &registration, t, None).status, 401);
        let r = app.service("GET", &format!("/passes/{PASS_TYPE_ID}/{uuid}"), t, None);
        assert_eq!(r.status, 401);
    }
    // The pass's token under another scheme is no pass authentication.
    let r = fetch(
        "POST",
        &format!("{}/passes/v1{registration}", app.base),
        &[("Authorization", &format!("Bearer {token}"))],
        body.map(str::as_bytes),
    );
    assert_eq!(r.status, 401);
    assert_eq!(app.card_now(&cc)["pass_installed"], false);

    // Another pass type, or a serial that is no card here: not found.
    let r = app.service(
        "POST",
        &format!("/devices/device-1/registrations/pass.com.other/{uuid}"),
        Some(&token),
        body,
    );
    assert_eq!(r.status, 404);
    let r = app.service(
        "POST",
        &format!(
            "/devices/device-1/registrations/{PASS_TYPE_ID}/{}",
            uuid::Uuid::new_v4()
        ),
        Some(&token),
        body,
    );
    assert_eq!(r.status, 404);
    let r = app.service(
        "GET",
        "/devices/device-1/registrations/pass.com.other",
        None,
        None,
    );
    assert_eq!(r.status, 404);

    // A registration without a push token is a bad request and registers nothing.
    let r = app.service("POST", &registration, Some(&token), Some(r#"{"push": 1}"#));
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(app.card_now(&cc)["pass_installed"], false);

    // The right token works, for its own pass only.
    let r = app.service("POST", &registration, Some(&token), body);
    assert_eq!(r.status, 201);
    assert_eq!(app.card_now(&cc)["pass_installed"], true);
    assert_eq!(app.card_now(&other)["pass_installed"], false);
}

// ---------------------------------------------------------------------------------
// Google Wallet
// ---------------------------------------------------------------------------------

#[test]
fn google_link_carries_a_signed_jwt_with_the_card() {
    use rsa::pkcs1v15::{Signature, VerifyingKey};
    use rsa::pkcs8::DecodePublicKey;
    use rsa::signature::Verifier;

    let app = spawn_app_in(|s, dir| s.google = Some(google_key(dir)));
    let cc = app.enrolled_customer(4);
    let uuid = cc["uuid"].as_str().unwrap();
    let code = cc["code"].as_str().unwrap();

    let r = fetch("GET", cc["google_wallet_url"].as_str().unwrap(), &[], None);
    assert_eq!(r.status, 302, "{}", r.text);
    let location = r.header("location").unwrap();
    let jwt = location
        .strip_prefix("https://pay.google.com/gp/v/save/")
        .unwrap_or_else(|| panic!("not a save link: {location}"));
    let parts: Vec<&str> = jwt.split('.').collect();
    assert_eq!(parts.len(), 3, "{jwt}");

    let public_pem = std::fs::read_to_string(app.dir.path().join("google.pub.pem")).unwrap();
    let verifying = VerifyingKey::<rsa::sha2::Sha256>::new(
        rsa::RsaPublicKey::from_public_key_pem(&public_pem).unwrap(),
    );
    let signature =
        Signature::try_from(URL_SAFE_NO_PAD.decode(parts[2]).unwrap().as_slice()).unwrap();
    let signed = format!("{}.{}", parts[0], parts[1]);
    verifying
        .verify(signed.as_bytes(), &signature)
        .expect("the JWT verifies with the service account's public key");
    let tampered = format!("{}.{}x", parts[0], parts[1]);
    assert!(verifying.verify(tampered.as_bytes(), &signature).is_err());

    let decode =
        |s: &str| -> Value { serde_json::from_slice(&URL_SAFE_NO_PAD.decode(s).unwrap()).unwrap() };
    let header = decode(parts[0]);
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["kid"], "0123abcd");
    let claims = decode(parts[1]);
    assert_eq!(claims["iss"], CLIENT_EMAIL);
    assert_eq!(claims["aud"], "google");
    assert_eq!(claims["typ"], "savetowallet");
    assert_eq!(claims["origins"], json!([app.base]));
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    assert!((claims["iat"].as_i64().unwrap() - now).abs() < 60);

    let class = &claims["payload"]["loyaltyClasses"][0];
    assert!(class["id"]
        .as_str()
        .unwrap()
        .starts_with(&format!("{ISSUER_ID}.")));
    assert_eq!(class["issuerName"], "Test Store");
    assert_eq!(class["programName"], "Coffee Card");
    assert_eq!(class["hexBackgroundColor"], "#112233");
    assert_eq!(class["reviewStatus"], "UNDER_REVIEW");
    let logo = class["programLogo"]["sourceUri"]["uri"].as_str().unwrap();
    let r = fetch("GET", logo, &[], None);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("image/png"));

    let object = &claims["payload"]["loyaltyObjects"][0];
    assert_eq!(object["id"], format!("{ISSUER_ID}.{uuid}"));
    assert_eq!(object["classId"], class["id"]);
    assert_eq!(object["state"], "ACTIVE");
    assert_eq!(object["accountId"], code);
    assert_eq!(object["accountName"], "Ann Lee");
    assert_eq!(
        object["loyaltyPoints"],
        json!({"label": "Stamps", "balance": {"int": 4}})
    );
    assert_eq!(
        object["barcode"],
        json!({"type": "QR_CODE", "value": code, "alternateText": code})
    );

    // Apple Wallet is not configured on this server: its link is the web card.
    let r = fetch("GET", cc["apple_wallet_url"].as_str().unwrap(), &[], None);
    assert_eq!(r.status, 302);
    assert_eq!(
        r.header("location"),
        Some(format!("{}/c/{uuid}", app.base).as_str())
    );
}

// ---------------------------------------------------------------------------------
// The card's strip and extra lines on both wallets
// ---------------------------------------------------------------------------------

/// `(width, height, palette)` of a one-colour PNG.
fn png_of(bytes: &[u8]) -> (u32, u32, Vec<u8>) {
    let reader = png::Decoder::new(Cursor::new(bytes.to_vec()))
        .read_info()
        .expect("a PNG");
    let info = reader.info();
    (
        info.width,
        info.height,
        info.palette.as_deref().unwrap_or_default().to_vec(),
    )
}

#[test]
fn the_cards_strip_and_lines_reach_both_wallets() {
    let app = spawn_app_in(|s, dir| {
        s.apple = Some(apple_chain(dir));
        s.google = Some(google_key(dir));
    });
    let cc = app.enrolled_customer(1);
    let uuid = cc["uuid"].as_str().unwrap().to_string();
    let strip_url = format!("{}/passes/{uuid}/strip.png", app.base);
    let google_object = |cc: &Value| -> Value {
        let r = fetch("GET", cc["google_wallet_url"].as_str().unwrap(), &[], None);
        let jwt = r
            .header("location")
            .unwrap()
            .rsplit('/')
            .next()
            .unwrap()
            .to_string();
        let claims: Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(jwt.split('.').nth(1).unwrap())
                .unwrap(),
        )
        .unwrap();
        claims["payload"]["loyaltyObjects"][0].clone()
    };

    // A card without a colour strip draws none: no strip files, no hero image.
    let files = unzip(&fetch("GET", cc["apple_wallet_url"].as_str().unwrap(), &[], None).bytes);
    assert!(!files.iter().any(|(n, _)| n.starts_with("strip")));
    assert!(google_object(&cc).get("heroImage").is_none());
    assert_eq!(fetch("GET", &strip_url, &[], None).status, 404);

    // The strip colour #F5B041 at 60% over the card colour #112233.
    let r = app.api(
        "PATCH",
        &format!("/cards/{}", cc["card_id"]),
        Some(
            json!({"card": {"strip_type": "color", "strip_color": "#F5B041", "strip_opacity": 60,
            "auxiliary_fields": ["Open 7–19", "Oat milk free"]}}),
        ),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let blended = vec![154, 119, 59];

    let files = unzip(&fetch("GET", cc["apple_wallet_url"].as_str().unwrap(), &[], None).bytes);
    assert_eq!(
        png_of(file(&files, "strip.png")),
        (375, 123, blended.clone())
    );
    assert_eq!(
        png_of(file(&files, "strip@2x.png")),
        (750, 246, blended.clone())
    );
    let manifest: Value = serde_json::from_slice(file(&files, "manifest.json")).unwrap();
    for name in ["strip.png", "strip@2x.png"] {
        let hash: String = Sha1::digest(file(&files, name))
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(manifest[name], hash, "{name} is signed with the pass");
    }
    let auxiliary = &pass_json(&files)["storeCard"]["auxiliaryFields"];
    assert_eq!(auxiliary[0]["key"], "rewards", "stampd's line first");
    assert_eq!(
        auxiliary.as_array().unwrap()[1..],
        [
            json!({"key": "card_line_1", "value": "Open 7–19"}),
            json!({"key": "card_line_2", "value": "Oat milk free"}),
        ]
    );

    let object = google_object(&cc);
    assert_eq!(object["heroImage"]["sourceUri"]["uri"], strip_url);
    let modules = object["textModulesData"].as_array().unwrap();
    let lines: Vec<&Value> = modules.iter().map(|m| &m["body"]).collect();
    assert!(lines.contains(&&json!("Open 7–19")), "{modules:?}");
    assert!(lines.contains(&&json!("Oat milk free")), "{modules:?}");
    let r = fetch("GET", &strip_url, &[], None);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("image/png"));
    assert_eq!(png_of(&r.bytes), (1032, 336, blended));

    // A preset strip has no artwork in stampd: none is drawn.
    app.api(
        "PATCH",
        &format!("/cards/{}", cc["card_id"]),
        Some(json!({"card": {"strip_type": "preset", "strip_preset": "waves"}})),
    );
    assert_eq!(fetch("GET", &strip_url, &[], None).status, 404);
    let unknown = format!("{}/passes/{}/strip.png", app.base, uuid::Uuid::new_v4());
    assert_eq!(fetch("GET", &unknown, &[], None).status, 404);
}

// ---------------------------------------------------------------------------------
// Without wallets, and with broken wallet settings
// ---------------------------------------------------------------------------------

#[test]
fn unconfigured_wallet_links_redirect_to_the_web_card() {
    let app = spawn_app_in(|_, _| {});
    let cc = app.enrolled_customer(1);
    let uuid = cc["uuid"].as_str().unwrap();
    let web_card = format!("{}/c/{uuid}", app.base);
    for link in ["apple_wallet_url", "google_wallet_url"] {
        let r = fetch("GET", cc[link].as_str().unwrap(), &[], None);
        assert_eq!(r.status, 302, "{link}: {}", r.text);
        assert_eq!(r.header("location"), Some(web_card.as_str()), "{link}");
    }
    // Without Apple Wallet there is no pass web service.
    let r = app.service(
        "GET",
        &format!("/passes/{PASS_TYPE_ID}/{uuid}"),
        Some("0123456789abcdef"),
        None,
    );
    assert_eq!(r.status, 404);
    // What is not a card link at all is not found.
    let r = fetch(
        "GET",
        &format!("{}/passes/x%0d%0a/google", app.base),
        &[],
        None,
    );
    assert_eq!(r.status, 404);
}

#[test]
fn startup_names_the_wallet_setting_that_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let apple = apple_chain(dir.path());
    let base = test_settings(&dir.path().join("stampd.db"));
    let with_apple = |apple: AppleSettings| Settings {
        apple: Some(apple),
        ..base.clone()
    };

    let e = start_error(with_apple(AppleSettings {
        private_key: dir.path().join("wwdr.key"),
        ..apple.clone()
    }));
    assert!(e.contains("`apple_private_key`"), "{e}");
    assert!(e.contains("not the private key"), "{e}");

    let e = start_error(with_apple(AppleSettings {
        wwdr_certificate: dir.path().join("root.pem"),
        ..apple.clone()
    }));
    assert!(e.contains("`apple_wwdr_certificate`"), "{e}");

    let e = start_error(with_apple(AppleSettings {
        pass_type_id: "pass.com.example.other".into(),
        ..apple.clone()
    }));
    assert!(e.contains("`apple_pass_type_id`"), "{e}");
    assert!(
        e.contains("is \"pass.com.example.other\", but the certificate"),
        "{e}"
    );

    let e = start_error(with_apple(AppleSettings {
        team_id: "OTHERTEAM1".into(),
        ..apple.clone()
    }));
    assert!(e.contains("`apple_team_id`"), "{e}");
    assert!(e.contains("is \"OTHERTEAM1\", but the certificate"), "{e}");
    assert!(e.contains("belongs to team"), "{e}");

    let e = start_error(with_apple(AppleSettings {
        certificate: dir.path().join("missing.pem"),
        ..apple.clone()
    }));
    assert!(e.contains("`apple_certificate`"), "{e}");
    assert!(e.contains("missing.pem"), "{e}");

    let e = start_error(with_apple(AppleSettings {
        private_key: dir.path().join("wwdr.csr"),
        ..apple.clone()
    }));
    assert!(e.contains("`apple_private_key`"), "{e}");

    let bad_key = dir.path().join("bad-service-account.json");
    std::fs::write(&bad_key, r#"{"client_email": "x@example.com"}"#).unwrap();
    let e = start_error(Settings {
        google: Some(GoogleSettings {
            issuer_id: ISSUER_ID.into(),
            service_account_key: bad_key,
        }),
        ..base.clone()
    });
    assert!(e.contains("`google_service_account_key`"), "{e}");
    assert!(e.contains("private_key"), "{e}");
}
