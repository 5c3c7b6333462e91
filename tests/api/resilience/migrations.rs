//! Migrations: a database made by the first schema (`migrate_to(conn, 1)`), filled with
//! plain SQL as a stampd of that version would have left it, is opened by this stampd
//! (`stampd migrate`, and `stampd serve` on its own) and served with its data intact.
//! Every migration after V1, as it is added, runs in this test.

use serde_json::json;

use super::checks::*;
use crate::support::binary::*;

/// The token of the old database (only its SHA-256 is stored, as stampd does).
pub(super) const TOKEN: &str = "stampd_00112233445566778899aabbccddeeff0011223344556677";
const UUID: &str = "6f1c1a52-5b0e-4c39-9a0e-2f1d8b7c9e41";
const T0: &str = "2024-03-01T09:00:00.000Z";

/// Builds a schema-1 database at `path` with one store, token, card, reward, customer
/// (with an external reference), an enrolment with five stamps and its ledger, and a
/// delivery.
pub(super) fn build_v1(path: &std::path::Path) {
    let mut conn = rusqlite::Connection::open(path).expect("open");
    stampd::db::migrate_to(&mut conn, 1).expect("migrate to V1");
    let version = count(
        &conn,
        "SELECT max(version) FROM refinery_schema_history",
        [],
    );
    assert_eq!(version, 1, "migrate_to(1) stops at V1");
    let hash = stampd::tokens::hash(TOKEN);
    conn.execute_batch("BEGIN").unwrap();
    conn.execute(
        "INSERT INTO stores (id, name, store_name, created_at, updated_at)
         VALUES (7, 'Old Shop', 'Ann''s Coffee', ?1, ?1)",
        [T0],
    )
    .unwrap();
    conn.execute(
        "INSERT INTO api_tokens (id, name, token_hash, created_at) VALUES (2, 'counter', ?1, ?2)",
        rusqlite::params![&hash[..], T0],
    )
    .unwrap();
    conn.execute_batch(
        "INSERT INTO api_token_stores (token_id, store_id) VALUES (2, 7);
         INSERT INTO cards (id, store_id, name, card_color, text_color, stamp_icon, stamp_color,
             stamp_background_color, stamps_required, initial_stamps, strip_type, strip_color,
             strip_preset, header_text, show_member_field, show_stamps_to_reward_field,
             expires_at, archived_at, created_at, updated_at)
         VALUES (3, 7, 'Coffee Club', '#112233', '#FFFFFF', 'coffee', '#AA0000', '#FFEEDD', 8, 1,
             'color', '#445566', NULL, 'Welcome back', 1, 0, NULL, NULL,
             '2024-03-01T09:00:00.000Z', '2024-03-01T09:00:00.000Z');
         INSERT INTO rewards (id, store_id, card_id, name, description, stamps_required,
             position, active, created_at, updated_at)
         VALUES (5, 7, 3, 'Free coffee', 'Any size', 8, 0, 1,
             '2024-03-01T09:00:00.000Z', '2024-03-01T09:00:00.000Z');
         INSERT INTO customers (id, store_id, first_name, last_name, email, phone, birthday,
             metadata, first_name_key, last_name_key, created_at, updated_at)
         VALUES (11, 7, 'Zoë', 'O''Brien', 'zoe@example.com', '+14155550132', '1990-05-17',
             '{\"tier\":\"gold\",\"visits\":12}', 'zoë', 'o''brien',
             '2024-03-02T10:00:00.000Z', '2024-03-02T10:00:00.000Z');
         INSERT INTO external_references (store_id, customer_id, source, external_id, metadata,
             created_at, updated_at)
         VALUES (7, 11, 'pos', 'P-100', '{}', '2024-03-02T10:00:00.000Z',
             '2024-03-02T10:00:00.000Z');",
    )
    .unwrap();
    conn.execute(
        "INSERT INTO customer_cards (id, store_id, customer_id, card_id, code, uuid, stamps_count,
             pass_auth_token, issued_at, created_at, updated_at)
         VALUES (13, 7, 11, 3, 'AC3D7FGH', ?1, 5, 'aabbccddeeff00112233445566778899',
             '2024-03-02T10:00:00.000Z', '2024-03-02T10:00:00.000Z', '2024-03-02T10:00:00.000Z')",
        [UUID],
    )
    .unwrap();
    conn.execute_batch(
        "INSERT INTO stamp_events (store_id, customer_card_id, kind, stamps, balance_after,
             note, token_id, created_at)
         VALUES (7, 13, 'welcome_bonus', 1, 1, NULL, NULL, '2024-03-02T10:00:00.000Z'),
                (7, 13, 'stamp', 3, 4, 'three coffees', 2, '2024-03-03T10:00:00.000Z'),
                (7, 13, 'stamp', 1, 5, NULL, 2, '2024-03-04T10:00:00.000Z');
         INSERT INTO deliveries (id, store_id, customer_id, customer_card_id, channel, address,
             status, attempts, last_error, next_attempt_at, sent_at, created_at, updated_at)
         VALUES (17, 7, 11, 13, 'email', 'zoe@example.com', 'sent', 1, NULL,
             '2024-03-02T10:00:00.000Z', '2024-03-02T10:00:05.000Z',
             '2024-03-02T10:00:00.000Z', '2024-03-02T10:00:05.000Z');
         COMMIT;",
    )
    .unwrap();
    // A customer of another store who would match the same searches, and one of this
    // store erased on request (as stampd erased them: one UPDATE).
    conn.execute_batch(
        "INSERT INTO stores (id, name, store_name, created_at, updated_at)
         VALUES (8, 'Next Door', 'Next Door', '2024-03-01T09:00:00.000Z',
             '2024-03-01T09:00:00.000Z');
         INSERT INTO customers (id, store_id, first_name, last_name, email, phone,
             metadata, first_name_key, last_name_key, created_at, updated_at)
         VALUES (12, 8, 'Zoë', 'Obrien', 'zoe@next.example', '+14155550133', '{}', 'zoë',
             'obrien', '2024-03-02T10:00:00.000Z', '2024-03-02T10:00:00.000Z'),
                (14, 7, 'Zora', 'Brienne', 'zora@example.com', NULL, '{}', 'zora',
             'brienne', '2024-03-02T11:00:00.000Z', '2024-03-02T11:00:00.000Z');
         UPDATE customers SET first_name = '', first_name_key = '', last_name = NULL,
             last_name_key = NULL, email = NULL, phone = NULL, metadata = '{}',
             erased_at = '2024-03-05T10:00:00.000Z', updated_at = '2024-03-05T10:00:00.000Z'
         WHERE id = 14;",
    )
    .unwrap();
    // The V1 triggers kept the counters.
    let counts: (i64, i64) = conn
        .query_row(
            "SELECT customers_count, cards_count FROM stores WHERE id = 7",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(counts, (1, 1));
}

