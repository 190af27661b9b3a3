//! The open user's events in the console (issue 17): signals on the app clock, the Signals
//! block, the history view (`h`), and their snapshots at 80×24 and 120×40.

mod common;

use chrono::{DateTime, Duration, Utc};
use common::*;
use crossterm::event::KeyCode;
use mfadesk::api::{Event, EventBatch, EventTypes, RateLimit, User};
use mfadesk::app::App;
use mfadesk::ops::signals::SignalName;
use mfadesk::worker::{ApiRequest, ApiResponse};
use std::sync::Arc;

macro_rules! snap {
    ($name:literal, $app:expr) => {{
        let app: &App = &$app;
        insta::assert_snapshot!(concat!($name, "_80x24"), screen(app, 80, 24));
        insta::assert_snapshot!(concat!($name, "_120x40"), screen(app, 120, 40));
    }};
}

fn ev(id: u32, type_id: i64, at: DateTime<Utc>) -> Event {
    let mut e = Event {
        id: id.to_string(),
        created_at: Some(at),
        event_type_id: type_id,
        user_id: Some(kelly().id),
        user_name: Some("Kelly Slater".into()),
        ..Event::default()
    };
    e.fields.insert("id".into(), id.to_string());
    e.fields.insert("event_type_id".into(), type_id.to_string());
    e
}

fn push_denied(id: u32, ago: Duration) -> Event {
    let mut e = ev(id, 950, now() - ago);
    e.otp_device_id = Some("1003".into());
    e.otp_device_name = Some("Pixel".into());
    e.actor_user_id = Some(kelly().id);
    e
}

fn types() -> Arc<EventTypes> {
    Arc::new(EventTypes::new([
        (950, "OL_OTP_PUSH_REJECT".to_owned()),
        (6, "USER_FAILED_ONELOGIN_LOGIN".to_owned()),
        (1245, "USER_UPDATED_PHONE_NUMBER".to_owned()),
        (1100, "TEMP_OTP_TOKEN_GENERATED".to_owned()),
    ]))
}

/// Kelly open with these events; the type names as the tenant gives them.
fn app_with(user: User, events: Vec<Event>) -> App {
    let mut app = new_app();
    app.rate_limit = Some(RateLimit {
        limit: Some(5_000),
        remaining: Some(4_981),
        reset_secs: Some(1_800),
    });
    search_with(&mut app, vec![user]);
    for (id, req) in requests(&enter(&mut app)) {
        let response = match req {
            ApiRequest::GetDevices(_) => ApiResponse::Devices(Ok(all_devices())),
            ApiRequest::GetFactors(_) => ApiResponse::Factors(Ok(vec![sms_factor()])),
            ApiRequest::GetEvents { .. } => ApiResponse::Events(Ok(EventBatch {
                events: events.clone(),
                types: types(),
            })),
            other => panic!("unexpected {other:?}"),
        };
        answer(&mut app, id, response);
    }
    app
}

fn signal_names(app: &App) -> Vec<SignalName> {
    app.activity
        .as_ref()
        .unwrap()
        .signals
        .iter()
        .map(|s| s.name)
        .collect()
}

fn bombed() -> Vec<Event> {
    let mut failed = ev(10, 6, now() - Duration::minutes(12));
    failed.ipaddr = Some("185.220.101.4".into());
    failed.risk_score = Some(92);
    failed.risk_reasons = Some("New country\nTor exit node".into());
    failed
        .fields
        .insert("ipaddr".into(), "185.220.101.4".into());
    failed
        .fields
        .insert("risk_reasons".into(), "New country\nTor exit node".into());
    let mut f2 = failed.clone();
    f2.id = "11".into();
    f2.created_at = Some(now() - Duration::minutes(14));
    let mut f3 = failed.clone();
    f3.id = "12".into();
    f3.created_at = Some(now() - Duration::minutes(16));
    vec![
        push_denied(1, Duration::minutes(2)),
        push_denied(2, Duration::minutes(5)),
        push_denied(3, Duration::minutes(8)),
        failed,
        f2,
        f3,
    ]
}

