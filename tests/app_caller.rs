//! Update tests of the caller check: `c`, push and code checks, failures, read-only mode and
//! credentials, the gate on guarded changes, the override, and what the audit lines carry.

mod common;

use common::*;
use crossterm::event::KeyCode;
use mfadesk::api::{DeviceId, ErrorKind, OtpDevice, Secret, VerifyOutcome};
use mfadesk::app::caller::{NO_ACTIVE_DEVICE, NO_SCOPE, NOT_CHECKED};
use mfadesk::app::dialogs::{Dialog, EnrollField, RemoveButton, VerifyDialog, VerifyStage};
use mfadesk::app::{
    App, AuditKind, AuditNote, AuditResult, CallerCheckRef, CallerCheckSettings, Cmd, TenantInfo,
};
use mfadesk::policy::{CheckOutcome, GuardedAction};
use mfadesk::ui::footer_keys;
use mfadesk::worker::{ApiRequest, ApiResponse, RequestId};

// ---- helpers ----------------------------------------------------------------------------

fn policy(required: &[GuardedAction]) -> CallerCheckSettings {
    CallerCheckSettings {
        required: required.iter().copied().collect(),
        ..CallerCheckSettings::default()
    }
}

fn kelly_with(tenant: TenantInfo, devices: Vec<OtpDevice>) -> App {
    let mut app = App::new(tenant, now());
    app.operator = "jdoe".into();
    open_user(&mut app, kelly(), devices, vec![sms_factor()]);
    // The once-a-session scope probe has its own tests; here it has been answered already.
    app.credential_probed = true;
    app
}

/// Kelly open on a tenant that requires a check before these changes.
fn kelly_requiring(required: &[GuardedAction]) -> App {
    kelly_with(
        TenantInfo {
            caller_check: policy(required),
            ..tenant()
        },
        all_devices(),
    )
}

fn audits(cmds: &[Cmd]) -> Vec<AuditNote> {
    cmds.iter()
        .filter_map(|c| match c {
            Cmd::Audit(n) => Some(n.clone()),
            _ => None,
        })
        .collect()
}

fn checks(app: &App) -> Vec<(AuditResult, Option<String>)> {
    app.audit
        .iter()
        .filter(|n| n.action == AuditKind::CallerCheck)
        .map(|n| (n.outcome, n.method.clone()))
        .collect()
}

fn status_text(app: &App) -> String {
    app.status
        .as_ref()
        .map(|s| s.text.clone())
        .unwrap_or_default()
}

fn check_dialog(app: &App) -> &mfadesk::app::caller::CallerCheckDialog {
    match app.dialogs.last() {
        Some(Dialog::CallerCheck(d)) => d,
        other => panic!("expected the caller-check dialog, found {other:?}"),
    }
}

/// The verify dialog in check mode, which takes over once a device is chosen.
fn check_verify(app: &App) -> &VerifyDialog {
    match app.dialogs.last() {
        Some(Dialog::Verify(v)) if v.is_check() => v,
        other => panic!("expected the check's verify dialog, found {other:?}"),
    }
}

fn verified() -> ApiResponse {
    ApiResponse::Verified(Ok(VerifyOutcome::Verified))
}

/// Moves the check dialog's highlight to the device at `index` of its list.
fn pick(app: &mut App, index: usize) {
    for _ in 0..index {
        ch(app, 'j');
    }
    assert_eq!(check_dialog(app).selected, index);
}

/// Runs a successful check with the Google Authenticator code (index 2 of the list).
fn check_by_code(app: &mut App) {
    ch(app, 'c');
    pick(app, 2);
    assert!(
        requests(&enter(app)).is_empty(),
        "a code device sends nothing first"
    );
    type_text(app, "123456");
    let (id, req) = one_request(&enter(app));
    assert_eq!(
        req,
        ApiRequest::Verify {
            user_id: kelly().id,
            device_id: DeviceId("1004".into()),
            state_token: None,
            otp: Some(Secret::new("123456")),
        }
    );
    answer(app, id, verified());
    assert!(
        !matches!(app.dialogs.last(), Some(Dialog::CallerCheck(_))),
        "the dialog closes on success"
    );
}

