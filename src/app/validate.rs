//! Checks on what the agent types, with messages that say how to fix it.

/// Checks an E.164 phone number: `+`, a country code not starting with 0, 8–15 digits in all.
pub fn e164(number: &str) -> Result<(), String> {
    let number = number.trim();
    if number.is_empty() {
        return Err("enter the phone number in E.164 form, e.g. +14155550123".into());
    }
    let Some(digits) = number.strip_prefix('+') else {
        return Err("start with + and the country code, e.g. +14155550123".into());
    };
    if let Some(bad) = digits.chars().find(|c| !c.is_ascii_digit()) {
        return Err(format!(
            "only digits after the +, no spaces or punctuation (found {:?})",
            bad
        ));
    }
    if digits.starts_with('0') {
        return Err("country codes never start with 0".into());
    }
    match digits.len() {
        0..=7 => Err(format!(
            "too short: {} digits, E.164 needs 8 to 15",
            digits.len()
        )),
        8..=15 => Ok(()),
        n => Err(format!("too long: {n} digits, E.164 allows at most 15")),
    }
}

/// Masks a phone number for display, keeping the country prefix and the last four digits.
pub fn mask_phone(number: &str) -> String {
    let chars: Vec<char> = number.chars().collect();
    // An E.164 number keeps its country code: the agent can tell a +61 phone from a +1 one.
    if let Some(digits) = number.strip_prefix('+')
        && digits.len() >= 8
        && digits.chars().all(|c| c.is_ascii_digit())
    {
        let cc = country_code_len(digits);
        let rest = digits.len() - cc;
        if rest > 4 {
            return format!(
                "+{} {} {}",
                &digits[..cc],
                "•".repeat(rest - 4),
                &digits[digits.len() - 4..]
            );
        }
    }
    if chars.len() <= 6 {
        return "•".repeat(chars.len());
    }
    let head: String = chars[..2].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "•".repeat(chars.len() - 6))
}

/// How many digits the country code of an E.164 number (without `+`) has (ITU-T E.164 zones).
fn country_code_len(digits: &str) -> usize {
    let two: &[&str] = &[
        "20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45", "46",
        "47", "48", "49", "51", "52", "53", "54", "55", "56", "57", "58", "60", "61", "62", "63",
        "64", "65", "66", "81", "82", "84", "86", "90", "91", "92", "93", "94", "95", "98",
    ];
    if digits.starts_with('1') || digits.starts_with('7') {
        1
    } else if two.iter().any(|p| digits.starts_with(p)) {
        2
    } else {
        3
    }
}

/// Lowest and highest state token lifetimes OneLogin accepts, in seconds.
pub const STATE_TOKEN_RANGE: (u32, u32) = (120, 900);

/// The longest SMS OneLogin sends, after the template is filled.
pub const SMS_MAX: usize = 160;

/// The longest temporary MFA token lifetime: 72 hours.
pub const MFA_TOKEN_MAX_SECS: u32 = 259_200;

/// Parses the state token lifetime field.
pub fn state_token_expires_in(text: &str) -> Result<u32, String> {
    let (lo, hi) = STATE_TOKEN_RANGE;
    let text = text.trim();
    let secs: u32 = text
        .parse()
        .map_err(|_| format!("\"{text}\" is not a number of seconds ({lo}–{hi})"))?;
    if !(lo..=hi).contains(&secs) {
        return Err(format!("must be between {lo} and {hi} seconds"));
    }
    Ok(secs)
}

/// The length of an SMS template once `{{otp_code}}` and `{{expiration}}` are filled.
pub fn sms_length(template: &str, _numeric: bool, expires_in: u32) -> usize {
    // Both code kinds are six characters long.
    let code_len = 6;
    let minutes = expires_in.div_ceil(60).to_string();
    let filled = template
        .replace("{{otp_code}}", &"0".repeat(code_len))
        .replace("{{expiration}}", &minutes);
    filled.chars().count()
}

/// Checks an SMS template against the 160-character limit.
pub fn sms_template(template: &str, numeric: bool, expires_in: u32) -> Result<(), String> {
    let len = sms_length(template, numeric, expires_in);
    if len > SMS_MAX {
        return Err(format!(
            "{len}/{SMS_MAX} characters after substitution: shorten it by {}",
            len - SMS_MAX
        ));
    }
    if !template.trim().is_empty() && !template.contains("{{otp_code}}") {
        return Err("the template must contain {{otp_code}}, or the user gets no code".into());
    }
    Ok(())
}

/// Formats a number of seconds as "1:05" for countdowns.
pub fn countdown(secs: i64) -> String {
    let secs = secs.max(0);
    format!("{}:{:02}", secs / 60, secs % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e164_accepts_and_explains() {
        assert!(e164("+14155550123").is_ok());
        assert!(e164("+6427200112").is_ok());
        assert!(e164("14155550123").unwrap_err().contains("start with +"));
        assert!(e164("+1 415").unwrap_err().contains("only digits"));
        assert!(
            e164("+0123456789")
                .unwrap_err()
                .contains("never start with 0")
        );
        assert!(e164("+1234").unwrap_err().contains("too short"));
        assert!(e164("+1234567890123456").unwrap_err().contains("too long"));
        assert!(e164("").unwrap_err().contains("E.164"));
    }

    #[test]
    fn masks_keep_prefix_and_last_four() {
        assert_eq!(mask_phone("+14156456830"), "+1 •••••• 6830");
        assert_eq!(mask_phone("+61412345678"), "+61 ••••• 5678");
        assert_eq!(mask_phone("+353861234567"), "+353 ••••• 4567");
        assert_eq!(mask_phone("0412345678"), "04••••5678");
        assert_eq!(mask_phone("+123"), "••••");
    }

    #[test]
    fn state_token_lifetime_bounds() {
        assert_eq!(state_token_expires_in("300"), Ok(300));
        assert!(state_token_expires_in("119").is_err());
        assert!(state_token_expires_in("901").is_err());
        assert!(
            state_token_expires_in("abc")
                .unwrap_err()
                .contains("not a number")
        );
    }

    #[test]
    fn sms_length_counts_after_substitution() {
        assert_eq!(sms_length("Code {{otp_code}}", false, 120), 11);
        assert_eq!(sms_length("{{expiration}} min", true, 300), 5);
        let long = format!("{{{{otp_code}}}}{}", "x".repeat(160));
        assert!(
            sms_template(&long, false, 120)
                .unwrap_err()
                .contains("166/160")
        );
        assert!(sms_template("no code here", false, 120).is_err());
        assert!(sms_template("", false, 120).is_ok());
    }
}
