//! What a signup poster is printed on and what its signup form asks for: the contact
//! fields (`contact_collection_mode` with `require_email` / `require_phone`) and how each
//! is asked.

vocabulary! {
    /// The sheet a poster is laid out for.
    PaperSize {
        A4 = "a4",
        A5 = "a5",
        A6 = "a6",
        Letter = "letter",
    }
}

vocabulary! {
    /// The contact fields a poster's signup form shows (`contact_collection_mode`), with
    /// Leal's names. stampd's earlier names are read as aliases: `email_or_phone` (both
    /// shown, either will do), `email` and `phone`.
    ContactMode {
        EmailAndPhone = "email_and_phone" | "email_or_phone",
        EmailOnly = "email_only" | "email",
        PhoneOnly = "phone_only" | "phone",
    }
}

impl ContactMode {
    /// The earlier names a client may still send, each with the name it stands for.
    pub const ALIASES: &'static [(&'static str, &'static str)] = &[
        ("email_or_phone", "email_and_phone"),
        ("email", "email_only"),
        ("phone", "phone_only"),
    ];

    pub fn collects_email(self) -> bool {
        self != ContactMode::PhoneOnly
    }

    pub fn collects_phone(self) -> bool {
        self != ContactMode::EmailOnly
    }
}

/// How the signup form asks for one contact field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ask {
    /// Not shown.
    Not,
    /// Shown and required.
    Required,
    /// Shown; may stay empty.
    Optional,
    /// Shown beside the other contact field; one of the two must be given.
    EitherOr,
}

impl Ask {
    pub fn shown(self) -> bool {
        self != Ask::Not
    }
}

/// How a poster's form asks for the email and the phone: a collected field is required
/// when the poster requires it, or when it is the only one collected (a customer needs
/// an email or a phone); with both collected and neither required, one of them must be
/// given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContactRules {
    pub email: Ask,
    pub phone: Ask,
}

impl ContactRules {
    pub fn new(mode: ContactMode, require_email: bool, require_phone: bool) -> ContactRules {
        let (email, phone) = (mode.collects_email(), mode.collects_phone());
        let ask = |collected: bool, required: bool, other_collected: bool, other_required: bool| {
            if !collected {
                Ask::Not
            } else if required || !other_collected {
                Ask::Required
            } else if other_required {
                Ask::Optional
            } else {
                Ask::EitherOr
            }
        };
        ContactRules {
            email: ask(email, require_email, phone, require_phone),
            phone: ask(phone, require_phone, email, require_email),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paper_sizes_and_contact_modes() {
        assert_eq!(PaperSize::parse(" A5 ").unwrap(), PaperSize::A5);
        assert_eq!(PaperSize::Letter.as_str(), "letter");
        assert_eq!(
            PaperSize::parse("a3").unwrap_err(),
            "is not included in the list (a4, a5, a6, letter)"
        );
        assert_eq!(
            ContactMode::parse("EMAIL_and_phone").unwrap(),
            ContactMode::EmailAndPhone
        );
        assert_eq!(
            ContactMode::parse("fax").unwrap_err(),
            "is not included in the list (email_and_phone, email_only, phone_only)"
        );
    }

    #[test]
    fn earlier_names_are_read_as_leals() {
        for (alias, name) in ContactMode::ALIASES {
            let mode = ContactMode::parse(alias).unwrap();
            assert_eq!(mode.as_str(), *name, "{alias}");
            assert_eq!(ContactMode::parse(&alias.to_uppercase()).unwrap(), mode);
        }
        assert!(!ContactMode::ALL.contains(&"email_or_phone"));
    }

    #[test]
    fn what_the_form_requires() {
        use Ask::*;
        use ContactMode::*;
        let rules = |mode, e, p| {
            let r = ContactRules::new(mode, e, p);
            (r.email, r.phone)
        };
        assert_eq!(rules(EmailAndPhone, false, false), (EitherOr, EitherOr));
        assert_eq!(rules(EmailAndPhone, true, false), (Required, Optional));
        assert_eq!(rules(EmailAndPhone, false, true), (Optional, Required));
        assert_eq!(rules(EmailAndPhone, true, true), (Required, Required));
        // A field collected alone is required whatever is set; the other is not shown.
        for (e, p) in [(false, false), (true, true), (false, true)] {
            assert_eq!(rules(EmailOnly, e, p), (Required, Not));
            assert_eq!(rules(PhoneOnly, e, p), (Not, Required));
        }
    }
}
