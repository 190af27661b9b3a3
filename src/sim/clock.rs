//! The sim clock: real time plus an offset that tests and the demo move forward.

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};

/// How far the clock may be moved from real time either way (about 100 years), so
/// every time the tenant computes from it stays far inside chrono's range.
pub(crate) const MAX_OFFSET_SECS: i64 = 100 * 366 * 86_400;

/// Real time shifted by an adjustable offset.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Clock {
    offset: TimeDelta,
}

impl Clock {
    /// The current sim time.
    pub(crate) fn now(&self) -> DateTime<Utc> {
        let real = Utc::now();
        // The offset is bounded by `advance`, so this only falls back if the host clock is absurd.
        real.checked_add_signed(self.offset).unwrap_or(real)
    }

    /// Moves the clock by `seconds` (negative moves it back); refuses (and leaves the
    /// clock alone) when the total offset would leave ±[`MAX_OFFSET_SECS`].
    pub(crate) fn advance(&mut self, seconds: i64) -> Result<(), String> {
        let total = self
            .offset
            .num_seconds()
            .checked_add(seconds)
            .filter(|s| s.unsigned_abs() <= MAX_OFFSET_SECS.unsigned_abs())
            .and_then(TimeDelta::try_seconds)
            .ok_or_else(|| {
                format!("seconds must keep the clock within {MAX_OFFSET_SECS} seconds of real time")
            })?;
        // Offsets are whole seconds: only `advance` changes them.
        self.offset = total;
        Ok(())
    }
}

/// ISO-8601 UTC with milliseconds, as OneLogin writes `created_at`.
pub(crate) fn iso_ms(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// ISO-8601 UTC with whole seconds, as OneLogin writes expiry times.
pub(crate) fn iso_s(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advance_is_bounded_and_checked() {
        let mut c = Clock::default();
        assert!(c.advance(i64::MAX).is_err());
        assert!(c.advance(i64::MIN).is_err());
        assert!(c.advance(MAX_OFFSET_SECS + 1).is_err());
        assert!(c.advance(MAX_OFFSET_SECS).is_ok());
        assert!(c.advance(1).is_err());
        assert!(c.advance(-2 * MAX_OFFSET_SECS).is_ok());
        let _ = c.now();
    }
}
