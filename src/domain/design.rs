//! How a card template looks: colours, the stamp icon, the strip.

use std::borrow::Cow;

/// A colour as `#RRGGBB`, stored upper-case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HexColor(Cow<'static, str>);

impl HexColor {
    /// Characters in `#RRGGBB`.
    pub const LEN: usize = 7;

    pub fn parse(input: &str) -> Result<HexColor, String> {
        let s = input.trim();
        let ok = s.len() == Self::LEN
            && s.starts_with('#')
            && s[1..].chars().all(|c| c.is_ascii_hexdigit());
        if ok {
            Ok(HexColor(Cow::Owned(s.to_ascii_uppercase())))
        } else {
            Err("must be a hex colour like #RRGGBB".into())
        }
    }

    /// A colour written in stampd's own code (a default). Used in a `const`, it is checked
    /// when stampd is built: a colour that is not upper-case `#RRGGBB` fails the build.
    pub const fn from_static(colour: &'static str) -> HexColor {
        let b = colour.as_bytes();
        assert!(b.len() == 7 && b[0] == b'#', "a colour is #RRGGBB");
        let mut i = 1;
        while i < b.len() {
            assert!(
                matches!(b[i], b'0'..=b'9' | b'A'..=b'F'),
                "a colour is upper-case hex"
            );
            i += 1;
        }
        HexColor(Cow::Borrowed(colour))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for HexColor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for HexColor {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

vocabulary! {
    /// The stamp icons a card can use, each with the glyph drawn for it (on web cards and
    /// the counter page, which reads them from the module `/assets/vocab.js` that stampd
    /// builds from this list), in the order pickers offer them.
    StampIcon {
        Coffee = "coffee": "☕",
        Star = "star": "★",
        Heart = "heart": "♥",
        Check = "check": "✓",
        Cup = "cup": "🥤",
        Cake = "cake": "🍰",
        Croissant = "croissant": "🥐",
        Pizza = "pizza": "🍕",
        Burger = "burger": "🍔",
        IceCream = "ice_cream": "🍦",
        Donut = "donut": "🍩",
        Beer = "beer": "🍺",
        Wine = "wine": "🍷",
        Cocktail = "cocktail": "🍸",
        Leaf = "leaf": "🍃",
        Flower = "flower": "✿",
        Scissors = "scissors": "✂",
        Paw = "paw": "🐾",
        Gift = "gift": "🎁",
        Smile = "smile": "☺",
        Crown = "crown": "♛",
        Diamond = "diamond": "◆",
        Bolt = "bolt": "⚡",
        Music = "music": "♪",
        Book = "book": "📖",
        Dumbbell = "dumbbell": "🏋",
        Car = "car": "🚗",
    }
}

impl StampIcon {
    /// Drawn for an icon name stampd does not know, so a card never shows a blank.
    pub const FALLBACK_GLYPH: &'static str = "●";

    /// The glyph drawn for a stamp of this icon name.
    pub fn glyph(icon: &str) -> &'static str {
        StampIcon::parse(icon).map_or(Self::FALLBACK_GLYPH, StampIcon::glyph_of)
    }
}

vocabulary! {
    /// What fills the strip behind the stamps: a colour, an image, or a preset.
    StripType {
        Color = "color",
        Image = "image",
        Preset = "preset",
    }
}

vocabulary! {
    /// The preset strip designs.
    StripPreset {
        CoffeeBeans = "coffee_beans",
        Pastry = "pastry",
        Barber = "barber",
        Confetti = "confetti",
        Waves = "waves",
        Dots = "dots",
        Leaves = "leaves",
        Stripes = "stripes",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours() {
        assert_eq!(HexColor::parse("#a1b2c3").unwrap().as_str(), "#A1B2C3");
        assert_eq!(
            HexColor::parse(" #3b2f2f ").unwrap(),
            HexColor::from_static("#3B2F2F")
        );
        for bad in ["a1b2c3", "#abc", "#GGGGGG", "#a1b2c3d", "red"] {
            assert!(HexColor::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn icons_and_strips() {
        assert_eq!(StampIcon::parse("Coffee").unwrap(), StampIcon::Coffee);
        assert_eq!(
            StampIcon::parse(" ICE_CREAM ").unwrap().as_str(),
            "ice_cream"
        );
        assert!(StampIcon::parse("spaceship")
            .unwrap_err()
            .contains("coffee"));
        assert_eq!(StripType::parse("preset").unwrap(), StripType::Preset);
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
    }
}
