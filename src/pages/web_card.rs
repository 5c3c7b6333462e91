//! The web card page (`/c/<uuid>`): a customer's card on their phone, with its stamps,
//! the rewards ready to redeem, the scannable code and the wallet buttons.

use maud::{html, Markup};

use super::{layout, plain_message, InlineSvg, PageColours};
use crate::domain::HexColor;

/// How the customer reached the page, when they come from a signup poster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    /// They have just joined.
    New,
}

impl Arrival {
    fn notice(self) -> &'static str {
        match self {
            Arrival::New => {
                "Welcome! Your card is ready. Show it at the counter to collect stamps."
            }
        }
    }
}

/// The next reward the stamps lead to.
pub struct NextReward<'a> {
    pub stamps_to_go: i64,
    pub name: &'a str,
}

/// Everything the page shows of one card.
pub struct WebCard<'a> {
    pub store_name: &'a str,
    pub card_name: &'a str,
    pub colours: PageColours,
    pub stamp_colour: HexColor,
    pub stamp_background: HexColor,
    pub glyph: &'a str,
    /// The holder's name, when the card shows it.
    pub member: Option<String>,
    pub header_text: Option<&'a str>,
    /// The colour of the strip band behind the stamps, when the card draws one.
    pub strip: Option<HexColor>,
    /// The card's extra lines (`auxiliary_fields`).
    pub lines: &'a [String],
    pub stamps_count: i64,
    pub stamps_required: i64,
    /// Shown when the card shows how far the next reward is.
    pub next_reward: Option<NextReward<'a>>,
    pub available_rewards: Vec<&'a str>,
    pub code: &'a str,
    pub qr: InlineSvg,
    pub barcode: InlineSvg,
    pub arrival: Option<Arrival>,
    /// Links to the configured wallets' passes.
    pub apple_pass: Option<String>,
    pub google_pass: Option<String>,
}

pub fn page(card: &WebCard) -> Markup {
    let required = card.stamps_required.max(1);
    let on_card = card.stamps_count.min(required);
    let count = card.stamps_count;
    let body = html! {
        main.card style={ "--stamp: " (card.stamp_colour) "; --stamp-bg: " (card.stamp_background) ";" } {
            @if let Some(arrival) = card.arrival {
                p.notice role="status" { (arrival.notice()) }
            }
            p.store { (card.store_name) }
            h1 { (card.card_name) }
            @if let Some(member) = &card.member {
                p.member { (member) }
            }
            @if let Some(header) = card.header_text {
                p.header { (header) }
            }
            @if let Some(strip) = &card.strip {
                div.strip style={ "--strip: " (strip) ";" } { (stamps(card, required, on_card)) }
            } @else {
                (stamps(card, required, on_card))
            }
            p.progress data-stamps=(count) { (count) " / " (required) " stamps" }
            @if let Some(next) = &card.next_reward {
                p.next {
                    (next.stamps_to_go) " more stamp" @if next.stamps_to_go != 1 { "s" }
                    " to " (next.name)
                }
            }
            @if !card.lines.is_empty() {
                ul.lines {
                    @for line in card.lines { li { (line) } }
                }
            }
            @if !card.available_rewards.is_empty() {
                section.rewards {
                    h2 { "Ready to redeem" }
                    ul {
                        @for name in &card.available_rewards {
                            li { (name) }
                        }
                    }
                }
            }
            section.codes aria-label="Card code" {
                div.qr data-code=(card.code) { (card.qr) }
                div.barcode { (card.barcode) }
                p.code { (card.code) }
            }
            @if card.apple_pass.is_some() || card.google_pass.is_some() {
                nav.wallets {
                    @if let Some(url) = &card.apple_pass {
                        a.apple href=(url) { "Add to Apple Wallet" }
                    }
                    @if let Some(url) = &card.google_pass {
                        a.google href=(url) { "Add to Google Wallet" }
                    }
                }
            }
        }
    };
    let title = format!("{} – {}", card.card_name, card.store_name);
    layout(&title, &card.colours, None, body)
}