pub(super) fn schema_version(path: &std::path::Path) -> i64 {
    count(
        &open_db(path),
        "SELECT max(version) FROM refinery_schema_history",
        [],
    )
}

#[test]
fn a_first_schema_database_migrates_forward_with_its_data() {
    let known = stampd::db::known_schema_version();
    assert!(known >= 1);

    // `stampd migrate` on one copy.
    let env = Env::new(&[]);
    build_v1(&env.db);
    let copy = Env::new(&[]);
    std::fs::copy(&env.db, &copy.db).expect("copy");
    let out = copy.ok(&["migrate"]);
    assert!(out.contains("up to date"), "{out}");
    assert_eq!(schema_version(&copy.db), known);
    {
        let conn = open_db(&copy.db);
        assert_eq!(integrity_check(&conn), "ok");
        assert_eq!(foreign_key_violations(&conn), 0);
        // V3: the search index was written again in small leaf pages.
        assert_eq!(
            count(
                &conn,
                "SELECT v FROM customer_search_config WHERE k = 'pgsz'",
                []
            ),
            1000
        );
        let row: (String, String, i64, String) = conn
            .query_row(
                "SELECT c.first_name, c.metadata, cc.stamps_count, cc.code
                 FROM customers c JOIN customer_cards cc ON cc.customer_id = c.id
                 WHERE c.id = 11",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .unwrap();
        assert_eq!(
            row,
            (
                "Zoë".to_string(),
                "{\"tier\":\"gold\",\"visits\":12}".to_string(),
                5,
                "AC3D7FGH".to_string()
            )
        );
        assert_eq!(
            count(
                &conn,
                "SELECT sum(stamps) FROM stamp_events WHERE customer_card_id = 13",
                []
            ),
            5
        );
        // V4: the delivery is a row of the one outbox, with its id; `deliveries` is gone.
        assert_eq!(
            outbox_rows(&conn),
            vec![delivery_row(
                17,
                "email",
                "zoe@example.com",
                "sent",
                1,
                None,
                "2024-03-02T10:00:00.000Z",
                Some("2024-03-02T10:00:05.000Z"),
                "2024-03-02T10:00:05.000Z",
            )]
        );
        assert_eq!(
            count(
                &conn,
                "SELECT count(*) FROM sqlite_schema WHERE name = 'deliveries'",
                []
            ),
            0
        );
    }
    // Again: nothing left to do, nothing changed.
    copy.ok(&["migrate"]);
    assert_eq!(schema_version(&copy.db), known);

    // `stampd serve` straight on the other: it migrates on start and serves the data.
    let mut server = Server::start(&env);
    assert!(
        !server.stdout().contains("curl"),
        "a database with a store is no first start: {}",
        server.stdout()
    );
    let client = Client::new(&server, TOKEN, 7);

    let r = client.get("/api/v1/accounts");
    assert_eq!(r.status, 200, "the old token works: {}", r.text);
    assert_eq!(r.body.as_array().map(Vec::len), Some(1), "{}", r.text);
    let store = &r.body[0];
    assert_eq!(store["id"], 7);
    assert_eq!(store["name"], "Old Shop");
    assert_eq!(store["store_name"], "Ann's Coffee");
    assert_eq!(store["customers_count"], 1);
    assert_eq!(store["cards_count"], 1);
    assert_eq!(store["created_at"], T0);

    let card = client.get(&client.store_path("/cards/3"));
    assert_eq!(card.status, 200, "{}", card.text);
    for (k, v) in [
        ("name", json!("Coffee Club")),
        ("card_color", json!("#112233")),
        ("text_color", json!("#FFFFFF")),
        ("stamp_icon", json!("coffee")),
        ("stamp_color", json!("#AA0000")),
        ("stamp_background_color", json!("#FFEEDD")),
        ("stamps_required", json!(8)),
        ("initial_stamps", json!(1)),
        ("strip_type", json!("color")),
        ("strip_color", json!("#445566")),
        ("header_text", json!("Welcome back")),
        ("show_member_field", json!(true)),
        ("show_stamps_to_reward_field", json!(false)),
        // V7: Leal's card fields, at their defaults.
        ("strip_opacity", json!(100)),
        ("auxiliary_fields", json!([])),
        ("rewards_count", json!(1)),
        ("customer_cards_count", json!(1)),
    ] {
        assert_eq!(card.body[k], v, "card {k}: {}", card.text);
    }
    let reward = client.get(&client.store_path("/rewards/5"));
    assert_eq!(reward.status, 200, "{}", reward.text);
    assert_eq!(reward.body["name"], "Free coffee");
    assert_eq!(reward.body["stamps_required"], 8);

    let c = client.get(&client.store_path("/customers/11"));
    assert_eq!(c.status, 200, "{}", c.text);
    for (k, v) in [
        ("first_name", json!("Zoë")),
        ("last_name", json!("O'Brien")),
        ("email", json!("zoe@example.com")),
        ("phone", json!("+14155550132")),
        ("birthday", json!("1990-05-17")),
        ("metadata", json!({"tier": "gold", "visits": 12})),
    ] {
        assert_eq!(c.body[k], v, "customer {k}: {}", c.text);
    }
    assert_eq!(c.body["external_references"][0]["source"], "pos");
    assert_eq!(c.body["external_references"][0]["external_id"], "P-100");
    assert_eq!(c.body["customer_cards"][0]["id"], 13, "{}", c.text);
    assert_eq!(c.body["customer_cards"][0]["stamps_count"], 5);

    // The search indexes built by the V1 triggers still find the customer.
    for q in [
        "search=brien",
        "search=Zo",
        "search=555%200132",
        "search=ac3d-7fgh",
        "search=P-100",
        "source=pos&external_id=P-100",
    ] {
        let r = client.get(&client.store_path(&format!("/customers?{q}")));
        assert_eq!(r.status, 200, "{q}: {}", r.text);
        assert_eq!(r.body["pagination"]["count"], 1, "{q}: {}", r.text);
        assert_eq!(r.body["customers"][0]["id"], 11, "{q}: {}", r.text);
    }
    // Rebuilt by store (V2): the other store's Zoë and the erased Zora are not found,
    // and the list counts by block agree with the store's counter.
    {
        let conn = open_db(&env.db);
        assert_eq!(
            count(
                &conn,
                "SELECT sum(customers) FROM customer_pages WHERE store_id = 7",
                []
            ),
            1
        );
        assert_eq!(
            count(
                &conn,
                "SELECT sum(customers) FROM customer_pages WHERE store_id = 8",
                []
            ),
            1
        );
    }
    let r = client.get(&client.store_path("/customers?items=1&page=1"));
    assert_eq!(r.body["pagination"]["count"], 1, "{}", r.text);
    assert_eq!(r.body["customers"][0]["id"], 11, "{}", r.text);

    let cc = client.get(&client.card_path(11, 13, ""));
    assert_eq!(cc.status, 200, "{}", cc.text);
    assert_eq!(cc.body["stamps_count"], 5);
    assert_eq!(cc.body["stamps_required"], 8);
    assert_eq!(cc.body["code"], "AC3D7FGH");
    assert_eq!(cc.body["uuid"], UUID);
    let (events, n) = client.all_events(11, 13);
    assert_eq!(n, 3);
    let mut rows: Vec<(String, i64, i64)> = events
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap().to_string(),
                e["stamps"].as_i64().unwrap(),
                e["balance_after"].as_i64().unwrap(),
            )
        })
        .collect();
    rows.sort_by_key(|r| r.2);
    assert_eq!(
        rows,
        vec![
            ("welcome_bonus".into(), 1, 1),
            ("stamp".into(), 3, 4),
            ("stamp".into(), 1, 5)
        ]
    );
    let deliveries = client.get(&client.store_path("/deliveries"));
    assert_eq!(deliveries.status, 200, "{}", deliveries.text);
    assert_eq!(
        deliveries.body["pagination"]["count"], 1,
        "{}",
        deliveries.text
    );
    let page = client.send("GET", &format!("/c/{UUID}"), None);
    assert_eq!(page.status, 200, "web card page: {}", page.text);
    assert!(page.text.contains("Coffee Club"), "{}", page.text);

    // Old data takes new writes: stamp, redeem, enrol.
    let r = client.post(&client.card_path(11, 13, "/stamp"), &json!({"stamps": 3}));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["stamps_count"], 8);
    let r = client.post(
        &client.card_path(11, 13, "/redeem"),
        &json!({"reward_id": 5}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["redemption"]["stamps_remaining"], 0, "{}", r.text);
    let (events, n) = client.all_events(11, 13);
    assert_eq!(n, 5);
    assert_eq!(
        events
            .iter()
            .map(|e| e["stamps"].as_i64().unwrap())
            .sum::<i64>(),
        0
    );
    let (id, _) = client.enrol(3, "new@example.com");
    assert!(id > 11, "new rows do not reuse old ids: {id}");
    let store = client.get(&client.store_path(""));
    assert_eq!(store.body["customers_count"], 2);
    server.stop();

    assert_eq!(schema_version(&env.db), known);
    let conn = open_db(&env.db);
    assert_eq!(integrity_check(&conn), "ok");
    assert_eq!(foreign_key_violations(&conn), 0);
}