fn pane(app: &App) -> String {
    screen(app, 120, 40)
}

fn remove_request(cmds: &[Cmd]) -> Option<RequestId> {
    requests(cmds)
        .into_iter()
        .find(|(_, r)| matches!(r, ApiRequest::Remove { .. }))
        .map(|(id, _)| id)
}

// ---- the dialog -------------------------------------------------------------------------

#[test]
fn c_lists_the_active_devices_default_first_with_how_each_checks() {
    let mut devices = all_devices();
    // The default device last in the tenant's list still comes first.
    devices.rotate_left(1);
    let mut app = kelly_with(tenant(), devices);
    let cmds = ch(&mut app, 'c');
    assert!(
        requests(&cmds).is_empty(),
        "opening the dialog sends nothing"
    );
    let d = check_dialog(&app);
    let listed: Vec<(&str, &str)> = d
        .devices
        .iter()
        .map(|x| {
            (
                x.device.id.0.as_str(),
                mfadesk::app::caller::method_word(mfadesk::app::dialogs::DeviceKind::of(&x.device)),
            )
        })
        .collect();
    // The pending voice device (1002) is never offered: a check never activates a device.
    // Codes come before the push, which says why it is the weakest.
    assert_eq!(
        listed,
        vec![
            ("1001", "SMS code"),
            ("1003", "code"),
            ("1004", "code"),
            ("1005", "code"),
            (
                "1003",
                "push (weakest: the real user may approve it out of habit)"
            ),
        ]
    );
    let text = pane(&app);
    assert!(text.contains("Check caller"), "{text}");
}

#[test]
fn a_push_check_waits_with_the_countdown_and_succeeds_on_approval() {
    let mut app = kelly_with(tenant(), all_devices());
    ch(&mut app, 'c');
    pick(&mut app, 4);
    let cmds = enter(&mut app);
    let (id, req) = one_request(&cmds);
    assert!(matches!(req, ApiRequest::Trigger { ref device_id, .. } if device_id.0 == "1003"));
    let attempt = audits(&cmds);
    assert_eq!(attempt.len(), 1);
    assert_eq!(attempt[0].action, AuditKind::CallerCheck);
    assert_eq!(attempt[0].outcome, AuditResult::Attempt);
    assert_eq!(attempt[0].method.as_deref(), Some("push"));
    assert_eq!(attempt[0].device_id.as_deref(), Some("1003"));
    assert_eq!(
        attempt[0].caller_check, None,
        "a check line refers to no check"
    );

    answer(&mut app, id, trigger_ok("1003", "push-state-token"));
    assert!(matches!(
        check_verify(&app).stage,
        VerifyStage::AwaitPush { .. }
    ));
    assert!(app.needs_tick());
    assert!(pane(&app).contains("expires in 2:00"), "{}", pane(&app));
    assert!(
        requests(&tick(&mut app)).is_empty(),
        "no poll before it is due"
    );

    app.now = now() + secs(2);
    let (poll, req) = one_request(&tick(&mut app));
    assert!(matches!(req, ApiRequest::Verify { otp: None, .. }));
    answer(
        &mut app,
        poll,
        ApiResponse::Verified(Ok(VerifyOutcome::Pending {
            message: "Authentication pending on OL Protect".into(),
        })),
    );
    assert!(pane(&app).contains("expires in 1:58"), "{}", pane(&app));
    app.now = now() + secs(4);
    let (poll, _) = one_request(&tick(&mut app));
    let cmds = answer(&mut app, poll, verified());
    let done = audits(&cmds);
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].outcome, AuditResult::Success);
    assert_eq!(done[0].method.as_deref(), Some("push"));
    assert!(app.dialogs.is_empty());
    let check = app.caller_check().expect("a check for Kelly");
    assert_eq!(check.outcome, CheckOutcome::Success);
    assert_eq!(check.at, now() + secs(4));
    assert!(
        pane(&app).contains("✓ Caller checked 12:00 by jdoe (OneLogin Protect \"Pixel 8\")"),
        "{}",
        pane(&app)
    );
}

