//! The owner's insights (`/accounts/:account_id/insights`): series and totals over a
//! range of the store's local days, and the customer segments. Additive figures come
//! from the daily rollups, the rest from the periodic recompute (`db::insights`).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest};
use serde_json::{json, Map, Value};

use super::endpoint::{endpoints, Components, Doc, Endpoint, Resource};
use super::read_gate::Cost;
use super::{json, pagination_params, Answer, Call, Pagination};
use crate::db;
use crate::db::insights::read::{self, Interval, SEGMENTS};
use crate::error::{ApiError, FieldErrors};
use crate::params::query_map;

pub const RESOURCE: Resource = Resource::new("Insights", ENDPOINTS, components);

/// The longest range one call answers.
const MAX_DAYS: i64 = 731;
/// The range when none is asked for: the last four weeks, today included.
const DEFAULT_DAYS: i64 = 28;

const ENDPOINTS: &[Endpoint] = endpoints!["/accounts/{account_id}/insights";
    Get "" => show, Doc::new("getInsights", "The store's figures over a range of days").describe("Days, weeks (from Monday) and months are the store's own (its `time_zone`); `from` and `to` are local days, both included (default: the last 28 days), at most 731 days apart. Stamps, corrections, redemptions, rewards unlocked and new customers are kept per day with the ledger; visits, active and returning customers (two visits or more in the period), visits by hour of week (0 is Monday 00:00), the average days between visits and the reward liability come from a recompute every few minutes (`computed_at`).").query(&["from", "to", "interval"]).ok(200, "The figures", "Insights");
    Get "/segments" => segments, Doc::new("getInsightSegments", "Customers by segment").describe("`new`: first visit in the last 30 days; `lapsed`: no visit for 90 days; `at_risk`: no visit for twice their usual gap (14 days for a customer seen once); `regular`: the rest. Counts, and one page of each segment's customers (newest first; `page`, `items` as for customers), as of `computed_at`.").query(&["page", "items"]).ok(200, "The segments", "InsightSegments");
    Post "/segments/send_card_links" => send_card_links, Doc::new("sendSegmentCardLinks", "Send a segment's customers their card links").describe("Queues the card links of every card of each customer in `segment` (as of the last recompute), by each channel they have an address for, through the same throttle as every card-link send: a customer sent links too recently gets `suppressed` deliveries instead (see the deliveries list).").body("SegmentSendBody").ok(201, "What was queued", "SegmentSend");
];

struct Range {
    from: Option<String>,
    to: Option<String>,
    interval: Interval,
}

fn parse_range(q: &std::collections::HashMap<String, String>) -> Result<Range, ApiError> {
    let mut errors = FieldErrors::new();
    let mut date = |key: &str| {
        let v = q.get(key).map(|s| s.trim()).filter(|s| !s.is_empty())?;
        match v.parse::<jiff::civil::Date>() {
            Ok(d) => Some(d.to_string()),
            Err(_) => {
                errors.add(key, "is not a date (YYYY-MM-DD)");
                None
            }
        }
    };
    let from = date("from");
    let to = date("to");
    let interval = match q
        .get("interval")
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
    {
        None => Interval::Day,
        Some(v) => Interval::parse(v).unwrap_or_else(|| {
            errors.add(
                "interval",
                format!(
                    "is not included in the list ({})",
                    Interval::NAMES.join(", ")
                ),
            );
            Interval::Day
        }),
    };
    errors.into_result()?;
    Ok(Range { from, to, interval })
}

/// The local days a range asks for, with the store's today for what it leaves out.
fn days(range: &Range, tz: &jiff::tz::TimeZone) -> Result<(String, String), ApiError> {
    let today = jiff::Timestamp::now().to_zoned_datetime(tz.clone()).date();
    let parse = |s: &Option<String>| {
        s.as_deref()
            .and_then(|d| d.parse::<jiff::civil::Date>().ok())
    };
    let to = parse(&range.to).unwrap_or(today);
    let from = parse(&range.from)
        .unwrap_or_else(|| to.saturating_sub(jiff::Span::new().days(DEFAULT_DAYS - 1)));
    let mut errors = FieldErrors::new();
    let span = (to - from).get_days();
    if span < 0 {
        errors.add("from", "must be on or before to");
    } else if i64::from(span) >= MAX_DAYS {
        errors.add(
            "to",
            format!("must be less than {MAX_DAYS} days after from"),
        );
    }
    errors.into_result()?;
    Ok((from.to_string(), to.to_string()))
}

