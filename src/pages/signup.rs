//! The signup pages a poster's QR code leads to (`/s/<token>`): the form, shown again
//! with what was typed and a message beside each field in error, and the short pages
//! that end a signup without showing a card ("on its way", "already registered"), with
//! the contact masking they use.

use maud::{html, Markup, PreEscaped};

use super::{layout, message_page, plain_message, PageColours};
use crate::domain::{limits, Ask, ContactRules};
use crate::error::FieldErrors;

/// What the customer typed, to fill the form in again.
#[derive(Default)]
pub struct FormValues<'a> {
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub email: &'a str,
    pub phone: &'a str,
    pub birthday: &'a str,
    pub consent: bool,
}

/// The signup form of one poster.
pub struct SignupForm<'a> {
    pub store_name: &'a str,
    pub title: &'a str,
    pub card_name: &'a str,
    pub colours: PageColours,
    /// Where the form is sent.
    pub action: &'a str,
    pub csrf: &'a str,
    /// How the email and the phone are asked for.
    pub contact: ContactRules,
    /// Whether a birthday is asked for (and required).
    pub birthday: bool,
    /// Customers younger than this may not sign up.
    pub minimum_age: Option<i64>,
    pub typed: FormValues<'a>,
    pub errors: &'a FieldErrors,
}

/// What follows a contact field's label: how it is asked for beside the other one.
fn contact_note(ask: Ask, other: &str) -> Option<String> {
    match ask {
        Ask::EitherOr => Some(format!("(or {other})")),
        Ask::Optional => Some("(optional)".into()),
        Ask::Required | Ask::Not => None,
    }
}

pub fn form(f: &SignupForm) -> Markup {
    let (email, phone) = (f.contact.email, f.contact.phone);
    let errors = f.errors;
    let invalid = |key: &str| errors.has(key).then_some("true");
    let described = |key: &str| errors.has(key).then(|| format!("{key}-error"));
    let t = &f.typed;
    let body = html! {
        main.card {
            p.store { (f.store_name) }
            h1 { (f.title) }
            p.member { "Join " (f.card_name) ": collect stamps and earn rewards." }
            form method="post" action=(f.action) novalidate {
                input type="hidden" name="csrf" value=(f.csrf);
                div.hp aria-hidden="true" {
                    label for="website" { "Leave this empty" }
                    input #website name="website" tabindex="-1" autocomplete="off";
                }
                label for="first_name" { "First name" }
                input #first_name name="first_name" required maxlength=(limits::NAME)
                    autocomplete="given-name" value=(t.first_name)
                    aria-invalid=[invalid("first_name")] aria-describedby=[described("first_name")];
                (field_error(errors, "first_name"))
                label for="last_name" { "Last name " span.opt { "(optional)" } }
                input #last_name name="last_name" maxlength=(limits::NAME)
                    autocomplete="family-name" value=(t.last_name)
                    aria-invalid=[invalid("last_name")] aria-describedby=[described("last_name")];
                (field_error(errors, "last_name"))
                @if email.shown() {
                    label for="email" {
                        "Email"
                        @if let Some(note) = contact_note(email, "phone") { " " span.opt { (note) } }
                    }
                    input #email name="email" type="email" maxlength=(limits::EMAIL)
                        autocomplete="email" value=(t.email) required[email == Ask::Required]
                        aria-invalid=[invalid("email")] aria-describedby=[described("email")];
                    (field_error(errors, "email"))
                }
                @if phone.shown() {
                    label for="phone" {
                        "Mobile phone"
                        @if let Some(note) = contact_note(phone, "email") { " " span.opt { (note) } }
                    }
                    input #phone name="phone" type="tel" maxlength=(limits::PHONE_INPUT)
                        autocomplete="tel" value=(t.phone) required[phone == Ask::Required]
                        aria-invalid=[invalid("phone")] aria-describedby=[described("phone")];
                    (field_error(errors, "phone"))
                }
                @if f.birthday {
                    label for="birthday" { "Birthday" }
                    @if let Some(age) = f.minimum_age {
                        p.hint #birthday-hint { "You must be " (age) " or older to join." }
                    }
                    input #birthday name="birthday" type="date" required value=(t.birthday)
                        aria-invalid=[invalid("birthday")]
                        aria-describedby=[birthday_described(f.minimum_age.is_some(), errors.has("birthday"))];
                    (field_error(errors, "birthday"))
                }
                label.consent for="consent" {
                    input #consent name="consent" type="checkbox" value="1" checked[t.consent]
                        aria-invalid=[invalid("consent")] aria-describedby=[described("consent")];
                    " "
                    span {
                        "I agree that " (f.store_name) " keeps my details to run its loyalty card \
                         and may send me my card by email or text."
                    }
                }
                (field_error(errors, "consent"))
                (field_error(errors, "base"))
                button type="submit" { "Get my card" }
            }
        }
    };
    layout(f.title, &f.colours, Some(PreEscaped(FORM_CSS.into())), body)
}