#[test]
fn an_sms_check_triggers_then_takes_the_code_and_a_wrong_code_fails() {
    let mut app = kelly_with(tenant(), all_devices());
    ch(&mut app, 'c');
    let (id, req) = one_request(&enter(&mut app));
    assert!(matches!(req, ApiRequest::Trigger { ref device_id, .. } if device_id.0 == "1001"));
    answer(&mut app, id, trigger_ok("1001", "sms-state-token"));
    assert_eq!(check_verify(&app).stage, VerifyStage::EnterCode);
    type_text(&mut app, "B41832");
    let (id, req) = one_request(&enter(&mut app));
    assert_eq!(
        req,
        ApiRequest::Verify {
            user_id: kelly().id,
            device_id: DeviceId("1001".into()),
            state_token: Some(Secret::new("sms-state-token")),
            otp: Some(Secret::new("B41832")),
        }
    );
    app.now = now() + secs(60);
    let cmds = answer(
        &mut app,
        id,
        ApiResponse::Verified(Err(api_error(
            ErrorKind::WrongCode,
            Some(401),
            "Failed authentication with this factor",
        ))),
    );
    let failed = audits(&cmds);
    assert_eq!(failed[0].outcome, AuditResult::Failure);
    assert_eq!(failed[0].method.as_deref(), Some("code"));
    // The dialog stays on the code, which is kept for correcting.
    let d = check_verify(&app);
    assert_eq!(d.stage, VerifyStage::EnterCode);
    assert_eq!(d.code.value(), "B41832");
    assert!(
        pane(&app).contains("✗ Caller check failed 12:01: wrong code"),
        "{}",
        pane(&app)
    );

    // A second try is a new attempt.
    let (id, _) = one_request(&enter(&mut app));
    answer(&mut app, id, verified());
    assert_eq!(
        checks(&app),
        vec![
            (AuditResult::Attempt, Some("code".into())),
            (AuditResult::Failure, Some("code".into())),
            (AuditResult::Attempt, Some("code".into())),
            (AuditResult::Success, Some("code".into())),
        ]
    );
    assert!(pane(&app).contains("✓ Caller checked 12:01 by jdoe (OneLogin SMS \"Kelly's phone\")"));
}

#[test]
fn no_code_reaches_the_audit_trail() {
    let mut app = kelly_with(tenant(), all_devices());
    check_by_code(&mut app);
    let all = format!("{:?}", app.audit);
    assert!(!all.contains("123456"), "{all}");
}

#[test]
fn a_denied_push_and_an_expired_push_fail_the_check() {
    let mut app = kelly_with(tenant(), all_devices());
    ch(&mut app, 'c');
    pick(&mut app, 4);
    let (id, _) = one_request(&enter(&mut app));
    answer(&mut app, id, trigger_ok("1003", "push-1"));
    app.now = now() + secs(2);
    let (poll, _) = one_request(&tick(&mut app));
    answer(
        &mut app,
        poll,
        ApiResponse::Verified(Err(api_error(ErrorKind::PushDenied, Some(401), "denied"))),
    );
    assert_eq!(check_verify(&app).stage, VerifyStage::Stopped);
    assert!(pane(&app).contains("✗ Caller check failed 12:00: push denied"));

    // Again, and this time nobody answers before the state token runs out.
    let (id, _) = one_request(&enter(&mut app));
    answer(&mut app, id, trigger_ok("1003", "push-2"));
    app.now = now() + secs(200);
    let cmds = tick(&mut app);
    assert!(requests(&cmds).is_empty());
    assert_eq!(audits(&cmds)[0].outcome, AuditResult::Failure);
    assert!(pane(&app).contains("✗ Caller check failed 12:03: push expired"));
    assert!(!app.needs_tick(), "nothing left to wait for");
}