/// A row of `deliveries` (V1–V3) as the columns it shares with `outbox` (V4).
#[derive(Debug, PartialEq)]
struct DeliveryRow {
    id: i64,
    store_id: i64,
    customer_id: i64,
    customer_card_id: i64,
    channel: String,
    address: String,
    status: String,
    attempts: i64,
    last_error: Option<String>,
    next_attempt_at: String,
    sent_at: Option<String>,
    created_at: String,
    updated_at: String,
}

#[allow(clippy::too_many_arguments)]
fn delivery_row(
    id: i64,
    channel: &str,
    address: &str,
    status: &str,
    attempts: i64,
    last_error: Option<&str>,
    next_attempt_at: &str,
    sent_at: Option<&str>,
    updated_at: &str,
) -> DeliveryRow {
    DeliveryRow {
        id,
        store_id: 7,
        customer_id: 11,
        customer_card_id: 13,
        channel: channel.into(),
        address: address.into(),
        status: status.into(),
        attempts,
        last_error: last_error.map(Into::into),
        next_attempt_at: next_attempt_at.into(),
        sent_at: sent_at.map(Into::into),
        created_at: "2024-03-02T10:00:00.000Z".into(),
        updated_at: updated_at.into(),
    }
}

fn rows_of(conn: &rusqlite::Connection, table: &str) -> Vec<DeliveryRow> {
    conn.prepare(&format!(
        "SELECT id, store_id, customer_id, customer_card_id, channel, address, status,
             attempts, last_error, next_attempt_at, sent_at, created_at, updated_at
         FROM {table} ORDER BY id"
    ))
    .unwrap()
    .query_map([], |r| {
        Ok(DeliveryRow {
            id: r.get(0)?,
            store_id: r.get(1)?,
            customer_id: r.get(2)?,
            customer_card_id: r.get(3)?,
            channel: r.get(4)?,
            address: r.get(5)?,
            status: r.get(6)?,
            attempts: r.get(7)?,
            last_error: r.get(8)?,
            next_attempt_at: r.get(9)?,
            sent_at: r.get(10)?,
            created_at: r.get(11)?,
            updated_at: r.get(12)?,
        })
    })
    .unwrap()
    .collect::<rusqlite::Result<_>>()
    .unwrap()
}

