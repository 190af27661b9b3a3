//! Two lanes, one budget. An agent's calls (the interactive lane) go straight to the client and
//! are never queued; background jobs (the coverage scan, a bulk apply) take a permit from a
//! [`Lane`] before each call and report every answer's `X-RateLimit-*` figures back to it.
//!
//! The lane spends at most `share` of the hourly limit, never takes `Remaining` below the
//! reserve, spreads its calls evenly over the hour (a GCRA limiter from `governor`), and after a
//! 429 waits until the reset. The arithmetic ([`Pacer`]) runs on an [`AppClock`], real or
//! manual, so tests drive an hour in microseconds.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use governor::clock::Clock;
use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};

use crate::api::{ApiError, Client, ErrorKind, RateLimit};

/// The length of a rate-limit window.
pub const WINDOW: Duration = Duration::from_secs(3600);

/// The default share of the hour a background job may spend.
pub const DEFAULT_SHARE: f64 = 0.5;

/// The default reserve: this fraction of the limit is never spent by a background job.
pub const DEFAULT_RESERVE_FRACTION: f64 = 0.2;

/// How long a lane waits before asking again while the first answer (the budget) is out.
const PROBE_WAIT: Duration = Duration::from_millis(50);

/// A bad lane setting.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LaneError {
    /// The share is not in (0, 1].
    #[error("the share must be more than 0 and at most 1 (got {0})")]
    Share(f64),
}

/// How much of the budget a background job may use.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LanePolicy {
    /// The fraction of the hourly limit the lane may spend, in (0, 1].
    pub share: f64,
    /// Calls never spent by the lane; None: 20 % of the limit.
    pub reserve: Option<u64>,
}

impl Default for LanePolicy {
    fn default() -> Self {
        LanePolicy {
            share: DEFAULT_SHARE,
            reserve: None,
        }
    }
}

impl LanePolicy {
    /// A checked policy.
    pub fn new(share: f64, reserve: Option<u64>) -> Result<LanePolicy, LaneError> {
        if !(share > 0.0 && share <= 1.0) {
            return Err(LaneError::Share(share));
        }
        Ok(LanePolicy { share, reserve })
    }

    /// The calls a window of `limit` allows the lane (at least one).
    pub fn allowance(&self, limit: u64) -> u64 {
        ((limit as f64 * self.share).floor() as u64).max(1)
    }

    /// The calls of a window of `limit` the lane leaves alone.
    pub fn reserve_calls(&self, limit: u64) -> u64 {
        self.reserve
            .unwrap_or_else(|| (limit as f64 * DEFAULT_RESERVE_FRACTION).ceil() as u64)
    }
}

/// The app clock: tokio's (so a paused test runtime moves it) or a manual one.
#[derive(Clone, Debug)]
pub enum AppClock {
    /// Real time since the clock was made.
    Real(tokio::time::Instant),
    /// Time that moves only when [`AppClock::advance`] says so (nanoseconds).
    Manual(Arc<AtomicU64>),
}

impl AppClock {
    /// The real clock.
    pub fn real() -> AppClock {
        AppClock::Real(tokio::time::Instant::now())
    }

    /// A manual clock at zero.
    pub fn manual() -> AppClock {
        AppClock::Manual(Arc::new(AtomicU64::new(0)))
    }

    /// Moves a manual clock forward (the real clock ignores this).
    pub fn advance(&self, by: Duration) {
        if let AppClock::Manual(n) = self {
            let by = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
            n.fetch_add(by, Ordering::SeqCst);
        }
    }

    /// Time since the clock's origin.
    pub fn elapsed(&self) -> Duration {
        match self {
            AppClock::Real(start) => start.elapsed(),
            AppClock::Manual(n) => Duration::from_nanos(n.load(Ordering::SeqCst)),
        }
    }
}

impl Clock for AppClock {
    type Instant = Duration;

    fn now(&self) -> Duration {
        self.elapsed()
    }
}

/// Why the lane holds a call back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitReason {
    /// Spreading calls evenly over the hour.
    Pace,
    /// The lane has spent its share of this window.
    Share,
    /// Another call would take `Remaining` below the reserve.
    Reserve,
    /// A 429 answered: waiting for the reset.
    RateLimited,
    /// The budget is not known yet: the first call is out.
    Probe,
}

/// The lane's answer to "may I call now?".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Call now (the call is counted).
    Go,
    /// Ask again at `until` (app clock).
    Wait {
        /// When to ask again.
        until: Duration,
        /// Why.
        reason: WaitReason,
    },
}