#[test]
fn closing_the_dialog_during_a_push_wait_stops_it_and_records_the_check_as_cancelled() {
    let mut app = kelly_with(tenant(), all_devices());
    ch(&mut app, 'c');
    pick(&mut app, 4);
    let (id, _) = one_request(&enter(&mut app));
    answer(&mut app, id, trigger_ok("1003", "push-1"));
    app.now = now() + secs(2);
    let (poll, _) = one_request(&tick(&mut app));
    let cmds = esc(&mut app);
    assert_eq!(cancels(&cmds), vec![poll]);
    // Closing proves nothing either way: unknown and cancelled, never a failure.
    assert_eq!(audits(&cmds)[0].outcome, AuditResult::Unknown);
    assert_eq!(audits(&cmds)[0].cancelled, Some(true));
    assert!(app.dialogs.is_empty());
    assert!(
        !pane(&app).contains("Caller check failed"),
        "{}",
        pane(&app)
    );
    // A late answer is dropped: the caller is not checked.
    answer(&mut app, poll, verified());
    assert!(app.caller_check().is_none());
}

#[test]
fn a_user_with_no_active_device_gets_the_message_and_nothing_is_sent() {
    let mut app = kelly_with(tenant(), vec![voice_device()]);
    let cmds = ch(&mut app, 'c');
    assert!(cmds.is_empty(), "{cmds:?}");
    assert!(app.dialogs.is_empty());
    assert_eq!(status_text(&app), NO_ACTIVE_DEVICE);
    assert!(pane(&app).contains(NO_ACTIVE_DEVICE));
}

// ---- read-only mode and credentials -----------------------------------------------------

#[test]
fn read_only_mode_allows_the_check_unless_the_profile_forbids_it() {
    let mut app = kelly_with(
        TenantInfo {
            read_only: true,
            ..tenant()
        },
        all_devices(),
    );
    assert!(footer_keys(&app).contains(&("c".into(), "caller".into())));
    ch(&mut app, 'c');
    let (id, req) = one_request(&enter(&mut app));
    assert!(matches!(req, ApiRequest::Trigger { .. }));
    answer(&mut app, id, trigger_ok("1001", "t"));
    assert_eq!(check_verify(&app).stage, VerifyStage::EnterCode);

    let mut app = kelly_with(
        TenantInfo {
            read_only: true,
            caller_check: CallerCheckSettings {
                read_only_allowed: false,
                ..CallerCheckSettings::default()
            },
            ..tenant()
        },
        all_devices(),
    );
    assert!(!footer_keys(&app).iter().any(|(k, _)| k == "c"));
    let cmds = ch(&mut app, 'c');
    assert!(requests(&cmds).is_empty());
    assert!(app.dialogs.is_empty());
    assert!(status_text(&app).contains("read_only_caller_check = false"));
    let refused = audits(&cmds);
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].action, AuditKind::CallerCheck);
    assert_eq!(refused[0].outcome, AuditResult::Refused);
}

#[test]
fn a_read_users_credential_is_told_once_and_then_sends_nothing() {
    let mut app = kelly_with(tenant(), all_devices());
    ch(&mut app, 'c');
    let (id, _) = one_request(&enter(&mut app));
    answer(
        &mut app,
        id,
        ApiResponse::Triggered(Err(api_error(
            ErrorKind::InsufficientPermission,
            Some(401),
            "Insufficient Permission",
        ))),
    );
    assert_eq!(status_text(&app), NO_SCOPE);
    assert!(pane(&app).contains("This API credential cannot check callers"));
    // Enter again in the dialog, or c again later: nothing goes out.
    assert!(requests(&enter(&mut app)).is_empty());
    esc(&mut app);
    let cmds = ch(&mut app, 'c');
    assert!(cmds.is_empty(), "{cmds:?}");
    assert!(app.dialogs.is_empty());
    assert_eq!(status_text(&app), NO_SCOPE);
    assert!(!footer_keys(&app).iter().any(|(k, _)| k == "c"));
}

