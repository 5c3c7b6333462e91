//! The customer list: search, exact look-ups, store isolation, order and pagination.

use serde_json::{json, Value};

use crate::support::app::*;

/// Four customers of the test store, created in this order (ids ascending).
struct Seed {
    ann: i64,
    bob: i64,
    carla: i64,
    annabel: i64,
    bob_code: String,
}

fn seed(app: &TestApp) -> Seed {
    let card = app.create_card(json!({"name": "Coffee"}));
    let ann = app.create_customer(json!({"customer": {
        "first_name": "Ann", "last_name": "Lee",
        "email": "ann.lee@example.com", "phone": "(415) 555-0132",
        "external_references": [{"source": "crm", "external_id": "C-1"}]
    }}));
    let bob = app.create_customer(json!({
        "customer": {"first_name": "Bob", "last_name": "Stone",
            "email": "bob@stone.test", "phone": "(212) 555-0199"},
        "card_id": card["id"]
    }));
    let carla = app.create_customer(json!({"customer": {
        "first_name": "Carla", "last_name": "Diaz", "phone": "(415) 555-0177"
    }}));
    let annabel = app.create_customer(json!({"customer": {
        "first_name": "Annabel", "last_name": "Smith",
        "email": "annabel.smith@example.com",
        "external_references": [{"source": "pos", "external_id": "POS-7781"}]
    }}));
    Seed {
        ann: ann["id"].as_i64().unwrap(),
        bob: bob["id"].as_i64().unwrap(),
        carla: carla["id"].as_i64().unwrap(),
        annabel: annabel["id"].as_i64().unwrap(),
        bob_code: bob["customer_card"]["code"].as_str().unwrap().to_string(),
    }
}

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn list(app: &TestApp, query: &str) -> Resp {
    app.get(&app.store_path(&format!("/customers?{query}")))
}

/// The ids a search finds (first page), asserting a 200 whose count matches.
fn search(app: &TestApp, term: &str) -> Vec<i64> {
    let r = list(app, &format!("search={}", enc(term)));
    assert_eq!(r.status, 200, "search {term:?}: {}", r.text);
    let ids = ids(&r.body);
    assert_eq!(
        r.body["pagination"]["count"],
        ids.len() as i64,
        "count of {term:?}"
    );
    ids
}

fn ids(body: &Value) -> Vec<i64> {
    body["customers"]
        .as_array()
        .unwrap_or_else(|| panic!("no customers array: {body}"))
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect()
}

fn validation(errors: Value) -> Value {
    json!({"error": "Validation failed", "errors": errors})
}

