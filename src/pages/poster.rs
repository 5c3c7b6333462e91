//! The printable poster (`/posters/<token>`): one sheet of its paper size with the card's
//! offer and a QR code leading to the signup form.

use maud::{html, Markup, PreEscaped};

use super::{layout, InlineSvg, PageColours};
use crate::domain::HexColor;

/// What a poster shows.
pub struct Poster<'a> {
    pub store_name: &'a str,
    pub title: &'a str,
    pub card_name: &'a str,
    /// One of the poster paper sizes (`a4`, `a5`, `a6`, `letter`); anything else prints as A4.
    pub paper_size: &'a str,
    pub primary: HexColor,
    pub secondary: HexColor,
    pub text: HexColor,
    /// Stamps to collect, and the reward they pay for when the card has one.
    pub stamps: i64,
    pub reward: Option<&'a str>,
    /// What the QR code encodes, and the signup address printed for those who cannot scan.
    pub qr_url: &'a str,
    pub qr: InlineSvg,
    pub signup_url: &'a str,
}

pub fn page(p: &Poster) -> Markup {
    let body = html! {
        main.poster data-paper=(p.paper_size) {
            div {
                p.store { (p.store_name) }
                h1 { (p.title) }
                p.card-name { (p.card_name) }
                p.offer {
                    "Collect " (p.stamps) " stamps"
                    @if let Some(reward) = p.reward { " for " (reward) }
                }
            }
            div.qr data-url=(p.qr_url) { (p.qr) }
            div {
                p.scan { "Scan to join – it takes a minute" }
                p.url { (p.signup_url) }
            }
        }
    };
    let colours = PageColours {
        background: p.primary.clone(),
        text: p.text.clone(),
    };
    layout(p.title, &colours, Some(sheet_css(p)), body)
}

/// `@page` size, sheet width and height.
fn sheet(paper_size: &str) -> (&'static str, &'static str, &'static str) {
    match paper_size {
        "a5" => ("148mm 210mm", "148mm", "210mm"),
        "a6" => ("105mm 148mm", "105mm", "148mm"),
        "letter" => ("8.5in 11in", "8.5in", "11in"),
        _ => ("210mm 297mm", "210mm", "297mm"),
    }
}

/// The print layout. What goes in are the sizes above and the poster's `HexColor`s.
fn sheet_css(p: &Poster) -> PreEscaped<String> {
    let (size, width, height) = sheet(p.paper_size);
    let (primary, secondary, text) = (p.primary.as_str(), p.secondary.as_str(), p.text.as_str());
    PreEscaped(format!(
        r#"@page {{ size: {size}; margin: 0; }}
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
"#
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn poster<'a>(hostile: &'a str, paper_size: &'a str) -> Poster<'a> {
        Poster {
            store_name: hostile,
            title: hostile,
            card_name: hostile,
            paper_size,
            primary: HexColor::parse("#123456").unwrap(),
            secondary: HexColor::parse("#FEDCBA").unwrap(),
            text: HexColor::parse("#F0F0F0").unwrap(),
            stamps: 8,
            reward: Some(hostile),
            qr_url: "https://x.test/s/ab?via=qr",
            qr: InlineSvg::qr("https://x.test/s/ab?via=qr", 100).unwrap(),
            signup_url: "https://x.test/s/ab",
        }
    }

    #[test]
    fn every_shown_value_is_escaped() {
        let hostile = "</style><script>alert('x')</script> \"& co\"";
        let html = page(&poster(hostile, "\"><script>")).into_string();
        assert!(!html.contains("<script"), "{html}");
        assert_eq!(
            html.matches("</style>").count(),
            2,
            "only our own style elements end"
        );
        let escaped = "&lt;/style&gt;&lt;script&gt;alert('x')&lt;/script&gt; &quot;&amp; co&quot;";
        // Title (twice), store, card and reward.
        assert_eq!(html.matches(escaped).count(), 5, "{html}");
        assert!(
            html.contains("data-paper=\"&quot;&gt;&lt;script&gt;\""),
            "{html}"
        );
        assert!(
            html.contains("size: 210mm 297mm;"),
            "unknown sizes print as A4"
        );
    }

    #[test]
    fn the_sheet_has_its_paper_size_and_colours() {
        let html = page(&poster("Cafe", "a6")).into_string();
        assert!(
            html.contains("@page { size: 105mm 148mm; margin: 0; }"),
            "{html}"
        );
        assert!(html.contains("width: 105mm; height: 148mm;"), "{html}");
        assert!(
            html.contains("background: #123456; color: #F0F0F0;"),
            "{html}"
        );
        assert!(
            html.contains("background: #FEDCBA; color: #123456;"),
            "{html}"
        );
        assert!(html.contains(">Collect 8 stamps for Cafe</p>"), "{html}");
        let mut plain = poster("Cafe", "a4");
        plain.reward = None;
        assert!(page(&plain).into_string().contains(">Collect 8 stamps</p>"));
    }
}
