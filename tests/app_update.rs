//! Update tests: feed messages into `update`, check the state and the commands that come out.

mod common;

use chrono::Duration;
use common::*;
use crossterm::event::{KeyCode, KeyModifiers};
use mfadesk::api::{
    DeviceId, ErrorKind, MfaToken, OtpDevice, Secret, User, UserQuery, VerifyOutcome,
};
use mfadesk::app::dialogs::{
    DeviceKind, Dialog, EnrollField, RemoveButton, TokenField, TriggerField, VerifyStage,
};
use mfadesk::app::{
    App, AuditKind, AuditNote, AuditResult, Cmd, Focus, Msg, StatusKind, TenantInfo, update,
};
use mfadesk::worker::{ApiRequest, ApiResponse, RequestId, SearchResult};

// ---- helpers ----------------------------------------------------------------------------

/// The one request of this kind among the commands.
fn request_where(cmds: &[Cmd], pred: impl Fn(&ApiRequest) -> bool) -> (RequestId, ApiRequest) {
    let found: Vec<_> = requests(cmds)
        .into_iter()
        .filter(|(_, r)| pred(r))
        .collect();
    assert_eq!(found.len(), 1, "expected one matching request in {cmds:?}");
    found.into_iter().next().unwrap()
}

fn audits(cmds: &[Cmd]) -> Vec<AuditNote> {
    cmds.iter()
        .filter_map(|c| match c {
            Cmd::Audit(n) => Some(n.clone()),
            _ => None,
        })
        .collect()
}

fn trail(app: &App) -> Vec<(AuditKind, AuditResult)> {
    app.audit.iter().map(|n| (n.action, n.outcome)).collect()
}

fn top(app: &App) -> &Dialog {
    app.dialogs.last().expect("a dialog is open")
}

macro_rules! top_as {
    ($app:expr, $variant:ident) => {
        match $app.dialogs.last() {
            Some(Dialog::$variant(d)) => d,
            other => panic!(
                "expected a {} dialog on top, found {other:?}",
                stringify!($variant)
            ),
        }
    };
}

fn status_text(app: &App) -> String {
    app.status
        .as_ref()
        .map(|s| s.text.clone())
        .unwrap_or_default()
}

fn select_device(app: &mut App, index: usize) {
    assert_eq!(app.focus, Focus::Devices);
    key(app, KeyCode::Char('g'));
    for _ in 0..index {
        ch(app, 'j');
    }
    assert_eq!(app.user.as_ref().unwrap().device_sel, index);
}

fn has_quit(cmds: &[Cmd]) -> bool {
    cmds.contains(&Cmd::Quit)
}

fn enrolled_sms(id: &str, name: &str, number: &str, active: bool) -> OtpDevice {
    OtpDevice {
        id: DeviceId(id.into()),
        active,
        default: false,
        needs_trigger: true,
        auth_factor_name: "OneLogin SMS".into(),
        type_display_name: None,
        user_display_name: Some(name.into()),
        phone_number: Some(number.into()),
        state_token: None,
    }
}

/// Opens the enroll dialog and fills name and phone; returns the Enroll request's id.
fn fill_and_submit_enroll(app: &mut App) -> RequestId {
    ch(app, 'e');
    type_text(app, "Work phone");
    tab(app);
    type_text(app, "+14155550123");
    let cmds = enter(app);
    let (id, req) = one_request(&cmds);
    assert_eq!(
        req,
        ApiRequest::Enroll {
            user_id: kelly().id,
            factor_id: sms_factor().factor_id,
            display_name: "Work phone".into(),
            number: "+14155550123".into(),
            verified: false,
        }
    );
    id
}

/// Kelly open, the SMS device verified through `v`: the trigger is answered, the code is asked.
fn sms_verify_waiting_for_code(app: &mut App, token: &str) {
    select_device(app, 0);
    let (id, req) = one_request(&ch(app, 'v'));
    assert!(matches!(req, ApiRequest::Trigger { .. }));
    answer(app, id, trigger_ok("1001", token));
    assert_eq!(top_as!(app, Verify).stage, VerifyStage::EnterCode);
}

/// Kelly open, the Protect push triggered and answered: the dialog waits for approval.
fn push_waiting(app: &mut App) {
    select_device(app, 2);
    assert!(requests(&ch(app, 'v')).is_empty(), "a push waits for Enter");
    assert_eq!(top_as!(app, Verify).stage, VerifyStage::Confirm);
    let cmds = enter(app);
    let (id, req) = one_request(&cmds);
    assert!(matches!(&req, ApiRequest::Trigger { device_id, .. } if device_id.0 == "1003"));
    assert_eq!(top_as!(app, Verify).kind, DeviceKind::Push);
    answer(app, id, trigger_ok("1003", "st-push"));
    assert_eq!(
        top_as!(app, Verify).stage,
        VerifyStage::AwaitPush {
            next_poll: app.now + Duration::milliseconds(1_500)
        }
    );
}

// ---- search -----------------------------------------------------------------------------

#[test]
fn bare_word_runs_four_queries_on_enter_only() {
    let mut app = new_app();
    assert_eq!(
        app.focus,
        Focus::Users,
        "the console starts on the results, / opens the box"
    );
    ch(&mut app, '/');
    assert_eq!(app.focus, Focus::Search);
    let typed = type_text(&mut app, "kelly");
    assert!(typed.is_empty(), "no call per keystroke: {typed:?}");
    let (_, req) = one_request(&enter(&mut app));
    let ApiRequest::Search(queries) = req else {
        panic!("not a search: {req:?}")
    };
    assert_eq!(queries.len(), 4);
    assert_eq!(queries[0].firstname.as_deref(), Some("kelly*"));
    assert_eq!(queries[1].lastname.as_deref(), Some("kelly*"));
    assert_eq!(queries[2].username.as_deref(), Some("kelly*"));
    assert_eq!(queries[3].email.as_deref(), Some("kelly*"));
    assert_eq!(app.search.query, "kelly");
    assert_eq!(app.focus, Focus::Users);
    assert!(app.busy());
}

#[test]
fn email_prefix_runs_one_query() {
    let mut app = new_app();
    ch(&mut app, '/');
    type_text(&mut app, "email:kelly@acme.com");
    let (_, req) = one_request(&enter(&mut app));
    assert_eq!(
        req,
        ApiRequest::Search(vec![UserQuery {
            email: Some("kelly@acme.com".into()),
            limit: Some(50),
            ..UserQuery::default()
        }])
    );
}

#[test]
fn bad_query_keeps_the_text_and_says_what_is_wrong() {
    let mut app = new_app();
    ch(&mut app, '/');
    type_text(&mut app, "foo:bar");
    let cmds = enter(&mut app);
    assert!(cmds.is_empty(), "{cmds:?}");
    assert_eq!(app.search.input.value(), "foo:bar");
    assert_eq!(app.focus, Focus::Search);
    let msg = app.search.message.clone().unwrap();
    assert!(msg.contains("unknown field \"foo:\""), "{msg}");

    key_mod(&mut app, KeyCode::Char('u'), KeyModifiers::CONTROL);
    type_text(&mut app, "id:abc");
    assert!(enter(&mut app).is_empty());
    assert_eq!(app.search.input.value(), "id:abc");
    assert!(
        app.search
            .message
            .as_ref()
            .unwrap()
            .contains("not a user id")
    );
}

#[test]
fn a_new_search_cancels_the_one_in_flight_and_ignores_its_late_result() {
    let mut app = new_app();
    ch(&mut app, '/');
    type_text(&mut app, "kelly");
    let (old, _) = one_request(&enter(&mut app));
    ch(&mut app, '/');
    assert_eq!(app.focus, Focus::Search);
    key_mod(&mut app, KeyCode::Char('u'), KeyModifiers::CONTROL);
    type_text(&mut app, "email:max*");
    let cmds = enter(&mut app);
    assert_eq!(cancels(&cmds), vec![old]);
    let (new, _) = one_request(&cmds);
    assert_ne!(new, old);

    // The old search answers late: nothing changes.
    answer(&mut app, old, search_ok(vec![kelly()]));
    assert!(app.search.results.is_empty());
    assert_eq!(app.search.request, Some(new));
    assert!(!app.search.searched);

    let max = user(5, "Max", "W", "max@acme.com", 1);
    answer(&mut app, new, search_ok(vec![max.clone()]));
    assert_eq!(app.search.results, vec![max]);
    assert_eq!(app.search.query, "email:max*");
    assert_eq!(app.search.request, None);
}

