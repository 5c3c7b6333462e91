//! The lock-screen notice of a pass whose stamps changed: the shop's wording from the
//! card template (`stamp_message`), or stampd's, with the counts filled in.

/// The placeholders a wording may use, and what each becomes.
pub const PLACEHOLDERS: &[(&str, &str)] = &[
    ("{stamps}", "the stamps the card holds"),
    ("{required}", "the stamps the card takes"),
    ("{remaining}", "the stamps still to collect (0 once full)"),
];

/// stampd's wording.
pub const DEFAULT: &str = "You have {stamps} of {required} stamps";

/// A template's wording, checked: every `{...}` in it is one of [`PLACEHOLDERS`]. The
/// text's characters are checked as names' are (`check_name`), by the caller.
pub fn check(text: &str) -> Result<(), String> {
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let after = &rest[open..];
        let Some(close) = after.find('}') else {
            return Err("has a { without its }".into());
        };
        let placeholder = &after[..=close];
        if !PLACEHOLDERS.iter().any(|(p, _)| *p == placeholder) {
            let known: Vec<&str> = PLACEHOLDERS.iter().map(|(p, _)| *p).collect();
            return Err(format!(
                "has an unknown placeholder {placeholder} (use {})",
                known.join(", ")
            ));
        }
        rest = &after[close + 1..];
    }
    Ok(())
}

/// The notice for a card holding `stamps` of `required`, in `wording` (stampd's when
/// `None`).
pub fn render(wording: Option<&str>, stamps: i64, required: i64) -> String {
    wording
        .filter(|w| !w.trim().is_empty())
        .unwrap_or(DEFAULT)
        .replace("{stamps}", &stamps.to_string())
        .replace("{required}", &required.to_string())
        .replace("{remaining}", &(required - stamps).max(0).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_filled_in_and_unknown_ones_refused() {
        assert_eq!(render(None, 7, 10), "You have 7 of 10 stamps");
        assert_eq!(
            render(
                Some("{remaining} more for a free coffee ({stamps}/{required})"),
                7,
                10
            ),
            "3 more for a free coffee (7/10)"
        );
        assert_eq!(render(Some("{remaining} to go"), 12, 10), "0 to go");
        assert_eq!(render(Some("  "), 1, 5), "You have 1 of 5 stamps");
        assert!(check("Nearly there: {stamps} of {required}").is_ok());
        assert!(check("No placeholders at all").is_ok());
        assert_eq!(
            check("{count} stamps").unwrap_err(),
            "has an unknown placeholder {count} (use {stamps}, {required}, {remaining})"
        );
        assert_eq!(check("{stamps").unwrap_err(), "has a { without its }");
    }
}
