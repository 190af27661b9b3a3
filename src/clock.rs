//! Time arithmetic on values a server chose: checked, clamped, never a panic.
//!
//! chrono panics when a sum leaves its range (about ±262,000 years) or when a duration is built
//! from too many seconds; a tenant's `X-RateLimit-Reset: 100000000000000` or an `expires_at` in
//! the year 9999 must do neither. Every expiry a server sends reaches our clock through
//! [`local_expiry`], the one place the tenant's clock offset is applied.

use chrono::{DateTime, Duration, Utc};

/// A clock difference larger than this is a broken `Date` header (1970, 9999), not a skewed
/// clock: it is ignored rather than moving every countdown by years.
pub const MAX_CLOCK_SKEW_SECS: i64 = 24 * 3600;

/// The longest a rate-limit reset may be believed (the budget is hourly; a day is generous).
pub const MAX_RESET_SECS: u64 = 24 * 3600;

/// `secs` as a duration, saturating at chrono's range instead of panicking.
pub fn secs(secs: i64) -> Duration {
    Duration::try_seconds(secs).unwrap_or(if secs < 0 {
        Duration::MIN
    } else {
        Duration::MAX
    })
}

/// `t + d`, saturating at the ends of chrono's range instead of panicking.
pub fn add(t: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    t.checked_add_signed(d).unwrap_or(if d < Duration::zero() {
        DateTime::<Utc>::MIN_UTC
    } else {
        DateTime::<Utc>::MAX_UTC
    })
}

/// `t + secs` seconds, saturating.
pub fn add_secs(t: DateTime<Utc>, s: i64) -> DateTime<Utc> {
    add(t, secs(s))
}

/// `t + secs` for an unsigned count a server sent, saturating.
pub fn add_secs_u64(t: DateTime<Utc>, s: u64) -> DateTime<Utc> {
    add_secs(t, i64::try_from(s).unwrap_or(i64::MAX))
}

/// The tenant's clock minus ours as it may be used: a difference beyond
/// [`MAX_CLOCK_SKEW_SECS`] is a broken header and counts as none.
pub fn usable_offset(offset: Duration) -> Duration {
    if offset.num_seconds().abs() > MAX_CLOCK_SKEW_SECS {
        Duration::zero()
    } else {
        offset
    }
}

/// A server's expiry on our clock: the tenant's offset taken off once, then clamped to
/// `[sent_at, sent_at + asked_secs]`. Without an expiry, `sent_at + asked_secs`.
///
/// Whatever the tenant's clock or its answer says, a countdown never runs longer than asked
/// and never starts in the past.
pub fn local_expiry(
    tenant_expiry: Option<DateTime<Utc>>,
    offset: Duration,
    sent_at: DateTime<Utc>,
    asked_secs: i64,
) -> DateTime<Utc> {
    let ceiling = add_secs(sent_at, asked_secs.max(0));
    match tenant_expiry {
        None => ceiling,
        Some(t) => add(t, -usable_offset(offset)).clamp(sent_at, ceiling),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 28, 12, 0, 0).unwrap()
    }

    #[test]
    fn sums_saturate_instead_of_panicking() {
        assert_eq!(
            add_secs_u64(now(), 100_000_000_000_000),
            DateTime::<Utc>::MAX_UTC
        );
        assert_eq!(add_secs(now(), i64::MIN), DateTime::<Utc>::MIN_UTC);
        assert_eq!(
            add(DateTime::<Utc>::MAX_UTC, Duration::MAX),
            DateTime::<Utc>::MAX_UTC
        );
        assert_eq!(add_secs(now(), 60), now() + Duration::minutes(1));
    }

    #[test]
    fn a_tenant_ten_minutes_behind_still_gets_what_was_asked() {
        let offset = Duration::minutes(-10);
        let tenant_now = now() + offset;
        let at = local_expiry(
            Some(tenant_now + Duration::seconds(120)),
            offset,
            now(),
            120,
        );
        assert_eq!(at, now() + Duration::seconds(120));
        let ahead = Duration::minutes(10);
        let at = local_expiry(
            Some(now() + ahead + Duration::seconds(90)),
            ahead,
            now(),
            120,
        );
        assert_eq!(at, now() + Duration::seconds(90));
    }

    #[test]
    fn a_date_of_1970_or_9999_is_no_offset() {
        for year in [1970, 9999] {
            let date = Utc.with_ymd_and_hms(year, 1, 1, 0, 0, 0).unwrap();
            let offset = date - now();
            let at = local_expiry(Some(now() + Duration::seconds(100)), offset, now(), 120);
            assert_eq!(at, now() + Duration::seconds(100), "{year}");
            let far = local_expiry(Some(date), offset, now(), 120);
            assert!(
                far >= now() && far <= now() + Duration::seconds(120),
                "{year}"
            );
        }
    }
}
