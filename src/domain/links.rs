//! The public addresses of cards, wallet passes and posters. Each URL shape is spelled
//! here once; the JSON, the pages, the passes and the messages all read it from here.
//!
//! `base` is the public URL phones reach stampd at (no trailing slash); an empty base
//! gives the path alone, for links and redirects within this server.

/// The addresses of one customer card, known by its uuid.
pub struct CardLinks<'a> {
    base: &'a str,
    uuid: &'a str,
}

impl<'a> CardLinks<'a> {
    pub fn new(base: &'a str, uuid: &'a str) -> CardLinks<'a> {
        CardLinks { base, uuid }
    }

    /// The web card page.
    pub fn web_card(&self) -> String {
        format!("{}/c/{}", self.base, self.uuid)
    }

    /// The QR code (SVG) of the web card page, for the customer to scan at the counter.
    pub fn web_card_qr(&self) -> String {
        format!("{}/c/{}/qr.svg", self.base, self.uuid)
    }

    /// The signed Apple Wallet pass (or the web card, when Apple Wallet is not set up).
    pub fn apple_pass(&self) -> String {
        format!("{}/passes/{}.pkpass", self.base, self.uuid)
    }

    /// The "Save to Google Wallet" link (or the web card, when Google Wallet is not set up).
    pub fn google_pass(&self) -> String {
        format!("{}/passes/{}/google", self.base, self.uuid)
    }

    /// The strip image Google Wallet fetches as the card's hero image.
    pub fn strip_image(&self) -> String {
        format!("{}/passes/{}/strip.png", self.base, self.uuid)
    }
}

/// Why customers' phones may not open the links stampd gives (`None`: they can, as
/// far as stampd can tell). `configured` is `public_url` as the settings give it;
/// `base` what links start with (the bound address when it is unset). A loopback or
/// unspecified (0.0.0.0) host is reachable from this machine only.
pub fn unreachable_by_phones(configured: Option<&str>, base: &str) -> Option<String> {
    let host = base
        .split_once("://")
        .map_or(base, |(_, rest)| rest)
        .split(['/', '?', '#'])
        .next()
        .unwrap_or_default();
    let host = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host.rsplit_once(':').map_or(host, |(h, _)| h),
    };
    let local = host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback() || ip.is_unspecified());
    match (configured, local) {
        (_, true) => Some(format!(
            "card links and QR codes point at {base}, which customers' phones cannot open: \
             set public_url (in config.toml or STAMPD_PUBLIC_URL) to the address phones \
             reach stampd at"
        )),
        (None, false) => Some(format!(
            "public_url is not set: card links and QR codes use the address stampd \
             listens on ({base}), which changes if this machine's address does; set \
             public_url to the address phones reach stampd at"
        )),
        (Some(_), false) => None,
    }
}

/// Where Apple Wallet reaches the pass web service (`webServiceURL` of a pass).
pub fn apple_web_service(base: &str) -> String {
    format!("{base}/passes/")
}

/// The program logo Google Wallet fetches for a loyalty class.
pub fn google_program_logo(base: &str) -> String {
    format!("{base}/passes/assets/program-logo.png")
}

/// The addresses of one poster, known by its secret token.
pub struct PosterLinks<'a> {
    base: &'a str,
    token: &'a str,
}

impl<'a> PosterLinks<'a> {
    pub fn new(base: &'a str, token: &'a str) -> PosterLinks<'a> {
        PosterLinks { base, token }
    }

    /// The signup form.
    pub fn signup(&self) -> String {
        format!("{}/s/{}", self.base, self.token)
    }

    /// What the poster's QR code encodes: the signup form, marked as reached by the code.
    pub fn qr_code(&self) -> String {
        format!("{}?via=qr", self.signup())
    }

    /// The printable poster.
    pub fn display(&self) -> String {
        format!("{}/posters/{}", self.base, self.token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const UUID: &str = "625bc9b5-c900-41e0-a7a5-9f3ba91942df";

    #[test]
    fn card_links() {
        let l = CardLinks::new("https://cards.example.com", UUID);
        assert_eq!(l.web_card(), format!("https://cards.example.com/c/{UUID}"));
        assert_eq!(
            l.apple_pass(),
            format!("https://cards.example.com/passes/{UUID}.pkpass")
        );
        assert_eq!(
            l.google_pass(),
            format!("https://cards.example.com/passes/{UUID}/google")
        );
        assert_eq!(
            l.strip_image(),
            format!("https://cards.example.com/passes/{UUID}/strip.png")
        );
        assert_eq!(CardLinks::new("", UUID).web_card(), format!("/c/{UUID}"));
    }

    #[test]
    fn wallet_service_links() {
        assert_eq!(
            apple_web_service("https://x.test"),
            "https://x.test/passes/"
        );
        assert_eq!(
            google_program_logo("https://x.test"),
            "https://x.test/passes/assets/program-logo.png"
        );
    }

    #[test]
    fn poster_links() {
        let l = PosterLinks::new("http://127.0.0.1:8080", "ab12");
        assert_eq!(l.signup(), "http://127.0.0.1:8080/s/ab12");
        assert_eq!(l.qr_code(), "http://127.0.0.1:8080/s/ab12?via=qr");
        assert_eq!(l.display(), "http://127.0.0.1:8080/posters/ab12");
        assert_eq!(PosterLinks::new("", "ab12").signup(), "/s/ab12");
    }

    #[test]
    fn links_phones_cannot_open_are_named() {
        for base in [
            "http://127.0.0.1:8080",
            "http://0.0.0.0:8080",
            "http://localhost:3000",
            "http://[::1]:8080",
            "https://[::]:443",
        ] {
            let why = unreachable_by_phones(Some(base), base).expect(base);
            assert!(why.contains("cannot open") && why.contains(base), "{why}");
            assert!(unreachable_by_phones(None, base).is_some(), "{base}");
        }
        let lan = "http://192.168.1.20:8080";
        assert!(unreachable_by_phones(None, lan)
            .expect("unset")
            .starts_with("public_url is not set"));
        for fine in [
            lan,
            "https://cards.example.com",
            "https://[2001:db8::1]:8443/x",
        ] {
            assert_eq!(unreachable_by_phones(Some(fine), fine), None, "{fine}");
        }
    }
}