/// What describes the birthday field: the age it must show, and its error.
fn birthday_described(hint: bool, error: bool) -> Option<String> {
    let ids: Vec<&str> = [(hint, "birthday-hint"), (error, "birthday-error")]
        .into_iter()
        .filter_map(|(on, id)| on.then_some(id))
        .collect();
    (!ids.is_empty()).then(|| ids.join(" "))
}

/// The message beside a field in error, which the field points at.
fn field_error(errors: &FieldErrors, key: &str) -> Markup {
    html! {
        @if let Some(messages) = errors.0.get(key) {
            p.field-error id={ (key) "-error" } role="alert" { (messages.join(", ")) }
        }
    }
}

/// A poster that is deleted, deactivated or never was.
pub fn gone() -> Markup {
    plain_message(
        "Not found",
        "This poster is no longer active",
        "Ask at the counter to join the loyalty programme.",
    )
}

/// What a bot that filled the hidden field is told.
pub fn thank_you() -> Markup {
    plain_message("Thank you", "Thank you!", "Your card is on its way.")
}

/// Where the card went, when a message carries it: the same for a new customer and a
/// known contact, so the page does not tell who is a customer already. `to` holds the
/// contacts as typed, partly masked.
pub fn on_its_way(colours: &PageColours, to: &[String]) -> Markup {
    message_page(
        "Your card is on its way",
        colours,
        "Your card is on its way",
        html! {
            p.notice role="status" {
                "We are sending your card to "
                @for (i, contact) in to.iter().enumerate() {
                    @if i > 0 { " and " }
                    strong { (contact) }
                }
                ". Open the link on your phone and show the card at the counter to \
                 collect stamps."
            }
            p { "Nothing arrived after a few minutes? Ask at the counter." }
        },
    )
}

/// A known email or phone when no message can carry the card: it is not shown here,
/// to anyone who only knows the contact.
pub fn already_registered(colours: &PageColours) -> Markup {
    message_page(
        "Already registered",
        colours,
        "Already registered",
        html! {
            p.notice role="status" {
                "This email or phone is already registered. Please ask at the counter \
                 for your card."
            }
        },
    )
}

/// An email as typed, shown but for its first character before the `@`:
/// `ann@example.com` → `a•••@example.com`.
pub fn masked_email(typed: &str) -> String {
    let typed = typed.trim();
    match typed.rsplit_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}•••@{domain}")
        }
        None => "•••".to_string(),
    }
}

/// A phone number as typed, its digits hidden but the last three:
/// `(415) 555-0132` → `(•••) •••-•132`.
pub fn masked_phone(typed: &str) -> String {
    let typed = typed.trim();
    let digits = typed.chars().filter(char::is_ascii_digit).count();
    let mut seen = 0;
    typed
        .chars()
        .map(|c| {
            if !c.is_ascii_digit() {
                return c;
            }
            seen += 1;
            if seen + 3 > digits {
                c
            } else {
                '•'
            }
        })
        .collect()
}