#[test]
fn search_errors_and_empty_results_are_explained() {
    let mut app = new_app();
    ch(&mut app, '/');
    type_text(&mut app, "kelly");
    let (id, _) = one_request(&enter(&mut app));
    answer(
        &mut app,
        id,
        ApiResponse::Search(Err(api_error(
            ErrorKind::RateLimited { reset_secs: None },
            Some(429),
            "Rate limit exceeded",
        ))),
    );
    let msg = app.search.message.clone().unwrap();
    assert!(
        msg.contains("HTTP 429") && msg.contains("Rate limit exceeded"),
        "{msg}"
    );

    ch(&mut app, '/');
    let (id, _) = one_request(&enter(&mut app));
    answer(&mut app, id, search_ok(vec![]));
    assert_eq!(
        app.search.message.as_deref(),
        Some("No users match \"kelly\".")
    );
}

#[test]
fn moving_near_the_end_fetches_the_next_page_and_merges_without_duplicates() {
    let mut app = new_app();
    ch(&mut app, '/');
    type_text(&mut app, "kelly");
    let (id, _) = one_request(&enter(&mut app));
    let page1: Vec<User> = (1..=10)
        .map(|i| user(i, "Kelly", &format!("N{i}"), "k@acme.com", 1))
        .collect();
    let next = vec![
        UserQuery {
            firstname: Some("kelly*".into()),
            cursor: Some("cursor-first".into()),
            limit: Some(50),
            ..UserQuery::default()
        },
        UserQuery {
            email: Some("kelly*".into()),
            cursor: Some("cursor-email".into()),
            limit: Some(50),
            ..UserQuery::default()
        },
    ];
    answer(
        &mut app,
        id,
        ApiResponse::Search(Ok(SearchResult {
            users: page1,
            next: next.clone(),
            total: Some(13),
        })),
    );
    assert_eq!(app.search.results.len(), 10);

    for _ in 0..4 {
        assert!(requests(&ch(&mut app, 'j')).is_empty());
    }
    // Row 5 of 10 is within five of the end: the next page is fetched with the cursors.
    let cmds = ch(&mut app, 'j');
    let (more, req) = one_request(&cmds);
    assert_eq!(req, ApiRequest::Search(next));
    assert_eq!(app.search.more, Some(more));
    // No second fetch while the first is in flight.
    assert!(requests(&ch(&mut app, 'j')).is_empty());

    let page2 = vec![
        user(9, "Kelly", "N9", "k@acme.com", 1),
        user(10, "Kelly", "N10", "k@acme.com", 1),
        user(11, "Kelly", "N11", "k@acme.com", 1),
        user(12, "Kelly", "N12", "k@acme.com", 1),
    ];
    answer(
        &mut app,
        more,
        ApiResponse::Search(Ok(SearchResult {
            users: page2,
            next: vec![],
            total: Some(13),
        })),
    );
    let ids: Vec<i64> = app.search.results.iter().map(|u| u.id).collect();
    assert_eq!(ids, (1..=12).collect::<Vec<_>>());
    assert_eq!(app.search.more, None);
    assert_eq!(app.search.selected, 6, "the selection stays put");
    // The last page has no cursors: the end of the list fetches nothing.
    assert!(requests(&ch(&mut app, 'G')).is_empty());
    assert_eq!(app.search.selected, 11);
}

// ---- the user pane ----------------------------------------------------------------------

#[test]
fn opening_a_user_loads_devices_and_factors_together() {
    let mut app = new_app();
    search_with(&mut app, vec![kelly()]);
    let cmds = enter(&mut app);
    let reqs: Vec<ApiRequest> = requests(&cmds).into_iter().map(|(_, r)| r).collect();
    assert_eq!(
        reqs,
        vec![
            ApiRequest::GetDevices(kelly().id),
            ApiRequest::GetFactors(kelly().id),
            // The last 14 days of events, in the same round trip.
            ApiRequest::GetEvents {
                user_id: kelly().id,
                since: app.now - chrono::TimeDelta::days(14),
                until: None,
            }
        ]
    );
    let view = app.user.as_ref().unwrap();
    assert_eq!(view.user, kelly());
    assert!(view.devices.is_none() && view.factors.is_none());
    assert_eq!(app.focus, Focus::Devices);
}

#[test]
fn results_for_a_previously_opened_user_are_dropped() {
    let mut app = new_app();
    let ann = user(1, "Ann", "A", "ann@acme.com", 1);
    let bob = user(2, "Bob", "B", "bob@acme.com", 1);
    search_with(&mut app, vec![ann.clone(), bob.clone()]);
    let ann_loads = requests(&enter(&mut app));
    assert_eq!(app.user.as_ref().unwrap().user.id, 1);

    back_tab(&mut app);
    assert_eq!(app.focus, Focus::Users);
    ch(&mut app, 'j');
    let cmds = enter(&mut app);
    let mut cancelled = cancels(&cmds);
    cancelled.sort();
    let mut ann_ids: Vec<RequestId> = ann_loads.iter().map(|(id, _)| *id).collect();
    ann_ids.sort();
    assert_eq!(cancelled, ann_ids, "Ann's loads are abandoned");
    let bob_loads = requests(&cmds);
    assert_eq!(app.user.as_ref().unwrap().user.id, 2);

    // Ann's answers arrive late: Bob's pane does not show Ann's devices.
    for (id, req) in ann_loads {
        let response = match req {
            ApiRequest::GetDevices(_) => ApiResponse::Devices(Ok(vec![sms_device()])),
            _ => ApiResponse::Factors(Ok(vec![voice_factor()])),
        };
        answer(&mut app, id, response);
    }
    let view = app.user.as_ref().unwrap();
    assert!(view.devices.is_none() && view.factors.is_none());

    for (id, req) in bob_loads {
        let response = match req {
            ApiRequest::GetDevices(_) => ApiResponse::Devices(Ok(vec![google_auth()])),
            _ => ApiResponse::Factors(Ok(vec![sms_factor()])),
        };
        answer(&mut app, id, response);
    }
    let view = app.user.as_ref().unwrap();
    assert_eq!(view.devices, Some(vec![google_auth()]));
    assert_eq!(view.factors, Some(vec![sms_factor()]));
}

#[test]
fn a_failed_device_load_is_shown_with_a_retry_hint() {
    let mut app = new_app();
    search_with(&mut app, vec![kelly()]);
    let loads = requests(&enter(&mut app));
    let (id, _) = loads
        .iter()
        .find(|(_, r)| matches!(r, ApiRequest::GetDevices(_)))
        .unwrap();
    answer(
        &mut app,
        *id,
        ApiResponse::Devices(Err(api_error(ErrorKind::Server, Some(503), "Unavailable"))),
    );
    let e = app.user.as_ref().unwrap().devices_error.clone().unwrap();
    assert!(e.contains("HTTP 503") && e.contains("r to retry"), "{e}");
}

// ---- enrollment -------------------------------------------------------------------------