/// Recomputes a store that never was (its first look at insights), before reading.
async fn computed_first(call: &Call, path: &str) -> Result<(), ApiError> {
    let path = path.to_string();
    let (store_id, done) = call
        .read(move |conn, access| {
            let id = access.store(&path)?;
            Ok((id, db::insights::recompute::computed(conn, id)?))
        })
        .await?;
    if !done {
        let state = call.state.clone();
        web::block(move || db::insights::recompute::refresh(&state.db, store_id))
            .await
            .map_err(ApiError::internal)??;
    }
    Ok(())
}

pub async fn show(call: Call, path: web::Path<String>, req: HttpRequest) -> Answer {
    let range = parse_range(&query_map(&req))?;
    computed_first(&call, &path).await?;
    // Its cost grows with the visits in the range, not with its answer: it queues with
    // the searches, so the counter's reads keep their readers.
    let body = call
        .read_at_cost(Cost::Search, move |conn, access| {
            let store_id = access.store(&path)?;
            let tz = db::insights::zone(conn, store_id)?;
            let (from, to) = days(&range, &tz)?;
            Ok(read::insights(conn, store_id, &from, &to, range.interval)?)
        })
        .await?;
    Ok(json(StatusCode::OK, &body))
}

pub async fn segments(call: Call, path: web::Path<String>, req: HttpRequest) -> Answer {
    let q = query_map(&req);
    let (page, items) = pagination_params(&q)?;
    computed_first(&call, &path).await?;
    let base = call.state.public_url.clone();
    let body = call
        .read(move |conn, access| {
            let store_id = access.store(&path)?;
            let counts = read::segment_counts(conn, store_id)?;
            let computed_at: String = conn.query_row(
                "SELECT computed_at FROM insight_stores WHERE store_id = ?1",
                [store_id],
                |r| r.get(0),
            )?;
            let mut lists = Map::new();
            for &segment in SEGMENTS {
                let rows = read::segment_page(conn, store_id, segment, page, items)?;
                let ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
                let customers = db::customers::load(conn, &ids, &base)?;
                let entries: Vec<Value> = customers
                    .into_iter()
                    .zip(&rows)
                    .map(|(c, &(_, visits, first, last))| {
                        json!({
                            "customer": c,
                            "visits": visits,
                            "first_visit_at": at(first),
                            "last_visit_at": at(last),
                        })
                    })
                    .collect();
                let count = counts.get(segment).and_then(Value::as_i64).unwrap_or(0);
                lists.insert(
                    segment.into(),
                    json!({"customers": entries, "pagination": Pagination::new(count, items, page)}),
                );
            }
            Ok(json!({"computed_at": computed_at, "counts": counts, "segments": lists}))
        })
        .await?;
    Ok(json(StatusCode::OK, &body))
}

/// `POST /insights/segments/:segment/send_card_links`: one card-link send per customer
/// of the segment, in one write.
pub async fn send_card_links(
    call: Call,
    path: web::Path<String>,
    body: crate::params::Body,
) -> Answer {
    let account = path.into_inner();
    computed_first(&call, &account).await?;
    let parse = |params: &Map<String, Value>| {
        let mut errors = FieldErrors::new();
        let segment = crate::params::text(params, "segment", &mut errors).set();
        match segment {
            Some(s) if SEGMENTS.contains(&s.as_str()) => Ok(s),
            Some(_) => Err(FieldErrors::single(
                "segment",
                &format!("is not included in the list ({})", SEGMENTS.join(", ")),
            )),
            None => {
                errors.into_result()?;
                Err(FieldErrors::single("segment", "can't be blank"))
            }
        }
    };
    let response = call
        .write(body, parse, move |tx, access, segment| {
            let store_id = access.store(&account)?;
            let segment = segment?;
            let (mut customers, mut queued, mut suppressed) = (0, 0, 0);
            for id in read::segment_ids(tx, store_id, &segment)? {
                let Some(c) = db::customers::find_fields(tx, store_id, id)? else {
                    continue;
                };
                let cards = db::customer_cards::ids_of_customer(tx, id)?;
                let to = db::card_links::Recipient {
                    store_id,
                    customer_id: id,
                    email: c.email.as_ref().map(|e| e.as_str()),
                    phone: c.phone.as_ref().map(|p| p.as_str()),
                };
                let sent = db::card_links::send(tx, &to, &cards, db::card_links::CARD_LINKS)?;
                customers += 1;
                queued += sent.queued.len();
                suppressed += sent.suppressed.len();
            }
            super::Reply::created(&json!({
                "segment": segment,
                "customers": customers,
                "queued": queued,
                "suppressed": suppressed,
            }))
        })
        .await;
    call.state.outbox.wake();
    response
}

