//! The hourly request budget, its headers and `GET /auth/rate_limit`.

use chrono::{DateTime, TimeDelta, Utc};

/// Length of a rate-limit window.
const WINDOW_SECS: i64 = 3600;

/// An hourly budget measured on the sim clock.
#[derive(Debug, Clone)]
pub(crate) struct RateWindow {
    pub limit: u32,
    used: u32,
    start: DateTime<Utc>,
}

impl RateWindow {
    /// A fresh window starting at `now`.
    pub(crate) fn new(limit: u32, now: DateTime<Utc>) -> Self {
        RateWindow {
            limit,
            used: 0,
            start: now,
        }
    }

    /// Starts a new window if the current one has ended (or the clock went back).
    fn roll(&mut self, now: DateTime<Utc>) {
        if now >= self.start + TimeDelta::seconds(WINDOW_SECS) || now < self.start {
            self.start = now;
            self.used = 0;
        }
    }

    /// Spends one request; false when the budget is gone.
    pub(crate) fn try_spend(&mut self, now: DateTime<Utc>) -> bool {
        self.roll(now);
        if self.used >= self.limit {
            return false;
        }
        self.used += 1;
        true
    }

    /// (limit, remaining, seconds until reset) as the headers report them.
    pub(crate) fn snapshot(&mut self, now: DateTime<Utc>) -> (u32, u32, i64) {
        self.roll(now);
        let reset = (self.start + TimeDelta::seconds(WINDOW_SECS) - now)
            .num_seconds()
            .max(0);
        (self.limit, self.limit.saturating_sub(self.used), reset)
    }
}