#[test]
fn guided_enrollment_enroll_trigger_verify_with_a_wrong_code_first() {
    let mut app = app_with_kelly();
    let enroll = fill_and_submit_enroll(&mut app);
    assert_eq!(top_as!(app, Enroll).busy, Some(enroll));

    let cmds = answer(
        &mut app,
        enroll,
        ApiResponse::Enrolled(Ok(mfadesk::api::Enrollment::Device(enrolled_sms(
            "2001",
            "Work phone",
            "+14155550123",
            false,
        )))),
    );
    // The user's devices reload, and the new device is triggered with defaults.
    assert!(
        requests(&cmds)
            .iter()
            .any(|(_, r)| *r == ApiRequest::GetDevices(kelly().id))
    );
    let (trigger, req) = request_where(&cmds, |r| matches!(r, ApiRequest::Trigger { .. }));
    assert_eq!(
        req,
        ApiRequest::Trigger {
            user_id: kelly().id,
            device_id: DeviceId("2001".into()),
            expires_in: None,
            numeric: None,
            sms_message: None,
        }
    );
    let v = top_as!(app, Verify);
    assert!(v.guided);
    assert_eq!(v.stage, VerifyStage::Sending);
    assert_eq!(app.dialogs.len(), 1, "the enroll dialog handed over");

    answer(&mut app, trigger, trigger_ok("2001", "st-guided"));
    let v = top_as!(app, Verify);
    assert_eq!(v.stage, VerifyStage::EnterCode);
    assert_eq!(v.expires_at, Some(now() + secs(120)));
    assert!(app.needs_tick(), "the countdown ticks");

    // Thirty seconds later the countdown shows 1:30.
    app.now = now() + secs(30);
    tick(&mut app);
    assert!(screen(&app, 120, 40).contains("expires in 1:30"));

    type_text(&mut app, "123456");
    let (verify, req) = one_request(&enter(&mut app));
    let ApiRequest::Verify {
        otp, state_token, ..
    } = &req
    else {
        panic!("{req:?}")
    };
    assert_eq!(otp.as_ref().map(Secret::expose), Some("123456"));
    assert_eq!(state_token.as_ref().map(Secret::expose), Some("st-guided"));

    answer(
        &mut app,
        verify,
        ApiResponse::Verified(Err(api_error(
            ErrorKind::WrongCode,
            Some(401),
            "Failed authentication with this factor",
        ))),
    );
    let v = top_as!(app, Verify);
    assert_eq!(v.code.value(), "123456", "the typed code is kept");
    assert_eq!(v.stage, VerifyStage::EnterCode);
    let err = v.error.clone().unwrap();
    assert!(err.starts_with("Wrong code"), "{err}");
    assert_eq!(app.dialogs.len(), 1, "no error dialog for a wrong code");

    backspace(&mut app, 6);
    type_text(&mut app, "654321");
    let (verify, req) = one_request(&enter(&mut app));
    assert!(
        matches!(&req, ApiRequest::Verify { otp: Some(o), .. } if o.expose() == "654321"),
        "{req:?}"
    );
    let cmds = answer(
        &mut app,
        verify,
        ApiResponse::Verified(Ok(VerifyOutcome::Verified)),
    );
    assert!(app.dialogs.is_empty());
    let status = app.status.clone().unwrap();
    assert_eq!(status.kind, StatusKind::Success);
    assert!(
        status.text.contains("Enrolled and verified")
            && status.text.contains("\"Work phone\"")
            && status.text.contains("Kelly Slater"),
        "{status:?}"
    );
    let reloads: Vec<ApiRequest> = requests(&cmds).into_iter().map(|(_, r)| r).collect();
    assert_eq!(
        reloads,
        vec![
            ApiRequest::GetDevices(kelly().id),
            ApiRequest::GetFactors(kelly().id)
        ]
    );
    assert_eq!(
        trail(&app),
        vec![
            (AuditKind::Enroll, AuditResult::Attempt),
            (AuditKind::Enroll, AuditResult::Success),
            (AuditKind::Trigger, AuditResult::Attempt),
            (AuditKind::Trigger, AuditResult::Success),
            (AuditKind::Verify, AuditResult::Attempt),
            (AuditKind::Verify, AuditResult::Failure),
            (AuditKind::Verify, AuditResult::Attempt),
            (AuditKind::Verify, AuditResult::Success),
        ]
    );
}

#[test]
fn an_invalid_phone_number_is_explained_and_nothing_is_sent() {
    let mut app = app_with_kelly();
    ch(&mut app, 'e');
    type_text(&mut app, "Work phone");
    tab(&mut app);
    type_text(&mut app, "4155550123");
    let cmds = enter(&mut app);
    assert!(cmds.is_empty(), "{cmds:?}");
    let d = top_as!(app, Enroll);
    let err = d.error.clone().unwrap();
    assert!(
        err.contains("Phone number: start with + and the country code"),
        "{err}"
    );
    assert_eq!(d.field, EnrollField::Phone);
    assert_eq!(d.phone.value(), "4155550123");
    assert!(app.audit.is_empty(), "nothing was attempted");

    // A missing name is caught too, and focus goes to it.
    let mut app = app_with_kelly();
    ch(&mut app, 'e');
    tab(&mut app);
    tab(&mut app);
    type_text(&mut app, "+14155550123");
    assert!(enter(&mut app).is_empty());
    let d = top_as!(app, Enroll);
    assert!(d.error.as_ref().unwrap().contains("Give the device a name"));
    assert_eq!(d.field, EnrollField::Name);
}

#[test]
fn a_pre_verified_enrollment_closes_at_once() {
    let mut app = app_with_kelly();
    ch(&mut app, 'e');
    type_text(&mut app, "Work phone");
    tab(&mut app);
    type_text(&mut app, "+14155550123");
    tab(&mut app);
    assert_eq!(top_as!(app, Enroll).field, EnrollField::Verified);
    ch(&mut app, ' ');
    // The first Enter asks for the second confirmation; the second one enrolls.
    assert!(requests(&enter(&mut app)).is_empty());
    let (id, req) = one_request(&enter(&mut app));
    assert!(matches!(req, ApiRequest::Enroll { verified: true, .. }));
    let cmds = answer(
        &mut app,
        id,
        ApiResponse::Enrolled(Ok(mfadesk::api::Enrollment::Device(enrolled_sms(
            "2001",
            "Work phone",
            "+14155550123",
            true,
        )))),
    );
    assert!(app.dialogs.is_empty());
    assert!(
        requests(&cmds)
            .iter()
            .all(|(_, r)| !matches!(r, ApiRequest::Trigger { .. })),
        "no trigger for a verified number"
    );
    assert!(
        status_text(&app).contains("Enrolled OneLogin SMS \"Work phone\" for Kelly Slater: active")
    );
}

#[test]
fn a_lost_enroll_answer_is_checked_and_the_device_found() {
    let mut app = app_with_kelly();
    let enroll = fill_and_submit_enroll(&mut app);
    let cmds = answer(
        &mut app,
        enroll,
        ApiResponse::Enrolled(Err(api_error(ErrorKind::Network, None, "connection reset"))),
    );
    let (check, req) = one_request(&cmds);
    assert_eq!(req, ApiRequest::GetDevices(kelly().id));
    let d = top_as!(app, Enroll);
    assert_eq!(d.busy, Some(check));
    assert!(
        d.error
            .as_ref()
            .unwrap()
            .contains("Checking whether the device was created")
    );

    let mut devices = all_devices();
    devices.push(enrolled_sms("2001", "Work phone", "+14155550123", false));
    let cmds = answer(&mut app, check, ApiResponse::Devices(Ok(devices.clone())));
    // The attempt stayed open during the check and ends with the truth: it happened.
    assert_eq!(
        trail(&app),
        vec![
            (AuditKind::Enroll, AuditResult::Attempt),
            (AuditKind::Enroll, AuditResult::Success),
        ]
    );
    let last = app.audit.last().unwrap();
    assert_eq!(last.device_id.as_deref(), Some("2001"));
    assert!(last.message.as_deref().unwrap().contains("answer was lost"));
    assert_eq!(audits(&cmds).len(), 1, "the success is written out too");
    let info = top_as!(app, Info);
    assert_eq!(info.title, "The device was created after all");
    assert!(
        info.lines[1].contains("\"Work phone\", pending"),
        "{info:?}"
    );
    assert_eq!(app.dialogs.len(), 1, "the enroll dialog is gone");
    assert_eq!(app.user.as_ref().unwrap().devices, Some(devices));
    enter(&mut app);
    assert!(app.dialogs.is_empty());
}

#[test]
fn a_lost_enroll_answer_with_no_device_keeps_the_form_for_a_retry() {
    let mut app = app_with_kelly();
    let enroll = fill_and_submit_enroll(&mut app);
    let cmds = answer(
        &mut app,
        enroll,
        ApiResponse::Enrolled(Err(api_error(ErrorKind::Timeout, None, "no answer"))),
    );
    let (check, _) = one_request(&cmds);
    answer(&mut app, check, ApiResponse::Devices(Ok(all_devices())));
    let d = top_as!(app, Enroll);
    assert!(
        d.error
            .as_ref()
            .unwrap()
            .contains("no such device exists: nothing was created"),
        "{:?}",
        d.error
    );
    assert_eq!(d.name.value(), "Work phone");
    assert_eq!(d.phone.value(), "+14155550123");
    assert_eq!(d.busy, None);
    assert_eq!(
        trail(&app),
        vec![
            (AuditKind::Enroll, AuditResult::Attempt),
            (AuditKind::Enroll, AuditResult::Failure),
        ]
    );
    let (_, req) = one_request(&enter(&mut app));
    assert!(
        matches!(req, ApiRequest::Enroll { .. }),
        "Enter tries again"
    );
}

