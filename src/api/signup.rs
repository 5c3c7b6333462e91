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

use super::web_card::html_response;
use super::AppState;
use crate::db;
use crate::db::customers::{Contact, CustomerFields};
use crate::db::posters::{Poster, PosterFields};
use crate::domain::links::CardLinks;
use crate::domain::{limits, Birthday, Email, Phone};
use crate::error::{ApiError, FieldErrors};
use crate::pages::signup::{FormValues, SignupForm};
use crate::pages::{self, InlineSvg, PageColours};
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
    html_response(StatusCode::NOT_FOUND, pages::signup::gone())
}

/// The poster's own colours for the pages it leads to.
fn poster_colours(f: &PosterFields) -> PageColours {
    PageColours {
        background: f.primary_color.clone(),
        text: f.text_color.clone(),
    }
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
    let links = poster.links(&state.public_url);
    let qr_url = links.qr_code();
    let page = pages::poster::page(&pages::poster::Poster {
        store_name: &store,
        title: &f.title,
        card_name: &card.design.name,
        paper_size: f.paper_size.as_str(),
        primary: f.primary_color.clone(),
        secondary: f.secondary_color.clone(),
        text: f.text_color.clone(),
        stamps: match &reward {
            Some(r) => r.stamps_required,
            None => card.design.stamps_required,
        },
        reward: reward.as_ref().map(|r| r.name.as_str()),
        qr_url: &qr_url,
        qr: InlineSvg::qr(&qr_url, 600).map_err(ApiError::internal)?,
        signup_url: &links.signup(),
    });
    Ok(html_response(StatusCode::OK, page))
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
    let page = pages::signup::form(&SignupForm {
        store_name: store,
        title: &f.title,
        card_name: &card.design.name,
        colours: poster_colours(f),
        action: &poster.links("").signup(),
        csrf: &csrf,
        contact_mode: f.contact_collection_mode.as_str(),
        birthday_required: f.birthday_required,
        typed: FormValues {
            first_name: &typed.first_name,
            last_name: &typed.last_name,
            email: &typed.email,
            phone: &typed.phone,
            birthday: &typed.birthday,
            consent: typed.consent,
        },
        errors,
    });
    let secure = state.public_url.starts_with("https://");
    let cookie = Cookie::build(CSRF_COOKIE, csrf)
        .path("/s/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .finish();
    let mut res = html_response(status, page);
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
    // What was typed, shown again as it was; its errors are found below.
    let typed_text = |key| text(p, key, &mut FieldErrors::new()).set();
    let typed = Typed {
        first_name: typed_text("first_name").unwrap_or_default(),
        last_name: typed_text("last_name").unwrap_or_default(),
        email: typed_text("email").unwrap_or_default(),
        phone: typed_text("phone").unwrap_or_default(),
        birthday: typed_text("birthday").unwrap_or_default(),
        consent: typed_text("consent")
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
        return Ok(html_response(StatusCode::OK, pages::signup::thank_you()));
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
            pages::signup::sent_again(&poster_colours(&poster.fields)),
        )),
        Ok((uuid, joined)) => Ok(HttpResponse::SeeOther()
            .insert_header((
                header::LOCATION,
                format!(
                    "{}?joined={}",
                    CardLinks::new("", &uuid).web_card(),
                    if matches!(joined, Joined::Back) {
                        "back"
                    } else {
                        "new"
                    }
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
        Some(e) => db::customers::owner(tx, store_id, Contact::Email(e), None)?,
        None => None,
    };
    let existing = match (existing, &fields.phone) {
        (Some(id), _) => Some(id),
        (None, Some(p)) => db::customers::owner(tx, store_id, Contact::Phone(p), None)?,
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
    super::customers::queue_card_links(tx, store_id, customer_id, cc, &known)?;
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