/// The outbox rows, checked to be plain card-link rows (no payload, no key).
fn outbox_rows(conn: &rusqlite::Connection) -> Vec<DeliveryRow> {
    assert_eq!(
        count(
            conn,
            "SELECT count(*) FROM outbox WHERE payload IS NOT NULL OR key IS NOT NULL",
            []
        ),
        0
    );
    rows_of(conn, "outbox")
}

/// A schema-3 database (the last with `deliveries`) holding deliveries in every state:
/// sent, waiting unconfigured, waiting for a retry after failed tries, and given up on.
#[test]
fn a_third_schema_database_keeps_its_deliveries_in_the_outbox() {
    let env = Env::new(&[]);
    build_v1(&env.db);
    let before = {
        let mut conn = rusqlite::Connection::open(&env.db).expect("open");
        stampd::db::migrate_to(&mut conn, 3).expect("migrate to V3");
        conn.execute_batch(
            "INSERT INTO deliveries (id, store_id, customer_id, customer_card_id, channel,
                 address, status, attempts, last_error, next_attempt_at, sent_at, created_at,
                 updated_at)
             VALUES (18, 7, 11, 13, 'sms', '+14155550132', 'pending', 0, 'not configured',
                 '2024-03-02T10:00:00.000Z', NULL, '2024-03-02T10:00:00.000Z',
                 '2024-03-02T10:00:01.000Z'),
                    (21, 7, 11, 13, 'email', 'zoe@example.com', 'pending', 2,
                 'SMTP: Connection refused (os error 111)', '2124-03-02T10:01:30.000Z', NULL,
                 '2024-03-02T10:00:00.000Z', '2024-03-02T10:00:30.000Z'),
                    (25, 7, 11, 13, 'sms', '+14155550132', 'failed', 8,
                 'SMS gateway answered 500: {\"code\": 20500}', '2024-03-02T12:00:00.000Z',
                 NULL, '2024-03-02T10:00:00.000Z', '2024-03-02T12:00:00.000Z');",
        )
        .expect("deliveries of V3");
        rows_of(&conn, "deliveries")
    };
    assert_eq!(before.len(), 4, "the sent one of V1 and three more");
    assert_eq!(schema_version(&env.db), 3);

    env.ok(&["migrate"]);
    assert_eq!(schema_version(&env.db), stampd::db::known_schema_version());
    {
        let conn = open_db(&env.db);
        assert_eq!(outbox_rows(&conn), before, "every row, column for column");
        assert_eq!(
            count(
                &conn,
                "SELECT count(*) FROM sqlite_schema WHERE name = 'deliveries'",
                []
            ),
            0
        );
        assert_eq!(integrity_check(&conn), "ok");
        assert_eq!(foreign_key_violations(&conn), 0);
    }

    // Served: the same ids and states in the list, and new rows after the old ids.
    let mut server = Server::start(&env);
    let client = Client::new(&server, TOKEN, 7);
    let r = client.get(&client.store_path("/deliveries"));
    assert_eq!(r.status, 200, "{}", r.text);
    let listed: Vec<(i64, String, String, i64)> = r.body["deliveries"]
        .as_array()
        .expect("deliveries")
        .iter()
        .map(|d| {
            (
                d["id"].as_i64().unwrap(),
                d["channel"].as_str().unwrap().to_string(),
                d["status"].as_str().unwrap().to_string(),
                d["attempts"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        listed,
        vec![
            (25, "sms".into(), "failed".into(), 8),
            (21, "email".into(), "pending".into(), 2),
            (18, "sms".into(), "pending".into(), 0),
            (17, "email".into(), "sent".into(), 1),
        ],
        "{}",
        r.text
    );
    assert_eq!(
        r.body["deliveries"][0]["last_error"],
        "SMS gateway answered 500: {\"code\": 20500}"
    );
    assert_eq!(
        r.body["deliveries"][3]["sent_at"],
        "2024-03-02T10:00:05.000Z"
    );
    let sms = client.get(&client.store_path("/deliveries?channel=sms"));
    assert_eq!(sms.body["pagination"]["count"], 2, "{}", sms.text);
    let r = client.post(
        &client.store_path("/customers/11/send_card_links"),
        &json!({}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let ids: Vec<i64> = r.body["deliveries"]
        .as_array()
        .expect("queued")
        .iter()
        .map(|d| d["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids.len(), 2, "{}", r.text);
    assert!(
        ids.iter().all(|id| *id > 25),
        "new ids follow the old: {ids:?}"
    );
    server.stop();
}

/// A schema-6 database (the last with stampd's own poster fields) holding a poster of
/// each contact mode, some with a required birthday: V7 gives each Leal's fields and
/// keeps what its signup form asks for.
#[test]
fn a_sixth_schema_database_keeps_what_its_posters_ask() {
    let env = Env::new(&[]);
    build_v1(&env.db);
    {
        let mut conn = rusqlite::Connection::open(&env.db).expect("open");
        stampd::db::migrate_to(&mut conn, 6).expect("migrate to V6");
        conn.execute_batch(
            "INSERT INTO posters (id, store_id, card_id, token, title, paper_size, primary_color,
                 secondary_color, text_color, contact_collection_mode, birthday_required, active,
                 created_at, updated_at)
             VALUES
                 (21, 7, 3, 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1', 'Either', 'a4', '#3B2F2F',
                  '#F5B041', '#FFFFFF', 'email_or_phone', 0, 1, '2024-03-01T09:00:00.000Z',
                  '2024-03-01T09:00:00.000Z'),
                 (22, 7, 3, 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa2', 'Both', 'a5', '#3B2F2F',
                  '#F5B041', '#FFFFFF', 'email_and_phone', 1, 1, '2024-03-01T09:00:00.000Z',
                  '2024-03-01T09:00:00.000Z'),
                 (23, 7, 3, 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa3', 'Mail', 'a6', '#3B2F2F',
                  '#F5B041', '#FFFFFF', 'email', 0, 0, '2024-03-01T09:00:00.000Z',
                  '2024-03-01T09:00:00.000Z'),
                 (24, 7, 3, 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa4', 'Text', 'letter', '#3B2F2F',
                  '#F5B041', '#FFFFFF', 'phone', 1, 1, '2024-03-01T09:00:00.000Z',
                  '2024-03-01T09:00:00.000Z');",
        )
        .expect("posters of V6");
    }
    assert_eq!(schema_version(&env.db), 6);

    env.ok(&["migrate"]);
    assert_eq!(schema_version(&env.db), stampd::db::known_schema_version());
    {
        let conn = open_db(&env.db);
        assert_eq!(integrity_check(&conn), "ok");
        assert_eq!(foreign_key_violations(&conn), 0);
    }

    let mut server = Server::start(&env);
    let client = Client::new(&server, TOKEN, 7);
    let r = client.get(&client.store_path("/posters"));
    assert_eq!(r.status, 200, "{}", r.text);
    let fields = |p: &serde_json::Value| {
        json!([
            p["id"],
            p["contact_collection_mode"],
            p["collect_email"],
            p["collect_phone"],
            p["require_email"],
            p["require_phone"],
            p["require_birthday"],
            p["minimum_age"],
            p["active"]
        ])
    };
    let got: Vec<serde_json::Value> = r
        .body
        .as_array()
        .expect("posters")
        .iter()
        .map(fields)
        .collect();
    assert_eq!(
        got,
        vec![
            json!([
                21,
                "email_and_phone",
                true,
                true,
                false,
                false,
                false,
                null,
                true
            ]),
            json!([
                22,
                "email_and_phone",
                true,
                true,
                true,
                true,
                true,
                null,
                true
            ]),
            json!([
                23,
                "email_only",
                true,
                false,
                false,
                false,
                false,
                null,
                false
            ]),
            json!([
                24,
                "phone_only",
                false,
                true,
                false,
                false,
                true,
                null,
                true
            ]),
        ],
        "{}",
        r.text
    );
    assert!(r.body[0].get("birthday_required").is_none(), "{}", r.text);
    assert_eq!(r.body[1]["title"], "Both");
    assert_eq!(r.body[1]["paper_size"], "a5");

    // The form of the poster that required both still requires both.
    let form = client.send("GET", "/s/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa2", None);
    assert_eq!(form.status, 200, "{}", form.text);
    for name in ["email", "phone", "birthday"] {
        let tag = form
            .text
            .split("<input")
            .find(|t| t.contains(&format!("name=\"{name}\"")))
            .unwrap_or_else(|| panic!("a {name} field: {}", form.text));
        assert!(tag.contains(" required"), "{name}: {tag}");
    }
    // Old names keep working as aliases on the way in.
    let r = client.send(
        "PATCH",
        &client.store_path("/posters/21"),
        Some(&json!({"poster": {"contact_collection_mode": "phone", "birthday_required": true}})),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["contact_collection_mode"], "phone_only");
    assert_eq!(r.body["require_birthday"], true);
    server.stop();
}
