//! Reading the QR codes stampd draws: the inline SVG is rasterised and decoded with rqrr.

/// The value of attribute `name` in the opening tag `tag`.
pub(crate) fn attr(tag: &str, name: &str) -> Option<String> {
    let key = format!(" {name}=\"");
    let i = tag.find(&key)? + key.len();
    let end = tag[i..].find('"')?;
    Some(tag[i..i + end].to_string())
}

fn is_light(fill: Option<&str>) -> bool {
    matches!(
        fill.map(|f| f.trim().to_ascii_lowercase()).as_deref(),
        Some("#fff" | "#ffffff" | "white" | "none")
    )
}

/// A black-and-white raster of an SVG made of axis-aligned filled rectangles (in
/// `<path d>` subpaths or `<rect>` elements), `scale` px per SVG unit.
struct Raster {
    w: usize,
    h: usize,
    dark: Vec<bool>,
}

impl Raster {
    fn fill(&mut self, x0: f64, y0: f64, x1: f64, y1: f64, scale: f64, dark: bool) {
        let (xa, xb) = (
            (x0.min(x1) * scale).round() as i64,
            (x0.max(x1) * scale).round() as i64,
        );
        let (ya, yb) = (
            (y0.min(y1) * scale).round() as i64,
            (y0.max(y1) * scale).round() as i64,
        );
        for y in ya.max(0)..yb.min(self.h as i64) {
            for x in xa.max(0)..xb.min(self.w as i64) {
                self.dark[y as usize * self.w + x as usize] = dark;
            }
        }
    }
}

fn numbers(s: &str) -> Vec<f64> {
    s.split(|c: char| c.is_whitespace() || c == ',')
        .filter(|t| !t.is_empty())
        .map(|t| t.parse::<f64>().expect("a number in the path"))
        .collect()
}

/// Fills every subpath of `d` as its bounding box.
fn fill_path(raster: &mut Raster, d: &str, scale: f64, dark: bool) {
    // Split into (command, arguments).
    let mut commands: Vec<(char, Vec<f64>)> = Vec::new();
    let mut current: Option<(char, String)> = None;
    for ch in d.chars() {
        if ch.is_ascii_alphabetic() && ch != 'e' && ch != 'E' {
            if let Some((c, args)) = current.take() {
                commands.push((c, numbers(&args)));
            }
            current = Some((ch, String::new()));
        } else if let Some((_, args)) = current.as_mut() {
            if ch == '-' && !args.ends_with(['e', 'E']) {
                args.push(' ');
            }
            args.push(ch);
        }
    }
    if let Some((c, args)) = current.take() {
        commands.push((c, numbers(&args)));
    }
    let (mut x, mut y) = (0.0f64, 0.0f64);
    let mut start = (0.0, 0.0);
    let mut points: Vec<(f64, f64)> = Vec::new();
    let flush = |points: &mut Vec<(f64, f64)>, raster: &mut Raster| {
        if points.len() > 1 {
            let minx = points.iter().map(|p| p.0).fold(f64::MAX, f64::min);
            let maxx = points.iter().map(|p| p.0).fold(f64::MIN, f64::max);
            let miny = points.iter().map(|p| p.1).fold(f64::MAX, f64::min);
            let maxy = points.iter().map(|p| p.1).fold(f64::MIN, f64::max);
            raster.fill(minx, miny, maxx, maxy, scale, dark);
        }
        points.clear();
    };
    for (c, args) in commands {
        match c {
            'M' | 'm' => {
                flush(&mut points, raster);
                for (i, pair) in args.chunks(2).enumerate() {
                    if c == 'm' {
                        x += pair[0];
                        y += pair[1];
                    } else {
                        x = pair[0];
                        y = pair[1];
                    }
                    if i == 0 {
                        start = (x, y);
                    }
                    points.push((x, y));
                }
            }
            'L' | 'l' => {
                for pair in args.chunks(2) {
                    if c == 'l' {
                        x += pair[0];
                        y += pair[1];
                    } else {
                        x = pair[0];
                        y = pair[1];
                    }
                    points.push((x, y));
                }
            }
            'h' | 'H' => {
                for v in args {
                    x = if c == 'h' { x + v } else { v };
                    points.push((x, y));
                }
            }
            'v' | 'V' => {
                for v in args {
                    y = if c == 'v' { y + v } else { v };
                    points.push((x, y));
                }
            }
            'Z' | 'z' => {
                x = start.0;
                y = start.1;
            }
            other => panic!("unexpected path command {other} in the QR code"),
        }
    }
    flush(&mut points, raster);
}

/// Rasterises the QR code's SVG (at about 4 px per module, plus a white border).
fn rasterise(svg: &str) -> Raster {
    let open_end = svg.find('>').expect("svg tag");
    let open = &svg[..open_end];
    let (vw, vh) = match attr(open, "viewBox") {
        Some(vb) => {
            let n = numbers(&vb);
            (n[2], n[3])
        }
        None => (
            numbers(&attr(open, "width").expect("width"))[0],
            numbers(&attr(open, "height").expect("height"))[0],
        ),
    };
    // SVG units are pixels of ~7-8 per module in practice; 1 unit = 1 px is plenty,
    // but scale small drawings (1 unit per module) up to 4 px per module.
    let scale = if vw < 100.0 { 4.0 } else { 1.0 };
    let border = 40usize;
    let (w, h) = (
        (vw * scale).ceil() as usize + 2 * border,
        (vh * scale).ceil() as usize + 2 * border,
    );
    let mut inner = Raster {
        w: w - 2 * border,
        h: h - 2 * border,
        dark: vec![false; (w - 2 * border) * (h - 2 * border)],
    };
    // Elements in document order, so a later fill paints over an earlier one.
    let mut rest = &svg[open_end..];
    while let Some(i) = rest.find('<') {
        rest = &rest[i..];
        let end = rest.find('>').expect("tag end");
        let tag = &rest[..end];
        if tag.starts_with("<rect") {
            let dark = !is_light(attr(tag, "fill").as_deref());
            let g = |n: &str| attr(tag, n).map(|v| numbers(&v)[0]).unwrap_or(0.0);
            let (x, y) = (g("x"), g("y"));
            inner.fill(x, y, x + g("width"), y + g("height"), scale, dark);
        } else if tag.starts_with("<path") {
            let dark = !is_light(attr(tag, "fill").as_deref());
            let d = attr(tag, "d").expect("path d");
            fill_path(&mut inner, &d, scale, dark);
        }
        rest = &rest[end..];
    }
    let mut dark = vec![false; w * h];
    for y in 0..inner.h {
        for x in 0..inner.w {
            dark[(y + border) * w + x + border] = inner.dark[y * inner.w + x];
        }
    }
    Raster { w, h, dark }
}

pub(crate) fn decode_qr(svg: &str) -> String {
    let raster = rasterise(svg);
    let dark_count = raster.dark.iter().filter(|d| **d).count();
    assert!(dark_count > 0, "the QR code has dark modules");
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(raster.w, raster.h, |x, y| {
        if raster.dark[y * raster.w + x] {
            0
        } else {
            255
        }
    });
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code found in the SVG");
    let (_meta, content) = grids[0].decode().expect("the QR code decodes");
    content
}