#[test]
fn list_without_search_is_newest_first_with_full_customers() {
    let app = spawn_app();
    let s = seed(&app);
    let r = list(&app, "");
    assert_eq!(r.status, 200, "{}", r.text);
    let mut top: Vec<&String> = r.body.as_object().unwrap().keys().collect();
    top.sort();
    assert_eq!(top, ["customers", "pagination"]);
    assert_eq!(ids(&r.body), vec![s.annabel, s.carla, s.bob, s.ann]);
    assert_eq!(
        r.body["pagination"],
        json!({"count": 4, "items": 25, "page": 1, "pages": 1})
    );
    // Each entry is the full customer, as `show` gives it.
    let show = app.get(&app.store_path(&format!("/customers/{}", s.bob)));
    assert_eq!(r.body["customers"][2], show.body);
    assert_eq!(
        r.body["customers"][2]["customer_cards"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn blank_search_lists_everyone() {
    let app = spawn_app();
    let s = seed(&app);
    for q in ["search=", "search=%20%20", "search=&source=&external_id="] {
        let r = list(&app, q);
        assert_eq!(r.status, 200, "{q}: {}", r.text);
        assert_eq!(ids(&r.body), vec![s.annabel, s.carla, s.bob, s.ann], "{q}");
        assert_eq!(r.body["pagination"]["count"], 4, "{q}");
    }
}

#[test]
fn search_follows_updates() {
    let app = spawn_app();
    let s = seed(&app);
    let r = app.patch(
        &app.store_path(&format!("/customers/{}", s.ann)),
        &json!({"customer": {"first_name": "Marie", "last_name": "Curie",
            "email": "marie@radium.test", "phone": "(415) 555-0144"}}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(search(&app, "Marie Curie"), vec![s.ann]);
    assert_eq!(search(&app, "radium"), vec![s.ann]);
    assert_eq!(search(&app, "555 0144"), vec![s.ann]);
    assert_eq!(search(&app, "ma"), vec![s.ann]);
    assert_eq!(search(&app, "cu"), vec![s.ann]);
    // The old values no longer find her.
    assert_eq!(search(&app, "Ann Lee"), Vec::<i64>::new());
    assert_eq!(search(&app, "Ann"), vec![s.annabel]);
    assert_eq!(search(&app, "ann.lee@example.com"), Vec::<i64>::new());
    assert_eq!(search(&app, "555 0132"), Vec::<i64>::new());
    assert_eq!(search(&app, "le"), Vec::<i64>::new());

    // A cleared email is no longer searchable.
    let r = app.patch(
        &app.store_path(&format!("/customers/{}", s.annabel)),
        &json!({"customer": {"email": null, "phone": "(415) 555-0155"}}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(search(&app, "example"), Vec::<i64>::new());
    assert_eq!(search(&app, "annabel.smith@example.com"), Vec::<i64>::new());
    assert_eq!(search(&app, "Annabel"), vec![s.annabel]);
    // External references added later are found too.
    let r = app.patch(
        &app.store_path(&format!("/customers/{}", s.carla)),
        &json!({"customer": {"external_references": [{"source": "pos", "external_id": "P-9"}]}}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(search(&app, "P-9"), vec![s.carla]);
}

#[test]
fn search_by_names() {
    let app = spawn_app();
    let s = seed(&app);
    assert_eq!(search(&app, "Ann"), vec![s.annabel, s.ann]);
    assert_eq!(search(&app, "Carla"), vec![s.carla]);
    assert_eq!(search(&app, "Stone"), vec![s.bob]);
    assert_eq!(search(&app, "Diaz"), vec![s.carla]);
    assert_eq!(search(&app, "Lee"), vec![s.ann]);
    assert_eq!(search(&app, "Ann Lee"), vec![s.ann]);
    assert_eq!(search(&app, "Carla Diaz"), vec![s.carla]);
    assert_eq!(search(&app, "Annabel Smith"), vec![s.annabel]);
    assert_eq!(search(&app, "  Bob Stone  "), vec![s.bob]);
    // Fragments inside a name.
    assert_eq!(search(&app, "nabe"), vec![s.annabel]);
    assert_eq!(search(&app, "arl"), vec![s.carla]);
    // Not a name of anyone.
    assert_eq!(search(&app, "Zelda"), Vec::<i64>::new());
    // A full name in either order is the same person.
    assert_eq!(search(&app, "Lee Ann"), vec![s.ann]);
}

#[test]
fn searches_rank_exact_matches_then_name_starts_then_fragments() {
    let app = spawn_app();
    let new = |first: &str, last: &str, email: &str, refs: Value| -> i64 {
        app.create_customer(json!({"customer": {
            "first_name": first, "last_name": last, "email": email,
            "external_references": refs,
        }}))["id"]
            .as_i64()
            .unwrap()
    };
    let liam = new("Liam", "Carter", "lc@example.com", json!([]));
    let mason = new("Mason", "Williams", "mw@example.com", json!([]));
    let emma = new("Emma", "Thompson", "et@example.com", json!([]));
    let olivia = new("Olivia", "Liamson", "ol@example.com", json!([]));
    let noah = new(
        "Noah",
        "Brown",
        "nb@example.com",
        json!([{"source": "pos", "external_id": "liam"}]),
    );

    // Exact first (an external id), then names starting with it (newest first), then
    // names that only hold it.
    assert_eq!(search(&app, "liam"), vec![noah, olivia, liam, mason]);
    assert_eq!(search(&app, "Will"), vec![mason]);
    // Word order of a full name does not matter; beginnings of both words will do.
    assert_eq!(search(&app, "thompson emma"), vec![emma]);
    assert_eq!(search(&app, "Emma Thompson"), vec![emma]);
    assert_eq!(search(&app, "thom em"), vec![emma]);
    // An exact email before names that hold its letters.
    assert_eq!(search(&app, "et@example.com"), vec![emma]);
    // Pages follow the ranking.
    let r = list(&app, "search=liam&items=2&page=2");
    assert_eq!(ids(&r.body), vec![liam, mason]);
    assert_eq!(r.body["pagination"]["count"], json!(4));
    // Without a search the list stays newest first.
    let all = ids(&list(&app, "").body);
    assert_eq!(all, vec![noah, olivia, emma, mason, liam]);
}

#[test]
fn search_is_case_insensitive() {
    let app = spawn_app();
    let s = seed(&app);
    assert_eq!(search(&app, "ann"), vec![s.annabel, s.ann]);
    assert_eq!(search(&app, "ANN"), vec![s.annabel, s.ann]);
    assert_eq!(search(&app, "aNn lEe"), vec![s.ann]);
    assert_eq!(search(&app, "STONE"), vec![s.bob]);
    assert_eq!(search(&app, "EXAMPLE.COM"), vec![s.annabel, s.ann]);
    assert_eq!(search(&app, "Bob@Stone.Test"), vec![s.bob]);
}

#[test]
fn search_by_email() {
    let app = spawn_app();
    let s = seed(&app);
    assert_eq!(search(&app, "example"), vec![s.annabel, s.ann]);
    assert_eq!(search(&app, "stone.te"), vec![s.bob]);
    assert_eq!(search(&app, "lee@exa"), vec![s.ann]);
    assert_eq!(search(&app, "ann.lee@example.com"), vec![s.ann]);
    assert_eq!(search(&app, "bob@stone.test"), vec![s.bob]);
    assert_eq!(search(&app, "nobody@example.com"), Vec::<i64>::new());
}

#[test]
fn search_by_phone_digits() {
    let app = spawn_app();
    let s = seed(&app);
    assert_eq!(search(&app, "555 0132"), vec![s.ann]);
    assert_eq!(search(&app, "5550132"), vec![s.ann]);
    assert_eq!(search(&app, "(415) 555-0132"), vec![s.ann]);
    assert_eq!(search(&app, "+14155550132"), vec![s.ann]);
    assert_eq!(search(&app, "+1 415 555 0132"), vec![s.ann]);
    assert_eq!(search(&app, "212-555"), vec![s.bob]);
    assert_eq!(search(&app, "0177"), vec![s.carla]);
    assert_eq!(search(&app, "415"), vec![s.carla, s.ann]);
    assert_eq!(search(&app, "555"), vec![s.carla, s.bob, s.ann]);
    assert_eq!(search(&app, "555 0000"), Vec::<i64>::new());
    // A whole valid number is looked up exactly; one nobody has finds no one.
    assert_eq!(search(&app, "+1 415 555 0100"), Vec::<i64>::new());
    assert_eq!(search(&app, "(212) 555-0199"), vec![s.bob]);
}

#[test]
fn search_by_card_code_exactly() {
    let app = spawn_app();
    let s = seed(&app);
    let code = s.bob_code.clone();
    assert_eq!(code.len(), 8);
    assert_eq!(search(&app, &code), vec![s.bob]);
    assert_eq!(search(&app, &code.to_lowercase()), vec![s.bob]);
    let dashed = format!("{}-{}", &code[..4], &code[4..]);
    assert_eq!(search(&app, &dashed), vec![s.bob]);
    let spaced = format!(" {} {} ", &code[..4].to_lowercase(), &code[4..]);
    assert_eq!(search(&app, &spaced), vec![s.bob]);
    // A part of a code is not a code.
    assert_eq!(search(&app, &code[..7]), Vec::<i64>::new());
}

#[test]
fn search_by_external_reference_id() {
    let app = spawn_app();
    let s = seed(&app);
    assert_eq!(search(&app, "POS-7781"), vec![s.annabel]);
    assert_eq!(search(&app, "C-1"), vec![s.ann]);
    assert_eq!(search(&app, "POS-7782"), Vec::<i64>::new());
}

#[test]
fn one_and_two_character_searches_match_name_prefixes() {
    let app = spawn_app();
    let s = seed(&app);
    assert_eq!(search(&app, "a"), vec![s.annabel, s.ann]);
    assert_eq!(search(&app, "A"), vec![s.annabel, s.ann]);
    assert_eq!(search(&app, "s"), vec![s.annabel, s.bob]);
    assert_eq!(search(&app, "an"), vec![s.annabel, s.ann]);
    assert_eq!(search(&app, "Di"), vec![s.carla]);
    assert_eq!(search(&app, "dI"), vec![s.carla]);
    assert_eq!(search(&app, "bo"), vec![s.bob]);
    assert_eq!(search(&app, "le"), vec![s.ann]);
    assert_eq!(search(&app, "z"), Vec::<i64>::new());
}

#[test]
fn source_and_external_id_are_an_exact_look_up() {
    let app = spawn_app();
    let s = seed(&app);
    let r = list(&app, "source=pos&external_id=POS-7781");
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(ids(&r.body), vec![s.annabel]);
    assert_eq!(
        r.body["pagination"],
        json!({"count": 1, "items": 25, "page": 1, "pages": 1})
    );
    assert_eq!(
        r.body["customers"][0]["external_references"],
        json!([{"source": "pos", "external_id": "POS-7781", "metadata": {}}])
    );

    for q in [
        "source=crm&external_id=POS-7781",
        "source=pos&external_id=POS-778",
        "source=pos&external_id=C-1",
        "source=POS&external_id=POS-7781",
    ] {
        let r = list(&app, q);
        assert_eq!(r.status, 200, "{q}: {}", r.text);
        assert_eq!(ids(&r.body), Vec::<i64>::new(), "{q}");
        assert_eq!(
            r.body["pagination"],
            json!({"count": 0, "items": 25, "page": 1, "pages": 1}),
            "{q}"
        );
    }
    let r = list(&app, "source=crm&external_id=C-1");
    assert_eq!(ids(&r.body), vec![s.ann]);
    // Either alone filters by it.
    let r = list(&app, "source=crm");
    assert_eq!(ids(&r.body), vec![s.ann]);
    let r = list(&app, "external_id=POS-7781");
    assert_eq!(ids(&r.body), vec![s.annabel]);
}

#[test]
fn search_never_returns_another_stores_customers() {
    let app = spawn_app();
    let s = seed(&app);
    let (other, other_token) = app.new_store("Other Store");
    let post = |body: Value| {
        let r = app.request(
            "POST",
            &format!("/api/v1/accounts/{other}/customers"),
            Some(&other_token),
            Some("application/json"),
            Some(&body.to_string()),
        );
        assert_eq!(r.status, 201, "{}", r.text);
        r.body["id"].as_i64().unwrap()
    };
    let card = app.request(
        "POST",
        &format!("/api/v1/accounts/{other}/cards"),
        Some(&other_token),
        Some("application/json"),
        Some(&json!({"card": {"name": "Theirs"}}).to_string()),
    );
    assert_eq!(card.status, 201);
    let twin = app.request(
        "POST",
        &format!("/api/v1/accounts/{other}/customers"),
        Some(&other_token),
        Some("application/json"),
        Some(
            &json!({"customer": {"first_name": "Ann", "last_name": "Lee",
                "email": "ann.lee@example.com", "phone": "(415) 555-0132",
                "external_references": [{"source": "pos", "external_id": "POS-7781"}]},
                "card_id": card.body["id"]})
            .to_string(),
        ),
    );
    assert_eq!(twin.status, 201, "{}", twin.text);
    let twin_id = twin.body["id"].as_i64().unwrap();
    let twin_code = twin.body["customer_card"]["code"]
        .as_str()
        .unwrap()
        .to_string();
    let stranger = post(json!({"customer": {"first_name": "Annika", "email": "annika@else.test"}}));

    assert_eq!(search(&app, "Ann"), vec![s.annabel, s.ann]);
    assert_eq!(search(&app, "an"), vec![s.annabel, s.ann]);
    assert_eq!(search(&app, "Ann Lee"), vec![s.ann]);
    assert_eq!(search(&app, "ann.lee@example.com"), vec![s.ann]);
    assert_eq!(search(&app, "555 0132"), vec![s.ann]);
    assert_eq!(search(&app, "annika"), Vec::<i64>::new());
    assert_eq!(search(&app, "else.test"), Vec::<i64>::new());
    assert_eq!(search(&app, &twin_code), Vec::<i64>::new());
    let r = list(&app, "source=pos&external_id=POS-7781");
    assert_eq!(ids(&r.body), vec![s.annabel]);
    let r = list(&app, "");
    assert_eq!(r.body["pagination"]["count"], 4);
    assert_eq!(ids(&r.body), vec![s.annabel, s.carla, s.bob, s.ann]);

    // The other store sees only its own.
    let r = app.request(
        "GET",
        &format!("/api/v1/accounts/{other}/customers?search=ann"),
        Some(&other_token),
        None,
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(ids(&r.body), vec![stranger, twin_id]);
    assert_eq!(r.body["pagination"]["count"], 2);
    // And our token cannot list it at all.
    let r = app.get(&format!("/api/v1/accounts/{other}/customers?search=ann"));
    assert_eq!(r.status, 404, "{}", r.text);
}

/// `n` customers: every third is a "Marta", the others "Pablo".
fn many(app: &TestApp, n: usize) -> Vec<i64> {
    (0..n)
        .map(|i| {
            let first = if i % 3 == 0 { "Marta" } else { "Pablo" };
            let c = app.create_customer(json!({"customer": {
                "first_name": first, "last_name": format!("Num{i}"),
                "email": format!("user{i}@example.com")
            }}));
            c["id"].as_i64().unwrap()
        })
        .collect()
}

#[test]
fn pagination_defaults_pages_and_clamping() {
    let app = spawn_app();
    let created = many(&app, 30);
    let newest_first: Vec<i64> = created.iter().rev().copied().collect();

    let r = list(&app, "");
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(ids(&r.body), newest_first[..25]);
    assert_eq!(
        r.body["pagination"],
        json!({"count": 30, "items": 25, "page": 1, "pages": 2})
    );

    let r = list(&app, "page=2");
    assert_eq!(ids(&r.body), newest_first[25..]);
    assert_eq!(
        r.body["pagination"],
        json!({"count": 30, "items": 25, "page": 2, "pages": 2})
    );

    let r = list(&app, "page=3");
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["customers"], json!([]));
    assert_eq!(
        r.body["pagination"],
        json!({"count": 30, "items": 25, "page": 3, "pages": 2})
    );

    let r = list(&app, "items=7&page=5");
    assert_eq!(ids(&r.body), newest_first[28..]);
    assert_eq!(
        r.body["pagination"],
        json!({"count": 30, "items": 7, "page": 5, "pages": 5})
    );

    let r = list(&app, "items=10&page=3");
    assert_eq!(ids(&r.body), newest_first[20..30]);
    assert_eq!(
        r.body["pagination"],
        json!({"count": 30, "items": 10, "page": 3, "pages": 3})
    );

    let r = list(&app, "items=500");
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(ids(&r.body), newest_first);
    assert_eq!(
        r.body["pagination"],
        json!({"count": 30, "items": 100, "page": 1, "pages": 1})
    );

    let r = list(&app, "items=100000000000000000000000");
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["pagination"]["items"], 100);

    let r = list(&app, "items=1&page=30");
    assert_eq!(ids(&r.body), vec![created[0]]);
    assert_eq!(
        r.body["pagination"],
        json!({"count": 30, "items": 1, "page": 30, "pages": 30})
    );
}

#[test]
fn pagination_of_a_search_counts_its_matches() {
    let app = spawn_app();
    let created = many(&app, 30);
    let martas: Vec<i64> = created
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 3 == 0)
        .map(|(_, id)| *id)
        .rev()
        .collect();
    assert_eq!(martas.len(), 10);

    let r = list(&app, "search=marta&items=4");
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(ids(&r.body), martas[..4]);
    assert_eq!(
        r.body["pagination"],
        json!({"count": 10, "items": 4, "page": 1, "pages": 3})
    );
    let r = list(&app, "search=marta&items=4&page=3");
    assert_eq!(ids(&r.body), martas[8..]);
    assert_eq!(
        r.body["pagination"],
        json!({"count": 10, "items": 4, "page": 3, "pages": 3})
    );
    let r = list(&app, "search=marta&items=4&page=4");
    assert_eq!(r.body["customers"], json!([]));
    assert_eq!(
        r.body["pagination"],
        json!({"count": 10, "items": 4, "page": 4, "pages": 3})
    );

    // Every customer's email contains "example": 30 matches.
    let r = list(&app, "search=example");
    assert_eq!(
        r.body["pagination"],
        json!({"count": 30, "items": 25, "page": 1, "pages": 2})
    );
    // One exact email: one match.
    let r = list(&app, "search=user7%40example.com");
    assert_eq!(ids(&r.body), vec![created[7]]);
    assert_eq!(
        r.body["pagination"],
        json!({"count": 1, "items": 25, "page": 1, "pages": 1})
    );

    // No match: an empty page, and still one page.
    let r = list(&app, "search=nobody-at-all");
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["customers"], json!([]));
    assert_eq!(
        r.body["pagination"],
        json!({"count": 0, "items": 25, "page": 1, "pages": 1})
    );
}

#[test]
fn empty_store_has_one_page() {
    let app = spawn_app();
    let r = list(&app, "");
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.body,
        json!({"customers": [], "pagination": {"count": 0, "items": 25, "page": 1, "pages": 1}})
    );
    let r = list(&app, "page=2&items=10");
    assert_eq!(
        r.body,
        json!({"customers": [], "pagination": {"count": 0, "items": 10, "page": 2, "pages": 1}})
    );
}

#[test]
fn bad_page_or_items_is_422() {
    let app = spawn_app();
    many(&app, 2);
    for (q, errors) in [
        ("page=0", json!({"page": ["must be greater than 0"]})),
        ("page=-1", json!({"page": ["must be greater than 0"]})),
        ("page=abc", json!({"page": ["is not a number"]})),
        ("page=1.5", json!({"page": ["is not a number"]})),
        ("items=0", json!({"items": ["must be greater than 0"]})),
        ("items=-5", json!({"items": ["must be greater than 0"]})),
        ("items=x", json!({"items": ["is not a number"]})),
        (
            "page=0&items=x",
            json!({"page": ["must be greater than 0"], "items": ["is not a number"]}),
        ),
        (
            "search=marta&page=abc",
            json!({"page": ["is not a number"]}),
        ),
    ] {
        let r = list(&app, q);
        assert_eq!(r.status, 422, "{q}: {}", r.text);
        assert_eq!(r.body, validation(errors), "{q}");
    }
    let r = list(&app, &format!("search={}", "a".repeat(255)));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["customers"], json!([]));
}

#[test]
fn a_page_far_past_the_end_is_empty() {
    let app = spawn_app();
    many(&app, 3);
    for page in ["1000000", "9223372036854775807", "100000000000000000000"] {
        let r = list(&app, &format!("page={page}&items=100"));
        assert_eq!(r.status, 200, "{page}: {}", r.text);
        assert_eq!(r.body["customers"], json!([]), "{page}");
        assert_eq!(r.body["pagination"]["count"], 3, "{page}");
        assert_eq!(r.body["pagination"]["pages"], 1, "{page}");
        let r = list(&app, &format!("search=marta&page={page}"));
        assert_eq!(r.status, 200, "{page}: {}", r.text);
        assert_eq!(r.body["customers"], json!([]), "{page}");
        assert_eq!(r.body["pagination"]["count"], 1, "{page}");
    }
}

#[test]
fn search_text_with_query_syntax_is_taken_literally() {
    let app = spawn_app();
    let obrien = app.create_customer(json!({"customer": {
        "first_name": "Mary-Kate", "last_name": "O'Brien", "email": "o'brien+kate@example.com"
    }}));
    let id = obrien["id"].as_i64().unwrap();
    assert_eq!(search(&app, "O'Brien"), vec![id]);
    assert_eq!(search(&app, "mary-kate"), vec![id]);
    assert_eq!(search(&app, "+kate"), vec![id]);
    for term in [
        "\"",
        "\"\"",
        "ann\"",
        "'",
        "a*",
        "*",
        "%",
        "_",
        "%%%",
        "___",
        "\\",
        "(",
        "NEAR(ann lee)",
        "name:ann",
        "ann OR lee",
        "ann AND NOT lee",
        "^ann",
        "{name}: x",
        "\u{1F600}",
        "\u{1F600}\u{1F600}\u{1F600}",
    ] {
        let r = list(&app, &format!("search={}", enc(term)));
        assert_eq!(r.status, 200, "{term:?}: {}", r.text);
        assert_eq!(ids(&r.body), Vec::<i64>::new(), "{term:?}");
        assert_eq!(r.body["pagination"]["count"], 0, "{term:?}");
    }
}

/// A customer whose names start with letters outside ASCII.
fn elodie(app: &TestApp) -> i64 {
    let c = app.create_customer(json!({"customer": {
        "first_name": "Élodie", "last_name": "Ørsted", "email": "elodie@example.com"
    }}));
    c["id"].as_i64().unwrap()
}

#[test]
fn search_is_case_insensitive_beyond_ascii() {
    let app = spawn_app();
    let id = elodie(&app);
    let mut missed = Vec::new();
    for term in [
        "Élodie",
        "élodie",
        "ÉLODIE",
        "élo",
        "ÉLO",
        "ørsted",
        "ØRSTED",
        "Élodie Ørsted",
        "élodie ørsted",
    ] {
        if search(&app, term) != vec![id] {
            missed.push(term);
        }
    }
    assert!(missed.is_empty(), "not found by: {missed:?}");
}

#[test]
fn short_searches_match_non_ascii_name_prefixes() {
    let app = spawn_app();
    let id = elodie(&app);
    let mut missed = Vec::new();
    for term in ["É", "é", "Él", "él", "ÉL", "Ø", "ø", "Ør", "øR"] {
        if search(&app, term) != vec![id] {
            missed.push(term);
        }
    }
    assert!(missed.is_empty(), "not found by: {missed:?}");
}
