//! How a card template looks: colours, the stamp icon, the strip, the extra lines on
//! the front of its passes.

use std::borrow::Cow;

use super::limits;

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

    /// Red, green and blue.
    pub fn rgb(&self) -> [u8; 3] {
        let channel = |i: usize| u8::from_str_radix(&self.0[i..i + 2], 16).unwrap_or(0);
        [channel(1), channel(3), channel(5)]
    }

    /// This colour laid over `under` at `opacity` percent (0: `under` alone, 100: this
    /// colour alone), as the eye sees it on a solid background.
    pub fn over(&self, under: &HexColor, opacity: i64) -> HexColor {
        let a = opacity.clamp(0, 100);
        let (top, bottom) = (self.rgb(), under.rgb());
        let mix = |i: usize| (i64::from(top[i]) * a + i64::from(bottom[i]) * (100 - a) + 50) / 100;
        HexColor(Cow::Owned(format!(
            "#{:02X}{:02X}{:02X}",
            mix(0),
            mix(1),
            mix(2)
        )))
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

/// The extra lines a card's passes show on their front (`auxiliary_fields`): at most
/// [`limits::AUXILIARY_FIELDS`], each trimmed, of at most [`limits::AUXILIARY_FIELD`]
/// characters; blank ones are dropped, as Leal does.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct AuxiliaryFields(Vec<String>);

impl AuxiliaryFields {
    /// The lines as a client sent them.
    pub fn parse<S: AsRef<str>>(lines: &[S]) -> Result<AuxiliaryFields, String> {
        let kept: Vec<String> = lines
            .iter()
            .map(|l| l.as_ref().trim())
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect();
        if kept.len() > limits::AUXILIARY_FIELDS {
            return Err(format!(
                "is too long (maximum is {} entries)",
                limits::AUXILIARY_FIELDS
            ));
        }
        for line in &kept {
            if line.chars().count() > limits::AUXILIARY_FIELD {
                return Err(format!(
                    "has an entry that is too long (maximum is {} characters)",
                    limits::AUXILIARY_FIELD
                ));
            }
            super::check_name(line).map_err(|m| format!("has an entry that {m}"))?;
        }
        Ok(AuxiliaryFields(kept))
    }

    /// Lines stampd stored (a JSON array of text, checked when it was stored).
    pub fn from_stored(json: &str) -> Option<AuxiliaryFields> {
        serde_json::from_str(json).ok().map(AuxiliaryFields)
    }

    /// As stored: a JSON array of text.
    pub fn to_stored(&self) -> String {
        serde_json::Value::from(self.0.clone()).to_string()
    }

    pub fn lines(&self) -> &[String] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auxiliary_fields_drop_blanks_and_keep_their_limits() {
        let f = AuxiliaryFields::parse(&[" Open 7–19 ", "", "  ", "Oat milk free"]).unwrap();
        assert_eq!(f.lines(), ["Open 7–19", "Oat milk free"]);
        assert_eq!(
            AuxiliaryFields::parse::<&str>(&[]).unwrap().lines().len(),
            0
        );
        assert_eq!(
            AuxiliaryFields::parse(&["a", "b", "c"]).unwrap_err(),
            "is too long (maximum is 2 entries)"
        );
        let forty = "é".repeat(40);
        assert!(AuxiliaryFields::parse(&[forty.as_str()]).is_ok());
        assert_eq!(
            AuxiliaryFields::parse(&[format!("{forty}x")]).unwrap_err(),
            "has an entry that is too long (maximum is 40 characters)"
        );
        assert!(AuxiliaryFields::parse(&["two\nlines"])
            .unwrap_err()
            .starts_with("has an entry that contains characters that are not allowed"));
        let stored = f.to_stored();
        assert_eq!(stored, r#"["Open 7–19","Oat milk free"]"#);
        assert_eq!(AuxiliaryFields::from_stored(&stored), Some(f));
    }

    #[test]
    fn colours_blend() {
        let red = HexColor::from_static("#FF0000");
        let blue = HexColor::from_static("#0000FF");
        assert_eq!(red.rgb(), [255, 0, 0]);
        assert_eq!(red.over(&blue, 100), red);
        assert_eq!(red.over(&blue, 0), blue);
        assert_eq!(red.over(&blue, 60).as_str(), "#990066");
        assert_eq!(
            HexColor::from_static("#FFFFFF")
                .over(&HexColor::from_static("#000000"), 50)
                .as_str(),
            "#808080"
        );
    }

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
