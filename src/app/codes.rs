//! Sending codes again: the re-send limit, how sends are counted, and YubiKey codes.

use chrono::{DateTime, Local, Utc};

use crate::api::OtpDevice;

/// Seconds between two codes sent from an empty code field.
pub const RESEND_SECS: i64 = 30;

/// Entries this short are not a YubiKey code (the key types 32 characters or more).
pub const YUBIKEY_MIN_LEN: usize = 32;

/// What the verify dialog says about a YubiKey's code.
pub const YUBIKEY_HINT: &str = "The code is the long string the key types when touched.";

/// What a too-short YubiKey entry gets instead of being sent.
pub fn yubikey_short(len: usize) -> String {
    format!("{len} characters is not a YubiKey code. {YUBIKEY_HINT}")
}

/// Seconds until another code may be sent, when the last one went out less than 30 s ago.
pub fn resend_wait(sends: &[DateTime<Utc>], now: DateTime<Utc>) -> Option<i64> {
    let last = sends.last()?;
    let left = RESEND_SECS - (now - *last).num_seconds();
    (left > 0).then_some(left)
}

/// True for a YubiKey device (its code is a long one-time string, not six digits).
pub fn is_yubikey(device: &OtpDevice) -> bool {
    // Only a hint depends on this, so the names are good enough (the wire has no kind field).
    [
        Some(&device.auth_factor_name),
        device.type_display_name.as_ref(),
    ]
    .into_iter()
    .flatten()
    .any(|n| {
        let n = n.to_ascii_lowercase();
        n.contains("yubikey") || n.contains("yubico")
    })
}

/// "2nd", "3rd", "11th": which send this is.
pub fn ordinal(n: usize) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

/// A time of day as the agent's clock shows it: HH:MM:SS.
pub fn clock_time(t: DateTime<Utc>) -> String {
    t.with_timezone(&Local).format("%H:%M:%S").to_string()
}

/// "Code sent at HH:MM:SS", with the count from the second send on.
pub fn sent_line(sends: &[DateTime<Utc>]) -> Option<String> {
    let last = sends.last()?;
    let mut line = format!("Code sent at {}", clock_time(*last));
    if sends.len() > 1 {
        line.push_str(&format!(" ({})", ordinal(sends.len())));
    }
    Some(line)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    #[test]
    fn ordinals() {
        let o: Vec<String> = [1, 2, 3, 4, 11, 12, 13, 21, 22].map(ordinal).into();
        assert_eq!(
            o,
            [
                "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd"
            ]
        );
    }

    #[test]
    fn resend_waits_thirty_seconds_from_the_last_send() {
        let t = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        assert_eq!(resend_wait(&[], t), None);
        assert_eq!(resend_wait(&[t], t), Some(30));
        assert_eq!(resend_wait(&[t], t + Duration::seconds(29)), Some(1));
        assert_eq!(resend_wait(&[t], t + Duration::seconds(30)), None);
    }
}
