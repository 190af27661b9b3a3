//! Signs of an attack, computed once from a user and their recent events (spec §9): both
//! faces show them, risky changes repeat them and their audit lines name them.
//!
//! Rules (`now` is the app clock; every window ends at `now`):
//! - `push_bombing`: 3 or more denied pushes (950) within 10 minutes, or 5 within the hour.
//! - `otp_failures`: 4 or more failed MFA challenges (1002) within 15 minutes, in the last 24 h.
//! - `failed_logins`: 3 or more failed sign-ins (6) in 24 h.
//! - `phone_changed`: 1244, 1245 or 1604 within 14 days.
//! - `device_changed`: 22, 24, 540 or 1600 within 14 days (the newest one).
//! - `temp_token_live`: 1100 within 72 h and no 1101 after it.
//! - `locked`: the user's status is locked (3) and the lock has not ended.

use chrono::{DateTime, Local, TimeDelta, TimeZone, Utc};
use serde::Serialize;

use crate::api::{Event, User};

/// Denied pushes within [`PUSH_BURST_WINDOW`] that make push bombing.
pub const PUSH_BURST: usize = 3;
/// The short push-bombing window.
pub const PUSH_BURST_WINDOW: TimeDelta = TimeDelta::minutes(10);
/// Denied pushes within the hour that make push bombing.
pub const PUSH_HOURLY: usize = 5;
/// Failed MFA challenges within [`OTP_FAILURE_WINDOW`] that make the OTP signal.
pub const OTP_FAILURES: usize = 4;
/// The OTP failure window.
pub const OTP_FAILURE_WINDOW: TimeDelta = TimeDelta::minutes(15);
/// Failed sign-ins in 24 h that make the failed-login signal.
pub const FAILED_LOGINS: usize = 3;
/// How far back phone and device changes count (and how much history a user opens with).
pub const CHANGE_WINDOW: TimeDelta = TimeDelta::days(14);
/// How long a temporary token may live (its largest lifetime).
pub const TEMP_TOKEN_WINDOW: TimeDelta = TimeDelta::hours(72);

/// Event types (spec §9).
pub mod types {
    /// A sign-in.
    pub const LOGIN: i64 = 5;
    /// A failed sign-in.
    pub const LOGIN_FAILED: i64 = 6;
    /// Locked after failed sign-ins.
    pub const LOCKED: i64 = 19;
    /// A device added (became active).
    pub const DEVICE_ADDED: i64 = 22;
    /// A device removed.
    pub const DEVICE_REMOVED: i64 = 24;
    /// A verify through the API.
    pub const API_VERIFY: i64 = 528;
    /// A device enrolled through the API.
    pub const API_DEVICE_ADDED: i64 = 540;
    /// A push denied on the phone.
    pub const PUSH_DENIED: i64 = 950;
    /// A failed MFA challenge at sign-in.
    pub const CHALLENGE_FAILED: i64 = 1002;
    /// A temporary MFA token issued.
    pub const TEMP_TOKEN: i64 = 1100;
    /// A temporary MFA token revoked.
    pub const TEMP_TOKEN_REVOKED: i64 = 1101;
    /// The phone on file changed.
    pub const PHONE_CHANGED: [i64; 3] = [1244, 1245, 1604];
    /// The user deleted a device from their profile.
    pub const PROFILE_DEVICE_DELETED: i64 = 1600;
}

/// The stable names of the signals.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SignalName {
    /// Pushes are being denied: someone with the password is push-bombing.
    PushBombing,
    /// Failed MFA challenges in a burst.
    OtpFailures,
    /// Failed sign-ins in the last day.
    FailedLogins,
    /// The phone number on file changed lately.
    PhoneChanged,
    /// A device was added or removed lately.
    DeviceChanged,
    /// A temporary token may still be valid.
    TempTokenLive,
    /// The account is locked.
    Locked,
}

impl SignalName {
    /// The stable name (`push_bombing`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            SignalName::PushBombing => "push_bombing",
            SignalName::OtpFailures => "otp_failures",
            SignalName::FailedLogins => "failed_logins",
            SignalName::PhoneChanged => "phone_changed",
            SignalName::DeviceChanged => "device_changed",
            SignalName::TempTokenLive => "temp_token_live",
            SignalName::Locked => "locked",
        }
    }

    /// True for the signs of an attack in progress (shown with `⚠`).
    pub fn is_warning(self) -> bool {
        matches!(
            self,
            SignalName::PushBombing | SignalName::OtpFailures | SignalName::FailedLogins
        )
    }
}

/// One signal: data, never a string built in a view.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Signal {
    /// The stable name.
    pub name: SignalName,
    /// The line shown to the agent (raw server text inside is sanitised by the faces).
    pub summary: String,
    /// When it last happened.
    pub at: DateTime<Utc>,
}

