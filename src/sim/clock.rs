//! The sim clock: real time plus an offset that tests and the demo move forward.

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};

/// Real time shifted by an adjustable offset.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Clock {
    offset: TimeDelta,
}

impl Clock {
    /// The current sim time.
    pub(crate) fn now(&self) -> DateTime<Utc> {
        Utc::now() + self.offset
    }

    /// Moves the clock by `seconds` (negative moves it back).
    pub(crate) fn advance(&mut self, seconds: i64) {
        self.offset += TimeDelta::seconds(seconds);
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
