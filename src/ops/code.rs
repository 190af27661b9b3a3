//! Taking a code a user reads out, the same way in the console and in the commands: what a
//! code is (spaces and dashes are not part of it), when another may be sent, and what to say
//! for each kind of factor.

use chrono::{DateTime, Local, Utc};

use crate::api::OtpDevice;

/// Seconds between two codes sent from an empty code field.
pub const RESEND_SECS: i64 = 30;

/// Entries this short are not a YubiKey code (the key types 32 characters or more).
pub const YUBIKEY_MIN_LEN: usize = 32;

/// What the dialogs say about a YubiKey's code.
pub const YUBIKEY_HINT: &str = "The code is the long string the key types when touched.";

/// How a device's code reaches the user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CodeFactor {
    /// A text message.
    Sms,
    /// A phone call that reads the code.
    Voice,
    /// An email, to this address (the user's, when known).
    Email {
        /// Where the code went.
        address: Option<String>,
    },
    /// An authenticator app (Google Authenticator, OneLogin Protect's code, …).
    Authenticator,
    /// A YubiKey, which types its code when touched.
    YubiKey,
}

/// Why a typed code is not sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CodeProblem {
    /// Nothing was typed.
    Empty,
    /// Too short to be what a YubiKey types (its length).
    NotYubiKey(usize),
}

impl CodeProblem {
    /// What to tell the agent.
    pub fn message(&self) -> String {
        match self {
            CodeProblem::Empty => "Type the code the user reads out.".into(),
            CodeProblem::NotYubiKey(len) => {
                format!("{len} characters is not a YubiKey code. {YUBIKEY_HINT}")
            }
        }
    }
}

/// True for an email factor (its code is sent by email: a code factor, never a push).
pub fn is_email(device: &OtpDevice) -> bool {
    names(device).any(|n| n.contains("email"))
}

/// True for a YubiKey device (its code is a long one-time string, not six digits).
pub fn is_yubikey(device: &OtpDevice) -> bool {
    // The wire has no kind field: the names are what there is.
    names(device).any(|n| n.contains("yubikey") || n.contains("yubico"))
}

fn names(device: &OtpDevice) -> impl Iterator<Item = String> + '_ {
    [
        Some(&device.auth_factor_name),
        device.type_display_name.as_ref(),
    ]
    .into_iter()
    .flatten()
    .map(|n| n.to_ascii_lowercase())
}

impl CodeFactor {
    /// How this device takes a code; `None` for a push device. `email` is the user's address.
    pub fn of(device: &OtpDevice, email: Option<&str>) -> Option<CodeFactor> {
        if is_yubikey(device) {
            return Some(CodeFactor::YubiKey);
        }
        if !device.needs_trigger {
            return Some(CodeFactor::Authenticator);
        }
        if is_email(device) {
            return Some(CodeFactor::Email {
                address: email.map(str::to_owned),
            });
        }
        let name = device.auth_factor_name.to_ascii_lowercase();
        if name.contains("voice") {
            Some(CodeFactor::Voice)
        } else if name.contains("sms") || device.phone_number.is_some() {
            Some(CodeFactor::Sms)
        } else {
            None
        }
    }

    /// How a factor named `name` (as the enroll list names it) takes its first code.
    pub fn named(name: &str, email: Option<&str>) -> CodeFactor {
        let n = name.to_ascii_lowercase();
        if n.contains("yubi") {
            CodeFactor::YubiKey
        } else if n.contains("email") {
            CodeFactor::Email {
                address: email.map(str::to_owned),
            }
        } else if n.contains("voice") {
            CodeFactor::Voice
        } else if n.contains("sms") {
            CodeFactor::Sms
        } else {
            CodeFactor::Authenticator
        }
    }

    /// What the agent asks the `who` ("user", "caller") for, on `device` (its label).
    pub fn ask(&self, who: &str, device: &str) -> String {
        match self {
            CodeFactor::Sms => format!("Ask the {who} for the code sent to {device}."),
            CodeFactor::Voice => {
                format!("Ask the {who} for the code the call read out on {device}.")
            }
            CodeFactor::Email { address } => match address {
                Some(a) => format!("Ask the {who} for the code emailed to {}.", mask_email(a)),
                None => format!("Ask the {who} for the code emailed to them."),
            },
            CodeFactor::Authenticator => format!("Ask the {who} for the code shown on {device}."),
            CodeFactor::YubiKey => {
                format!("Ask the {who} to touch {device}: the code is typed by the YubiKey.")
            }
        }
    }

    /// True when mfadesk sends the code (and may send another); false when the device shows it.
    pub fn is_sent(&self) -> bool {
        matches!(
            self,
            CodeFactor::Sms | CodeFactor::Voice | CodeFactor::Email { .. }
        )
    }

