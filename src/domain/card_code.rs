//! The barcode value printed on a customer's card: short, typeable, unique per store.

use rand::Rng;

const ALPHABET: &[u8] = CardCode::ALPHABET.as_bytes();
pub const LENGTH: usize = CardCode::LENGTH;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardCode(String);

impl CardCode {
    /// Letters and digits that cannot be misread for each other (no 0/O, 1/I/L, 5/S, 2/Z, 8/B).
    pub const ALPHABET: &'static str = "34679ACDEFGHJKMNPQRTUVWXY";
    pub const LENGTH: usize = 8;

    /// A fresh random code (25^8 ≈ 1.5·10^11 values); the caller retries on the rare clash.
    pub fn generate() -> CardCode {
        let mut rng = rand::rng();
        CardCode(
            (0..LENGTH)
                .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
                .collect(),
        )
    }

    /// Reads a code as a person or a scanner types it: any case, with spaces or dashes.
    pub fn normalise(input: &str) -> Option<String> {
        let s: String = input
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .map(|c| c.to_ascii_uppercase())
            .collect();
        (s.len() == LENGTH && s.bytes().all(|b| ALPHABET.contains(&b))).then_some(s)
    }

    /// A code another system printed on its cards, kept by an import so the card still
    /// scans: letters and digits, any case, spaces and dashes ignored, up to
    /// [`Self::IMPORTED_LENGTH`] characters. stampd's own codes are among them.
    pub fn normalise_imported(input: &str) -> Option<String> {
        let s: String = input
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .map(|c| c.to_ascii_uppercase())
            .collect();
        (!s.is_empty()
            && s.len() <= Self::IMPORTED_LENGTH
            && s.bytes().all(|b| b.is_ascii_alphanumeric()))
        .then_some(s)
    }

    /// The longest code an import keeps.
    pub const IMPORTED_LENGTH: usize = 32;

    /// A given code (tests script the codes an import draws).
    #[cfg(test)]
    pub(crate) fn parse(input: &str) -> Option<CardCode> {
        Self::normalise(input).map(CardCode)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_codes_read_back() {
        for _ in 0..100 {
            let c = CardCode::generate();
            assert_eq!(c.as_str().len(), LENGTH);
            assert_eq!(
                CardCode::normalise(&c.as_str().to_lowercase()).as_deref(),
                Some(c.as_str())
            );
        }
        assert_eq!(
            CardCode::normalise("ac3d-7fgh").as_deref(),
            Some("AC3D7FGH")
        );
        assert_eq!(CardCode::normalise("ABC"), None);
        assert_eq!(CardCode::normalise("OOOOOOOO"), None);
    }
}
