//! Text helpers for drawing: neutralise what the API sends, fit it to columns, say times in words.

use chrono::{DateTime, Utc};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// Replaces control characters (ESC, BEL, newlines…) so API text cannot drive the terminal,
/// bidirectional overrides, which could make a name read as something else, and invisible
/// characters (zero-width, word joiner, BOM, soft hyphen, line and paragraph separators), so
/// `kel\u{200B}ly` cannot pass for `kelly`. Each becomes a visible U+FFFD.
pub fn clean(text: &str) -> String {
    text.chars()
        .map(|c| if is_hidden(c) { '\u{FFFD}' } else { c })
        .collect()
}

/// [`clean`] line by line: the newlines of a table or a list are kept, every other hidden
/// character becomes U+FFFD. What the shell commands print in table form goes through this.
pub fn clean_lines(text: &str) -> String {
    text.split('\n').map(clean).collect::<Vec<_>>().join("\n")
}

/// Hidden characters written as escapes (`\u{1b}`, `\u{2061}`), newlines kept: for names a
/// person typed in a config file (profiles, client ids, variable names), so what to fix shows.
pub fn escape_hidden(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c != '\n' && is_hidden(c) {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

/// True for characters that would drive the terminal, reorder text or draw as nothing.
pub fn is_hidden(c: char) -> bool {
    let bidi = matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}');
    // Zero-width and joiners, invisible operators (U+2061–2064), the Mongolian vowel
    // separator, the combining grapheme joiner, Hangul fillers, variation selectors and the
    // tag characters: all draw as nothing, so `kel\u{2061}ly` could pass for `kelly`.
    let invisible = matches!(
        c,
        '\u{200B}'..='\u{200D}'
            | '\u{2060}'..='\u{2064}'
            | '\u{FEFF}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{00AD}'
            | '\u{180E}'
            | '\u{034F}'
            | '\u{115F}'
            | '\u{1160}'
            | '\u{3164}'
            | '\u{FFA0}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{E0000}'..='\u{E007F}'
    );
    c.is_control() || bidi || invisible
}

/// Cleans and cuts text to `width` columns, ending with "…" when cut.
pub fn fit(text: &str, width: usize) -> String {
    let text = clean(text);
    if text.width() <= width {
        return text;
    }
    if width == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > width - 1 {
            break;
        }
        out.push(c);
        used += w;
    }
    // Some sequences are wider than their characters (an emoji presentation selector widens
    // the character before it): drop characters until the cut text really fits.
    while out.width() > width - 1 {
        out.pop();
    }
    out.push('…');
    out
}

/// Cleans and breaks text into rows of at most `width` columns, at spaces where it can.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let text = clean(text);
    if width == 0 {
        return Vec::new();
    }
    let mut rows = Vec::new();
    let mut row = String::new();
    for word in text.split(' ') {
        let joined = if row.is_empty() {
            word.to_owned()
        } else {
            format!("{row} {word}")
        };
        if joined.width() <= width {
            row = joined;
            continue;
        }
        if !row.is_empty() {
            rows.push(std::mem::take(&mut row));
        }
        // A word longer than a row is cut across rows.
        let mut used = 0;
        for c in word.chars() {
            let w = c.width().unwrap_or(0);
            if used + w > width {
                rows.push(std::mem::take(&mut row));
                used = 0;
            }
            row.push(c);
            used += w;
        }
    }
    if !row.is_empty() {
        rows.push(row);
    }
    rows
}

/// Cleans, fits and pads text to exactly `width` columns.
pub fn pad(text: &str, width: usize) -> String {
    let s = fit(text, width);
    let w = s.width();
    format!("{s}{}", " ".repeat(width.saturating_sub(w)))
}

/// "just now", "5 minutes ago", "2 days ago", "in 3 hours".
pub fn relative(time: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (now - time).num_seconds();
    let (n, future) = if secs < 0 {
        (-secs, true)
    } else {
        (secs, false)
    };
    let phrase = match n {
        0..=59 => {
            return if future {
                "in a moment".into()
            } else {
                "just now".into()
            };
        }
        60..=3_599 => unit(n / 60, "minute"),
        3_600..=86_399 => unit(n / 3_600, "hour"),
        86_400..=2_591_999 => unit(n / 86_400, "day"),
        2_592_000..=31_535_999 => unit(n / 2_592_000, "month"),
        _ => unit(n / 31_536_000, "year"),
    };
    if future {
        format!("in {phrase}")
    } else {
        format!("{phrase} ago")
    }
}

fn unit(n: i64, name: &str) -> String {
    if n == 1 {
        format!("1 {name}")
    } else {
        format!("{n} {name}s")
    }
}

/// A timestamp as "2026-11-29 14:05 UTC".
pub fn stamp(time: DateTime<Utc>) -> String {
    time.format("%Y-%m-%d %H:%M UTC").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn control_characters_are_neutralised() {
        let s = clean("a\x1b]52;c;ZXZpbA==\x07b\x1b[2J\n");
        assert!(!s.chars().any(char::is_control));
        assert!(s.starts_with('a'));
        assert_eq!(clean("evil\u{202E}gpj.exe"), "evil\u{FFFD}gpj.exe");
    }

    #[test]
    fn invisible_characters_are_made_visible() {
        assert_eq!(clean("kel\u{200b}ly"), "kel\u{FFFD}ly");
        assert_ne!(clean("kel\u{200b}ly"), clean("kelly"));
        for c in [
            '\u{200b}', '\u{200c}', '\u{200d}', '\u{2060}', '\u{feff}', '\u{2028}', '\u{2029}',
            '\u{ad}',
        ] {
            assert_eq!(clean(&format!("a{c}b")), "a\u{FFFD}b", "{:?}", c);
        }
        assert_eq!(fit("kel\u{200b}ly", 10), "kel\u{FFFD}ly");
    }

    #[test]
    fn long_text_is_cut_with_an_ellipsis() {
        assert_eq!(fit("Kelly Slater", 20), "Kelly Slater");
        assert_eq!(fit("Kelly Slater", 6), "Kelly…");
        assert_eq!(pad("ab", 4), "ab  ");
        assert_eq!(fit("日本語テキスト", 5), "日本…");
        assert_eq!(fit("*\u{fe0f}abc", 2), "*…");
    }

    #[test]
    fn wrapping_keeps_every_word() {
        let rows = wrap("r to retry · Server error (HTTP 503): try later", 12);
        assert!(rows.iter().all(|r| r.width() <= 12), "{rows:?}");
        assert_eq!(
            rows.join(" "),
            "r to retry · Server error (HTTP 503): try later"
        );
    }

    #[test]
    fn times_in_words() {
        let now = Utc.with_ymd_and_hms(2026, 11, 28, 12, 0, 0).unwrap();
        assert_eq!(relative(now - chrono::Duration::days(2), now), "2 days ago");
        assert_eq!(
            relative(now - chrono::Duration::seconds(5), now),
            "just now"
        );
        assert_eq!(relative(now + chrono::Duration::hours(1), now), "in 1 hour");
    }
}