/// The first `c` of a session asks, with a trigger for a device no user has, whether the
/// credential may trigger at all.
fn probing_kelly() -> (App, RequestId) {
    let mut app = kelly_with(tenant(), all_devices());
    app.credential_probed = false;
    let cmds = ch(&mut app, 'c');
    let (id, req) = one_request(&cmds);
    let ApiRequest::Trigger { device_id, .. } = req else {
        panic!("the probe is a trigger: {req:?}");
    };
    assert_eq!(
        device_id,
        DeviceId("0".into()),
        "no real device is triggered"
    );
    assert!(
        audits(&cmds).is_empty(),
        "the probe changes nothing and is not audited"
    );
    assert!(matches!(app.dialogs.last(), Some(Dialog::CallerCheck(_))));
    (app, id)
}

#[test]
fn a_read_users_credential_is_told_at_the_first_c_before_any_device_is_triggered() {
    let (mut app, id) = probing_kelly();
    answer(
        &mut app,
        id,
        ApiResponse::Triggered(Err(api_error(
            ErrorKind::InsufficientPermission,
            Some(401),
            "Insufficient Permission",
        ))),
    );
    assert!(app.dialogs.is_empty(), "no device list to choose from");
    assert_eq!(status_text(&app), NO_SCOPE);
    let cmds = ch(&mut app, 'c');
    assert!(cmds.is_empty(), "asked once a session: {cmds:?}");
    assert_eq!(status_text(&app), NO_SCOPE);
}

#[test]
fn a_credential_that_may_trigger_keeps_the_dialog_and_is_asked_once() {
    let (mut app, id) = probing_kelly();
    answer(
        &mut app,
        id,
        ApiResponse::Triggered(Err(api_error(
            ErrorKind::NotFound,
            Some(404),
            "Factor could not be found",
        ))),
    );
    assert!(matches!(app.dialogs.last(), Some(Dialog::CallerCheck(_))));
    assert!(
        app.status.is_none(),
        "a not-found probe is no news for the agent"
    );
    esc(&mut app);
    assert!(
        requests(&ch(&mut app, 'c')).is_empty(),
        "asked once a session"
    );
}

#[test]
fn a_refusal_of_any_change_tells_c_the_credential_cannot_check() {
    let mut app = kelly_with(tenant(), all_devices());
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
    app.dialogs.clear();
    let cmds = ch(&mut app, 'c');
    assert!(requests(&cmds).is_empty());
    assert_eq!(status_text(&app), NO_SCOPE);
}

// ---- requiring it -----------------------------------------------------------------------

#[test]
fn a_required_remove_waits_for_the_check_and_c_returns_to_it() {
    let mut app = kelly_requiring(&[GuardedAction::Remove]);
    ch(&mut app, 'd');
    assert!(matches!(app.dialogs.last(), Some(Dialog::Remove(_))));
    assert!(pane(&app).contains(NOT_CHECKED), "{}", pane(&app));
    let footer = footer_keys(&app);
    assert_eq!(footer[0], ("c".into(), "check caller".into()));
    assert_eq!(footer[1], ("o".into(), "override".into()));
    // Confirm does nothing until the caller is checked.
    let cmds = confirm_remove(&mut app);
    assert!(requests(&cmds).is_empty() && audits(&cmds).is_empty());
    assert!(requests(&enter(&mut app)).is_empty());
    assert!(matches!(app.dialogs.last(), Some(Dialog::Remove(_))));

    check_by_code(&mut app);
    assert!(
        matches!(app.dialogs.last(), Some(Dialog::Remove(_))),
        "back to the removal"
    );
    assert!(pane(&app).contains("✓ Caller checked 12:00 by jdoe"));
    let cmds = confirm_remove(&mut app);
    let id = remove_request(&cmds).expect("the removal goes out");
    let attempt = audits(&cmds);
    assert_eq!(attempt[0].action, AuditKind::Remove);
    let reference = CallerCheckRef::Success {
        at: now(),
        device_id: "1004".into(),
    };
    assert_eq!(attempt[0].caller_check, Some(reference.clone()));
    let cmds = answer(&mut app, id, ApiResponse::Removed(Ok(())));
    assert_eq!(audits(&cmds)[0].caller_check, Some(reference));
}