// ---- trigger and verify -----------------------------------------------------------------

#[test]
fn trigger_dialog_checks_lifetime_and_template_then_hands_over_to_verify() {
    let mut app = app_with_kelly();
    select_device(&mut app, 0);
    ch(&mut app, 't');
    let d = top_as!(app, Trigger);
    assert_eq!(d.field, TriggerField::ExpiresIn);
    assert_eq!(d.expires_in.value(), "120");

    backspace(&mut app, 3);
    type_text(&mut app, "119");
    assert!(enter(&mut app).is_empty());
    let d = top_as!(app, Trigger);
    assert_eq!(
        d.error.as_deref(),
        Some("Code lifetime: must be between 120 and 900 seconds.")
    );

    backspace(&mut app, 3);
    type_text(&mut app, "300");
    tab(&mut app);
    ch(&mut app, ' ');
    assert!(top_as!(app, Trigger).numeric);
    tab(&mut app);
    let long = format!("Your code is {{{{otp_code}}}} {}", "x".repeat(150));
    type_text(&mut app, &long);
    assert!(enter(&mut app).is_empty());
    let d = top_as!(app, Trigger);
    let err = d.error.clone().unwrap();
    assert!(err.starts_with("SMS text: 170/160 characters"), "{err}");
    assert_eq!(d.field, TriggerField::Template);

    key_mod(&mut app, KeyCode::Char('u'), KeyModifiers::CONTROL);
    type_text(&mut app, "Code {{otp_code}}, valid {{expiration}} min");
    let cmds = enter(&mut app);
    let (id, req) = one_request(&cmds);
    assert_eq!(
        req,
        ApiRequest::Trigger {
            user_id: kelly().id,
            device_id: DeviceId("1001".into()),
            expires_in: Some(300),
            numeric: Some(true),
            sms_message: Some("Code {{otp_code}}, valid {{expiration}} min".into()),
        }
    );
    assert_eq!(app.dialogs.len(), 1);
    let v = top_as!(app, Verify);
    assert!(!v.guided);
    assert_eq!(v.busy, Some(id));
    answer(&mut app, id, trigger_ok("1001", "st-1"));
    let v = top_as!(app, Verify);
    assert_eq!(v.stage, VerifyStage::EnterCode);
    assert_eq!(v.expires_at, Some(now() + secs(300)));
}

#[test]
fn voice_trigger_offers_only_the_lifetime() {
    let mut app = app_with_kelly();
    select_device(&mut app, 1);
    ch(&mut app, 't');
    assert_eq!(
        top_as!(app, Trigger).fields(),
        vec![TriggerField::ExpiresIn]
    );
    tab(&mut app);
    assert_eq!(top_as!(app, Trigger).field, TriggerField::ExpiresIn);
    let (_, req) = one_request(&enter(&mut app));
    assert!(matches!(
        req,
        ApiRequest::Trigger {
            expires_in: Some(120),
            numeric: None,
            sms_message: None,
            ..
        }
    ));
}

#[test]
fn code_devices_have_nothing_to_trigger() {
    let mut app = app_with_kelly_pending();
    select_device(&mut app, 4);
    let cmds = ch(&mut app, 't');
    assert!(cmds.is_empty());
    assert!(app.dialogs.is_empty());
    assert!(status_text(&app).contains("Google Authenticator \"Pixel\" takes codes directly"));

    // v asks for the code at once and verifies without a state token.
    assert!(requests(&ch(&mut app, 'v')).is_empty());
    assert_eq!(top_as!(app, Verify).stage, VerifyStage::EnterCode);
    type_text(&mut app, "987654");
    let (_, req) = one_request(&enter(&mut app));
    assert!(matches!(
        &req,
        ApiRequest::Verify { state_token: None, otp: Some(o), device_id, .. }
            if o.expose() == "987654" && device_id.0 == "1004"
    ));
}

#[test]
fn an_expired_state_token_asks_for_a_new_code_and_enter_sends_one() {
    let mut app = app_with_kelly_pending();
    sms_verify_waiting_for_code(&mut app, "st-old");
    type_text(&mut app, "123456");
    let (id, _) = one_request(&enter(&mut app));
    answer(
        &mut app,
        id,
        ApiResponse::Verified(Err(api_error(
            ErrorKind::ExpiredStateToken,
            Some(400),
            "State token expired",
        ))),
    );
    let v = top_as!(app, Verify);
    assert_eq!(v.stage, VerifyStage::Expired);
    assert!(v.error.as_ref().unwrap().contains("Enter sends a new code"));
    assert_eq!(app.dialogs.len(), 1);

    let (id, req) = one_request(&enter(&mut app));
    assert!(matches!(&req, ApiRequest::Trigger { device_id, .. } if device_id.0 == "1001"));
    let v = top_as!(app, Verify);
    assert_eq!(v.stage, VerifyStage::Sending);
    assert_eq!(v.code.value(), "", "the old code is cleared");
    answer(&mut app, id, trigger_ok("1001", "st-new"));
    assert_eq!(top_as!(app, Verify).stage, VerifyStage::EnterCode);
}

#[test]
fn the_countdown_running_out_moves_to_expired() {
    let mut app = app_with_kelly_pending();
    sms_verify_waiting_for_code(&mut app, "st");
    app.now = now() + secs(119);
    tick(&mut app);
    assert_eq!(top_as!(app, Verify).stage, VerifyStage::EnterCode);
    app.now = now() + secs(120);
    tick(&mut app);
    assert_eq!(top_as!(app, Verify).stage, VerifyStage::Expired);
    let (_, req) = one_request(&enter(&mut app));
    assert!(matches!(req, ApiRequest::Trigger { .. }));
}

#[test]
fn a_fresh_code_is_verified_again_without_a_new_sms() {
    let mut app = app_with_kelly_pending();
    sms_verify_waiting_for_code(&mut app, "st-live");
    esc(&mut app);
    app.now = now() + secs(60);
    let cmds = ch(&mut app, 'v');
    assert!(requests(&cmds).is_empty(), "no second SMS: {cmds:?}");
    let v = top_as!(app, Verify);
    assert_eq!(v.stage, VerifyStage::EnterCode);
    assert_eq!(v.state_token.as_ref().map(Secret::expose), Some("st-live"));
}

#[test]
fn push_is_polled_every_one_and_a_half_seconds_until_approved() {
    let mut app = app_with_kelly_pending();
    push_waiting(&mut app);
    assert!(app.needs_tick());

    app.now = now() + Duration::milliseconds(1_000);
    assert!(requests(&tick(&mut app)).is_empty(), "too early to poll");
    app.now = now() + Duration::milliseconds(1_500);
    let (poll, req) = one_request(&tick(&mut app));
    assert_eq!(
        req,
        ApiRequest::Verify {
            user_id: kelly().id,
            device_id: DeviceId("1003".into()),
            state_token: Some(Secret::new("st-push")),
            otp: None,
        }
    );
    // One poll at a time.
    app.now = now() + Duration::milliseconds(1_600);
    assert!(requests(&tick(&mut app)).is_empty());

    app.now = now() + secs(2);
    answer(
        &mut app,
        poll,
        ApiResponse::Verified(Ok(VerifyOutcome::Pending {
            message: "Authentication pending".into(),
        })),
    );
    assert_eq!(
        top_as!(app, Verify).stage,
        VerifyStage::AwaitPush {
            next_poll: now() + Duration::milliseconds(3_500)
        }
    );
    assert!(requests(&tick(&mut app)).is_empty());
    app.now = now() + Duration::milliseconds(3_500);
    let (poll, _) = one_request(&tick(&mut app));
    answer(
        &mut app,
        poll,
        ApiResponse::Verified(Ok(VerifyOutcome::Verified)),
    );
    assert!(app.dialogs.is_empty());
    assert!(
        status_text(&app).contains("Verified OneLogin Protect \"Pixel 8\""),
        "{:?}",
        app.status
    );
    assert_eq!(
        trail(&app),
        vec![
            (AuditKind::Trigger, AuditResult::Attempt),
            (AuditKind::Trigger, AuditResult::Success),
            // The push sent is a verification under way; the poll settles it.
            (AuditKind::Verify, AuditResult::Attempt),
            (AuditKind::Verify, AuditResult::Success),
        ]
    );
}

