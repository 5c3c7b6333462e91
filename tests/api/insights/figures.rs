//! Every figure of `GET /insights` and `/insights/segments` against this test's own
//! computation over a generated ledger: random customers, visits, corrections and
//! redemptions over the last 300 days (two DST changes in most zones), read in three
//! time zones.

use std::collections::{BTreeMap, HashMap};

use serde_json::{json, Value};

use super::local_day;
use crate::support::app::*;

const DAY: i64 = 86_400;

/// A small deterministic generator (the test must be repeatable).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

struct Row {
    customer: i64,
    card: i64,
    kind: &'static str,
    stamps: i64,
    at: i64,
}

fn iso(at: i64) -> String {
    jiff::Timestamp::from_second(at)
        .unwrap()
        .strftime("%Y-%m-%dT%H:%M:%S.000Z")
        .to_string()
}

/// Writes a generated ledger straight into the tables; returns its rows.
fn generate(app: &TestApp, required: i64) -> Vec<Row> {
    let card = app.create_card(json!({"name": "Coffee", "stamps_required": required}));
    let card_id = card["id"].as_i64().unwrap();
    let reward = app.create_reward(card_id, "Free coffee", required)["id"]
        .as_i64()
        .unwrap();
    let now = jiff::Timestamp::now().as_second();
    let mut rng = Rng(25);
    let mut rows = Vec::new();
    let mut balances = Vec::new();
    for i in 0..40 {
        let c = app.enrol(
            "Gen",
            &format!("Customer{i}"),
            &format!("gen{i}@example.com"),
            card_id,
        );
        let customer = c["id"].as_i64().unwrap();
        let cc = c["customer_card"]["id"].as_i64().unwrap();
        // Some come weekly, some rarely, some once; some stopped long ago.
        let gap = [3, 7, 20, 60][rng.below(4) as usize] * DAY;
        let start = now - 300 * DAY + rng.below(290) as i64 * DAY;
        let stop = now - [0, 10, 50, 120][rng.below(4) as usize] * DAY;
        let mut at = start + rng.below(DAY as u64) as i64;
        let mut balance = 0;
        while at < stop.max(start + 1) && at < now {
            let stamps = rng.below(2) as i64 + 1;
            balance += stamps;
            rows.push(Row {
                customer,
                card: cc,
                kind: "stamp",
                stamps,
                at,
            });
            let mut last = at;
            if rng.below(4) == 0 {
                // A second stamp in the same visit (within two hours), on the hour
                // boundary now and then.
                let later = at + rng.below(7000) as i64 + 60;
                balance += 1;
                rows.push(Row {
                    customer,
                    card: cc,
                    kind: "stamp",
                    stamps: 1,
                    at: later,
                });
                last = later;
            }
            if rng.below(6) == 0 && balance > 0 {
                balance -= 1;
                rows.push(Row {
                    customer,
                    card: cc,
                    kind: "adjustment",
                    stamps: -1,
                    at: last + 30,
                });
            }
            if balance >= required && rng.below(2) == 0 {
                balance -= required;
                rows.push(Row {
                    customer,
                    card: cc,
                    kind: "redemption",
                    stamps: -required,
                    at: last + 90,
                });
            }
            at += gap / 2 + rng.below(gap as u64) as i64;
        }
        balances.push((cc, balance));
    }
    rows.sort_by_key(|r| (r.card, r.at));
    app.write_tx(|tx| {
        let mut balance: HashMap<i64, i64> = HashMap::new();
        for r in &rows {
            let b = balance.entry(r.card).or_default();
            *b += r.stamps;
            tx.execute(
                "INSERT INTO stamp_events (store_id, customer_card_id, kind, stamps, balance_after,
                    reward_id, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                rusqlite::params![
                    app.store_id,
                    r.card,
                    r.kind,
                    r.stamps,
                    *b,
                    (r.kind == "redemption").then_some(reward),
                    iso(r.at)
                ],
            )
            .unwrap();
        }
        for (cc, b) in &balances {
            tx.execute(
                "UPDATE customer_cards SET stamps_count = ?2 WHERE id = ?1",
                [cc, b],
            )
            .unwrap();
        }
    });
    rows
}

/// One visit as this test counts them.
struct Visit {
    customer: i64,
    at: i64,
}

fn visits(rows: &[Row]) -> Vec<Visit> {
    let mut stamps: Vec<(i64, i64)> = rows
        .iter()
        .filter(|r| r.kind == "stamp")
        .map(|r| (r.customer, r.at))
        .collect();
    stamps.sort();
    let mut out: Vec<Visit> = Vec::new();
    for (customer, at) in stamps {
        match out.last() {
            Some(v) if v.customer == customer && at - v.at < 2 * 3600 => {}
            _ => out.push(Visit { customer, at }),
        }
    }
    out
}

