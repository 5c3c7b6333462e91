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

    /// A colour stampd stored earlier (checked when it was saved).
    pub fn from_stored(stored: String) -> HexColor {
        HexColor(stored)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A closed list of names a field takes (`stamp_icon`, `strip_type`, ...): an enum whose
/// names are what the API sends and stores, read case-insensitively.
macro_rules! vocabulary {
    // Names drawn as a glyph each (stamp icons): `Variant = "name": "glyph"`.
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $text:literal: $glyph:literal),+ $(,)? }) => {
        vocabulary! { $(#[$doc])* $name { $($variant = $text),+ } }

        impl $name {
            /// Every name with its glyph, in the documented order.
            pub const GLYPHS: &'static [(&'static str, &'static str)] = &[$(($text, $glyph)),+];

            pub fn glyph_of(self) -> &'static str {
                match self {
                    $($name::$variant => $glyph),+
                }
            }
        }
    };
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($variant),+
        }

        impl $name {
            /// Every name, in the documented order.
            pub const ALL: &'static [&'static str] = &[$($text),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// A name as a client writes it: any case, surrounding spaces ignored.
            pub fn parse(input: &str) -> Result<$name, String> {
                let s = input.trim().to_ascii_lowercase();
                match s.as_str() {
                    $($text => Ok($name::$variant),)+
                    _ => Err(format!("is not included in the list ({})", Self::ALL.join(", "))),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    };
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
    pub const DEFAULT: &'static str = "star";
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
        assert!(StampIcon::ALL.contains(&StampIcon::DEFAULT));
    }
}
