//! What a name or title shown to people may hold (a customer's names, a store's, a
//! card's, a reward's, a location's, a poster's title): any visible text, but no
//! character that breaks a line, controls a terminal, turns the text around it
//! backwards (a bidi override) or shows as nothing. Such characters make two names
//! look alike that are not, hide text in pages, passes and logs, or break a mail
//! subject into a second header.

/// The message of a refused name, after the field's name.
pub const NOT_ALLOWED: &str = "contains characters that are not allowed (control characters, \
     line breaks, text-direction controls or invisible characters)";

/// Checks a name or title; the error is [`NOT_ALLOWED`].
pub fn check_name(s: &str) -> Result<(), &'static str> {
    let chars: Vec<char> = s.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        let refused = if is_joiner(c) {
            // A joiner shapes the letters around it: Persian and Indic spelling and emoji
            // sequences need it between two such characters. Anywhere else (beside a
            // Latin letter or a space, at an end) it only makes a name differ unseen.
            let around = |j: Option<usize>| {
                j.and_then(|j| chars.get(j)).is_some_and(|&n| {
                    !n.is_ascii() && !n.is_whitespace() && !hidden(n) && !is_joiner(n)
                })
            };
            !(around(i.checked_sub(1)) && around(Some(i + 1)))
        } else {
            hidden(c)
        };
        if refused {
            return Err(NOT_ALLOWED);
        }
    }
    Ok(())
}

/// Zero width non-joiner and joiner.
fn is_joiner(c: char) -> bool {
    matches!(c, '\u{200C}' | '\u{200D}')
}

/// Characters never allowed in a name.
fn hidden(c: char) -> bool {
    // Control characters: C0 (CR, LF and tab among them), DEL and C1.
    c.is_control()
        || matches!(
            c,
            // Line and paragraph separators.
            '\u{2028}' | '\u{2029}'
            // Text direction: marks, embeddings, overrides, isolates and the deprecated
            // shaping controls.
            | '\u{061C}' | '\u{200E}' | '\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2066}'..='\u{2069}'
            | '\u{206A}'..='\u{206F}'
            // Invisible: zero width space, word joiner and invisible operators, zero
            // width no-break space (BOM), soft hyphen, Mongolian vowel separator.
            | '\u{200B}'
            | '\u{2060}'..='\u{2064}'
            | '\u{FEFF}'
            | '\u{00AD}'
            | '\u{180E}'
            // Hangul fillers: letters that show as blank.
            | '\u{115F}' | '\u{1160}' | '\u{3164}' | '\u{FFA0}'
            // Interlinear annotation marks, which hide the text between them.
            | '\u{FFF9}'..='\u{FFFB}'
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_people_write_are_taken() {
        for name in [
            "Zoë O'Brien",
            "José-María",
            "李小龍",
            "محمد علی‌زاده", // Persian: a zero width non-joiner inside a word
            "क्‍ष",           // Devanagari: a joiner after a virama
            "Family 👨‍👩‍👧",    // an emoji sequence
            "Café 🏳️‍🌈",
            "Ann & Bob's, No. 5 (Main St.)",
        ] {
            assert_eq!(check_name(name), Ok(()), "{name:?}");
        }
    }

    #[test]
    fn hidden_and_controlling_characters_are_refused() {
        for name in [
            "Ann\nBcc: x",
            "Ann\rB",
            "Ann\tB",
            "Ann\u{7}",
            "Ann\u{1b}[31mB",
            "Ann\u{85}B",
            "Ann\u{2028}B",
            "Ann\u{202E}B",
            "Ann\u{2066}B\u{2069}",
            "Ann\u{200F}B",
            "Ann\u{200B}B",
            "Ann\u{FEFF}",
            "Ann\u{2060}B",
            "Ann\u{00AD}B",
            "\u{3164}",
            "An\u{200D}n",
            "An\u{200C}n",
            "\u{200D}علی",
            "علی\u{200C}",
            "عل\u{200C}\u{200C}ی",
            "Ann \u{200D}🙂",
        ] {
            assert_eq!(check_name(name), Err(NOT_ALLOWED), "{name:?}");
        }
    }
}
