//! Tokens in the clear: after a session of requests (good and bad) at debug log level,
//! no token is found in the database file, its `-wal` and `-shm`, or anything the
//! server printed, except the first-start banner that is meant to show it. A token
//! revoked with `stampd token revoke` is refused from the very next request on.

use serde_json::json;

use super::checks::*;
use crate::support::binary::*;

/// Where `needle` occurs in `hay`.
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The forms in which a token could be kept: as typed, its random part in hex, and
/// that part's raw bytes.
fn forms(token: &str) -> Vec<(String, Vec<u8>)> {
    let hex = token.strip_prefix("stampd_").expect("stampd_ prefix");
    let raw: Vec<u8> = (0..hex.len() / 2)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect("hex"))
        .collect();
    vec![
        ("the token".into(), token.as_bytes().to_vec()),
        ("its hex part".into(), hex.as_bytes().to_vec()),
        ("its raw random bytes".into(), raw),
    ]
}

/// Fails when a token, in any of its forms, is in the file.
fn assert_not_in_file(path: &std::path::Path, tokens: &[&str], when: &str) {
    let Ok(bytes) = std::fs::read(path) else {
        return;
    };
    for t in tokens {
        for (what, needle) in forms(t) {
            assert!(
                find(&bytes, &needle).is_none(),
                "{when}: {what} of {t} is in {} (at byte {:?})",
                path.display(),
                find(&bytes, &needle)
            );
        }
    }
}

