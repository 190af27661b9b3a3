//! Signals (issue 17): every threshold and window, on an injected clock, in UTC.

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use mfadesk::api::{Event, User};
use mfadesk::ops::signals::{
    SignalName, device_enrolled_at, push_refusal, shared_caller_check, signals_in,
};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 5, 12, 0, 0).unwrap()
}

fn ev(id: u32, type_id: i64, ago: TimeDelta) -> Event {
    Event {
        id: id.to_string(),
        created_at: Some(now() - ago),
        event_type_id: type_id,
        user_id: Some(7),
        ..Event::default()
    }
}

fn mins(n: i64) -> TimeDelta {
    TimeDelta::minutes(n)
}

fn active() -> User {
    User {
        id: 7,
        status: Some(1),
        ..User::default()
    }
}

fn names(events: &[Event]) -> Vec<SignalName> {
    signals_in(&active(), events, now(), &Utc)
        .into_iter()
        .map(|s| s.name)
        .collect()
}

fn summary(events: &[Event], name: SignalName) -> Option<String> {
    signals_in(&active(), events, now(), &Utc)
        .into_iter()
        .find(|s| s.name == name)
        .map(|s| s.summary)
}

#[test]
fn no_events_no_signals() {
    assert!(names(&[]).is_empty());
    // A lone sign-in, a verify and a trigger are not signs of anything.
    let quiet = [ev(1, 5, mins(5)), ev(2, 528, mins(4)), ev(3, 539, mins(3))];
    assert!(names(&quiet).is_empty());
}

#[test]
fn push_bombing_three_within_ten_minutes() {
    let two = [ev(1, 950, mins(2)), ev(2, 950, mins(5))];
    assert!(names(&two).is_empty());
    let three = [
        ev(1, 950, mins(2)),
        ev(2, 950, mins(5)),
        ev(3, 950, mins(13)),
    ];
    // 13 min ago is outside 10 min of the newest (2 min ago): still only two in a burst.
    assert!(names(&three).is_empty());
    let burst = [
        ev(1, 950, mins(2)),
        ev(2, 950, mins(5)),
        ev(3, 950, mins(11)),
    ];
    assert_eq!(names(&burst), vec![SignalName::PushBombing]);
    assert_eq!(
        summary(&burst, SignalName::PushBombing).unwrap(),
        "⚠ 3 denied pushes in the last hour (last 11:58)"
    );
    assert_eq!(
        push_refusal(&burst, now()).unwrap(),
        "Push not offered: 3 denied pushes in the last hour. Check with a code."
    );
}

#[test]
fn push_bombing_five_within_the_hour() {
    let spread: Vec<Event> = (0..4)
        .map(|i| ev(i, 950, mins(5 + i as i64 * 14)))
        .collect();
    assert!(names(&spread).is_empty());
    let five: Vec<Event> = (0..5)
        .map(|i| ev(i, 950, mins(5 + i as i64 * 13)))
        .collect();
    assert_eq!(names(&five), vec![SignalName::PushBombing]);
    // An hour and more ago does not count.
    let old: Vec<Event> = (0..5).map(|i| ev(i, 950, mins(61 + i as i64))).collect();
    assert!(names(&old).is_empty());
    assert!(push_refusal(&old, now()).is_none());
}

#[test]
fn otp_failures_four_within_fifteen_minutes() {
    let three = [
        ev(1, 1002, mins(1)),
        ev(2, 1002, mins(5)),
        ev(3, 1002, mins(9)),
    ];
    assert!(names(&three).is_empty());
    let four = [
        ev(1, 1002, mins(1)),
        ev(2, 1002, mins(5)),
        ev(3, 1002, mins(9)),
        ev(4, 1002, mins(16)),
    ];
    assert_eq!(names(&four), vec![SignalName::OtpFailures]);
    assert_eq!(
        summary(&four, SignalName::OtpFailures).unwrap(),
        "⚠ 4 failed MFA challenges in 15 min"
    );
    let spread = [
        ev(1, 1002, mins(1)),
        ev(2, 1002, mins(5)),
        ev(3, 1002, mins(9)),
        ev(4, 1002, mins(17)),
    ];
    assert!(names(&spread).is_empty());
}

#[test]
fn failed_logins_in_24_hours_with_addresses_and_risk() {
    let e = |id, ip: &str, risk, ago| {
        let mut x = ev(id, 6, ago);
        x.ipaddr = Some(ip.to_owned());
        x.risk_score = Some(risk);
        x
    };
    let two = [
        e(1, "203.0.113.9", 80, mins(10)),
        e(2, "203.0.113.9", 91, mins(20)),
    ];
    assert!(names(&two).is_empty());
    let three = [
        e(1, "203.0.113.9", 80, mins(10)),
        e(2, "198.51.100.7", 91, mins(20)),
        e(3, "203.0.113.9", 40, TimeDelta::hours(23)),
    ];
    assert_eq!(
        summary(&three, SignalName::FailedLogins).unwrap(),
        "⚠ 3 failed sign-ins in 24 h from 203.0.113.9, 198.51.100.7 (highest risk score 91)"
    );
    let stale = [
        e(1, "203.0.113.9", 80, mins(10)),
        e(2, "198.51.100.7", 91, mins(20)),
        e(3, "203.0.113.9", 40, TimeDelta::hours(25)),
    ];
    assert!(names(&stale).is_empty());
}

