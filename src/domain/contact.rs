//! A customer's contact details: email, phone, birthday.

use time::Date;

use super::limits;

/// An email address, trimmed and lower-cased: the form in which it is stored,
/// compared for uniqueness and returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// Accepts what an HTML form's `type=email` accepts (the WHATWG rule Rails also uses),
    /// plus a dot in the domain, since a shop's customers have internet addresses.
    pub fn parse(input: &str) -> Result<Email, String> {
        let s = input.trim().to_lowercase();
        if s.chars().count() > limits::EMAIL {
            return Err(super::too_long(limits::EMAIL));
        }
        let (local, domain) = s.rsplit_once('@').ok_or("is invalid")?;
        let local_ok = !local.is_empty()
            && local
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || ".!#$%&'*+/=?^_`{|}~-".contains(c));
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && labels.iter().all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            });
        if local_ok && domain_ok {
            Ok(Email(s))
        } else {
            Err("is invalid".into())
        }
    }

    /// An address stampd stored earlier (checked when it was saved).
    pub fn from_stored(stored: String) -> Email {
        Email(stored)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A phone number in E.164 (`+14155550132`), parsed with the store's default
/// country for numbers written without a country code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone(String);

impl Phone {
    pub fn parse(input: &str, default_country: phonenumber::country::Id) -> Result<Phone, String> {
        let number = Self::parse_unchecked(input, default_country)?;
        if !number.is_valid() {
            return Err("is invalid".into());
        }
        Ok(Phone(number.e164()))
    }

    /// A whole number as written, not yet checked to be a number in service.
    pub fn parse_unchecked(
        input: &str,
        default_country: phonenumber::country::Id,
    ) -> Result<UncheckedPhone, String> {
        let s = input.trim();
        if s.chars().count() > limits::PHONE_INPUT {
            return Err(super::too_long(limits::PHONE_INPUT));
        }
        // Digits and the punctuation people write numbers with; no letters or extensions.
        if !s.chars().any(|c| c.is_ascii_digit())
            || !s
                .chars()
                .all(|c| c.is_ascii_digit() || " +-().\u{a0}/".contains(c))
        {
            return Err("is invalid".into());
        }
        phonenumber::parse(Some(default_country), s)
            .map(UncheckedPhone)
            .map_err(|_| "is invalid".into())
    }

    /// Loads the number plans of every country, which otherwise happens on the first
    /// number read (about a tenth of a second, that request's wait).
    pub fn load_number_plans() {
        let _ = Phone::parse("+14155550132", phonenumber::country::Id::US);
    }

    /// A number stampd stored earlier (checked and put in E.164 when it was saved).
    pub fn from_stored(stored: String) -> Phone {
        Phone(stored)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A number read from what was written, whose check against the country's number plans
/// (the slow part of reading a number) is left to [`UncheckedPhone::is_valid`]: a
/// search compares it with stored numbers first, which were all checked when saved.
#[derive(Debug, Clone)]
pub struct UncheckedPhone(phonenumber::PhoneNumber);

impl UncheckedPhone {
    pub fn e164(&self) -> String {
        self.0.format().mode(phonenumber::Mode::E164).to_string()
    }

    pub fn is_valid(&self) -> bool {
        phonenumber::is_valid(&self.0)
    }
}

/// A birthday: a real calendar date, `YYYY-MM-DD`, not in the future and not absurdly old.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Birthday(Date);

impl Birthday {
    pub fn parse(input: &str, today: Date) -> Result<Birthday, String> {
        let d = crate::time_fmt::parse_date(input.trim()).ok_or("is invalid")?;
        if d > today {
            return Err("can't be in the future".into());
        }
        if d.year() < 1900 {
            return Err("is invalid".into());
        }
        Ok(Birthday(d))
    }

    /// A birthday stampd stored earlier (`YYYY-MM-DD`, checked when it was saved).
    pub fn from_stored(stored: &str) -> Option<Birthday> {
        crate::time_fmt::parse_date(stored).map(Birthday)
    }

    pub fn to_iso(self) -> String {
        crate::time_fmt::format_date(self.0)
    }

    /// Whole years of age on `day`. Someone born on 29 February turns a year older on
    /// 1 March in years without one.
    pub fn age_on(self, day: Date) -> i64 {
        let born = self.0;
        let years = i64::from(day.year()) - i64::from(born.year());
        let before_birthday = (day.month() as u8, day.day()) < (born.month() as u8, born.day());
        years - i64::from(before_birthday)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use phonenumber::country::Id;

    #[test]
    fn age_counts_whole_years() {
        use time::macros::date;
        let b = |s: &str| Birthday::parse(s, date!(2026 - 06 - 01)).unwrap();
        assert_eq!(b("2008-06-01").age_on(date!(2026 - 06 - 01)), 18);
        assert_eq!(b("2008-06-02").age_on(date!(2026 - 06 - 01)), 17);
        assert_eq!(b("2008-05-31").age_on(date!(2026 - 06 - 01)), 18);
        assert_eq!(b("2026-06-01").age_on(date!(2026 - 06 - 01)), 0);
        let leap = b("2008-02-29");
        assert_eq!(leap.age_on(date!(2026 - 02 - 28)), 17);
        assert_eq!(leap.age_on(date!(2026 - 03 - 01)), 18);
        assert_eq!(leap.age_on(date!(2028 - 02 - 29)), 20);
    }

    #[test]
    fn emails_are_trimmed_and_lowercased() {
        assert_eq!(
            Email::parse("  Ann.Lee@Example.COM ").unwrap().as_str(),
            "ann.lee@example.com"
        );
        assert_eq!(
            Email::parse("a+tag@sub.example.co.uk").unwrap().as_str(),
            "a+tag@sub.example.co.uk"
        );
    }

    #[test]
    fn bad_emails_are_invalid() {
        for bad in [
            "",
            "ann",
            "ann@",
            "@example.com",
            "ann@example",
            "ann lee@example.com",
            "ann@exa mple.com",
            "ann@-x.com",
            "a@b..com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(Email::parse(&long).unwrap_err().contains("too long"));
    }

    #[test]
    fn phones_normalise_to_e164() {
        for s in [
            "(415) 555-0132",
            "+1 415 555 0132",
            "415.555.0132",
            "+14155550132",
            "1-415-555-0132",
        ] {
            assert_eq!(
                Phone::parse(s, Id::US).unwrap().as_str(),
                "+14155550132",
                "{s}"
            );
        }
        assert_eq!(
            Phone::parse("020 7946 0018", Id::GB).unwrap().as_str(),
            "+442079460018"
        );
        assert_eq!(
            Phone::parse("+44 20 7946 0018", Id::US).unwrap().as_str(),
            "+442079460018"
        );
    }

    #[test]
    fn bad_phones_are_invalid() {
        for s in [
            "",
            "abc",
            "123",
            "+1 415 555",
            "555-0132-9999-9999-99",
            "not a phone 4155550132x",
        ] {
            assert!(Phone::parse(s, Id::US).is_err(), "{s}");
        }
    }

    #[test]
    fn birthdays_are_real_past_dates() {
        let today = crate::time_fmt::parse_date("2026-11-26").unwrap();
        assert_eq!(
            Birthday::parse("1990-02-28", today).unwrap().to_iso(),
            "1990-02-28"
        );
        assert!(Birthday::parse("1990-02-30", today).is_err());
        assert!(Birthday::parse("2026-11-27", today).is_err());
        assert!(Birthday::parse("1990/02/28", today).is_err());
        assert!(Birthday::parse("1850-01-01", today).is_err());
    }
}