#[test]
fn an_expired_check_no_longer_allows_a_required_change() {
    let mut app = kelly_requiring(&[GuardedAction::Remove]);
    check_by_code(&mut app);
    app.now = now() + secs(14 * 60 + 59);
    ch(&mut app, 'd');
    assert!(!pane(&app).contains(NOT_CHECKED));
    esc(&mut app);

    app.now = now() + secs(15 * 60);
    assert!(
        pane(&app).contains("Caller check expired"),
        "{}",
        pane(&app)
    );
    assert_eq!(app.caller_check_expiry(), None);
    ch(&mut app, 'd');
    assert!(pane(&app).contains(NOT_CHECKED));
    assert!(requests(&confirm_remove(&mut app)).is_empty());
}

#[test]
fn the_profile_sets_how_long_a_check_lasts() {
    let mut app = kelly_with(
        TenantInfo {
            caller_check: CallerCheckSettings {
                minutes: 2,
                ..policy(&[GuardedAction::Remove])
            },
            ..tenant()
        },
        all_devices(),
    );
    check_by_code(&mut app);
    assert_eq!(app.caller_check_expiry(), Some(now() + secs(120)));
    app.now = now() + secs(121);
    ch(&mut app, 'd');
    assert!(requests(&confirm_remove(&mut app)).is_empty());
}

#[test]
fn o_overrides_with_a_reason_of_ten_characters_for_one_change() {
    let mut app = kelly_requiring(&[GuardedAction::Remove]);
    ch(&mut app, 'd');
    ch(&mut app, 'o');
    assert!(matches!(
        app.dialogs.last(),
        Some(Dialog::CallerOverride(_))
    ));
    type_text(&mut app, "too short");
    let cmds = enter(&mut app);
    assert!(cmds.is_empty(), "{cmds:?}");
    assert!(
        pane(&app).contains("at least 10 characters"),
        "{}",
        pane(&app)
    );
    backspace(&mut app, 9);
    type_text(&mut app, "manager approval in INC-1234");
    let cmds = enter(&mut app);
    let lines = audits(&cmds);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0].action, AuditKind::CallerCheck);
    assert_eq!(lines[0].outcome, AuditResult::Overridden);
    assert_eq!(
        lines[0].reason.as_deref(),
        Some("manager approval in INC-1234")
    );
    assert_eq!(lines[0].device_id.as_deref(), Some("1001"));
    assert!(matches!(app.dialogs.last(), Some(Dialog::Remove(_))));
    assert!(pane(&app).contains("Caller check overridden: manager approval in INC-1234"));

    let cmds = confirm_remove(&mut app);
    let id = remove_request(&cmds).expect("the override allows the removal");
    let overridden = CallerCheckRef::Overridden {
        reason: "manager approval in INC-1234".into(),
    };
    assert_eq!(audits(&cmds)[0].caller_check, Some(overridden.clone()));
    let cmds = answer(&mut app, id, ApiResponse::Removed(Ok(())));
    assert_eq!(audits(&cmds)[0].caller_check, Some(overridden));

    // The override was for that one change.
    ch(&mut app, 'd');
    assert!(pane(&app).contains(NOT_CHECKED));
    assert!(requests(&confirm_remove(&mut app)).is_empty());
}

#[test]
fn an_override_dies_with_its_dialog() {
    let mut app = kelly_requiring(&[GuardedAction::Remove]);
    ch(&mut app, 'd');
    ch(&mut app, 'o');
    type_text(&mut app, "manager approval in INC-1234");
    enter(&mut app);
    esc(&mut app);
    ch(&mut app, 'd');
    assert!(requests(&confirm_remove(&mut app)).is_empty());
}

#[test]
fn with_no_active_device_the_gate_offers_only_the_override() {
    let mut app = kelly_with(
        TenantInfo {
            caller_check: policy(&[GuardedAction::Remove]),
            ..tenant()
        },
        vec![voice_device()],
    );
    ch(&mut app, 'd');
    assert!(requests(&ch(&mut app, 'c')).is_empty());
    assert!(pane(&app).contains(NO_ACTIVE_DEVICE));
    assert!(requests(&enter(&mut app)).is_empty());
    ch(&mut app, 'o');
    assert!(matches!(
        app.dialogs.last(),
        Some(Dialog::CallerOverride(_))
    ));
}

