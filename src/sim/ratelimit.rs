//! The hourly request budget of each credential, its headers and `GET /auth/rate_limit`.

use std::collections::HashMap;

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
        self.used = self.used.saturating_add(1);
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

/// One budget per client id, as OneLogin counts per account: only requests with valid
/// credentials spend, so a stranger cannot exhaust a credential's hour.
#[derive(Debug, Clone)]
pub(crate) struct RateBook {
    limit: u32,
    windows: HashMap<String, RateWindow>,
}

impl RateBook {
    /// No request counted yet; every credential gets `limit` per hour.
    pub(crate) fn new(limit: u32) -> Self {
        RateBook {
            limit,
            windows: HashMap::new(),
        }
    }

    /// The window of a (valid) client id, created on first use.
    fn window(&mut self, client_id: &str, now: DateTime<Utc>) -> &mut RateWindow {
        let limit = self.limit;
        // Keys are only ever valid client ids, so the map stays as small as the credential list.
        self.windows
            .entry(client_id.to_string())
            .or_insert_with(|| RateWindow::new(limit, now))
    }

    /// Spends one request of `client_id`'s budget; false when it is gone.
    pub(crate) fn try_spend(&mut self, client_id: &str, now: DateTime<Utc>) -> bool {
        self.window(client_id, now).try_spend(now)
    }

    /// (limit, remaining, seconds until reset) of `client_id`'s budget.
    pub(crate) fn snapshot(&mut self, client_id: &str, now: DateTime<Utc>) -> (u32, u32, i64) {
        self.window(client_id, now).snapshot(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_are_per_client() {
        let now = Utc::now();
        let mut book = RateBook::new(2);
        assert!(book.try_spend("a", now));
        assert!(book.try_spend("a", now));
        assert!(!book.try_spend("a", now));
        assert!(book.try_spend("b", now));
        assert_eq!(book.snapshot("b", now).1, 1);
        assert_eq!(book.snapshot("a", now).1, 0);
        let later = now + TimeDelta::seconds(WINDOW_SECS);
        assert!(book.try_spend("a", later));
    }

    #[test]
    fn huge_limits_do_not_overflow() {
        let now = Utc::now();
        let mut w = RateWindow::new(u32::MAX, now);
        assert!(w.try_spend(now));
        assert_eq!(w.snapshot(now).1, u32::MAX - 1);
    }
}