fn local(zone: &str, at: i64) -> jiff::ZonedDateTime {
    jiff::Timestamp::from_second(at)
        .unwrap()
        .to_zoned_datetime(jiff::tz::TimeZone::get(zone).unwrap())
}

fn week_of(day: &str) -> String {
    let d: jiff::civil::Date = day.parse().unwrap();
    let back = d.weekday().to_monday_zero_offset() as i64;
    d.saturating_sub(jiff::Span::new().days(back)).to_string()
}

/// Active, returning, visits and the average days between visits of a set of visits.
fn visitor_figures(vs: &[&Visit]) -> (i64, i64, i64, Option<f64>) {
    let mut per: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for v in vs {
        per.entry(v.customer).or_default().push(v.at);
    }
    let gaps: Vec<f64> = per
        .values()
        .filter(|a| a.len() >= 2)
        .map(|a| {
            (a.iter().max().unwrap() - a.iter().min().unwrap()) as f64
                / 86_400.0
                / (a.len() - 1) as f64
        })
        .collect();
    let average = (!gaps.is_empty()).then(|| gaps.iter().sum::<f64>() / gaps.len() as f64);
    (
        per.len() as i64,
        per.values().filter(|a| a.len() >= 2).count() as i64,
        vs.len() as i64,
        average,
    )
}

fn close(found: &Value, expected: Option<f64>, what: &str) {
    match expected {
        None => assert!(found.is_null(), "{what}: {found}"),
        Some(e) => assert!(
            (found.as_f64().unwrap() - e).abs() < 0.01,
            "{what}: {found} vs {e}"
        ),
    }
}