#[test]
fn c_and_o_are_letters_in_a_reason_field() {
    let mut app = kelly_with(
        TenantInfo {
            require_reason: true,
            caller_check: policy(&[GuardedAction::Remove]),
            ..tenant()
        },
        all_devices(),
    );
    ch(&mut app, 'd');
    tab(&mut app);
    let Some(Dialog::Remove(d)) = app.dialogs.last() else {
        panic!("remove dialog");
    };
    assert_eq!(d.button, RemoveButton::Reason);
    type_text(&mut app, "coco");
    let Some(Dialog::Remove(d)) = app.dialogs.last() else {
        panic!("still the remove dialog");
    };
    assert_eq!(d.reason.as_ref().map(|r| r.value()), Some("coco"));
    // Enter in the reason field is a confirm, and waits like the others.
    assert!(requests(&enter(&mut app)).is_empty());
}

#[test]
fn a_required_token_and_a_required_pre_verified_enroll_wait_too() {
    let mut app = kelly_requiring(&[GuardedAction::Token, GuardedAction::EnrollVerified]);
    ch(&mut app, 'm');
    assert!(pane(&app).contains(NOT_CHECKED));
    assert!(requests(&enter(&mut app)).is_empty());
    ch(&mut app, 'c');
    assert!(matches!(app.dialogs.last(), Some(Dialog::CallerCheck(_))));
    esc(&mut app);
    esc(&mut app);

    // Enrolling without "verified" is not guarded: the user proves the phone with a code.
    ch(&mut app, 'e');
    type_text(&mut app, "Work phone");
    tab(&mut app);
    type_text(&mut app, "+14155550123");
    assert!(!pane(&app).contains(NOT_CHECKED));
    tab(&mut app);
    ch(&mut app, ' ');
    let Some(Dialog::Enroll(d)) = app.dialogs.last() else {
        panic!("enroll dialog");
    };
    assert_eq!(d.field, EnrollField::Verified);
    assert!(d.verified);
    assert!(pane(&app).contains(NOT_CHECKED), "{}", pane(&app));
    assert!(requests(&enter(&mut app)).is_empty());
    check_by_code(&mut app);
    // "Already verified" asks once more that the number will not be checked.
    assert!(requests(&enter(&mut app)).is_empty());
    let cmds = enter(&mut app);
    let (_, req) = one_request(&cmds);
    assert!(matches!(req, ApiRequest::Enroll { verified: true, .. }));
    assert!(matches!(
        audits(&cmds)[0].caller_check,
        Some(CallerCheckRef::Success { .. })
    ));
}

#[test]
fn nothing_required_means_changes_go_and_carry_what_preceded_them() {
    let mut app = kelly_with(tenant(), all_devices());
    ch(&mut app, 'd');
    assert!(!pane(&app).contains(NOT_CHECKED));
    let cmds = confirm_remove(&mut app);
    assert!(remove_request(&cmds).is_some());
    assert_eq!(audits(&cmds)[0].caller_check, Some(CallerCheckRef::None));
    app.dialogs.clear();

    check_by_code(&mut app);
    ch(&mut app, 'm');
    let cmds = enter(&mut app);
    assert_eq!(
        audits(&cmds)[0].caller_check,
        Some(CallerCheckRef::Success {
            at: now(),
            device_id: "1004".into()
        })
    );
}