/// What the lane knows, for a progress line or the console's header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct LaneStatus {
    /// The hourly limit, once an answer told it.
    pub limit: Option<u64>,
    /// `Remaining` as last reported, less the lane's calls still out.
    pub remaining: Option<u64>,
    /// Calls the lane made in this window.
    pub spent: u64,
    /// Calls the lane may make in this window.
    pub allowance: Option<u64>,
    /// Calls the lane leaves alone.
    pub reserve: Option<u64>,
    /// Time until the window resets.
    pub reset_in: Option<Duration>,
    /// Time until a 429 pause ends.
    pub paused_for: Option<Duration>,
}

type Limiter = RateLimiter<NotKeyed, InMemoryState, AppClock, NoOpMiddleware<Duration>>;

/// The pacing arithmetic of a background lane, on an app clock.
pub struct Pacer {
    policy: LanePolicy,
    clock: AppClock,
    /// The even-spacing limiter for the current limit.
    limiter: Option<(u64, Limiter)>,
    limit: Option<u64>,
    /// `Remaining` from the last answer.
    remaining: Option<u64>,
    /// Calls granted and not yet answered.
    in_flight: u64,
    /// When the current window ends.
    reset_at: Option<Duration>,
    /// Calls granted in the current window.
    spent: u64,
    paused_until: Option<Duration>,
}

impl std::fmt::Debug for Pacer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pacer")
            .field("policy", &self.policy)
            .field("status", &self.status())
            .finish_non_exhaustive()
    }
}

impl Pacer {
    /// A pacer that knows nothing of the budget yet.
    pub fn new(policy: LanePolicy, clock: AppClock) -> Pacer {
        Pacer {
            policy,
            clock,
            limiter: None,
            limit: None,
            remaining: None,
            in_flight: 0,
            reset_at: None,
            spent: 0,
            paused_until: None,
        }
    }

    /// The policy.
    pub fn policy(&self) -> LanePolicy {
        self.policy
    }

    /// Starts a new window when the old one has ended.
    fn roll(&mut self, now: Duration) {
        if let Some(reset) = self.reset_at
            && now >= reset
        {
            self.spent = 0;
            self.remaining = self.limit;
            // Until an answer says otherwise, the next window is an hour.
            let mut next = reset;
            while next <= now {
                next += WINDOW;
            }
            self.reset_at = Some(next);
        }
    }

    /// The end of the current window, or an hour from now if unknown.
    fn window_end(&self, now: Duration) -> Duration {
        self.reset_at.unwrap_or(now + WINDOW)
    }

    /// May the lane call now? `Go` counts the call as spent and out.
    pub fn poll(&mut self) -> Decision {
        let now = self.clock.elapsed();
        if let Some(until) = self.paused_until {
            if now < until {
                return Decision::Wait {
                    until,
                    reason: WaitReason::RateLimited,
                };
            }
            self.paused_until = None;
        }
        self.roll(now);
        let Some(limit) = self.limit else {
            // The first answer tells the budget; until it comes, one call at a time.
            if self.in_flight > 0 {
                return Decision::Wait {
                    until: now + PROBE_WAIT,
                    reason: WaitReason::Probe,
                };
            }
            return self.grant();
        };
        if self.spent >= self.policy.allowance(limit) {
            return Decision::Wait {
                until: self.window_end(now),
                reason: WaitReason::Share,
            };
        }
        if let Some(remaining) = self.remaining {
            let after = remaining.saturating_sub(self.in_flight + 1);
            if remaining < self.in_flight + 1 || after < self.policy.reserve_calls(limit) {
                return Decision::Wait {
                    until: self.window_end(now),
                    reason: WaitReason::Reserve,
                };
            }
        }
        if let Some((_, limiter)) = &self.limiter
            && let Err(not_until) = limiter.check()
        {
            return Decision::Wait {
                until: not_until.earliest_possible(),
                reason: WaitReason::Pace,
            };
        }
        self.grant()
    }

    fn grant(&mut self) -> Decision {
        self.spent += 1;
        self.in_flight += 1;
        Decision::Go
    }

    /// A granted call was answered (or failed) with these rate-limit figures, if any.
    pub fn observe(&mut self, budget: Option<RateLimit>) {
        self.in_flight = self.in_flight.saturating_sub(1);
        let Some(budget) = budget else { return };
        let now = self.clock.elapsed();
        if let Some(limit) = budget.limit.filter(|l| *l > 0) {
            if self.limiter.as_ref().is_none_or(|(l, _)| *l != limit) {
                self.limiter = Some((limit, self.limiter_for(limit)));
            }
            self.limit = Some(limit);
        }
        if let Some(secs) = budget.reset_secs {
            let reset = now + Duration::from_secs(secs);
            // A reset further out than the one we knew (beyond rounding) is a new window.
            if let Some(old) = self.reset_at
                && reset > old + Duration::from_secs(2)
            {
                self.spent = self.in_flight;
                if let Some(limit) = self.limit {
                    self.limiter = Some((limit, self.limiter_for(limit)));
                }
            }
            self.reset_at = Some(reset);
        }
        if let Some(remaining) = budget.remaining {
            self.remaining = Some(remaining);
        }
    }