fn stamps(card: &WebCard, required: i64, on_card: i64) -> Markup {
    html! {
        ul.stamps aria-label={ (card.stamps_count) " of " (required) " stamps" } {
            @for i in 0..required {
                @if i < on_card {
                    li.stamp.filled aria-label="stamp" { (card.glyph) }
                } @else {
                    li.stamp.empty aria-label="empty slot" { (card.glyph) }
                }
            }
        }
    }
}

/// The page of a link that leads to no card.
pub fn not_found() -> Markup {
    plain_message(
        "Card not found",
        "Card not found",
        "This link does not lead to a card. Ask the shop for a new one.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTILE: &str = "<script>alert(\"x\")</script> & 'quoted'";

    fn card(hostile: &str) -> WebCard<'_> {
        WebCard {
            store_name: hostile,
            card_name: hostile,
            colours: PageColours::plain(),
            stamp_colour: HexColor::parse("#F5B041").unwrap(),
            stamp_background: HexColor::parse("#FFFFFF").unwrap(),
            glyph: "☕",
            member: Some(hostile.to_string()),
            header_text: Some(hostile),
            strip: None,
            lines: &[],
            stamps_count: 3,
            stamps_required: 5,
            next_reward: Some(NextReward {
                stamps_to_go: 1,
                name: hostile,
            }),
            available_rewards: vec![hostile],
            code: "AC3D7FGH",
            qr: InlineSvg::qr("AC3D7FGH", 100).unwrap(),
            barcode: InlineSvg::code128("AC3D7FGH", 70).unwrap(),
            arrival: Some(Arrival::New),
            apple_pass: Some(format!("https://x.test/passes/\"{hostile}.pkpass")),
            google_pass: None,
        }
    }

    #[test]
    fn every_shown_value_is_escaped() {
        let html = page(&card(HOSTILE)).into_string();
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("\"x\""), "{html}");
        let escaped = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; 'quoted'";
        // Title, store, card, member, header, next reward, available reward.
        assert!(html.matches(escaped).count() >= 7, "{html}");
        assert!(
            html.contains("href=\"https://x.test/passes/&quot;&lt;script&gt;"),
            "{html}"
        );
    }

    #[test]
    fn stamps_fill_up_to_the_count_and_the_colours_reach_the_card() {
        let html = page(&card("Cafe")).into_string();
        assert_eq!(html.matches("class=\"stamp filled\"").count(), 3);
        assert_eq!(html.matches("class=\"stamp empty\"").count(), 2);
        assert!(
            html.contains("style=\"--stamp: #F5B041; --stamp-bg: #FFFFFF;\""),
            "{html}"
        );
        assert!(html.contains("1 more stamp to Cafe<"), "{html}");
        assert!(html.contains("Welcome! Your card is ready."), "{html}");
        assert!(
            html.contains("<div class=\"qr\" data-code=\"AC3D7FGH\"><svg"),
            "{html}"
        );
    }

    #[test]
    fn the_strip_band_holds_the_stamps_and_the_lines_follow() {
        let lines = vec!["Open 7–19".to_string(), HOSTILE.to_string()];
        let html = page(&WebCard {
            strip: Some(HexColor::parse("#99aa00").unwrap()),
            lines: &lines,
            ..card("Cafe")
        })
        .into_string();
        assert!(
            html.contains("<div class=\"strip\" style=\"--strip: #99AA00;\"><ul class=\"stamps\""),
            "{html}"
        );
        assert!(
            html.contains("<ul class=\"lines\"><li>Open 7–19</li><li>&lt;script&gt;"),
            "{html}"
        );
        let plain = page(&card("Cafe")).into_string();
        assert!(!plain.contains("class=\"strip\""), "{plain}");
        assert!(!plain.contains("class=\"lines\""), "{plain}");
    }
}