#[test]
fn opening_another_user_never_carries_a_check_over() {
    let mut app = kelly_requiring(&[GuardedAction::Remove]);
    check_by_code(&mut app);
    assert!(pane(&app).contains("Caller checked"));
    let other = user(36216767, "Kelly", "Smith", "ksmith@acme.com", 1);
    open_user(&mut app, other.clone(), all_devices(), vec![]);
    assert!(app.caller_check().is_none());
    assert!(!pane(&app).contains("Caller checked"));
    ch(&mut app, 'd');
    assert!(pane(&app).contains(NOT_CHECKED));
    let Some(Dialog::Remove(_)) = app.dialogs.last() else {
        panic!("remove dialog");
    };
    assert!(requests(&confirm_remove(&mut app)).is_empty());
    esc(&mut app);
    // Back to Kelly: the check was not kept for her either.
    open_user(&mut app, kelly(), all_devices(), vec![]);
    assert!(app.caller_check().is_none());
}

#[test]
fn help_and_footer_offer_c_with_a_user_open() {
    let mut app = new_app();
    assert!(!footer_keys(&app).iter().any(|(k, _)| k == "c"));
    open_user(&mut app, kelly(), all_devices(), vec![]);
    assert!(footer_keys(&app).contains(&("c".into(), "caller".into())));
    ch(&mut app, '?');
    let help = screen(&app, 120, 40);
    assert!(help.contains("Check caller"), "{help}");
    key(&mut app, KeyCode::Esc);
}

#[test]
fn when_changes_are_guarded_the_pane_says_the_caller_is_not_checked_yet() {
    let app = kelly_with(tenant(), all_devices());
    assert!(!pane(&app).contains("Caller not checked"));
    let mut app = kelly_requiring(&[GuardedAction::Token]);
    assert!(pane(&app).contains("Caller not checked · c checks the caller"));
    check_by_code(&mut app);
    assert!(!pane(&app).contains("Caller not checked"));
}

#[test]
fn the_not_checked_line_says_when_no_device_can_check() {
    let app = kelly_with(
        TenantInfo {
            caller_check: policy(&[GuardedAction::Remove]),
            ..tenant()
        },
        vec![voice_device()],
    );
    assert!(pane(&app).contains("Caller not checked · no active device"));
}

#[test]
fn help_marks_c_when_the_profile_forbids_checks_in_read_only_mode() {
    let mut app = kelly_with(
        TenantInfo {
            read_only: true,
            caller_check: CallerCheckSettings {
                read_only_allowed: false,
                ..CallerCheckSettings::default()
            },
            ..tenant()
        },
        all_devices(),
    );
    ch(&mut app, '?');
    let help = screen(&app, 120, 40);
    let line = help
        .lines()
        .find(|l| l.contains("Check caller"))
        .unwrap_or_default();
    assert!(line.contains("(read-only)"), "{help}");
}

#[test]
fn enter_on_an_empty_code_sends_a_new_one_and_an_expired_code_stops_the_countdown() {
    let mut app = kelly_with(tenant(), all_devices());
    ch(&mut app, 'c');
    let (id, _) = one_request(&enter(&mut app));
    answer(&mut app, id, trigger_ok("1001", "first"));
    // No code arrived: Enter on the empty field sends another, at most every 30 s, as verify.
    assert!(requests(&enter(&mut app)).is_empty(), "too soon to re-send");
    assert!(
        pane(&app).contains("New code possible in 30s"),
        "{}",
        pane(&app)
    );
    app.now = now() + secs(30);
    let cmds = enter(&mut app);
    let (id, req) = one_request(&cmds);
    assert!(matches!(req, ApiRequest::Trigger { .. }));
    assert!(audits(&cmds).is_empty(), "still one attempt");
    answer(&mut app, id, trigger_ok("1001", "second"));
    assert!(pane(&app).contains("(2nd)"), "{}", pane(&app));
    app.now = now() + secs(30 + 121);
    tick(&mut app);
    assert!(!app.needs_tick(), "the countdown is over");
    assert!(pane(&app).contains("The code has expired. Enter sends a new one."));
    // A code typed after expiry is not sent with a spent token: a new code is sent instead.
    type_text(&mut app, "B41832");
    let (_, req) = one_request(&enter(&mut app));
    assert!(matches!(req, ApiRequest::Trigger { .. }));
    assert_eq!(
        checks(&app),
        vec![(AuditResult::Attempt, Some("code".into()))]
    );
}