#[test]
fn insights_figures_equal_an_independent_count_across_time_zones_and_dst() {
    let app = spawn_app_with(|s| s.rate_limit_per_minute = 0);
    let required = 5;
    let rows = generate(&app, required);
    let all_visits = visits(&rows);
    assert!(
        all_visits.len() > 200,
        "a ledger worth reading: {}",
        all_visits.len()
    );
    for zone in ["America/New_York", "Europe/Berlin", "Asia/Kolkata"] {
        let r = app.patch(
            &app.store_path(""),
            &json!({"account": {"time_zone": zone}}),
        );
        assert_eq!(r.status, 200, "{}", r.text);
        let today = local(zone, jiff::Timestamp::now().as_second()).date();
        let from = today
            .saturating_sub(jiff::Span::new().days(305))
            .to_string();
        let to = today.to_string();
        for interval in ["day", "week", "month"] {
            let got = app.get_ok(&app.store_path(&format!(
                "/insights?from={from}&to={to}&interval={interval}"
            )));
            assert_eq!(got["time_zone"], zone);
            let bucket = |day: &str| match interval {
                "day" => day.to_string(),
                "week" => week_of(day),
                _ => format!("{}-01", &day[..7]),
            };
            // Additive figures per bucket, from the rows.
            let mut expected: BTreeMap<String, [i64; 5]> = BTreeMap::new();
            let mut balance: HashMap<i64, i64> = HashMap::new();
            for r in &rows {
                let before = *balance.get(&r.card).unwrap_or(&0);
                let after = before + r.stamps;
                balance.insert(r.card, after);
                let day = local_day(zone, &iso(r.at));
                let e = expected.entry(bucket(&day)).or_default();
                match r.kind {
                    "stamp" => {
                        e[0] += r.stamps;
                        e[4] += after / required - before / required;
                    }
                    "adjustment" => e[1] -= r.stamps,
                    _ => {
                        e[2] += 1;
                        e[3] -= r.stamps;
                    }
                }
            }
            let mut by_bucket: BTreeMap<String, Vec<&Visit>> = BTreeMap::new();
            for v in &all_visits {
                let day = local(zone, v.at).date().to_string();
                by_bucket.entry(bucket(&day)).or_default().push(v);
            }
            let series = got["series"].as_array().unwrap();
            let periods: Vec<String> = series
                .iter()
                .map(|p| p["period"].as_str().unwrap().to_string())
                .collect();
            let mut keys: Vec<String> = expected.keys().chain(by_bucket.keys()).cloned().collect();
            keys.sort();
            keys.dedup();
            // The generated customers' enrolments are today's new customers.
            let today_bucket = bucket(&to);
            if !keys.contains(&today_bucket) {
                keys.push(today_bucket.clone());
                keys.sort();
            }
            assert_eq!(periods, keys, "{zone} {interval}: periods");
            for p in series {
                let period = p["period"].as_str().unwrap();
                let e = expected.get(period).copied().unwrap_or_default();
                let what = format!("{zone} {interval} {period}");
                assert_eq!(p["stamps"], e[0], "{what}: stamps");
                assert_eq!(p["corrections"], e[1], "{what}: corrections");
                assert_eq!(p["redemptions"], e[2], "{what}: redemptions");
                assert_eq!(p["stamps_redeemed"], e[3], "{what}: stamps_redeemed");
                assert_eq!(p["rewards_unlocked"], e[4], "{what}: rewards_unlocked");
                let new = if period == today_bucket { 40 } else { 0 };
                assert_eq!(p["new_customers"], new, "{what}: new customers");
                let vs = by_bucket.get(period).cloned().unwrap_or_default();
                let (active, returning, n, average) = visitor_figures(&vs);
                assert_eq!(p["visits"], n, "{what}: visits");
                assert_eq!(p["active_customers"], active, "{what}: active");
                assert_eq!(p["returning_customers"], returning, "{what}: returning");
                close(&p["average_days_between_visits"], average, &what);
            }
            let all: Vec<&Visit> = all_visits.iter().collect();
            let (active, returning, n, average) = visitor_figures(&all);
            let totals = &got["totals"];
            assert_eq!(totals["visits"], n);
            assert_eq!(totals["active_customers"], active);
            assert_eq!(totals["returning_customers"], returning);
            close(
                &totals["returning_share"],
                Some(returning as f64 / active as f64),
                "share",
            );
            close(&totals["average_days_between_visits"], average, "average");
            let sum = |i: usize| expected.values().map(|e| e[i]).sum::<i64>();
            assert_eq!(totals["stamps"], sum(0));
            assert_eq!(totals["redemptions"], sum(2));
            let mut hours = vec![0i64; 168];
            for v in &all_visits {
                let z = local(zone, v.at);
                hours[z.weekday().to_monday_zero_offset() as usize * 24 + z.hour() as usize] += 1;
            }
            assert_eq!(got["visits_by_hour_of_week"], json!(hours), "{zone}: hours");
        }
    }

    // A later range than the ledger: only today's enrolments, no visits.
    let got = app.get_ok(&app.store_path("/insights?interval=week"));
    assert_eq!(got["interval"], "week");
    assert!(got["series"].as_array().unwrap().len() >= 4);

    // The liability: every card's balance against the card's 5 stamps.
    let mut balance: HashMap<i64, i64> = HashMap::new();
    for r in &rows {
        *balance.entry(r.card).or_default() += r.stamps;
    }
    let liability = &app.get_ok(&app.store_path("/insights"))["liability"];
    assert_eq!(
        liability["rewards_affordable"],
        balance.values().map(|b| b / required).sum::<i64>()
    );
    assert_eq!(
        liability["stamps_outstanding"],
        balance.values().map(|b| b % required).sum::<i64>()
    );

    // Segments as of now.
    let now = jiff::Timestamp::now().as_second();
    let mut per: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for v in &all_visits {
        per.entry(v.customer).or_default().push(v.at);
    }
    let mut expected: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
    for (customer, ats) in &per {
        let (first, last, n) = (ats[0], *ats.last().unwrap(), ats.len() as i64);
        let gap = if n >= 2 {
            (last - first) / (n - 1)
        } else {
            14 * DAY
        };
        let segment = if now - first <= 30 * DAY {
            "new"
        } else if now - last > 90 * DAY {
            "lapsed"
        } else if now - last > 2 * gap {
            "at_risk"
        } else {
            "regular"
        };
        expected.entry(segment).or_default().push(*customer);
    }
    assert!(
        expected.len() >= 3,
        "the generated customers fall in several segments"
    );
    let got = app.get_ok(&app.store_path("/insights/segments?items=100"));
    for segment in ["new", "regular", "at_risk", "lapsed"] {
        let mut ids = expected.get(segment).cloned().unwrap_or_default();
        ids.reverse();
        assert_eq!(got["counts"][segment], ids.len(), "{segment}");
        let listed: Vec<i64> = got["segments"][segment]["customers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["customer"]["id"].as_i64().unwrap())
            .collect();
        assert_eq!(listed, ids, "{segment}");
        assert_eq!(got["segments"][segment]["pagination"]["count"], ids.len());
    }
    // Paginated like customers: one a page.
    let page = app.get_ok(&app.store_path("/insights/segments?items=1&page=2"));
    let lapsed = expected.get("lapsed").map_or(0, Vec::len);
    assert_eq!(
        page["segments"]["lapsed"]["customers"]
            .as_array()
            .unwrap()
            .len(),
        usize::from(lapsed >= 2)
    );
    assert_eq!(
        app.get(&app.store_path("/insights?interval=year")).status,
        422
    );
    assert_eq!(
        app.get(&app.store_path("/insights?from=2026-02-30")).status,
        422
    );
    assert_eq!(
        app.get(&app.store_path("/insights?from=2026-05-02&to=2026-05-01"))
            .status,
        422
    );
}
