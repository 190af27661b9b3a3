//! When and how long to wait before retrying an idempotent GET.

use std::time::Duration;

use super::error::{ApiError, ErrorKind};

/// Retry settings for idempotent GETs; POST and DELETE are never retried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Total attempts per GET, the first included (default 3; 1 disables retries).
    pub max_attempts: u32,
    /// The first back-off delay, doubled per attempt (default 200 ms).
    pub base_delay: Duration,
    /// The longest the client waits between attempts (default 5 s); a server asking for longer
    /// gets the error back at once instead.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// How long to wait before attempt `attempt + 1` after `err` on attempt `attempt` (1-based),
    /// or None when the call should not be retried.
    pub fn delay_after(&self, attempt: u32, err: &ApiError) -> Option<Duration> {
        if attempt >= self.max_attempts {
            return None;
        }
        match err.kind {
            ErrorKind::RateLimited {
                reset_secs: Some(secs),
            } => {
                // Honour the server's wait; if it is beyond the cap (the hourly budget is spent),
                // retrying sooner would only fail again, so hand the error back now.
                let wait = Duration::from_secs(secs);
                (wait <= self.max_delay).then_some(wait)
            }
            ErrorKind::RateLimited { reset_secs: None }
            | ErrorKind::Network
            | ErrorKind::Server => Some(self.backoff(attempt)),
            _ => None,
        }
    }

    /// Jittered exponential back-off: a random delay between half and all of
    /// `min(max_delay, base_delay * 2^(attempt-1))`, so clients that failed together spread out.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let shift = attempt.saturating_sub(1).min(20);
        let full = self
            .base_delay
            .saturating_mul(1u32 << shift)
            .min(self.max_delay);
        let full_ms = u64::try_from(full.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(rand::random_range(full_ms / 2..=full_ms))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(kind: ErrorKind) -> ApiError {
        ApiError::new(kind, "x")
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = RetryPolicy::default();
        for _ in 0..50 {
            let d1 = p.backoff(1);
            assert!(d1 >= Duration::from_millis(100) && d1 <= Duration::from_millis(200));
            let d3 = p.backoff(3);
            assert!(d3 >= Duration::from_millis(400) && d3 <= Duration::from_millis(800));
            assert!(p.backoff(30) <= Duration::from_secs(5));
        }
    }

    #[test]
    fn only_transient_errors_retry() {
        let p = RetryPolicy::default();
        assert!(p.delay_after(1, &err(ErrorKind::Server)).is_some());
        assert!(p.delay_after(1, &err(ErrorKind::Network)).is_some());
        assert!(p.delay_after(3, &err(ErrorKind::Server)).is_none());
        assert!(p.delay_after(1, &err(ErrorKind::Timeout)).is_none());
        assert!(p.delay_after(1, &err(ErrorKind::NotFound)).is_none());
        let soon = ErrorKind::RateLimited {
            reset_secs: Some(1),
        };
        assert_eq!(p.delay_after(1, &err(soon)), Some(Duration::from_secs(1)));
        let later = ErrorKind::RateLimited {
            reset_secs: Some(3600),
        };
        assert_eq!(p.delay_after(1, &err(later)), None);
    }
}
