//! The public side of posters: the printable poster (`/posters/<token>`) and the signup
//! page its QR code leads to (`/s/<token>`), where customers enrol themselves.
//!
//! The signup form is protected against abuse: a per-address rate limit, a hidden
//! honeypot field, bounded field lengths, and a CSRF token that must match a
//! same-site cookie set with the form.

use std::net::IpAddr;
use std::time::Duration;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};

use super::rate_limit::MAX_ADDRESSES;
use super::web_card::html_response;
use super::AppState;
use crate::db;
use crate::db::card_links::{self, Recipient};
use crate::db::customers::{Contact, CustomerFields};
use crate::db::posters::{Poster, PosterFields};
use crate::domain::links::CardLinks;
use crate::domain::{limits, Ask, Birthday, Email, Phone};
use crate::edge::limit::{Buckets, Quota, Verdict};
use crate::edge::peer::request_key;
use crate::error::{ApiError, FieldErrors};
use crate::pages::signup::{FormValues, SignupForm};
use crate::pages::{self, InlineSvg, PageColours};
use crate::params::{name_text, text, Body, Field};
use crate::time_fmt;

const CSRF_COOKIE: &str = "stampd_signup";

/// Signups per hour from one address (the form pages themselves are not limited), in
/// a table of bounded size like every per-address limit.
pub struct SignupLimits {
    addresses: Buckets<IpAddr>,
    quota: Quota,
}

impl SignupLimits {
    pub fn new(per_hour: u32) -> Option<SignupLimits> {
        Quota::new(per_hour, Duration::from_secs(3600)).map(|quota| SignupLimits {
            addresses: Buckets::new(MAX_ADDRESSES),
            quota,
        })
    }

    /// Whether one more signup from `address` is allowed now (and counts it if so).
    fn allow(&self, address: IpAddr) -> bool {
        matches!(
            self.addresses.take(&address, self.quota),
            Verdict::Allowed { .. }
        )
    }

