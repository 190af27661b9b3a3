//! RFC 6238 TOTP (SHA-1, 6 digits, 30 s steps) and the base32 secrets it uses.

use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;

/// Seconds per TOTP step.
pub(crate) const STEP: i64 = 30;

/// Decodes RFC 4648 base32 (case-insensitive, padding and spaces ignored).
pub(crate) fn base32_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let (mut buf, mut bits) = (0u64, 0u32);
    for c in text.chars().filter(|c| *c != '=' && !c.is_whitespace()) {
        let v = match c.to_ascii_uppercase() {
            c @ 'A'..='Z' => c as u64 - 'A' as u64,
            c @ '2'..='7' => c as u64 - '2' as u64 + 26,
            _ => return None,
        };
        buf = (buf << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buf >> bits) as u8);
            buf &= (1 << bits) - 1;
        }
    }
    if out.is_empty() { None } else { Some(out) }
}

/// Encodes bytes as unpadded RFC 4648 base32.
pub(crate) fn base32_encode(bytes: &[u8]) -> String {
    const ALPHA: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    let (mut buf, mut bits) = (0u64, 0u32);
    for b in bytes {
        buf = (buf << 8) | u64::from(*b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHA[((buf >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHA[((buf << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// HOTP value for one counter (RFC 4226), six digits.
fn hotp(secret: &[u8], counter: u64) -> String {
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(secret) else {
        // HMAC accepts keys of any length, so this cannot happen; an empty code never matches.
        return String::new();
    };
    mac.update(&counter.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest[digest.len() - 1] & 0x0f);
    let bin = (u32::from(digest[offset] & 0x7f) << 24)
        | (u32::from(digest[offset + 1]) << 16)
        | (u32::from(digest[offset + 2]) << 8)
        | u32::from(digest[offset + 3]);
    format!("{:06}", bin % 1_000_000)
}

/// The TOTP code at time `t`.
pub(crate) fn code_at(secret: &[u8], t: DateTime<Utc>) -> String {
    hotp(secret, (t.timestamp().max(0) / STEP) as u64)
}

/// Seconds until the code at `t` changes.
pub(crate) fn seconds_left(t: DateTime<Utc>) -> u32 {
    (STEP - t.timestamp().rem_euclid(STEP)) as u32
}

/// Whether `code` is valid at `t`, allowing one step of drift either way.
pub(crate) fn verify(secret: &[u8], code: &str, t: DateTime<Utc>) -> bool {
    let step = t.timestamp().max(0) / STEP;
    (step - 1..=step + 1)
        .filter(|s| *s >= 0)
        .any(|s| hotp(secret, s as u64) == code.trim())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn rfc6238_vectors() {
        let secret = b"12345678901234567890";
        let t = Utc.timestamp_opt(59, 0).unwrap();
        assert_eq!(code_at(secret, t), "287082");
        let t = Utc.timestamp_opt(1_111_111_109, 0).unwrap();
        assert_eq!(code_at(secret, t), "081804");
        assert!(verify(secret, "081804", t));
    }

    #[test]
    fn base32_round_trip() {
        let s = base32_encode(b"12345678901234567890");
        assert_eq!(s, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert_eq!(base32_decode(&s).unwrap(), b"12345678901234567890");
    }
}