#[test]
fn opening_a_user_reads_events_and_shows_its_signals() {
    let app = app_with(kelly(), bombed());
    assert_eq!(
        signal_names(&app),
        vec![SignalName::PushBombing, SignalName::FailedLogins]
    );
    let text = screen(&app, 120, 40);
    assert!(
        text.contains("⚠ 3 denied pushes in the last hour (last 11:58)"),
        "{text}"
    );
    assert!(text.contains("⚠ 3 failed sign-ins in 24 h from 185.220.101.4"));
}

#[test]
fn signals_follow_the_app_clock() {
    let mut app = app_with(kelly(), bombed());
    // 50 minutes on, the three denied pushes are still within the hour.
    app.now = now() + Duration::minutes(50);
    tick(&mut app);
    assert_eq!(
        signal_names(&app),
        vec![SignalName::PushBombing, SignalName::FailedLogins]
    );
    // Once they are more than an hour old push bombing ends; failed sign-ins stay for 24 h.
    app.now = now() + Duration::minutes(59);
    tick(&mut app);
    assert_eq!(signal_names(&app), vec![SignalName::FailedLogins]);
    app.now = now() + Duration::hours(24);
    tick(&mut app);
    assert!(signal_names(&app).is_empty());
}

#[test]
fn temp_token_and_phone_windows_on_the_app_clock() {
    let mut app = app_with(
        kelly(),
        vec![
            ev(1, 1100, now() - Duration::hours(2)),
            ev(2, 1245, now() - Duration::days(1)),
        ],
    );
    assert_eq!(
        signal_names(&app),
        vec![SignalName::TempTokenLive, SignalName::PhoneChanged]
    );
    app.now = now() + Duration::hours(69);
    tick(&mut app);
    assert_eq!(
        signal_names(&app),
        vec![SignalName::TempTokenLive, SignalName::PhoneChanged]
    );
    // 72 h after issue the token is over; 14 days after the change the phone is old news.
    app.now = now() + Duration::hours(71);
    tick(&mut app);
    assert_eq!(signal_names(&app), vec![SignalName::PhoneChanged]);
    app.now = now() + Duration::days(13) + Duration::minutes(1);
    tick(&mut app);
    assert!(signal_names(&app).is_empty());
}

#[test]
fn a_quiet_user_shows_nothing_extra() {
    let app = app_with(kelly(), vec![ev(1, 5, now() - Duration::hours(3))]);
    assert!(signal_names(&app).is_empty());
    assert!(!screen(&app, 120, 40).contains("Signals"));
}

#[test]
fn locked_user_signal() {
    let locked = User {
        status: Some(3),
        locked_until: Some(now() + Duration::minutes(25)),
        ..kelly()
    };
    let mut events: Vec<Event> = (0..5)
        .map(|i| {
            let mut e = ev(i, 6, now() - Duration::minutes(10 + i as i64));
            e.ipaddr = Some("203.0.113.9".into());
            e
        })
        .collect();
    events.push(ev(9, 19, now() - Duration::minutes(5)));
    let app = app_with(locked, events);
    let s = &app.activity.as_ref().unwrap().signals[0];
    assert_eq!(s.name, SignalName::Locked);
    assert_eq!(s.summary, "Locked until 12:25 after 5 failed sign-ins");
}

#[test]
fn history_view_filters_shows_one_event_and_loads_more() {
    let mut app = app_with(kelly(), bombed());
    ch(&mut app, 'h');
    let text = screen(&app, 120, 40);
    assert!(text.contains("History · Kelly Slater"), "{text}");
    assert!(text.contains("6 events"), "{text}");
    assert!(text.contains("Push denied"), "{text}");
    // Filter on the address: only the failed sign-ins.
    ch(&mut app, '/');
    type_text(&mut app, "185.220");
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.activity.as_ref().unwrap().rows().len(), 3);
    // One event whole: its reasons on their own lines.
    enter(&mut app);
    let text = screen(&app, 120, 40);
    assert!(text.contains("• New country"), "{text}");
    assert!(text.contains("• Tor exit node"), "{text}");
    esc(&mut app);
    // Esc leaves the event, not the view; n asks for the 14 days before.
    assert!(matches!(
        app.dialogs.last(),
        Some(mfadesk::app::dialogs::Dialog::History { detail: false, .. })
    ));
    let (id, req) = one_request(&ch(&mut app, 'n'));
    assert_eq!(
        req,
        ApiRequest::GetEvents {
            user_id: kelly().id,
            since: now() - Duration::days(28),
            until: Some(now() - Duration::days(14)),
        }
    );
    answer(
        &mut app,
        id,
        ApiResponse::Events(Ok(EventBatch {
            events: vec![ev(50, 1100, now() - Duration::days(20))],
            types: types(),
        })),
    );
    let a = app.activity.as_ref().unwrap();
    assert_eq!(a.events.as_ref().unwrap().len(), 7);
}

