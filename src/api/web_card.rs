//! The web card page `GET /c/<uuid>`: a customer's card as a phone-friendly page, with
//! its stamps, rewards and scannable code. Public: the uuid is the only key, and the
//! page shows only what the card's holder may see.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse};
use maud::Markup;

use super::AppState;
use crate::db;
use crate::db::customer_cards::CardView;
use crate::domain::links::CardLinks;
use crate::error::ApiError;
use crate::pages::web_card::{Arrival, NextReward, WebCard};
use crate::pages::{self, InlineSvg, PageColours};
use crate::wallet;

/// Security headers for every HTML page: no scripts at all, styles only inline.
pub fn html_response(status: StatusCode, html: Markup) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        ))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(html.into_string())
}

pub async fn show(
    state: web::Data<AppState>,
    path: web::Path<String>,
    req: actix_web::HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let uuid = path.into_inner();
    // Set when the customer arrives from a signup poster.
    let arrival = match crate::params::query_map(&req)
        .get("joined")
        .map(String::as_str)
    {
        Some("new") => Some(Arrival::New),
        _ => None,
    };
    let st = state.clone();
    let view = web::block(move || {
        st.db
            .read(|conn| Ok(db::customer_cards::view_by_uuid(conn, &uuid)?))
    })
    .await??;
    Ok(match view {
        Some(v) => html_response(StatusCode::OK, render(&v, &state, arrival)?),
        None => not_found_page(),
    })
}

pub fn not_found_page() -> HttpResponse {
    html_response(StatusCode::NOT_FOUND, pages::web_card::not_found())
}

fn render(v: &CardView, state: &AppState, arrival: Option<Arrival>) -> Result<Markup, ApiError> {
    let d = &v.card.design;
    let glyph = d.stamp_icon.glyph_of();
    let links = CardLinks::new(&state.public_url, &v.uuid);
    let card = WebCard {
        store_name: &v.store_name,
        card_name: &d.name,
        colours: PageColours {
            background: d.card_color.clone(),
            text: d.text_color.clone(),
        },
        stamp_colour: d.stamp_color.clone(),
        stamp_background: d.stamp_background_color.clone(),
        glyph,
        member: d.show_member_field.then(|| wallet::member_name(v)),
        header_text: d.header_text.as_deref(),
        strip: d.drawn_strip(),
        lines: d.auxiliary_fields.lines(),
        stamps_count: v.stamps_count,
        stamps_required: d.stamps_required,
        next_reward: v
            .rewards
            .iter()
            .find(|r| r.stamps_required > v.stamps_count)
            .filter(|_| d.show_stamps_to_reward_field)
            .map(|r| NextReward {
                stamps_to_go: r.stamps_required - v.stamps_count,
                name: &r.name,
            }),
        available_rewards: v.available_rewards().map(|r| r.name.as_str()).collect(),
        code: &v.code,
        qr: InlineSvg::qr(&v.code, 220).map_err(ApiError::internal)?,
        barcode: InlineSvg::code128(&v.code, 70).map_err(ApiError::internal)?,
        arrival,
        apple_pass: state.settings.apple.is_some().then(|| links.apple_pass()),
        google_pass: state.settings.google.is_some().then(|| links.google_pass()),
    };
    Ok(pages::web_card::page(&card))
}
