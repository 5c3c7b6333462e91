//! The web card page `GET /c/<uuid>`: a customer's card as a phone-friendly page, with
//! its stamps, rewards and scannable code. Public: the uuid is the only key, and the
//! page shows only what the card's holder may see.

use actix_web::http::header;
use actix_web::{web, HttpResponse};

use super::AppState;
use crate::codes;
use crate::db;
use crate::db::customer_cards::CardView;
use crate::error::ApiError;

/// Security headers for every HTML page: no scripts at all, styles only inline.
pub fn html_response(status: actix_web::http::StatusCode, html: String) -> HttpResponse {
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
        .body(html)
}

/// Escapes text for HTML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// The glyph drawn for each stamp icon.
pub fn icon_glyph(icon: &str) -> &'static str {
    match icon {
        "coffee" => "☕",
        "star" => "★",
        "heart" => "♥",
        "check" => "✓",
        "cup" => "🥤",
        "cake" => "🍰",
        "croissant" => "🥐",
        "pizza" => "🍕",
        "burger" => "🍔",
        "ice_cream" => "🍦",
        "donut" => "🍩",
        "beer" => "🍺",
        "wine" => "🍷",
        "cocktail" => "🍸",
        "leaf" => "🍃",
        "flower" => "✿",
        "scissors" => "✂",
        "paw" => "🐾",
        "gift" => "🎁",
        "smile" => "☺",
        "crown" => "♛",
        "diamond" => "◆",
        "bolt" => "⚡",
        "music" => "♪",
        "book" => "📖",
        "dumbbell" => "🏋",
        "car" => "🚗",
        _ => "●",
    }
}

pub async fn show(
    state: web::Data<AppState>,
    path: web::Path<String>,
    req: actix_web::HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let uuid = path.into_inner();
    // Set when the customer arrives from a signup poster.
    let notice = match crate::params::query_map(&req)
        .get("joined")
        .map(String::as_str)
    {
        Some("new") => {
            Some("Welcome! Your card is ready. Show it at the counter to collect stamps.")
        }
        Some("back") => Some("Welcome back! You already have this card, so here it is."),
        _ => None,
    };
    let st = state.clone();
    let view = web::block(move || {
        st.db
            .read(|conn| Ok(db::customer_cards::view_by_uuid(conn, &uuid)?))
    })
    .await??;
    Ok(match view {
        Some(v) => html_response(actix_web::http::StatusCode::OK, render(&v, &state, notice)?),
        None => not_found_page(),
    })
}

pub fn not_found_page() -> HttpResponse {
    html_response(
        actix_web::http::StatusCode::NOT_FOUND,
        page(
            "Card not found",
            "#FFFFFF",
            "#222222",
            "<main class=\"card\"><h1>Card not found</h1><p>This link does not lead to a card. Ask the shop for a new one.</p></main>",
        ),
    )
}