#[test]
fn tokens_are_never_stored_or_logged_and_revocation_is_immediate() {
    let env = Env::new(&[("log_level", "\"debug\"")]);
    let (mut server, client) = first_start(&env);
    let token = client.token.clone();
    let store = client.store_id;
    assert!(token.starts_with("stampd_"), "{token}");

    // A second token from the command line, for the till.
    let till = env
        .ok(&[
            "token",
            "create",
            "--account",
            &store.to_string(),
            "--name",
            "till",
        ])
        .trim()
        .to_string();
    let till_client = Client::new(&server, &till, store);

    // A session of requests, good and bad.
    let card = client.create_card("Coffee");
    let (customer, cc) = client.enrol(card, "tok@example.com");
    let stamp = client.card_path(customer, cc, "/stamp");
    let r = client
        .try_send(
            "POST",
            &stamp,
            Some(&token),
            Some(&json!({"stamps": 2, "note": "morning"})),
            &[("Idempotency-Key", "tok-1")],
        )
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        client
            .get(&client.card_path(customer, cc, "/events"))
            .status,
        200
    );
    let r = client.send(
        "PATCH",
        &client.store_path(""),
        Some(&json!({"account": {"store_name": "Tok Shop"}})),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let wrong = format!("{}0", &token[..token.len() - 1]);
    let wrong = if wrong == token {
        format!("{}1", &token[..token.len() - 1])
    } else {
        wrong
    };
    for (auth, expect) in [
        (format!("Bearer {wrong}"), 401),
        (format!("Bearer {token}x"), 401),
        (format!("Token {token}"), 401),
        (token.clone(), 401),
        (format!("bearer {token}"), 200),
    ] {
        let r = client
            .try_send(
                "GET",
                "/api/v1/accounts",
                None,
                None,
                &[("Authorization", &auth)],
            )
            .unwrap();
        assert_eq!(r.status, expect, "Authorization: {auth}: {}", r.text);
        assert!(!r.text.contains(&token), "an answer echoes the token");
    }
    // Valid token, bad requests.
    let r = client.post(&stamp, &json!({"stamps": 0}));
    assert_eq!(r.status, 422, "{}", r.text);
    let r = client.get("/api/v1/accounts/999999");
    assert_eq!(r.status, 404, "{}", r.text);
    let r = client
        .try_send(
            "POST",
            &client.store_path("/customers"),
            Some(&token),
            None,
            &[("Content-Type", "application/json")],
        )
        .unwrap();
    assert!(r.status == 400 || r.status == 422, "{}", r.text);

    // The till token works, then is revoked from the command line while serving.
    let till_stamp = |key: &str| {
        till_client
            .try_send(
                "POST",
                &stamp,
                Some(&till),
                Some(&json!({"stamps": 1})),
                &[("Idempotency-Key", key)],
            )
            .unwrap()
    };
    let r = till_stamp("till-1");
    assert_eq!(r.status, 200, "{}", r.text);
    let r = till_stamp("till-1");
    assert_eq!(r.header("Idempotent-Replayed"), Some("true"));
    assert_eq!(till_client.get("/api/v1/accounts").status, 200);
    let list = env.ok(&["token", "list"]);
    assert!(!list.contains(&till) && !list.contains(&token), "{list}");
    let id = list
        .lines()
        .find(|l| l.split_whitespace().nth(1) == Some("till"))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("no till row: {list}"))
        .to_string();
    env.ok(&["token", "revoke", &id]);
    // The very next requests, of every kind, are refused.
    let r = till_client.get("/api/v1/accounts");
    assert_eq!(r.status, 401, "revoked token, first request: {}", r.text);
    assert_eq!(
        r.body,
        json!({"error": "Unauthorized – invalid or missing API token"})
    );
    let r = till_stamp("till-1");
    assert_eq!(
        r.status, 401,
        "a revoked token gets no replay of its stored answer: {}",
        r.text
    );
    let r = till_stamp("till-2");
    assert_eq!(r.status, 401, "{}", r.text);
    assert_eq!(
        till_client.get(&client.store_path("/customers")).status,
        401
    );
    // The other token is untouched, and the refused stamps left no trace.
    let r = client.get(&client.card_path(customer, cc, ""));
    assert_eq!(r.status, 200);
    assert_eq!(r.body["stamps_count"], 3, "{}", r.text);

    // While serving: nothing in the database, its WAL or shared memory file.
    let tokens = [token.as_str(), till.as_str(), wrong.as_str()];
    for suffix in ["", "-wal", "-shm"] {
        assert_not_in_file(&env.sibling(suffix), &tokens, "while serving");
    }

    server.stop();
    for suffix in ["", "-wal", "-shm"] {
        assert_not_in_file(&env.sibling(suffix), &tokens, "after a clean stop");
    }
    // The scan looks at the right bytes: the hashes are there.
    let db = std::fs::read(&env.db).unwrap();
    for t in [&token, &till] {
        assert!(
            find(&db, &stampd::tokens::hash(t)).is_some(),
            "the hash of {t} is stored"
        );
    }

    // The logs: stderr never; stdout only inside the first-start banner.
    let log = server.log_text();
    assert!(
        log.contains("DEBUG"),
        "log_level debug logs debug lines: {}",
        tail(&log, 20)
    );
    assert!(
        log.contains("/api/v1/accounts"),
        "requests are logged: {}",
        tail(&log, 20)
    );
    for t in tokens {
        for (what, needle) in forms(t).into_iter().take(2) {
            assert!(
                find(log.as_bytes(), &needle).is_none(),
                "{what} of {t} is in the log:\n{}",
                log.lines()
                    .filter(|l| l.contains(std::str::from_utf8(&needle).unwrap()))
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        }
    }
    let out = server.stdout();
    let curl_end = out
        .find("curl")
        .and_then(|i| out[i..].find('\n').map(|j| i + j))
        .expect("banner curl line");
    let (banner, rest) = out.split_at(curl_end);
    assert_eq!(banner.matches(&token).count(), 2, "the banner: {banner}");
    assert!(
        banner
            .find("First start")
            .is_some_and(|i| i < banner.find(&token).unwrap()),
        "nothing before the banner shows the token: {banner}"
    );
    for t in tokens {
        for (what, needle) in forms(t).into_iter().take(2) {
            assert!(
                find(rest.as_bytes(), &needle).is_none(),
                "{what} of {t} is printed after the banner: {rest}"
            );
        }
    }
}