const FORM_CSS: &str = r#"form { display: flex; flex-direction: column; gap: 6px; margin: 16px 0 0; }
label { font-weight: 600; margin: 8px 0 0; }
.opt { font-weight: 400; opacity: .8; }
.hint { margin: 0; opacity: .85; }
input[type=text], input:not([type]), input[type=email], input[type=tel], input[type=date] { font: inherit; min-height: 48px; padding: 10px 12px; border-radius: 10px; border: 2px solid rgba(0,0,0,.2); }
input[aria-invalid=true] { border-color: #c62828; }
.consent { display: flex; gap: 10px; align-items: flex-start; margin: 14px 0 0; font-weight: 400; }
.consent input { width: 28px; height: 28px; flex: none; }
.field-error { margin: 0; padding: 6px 10px; border-radius: 8px; background: #fff; color: #c62828; font-weight: 600; }
button { font: inherit; font-weight: 700; min-height: 52px; margin: 18px 0 0; border: 0; border-radius: 12px; background: #000; color: #fff; }
.hp { position: absolute; left: -10000px; width: 1px; height: 1px; overflow: hidden; }
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ContactMode;

    const HOSTILE: &str = "\"><script>alert('x')</script>";
    const ESCAPED: &str = "&quot;&gt;&lt;script&gt;alert('x')&lt;/script&gt;";

    fn signup(errors: &FieldErrors, contact: ContactRules) -> SignupForm<'_> {
        SignupForm {
            store_name: HOSTILE,
            title: HOSTILE,
            card_name: HOSTILE,
            colours: PageColours::plain(),
            action: "/s/ab12",
            csrf: "c0ffee",
            contact,
            birthday: true,
            minimum_age: None,
            typed: FormValues {
                first_name: HOSTILE,
                last_name: HOSTILE,
                email: HOSTILE,
                phone: HOSTILE,
                birthday: HOSTILE,
                consent: true,
            },
            errors,
        }
    }

    #[test]
    fn typed_values_names_and_messages_are_escaped() {
        let mut errors = FieldErrors::new();
        errors.add("email", HOSTILE);
        let html = form(&signup(&errors, either())).into_string();
        assert!(!html.contains("<script"), "{html}");
        // Title (twice), store (twice), card, five typed values, one message.
        assert_eq!(html.matches(ESCAPED).count(), 11, "{html}");
        assert!(html.contains(&format!("value=\"{ESCAPED}\"")), "{html}");
    }

    #[test]
    fn a_field_in_error_points_at_its_message() {
        let mut errors = FieldErrors::new();
        errors.add("phone", "is invalid");
        let both = ContactRules::new(ContactMode::EmailAndPhone, true, true);
        let html = form(&signup(&errors, both)).into_string();
        assert!(
            html.contains("aria-invalid=\"true\" aria-describedby=\"phone-error\">"),
            "{html}"
        );
        assert!(
            html.contains(
                "<p class=\"field-error\" id=\"phone-error\" role=\"alert\">is invalid</p>"
            ),
            "{html}"
        );
        assert_eq!(html.matches("aria-invalid=\"true\"").count(), 1, "{html}");
        assert_eq!(
            html.matches(" required").count(),
            4,
            "name, email, phone, birthday"
        );
        assert!(html.contains(" checked"), "consent stays ticked");
    }

    #[test]
    fn contacts_are_masked_but_recognisable() {
        assert_eq!(masked_email(" Ann.Lee@Example.COM "), "A•••@Example.COM");
        assert_eq!(masked_email("a@b.co"), "a•••@b.co");
        assert_eq!(masked_phone("(415) 555-0132"), "(•••) •••-•132");
        assert_eq!(masked_phone("+44 7700 900123"), "+•• •••• •••123");
        assert_eq!(masked_phone("12"), "12");
        let html = on_its_way(
            &PageColours::plain(),
            &[
                masked_email(&format!("x@{HOSTILE}")),
                masked_phone("415 555 0132"),
            ],
        )
        .into_string();
        assert!(!html.contains("<script"), "{html}");
        assert!(
            html.contains(&format!("<strong>x•••@{ESCAPED}</strong>")),
            "{html}"
        );
        assert!(html.contains("<strong>••• ••• •132</strong>"), "{html}");
    }

    fn either() -> ContactRules {
        ContactRules::new(ContactMode::EmailAndPhone, false, false)
    }

    #[test]
    fn the_contact_mode_decides_the_fields() {
        let errors = FieldErrors::new();
        let phone_only = ContactRules::new(ContactMode::PhoneOnly, false, false);
        let html = form(&signup(&errors, phone_only)).into_string();
        assert!(!html.contains("name=\"email\""), "{html}");
        assert!(
            html.contains("<label for=\"phone\">Mobile phone</label>"),
            "{html}"
        );
        let html = form(&signup(&errors, either())).into_string();
        assert!(
            html.contains("Email <span class=\"opt\">(or phone)</span>"),
            "{html}"
        );
        assert!(
            html.contains("Mobile phone <span class=\"opt\">(or email)</span>"),
            "{html}"
        );
        let email_first = ContactRules::new(ContactMode::EmailAndPhone, true, false);
        let html = form(&signup(&errors, email_first)).into_string();
        assert!(
            html.contains("<label for=\"email\">Email</label>"),
            "{html}"
        );
        assert!(
            html.contains("Mobile phone <span class=\"opt\">(optional)</span>"),
            "{html}"
        );
    }

    #[test]
    fn a_minimum_age_is_said_beside_the_birthday() {
        let mut errors = FieldErrors::new();
        let mut f = signup(&errors, either());
        f.minimum_age = Some(18);
        let html = form(&f).into_string();
        assert!(
            html.contains(
                "<p class=\"hint\" id=\"birthday-hint\">You must be 18 or older to join.</p>"
            ),
            "{html}"
        );
        assert!(
            html.contains("aria-describedby=\"birthday-hint\""),
            "{html}"
        );
        errors.add("birthday", "too young");
        let mut f = signup(&errors, either());
        f.minimum_age = Some(18);
        let html = form(&f).into_string();
        assert!(
            html.contains("aria-describedby=\"birthday-hint birthday-error\""),
            "{html}"
        );
    }
}