/// A whole HTML page in stampd's card style.
pub fn page(title: &str, background: &str, text: &str, body: &str) -> String {
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{title}</title>
<style>
:root {{ --bg: {background}; --fg: {text}; }}
* {{ box-sizing: border-box; }}
body {{ margin: 0; font: 17px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background: #f2f2f4; color: #222; }}
.card {{ max-width: 440px; margin: 16px auto; padding: 20px; border-radius: 18px; background: var(--bg); color: var(--fg); box-shadow: 0 4px 18px rgba(0,0,0,.15); }}
.store {{ font-size: 14px; letter-spacing: .06em; text-transform: uppercase; opacity: .85; margin: 0; }}
h1 {{ font-size: 26px; margin: 4px 0 2px; }}
.member {{ margin: 0 0 12px; opacity: .9; }}
.header {{ margin: 0 0 12px; font-weight: 600; }}
.stamps {{ display: grid; grid-template-columns: repeat(5, 1fr); gap: 10px; padding: 14px; border-radius: 14px; background: rgba(0,0,0,.12); list-style: none; margin: 0; }}
.stamp {{ aspect-ratio: 1; display: flex; align-items: center; justify-content: center; border-radius: 50%; font-size: 26px; }}
.stamp.filled {{ background: var(--stamp); color: var(--stamp-bg); }}
.stamp.empty {{ background: var(--stamp-bg); color: var(--stamp); opacity: .55; border: 2px dashed var(--stamp); }}
.progress {{ margin: 12px 0 0; font-size: 20px; font-weight: 700; }}
.next {{ margin: 2px 0 0; opacity: .9; }}
.rewards {{ margin: 14px 0 0; padding: 12px 14px; border-radius: 12px; background: rgba(255,255,255,.18); }}
.rewards h2 {{ font-size: 16px; margin: 0 0 6px; }}
.rewards ul {{ margin: 0; padding-left: 20px; }}
.codes {{ margin: 18px 0 0; padding: 16px; border-radius: 14px; background: #fff; color: #111; text-align: center; }}
.codes .qr svg, .codes .qr img {{ width: 220px; height: 220px; }}
.codes .barcode svg {{ max-width: 100%; height: 70px; }}
.code {{ font: 700 22px/1.2 ui-monospace, Menlo, Consolas, monospace; letter-spacing: .18em; margin: 6px 0 0; }}
.notice {{ margin: 0 0 14px; padding: 12px 14px; border-radius: 12px; background: #fff; color: #1b5e20; font-weight: 600; }}
.wallets {{ display: flex; flex-direction: column; gap: 10px; margin: 18px 0 0; }}
.wallets a {{ display: block; min-height: 48px; padding: 13px; border-radius: 12px; background: #000; color: #fff; text-align: center; text-decoration: none; font-weight: 600; }}
</style>
</head>
<body>
{body}
</body>
</html>
"#,
        title = esc(title),
    )
}

fn render(v: &CardView, state: &AppState, notice: Option<&str>) -> Result<String, ApiError> {
    let d = &v.card.design;
    let required = d.stamps_required.max(1);
    let on_card = v.stamps_count.min(required);
    let glyph = icon_glyph(d.stamp_icon.as_str());
    let mut stamps = String::new();
    for i in 0..required {
        let (class, label) = if i < on_card {
            ("filled", "stamp")
        } else {
            ("empty", "empty slot")
        };
        stamps.push_str(&format!(
            "<li class=\"stamp {class}\" aria-label=\"{label}\">{glyph}</li>"
        ));
    }
    let name = match &v.last_name {
        Some(l) => format!("{} {}", v.first_name, l),
        None => v.first_name.clone(),
    };
    let member = if d.show_member_field {
        format!("<p class=\"member\">{}</p>", esc(&name))
    } else {
        String::new()
    };
    let header_text = d
        .header_text
        .as_deref()
        .map(|h| format!("<p class=\"header\">{}</p>", esc(h)))
        .unwrap_or_default();
    let next = v
        .rewards
        .iter()
        .find(|r| r.stamps_required > v.stamps_count)
        .filter(|_| d.show_stamps_to_reward_field)
        .map(|r| {
            let n = r.stamps_required - v.stamps_count;
            format!(
                "<p class=\"next\">{n} more stamp{} to {}</p>",
                if n == 1 { "" } else { "s" },
                esc(&r.name)
            )
        })
        .unwrap_or_default();
    let available: Vec<String> = v
        .available_rewards()
        .map(|r| format!("<li>{}</li>", esc(&r.name)))
        .collect();
    let rewards = if available.is_empty() {
        String::new()
    } else {
        format!(
            "<section class=\"rewards\"><h2>Ready to redeem</h2><ul>{}</ul></section>",
            available.join("")
        )
    };
    let qr = codes::qr_svg(&v.code, 220).map_err(ApiError::internal)?;
    let barcode = codes::code128_svg(&v.code, 70).map_err(ApiError::internal)?;
    let strip_xml = |s: String| match s.find("<svg") {
        Some(i) => s[i..].to_string(),
        None => s,
    };
    let base = &state.public_url;
    let mut wallets = String::new();
    if state.settings.apple.is_some() {
        wallets.push_str(&format!(
            "<a class=\"apple\" href=\"{base}/passes/{}.pkpass\">Add to Apple Wallet</a>",
            esc(&v.uuid)
        ));
    }
    if state.settings.google.is_some() {
        wallets.push_str(&format!(
            "<a class=\"google\" href=\"{base}/passes/{}/google\">Add to Google Wallet</a>",
            esc(&v.uuid)
        ));
    }
    let wallets = if wallets.is_empty() {
        String::new()
    } else {
        format!("<nav class=\"wallets\">{wallets}</nav>")
    };
    let body = format!(
        r#"<main class="card" style="--stamp: {stamp}; --stamp-bg: {stamp_bg};">
{notice}<p class="store">{store}</p>
<h1>{card}</h1>
{member}{header_text}<ul class="stamps" aria-label="{count} of {required} stamps">{stamps}</ul>
<p class="progress" data-stamps="{count}">{count} / {required} stamps</p>
{next}{rewards}<section class="codes" aria-label="Card code">
<div class="qr" data-code="{code}">{qr}</div>
<div class="barcode">{barcode}</div>
<p class="code">{code}</p>
</section>
{wallets}</main>"#,
        notice = notice
            .map(|n| format!("<p class=\"notice\" role=\"status\">{}</p>", esc(n)))
            .unwrap_or_default(),
        stamp = esc(d.stamp_color.as_str()),
        stamp_bg = esc(d.stamp_background_color.as_str()),
        store = esc(&v.store_name),
        card = esc(&d.name),
        count = v.stamps_count,
        code = esc(&v.code),
        qr = strip_xml(qr),
        barcode = strip_xml(barcode),
    );
    Ok(page(
        &format!("{} – {}", d.name, v.store_name),
        d.card_color.as_str(),
        d.text_color.as_str(),
        &body,
    ))
}
