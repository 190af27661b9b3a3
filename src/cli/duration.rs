//! Durations and times as the agent types them: `90`, `10m`, `2h`, `7d`, or RFC 3339.

use chrono::{DateTime, Utc};

/// Seconds in `90`, `90s`, `10m`, `2h`, `3d`, `1w`.
pub fn parse_secs(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (num, unit) = text.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{text:?} is not a duration: use e.g. 90, 10m, 2h or 7d"))?;
    let mult = match unit.trim() {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 604_800,
        other => {
            return Err(format!(
                "unknown unit {other:?} in {text:?}: use s, m, h, d or w"
            ));
        }
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("{text:?} is too long"))
}

/// A point in time: `now` minus a duration, or an RFC 3339 time.
pub fn parse_since(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text.trim()) {
        return Ok(t.with_timezone(&Utc));
    }
    let secs = parse_secs(text).map_err(|_| {
        format!(
            "{text:?} is neither a duration (2h, 7d) nor an RFC 3339 time (2026-01-31T09:00:00Z)"
        )
    })?;
    let secs = i64::try_from(secs).map_err(|_| format!("{text:?} is too long"))?;
    chrono::Duration::try_seconds(secs)
        .and_then(|d| now.checked_sub_signed(d))
        .ok_or_else(|| format!("{text:?} is too long"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_times() {
        assert_eq!(parse_secs("90"), Ok(90));
        assert_eq!(parse_secs("10m"), Ok(600));
        assert_eq!(parse_secs("2h"), Ok(7200));
        assert_eq!(parse_secs("7d"), Ok(604_800));
        assert!(parse_secs("2x").is_err());
        assert!(parse_secs("").is_err());
        let now = Utc::now();
        assert_eq!(parse_since("2h", now), Ok(now - chrono::Duration::hours(2)));
        assert!(parse_since("2026-01-31T09:00:00Z", now).is_ok());
        assert!(parse_since("yesterday", now).is_err());
    }
}
