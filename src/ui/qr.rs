//! QR codes drawn with Unicode half blocks: each cell holds two modules stacked, so modules come
//! out square on a terminal's 1:2 cells. Dark modules are black on white, whatever the theme or
//! NO_COLOR, because a phone camera needs the contrast a QR code is made of.

use qrcode::{Color as Module, EcLevel, QrCode};
use ratatui::style::{Color, Style};

/// The quiet zone the standard asks for, in modules.
pub const QUIET_FULL: usize = 4;
/// The least quiet zone drawn: phone scanners read codes with two modules of margin.
pub const QUIET_MIN: usize = 2;

/// A QR code as lines of half-block characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QrArt {
    /// One string per terminal row.
    pub lines: Vec<String>,
    /// Width in cells (= modules, quiet zone included).
    pub width: u16,
}

impl QrArt {
    /// Height in terminal rows.
    pub fn height(&self) -> u16 {
        u16::try_from(self.lines.len()).unwrap_or(u16::MAX)
    }
}

/// The style QR rows are drawn in: dark modules are the foreground.
pub fn style() -> Style {
    Style::default().fg(Color::Black).bg(Color::White)
}

/// The modules of `data`'s QR code (low error correction: the smallest code, read off a screen).
fn modules(data: &str) -> Option<(usize, Vec<bool>)> {
    let code = QrCode::with_error_correction_level(data.as_bytes(), EcLevel::L).ok()?;
    let width = code.width();
    let dark = code
        .to_colors()
        .into_iter()
        .map(|c| c == Module::Dark)
        .collect();
    Some((width, dark))
}

/// The cells a code needs with the given quiet zone: (columns, rows).
fn size(width: usize, quiet: usize) -> (usize, usize) {
    let side = width + 2 * quiet;
    (side, side.div_ceil(2))
}

/// Draws `data` to fit within `max_w` × `max_h` cells, with the widest quiet zone that fits
/// (4 modules down to 2); None when even that does not fit or the data is too long for a QR code.
pub fn render(data: &str, max_w: u16, max_h: u16) -> Option<QrArt> {
    let (width, dark) = modules(data)?;
    let quiet = (QUIET_MIN..=QUIET_FULL).rev().find(|q| {
        let (w, h) = size(width, *q);
        w <= usize::from(max_w) && h <= usize::from(max_h)
    })?;
    let side = width + 2 * quiet;
    let is_dark = |x: usize, y: usize| {
        x >= quiet
            && y >= quiet
            && x < quiet + width
            && y < quiet + width
            && dark[(y - quiet) * width + (x - quiet)]
    };
    let lines = (0..side)
        .step_by(2)
        .map(|y| {
            (0..side)
                .map(|x| match (is_dark(x, y), is_dark(x, y + 1)) {
                    (true, true) => '█',
                    (true, false) => '▀',
                    (false, true) => '▄',
                    (false, false) => ' ',
                })
                .collect()
        })
        .collect();
    Some(QrArt {
        lines,
        width: u16::try_from(side).ok()?,
    })
}

/// The smallest terminal area (columns, rows) `data`'s code can be drawn in.
pub fn min_size(data: &str) -> Option<(u16, u16)> {
    let (width, _) = modules(data)?;
    let (w, h) = size(width, QUIET_MIN);
    Some((u16::try_from(w).ok()?, u16::try_from(h).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    const URI: &str =
        "otpauth://totp/OneLogin:kelly%40acme.example?secret=JBSWY3DPEHPK3PXP&issuer=OneLogin";

    #[test]
    fn the_widest_quiet_zone_that_fits_is_used() {
        let big = render(URI, 200, 100).expect("fits");
        let small = render(URI, big.width - 2, 100).expect("fits with less margin");
        assert_eq!(big.width - small.width, 2, "one module less on each side");
        // The quiet zone is blank: the first row and column hold no module.
        assert!(big.lines[0].chars().all(|c| c == ' '));
        assert!(big.lines.iter().all(|l| l.starts_with("    ")));
    }

    #[test]
    fn too_small_an_area_draws_nothing() {
        let (w, h) = min_size(URI).expect("encodable");
        assert!(render(URI, w, h).is_some());
        assert!(render(URI, w - 1, h).is_none());
        assert!(render(URI, w, h - 1).is_none());
    }

    #[test]
    fn rows_hold_two_modules_each() {
        let art = render(URI, 200, 100).expect("fits");
        assert_eq!(
            usize::from(art.height()),
            usize::from(art.width).div_ceil(2)
        );
        assert!(
            art.lines
                .iter()
                .all(|l| l.chars().count() == usize::from(art.width))
        );
    }
}
