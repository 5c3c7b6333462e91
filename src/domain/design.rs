//! How a card template looks: colours, the stamp icon, the strip.

/// A colour as `#RRGGBB`, stored upper-case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HexColor(String);

impl HexColor {
    /// Characters in `#RRGGBB`.
    pub const LEN: usize = 7;

    pub fn parse(input: &str) -> Result<HexColor, String> {
        let s = input.trim();
        let ok = s.len() == Self::LEN
            && s.starts_with('#')
            && s[1..].chars().all(|c| c.is_ascii_hexdigit());
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

/// Every stamp icon with the glyph drawn for it, in the order pickers offer them. The
/// one list of icons: `StampIcon::ALL` is its first column, and the counter page reads
/// it from the module `/assets/vocab.js` that stampd builds from it.
const ICONS: &[(&str, &str)] = &[
    ("coffee", "☕"),
    ("star", "★"),
    ("heart", "♥"),
    ("check", "✓"),
    ("cup", "🥤"),
    ("cake", "🍰"),
    ("croissant", "🥐"),
    ("pizza", "🍕"),
    ("burger", "🍔"),
    ("ice_cream", "🍦"),
    ("donut", "🍩"),
    ("beer", "🍺"),
    ("wine", "🍷"),
    ("cocktail", "🍸"),
    ("leaf", "🍃"),
    ("flower", "✿"),
    ("scissors", "✂"),
    ("paw", "🐾"),
    ("gift", "🎁"),
    ("smile", "☺"),
    ("crown", "♛"),
    ("diamond", "◆"),
    ("bolt", "⚡"),
    ("music", "♪"),
    ("book", "📖"),
    ("dumbbell", "🏋"),
    ("car", "🚗"),
];

const ICON_NAMES: [&str; ICONS.len()] = {
    let mut names = [""; ICONS.len()];
    let mut i = 0;
    while i < ICONS.len() {
        names[i] = ICONS[i].0;
        i += 1;
    }
    names
};

impl StampIcon {
    pub const ALL: &'static [&'static str] = &ICON_NAMES;
    pub const DEFAULT: &'static str = "star";
    /// Every icon as `(name, glyph)`.
    pub const GLYPHS: &'static [(&'static str, &'static str)] = ICONS;
    /// Drawn for an icon name stampd does not know, so a card never shows a blank.
    pub const FALLBACK_GLYPH: &'static str = "●";

    pub fn parse(input: &str) -> Result<&'static str, String> {
        let s = input.trim().to_ascii_lowercase();
        Self::ALL
            .iter()
            .find(|i| **i == s)
            .copied()
            .ok_or_else(|| format!("is not included in the list ({})", Self::ALL.join(", ")))
    }

    /// The glyph drawn for a stamp of this icon.
    pub fn glyph(icon: &str) -> &'static str {
        ICONS
            .iter()
            .find(|(name, _)| *name == icon)
            .map_or(Self::FALLBACK_GLYPH, |(_, glyph)| glyph)
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

    #[test]
    fn every_icon_has_its_own_glyph() {
        assert_eq!(StampIcon::ALL.len(), StampIcon::GLYPHS.len());
        for (name, (listed, glyph)) in StampIcon::ALL.iter().zip(StampIcon::GLYPHS) {
            assert_eq!(name, listed);
            assert_eq!(StampIcon::glyph(name), *glyph);
            assert_ne!(*glyph, StampIcon::FALLBACK_GLYPH, "{name}");
        }
        let mut glyphs: Vec<&str> = StampIcon::GLYPHS.iter().map(|(_, g)| *g).collect();
        glyphs.sort_unstable();
        glyphs.dedup();
        assert_eq!(
            glyphs.len(),
            StampIcon::ALL.len(),
            "no two icons look alike"
        );
        assert_eq!(StampIcon::glyph("coffee"), "☕");
        assert_eq!(StampIcon::glyph("spaceship"), StampIcon::FALLBACK_GLYPH);
        assert!(StampIcon::ALL.contains(&StampIcon::DEFAULT));
    }
}