#[test]
fn esc_during_a_push_wait_cancels_the_poll_and_stops_polling() {
    let mut app = app_with_kelly_pending();
    push_waiting(&mut app);
    app.now = now() + secs(2);
    let (poll, _) = one_request(&tick(&mut app));
    let cmds = esc(&mut app);
    assert_eq!(cancels(&cmds), vec![poll]);
    assert!(app.dialogs.is_empty());
    // The wait is recorded as abandoned, and the devices are read again.
    assert_eq!(
        trail(&app).last(),
        Some(&(AuditKind::Verify, AuditResult::Failure))
    );
    for s in [4, 6, 10, 30] {
        app.now = now() + secs(s);
        assert!(requests(&tick(&mut app)).is_empty());
    }
    // A late answer to the cancelled poll changes nothing.
    let (status, trail_len) = (app.status.clone(), app.audit.len());
    answer(
        &mut app,
        poll,
        ApiResponse::Verified(Ok(VerifyOutcome::Verified)),
    );
    assert_eq!(app.status, status);
    assert_eq!(app.audit.len(), trail_len);
}

#[test]
fn esc_between_polls_stops_polling_too() {
    let mut app = app_with_kelly_pending();
    push_waiting(&mut app);
    let cmds = esc(&mut app);
    assert!(cancels(&cmds).is_empty());
    app.now = now() + secs(3);
    assert!(requests(&tick(&mut app)).is_empty());
}

#[test]
fn a_denied_push_stops_and_enter_sends_another() {
    let mut app = app_with_kelly_pending();
    push_waiting(&mut app);
    app.now = now() + secs(2);
    let (poll, _) = one_request(&tick(&mut app));
    answer(
        &mut app,
        poll,
        ApiResponse::Verified(Err(api_error(
            ErrorKind::PushDenied,
            Some(401),
            "Authentication denied",
        ))),
    );
    let v = top_as!(app, Verify);
    assert_eq!(v.stage, VerifyStage::Stopped);
    assert_eq!(
        v.error.as_deref(),
        Some("The user denied the push. Enter sends another.")
    );
    assert_eq!(app.dialogs.len(), 1, "no error dialog over it");
    assert_eq!(app.audit.last().unwrap().outcome, AuditResult::Failure);
    app.now = now() + secs(5);
    assert!(
        requests(&tick(&mut app)).is_empty(),
        "no polling once denied"
    );
    let (_, req) = one_request(&enter(&mut app));
    assert!(matches!(req, ApiRequest::Trigger { .. }));
}

#[test]
fn a_push_that_outlives_its_token_expires() {
    let mut app = app_with_kelly_pending();
    push_waiting(&mut app);
    app.now = now() + secs(121);
    assert!(requests(&tick(&mut app)).is_empty());
    let v = top_as!(app, Verify);
    assert_eq!(v.stage, VerifyStage::Expired);
    assert!(v.error.as_ref().unwrap().contains("expired"));
}

// ---- remove -----------------------------------------------------------------------------

#[test]
fn remove_starts_on_cancel_and_only_y_or_the_remove_button_sends() {
    let mut app = app_with_kelly();
    select_device(&mut app, 0);

    ch(&mut app, 'd');
    let d = top_as!(app, Remove);
    assert_eq!(d.button, RemoveButton::Cancel);
    assert!(!d.last, "Kelly has five devices");
    assert!(d.device.default);
    let text = screen(&app, 80, 24);
    assert!(
        text.contains("! This is the user's default device."),
        "{text}"
    );
    assert!(!text.contains("last device"), "{text}");
    assert!(enter(&mut app).is_empty());
    assert!(app.dialogs.is_empty(), "Enter on Cancel closes");

    ch(&mut app, 'd');
    assert!(ch(&mut app, 'n').is_empty());
    assert!(app.dialogs.is_empty());

    ch(&mut app, 'd');
    assert!(esc(&mut app).is_empty());
    assert!(app.dialogs.is_empty());
    assert!(app.audit.is_empty());

    ch(&mut app, 'd');
    tab(&mut app);
    assert_eq!(top_as!(app, Remove).button, RemoveButton::Remove);
    let (_, req) = one_request(&enter(&mut app));
    assert!(matches!(req, ApiRequest::Remove { .. }));
    esc(&mut app);

    ch(&mut app, 'd');
    let cmds = confirm_remove(&mut app);
    let (id, req) = one_request(&cmds);
    assert_eq!(
        req,
        ApiRequest::Remove {
            user_id: kelly().id,
            device_id: DeviceId("1001".into())
        }
    );
    let cmds = answer(&mut app, id, ApiResponse::Removed(Ok(())));
    assert!(app.dialogs.is_empty());
    let devices = app.user.as_ref().unwrap().devices.clone().unwrap();
    assert!(devices.iter().all(|d| d.id.0 != "1001"));
    assert!(status_text(&app).contains("Removed OneLogin SMS \"Kelly's phone\" from Kelly Slater"));
    assert_eq!(requests(&cmds).len(), 2, "devices and factors reload");
}

#[test]
fn removing_the_last_device_warns() {
    let mut app = new_app();
    open_user(&mut app, kelly(), vec![google_auth()], vec![sms_factor()]);
    ch(&mut app, 'd');
    let d = top_as!(app, Remove);
    assert!(d.last);
    assert!(!d.device.default);
    let text = screen(&app, 120, 40);
    assert!(text.contains("This is the user's last device"), "{text}");
    assert!(!text.contains("default device"));

    // Protect's two rows are one device: it is the last one too.
    let mut app = new_app();
    open_user(
        &mut app,
        kelly(),
        vec![protect_push(), protect_code()],
        vec![],
    );
    ch(&mut app, 'd');
    assert!(top_as!(app, Remove).last);
}

// ---- temporary token --------------------------------------------------------------------

#[test]
fn token_presets_toggle_issue_copy_and_forget() {
    let mut app = app_with_kelly();
    ch(&mut app, 'm');
    let d = top_as!(app, Token);
    assert_eq!(d.preset, 1, "1 hour by default");
    assert!(!d.reusable);
    for _ in 0..3 {
        key(&mut app, KeyCode::Left);
    }
    assert_eq!(top_as!(app, Token).preset, 0);
    for _ in 0..9 {
        key(&mut app, KeyCode::Right);
    }
    assert_eq!(top_as!(app, Token).preset, 4, "72 hours at most");
    key(&mut app, KeyCode::Left);
    key(&mut app, KeyCode::Left);
    tab(&mut app);
    assert_eq!(top_as!(app, Token).field, TokenField::Reusable);
    ch(&mut app, ' ');
    assert!(top_as!(app, Token).reusable);

    let (id, req) = one_request(&enter(&mut app));
    assert_eq!(
        req,
        ApiRequest::MfaToken {
            user_id: kelly().id,
            expires_in: 28_800,
            reusable: true
        }
    );
    answer(
        &mut app,
        id,
        ApiResponse::MfaToken(Ok(MfaToken {
            mfa_token: Secret::new("TMP-TOKEN-5ecret"),
            reusable: true,
            expires_at: Some(now() + Duration::hours(8)),
        })),
    );
    let d = top_as!(app, Token);
    assert_eq!(
        d.issued.as_ref().unwrap().mfa_token.expose(),
        "TMP-TOKEN-5ecret"
    );
    assert!(screen(&app, 120, 40).contains("TMP-TOKEN-5ecret"));

    let cmds = ch(&mut app, 'c');
    assert_eq!(cmds, vec![Cmd::Copy(Secret::new("TMP-TOKEN-5ecret"))]);
    assert!(top_as!(app, Token).copied);

    enter(&mut app);
    assert!(app.dialogs.is_empty());
    assert!(
        !screen(&app, 120, 40).contains("TMP-TOKEN"),
        "the token is gone from the screen and the state"
    );
    assert_eq!(
        trail(&app),
        vec![
            (AuditKind::MfaToken, AuditResult::Attempt),
            (AuditKind::MfaToken, AuditResult::Success),
        ]
    );
}

