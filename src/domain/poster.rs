//! What a signup poster is printed on and what its signup form asks for.

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
    /// The contact details a poster's signup form asks for (`contact_collection_mode`).
    ContactMode {
        EmailOrPhone = "email_or_phone",
        Email = "email",
        Phone = "phone",
        EmailAndPhone = "email_and_phone",
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
            "is not included in the list (email_or_phone, email, phone, email_and_phone)"
        );
    }
}