#[test]
fn phone_changed_within_fourteen_days() {
    for t in [1244, 1245, 1604] {
        let e = [ev(1, t, TimeDelta::days(1))];
        assert_eq!(
            summary(&e, SignalName::PhoneChanged).unwrap(),
            "Phone number changed yesterday 12:00"
        );
    }
    let inside = [ev(1, 1245, TimeDelta::days(14) - mins(1))];
    assert_eq!(names(&inside), vec![SignalName::PhoneChanged]);
    let outside = [ev(1, 1245, TimeDelta::days(14) + mins(1))];
    assert!(names(&outside).is_empty());
}

#[test]
fn device_changed_within_fourteen_days_names_the_actor() {
    let mut api = ev(1, 540, mins(30));
    api.client_id = Some("desk".into());
    api.actor_system = Some("API".into());
    assert_eq!(
        summary(&[api.clone()], SignalName::DeviceChanged).unwrap(),
        "Device added today 11:30 by API"
    );
    let mut admin = ev(2, 24, mins(10));
    admin.actor_user_id = Some(99);
    admin.actor_user_name = Some("Ada Admin".into());
    assert_eq!(
        summary(&[api, admin], SignalName::DeviceChanged).unwrap(),
        "Device removed today 11:50 by Ada Admin"
    );
    let mut own = ev(3, 1600, TimeDelta::days(3));
    own.actor_user_id = Some(7);
    assert_eq!(
        summary(&[own], SignalName::DeviceChanged).unwrap(),
        "Device removed Wed 2 Dec 12:00 by the user"
    );
    assert!(names(&[ev(4, 22, TimeDelta::days(15))]).is_empty());
}

#[test]
fn temp_token_live_for_72_hours_unless_revoked() {
    let issued = [ev(1, 1100, TimeDelta::hours(2))];
    assert_eq!(
        summary(&issued, SignalName::TempTokenLive).unwrap(),
        "Temporary MFA token issued today 10:00, may still be valid"
    );
    assert_eq!(
        names(&[ev(1, 1100, TimeDelta::hours(71))]),
        vec![SignalName::TempTokenLive]
    );
    assert!(names(&[ev(1, 1100, TimeDelta::hours(73))]).is_empty());
    let revoked = [
        ev(1, 1100, TimeDelta::hours(2)),
        ev(2, 1101, TimeDelta::hours(1)),
    ];
    assert!(names(&revoked).is_empty());
    // A token issued after a revocation is live again.
    let reissued = [
        ev(1, 1101, TimeDelta::hours(2)),
        ev(2, 1100, TimeDelta::hours(1)),
    ];
    assert_eq!(names(&reissued), vec![SignalName::TempTokenLive]);
}

#[test]
fn locked_user_with_the_sign_ins_that_locked_them() {
    let user = User {
        id: 7,
        status: Some(3),
        locked_until: Some(now() + mins(20)),
        ..User::default()
    };
    let mut events: Vec<Event> = (0..5).map(|i| ev(i, 6, mins(15 - i as i64))).collect();
    events.push(ev(9, 19, mins(10)));
    let s = signals_in(&user, &events, now(), &Utc);
    let locked = s.iter().find(|s| s.name == SignalName::Locked).unwrap();
    assert_eq!(locked.summary, "Locked until 12:20 after 5 failed sign-ins");
    // A lock that has ended is no signal.
    let ended = User {
        locked_until: Some(now() - mins(1)),
        ..user.clone()
    };
    assert!(
        signals_in(&ended, &[], now(), &Utc)
            .iter()
            .all(|s| s.name != SignalName::Locked)
    );
    // Newest first: the lock (10 min ago) before the failed sign-ins' last (11 min ago).
    let order: Vec<SignalName> = s.iter().map(|s| s.name).collect();
    assert_eq!(order, vec![SignalName::Locked, SignalName::FailedLogins]);
}

#[test]
fn enrollment_times_and_the_shared_caller_check() {
    let mut a = ev(1, 540, TimeDelta::hours(30));
    a.otp_device_id = Some("11".into());
    let mut b = ev(2, 22, TimeDelta::hours(2));
    b.otp_device_id = Some("11".into());
    let mut c = ev(3, 22, TimeDelta::days(3));
    c.otp_device_id = Some("12".into());
    let times = device_enrolled_at(&[a, b, c]);
    assert_eq!(
        times,
        vec![
            ("11".to_owned(), now() - TimeDelta::hours(2)),
            ("12".to_owned(), now() - TimeDelta::days(3))
        ]
    );
    let mut verify = ev(5, 528, mins(4));
    verify.client_id = Some("desk".into());
    let events = [verify];
    assert!(shared_caller_check(&events, 7, "desk", 10, now()).is_some());
    assert!(shared_caller_check(&events, 7, "other", 10, now()).is_none());
    assert!(shared_caller_check(&events, 7, "desk", 3, now()).is_none());
}