#[test]
fn history_works_in_read_only_mode() {
    let mut app = app_with(kelly(), bombed());
    app.tenant.read_only = true;
    ch(&mut app, 'h');
    assert!(matches!(
        app.dialogs.last(),
        Some(mfadesk::app::dialogs::Dialog::History { .. })
    ));
}

#[test]
fn snapshots_user_pane_with_and_without_signals() {
    snap!("user_with_signals", app_with(kelly(), bombed()));
    snap!(
        "user_without_signals",
        app_with(kelly(), vec![ev(1, 5, now() - Duration::hours(3))])
    );
}

#[test]
fn snapshots_history_and_one_event() {
    let mut app = app_with(kelly(), bombed());
    ch(&mut app, 'h');
    ch(&mut app, 'j');
    ch(&mut app, 'j');
    ch(&mut app, 'j');
    snap!("history", app);
    enter(&mut app);
    snap!("history_event", app);
}

#[test]
fn risky_dialogs_repeat_the_signals_and_the_audit_line_names_them() {
    use mfadesk::app::{AuditKind, AuditResult};
    use mfadesk::audit::{AuditContext, AuditLog};
    use mfadesk::console::FileAudit;
    use mfadesk::runtime::AuditSink;

    let mut app = app_with(kelly(), bombed());
    // Temporary token: the signals above its confirm.
    ch(&mut app, 'm');
    let text = screen(&app, 120, 40);
    assert!(text.contains("Signals on this account:"), "{text}");
    assert!(
        text.contains("⚠ 3 denied pushes in the last hour"),
        "{text}"
    );
    esc(&mut app);
    // Remove: the same, and the confirmed change's audit line names them.
    ch(&mut app, 'd');
    let text = screen(&app, 80, 24);
    assert!(text.contains("Signals on this account:"), "{text}");
    let cmds = confirm_remove(&mut app);
    assert!(
        requests(&cmds)
            .iter()
            .any(|(_, r)| matches!(r, ApiRequest::Remove { .. }))
    );
    let attempt = app
        .audit
        .iter()
        .find(|n| n.action == AuditKind::Remove && n.outcome == AuditResult::Attempt)
        .unwrap();
    assert_eq!(
        attempt.signals,
        Some(vec!["push_bombing".to_owned(), "failed_logins".to_owned()])
    );
    // Written as "signals": [...] on the JSON line.
    let mut sink = FileAudit {
        log: AuditLog::in_memory(),
        context: AuditContext::new("jdoe", None, "http://demo.test"),
    };
    sink.record(attempt).unwrap();
    let line = sink.log.session_entries()[0].to_json_line().unwrap();
    assert!(
        line.contains(r#""signals":["push_bombing","failed_logins"]"#),
        "{line}"
    );
}

#[test]
fn a_change_without_signals_has_no_signals_field() {
    use mfadesk::app::AuditKind;
    let mut app = app_with(kelly(), vec![]);
    ch(&mut app, 'd');
    assert!(!screen(&app, 120, 40).contains("Signals on this account"));
    confirm_remove(&mut app);
    let note = app
        .audit
        .iter()
        .find(|n| n.action == AuditKind::Remove)
        .unwrap();
    assert_eq!(note.signals, None);
}

#[test]
fn the_caller_check_offers_no_push_while_push_bombing_holds() {
    let mut app = app_with(kelly(), bombed());
    ch(&mut app, 'c');
    let Some(mfadesk::app::dialogs::Dialog::CallerCheck(d)) = app.dialogs.last() else {
        panic!("no caller check: {:?}", app.dialogs);
    };
    // A push is listed greyed with the reason, never offered.
    let push = |x: &&mfadesk::ops::device_age::CheckDevice| {
        mfadesk::app::dialogs::DeviceKind::of(&x.device) == mfadesk::app::dialogs::DeviceKind::Push
    };
    assert!(d.devices.iter().any(|x| push(&x)));
    assert!(d.devices.iter().filter(push).all(|x| {
        x.blocked
            .as_deref()
            .is_some_and(|w| w.starts_with("Push not offered"))
    }));
    assert!(
        d.devices.iter().any(|x| x.blocked.as_deref()
            == Some("Push not offered: 3 denied pushes in the last hour. Check with a code.")),
        "{:?}",
        d.devices
    );
    // An hour later the push is offered again.
    esc(&mut app);
    app.now = now() + Duration::minutes(70);
    ch(&mut app, 'c');
    let Some(mfadesk::app::dialogs::Dialog::CallerCheck(d)) = app.dialogs.last() else {
        panic!("no caller check");
    };
    assert!(d.devices.iter().any(|x| push(&x) && x.blocked.is_none()));
    assert_eq!(d.error, None);
}

fn colleague_verify(ago: Duration) -> Event {
    let mut e = ev(77, 528, now() - ago);
    e.client_id = Some("desk-client".into());
    e.actor_system = Some("API".into());
    e.otp_device_id = Some("1001".into());
    e
}

fn requiring_remove(shared: bool, events: Vec<Event>) -> App {
    let mut tenant = tenant();
    tenant.caller_check.required = [mfadesk::policy::GuardedAction::Remove]
        .into_iter()
        .collect();
    let mut app = App::new(tenant, now());
    app.client_id = Some("desk-client".into());
    app.caller_check_shared = shared;
    app.credential_probed = true;
    search_with(&mut app, vec![kelly()]);
    for (id, req) in requests(&enter(&mut app)) {
        let response = match req {
            ApiRequest::GetDevices(_) => ApiResponse::Devices(Ok(all_devices())),
            ApiRequest::GetFactors(_) => ApiResponse::Factors(Ok(vec![])),
            ApiRequest::GetEvents { .. } => ApiResponse::Events(Ok(EventBatch {
                events: events.clone(),
                types: types(),
            })),
            other => panic!("unexpected {other:?}"),
        };
        answer(&mut app, id, response);
    }
    app
}

#[test]
fn a_colleagues_caller_check_is_shown_and_counts_only_where_the_profile_says() {
    use mfadesk::app::AuditKind;
    use mfadesk::audit::CallerCheckRef;
    // Not shared: shown, but the removal still waits for a check of this session.
    let mut app = requiring_remove(false, vec![colleague_verify(Duration::minutes(4))]);
    let text = screen(&app, 120, 40);
    assert!(
        text.contains("Caller checked 11:56 through the API (another session)"),
        "{text}"
    );
    ch(&mut app, 'd');
    let cmds = confirm_remove(&mut app);
    assert!(requests(&cmds).is_empty(), "the removal must wait");
    esc(&mut app);

    // Shared: the check satisfies the requirement, and the audit line names the event.
    let mut app = requiring_remove(true, vec![colleague_verify(Duration::minutes(4))]);
    ch(&mut app, 'd');
    let cmds = confirm_remove(&mut app);
    assert!(
        requests(&cmds)
            .iter()
            .any(|(_, r)| matches!(r, ApiRequest::Remove { .. }))
    );
    let note = app
        .audit
        .iter()
        .find(|n| n.action == AuditKind::Remove)
        .unwrap();
    assert_eq!(
        note.caller_check,
        Some(CallerCheckRef::Shared {
            event_id: "77".into()
        })
    );
    let line = serde_json::to_string(&note.caller_check).unwrap();
    assert_eq!(line, r#"{"outcome":"shared","event_id":"77"}"#);

    // Older than the check's lifetime (15 min), or by another API client: not a check.
    let app = requiring_remove(true, vec![colleague_verify(Duration::minutes(16))]);
    assert!(!screen(&app, 120, 40).contains("another session"));
    let mut other = colleague_verify(Duration::minutes(2));
    other.client_id = Some("someone-else".into());
    let app = requiring_remove(true, vec![other]);
    assert!(!screen(&app, 120, 40).contains("another session"));
}

#[test]
fn a_push_denied_while_waiting_counts_at_once() {
    let mut app = app_with(
        kelly(),
        vec![
            push_denied(1, Duration::minutes(3)),
            push_denied(2, Duration::minutes(2)),
        ],
    );
    assert!(signal_names(&app).is_empty());
    // The caller check's push (Protect, device 1003) is denied: the third within 10 minutes.
    ch(&mut app, 'c');
    // Codes come first: move to the push.
    let Some(mfadesk::app::dialogs::Dialog::CallerCheck(d)) = app.dialogs.last() else {
        panic!("no caller check: {:?}", app.dialogs);
    };
    let push = d
        .devices
        .iter()
        .position(|x| {
            mfadesk::app::dialogs::DeviceKind::of(&x.device)
                == mfadesk::app::dialogs::DeviceKind::Push
        })
        .expect("the push is listed");
    for _ in 0..push {
        ch(&mut app, 'j');
    }
    let (id, _) = one_request(&enter(&mut app));
    answer(&mut app, id, trigger_ok("1003", "push-1"));
    app.now = now() + secs(2);
    let (poll, _) = one_request(&tick(&mut app));
    let cmds = answer(
        &mut app,
        poll,
        ApiResponse::Verified(Err(api_error(
            mfadesk::api::ErrorKind::PushDenied,
            Some(401),
            "denied",
        ))),
    );
    assert!(requests(&cmds).is_empty(), "no extra call");
    assert_eq!(signal_names(&app), vec![SignalName::PushBombing]);
}

#[test]
fn events_that_cannot_be_read_are_said_not_hidden() {
    let mut app = new_app();
    search_with(&mut app, vec![kelly()]);
    for (id, req) in requests(&enter(&mut app)) {
        let response = match req {
            ApiRequest::GetDevices(_) => ApiResponse::Devices(Ok(all_devices())),
            ApiRequest::GetFactors(_) => ApiResponse::Factors(Ok(vec![])),
            ApiRequest::GetEvents { .. } => ApiResponse::Events(Err(api_error(
                mfadesk::api::ErrorKind::Server,
                Some(503),
                "Service Unavailable",
            ))),
            other => panic!("unexpected {other:?}"),
        };
        answer(&mut app, id, response);
    }
    let text = screen(&app, 120, 40);
    assert!(
        text.contains("Events not read, signals may be missing (r retries)"),
        "{text}"
    );
}

#[test]
fn snapshots_remove_dialog_with_signals() {
    let mut app = app_with(kelly(), bombed());
    ch(&mut app, 'd');
    snap!("remove_with_signals", app);
}

#[test]
fn a_device_the_events_say_was_added_today_never_proves_the_caller() {
    // The portal or another session enrolled the authenticator two hours ago (event 22): the
    // caller check lists it greyed, however this session learnt of it.
    let mut added = ev(90, 22, now() - Duration::hours(2));
    added.otp_device_id = Some("1004".into());
    let mut app = app_with(kelly(), vec![added]);
    ch(&mut app, 'c');
    let Some(mfadesk::app::dialogs::Dialog::CallerCheck(d)) = app.dialogs.last() else {
        panic!("no caller check: {:?}", app.dialogs);
    };
    let new = d
        .devices
        .iter()
        .find(|x| x.device.id.0 == "1004")
        .expect("the new device is listed");
    assert!(
        new.blocked
            .as_deref()
            .is_some_and(|w| w.contains("too new to prove the caller")),
        "{new:?}"
    );
    assert!(
        d.devices
            .iter()
            .filter(|x| x.device.id.0 != "1004")
            .any(|x| x.blocked.is_none()),
        "older devices are still offered"
    );
    assert!(screen(&app, 120, 40).contains("too new to prove the caller"));
}
