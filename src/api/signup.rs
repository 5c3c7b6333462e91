//! The public side of posters: the printable poster (`/posters/<token>`) and the signup
//! page its QR code leads to (`/s/<token>`), where customers enrol themselves.
//!
//! The signup form is protected against abuse: a per-address rate limit, a hidden
//! honeypot field, bounded field lengths, and a CSRF token that must match a
//! same-site cookie set with the form.

use std::net::IpAddr;
use std::num::NonZeroU32;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::web_card::{esc, html_response, page};
use super::AppState;
use crate::codes;
use crate::db;
use crate::db::customers::CustomerFields;
use crate::db::posters::Poster;
use crate::domain::{limits, Birthday, Email, Phone};
use crate::error::{ApiError, FieldErrors};
use crate::params::{bounded_text, text, Body, Field};
use crate::time_fmt;

const CSRF_COOKIE: &str = "stampd_signup";

/// Signups per hour from one address (the form pages themselves are not limited).
pub struct SignupLimits(DefaultKeyedRateLimiter<IpAddr>);

impl SignupLimits {
    pub fn new(per_hour: u32) -> Option<SignupLimits> {
        NonZeroU32::new(per_hour).map(|n| SignupLimits(RateLimiter::keyed(Quota::per_hour(n))))
    }
}

fn gone() -> HttpResponse {
    html_response(
        StatusCode::NOT_FOUND,
        page(
            "Not found",
            "#FFFFFF",
            "#222222",
            "<main class=\"card\"><h1>This poster is no longer active</h1><p>Ask at the counter to join the loyalty programme.</p></main>",
        ),
    )
}

async fn active_poster(
    state: &web::Data<AppState>,
    token: String,
) -> Result<Option<(Poster, db::cards::Card, String, Option<db::rewards::Reward>)>, ApiError> {
    let st = state.clone();
    web::block(move || {
        st.db.read(|conn| {
            let Some(poster) = db::posters::find_active_by_token(conn, &token)? else {
                return Ok(None);
            };
            let Some(card) = db::cards::find(conn, poster.store_id, poster.card_id)? else {
                return Ok(None);
            };
            let store = db::stores::find(conn, poster.store_id)?
                .map(|s| s.display_store_name)
                .unwrap_or_default();
            let reward = db::rewards::active_for_cards(conn, &[card.id])?
                .into_iter()
                .next();
            Ok(Some((poster, card, store, reward)))
        })
    })
    .await?
}

