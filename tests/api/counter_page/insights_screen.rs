//! The owner's dashboard draws its charts with the store's figures (series pixels in
//! each chart's canvas, not only axes), its totals and its segments, at both tablet
//! sizes.

use serde_json::json;

use super::{counter_sized, Counter};

/// Stamps of a few customers over the last weeks, written into the ledger, then the
/// rollups recounted by a change of time zone.
fn some_weeks(c: &Counter) {
    let card = c
        .app
        .create_card(json!({"name": "Coffee", "stamps_required": 5}));
    let card_id = card["id"].as_i64().unwrap();
    let now = jiff::Timestamp::now().as_second();
    let conn = c.app.conn();
    for i in 0..6 {
        let e = c.app.enrol(
            "Guest",
            &format!("Number{i}"),
            &format!("g{i}@example.com"),
            card_id,
        );
        let cc = e["customer_card"]["id"].as_i64().unwrap();
        let mut balance = 0;
        for d in (0..25).rev().filter(|d| (d + i) % (i + 2) == 0) {
            balance += 1;
            let at = jiff::Timestamp::from_second(now - d * 86_400 - i * 3_600).unwrap();
            conn.execute(
                "INSERT INTO stamp_events (store_id, customer_card_id, kind, stamps,
                    balance_after, created_at) VALUES (?1, ?2, 'stamp', 1, ?3, ?4)",
                rusqlite::params![
                    c.app.store_id,
                    cc,
                    balance,
                    at.strftime("%Y-%m-%dT%H:%M:%S.000Z").to_string()
                ],
            )
            .unwrap();
        }
        conn.execute(
            "UPDATE customer_cards SET stamps_count = ?2 WHERE id = ?1",
            [cc, balance],
        )
        .unwrap();
    }
    let r = c.app.patch(
        &c.app.store_path(""),
        &json!({"account": {"time_zone": "Europe/Vienna"}}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
}

/// Pixels of each chart's canvas in a series' colour: saturated ones (axes, grid and
/// labels are grey or black).
const SERIES_PIXELS: &str = r#"
    return Array.from(document.querySelectorAll('#insights-charts > div')).map((box) => {
      const canvas = box.querySelector('canvas');
      if (!canvas) return 0;
      const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
      let n = 0;
      for (let i = 0; i < data.length; i += 4) {
        const [r, g, b, a] = [data[i], data[i + 1], data[i + 2], data[i + 3]];
        if (a > 200 && Math.max(r, g, b) - Math.min(r, g, b) > 60) n += 1;
      }
      return n;
    });
"#;

#[test]
fn the_insights_dashboard_draws_its_charts_with_data_at_both_tablet_sizes() {
    for (width, height, name) in [
        (768, 1024, "insights-768x1024"),
        (1280, 800, "insights-1280x800"),
    ] {
        let Some(c) = counter_sized("insights_screen", width, height) else {
            return;
        };
        some_weeks(&c);
        c.sign_in();
        c.page.click("a[data-nav=insights]");
        c.page.wait_for_text("#insights-status", "Europe/Vienna");
        c.page.wait_for("#chart-hours canvas");
        let pixels = c.page.wait_until("every chart to draw its series", || {
            let v = c.page.execute(SERIES_PIXELS, json!([]));
            let counts: Vec<i64> = v.as_array()?.iter().filter_map(|n| n.as_i64()).collect();
            (counts.len() == 4 && counts.iter().all(|&n| n > 50)).then_some(counts)
        });
        assert_eq!(pixels.len(), 4);
        let totals = c.page.text_of("#insights-totals");
        assert!(totals.contains("New customers"), "{totals}");
        let figures = c.app.get_ok(&c.app.store_path("/insights"));
        let stamps = figures["totals"]["stamps"].as_i64().unwrap();
        assert!(stamps > 20, "{figures}");
        assert!(totals.contains(&stamps.to_string()), "{totals}");
        let segments = c.page.wait_for_text("#insights-segments", "New: 6");
        assert!(c.page.text(&segments).contains("Guest Number0"));
        if width == 1280 {
            // "Send their card links" to the new customers: one send each.
            c.page.click("[data-segment=new] button");
            c.page.click("#confirm-ok");
            c.page.wait_for_text("#notice", "Card links queued: 6");
            let d = c.app.get_ok(&c.app.store_path("/deliveries?items=100"));
            assert_eq!(d["pagination"]["count"], 6, "{d}");
        }
        c.shot(name);
        let charts = c.page.wait_for("#insights-charts");
        c.page.scroll_to(&charts);
        c.shot(&format!("{name}-charts"));
    }
}