fn at(seconds: i64) -> String {
    jiff::Timestamp::from_second(seconds)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%S.000Z").to_string())
        .unwrap_or_default()
}

fn components(c: &mut Components) {
    use super::openapi::schema::*;
    date_range(c);
    c.query(
        "interval",
        "How the series is bucketed (weeks start on Monday).",
        json!({"type": "string", "enum": Interval::NAMES}),
    );
    let figures = json!({
        "stamps": count(), "corrections": count(), "redemptions": count(),
        "stamps_redeemed": count(), "rewards_unlocked": count(), "new_customers": count(),
        "visits": count(), "active_customers": count(), "returning_customers": count(),
        "returning_share": nullable(json!({"type": "number"})),
        "average_days_between_visits": nullable(json!({"type": "number"})),
    });
    c.schema("InsightFigures", object(figures.clone()));
    let mut period = figures;
    period["period"] = json!({"type": "string", "format": "date"});
    c.schema("InsightPeriod", object(period));
    c.schema(
        "Insights",
        object(json!({
            "time_zone": string(),
            "from": string(),
            "to": string(),
            "interval": enum_of(Interval::NAMES),
            "computed_at": timestamp(),
            "totals": schema_ref("InsightFigures"),
            "series": {"type": "array", "items": schema_ref("InsightPeriod")},
            "visits_by_hour_of_week": {"type": "array", "items": count(), "description": "168 counts: Monday 00:00–00:59 first, Sunday 23:00–23:59 last."},
            "liability": object(json!({
                "rewards_affordable": count(),
                "stamps_outstanding": count(),
                "computed_at": timestamp(),
            })),
            "by_card": {"type": "array", "items": object(json!({
                "card_id": id(), "card_name": string(), "stamps": count(),
                "corrections": count(), "redemptions": count(), "stamps_redeemed": count(),
                "rewards_unlocked": count(), "new_customers": count(),
            }))},
        })),
    );
    let entry = object(json!({
        "customer": schema_ref("Customer"),
        "visits": count(),
        "first_visit_at": timestamp(),
        "last_visit_at": timestamp(),
    }));
    let page = object(json!({
        "customers": {"type": "array", "items": entry},
        "pagination": schema_ref("Pagination"),
    }));
    let mut counts = Map::new();
    let mut lists = Map::new();
    for &s in SEGMENTS {
        counts.insert(s.into(), count());
        lists.insert(s.into(), page.clone());
    }
    c.request_body(
        "SegmentSendBody",
        true,
        input(json!({"segment": enum_of(SEGMENTS)}), &["segment"]),
    );
    c.schema(
        "SegmentSend",
        object(json!({
            "segment": enum_of(SEGMENTS),
            "customers": count(),
            "queued": count(),
            "suppressed": count(),
        })),
    );
    c.schema(
        "InsightSegments",
        object(json!({
            "computed_at": timestamp(),
            "counts": object(Value::Object(counts)),
            "segments": object(Value::Object(lists)),
        })),
    );
}

/// The `from` and `to` of a range of days, shared by the insights and the ledger export
/// (one declaration of each in the OpenAPI document).
pub(super) fn date_range(c: &mut Components) {
    c.query(
        "from",
        "The first day counted: a date (`YYYY-MM-DD`; for the insights a day of the store's time zone) or, for the ledger export, also a timestamp.",
        json!({"type": "string"}),
    );
    c.query(
        "to",
        "The last day counted, included: a date (`YYYY-MM-DD`; for the insights a day of the store's time zone) or, for the ledger export, also a timestamp.",
        json!({"type": "string"}),
    );
}