    /// A granted call was answered 429: pause until `retry_after_secs` (else the reset, else a
    /// minute) has passed.
    pub fn rate_limited(&mut self, retry_after_secs: Option<u64>) {
        self.in_flight = self.in_flight.saturating_sub(1);
        let now = self.clock.elapsed();
        let until = match retry_after_secs {
            Some(secs) => now + Duration::from_secs(secs),
            None => self
                .reset_at
                .filter(|r| *r > now)
                .unwrap_or(now + Duration::from_secs(60)),
        };
        self.paused_until = Some(self.paused_until.map_or(until, |p| p.max(until)));
        self.remaining = Some(0);
    }

    /// An even spacing of the lane's allowance over the hour, one call at a time.
    fn limiter_for(&self, limit: u64) -> Limiter {
        let allowance = self.policy.allowance(limit);
        let period = WINDOW / u32::try_from(allowance).unwrap_or(u32::MAX);
        let quota = Quota::with_period(period.max(Duration::from_nanos(1)))
            .unwrap_or_else(|| Quota::per_hour(NonZeroU32::MIN))
            .allow_burst(NonZeroU32::MIN);
        RateLimiter::direct_with_clock(quota, self.clock.clone())
    }

    /// What the lane knows now.
    pub fn status(&self) -> LaneStatus {
        let now = self.clock.elapsed();
        LaneStatus {
            limit: self.limit,
            remaining: self.remaining.map(|r| r.saturating_sub(self.in_flight)),
            spent: self.spent,
            allowance: self.limit.map(|l| self.policy.allowance(l)),
            reserve: self.limit.map(|l| self.policy.reserve_calls(l)),
            reset_in: self.reset_at.map(|r| r.saturating_sub(now)),
            paused_for: self
                .paused_until
                .filter(|p| *p > now)
                .map(|p| p.saturating_sub(now)),
        }
    }
}

/// A background lane shared by the tasks of one job; cheap to clone.
#[derive(Clone, Debug)]
pub struct Lane {
    pacer: Arc<Mutex<Pacer>>,
    clock: AppClock,
}

impl Lane {
    /// A lane on the real clock.
    pub fn new(policy: LanePolicy) -> Lane {
        Lane::with_clock(policy, AppClock::real())
    }

    /// A lane on the given clock.
    pub fn with_clock(policy: LanePolicy, clock: AppClock) -> Lane {
        Lane {
            pacer: Arc::new(Mutex::new(Pacer::new(policy, clock.clone()))),
            clock,
        }
    }

