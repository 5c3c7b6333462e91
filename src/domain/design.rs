//! How a card template looks: colours, the stamp icon, the strip.

/// A colour as `#RRGGBB`, stored upper-case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HexColor(String);

impl HexColor {
    pub fn parse(input: &str) -> Result<HexColor, String> {
        let s = input.trim();
        let ok =
            s.len() == 7 && s.starts_with('#') && s[1..].chars().all(|c| c.is_ascii_hexdigit());
        if ok {
            Ok(HexColor(s.to_ascii_uppercase()))
        } else {
            Err("must be a hex colour like #RRGGBB".into())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The stamp icons a card can use (drawn on passes, web cards and the counter page).
pub struct StampIcon;

impl StampIcon {
    pub const ALL: &'static [&'static str] = &[
        "coffee",
        "star",
        "heart",
        "check",
        "cup",
        "cake",
        "croissant",
        "pizza",
        "burger",
        "ice_cream",
        "donut",
        "beer",
        "wine",
        "cocktail",
        "leaf",
        "flower",
        "scissors",
        "paw",
        "gift",
        "smile",
        "crown",
        "diamond",
        "bolt",
        "music",
        "book",
        "dumbbell",
        "car",
    ];
    pub const DEFAULT: &'static str = "star";

    pub fn parse(input: &str) -> Result<&'static str, String> {
        let s = input.trim().to_ascii_lowercase();
        Self::ALL
            .iter()
            .find(|i| **i == s)
            .copied()
            .ok_or_else(|| format!("is not included in the list ({})", Self::ALL.join(", ")))
    }
}

/// What fills the strip behind the stamps: a colour, an image, or a preset.
pub struct StripType;

impl StripType {
    pub const ALL: &'static [&'static str] = &["color", "image", "preset"];

    pub fn parse(input: &str) -> Result<&'static str, String> {
        let s = input.trim().to_ascii_lowercase();
        Self::ALL
            .iter()
            .find(|i| **i == s)
            .copied()
            .ok_or_else(|| format!("is not included in the list ({})", Self::ALL.join(", ")))
    }
}

/// The preset strip designs.
pub struct StripPreset;

impl StripPreset {
    pub const ALL: &'static [&'static str] = &[
        "coffee_beans",
        "pastry",
        "barber",
        "confetti",
        "waves",
        "dots",
        "leaves",
        "stripes",
    ];

    pub fn parse(input: &str) -> Result<&'static str, String> {
        let s = input.trim().to_ascii_lowercase();
        Self::ALL
            .iter()
            .find(|i| **i == s)
            .copied()
            .ok_or_else(|| format!("is not included in the list ({})", Self::ALL.join(", ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours() {
        assert_eq!(HexColor::parse("#a1b2c3").unwrap().as_str(), "#A1B2C3");
        for bad in ["a1b2c3", "#abc", "#GGGGGG", "#a1b2c3d", "red"] {
            assert!(HexColor::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn icons_and_strips() {
        assert_eq!(StampIcon::parse("Coffee").unwrap(), "coffee");
        assert!(StampIcon::parse("spaceship")
            .unwrap_err()
            .contains("coffee"));
        assert_eq!(StripType::parse("preset").unwrap(), "preset");
        assert!(StripType::parse("video").is_err());
        assert!(StripPreset::parse("waves").is_ok());
    }
}
