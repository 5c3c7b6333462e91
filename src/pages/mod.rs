//! Every HTML page and email body stampd shows customers, one module each, written as
//! maud templates: whatever a template interpolates is escaped, unless it asks for
//! `PreEscaped`. Only two things are: CSS whose only inserted values are `HexColor`s
//! (so nothing typed by a user can end a rule or the `<style>` element), and the SVG of
//! card codes that our own `codes` module draws ([`InlineSvg`]).
//!
//! Templates take plain data and return [`Markup`]; the handlers in `api` fetch the data
//! and send the answer, and the outbox sends the mail.

pub mod card_link_mail;
pub mod docs;
pub mod poster;
pub mod signup;
pub mod web_card;

use maud::{html, Markup, PreEscaped, Render, DOCTYPE};

use crate::codes;
use crate::domain::HexColor;

impl Render for HexColor {
    fn render_to(&self, buffer: &mut String) {
        self.as_str().render_to(buffer)
    }
}

/// The colours of a page in stampd's card style: the card's background and its text.
pub struct PageColours {
    pub background: HexColor,
    pub text: HexColor,
}

impl PageColours {
    /// The plain white card of pages that belong to no card (not found, thank you).
    pub fn plain() -> PageColours {
        PageColours {
            background: HexColor::from_static("#FFFFFF"),
            text: HexColor::from_static("#222222"),
        }
    }
}

/// An SVG drawing of a card code, made by our own `codes` module, to put inline. It is
/// the one markup a page takes unescaped, so it can only be built here, from `codes`.
pub struct InlineSvg(String);

impl InlineSvg {
    /// A QR code of `data`, `size_px` square.
    pub fn qr(data: &str, size_px: u32) -> Result<InlineSvg, String> {
        codes::qr_svg(data, size_px).map(InlineSvg::inline)
    }

    /// A Code 128 barcode of `data`, `height_px` high.
    pub fn code128(data: &str, height_px: u32) -> Result<InlineSvg, String> {
        codes::code128_svg(data, height_px).map(InlineSvg::inline)
    }

    /// The `<svg>` element alone: an XML declaration has no place inside HTML.
    fn inline(document: String) -> InlineSvg {
        match document.find("<svg") {
            Some(i) => InlineSvg(document[i..].to_string()),
            None => InlineSvg(document),
        }
    }
}

impl Render for InlineSvg {
    fn render_to(&self, buffer: &mut String) {
        // Drawn by `codes` from a card code or a URL of ours, both free of markup, and the
        // encoders write only their own elements.
        PreEscaped(&self.0).render_to(buffer)
    }
}

/// The shell of every customer page: head, stampd's card style in `colours`, then
/// `extra_css` (the page's own rules, already typed) and the body.
pub fn layout(
    title: &str,
    colours: &PageColours,
    extra_css: Option<PreEscaped<String>>,
    body: Markup,
) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="robots" content="noindex";
                title { (title) }
                style { (card_css(colours)) }
                @if let Some(css) = extra_css {
                    style { (css) }
                }
            }
            body { (body) }
        }
    }
}

/// A page that only says something: a heading and a line, on a card of `colours`.
pub fn message_page(title: &str, colours: &PageColours, heading: &str, message: Markup) -> Markup {
    layout(
        title,
        colours,
        None,
        html! {
            main.card {
                h1 { (heading) }
                (message)
            }
        },
    )
}

/// A message page in plain colours: a heading and one line of text.
pub fn plain_message(title: &str, heading: &str, text: &str) -> Markup {
    message_page(
        title,
        &PageColours::plain(),
        heading,
        html! { p { (text) } },
    )
}

fn card_css(colours: &PageColours) -> PreEscaped<String> {
    PreEscaped(format!(
        ":root {{ --bg: {}; --fg: {}; }}\n{CARD_CSS}",
        colours.background.as_str(),
        colours.text.as_str()
    ))
}

const CARD_CSS: &str = r#"* { box-sizing: border-box; }
body { margin: 0; font: 17px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background: #f2f2f4; color: #222; }
.card { max-width: 440px; margin: 16px auto; padding: 20px; border-radius: 18px; background: var(--bg); color: var(--fg); box-shadow: 0 4px 18px rgba(0,0,0,.15); }
.store { font-size: 14px; letter-spacing: .06em; text-transform: uppercase; opacity: .85; margin: 0; }
h1 { font-size: 26px; margin: 4px 0 2px; }
.member { margin: 0 0 12px; opacity: .9; }
.header { margin: 0 0 12px; font-weight: 600; }
.stamps { display: grid; grid-template-columns: repeat(5, 1fr); gap: 10px; padding: 14px; border-radius: 14px; background: rgba(0,0,0,.12); list-style: none; margin: 0; }
.stamp { aspect-ratio: 1; display: flex; align-items: center; justify-content: center; border-radius: 50%; font-size: 26px; }
.stamp.filled { background: var(--stamp); color: var(--stamp-bg); }
.stamp.empty { background: var(--stamp-bg); color: var(--stamp); opacity: .55; border: 2px dashed var(--stamp); }
.strip { border-radius: 14px; background: var(--strip); }
.strip .stamps { background: transparent; }
.lines { list-style: none; margin: 10px 0 0; padding: 0; font-weight: 600; }
.progress { margin: 12px 0 0; font-size: 20px; font-weight: 700; }
.next { margin: 2px 0 0; opacity: .9; }
.rewards { margin: 14px 0 0; padding: 12px 14px; border-radius: 12px; background: rgba(255,255,255,.18); }
.rewards h2 { font-size: 16px; margin: 0 0 6px; }
.rewards ul { margin: 0; padding-left: 20px; }
.codes { margin: 18px 0 0; padding: 16px; border-radius: 14px; background: #fff; color: #111; text-align: center; }
.codes .qr svg, .codes .qr img { width: 220px; height: 220px; }
.codes .barcode svg { max-width: 100%; height: 70px; }
.code { font: 700 22px/1.2 ui-monospace, Menlo, Consolas, monospace; letter-spacing: .18em; margin: 6px 0 0; }
.notice { margin: 0 0 14px; padding: 12px 14px; border-radius: 12px; background: #fff; color: #1b5e20; font-weight: 600; }
.wallets { display: flex; flex-direction: column; gap: 10px; margin: 18px 0 0; }
.wallets a { display: block; min-height: 48px; padding: 13px; border-radius: 12px; background: #000; color: #fff; text-align: center; text-decoration: none; font-weight: 600; }
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_layout_escapes_the_title_and_types_the_colours() {
        let colours = PageColours {
            background: HexColor::parse("#12ab34").unwrap(),
            text: PageColours::plain().text,
        };
        let page =
            layout("<b>\"Tea\" & co</b>", &colours, None, html! { p { "hi" } }).into_string();
        assert!(
            page.contains("<title>&lt;b&gt;&quot;Tea&quot; &amp; co&lt;/b&gt;</title>"),
            "{page}"
        );
        assert!(
            page.contains(":root { --bg: #12AB34; --fg: #222222; }"),
            "{page}"
        );
        assert!(page.contains("<body><p>hi</p></body>"), "{page}");
    }

    #[test]
    fn inline_svg_drops_the_xml_declaration() {
        let qr = InlineSvg::qr("AC3D7FGH", 100).unwrap();
        let html = html! { div { (qr) } }.into_string();
        assert!(html.starts_with("<div><svg"), "{html}");
        assert!(!html.contains("<?xml"), "{html}");
    }
}