    /// The typed code as sent, or why it is not: spaces and dashes removed, a YubiKey's long
    /// string taken as typed.
    pub fn check(&self, typed: &str) -> Result<String, CodeProblem> {
        let code = normalize_code(typed);
        if code.is_empty() {
            return Err(CodeProblem::Empty);
        }
        let len = code.chars().count();
        if *self == CodeFactor::YubiKey && len < YUBIKEY_MIN_LEN {
            return Err(CodeProblem::NotYubiKey(len));
        }
        Ok(code)
    }

    /// "Code sent at HH:MM:SS (2nd)", naming the (masked) address for email.
    pub fn sent_line(&self, sends: &[DateTime<Utc>]) -> Option<String> {
        let last = sends.last()?;
        let count = if sends.len() > 1 {
            format!(" ({})", ordinal(sends.len()))
        } else {
            String::new()
        };
        let at = clock_time(*last);
        Some(match self {
            CodeFactor::Email {
                address: Some(address),
            } => format!("Code sent to {} at {at}{count}", mask_email(address)),
            CodeFactor::Voice => format!("Call placed at {at}{count}: it reads out a code"),
            _ => format!("Code sent at {at}{count}"),
        })
    }

    /// What the empty field offers: another code (or when), or where the code is shown.
    pub fn hint(&self, sends: &[DateTime<Utc>], now: DateTime<Utc>) -> String {
        match self {
            CodeFactor::Authenticator => {
                "The app shows a new code every 30 s: read the one on screen now.".into()
            }
            CodeFactor::YubiKey => YUBIKEY_HINT.into(),
            _ => match resend_wait(sends, now) {
                Some(left) => format!("New code possible in {left}s"),
                None => "No code arrived? Enter on the empty field sends a new one.".into(),
            },
        }
    }

    /// What a wrong code gets: the newest code to use, or where a new one shows (`who` reads
    /// it out: "user" or "caller").
    pub fn wrong_code(&self, sends: &[DateTime<Utc>], who: &str) -> String {
        match self {
            CodeFactor::Authenticator => {
                "Wrong code. The app shows a new code every 30 s: use the one on screen now.".into()
            }
            CodeFactor::YubiKey => "Wrong code. Touch the YubiKey again for a new one.".into(),
            _ => match sends.last() {
                // The user may be reading the first code while a newer one replaced it.
                Some(last) if sends.len() > 1 => format!(
                    "Wrong code. A newer code was sent at {}: use the newest.",
                    clock_time(*last)
                ),
                _ => format!("Wrong code. Check it with the {who} and try again."),
            },
        }
    }
}

/// Codes are read out in groups: spaces and dashes are not part of them.
pub fn normalize_code(code: &str) -> String {
    code.chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '-' | '‐' | '–'))
        .collect()
}

/// Seconds until another code may be sent, when the last one went out less than 30 s ago.
pub fn resend_wait(sends: &[DateTime<Utc>], now: DateTime<Utc>) -> Option<i64> {
    let last = sends.last()?;
    let left = RESEND_SECS - (now - *last).num_seconds();
    (left > 0).then_some(left)
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

/// An address masked like a phone number: `k•••@acme.example`.
pub fn mask_email(address: &str) -> String {
    match address.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}•••@{domain}")
        }
        None => "•••".into(),
    }
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

    #[test]
    fn codes_lose_spaces_and_dashes_and_a_yubikey_needs_its_long_string() {
        assert_eq!(CodeFactor::Sms.check("288 694"), Ok("288694".into()));
        assert_eq!(CodeFactor::Sms.check("288-694"), Ok("288694".into()));
        assert_eq!(CodeFactor::Sms.check("  "), Err(CodeProblem::Empty));
        assert_eq!(
            CodeFactor::YubiKey.check("123456"),
            Err(CodeProblem::NotYubiKey(6))
        );
        let otp = "cccccbhuvrrnjkrrjdbvfkfhvjleetvvnldtnrdcjrgf";
        assert_eq!(CodeFactor::YubiKey.check(otp), Ok(otp.into()));
    }

    #[test]
    fn emails_are_masked_like_phones() {
        assert_eq!(mask_email("kelly@acme.example"), "k•••@acme.example");
        let t = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let email = CodeFactor::Email {
            address: Some("kelly@acme.example".into()),
        };
        let line = email.sent_line(&[t, t]).unwrap();
        assert!(
            line.starts_with("Code sent to k•••@acme.example at "),
            "{line}"
        );
        assert!(line.ends_with("(2nd)"), "{line}");
    }
}