    /// Forgets the addresses whose allowance is whole again.
    pub fn forget_idle(&self) {
        self.addresses.forget_idle();
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
    req: &HttpRequest,
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
        contact: f.contact_rules(),
        birthday: f.require_birthday,
        minimum_age: f.minimum_age,
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
    // Secure when the browser's connection is HTTPS: stampd's own TLS, or what a
    // trusted proxy says; where nothing says, as public_url's scheme.
    let secure = crate::edge::peer::client_https(req).unwrap_or_else(|| {
        req.app_data::<web::Data<AppState>>()
            .is_some_and(|state| state.public_url.starts_with("https://"))
    });
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
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let Some((poster, card, store, _)) = active_poster(&state, path.into_inner()).await? else {
        return Ok(gone());
    };
    Ok(form_page(
        &req,
        &poster,
        &card,
        &store,
        &Typed::default(),
        &FieldErrors::new(),
        StatusCode::OK,
    ))
}

/// `POST /s/<token>`: enrols a new customer. The answer gives away nothing about who is
/// a customer already where it can help it: when a message can carry the card, new and
/// known contacts alike get the same "on its way" page (the card goes to a new customer
/// at once, to a known contact again at most once an hour); without one, a new customer
/// is shown their card at once and a known contact is asked to come to the counter.
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
        form_page(&req, &poster, &card, &store, &typed, errors, status)
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
    if let (Some(limits), Some(address)) = (&state.signup_limits, request_key(&req)) {
        if !limits.allow(address) {
            errors.add("base", "Too many signups from this network right now. Please try again in a while, or ask at the counter.");
            let mut res = again(&errors, StatusCode::TOO_MANY_REQUESTS);
            res.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from_static("600"));
            return Ok(res);
        }
    }

    let first_name = name_text(p, "first_name", limits::NAME, &mut errors);
    let last_name = name_text(p, "last_name", limits::NAME, &mut errors).set();
    if !matches!(first_name, Field::Set(_)) && !errors.has("first_name") {
        errors.add("first_name", "can't be blank");
    }
    let rules = poster.fields.contact_rules();
    let email = match text(p, "email", &mut errors) {
        Field::Set(s) if rules.email.shown() => match Email::parse(&s) {
            Ok(e) => Some(e),
            Err(m) => {
                errors.add("email", m);
                None
            }
        },
        _ => None,
    };
    let phone = match text(p, "phone", &mut errors) {
        Field::Set(s) if rules.phone.shown() => {
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
    for (key, ask, given) in [
        ("email", rules.email, email.is_some()),
        ("phone", rules.phone, phone.is_some()),
    ] {
        if ask == Ask::Required && !given && !errors.has(key) {
            errors.add(key, "can't be blank");
        }
    }
    if rules.email == Ask::EitherOr
        && email.is_none()
        && phone.is_none()
        && !errors.has("email")
        && !errors.has("phone")
    {
        errors.add("email", "can't be blank when phone is blank");
        errors.add("phone", "can't be blank when email is blank");
    }
    // The form asks for a birthday only when the poster requires one. Age counts on
    // today's date in UTC: stores have no time zone of their own yet.
    let today = time_fmt::today();
    let required = poster.fields.require_birthday;
    let birthday = match text(p, "birthday", &mut errors) {
        Field::Set(s) if required => match Birthday::parse(&s, today) {
            Ok(b) => Some(b),
            Err(m) => {
                errors.add("birthday", m);
                None
            }
        },
        _ => None,
    };
    if required && birthday.is_none() && !errors.has("birthday") {
        errors.add("birthday", "can't be blank");
    }
    if let (Some(b), Some(age)) = (birthday, poster.fields.minimum_age) {
        if b.age_on(today) < age {
            errors.add(
                "birthday",
                format!("Sorry, you must be {age} or older to join this card."),
            );
        }
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
    // Whether the card can reach this customer by a message: a channel with settings for
    // a contact they typed. Decided from what was typed and the settings alone, never
    // from who is already a customer.
    let by_message = Channels {
        email: fields.email.is_some() && state.settings.smtp.is_some(),
        sms: fields.phone.is_some() && state.settings.sms.is_some(),
    };
    let st = state.clone();
    let poster_card = card.clone();
    let store_id = poster.store_id;
    let outcome = web::block(move || {
        st.db
            .write(move |tx| enrol(tx, store_id, &poster_card, fields, by_message))
    })
    .await?;
    state.outbox.wake();
    let colours = poster_colours(&poster.fields);
    match outcome {
        // New or known, the same page: what it says comes from what was typed.
        Ok(_) if by_message.any() => {
            let mut to = Vec::new();
            if by_message.email {
                to.push(pages::signup::masked_email(&typed.email));
            }
            if by_message.sms {
                to.push(pages::signup::masked_phone(&typed.phone));
            }
            Ok(html_response(
                StatusCode::OK,
                pages::signup::on_its_way(&colours, &to),
            ))
        }
        Ok(Signup::New(uuid)) => Ok(HttpResponse::SeeOther()
            .insert_header((
                header::LOCATION,
                format!("{}?joined=new", CardLinks::new("", &uuid).web_card()),
            ))
            .finish()),
        Ok(Signup::Known) => Ok(html_response(
            StatusCode::CONFLICT,
            pages::signup::already_registered(&colours),
        )),
        Err(ApiError::Validation(e)) => Ok(again(&e, StatusCode::UNPROCESSABLE_ENTITY)),
        Err(e) => Err(e),
    }
}

/// The channels that can carry card links to what the customer typed.
#[derive(Debug, Clone, Copy)]
struct Channels {
    email: bool,
    sms: bool,
}

impl Channels {
    fn any(self) -> bool {
        self.email || self.sms
    }
}

/// How a signup ended.
enum Signup {
    /// A new customer, enrolled in the poster's card (its uuid) and sent its links.
    New(String),
    /// The email or phone is a customer's already: nobody was changed.
    Known,
}

/// Enrols a new customer in the poster's card and queues their card links; or, when
/// the email or phone typed is a customer's already, changes nobody and (with
/// `resend`) sends their card again to that contact, at most once an hour.
fn enrol(
    tx: &rusqlite::Connection,
    store_id: i64,
    card: &db::cards::Card,
    fields: CustomerFields,
    resend: Channels,
) -> Result<Signup, ApiError> {
    if card.is_closed(&time_fmt::now()) {
        return Err(FieldErrors::single(
            "base",
            "Sorry, this card is no longer offered. Please ask at the counter.",
        ));
    }
    let email_owner = match &fields.email {
        Some(e) => db::customers::owner(tx, store_id, Contact::Email(e), None)?,
        None => None,
    };
    let phone_owner = match &fields.phone {
        Some(p) => db::customers::owner(tx, store_id, Contact::Phone(p), None)?,
        None => None,
    };
    let email = fields.email.as_ref().map(|e| e.as_str());
    let phone = fields.phone.as_ref().map(|p| p.as_str());
    if email_owner.is_none() && phone_owner.is_none() {
        let customer_id = db::customers::insert(tx, store_id, &fields)?;
        let cc = db::customer_cards::enrol(tx, store_id, customer_id, card, &Default::default())?;
        let uuid = tx.query_row("SELECT uuid FROM customer_cards WHERE id = ?1", [cc], |r| {
            r.get(0)
        })?;
        let to = Recipient {
            store_id,
            customer_id,
            email,
            phone,
        };
        card_links::send(tx, &to, &[cc], card_links::CARD_LINKS)?;
        return Ok(Signup::New(uuid));
    }
    // Each contact typed that is on file, by a channel that can carry it, goes to its
    // owner (the one customer, or two when email and phone belong to different ones).
    let mut to: Vec<Recipient> = Vec::new();
    if let (Some(id), true) = (email_owner, resend.email) {
        to.push(Recipient {
            store_id,
            customer_id: id,
            email,
            phone: None,
        });
    }
    if let (Some(id), true) = (phone_owner, resend.sms) {
        match to.iter_mut().find(|r| r.customer_id == id) {
            Some(r) => r.phone = phone,
            None => to.push(Recipient {
                store_id,
                customer_id: id,
                email: None,
                phone,
            }),
        }
    }
    for r in &to {
        // The poster's card when they hold it; else the cards they hold here (the page
        // never enrols a known customer: that is done at the counter).
        let held = db::customer_cards::for_customers(tx, &[r.customer_id], "")?
            .remove(&r.customer_id)
            .unwrap_or_default();
        let this: Vec<i64> = held
            .iter()
            .filter(|c| c.card_id == card.id)
            .map(|c| c.id)
            .collect();
        let cards = if this.is_empty() {
            held.iter().map(|c| c.id).collect()
        } else {
            this
        };
        card_links::send(tx, r, &cards, card_links::SIGNUP_RESEND)?;
    }
    Ok(Signup::Known)
}