/// The events of some types at or after `from`, newest first.
fn recent<'a>(
    events: &'a [Event],
    types: &'a [i64],
    from: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Vec<(&'a Event, DateTime<Utc>)> {
    let mut v: Vec<(&Event, DateTime<Utc>)> = events
        .iter()
        .filter(|e| types.contains(&e.event_type_id))
        .filter_map(|e| e.created_at.map(|at| (e, at)))
        .filter(|(_, at)| *at >= from && *at <= now)
        .collect();
    v.sort_by_key(|(_, at)| std::cmp::Reverse(*at));
    v
}

/// The most events (times newest first) falling in any window of `width`, and the newest of them.
fn densest(times: &[DateTime<Utc>], width: TimeDelta) -> (usize, Option<DateTime<Utc>>) {
    let mut best = (0, None);
    for (i, newest) in times.iter().enumerate() {
        let n = times[i..]
            .iter()
            .take_while(|t| *newest - **t <= width)
            .count();
        if n > best.0 {
            best = (n, Some(*newest));
        }
    }
    best
}

/// Push bombing now: the denied pushes of the last hour and the last one, when the rule holds.
pub fn push_bombing(events: &[Event], now: DateTime<Utc>) -> Option<(usize, DateTime<Utc>)> {
    let hour = recent(
        events,
        &[types::PUSH_DENIED],
        now - TimeDelta::hours(1),
        now,
    );
    let times: Vec<DateTime<Utc>> = hour.iter().map(|(_, at)| *at).collect();
    let (burst, _) = densest(&times, PUSH_BURST_WINDOW);
    let last = *times.first()?;
    (times.len() >= PUSH_HOURLY || burst >= PUSH_BURST).then_some((times.len(), last))
}

/// Why the caller check may not offer a push now, if it may not (push bombing holds).
pub fn push_refusal(events: &[Event], now: DateTime<Utc>) -> Option<String> {
    push_bombing(events, now).map(|(n, _)| {
        format!("Push not offered: {n} denied pushes in the last hour. Check with a code.")
    })
}

/// `HH:MM` in the zone.
fn hhmm<Tz: TimeZone>(at: DateTime<Utc>, tz: &Tz) -> String
where
    Tz::Offset: std::fmt::Display,
{
    at.with_timezone(tz).format("%H:%M").to_string()
}

/// A moment in words relative to `now`: `today 14:05`, `yesterday 09:10`, `Mon 30 Nov 14:05`.
pub fn when<Tz: TimeZone>(at: DateTime<Utc>, now: DateTime<Utc>, tz: &Tz) -> String
where
    Tz::Offset: std::fmt::Display,
{
    let day = at.with_timezone(tz).date_naive();
    let today = now.with_timezone(tz).date_naive();
    let time = hhmm(at, tz);
    if day == today {
        format!("today {time}")
    } else if today.pred_opt() == Some(day) {
        format!("yesterday {time}")
    } else {
        format!("{} {time}", at.with_timezone(tz).format("%a %-d %b"))
    }
}

/// The signals that hold for a user now, newest first, with times in local time.
pub fn signals(user: &User, events: &[Event], now: DateTime<Utc>) -> Vec<Signal> {
    signals_in(user, events, now, &Local)
}