    fn pacer(&self) -> std::sync::MutexGuard<'_, Pacer> {
        // The pacer holds plain numbers: a panic elsewhere cannot leave them half-written.
        self.pacer.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits until the lane may make one call; every permit must be followed by
    /// [`Lane::observe`] or [`Lane::rate_limited`].
    pub async fn acquire(&self) {
        loop {
            let decision = self.pacer().poll();
            match decision {
                Decision::Go => return,
                Decision::Wait { until, .. } => {
                    let wait = match self.clock {
                        // A manual clock moves when its owner says: look again shortly.
                        AppClock::Manual(_) => Duration::from_millis(1),
                        // Never sleep blind for long: an answer may change the budget meanwhile.
                        AppClock::Real(_) => until
                            .saturating_sub(self.clock.elapsed())
                            .clamp(Duration::from_millis(1), Duration::from_secs(5)),
                    };
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    /// Tells the lane a call was answered with these figures (the client's latest budget).
    pub fn observe(&self, budget: Option<RateLimit>) {
        self.pacer().observe(budget);
    }

    /// Tells the lane a call was answered 429.
    pub fn rate_limited(&self, retry_after_secs: Option<u64>) {
        self.pacer().rate_limited(retry_after_secs);
    }

    /// What the lane knows now.
    pub fn status(&self) -> LaneStatus {
        self.pacer().status()
    }

    /// Runs one API call of a background job through the lane: waits for a permit, tells the
    /// lane the client's budget after the answer, and on a 429 pauses the lane and tries again
    /// (a 429 spends nothing).
    pub async fn paced<T, F, Fut>(&self, client: &Client, mut call: F) -> Result<T, ApiError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, ApiError>>,
    {
        loop {
            self.acquire().await;
            let result = call().await;
            if let Err(ApiError {
                kind: ErrorKind::RateLimited { reset_secs },
                ..
            }) = &result
            {
                tracing::info!(reset_secs = ?reset_secs, "background lane paused by a 429");
                self.rate_limited(*reset_secs);
                continue;
            }
            self.observe(client.rate_limit());
            return result;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget(limit: u64, remaining: u64, reset: u64) -> Option<RateLimit> {
        Some(RateLimit {
            limit: Some(limit),
            remaining: Some(remaining),
            reset_secs: Some(reset),
        })
    }

    /// A tenant's hourly window on the same clock, spending one call per grant.
    struct Tenant {
        limit: u64,
        used: u64,
        start: Duration,
    }

    impl Tenant {
        fn answer(&mut self, now: Duration) -> Option<RateLimit> {
            if now >= self.start + WINDOW {
                self.start = now;
                self.used = 0;
            }
            self.used += 1;
            let reset = (self.start + WINDOW - now).as_secs();
            budget(self.limit, self.limit - self.used, reset)
        }
    }

    /// Runs the pacer for `span` on a manual clock, calling whenever it allows; returns the
    /// calls made and the lowest Remaining seen.
    fn run(policy: LanePolicy, limit: u64, span: Duration, agent_calls_per_min: u64) -> (u64, u64) {
        let clock = AppClock::manual();
        let mut p = Pacer::new(policy, clock.clone());
        let mut t = Tenant {
            limit,
            used: 0,
            start: Duration::ZERO,
        };
        let (mut calls, mut lowest) = (0, limit);
        let mut next_agent = Duration::from_secs(60);
        while clock.elapsed() < span {
            match p.poll() {
                Decision::Go => {
                    calls += 1;
                    let b = t.answer(clock.elapsed());
                    lowest = lowest.min(b.and_then(|b| b.remaining).unwrap_or(limit));
                    p.observe(b);
                }
                Decision::Wait { until, .. } => {
                    let step = until
                        .saturating_sub(clock.elapsed())
                        .max(Duration::from_millis(1));
                    clock.advance(
                        step.min(
                            next_agent
                                .saturating_sub(clock.elapsed())
                                .max(Duration::from_millis(1)),
                        ),
                    );
                }
            }
            if clock.elapsed() >= next_agent {
                t.used += agent_calls_per_min;
                next_agent += Duration::from_secs(60);
            }
        }
        (calls, lowest)
    }

    #[test]
    fn spends_at_most_the_share_of_an_hour() {
        let (calls, lowest) = run(
            LanePolicy::default(),
            600,
            WINDOW - Duration::from_secs(1),
            0,
        );
        // The first call is spent before the limit is known; then 300 fit.
        assert!(calls <= 300, "{calls}");
        assert!(calls >= 295, "{calls}");
        assert!(lowest >= 300, "{lowest}");
    }

    #[test]
    fn spreads_calls_evenly() {
        let clock = AppClock::manual();
        let mut p = Pacer::new(LanePolicy::default(), clock.clone());
        assert_eq!(p.poll(), Decision::Go);
        p.observe(budget(600, 599, 3600));
        assert_eq!(p.poll(), Decision::Go);
        // 300 calls an hour: one every 12 s.
        match p.poll() {
            Decision::Wait { until, reason } => {
                assert_eq!(reason, WaitReason::Pace);
                assert_eq!(until, Duration::from_secs(12));
            }
            d => panic!("{d:?}"),
        }
        clock.advance(Duration::from_secs(12));
        assert_eq!(p.poll(), Decision::Go);
    }

    #[test]
    fn never_takes_remaining_below_the_reserve() {
        // Agents spend 9 calls a minute: 540 of 600 an hour. The lane must stop at 120 left.
        let (calls, lowest) = run(
            LanePolicy::default(),
            600,
            WINDOW - Duration::from_secs(1),
            9,
        );
        assert!(lowest >= 120 - 9, "lowest {lowest}");
        assert!(calls < 300, "{calls}");
        // An explicit reserve is honoured too.
        let clock = AppClock::manual();
        let mut p = Pacer::new(LanePolicy::new(1.0, Some(50)).unwrap(), clock.clone());
        assert_eq!(p.poll(), Decision::Go);
        p.observe(budget(1000, 50, 100));
        match p.poll() {
            Decision::Wait { until, reason } => {
                assert_eq!(reason, WaitReason::Reserve);
                assert_eq!(until, Duration::from_secs(100));
            }
            d => panic!("{d:?}"),
        }
        // After the reset the window is fresh again.
        clock.advance(Duration::from_secs(100));
        assert_eq!(p.poll(), Decision::Go);
    }

    #[test]
    fn the_share_comes_back_after_the_reset() {
        let clock = AppClock::manual();
        let mut p = Pacer::new(LanePolicy::new(0.01, Some(0)).unwrap(), clock.clone());
        assert_eq!(p.poll(), Decision::Go);
        p.observe(budget(100, 99, 30));
        // Allowance 1 per window, already spent.
        assert!(matches!(
            p.poll(),
            Decision::Wait {
                reason: WaitReason::Share,
                until
            } if until == Duration::from_secs(30)
        ));
        clock.advance(Duration::from_secs(30));
        assert_eq!(p.poll(), Decision::Go);
        p.observe(budget(100, 98, 3570));
        assert!(matches!(p.poll(), Decision::Wait { .. }));
        // An answer whose reset lies further out than the known one is a new window (the
        // tenant's clock moved): the count restarts.
        p.observe(budget(100, 100, 7000));
        assert_eq!(p.status().spent, 0);
        assert_eq!(p.poll(), Decision::Go);
    }

    #[test]
    fn a_429_pauses_until_the_reset() {
        let clock = AppClock::manual();
        let mut p = Pacer::new(LanePolicy::new(1.0, Some(0)).unwrap(), clock.clone());
        assert_eq!(p.poll(), Decision::Go);
        p.observe(budget(1_000_000, 999_999, 600));
        assert_eq!(p.poll(), Decision::Go);
        p.rate_limited(None);
        assert!(matches!(
            p.poll(),
            Decision::Wait { reason: WaitReason::RateLimited, until } if until == Duration::from_secs(600)
        ));
        clock.advance(Duration::from_secs(599));
        assert!(matches!(p.poll(), Decision::Wait { .. }));
        clock.advance(Duration::from_secs(1));
        assert_eq!(p.poll(), Decision::Go);
        // Retry-After wins over the reset.
        p.rate_limited(Some(7));
        assert!(matches!(
            p.poll(),
            Decision::Wait { reason: WaitReason::RateLimited, until } if until == Duration::from_secs(607)
        ));
    }

    #[test]
    fn the_first_call_probes_alone() {
        let mut p = Pacer::new(LanePolicy::default(), AppClock::manual());
        assert_eq!(p.poll(), Decision::Go);
        assert!(matches!(
            p.poll(),
            Decision::Wait {
                reason: WaitReason::Probe,
                ..
            }
        ));
    }

    #[test]
    fn bad_shares_are_refused() {
        assert!(LanePolicy::new(0.0, None).is_err());
        assert!(LanePolicy::new(1.5, None).is_err());
        assert!(LanePolicy::new(f64::NAN, None).is_err());
        assert_eq!(LanePolicy::default().reserve_calls(5000), 1000);
        assert_eq!(LanePolicy::default().allowance(5000), 2500);
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_through_paced_waits_for_the_reset_then_tries_again() {
        use crate::api::{ClientConfig, Credentials};
        let client = Client::new(ClientConfig::new(
            "http://127.0.0.1:9",
            Credentials {
                client_id: "x".into(),
                client_secret: "y".into(),
            },
        ))
        .unwrap();
        let lane = Lane::new(LanePolicy::new(1.0, Some(0)).unwrap());
        let start = tokio::time::Instant::now();
        let mut calls = 0;
        let answer = lane
            .paced(&client, || {
                calls += 1;
                let first = calls == 1;
                async move {
                    if first {
                        Err(ApiError::new(
                            ErrorKind::RateLimited {
                                reset_secs: Some(30),
                            },
                            "Rate limit exceeded",
                        ))
                    } else {
                        Ok(7)
                    }
                }
            })
            .await;
        assert_eq!(answer.unwrap(), 7);
        assert_eq!(calls, 2);
        assert!(start.elapsed() >= Duration::from_secs(30));
    }

    #[tokio::test(start_paused = true)]
    async fn acquire_waits_on_the_app_clock() {
        let lane = Lane::new(LanePolicy::default());
        lane.acquire().await;
        lane.observe(budget(3600, 3599, 3600));
        lane.acquire().await;
        let before = tokio::time::Instant::now();
        // 1800 calls an hour: the next permit is 2 s later (paused time moves on its own).
        lane.acquire().await;
        assert_eq!(before.elapsed().as_secs(), 2);
    }
}