#[test]
fn a_required_reason_is_asked_for_before_a_token_or_a_removal() {
    let mut app = App::new(
        TenantInfo {
            require_reason: true,
            ..tenant()
        },
        now(),
    );
    open_user(&mut app, kelly(), all_devices(), vec![sms_factor()]);
    ch(&mut app, 'm');
    assert!(enter(&mut app).is_empty());
    let d = top_as!(app, Token);
    assert!(d.error.as_ref().unwrap().contains("ticket or reason"));
    assert_eq!(d.field, TokenField::Reason);
    type_text(&mut app, "INC-4242");
    let cmds = enter(&mut app);
    one_request(&cmds);
    assert_eq!(audits(&cmds)[0].reason.as_deref(), Some("INC-4242"));
    esc(&mut app);

    ch(&mut app, 'd');
    assert_eq!(
        top_as!(app, Remove).button,
        RemoveButton::Cancel,
        "focus starts on Cancel"
    );
    let cmds = confirm_remove(&mut app);
    assert!(cmds.is_empty(), "no removal without a reason: {cmds:?}");
    assert_eq!(
        top_as!(app, Remove).button,
        RemoveButton::Reason,
        "then the reason field"
    );
    assert!(
        top_as!(app, Remove)
            .error
            .as_ref()
            .unwrap()
            .contains("ticket or reason")
    );
    // y and n are text here: a reason may start with them.
    type_text(&mut app, "yes INC-4243");
    assert_eq!(
        top_as!(app, Remove).reason.as_ref().unwrap().value(),
        "yes INC-4243"
    );
    let cmds = enter(&mut app);
    one_request(&cmds);
    assert_eq!(audits(&cmds)[0].reason.as_deref(), Some("yes INC-4243"));
}

// ---- errors and permissions -------------------------------------------------------------

#[test]
fn an_error_dialog_keeps_status_message_and_request_id_until_dismissed() {
    let mut app = app_with_kelly();
    ch(&mut app, 'd');
    let (id, _) = one_request(&confirm_remove(&mut app));
    answer(
        &mut app,
        id,
        ApiResponse::Removed(Err(api_error(
            ErrorKind::Server,
            Some(500),
            "Internal Server Error",
        ))),
    );
    let e = top_as!(app, Error);
    assert_eq!(e.context, "Removing the device");
    assert_eq!(e.error.status, Some(500));
    assert_eq!(e.error.message, "Internal Server Error");
    assert_eq!(e.error.request_id.as_deref(), Some("req-7f3a9c"));
    assert_eq!(app.dialogs.len(), 1, "the remove dialog closed under it");

    for _ in 0..5 {
        app.now += secs(60);
        tick(&mut app);
    }
    for c in ['j', 'x', 'y', 'd', 'e'] {
        assert!(ch(&mut app, c).is_empty());
    }
    assert!(matches!(top(&app), Dialog::Error(_)), "still there");
    let text = screen(&app, 80, 24);
    assert!(text.contains("HTTP 500 · request id req-7f3a9c"), "{text}");
    enter(&mut app);
    assert!(app.dialogs.is_empty());
}

#[test]
fn insufficient_permission_offers_read_only_mode() {
    let mut app = app_with_kelly();
    ch(&mut app, 'm');
    let (id, _) = one_request(&enter(&mut app));
    answer(
        &mut app,
        id,
        ApiResponse::MfaToken(Err(api_error(
            ErrorKind::InsufficientPermission,
            Some(401),
            "Insufficient Permission",
        ))),
    );
    assert!(matches!(top(&app), Dialog::SwitchReadOnly(_)));
    assert!(app.dialogs.iter().any(
        |d| matches!(d, Dialog::Error(e) if e.error.kind == ErrorKind::InsufficientPermission)
    ));
    ch(&mut app, 'y');
    assert!(app.tenant.read_only);
    assert!(app.dialogs.is_empty());
    assert!(status_text(&app).starts_with("Read-only mode"));
    assert!(requests(&ch(&mut app, 'm')).is_empty());
    assert!(app.dialogs.is_empty());
}

#[test]
fn declining_read_only_mode_leaves_the_error_to_read() {
    let mut app = app_with_kelly();
    ch(&mut app, 'd');
    let (id, _) = one_request(&confirm_remove(&mut app));
    answer(
        &mut app,
        id,
        ApiResponse::Removed(Err(api_error(
            ErrorKind::InsufficientPermission,
            Some(401),
            "Insufficient Permission",
        ))),
    );
    ch(&mut app, 'n');
    assert!(!app.tenant.read_only);
    assert!(matches!(top(&app), Dialog::Error(_)));
}

fn read_only_kelly() -> App {
    let mut app = App::new(
        TenantInfo {
            read_only: true,
            ..tenant()
        },
        now(),
    );
    open_user(
        &mut app,
        kelly(),
        all_devices(),
        vec![sms_factor(), voice_factor()],
    );
    app
}

#[test]
fn read_only_refuses_every_change_with_a_reason() {
    let mut app = read_only_kelly();
    for (c, name) in [
        ('e', "enroll"),
        ('t', "trigger"),
        ('v', "verify"),
        ('d', "remove"),
        ('m', "token"),
    ] {
        // `v` activates a pending device (on an active one it is a caller check, which
        // read-only mode allows).
        select_device(&mut app, if c == 'v' { 1 } else { 0 });
        app.status = None;
        let cmds = ch(&mut app, c);
        assert!(requests(&cmds).is_empty(), "{c}: {cmds:?}");
        assert!(app.dialogs.is_empty(), "{c} opened a dialog");
        let status = app.status.clone().unwrap();
        assert_eq!(status.kind, StatusKind::Warning);
        assert_eq!(
            status.text,
            format!("Read-only mode: {name} is disabled for this tenant.")
        );
    }
    // Each refusal is on the audit trail, and nothing else is.
    assert_eq!(app.audit.len(), 5);
    assert!(app.audit.iter().all(|n| n.outcome == AuditResult::Refused));
}

#[test]
fn read_only_refuses_enter_on_an_available_factor() {
    let mut app = read_only_kelly();
    tab(&mut app);
    assert_eq!(app.focus, Focus::Factors);
    let cmds = enter(&mut app);
    assert!(requests(&cmds).is_empty(), "{cmds:?}");
    assert_eq!(audits(&cmds)[0].outcome, AuditResult::Refused);
    assert!(
        app.dialogs.is_empty(),
        "an enroll dialog opened in read-only mode: {:?}",
        app.dialogs
    );
    assert!(status_text(&app).starts_with("Read-only mode"));
}

#[test]
fn enter_on_an_available_factor_enrolls_that_factor() {
    let mut app = app_with_kelly();
    tab(&mut app);
    ch(&mut app, 'j');
    enter(&mut app);
    let d = top_as!(app, Enroll);
    assert_eq!(d.factors[d.factor], voice_factor());
}

// ---- keys -------------------------------------------------------------------------------

#[test]
fn tab_and_shift_tab_walk_each_dialogs_fields_in_order() {
    let mut app = app_with_kelly();
    ch(&mut app, 'e');
    let order = |app: &mut App, back: bool| -> Vec<EnrollField> {
        (0..4)
            .map(|_| {
                if back {
                    back_tab(app)
                } else {
                    tab(app)
                };
                top_as!(app, Enroll).field
            })
            .collect()
    };
    // Focus starts on the first field, the factor.
    assert_eq!(top_as!(app, Enroll).field, EnrollField::Factor);
    use EnrollField::*;
    assert_eq!(order(&mut app, false), vec![Name, Phone, Verified, Factor]);
    assert_eq!(order(&mut app, true), vec![Verified, Phone, Name, Factor]);
    // Shift-Tab reported as Tab with SHIFT works the same.
    key_mod(&mut app, KeyCode::Tab, KeyModifiers::SHIFT);
    assert_eq!(top_as!(app, Enroll).field, Verified);
    esc(&mut app);

    select_device(&mut app, 0);
    ch(&mut app, 't');
    let mut seen = vec![];
    for _ in 0..3 {
        tab(&mut app);
        seen.push(top_as!(app, Trigger).field);
    }
    use TriggerField::*;
    assert_eq!(seen, vec![Numeric, Template, ExpiresIn]);
    back_tab(&mut app);
    assert_eq!(top_as!(app, Trigger).field, Template);
    esc(&mut app);

    ch(&mut app, 'm');
    tab(&mut app);
    assert_eq!(top_as!(app, Token).field, TokenField::Reusable);
    tab(&mut app);
    assert_eq!(top_as!(app, Token).field, TokenField::ExpiresIn);
    back_tab(&mut app);
    assert_eq!(top_as!(app, Token).field, TokenField::Reusable);
    esc(&mut app);

    ch(&mut app, 'd');
    tab(&mut app);
    assert_eq!(top_as!(app, Remove).button, RemoveButton::Remove);
    back_tab(&mut app);
    assert_eq!(top_as!(app, Remove).button, RemoveButton::Cancel);
}