/// `GET /posters/<token>`: the poster, laid out to print on one page of its paper size.
pub async fn printable(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let Some((poster, card, store, reward)) = active_poster(&state, path.into_inner()).await?
    else {
        return Ok(gone());
    };
    let f = &poster.fields;
    let qr_url = poster.qr_code_url(&state.public_url);
    let qr = codes::qr_svg(&qr_url, 600).map_err(ApiError::internal)?;
    let qr = qr.find("<svg").map(|i| qr[i..].to_string()).unwrap_or(qr);
    let (size, width, height) = match f.paper_size.as_str() {
        "a5" => ("148mm 210mm", "148mm", "210mm"),
        "a6" => ("105mm 148mm", "105mm", "148mm"),
        "letter" => ("8.5in 11in", "8.5in", "11in"),
        _ => ("210mm 297mm", "210mm", "297mm"),
    };
    let offer = match &reward {
        Some(r) => format!("Collect {} stamps for {}", r.stamps_required, esc(&r.name)),
        None => format!("Collect {} stamps", card.design.stamps_required),
    };
    let body = format!(
        r#"<style>
@page {{ size: {size}; margin: 0; }}
html, body {{ margin: 0; padding: 0; background: #fff; }}
.poster {{ box-sizing: border-box; width: {width}; height: {height}; margin: 0 auto; padding: 8%; overflow: hidden;
  display: flex; flex-direction: column; align-items: center; justify-content: space-between; text-align: center;
  background: {primary}; color: {text}; font-family: system-ui, sans-serif; page-break-after: avoid; break-inside: avoid; }}
.poster .store {{ font-size: 1.1em; letter-spacing: .12em; text-transform: uppercase; margin: 0; }}
.poster h1 {{ font-size: 2.6em; line-height: 1.1; margin: .3em 0 .1em; }}
.poster .card-name {{ font-size: 1.4em; margin: 0; }}
.poster .offer {{ font-size: 1.3em; margin: .4em 0 0; padding: .4em .8em; border-radius: .6em; background: {secondary}; color: {primary}; font-weight: 700; }}
.poster .qr {{ background: #fff; padding: 3%; border-radius: 4%; width: 55%; }}
.poster .qr svg {{ display: block; width: 100%; height: auto; }}
.poster .scan {{ font-size: 1.3em; font-weight: 700; margin: .3em 0 0; }}
.poster .url {{ font-size: .75em; opacity: .85; word-break: break-all; margin: .3em 0 0; }}
@media screen {{ body {{ background: #ddd; padding: 16px 0; }} .poster {{ box-shadow: 0 4px 24px rgba(0,0,0,.3); }} }}
</style>
<main class="poster" data-paper="{paper}">
<div><p class="store">{store}</p><h1>{title}</h1><p class="card-name">{card_name}</p><p class="offer">{offer}</p></div>
<div class="qr" data-url="{qr_url}">{qr}</div>
<div><p class="scan">Scan to join – it takes a minute</p><p class="url">{signup_url}</p></div>
</main>"#,
        primary = esc(f.primary_color.as_str()),
        secondary = esc(f.secondary_color.as_str()),
        text = esc(f.text_color.as_str()),
        paper = esc(f.paper_size.as_str()),
        store = esc(&store),
        title = esc(&f.title),
        card_name = esc(&card.design.name),
        qr_url = esc(&qr_url),
        signup_url = esc(&poster.signup_url(&state.public_url)),
    );
    Ok(html_response(
        StatusCode::OK,
        page(
            &f.title,
            f.primary_color.as_str(),
            f.text_color.as_str(),
            &body,
        ),
    ))
}

/// What the customer typed, kept to refill the form after an error.
#[derive(Default)]
struct Typed {
    first_name: String,
    last_name: String,
    email: String,
    phone: String,
    birthday: String,
    consent: bool,
}

fn random_token() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn form_page(
    state: &AppState,
    poster: &Poster,
    card: &db::cards::Card,
    store: &str,
    typed: &Typed,
    errors: &FieldErrors,
    status: StatusCode,
) -> HttpResponse {
    let f = &poster.fields;
    let csrf = random_token();
    let err = |key: &str| -> String {
        errors
            .0
            .get(key)
            .map(|m| {
                format!(
                    "<p class=\"field-error\" id=\"{key}-error\" role=\"alert\">{}</p>",
                    esc(&m.join(", "))
                )
            })
            .unwrap_or_default()
    };
    let described = |key: &str| -> String {
        if errors.has(key) {
            format!(" aria-invalid=\"true\" aria-describedby=\"{key}-error\"")
        } else {
            String::new()
        }
    };
    let mode = f.contact_collection_mode.as_str();
    let want_email = mode != "phone";
    let want_phone = mode != "email";
    let email_req = matches!(mode, "email" | "email_and_phone");
    let phone_req = matches!(mode, "phone" | "email_and_phone");
    let mut fields = format!(
        r#"<label for="first_name">First name</label>
<input id="first_name" name="first_name" required maxlength="100" autocomplete="given-name" value="{}"{}>{}
<label for="last_name">Last name <span class="opt">(optional)</span></label>
<input id="last_name" name="last_name" maxlength="100" autocomplete="family-name" value="{}"{}>{}"#,
        esc(&typed.first_name),
        described("first_name"),
        err("first_name"),
        esc(&typed.last_name),
        described("last_name"),
        err("last_name"),
    );
    if want_email {
        fields.push_str(&format!(
            r#"<label for="email">Email{}</label>
<input id="email" name="email" type="email" maxlength="254" autocomplete="email" value="{}"{}{}>{}"#,
            if email_req { "" } else { " <span class=\"opt\">(or phone)</span>" },
            esc(&typed.email),
            if email_req { " required" } else { "" },
            described("email"),
            err("email"),
        ));
    }
    if want_phone {
        fields.push_str(&format!(
            r#"<label for="phone">Mobile phone{}</label>
<input id="phone" name="phone" type="tel" maxlength="40" autocomplete="tel" value="{}"{}{}>{}"#,
            if phone_req {
                ""
            } else if want_email {
                " <span class=\"opt\">(or email)</span>"
            } else {
                ""
            },
            esc(&typed.phone),
            if phone_req { " required" } else { "" },
            described("phone"),
            err("phone"),
        ));
    }
    if f.birthday_required {
        fields.push_str(&format!(
            r#"<label for="birthday">Birthday</label>
<input id="birthday" name="birthday" type="date" required value="{}"{}>{}"#,
            esc(&typed.birthday),
            described("birthday"),
            err("birthday"),
        ));
    }
    let body = format!(
        r#"<style>
form {{ display: flex; flex-direction: column; gap: 6px; margin: 16px 0 0; }}
label {{ font-weight: 600; margin: 8px 0 0; }}
.opt {{ font-weight: 400; opacity: .8; }}
input[type=text], input:not([type]), input[type=email], input[type=tel], input[type=date] {{ font: inherit; min-height: 48px; padding: 10px 12px; border-radius: 10px; border: 2px solid rgba(0,0,0,.2); }}
input[aria-invalid=true] {{ border-color: #c62828; }}
.consent {{ display: flex; gap: 10px; align-items: flex-start; margin: 14px 0 0; font-weight: 400; }}
.consent input {{ width: 28px; height: 28px; flex: none; }}
.field-error {{ margin: 0; padding: 6px 10px; border-radius: 8px; background: #fff; color: #c62828; font-weight: 600; }}
button {{ font: inherit; font-weight: 700; min-height: 52px; margin: 18px 0 0; border: 0; border-radius: 12px; background: #000; color: #fff; }}
.hp {{ position: absolute; left: -10000px; width: 1px; height: 1px; overflow: hidden; }}
</style>
<main class="card">
<p class="store">{store}</p>
<h1>{title}</h1>
<p class="member">Join {card_name}: collect stamps and earn rewards.</p>
<form method="post" action="/s/{token}" novalidate>
<input type="hidden" name="csrf" value="{csrf}">
<div class="hp" aria-hidden="true"><label for="website">Leave this empty</label><input id="website" name="website" tabindex="-1" autocomplete="off"></div>
{fields}
<label class="consent" for="consent"><input id="consent" name="consent" type="checkbox" value="1"{consent}{consent_desc}> <span>I agree that {store} keeps my details to run its loyalty card and may send me my card by email or text.</span></label>{consent_err}
{base_err}<button type="submit">Get my card</button>
</form>
</main>"#,
        store = esc(store),
        title = esc(&f.title),
        card_name = esc(&card.design.name),
        token = esc(&poster.token),
        consent = if typed.consent { " checked" } else { "" },
        consent_desc = described("consent"),
        consent_err = err("consent"),
        base_err = err("base"),
    );
    let secure = state.public_url.starts_with("https://");
    let cookie = Cookie::build(CSRF_COOKIE, csrf)
        .path("/s/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .finish();
    let mut res = html_response(
        status,
        page(
            &f.title,
            f.primary_color.as_str(),
            f.text_color.as_str(),
            &body,
        ),
    );
    let _ = res.add_cookie(&cookie);
    res
}

/// `GET /s/<token>`: the signup form.
pub async fn form(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let Some((poster, card, store, _)) = active_poster(&state, path.into_inner()).await? else {
        return Ok(gone());
    };
    Ok(form_page(
        &state,
        &poster,
        &card,
        &store,
        &Typed::default(),
        &FieldErrors::new(),
        StatusCode::OK,
    ))
}

/// `POST /s/<token>`: enrols the customer (or finds them again) and sends them to their card.
pub async fn submit(
    state: web::Data<AppState>,
    path: web::Path<String>,
    req: HttpRequest,
    body: Body,
) -> Result<HttpResponse, ApiError> {
    let Some((poster, card, store, _)) = active_poster(&state, path.into_inner()).await? else {
        return Ok(gone());
    };
    let p = &body.params;
    let mut errors = FieldErrors::new();
    let typed = Typed {
        first_name: text(p, "first_name", &mut FieldErrors::new())
            .set()
            .unwrap_or_default(),
        last_name: text(p, "last_name", &mut FieldErrors::new())
            .set()
            .unwrap_or_default(),
        email: text(p, "email", &mut FieldErrors::new())
            .set()
            .unwrap_or_default(),
        phone: text(p, "phone", &mut FieldErrors::new())
            .set()
            .unwrap_or_default(),
        birthday: text(p, "birthday", &mut FieldErrors::new())
            .set()
            .unwrap_or_default(),
        consent: text(p, "consent", &mut FieldErrors::new())
            .set()
            .is_some_and(|v| matches!(v.as_str(), "1" | "on" | "true" | "yes")),
    };
    let again = |errors: &FieldErrors, status| {
        form_page(&state, &poster, &card, &store, &typed, errors, status)
    };

    // A form from this site, shown to this browser.
    let cookie = req.cookie(CSRF_COOKIE).map(|c| c.value().to_string());
    let sent = text(p, "csrf", &mut FieldErrors::new()).set();
    if cookie.is_none() || cookie != sent {
        errors.add(
            "base",
            "This form has expired. Please check your details and send it again.",
        );
        return Ok(again(&errors, StatusCode::FORBIDDEN));
    }
    // Bots fill every field; people never see this one. Answer as if all went well.
    if text(p, "website", &mut FieldErrors::new()).set().is_some() {
        return Ok(html_response(
            StatusCode::OK,
            page(
                "Thank you",
                "#FFFFFF",
                "#222222",
                "<main class=\"card\"><h1>Thank you!</h1><p>Your card is on its way.</p></main>",
            ),
        ));
    }
    if let (Some(limits), Some(ip)) = (&state.signup_limits, req.peer_addr().map(|a| a.ip())) {
        if limits.0.check_key(&ip).is_err() {
            errors.add("base", "Too many signups from this network right now. Please try again in a while, or ask at the counter.");
            let mut res = again(&errors, StatusCode::TOO_MANY_REQUESTS);
            res.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from_static("600"));
            return Ok(res);
        }
    }

    let first_name = bounded_text(p, "first_name", limits::NAME, &mut errors);
    let last_name = bounded_text(p, "last_name", limits::NAME, &mut errors).set();
    if !matches!(first_name, Field::Set(_)) && !errors.has("first_name") {
        errors.add("first_name", "can't be blank");
    }
    let mode = poster.fields.contact_collection_mode.as_str();
    let email = match text(p, "email", &mut errors) {
        Field::Set(s) if mode != "phone" => match Email::parse(&s) {
            Ok(e) => Some(e),
            Err(m) => {
                errors.add("email", m);
                None
            }
        },
        _ => None,
    };
    let phone = match text(p, "phone", &mut errors) {
        Field::Set(s) if mode != "email" => {
            match Phone::parse(&s, state.settings.default_country) {
                Ok(ph) => Some(ph),
                Err(m) => {
                    errors.add("phone", m);
                    None
                }
            }
        }
        _ => None,
    };
    match mode {
        "email" if email.is_none() && !errors.has("email") => errors.add("email", "can't be blank"),
        "phone" if phone.is_none() && !errors.has("phone") => errors.add("phone", "can't be blank"),
        "email_and_phone" => {
            if email.is_none() && !errors.has("email") {
                errors.add("email", "can't be blank");
            }
            if phone.is_none() && !errors.has("phone") {
                errors.add("phone", "can't be blank");
            }
        }
        "email_or_phone"
            if email.is_none()
                && phone.is_none()
                && !errors.has("email")
                && !errors.has("phone") =>
        {
            errors.add("email", "can't be blank when phone is blank");
            errors.add("phone", "can't be blank when email is blank");
        }
        _ => {}
    }
    // The form asks for a birthday only when the poster requires one.
    let birthday = match text(p, "birthday", &mut errors) {
        Field::Set(s) if poster.fields.birthday_required => {
            match Birthday::parse(&s, time_fmt::today()) {
                Ok(b) => Some(b),
                Err(m) => {
                    errors.add("birthday", m);
                    None
                }
            }
        }
        _ => None,
    };
    if poster.fields.birthday_required && birthday.is_none() && !errors.has("birthday") {
        errors.add("birthday", "can't be blank");
    }
    if !typed.consent {
        errors.add("consent", "must be accepted");
    }
    if !errors.is_empty() {
        return Ok(again(&errors, StatusCode::UNPROCESSABLE_ENTITY));
    }
    let fields = CustomerFields {
        first_name: first_name.set().unwrap_or_default(),
        last_name,
        email,
        phone,
        birthday,
        metadata: serde_json::Map::from_iter([
            (
                "signup".to_string(),
                serde_json::Value::String("poster".into()),
            ),
            ("poster_id".to_string(), serde_json::Value::from(poster.id)),
        ]),
    };
    let st = state.clone();
    let poster_card = card.clone();
    let store_id = poster.store_id;
    let outcome = web::block(move || {
        st.db
            .write(move |tx| enrol(tx, store_id, &poster_card, fields))
    })
    .await?;
    state.outbox.wake();
    match outcome {
        Ok((_, Joined::SentAgain)) => Ok(html_response(
            StatusCode::OK,
            page(
                "You already have this card",
                poster.fields.primary_color.as_str(),
                poster.fields.text_color.as_str(),
                "<main class=\"card\"><h1>You already have this card</h1><p class=\"notice\" role=\"status\">We have sent it again to the email address or phone number we have on file. Show it at the counter to collect stamps.</p></main>",
            ),
        )),
        Ok((uuid, joined)) => Ok(HttpResponse::SeeOther()
            .insert_header((
                header::LOCATION,
                format!(
                    "/c/{uuid}?joined={}",
                    if matches!(joined, Joined::Back) { "back" } else { "new" }
                ),
            ))
            .finish()),
        Err(ApiError::Validation(e)) => Ok(again(&e, StatusCode::UNPROCESSABLE_ENTITY)),
        Err(e) => Err(e),
    }
}

/// Finds the customer by email or phone (or creates them), makes sure they hold the
/// poster's card, and queues their card links. Returns the card's uuid and whether the
/// customer was already known.
fn enrol(
    tx: &rusqlite::Connection,
    store_id: i64,
    card: &db::cards::Card,
    fields: CustomerFields,
) -> Result<(String, Joined), ApiError> {
    if card.is_closed(&time_fmt::now()) {
        return Err(FieldErrors::single(
            "base",
            "Sorry, this card is no longer offered. Please ask at the counter.",
        ));
    }
    let existing = match &fields.email {
        Some(e) => db::customers::email_owner(tx, store_id, e, None)?,
        None => None,
    };
    let existing = match (existing, &fields.phone) {
        (Some(id), _) => Some(id),
        (None, Some(p)) => db::customers::phone_owner(tx, store_id, p, None)?,
        (None, None) => None,
    };
    let (customer_id, returning) = match existing {
        Some(id) => (id, true),
        None => (db::customers::insert(tx, store_id, &fields)?, false),
    };
    let typed_name = fields.first_name.trim().to_lowercase();
    let known = db::customers::find_fields(tx, store_id, customer_id)?.unwrap_or(fields);
    // Knowing someone's email or phone is not enough to see their card: a returning
    // customer is shown it only when the first name matches too; else it is sent again
    // to the contact details on file.
    let joined = if !returning {
        Joined::New
    } else if known.first_name.trim().to_lowercase() == typed_name {
        Joined::Back
    } else {
        Joined::SentAgain
    };
    let cards = db::customer_cards::for_customers(tx, &[customer_id], "")?;
    let held = cards.get(&customer_id).and_then(|list| {
        list.iter()
            .find(|c| c.card_id == card.id)
            .map(|c| (c.id, c.uuid.clone()))
    });
    let (cc, uuid) = match held {
        Some(h) => h,
        None => {
            let id = db::customer_cards::enrol(tx, store_id, customer_id, card, None)?;
            let uuid =
                tx.query_row("SELECT uuid FROM customer_cards WHERE id = ?1", [id], |r| {
                    r.get(0)
                })?;
            (id, uuid)
        }
    };
    db::deliveries::queue(
        tx,
        store_id,
        customer_id,
        cc,
        known.email.as_ref().map(|e| e.as_str()),
        known.phone.as_ref().map(|p| p.as_str()),
    )?;
    Ok((uuid, joined))
}

/// How a signup ended.
enum Joined {
    /// A new customer: show the new card.
    New,
    /// A known customer who gave matching details: show their card again.
    Back,
    /// A known email or phone with other details: the card goes to them by message only.
    SentAgain,
}
