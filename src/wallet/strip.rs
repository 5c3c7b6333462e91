//! The strip image of a card's passes: one colour (the card's drawn strip,
//! `CardDesign::drawn_strip`) filling the strip area, as a PNG. One colour needs one
//! bit a pixel, so even Google's hero image is a few hundred bytes.

use crate::domain::HexColor;

/// Width and height of a strip image, in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size {
    pub width: u32,
    pub height: u32,
}

/// A store card's strip on Apple Wallet, 375×123 points, at 1× and 2×.
pub const APPLE: Size = Size {
    width: 375,
    height: 123,
};
pub const APPLE_2X: Size = Size {
    width: 750,
    height: 246,
};
/// Google Wallet's hero image, at the size Google recommends.
pub const GOOGLE_HERO: Size = Size {
    width: 1032,
    height: 336,
};

/// A PNG of `size` filled with `colour`: an indexed image whose one palette entry is
/// the colour.
pub fn png(colour: &HexColor, size: Size) -> Result<Vec<u8>, String> {
    let fail = |e: png::EncodingError| format!("drawing the strip image: {e}");
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, size.width, size.height);
    encoder.set_color(png::ColorType::Indexed);
    encoder.set_depth(png::BitDepth::One);
    encoder.set_palette(colour.rgb().to_vec());
    encoder.set_compression(png::Compression::High);
    let mut writer = encoder.write_header().map_err(fail)?;
    let row = size.width.div_ceil(8) as usize;
    writer
        .write_image_data(&vec![0u8; row * size.height as usize])
        .map_err(fail)?;
    writer.finish().map_err(fail)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_strip_is_one_colour_of_its_size() {
        let colour = HexColor::from_static("#1B4332");
        for size in [APPLE, APPLE_2X, GOOGLE_HERO] {
            let bytes = png(&colour, size).unwrap();
            assert!(bytes.len() < 1024, "{size:?}: {} bytes", bytes.len());
            let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
            let mut reader = decoder.read_info().unwrap();
            let info = reader.info();
            assert_eq!((info.width, info.height), (size.width, size.height));
            assert_eq!(info.palette.as_deref(), Some(&[0x1B, 0x43, 0x32][..]));
            let mut data = vec![0; reader.output_buffer_size().unwrap()];
            reader.next_frame(&mut data).unwrap();
            assert!(
                data.iter().all(|b| *b == 0),
                "every pixel is the one colour"
            );
        }
    }
}