/// The signals that hold for a user now, newest first, with times in the given zone.
pub fn signals_in<Tz: TimeZone>(
    user: &User,
    events: &[Event],
    now: DateTime<Utc>,
    tz: &Tz,
) -> Vec<Signal>
where
    Tz::Offset: std::fmt::Display,
{
    let mut out = Vec::new();
    let mut push = |name: SignalName, summary: String, at: DateTime<Utc>| {
        out.push(Signal { name, summary, at });
    };
    if let Some((n, last)) = push_bombing(events, now) {
        push(
            SignalName::PushBombing,
            format!(
                "⚠ {n} denied pushes in the last hour (last {})",
                hhmm(last, tz)
            ),
            last,
        );
    }
    let day = now - TimeDelta::hours(24);
    let challenges: Vec<DateTime<Utc>> = recent(events, &[types::CHALLENGE_FAILED], day, now)
        .iter()
        .map(|(_, at)| *at)
        .collect();
    if let (n, Some(at)) = densest(&challenges, OTP_FAILURE_WINDOW)
        && n >= OTP_FAILURES
    {
        push(
            SignalName::OtpFailures,
            format!("⚠ {n} failed MFA challenges in 15 min"),
            at,
        );
    }
    let failed = recent(events, &[types::LOGIN_FAILED], day, now);
    if failed.len() >= FAILED_LOGINS {
        let mut ips: Vec<&str> = Vec::new();
        for (e, _) in &failed {
            if let Some(ip) = e.ipaddr.as_deref().filter(|ip| !ip.is_empty())
                && !ips.contains(&ip)
            {
                ips.push(ip);
            }
        }
        let mut from = String::new();
        if !ips.is_empty() {
            from = format!(" from {}", ips[..ips.len().min(3)].join(", "));
            if ips.len() > 3 {
                from.push_str(", …");
            }
        }
        let risk = failed
            .iter()
            .filter_map(|(e, _)| e.risk_score)
            .max()
            .map(|r| format!(" (highest risk score {r})"))
            .unwrap_or_default();
        push(
            SignalName::FailedLogins,
            format!("⚠ {} failed sign-ins in 24 h{from}{risk}", failed.len()),
            failed[0].1,
        );
    }
    let fortnight = now - CHANGE_WINDOW;
    if let Some((_, at)) = recent(events, &types::PHONE_CHANGED, fortnight, now).first() {
        push(
            SignalName::PhoneChanged,
            format!("Phone number changed {}", when(*at, now, tz)),
            *at,
        );
    }
    let device_types = [
        types::DEVICE_ADDED,
        types::DEVICE_REMOVED,
        types::API_DEVICE_ADDED,
        types::PROFILE_DEVICE_DELETED,
    ];
    if let Some((e, at)) = recent(events, &device_types, fortnight, now).first() {
        let what = if matches!(
            e.event_type_id,
            types::DEVICE_REMOVED | types::PROFILE_DEVICE_DELETED
        ) {
            "removed"
        } else {
            "added"
        };
        push(
            SignalName::DeviceChanged,
            format!("Device {what} {} by {}", when(*at, now, tz), e.actor()),
            *at,
        );
    }
    let tokens = recent(
        events,
        &[types::TEMP_TOKEN, types::TEMP_TOKEN_REVOKED],
        now - TEMP_TOKEN_WINDOW,
        now,
    );
    if let Some((e, at)) = tokens.first()
        && e.event_type_id == types::TEMP_TOKEN
    {
        push(
            SignalName::TempTokenLive,
            format!(
                "Temporary MFA token issued {}, may still be valid",
                when(*at, now, tz)
            ),
            *at,
        );
    }
    if user.status == Some(3) && user.locked_until.is_none_or(|until| until > now) {
        let lock = recent(events, &[types::LOCKED], fortnight, now)
            .first()
            .map(|(_, at)| *at);
        // The failed sign-ins that led to the lock: those of the day before it.
        let end = lock.unwrap_or(now);
        let n = recent(
            events,
            &[types::LOGIN_FAILED],
            end - TimeDelta::hours(24),
            end,
        )
        .len();
        let until = match user.locked_until {
            Some(t) => format!("Locked until {}", hhmm(t, tz)),
            None => "Locked until unlocked".to_owned(),
        };
        let summary = if n > 0 {
            format!("{until} after {n} failed sign-ins")
        } else {
            until
        };
        push(SignalName::Locked, summary, lock.unwrap_or(now));
    }
    out.sort_by_key(|s| std::cmp::Reverse(s.at));
    out
}

/// The stable names of some signals, for an audit line.
pub fn names(signals: &[Signal]) -> Vec<String> {
    signals.iter().map(|s| s.name.as_str().to_owned()).collect()
}

/// When each device was enrolled (its newest 22 or 540), by device id.
pub fn device_enrolled_at(events: &[Event]) -> Vec<(String, DateTime<Utc>)> {
    let mut out: Vec<(String, DateTime<Utc>)> = Vec::new();
    for e in events.iter().filter(|e| {
        matches!(
            e.event_type_id,
            types::DEVICE_ADDED | types::API_DEVICE_ADDED
        )
    }) {
        let (Some(id), Some(at)) = (e.otp_device_id.as_deref(), e.created_at) else {
            continue;
        };
        match out.iter_mut().find(|(d, _)| d == id) {
            Some((_, t)) if *t < at => *t = at,
            Some(_) => {}
            None => out.push((id.to_owned(), at)),
        }
    }
    out
}

/// A caller check another session made: an API verify (528) of this user by the same API
/// client within the last `minutes`, newest first.
pub fn shared_caller_check<'a>(
    events: &'a [Event],
    user_id: i64,
    client_id: &str,
    minutes: i64,
    now: DateTime<Utc>,
) -> Option<&'a Event> {
    recent(
        events,
        &[types::API_VERIFY],
        now - TimeDelta::minutes(minutes),
        now,
    )
    .into_iter()
    .map(|(e, _)| e)
    .find(|e| e.user_id.is_none_or(|u| u == user_id) && e.client_id.as_deref() == Some(client_id))
}
