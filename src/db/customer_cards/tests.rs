//! Enrolment, imports and codes of customer cards, against a real database.

use super::*;
use crate::db::{self, cards, customers};

fn codes(list: &[&str]) -> impl FnMut() -> CardCode {
    let mut list: Vec<CardCode> = list.iter().map(|c| CardCode::parse(c).unwrap()).collect();
    list.reverse();
    move || list.pop().expect("no codes left")
}

fn code_of(conn: &Connection, customer_id: i64) -> Option<String> {
    conn.query_row(
        "SELECT code FROM customer_cards WHERE customer_id = ?1",
        [customer_id],
        |r| r.get(0),
    )
    .optional()
    .unwrap()
}

/// An import statement whose random code is already another card's is redone with
/// every code looked up; the statement that clashed leaves nothing behind.
#[test]
fn an_import_redoes_a_statement_whose_code_clashed() {
    let (_dir, conn, store) = db::testing::database_with_a_store();
    let design = cards::CardDesign {
        name: "Coffee".into(),
        stamps_required: 10,
        initial_stamps: 1,
        ..Default::default()
    };
    let card_id = cards::insert(&conn, store, &design, None).unwrap();
    let card = cards::find(&conn, store, card_id).unwrap().unwrap();
    let people: Vec<customers::CustomerFields> = ["Ann", "Bob", "Cy"]
        .iter()
        .map(|n| customers::CustomerFields {
            first_name: n.to_string(),
            last_name: None,
            email: None,
            phone: None,
            birthday: None,
            metadata: Default::default(),
        })
        .collect();
    let ids = customers::insert_many(&conn, store, &people).unwrap();
    let import = |id: i64| CardImport {
        customer_id: id,
        visits: vec![3],
    };

    import_cards_with(&conn, store, &card, &[import(ids[0])], codes(&["ACDC3467"])).unwrap();
    // Bob draws Ann's code, so the statement fails; redone, Bob's code is looked up,
    // found taken and drawn again.
    let done = import_cards_with(
        &conn,
        store,
        &card,
        &[import(ids[1]), import(ids[2])],
        codes(&["ACDC3467", "KKKK4444", "ACDC3467", "MMMM6666", "PPPP7777"]),
    )
    .unwrap();
    assert_eq!(done.len(), 2);
    assert_eq!(code_of(&conn, ids[0]).as_deref(), Some("ACDC3467"));
    assert_eq!(code_of(&conn, ids[1]).as_deref(), Some("MMMM6666"));
    assert_eq!(code_of(&conn, ids[2]).as_deref(), Some("PPPP7777"));
    let (cards_count, events, balance): (i64, i64, i64) = conn
        .query_row(
            "SELECT (SELECT count(*) FROM customer_cards),
                    (SELECT count(*) FROM stamp_events),
                    (SELECT sum(stamps_count) FROM customer_cards)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!((cards_count, events, balance), (3, 6, 12));

    // Any other failure is the caller's: enrolling Ann twice is refused as before.
    let again = import_cards_with(&conn, store, &card, &[import(ids[0])], codes(&["TTTT9999"]));
    assert!(again.is_err());
    assert_eq!(code_of(&conn, ids[0]).as_deref(), Some("ACDC3467"));
}