#[test]
fn enter_submits_from_any_field() {
    for field in EnrollDialogFields::ALL {
        let mut app = app_with_kelly();
        ch(&mut app, 'e');
        type_text(&mut app, "Work phone");
        tab(&mut app);
        type_text(&mut app, "+14155550123");
        while top_as!(app, Enroll).field != field {
            tab(&mut app);
        }
        let (_, req) = one_request(&enter(&mut app));
        assert!(matches!(req, ApiRequest::Enroll { .. }), "from {field:?}");
    }
    for stops in 0..3 {
        let mut app = app_with_kelly();
        select_device(&mut app, 0);
        ch(&mut app, 't');
        for _ in 0..stops {
            tab(&mut app);
        }
        let (_, req) = one_request(&enter(&mut app));
        assert!(
            matches!(req, ApiRequest::Trigger { .. }),
            "after {stops} tabs"
        );
    }
    for stops in 0..2 {
        let mut app = app_with_kelly();
        ch(&mut app, 'm');
        for _ in 0..stops {
            tab(&mut app);
        }
        let (_, req) = one_request(&enter(&mut app));
        assert!(
            matches!(req, ApiRequest::MfaToken { .. }),
            "after {stops} tabs"
        );
    }
}

struct EnrollDialogFields;
impl EnrollDialogFields {
    const ALL: [EnrollField; 4] = [
        EnrollField::Factor,
        EnrollField::Name,
        EnrollField::Phone,
        EnrollField::Verified,
    ];
}

#[test]
fn q_quits_only_at_the_top_level() {
    // In the search box it is typed.
    let mut app = new_app();
    ch(&mut app, '/');
    let cmds = ch(&mut app, 'q');
    assert!(!has_quit(&cmds) && !app.quit);
    assert_eq!(app.search.input.value(), "q");

    // In a dialog's text field it is typed.
    let mut app = app_with_kelly();
    ch(&mut app, 'e');
    assert!(!has_quit(&ch(&mut app, 'q')));
    assert_eq!(top_as!(app, Enroll).name.value(), "q");
    esc(&mut app);

    // In help it closes help, not the console.
    ch(&mut app, '?');
    assert!(matches!(top(&app), Dialog::Help { .. }));
    assert!(!has_quit(&ch(&mut app, 'q')));
    assert!(app.dialogs.is_empty() && !app.quit);

    // In the remove dialog it does nothing.
    ch(&mut app, 'd');
    assert!(!has_quit(&ch(&mut app, 'q')));
    assert!(!app.quit);
    esc(&mut app);

    // At the top level it quits.
    assert_eq!(app.focus, Focus::Devices);
    let cmds = ch(&mut app, 'q');
    assert!(has_quit(&cmds) && app.quit);
}

#[test]
fn ctrl_c_exits_from_anywhere_and_asks_again_while_a_change_is_in_flight() {
    let mut app = new_app();
    ch(&mut app, '/');
    type_text(&mut app, "kel");
    assert!(has_quit(&ctrl_c(&mut app)), "from the search box");

    let mut app = app_with_kelly();
    ch(&mut app, 'e');
    assert!(
        has_quit(&ctrl_c(&mut app)),
        "from a dialog, nothing in flight"
    );

    let mut app = app_with_kelly();
    ch(&mut app, 'd');
    confirm_remove(&mut app);
    assert!(app.change_in_flight());
    let cmds = ctrl_c(&mut app);
    assert!(!has_quit(&cmds) && !app.quit);
    let status = app.status.clone().unwrap();
    assert_eq!(status.kind, StatusKind::Warning);
    assert!(status.text.contains("press Ctrl-C again"));
    assert!(has_quit(&ctrl_c(&mut app)));

    // Another key in between disarms it.
    let mut app = app_with_kelly();
    ch(&mut app, 'd');
    confirm_remove(&mut app);
    ctrl_c(&mut app);
    ch(&mut app, 'j');
    assert!(!has_quit(&ctrl_c(&mut app)));
}

#[test]
fn key_releases_are_ignored() {
    let mut app = new_app();
    let mut ev = crossterm::event::KeyEvent::new(KeyCode::Char('x'), KeyModifiers::NONE);
    ev.kind = crossterm::event::KeyEventKind::Release;
    mfadesk::app::update(&mut app, mfadesk::app::Msg::Key(ev));
    assert_eq!(app.search.input.value(), "");
}

// ---- audit ------------------------------------------------------------------------------

#[test]
fn every_change_records_an_attempt_then_an_outcome_without_secrets() {
    let mut app = app_with_kelly();
    let mut notes = Vec::new();

    // Enroll (guided): enroll, trigger, verify.
    let enroll = fill_and_submit_enroll(&mut app);
    let cmds = answer(
        &mut app,
        enroll,
        ApiResponse::Enrolled(Ok(mfadesk::api::Enrollment::Device(OtpDevice {
            state_token: None,
            ..enrolled_sms("2001", "Work phone", "+14155550123", false)
        }))),
    );
    let (trigger, _) = request_where(&cmds, |r| matches!(r, ApiRequest::Trigger { .. }));
    answer(&mut app, trigger, trigger_ok("2001", "st-secret-1"));
    type_text(&mut app, "314159");
    let (verify, _) = one_request(&enter(&mut app));
    answer(
        &mut app,
        verify,
        ApiResponse::Verified(Ok(VerifyOutcome::Verified)),
    );
    // A failed remove.
    select_device(&mut app, 0);
    ch(&mut app, 'd');
    let (remove, _) = one_request(&confirm_remove(&mut app));
    answer(
        &mut app,
        remove,
        ApiResponse::Removed(Err(api_error(ErrorKind::NotFound, Some(404), "Not found"))),
    );
    esc(&mut app);
    // A token.
    ch(&mut app, 'm');
    let (token, _) = one_request(&enter(&mut app));
    answer(
        &mut app,
        token,
        ApiResponse::MfaToken(Ok(MfaToken {
            mfa_token: Secret::new("TMP-SECRET-99"),
            reusable: false,
            expires_at: None,
        })),
    );
    ch(&mut app, 'c');
    esc(&mut app);
    notes.extend(app.audit.iter().cloned());

    assert_eq!(
        notes
            .iter()
            .map(|n| (n.action, n.outcome))
            .collect::<Vec<_>>(),
        vec![
            (AuditKind::Enroll, AuditResult::Attempt),
            (AuditKind::Enroll, AuditResult::Success),
            (AuditKind::Trigger, AuditResult::Attempt),
            (AuditKind::Trigger, AuditResult::Success),
            (AuditKind::Verify, AuditResult::Attempt),
            (AuditKind::Verify, AuditResult::Success),
            (AuditKind::Remove, AuditResult::Attempt),
            (AuditKind::Remove, AuditResult::Failure),
            (AuditKind::MfaToken, AuditResult::Attempt),
            (AuditKind::MfaToken, AuditResult::Success),
        ]
    );
    for n in &notes {
        assert_eq!(n.user_id, kelly().id);
        assert_eq!(n.user_email.as_deref(), Some("kelly@acme.com"));
        let text = format!("{n:?}");
        for secret in ["st-from-enroll", "st-secret-1", "314159", "TMP-SECRET-99"] {
            assert!(!text.contains(secret), "{secret} leaked into {text}");
        }
    }
    let failure = &notes[7];
    assert_eq!(failure.http_status, Some(404));
    assert_eq!(failure.request_id.as_deref(), Some("req-7f3a9c"));
    assert_eq!(failure.device_id.as_deref(), Some("1001"));
    // The audit pane shows the same trail.
    ch(&mut app, 'A');
    let text = screen(&app, 120, 40);
    assert!(
        text.contains("remove    FAILED 404  Kelly Slater <kelly@acme.com>"),
        "{text}"
    );
}

