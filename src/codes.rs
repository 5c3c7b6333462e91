//! Scannable codes drawn as SVG: a QR code and a Code 128 barcode of a card's code.

use barcoders::generators::svg::SVG;
use barcoders::sym::code128::Code128;
use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};

/// A QR code of `data` as an SVG document (black on white, with the quiet zone).
pub fn qr_svg(data: &str, size_px: u32) -> Result<String, String> {
    let code = QrCode::with_error_correction_level(data.as_bytes(), EcLevel::M)
        .map_err(|e| format!("cannot make a QR code: {e}"))?;
    Ok(code
        .render::<svg::Color>()
        .min_dimensions(size_px, size_px)
        .quiet_zone(true)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .build())
}

/// A Code 128 barcode (character set B) of `data` as an SVG document.
pub fn code128_svg(data: &str, height_px: u32) -> Result<String, String> {
    let encoded = Code128::new(format!("\u{0181}{data}"))
        .map_err(|e| format!("cannot make a Code 128 barcode: {e}"))?
        .encode();
    SVG::new(height_px)
        .xdim(2)
        .xmlns("http://www.w3.org/2000/svg".into())
        .generate(&encoded)
        .map_err(|e| format!("cannot draw the barcode: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn svgs_are_drawn() {
        let qr = qr_svg("AC3D7FGH", 200).unwrap();
        assert!(qr.starts_with("<?xml") && qr.contains("<svg"), "{qr}");
        let bar = code128_svg("AC3D7FGH", 60).unwrap();
        assert!(bar.contains("<svg") && bar.contains("<rect"), "{bar}");
    }
}
