//! The email that brings a customer their card: a subject, a plain-text part and an
//! HTML part, each with the web card and both wallet links.

use maud::{html, Markup, DOCTYPE};

use crate::domain::links::CardLinks;

/// Who the mail is for and which card it brings.
pub struct CardLinkMail<'a> {
    pub first_name: &'a str,
    pub card_name: &'a str,
    pub store_name: &'a str,
    pub links: CardLinks<'a>,
}

impl CardLinkMail<'_> {
    pub fn subject(&self) -> String {
        format!("Your {} card at {}", self.card_name, self.store_name)
    }

    /// The plain-text part: text, so nothing in it is markup and nothing is escaped.
    pub fn text(&self) -> String {
        format!(
            "Hi {name},\n\nhere is your {card} card at {store}.\n\n\
             Your card: {card_url}\n\
             Add to Apple Wallet: {apple_url}\n\
             Add to Google Wallet: {google_url}\n\n\
             Show the card's code at the counter to collect stamps.\n",
            name = self.first_name,
            card = self.card_name,
            store = self.store_name,
            card_url = self.links.web_card(),
            apple_url = self.links.apple_pass(),
            google_url = self.links.google_pass(),
        )
    }

    pub fn html(&self) -> Markup {
        html! {
            (DOCTYPE)
            html {
                body style="font-family: sans-serif" {
                    p { "Hi " (self.first_name) "," }
                    p {
                        "here is your " strong { (self.card_name) } " card at " (self.store_name) "."
                    }
                    p { a href=(self.links.web_card()) { "Open your card" } }
                    p {
                        a href=(self.links.apple_pass()) { "Add to Apple Wallet" }
                        " · "
                        a href=(self.links.google_pass()) { "Add to Google Wallet" }
                    }
                    p { "Show the card's code at the counter to collect stamps." }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const UUID: &str = "625bc9b5-c900-41e0-a7a5-9f3ba91942df";

    fn mail(hostile: &str) -> CardLinkMail<'_> {
        CardLinkMail {
            first_name: hostile,
            card_name: hostile,
            store_name: hostile,
            links: CardLinks::new("https://cards.example.com", UUID),
        }
    }

    #[test]
    fn names_are_escaped_in_the_html_and_verbatim_in_the_text() {
        let hostile = "<script>alert(\"x\")</script> & O'Neil";
        let m = mail(hostile);
        let html = m.html().into_string();
        assert!(!html.contains("<script"), "{html}");
        let escaped = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; O'Neil";
        assert_eq!(html.matches(escaped).count(), 3, "{html}");
        assert_eq!(m.text().matches(hostile).count(), 3, "{}", m.text());
        assert_eq!(m.subject(), format!("Your {hostile} card at {hostile}"));
    }

    #[test]
    fn both_parts_carry_every_link() {
        let m = mail("Ann");
        let (text, html) = (m.text(), m.html().into_string());
        for link in [
            format!("https://cards.example.com/c/{UUID}"),
            format!("https://cards.example.com/passes/{UUID}.pkpass"),
            format!("https://cards.example.com/passes/{UUID}/google"),
        ] {
            assert!(text.contains(&link), "{text}");
            assert!(html.contains(&format!("href=\"{link}\"")), "{html}");
        }
    }
}