#[test]
fn guided_enrollment_uses_the_code_enroll_sent_and_enter_on_empty_sends_another() {
    let mut app = app_with_kelly();
    let enroll = fill_and_submit_enroll(&mut app);
    let cmds = answer(
        &mut app,
        enroll,
        ApiResponse::Enrolled(Ok(mfadesk::api::Enrollment::Device(OtpDevice {
            state_token: Some(Secret::new("st-from-enroll")),
            ..enrolled_sms("2001", "Work phone", "+14155550123", false)
        }))),
    );
    // The tenant already sent the first code: no second SMS.
    assert!(
        !requests(&cmds)
            .iter()
            .any(|(_, r)| matches!(r, ApiRequest::Trigger { .. })),
        "{cmds:?}"
    );
    let d = top_as!(app, Verify);
    assert_eq!(d.stage, VerifyStage::EnterCode);
    assert!(d.expires_at.is_some(), "countdown shown");
    // Enter on the empty field asks for a new code (once 30 s have passed since the first).
    app.now += secs(30);
    let (_, req) = one_request(&enter(&mut app));
    assert!(matches!(req, ApiRequest::Trigger { .. }), "{req:?}");
    // The code uses the enroll's state token when typed.
    let mut app = app_with_kelly();
    let enroll = fill_and_submit_enroll(&mut app);
    answer(
        &mut app,
        enroll,
        ApiResponse::Enrolled(Ok(mfadesk::api::Enrollment::Device(OtpDevice {
            state_token: Some(Secret::new("st-from-enroll")),
            ..enrolled_sms("2001", "Work phone", "+14155550123", false)
        }))),
    );
    type_text(&mut app, "ABC123");
    let (_, req) = one_request(&enter(&mut app));
    let ApiRequest::Verify {
        state_token, otp, ..
    } = req
    else {
        panic!("{req:?}")
    };
    assert_eq!(state_token.unwrap().expose(), "st-from-enroll");
    assert_eq!(otp.unwrap().expose(), "ABC123");
}

#[test]
fn typing_on_the_factor_picker_starts_the_name() {
    let mut app = app_with_kelly();
    ch(&mut app, 'e');
    assert_eq!(top_as!(app, Enroll).field, EnrollField::Factor);
    type_text(&mut app, "Work phone");
    let d = top_as!(app, Enroll);
    assert_eq!(d.field, EnrollField::Name);
    assert_eq!(d.name.value(), "Work phone");
    // Tab first, as the field order suggests, works the same.
    esc(&mut app);
    ch(&mut app, 'e');
    tab(&mut app);
    type_text(&mut app, "Desk");
    assert_eq!(top_as!(app, Enroll).name.value(), "Desk");
}

#[test]
fn typing_a_lifetime_replaces_the_prefilled_one() {
    let mut app = app_with_kelly();
    select_device(&mut app, 0);
    ch(&mut app, 't');
    assert_eq!(top_as!(app, Trigger).expires_in.value(), "120");
    type_text(&mut app, "300");
    assert_eq!(top_as!(app, Trigger).expires_in.value(), "300");
    let (_, req) = one_request(&enter(&mut app));
    assert!(
        matches!(
            req,
            ApiRequest::Trigger {
                expires_in: Some(300),
                ..
            }
        ),
        "{req:?}"
    );
    // Moving the cursor first keeps the value for editing.
    esc(&mut app);
    ch(&mut app, 't');
    key(&mut app, KeyCode::End);
    type_text(&mut app, "0");
    assert_eq!(top_as!(app, Trigger).expires_in.value(), "1200");
}

#[test]
fn an_expired_push_closes_its_verification_before_a_new_one() {
    let mut app = app_with_kelly_pending();
    push_waiting(&mut app);
    app.now = now() + secs(121);
    tick(&mut app);
    assert_eq!(top_as!(app, Verify).stage, VerifyStage::Expired);
    assert_eq!(
        trail(&app).last(),
        Some(&(AuditKind::Verify, AuditResult::Failure)),
        "the expired push is settled"
    );
    // Sending again opens a new attempt; every attempt has exactly one outcome.
    let (id, _) = one_request(&enter(&mut app));
    answer(&mut app, id, trigger_ok("1003", "st-push2"));
    app.now += secs(2);
    let (poll, _) = one_request(&tick(&mut app));
    answer(
        &mut app,
        poll,
        ApiResponse::Verified(Ok(VerifyOutcome::Verified)),
    );
    let t = trail(&app);
    for kind in [AuditKind::Trigger, AuditKind::Verify] {
        let attempts = t
            .iter()
            .filter(|(k, o)| *k == kind && *o == AuditResult::Attempt)
            .count();
        let outcomes = t
            .iter()
            .filter(|(k, o)| *k == kind && *o != AuditResult::Attempt)
            .count();
        assert_eq!(attempts, outcomes, "{kind:?}: {t:?}");
    }
}

#[test]
fn a_merged_search_shows_no_total_even_after_more_pages() {
    let mut app = new_app();
    ch(&mut app, '/');
    type_text(&mut app, "kelly");
    let (id, _) = one_request(&enter(&mut app));
    let page: Vec<User> = (1..=10)
        .map(|i| user(i, "Kelly", &format!("N{i}"), "k@acme.com", 1))
        .collect();
    let next = vec![UserQuery {
        firstname: Some("kelly*".into()),
        cursor: Some("c2".into()),
        limit: Some(50),
        ..UserQuery::default()
    }];
    answer(
        &mut app,
        id,
        ApiResponse::Search(Ok(SearchResult {
            users: page,
            next,
            total: None,
        })),
    );
    let (more, _) = one_request(&key(&mut app, KeyCode::Char('G')));
    let extra: Vec<User> = (11..=12)
        .map(|i| user(i, "Kelly", &format!("N{i}"), "k@acme.com", 1))
        .collect();
    answer(
        &mut app,
        more,
        ApiResponse::Search(Ok(SearchResult {
            users: extra,
            next: vec![],
            total: Some(12),
        })),
    );
    assert_eq!(app.search.results.len(), 12);
    assert_eq!(
        app.search.total, None,
        "one field's total is not the merged list's"
    );
}

#[test]
fn being_stopped_mid_change_settles_it_as_unknown_and_quits() {
    let mut app = app_with_kelly();
    ch(&mut app, 'm');
    one_request(&enter(&mut app));
    let cmds = update(&mut app, Msg::Terminate);
    assert!(cmds.contains(&Cmd::Quit) && app.quit);
    let notes = audits(&cmds);
    assert_eq!(notes.len(), 1, "{cmds:?}");
    assert_eq!(notes[0].action, AuditKind::MfaToken);
    assert_eq!(notes[0].outcome, AuditResult::Unknown);
    assert!(
        notes[0]
            .message
            .as_deref()
            .unwrap()
            .contains("outcome is unknown")
    );
}

#[test]
fn an_older_device_read_answering_last_never_overwrites_a_newer_one() {
    let mut app = new_app();
    open_user(&mut app, kelly(), all_devices(), vec![sms_factor()]);
    let everyone = all_devices();
    let remove = |app: &mut App| -> RequestId {
        ch(app, 'd');
        let (id, _) = requests(&confirm_remove(app))
            .into_iter()
            .find(|(_, r)| matches!(r, ApiRequest::Remove { .. }))
            .expect("a removal sent");
        id
    };
    let reread = |cmds: &[Cmd]| -> RequestId {
        requests(cmds)
            .into_iter()
            .find(|(_, r)| matches!(r, ApiRequest::GetDevices(_)))
            .map(|(id, _)| id)
            .expect("the devices read again")
    };
    // Two removals, each followed by a read of the devices; the first read answers last.
    let first = remove(&mut app);
    let read_1 = reread(&answer(&mut app, first, ApiResponse::Removed(Ok(()))));
    let second = remove(&mut app);
    let read_2 = reread(&answer(&mut app, second, ApiResponse::Removed(Ok(()))));
    let left: Vec<OtpDevice> = everyone[2..].to_vec();
    answer(&mut app, read_2, ApiResponse::Devices(Ok(left.clone())));
    answer(
        &mut app,
        read_1,
        ApiResponse::Devices(Ok(everyone[1..].to_vec())),
    );
    let shown = app.user.as_ref().unwrap().devices.clone().unwrap();
    assert_eq!(shown, left, "the newer read stands");
}
