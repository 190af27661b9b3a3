//! Update tests for pastes, the remove and push confirmations, and the one code-entry
//! component shared by verify, the caller check and enrollment.

mod common;

use common::*;
use crossterm::event::KeyCode;
use mfadesk::app::dialogs::Dialog;
use mfadesk::app::{Focus, Msg, PASTE_IGNORED, update};

fn paste(app: &mut mfadesk::app::App, text: &str) -> Vec<mfadesk::app::Cmd> {
    update(app, Msg::Paste(text.to_owned()))
}

/// Highlights the open user's first device that matches.
fn select(app: &mut mfadesk::app::App, pred: impl Fn(&mfadesk::api::OtpDevice) -> bool) {
    let view = app.user.as_mut().unwrap();
    view.device_sel = view
        .devices
        .as_ref()
        .unwrap()
        .iter()
        .position(pred)
        .unwrap();
}

#[test]
fn a_paste_with_no_text_field_focused_is_ignored_and_says_so() {
    let mut app = app_with_kelly();
    assert_eq!(app.focus, Focus::Devices);
    let cmds = paste(&mut app, "Kelly\tdy");
    assert!(cmds.is_empty(), "nothing is sent: {cmds:?}");
    assert!(app.dialogs.is_empty(), "no dialog opened");
    assert_eq!(app.status.as_ref().unwrap().text, PASTE_IGNORED);
}

#[test]
fn a_paste_goes_into_the_search_box_as_text_only() {
    let mut app = app_with_kelly();
    ch(&mut app, '/');
    let cmds = paste(&mut app, "Kel\tly\u{1b}[201~\r\nsecond line");
    assert!(cmds.is_empty(), "a paste never searches: {cmds:?}");
    assert_eq!(app.search.input.value(), "Kelly[201~");
    assert_eq!(app.focus, Focus::Search, "Tab in a paste moves no focus");
}

#[test]
fn a_paste_into_a_code_field_is_typed_text() {
    let mut app = app_with_kelly();
    // Google Authenticator takes codes directly.
    select(&mut app, |d| !d.needs_trigger);
    app.focus = Focus::Devices;
    key(&mut app, KeyCode::Char('v'));
    paste(&mut app, "288 694\n");
    let Some(Dialog::Verify(v)) = app.dialogs.last() else {
        panic!("verify dialog open: {:?}", app.dialogs);
    };
    assert_eq!(v.code.value(), "288 694");
}

#[test]
fn no_printable_key_removes_a_device() {
    use mfadesk::app::dialogs::RemoveButton;
    let mut app = app_with_kelly();
    ch(&mut app, 'd');
    let Some(Dialog::Remove(d)) = app.dialogs.last() else {
        panic!("remove dialog open");
    };
    assert_eq!(d.button, RemoveButton::Cancel, "opens on Cancel");
    for c in ['y', 'Y', 'r', ' ', 'd'] {
        assert!(requests(&ch(&mut app, c)).is_empty(), "{c:?} removed");
    }
    assert!(
        requests(&enter(&mut app)).is_empty(),
        "Enter on Cancel keeps the device"
    );
    assert!(app.dialogs.is_empty(), "Enter on Cancel closes the dialog");
    ch(&mut app, 'd');
    key(&mut app, KeyCode::Right);
    key(&mut app, KeyCode::Left);
    assert!(
        requests(&enter(&mut app)).is_empty(),
        "← went back to Cancel"
    );
    ch(&mut app, 'd');
    tab(&mut app);
    let (_, req) = one_request(&enter(&mut app));
    assert!(matches!(req, mfadesk::worker::ApiRequest::Remove { .. }));
}

#[test]
fn a_push_is_sent_only_after_the_dialog_says_where_and_enter_confirms() {
    let mut app = app_with_kelly();
    app.credential_probed = true;
    select(&mut app, |d| d.id.0 == "1003");
    assert!(requests(&enter(&mut app)).is_empty(), "Enter sends no push");
    let text = screen(&app, 100, 30);
    assert!(
        text.contains("Send a push to OneLogin Protect"),
        "the dialog names the device:\n{text}"
    );
    let (_, req) = one_request(&enter(&mut app));
    assert!(matches!(req, mfadesk::worker::ApiRequest::Trigger { .. }));
}

// ---- 15.1: a device enrolled within 24 h never proves the caller -------------------------

fn kelly_with_new(ids: &[&str], ago: chrono::Duration) -> mfadesk::app::App {
    let mut app = app_with_kelly();
    app.credential_probed = true;
    for id in ids {
        app.enrolled
            .push((mfadesk::api::DeviceId((*id).into()), now() - ago));
    }
    app
}

#[test]
fn a_device_enrolled_within_a_day_is_greyed_and_cannot_be_chosen() {
    let mut app = kelly_with_new(&["1001"], secs(5 * 60));
    ch(&mut app, 'c');
    let Some(Dialog::CallerCheck(d)) = app.dialogs.last() else {
        panic!("the check dialog: {:?}", app.dialogs);
    };
    let sms = d
        .devices
        .iter()
        .position(|c| c.device.id.0 == "1001")
        .unwrap();
    assert_eq!(
        d.devices[sms].blocked.as_deref(),
        Some("enrolled 5 min ago: too new to prove the caller")
    );
    assert_ne!(
        d.selected, sms,
        "the first device old enough is highlighted"
    );
    let text = screen(&app, 120, 40);
    assert!(
        text.contains("enrolled 5 min ago: too new to prove the caller"),
        "{text}"
    );
    // Up to the greyed SMS device: Enter sends nothing.
    while matches!(app.dialogs.last(), Some(Dialog::CallerCheck(d)) if d.selected > sms) {
        ch(&mut app, 'k');
    }
    assert!(requests(&enter(&mut app)).is_empty());
    assert!(matches!(app.dialogs.last(), Some(Dialog::CallerCheck(_))));
    // `v` on it is refused the same way.
    esc(&mut app);
    app.user.as_mut().unwrap().device_sel = 0;
    assert!(requests(&ch(&mut app, 'v')).is_empty());
    assert!(app.dialogs.is_empty());
    assert!(
        app.status
            .as_ref()
            .unwrap()
            .text
            .contains("too new to prove the caller"),
        "{:?}",
        app.status
    );
    // A day later it may prove the caller.
    app.now = now() + secs(24 * 3600);
    let (_, req) = one_request(&ch(&mut app, 'v'));
    assert!(matches!(req, mfadesk::worker::ApiRequest::Trigger { .. }));
}

#[test]
fn a_user_whose_devices_are_all_new_gets_the_message_and_the_override() {
    use mfadesk::app::caller::NO_OLD_DEVICE;
    use mfadesk::policy::GuardedAction;
    let mut app = kelly_with_new(&["1001", "1003", "1004", "1005"], secs(3600));
    app.tenant.caller_check.required = [GuardedAction::Remove].into_iter().collect();
    ch(&mut app, 'd');
    ch(&mut app, 'c');
    let text = screen(&app, 120, 40);
    assert!(text.contains(NO_OLD_DEVICE), "{text}");
    assert!(text.contains("enrolled 1 h ago: too new to prove the caller"));
    assert!(
        requests(&enter(&mut app)).is_empty(),
        "nothing to check with"
    );
    ch(&mut app, 'o');
    assert!(
        matches!(app.dialogs.last(), Some(Dialog::CallerOverride(_))),
        "{:?}",
        app.dialogs.last()
    );
}

#[test]
fn the_token_dialog_moves_with_j_k_and_changes_the_lifetime_with_arrows_or_space() {
    use mfadesk::app::dialogs::TokenField;
    let mut app = app_with_kelly();
    ch(&mut app, 'm');
    let token = |app: &mfadesk::app::App| match app.dialogs.last() {
        Some(Dialog::Token(d)) => (d.field, d.preset, d.reusable),
        other => panic!("token dialog: {other:?}"),
    };
    let (field, preset, reusable) = token(&app);
    assert_eq!(field, TokenField::ExpiresIn);
    ch(&mut app, 'j');
    assert_eq!(
        token(&app),
        (TokenField::Reusable, preset, reusable),
        "j moves only"
    );
    ch(&mut app, 'k');
    key(&mut app, KeyCode::Down);
    key(&mut app, KeyCode::Up);
    assert_eq!(
        token(&app),
        (TokenField::ExpiresIn, preset, reusable),
        "nor do ↑/↓"
    );
    key(&mut app, KeyCode::Right);
    assert_eq!(token(&app).1, preset + 1, "→ changes the lifetime");
    key(&mut app, KeyCode::Left);
    ch(&mut app, ' ');
    assert_eq!(token(&app).1, preset + 1, "Space changes it too");
    let footer = mfadesk::ui::footer_keys(&app);
    assert!(
        footer
            .iter()
            .any(|(k, v)| k == "←/→/Space" && v == "lifetime"),
        "{footer:?}"
    );
}

#[test]
fn the_audit_filter_is_replaced_by_typing_and_up_recalls_the_last() {
    let mut app = app_with_kelly();
    ch(&mut app, 'A');
    ch(&mut app, '/');
    type_text(&mut app, "kelly");
    enter(&mut app);
    assert_eq!(app.audit_view.filter.value(), "kelly");
    ch(&mut app, '/');
    type_text(&mut app, "jdoe");
    assert_eq!(app.audit_view.filter.value(), "jdoe", "typing replaced it");
    key(&mut app, KeyCode::Backspace);
    key(&mut app, KeyCode::Backspace);
    key(&mut app, KeyCode::Backspace);
    key(&mut app, KeyCode::Backspace);
    assert_eq!(app.audit_view.filter.value(), "");
    key(&mut app, KeyCode::Up);
    assert_eq!(
        app.audit_view.filter.value(),
        "kelly",
        "Up recalls the last"
    );
}

#[test]
fn a_search_over_256_characters_is_refused_and_nothing_is_sent() {
    let mut app = app_with_kelly();
    ch(&mut app, '/');
    let long = "k".repeat(257);
    paste(&mut app, &long);
    let cmds = enter(&mut app);
    assert!(requests(&cmds).is_empty(), "{cmds:?}");
    assert_eq!(
        app.search.message.as_deref(),
        Some("Search is at most 256 characters")
    );
    assert_eq!(app.search.input.value(), long, "the text is kept");
}

#[test]
fn closing_a_waiting_check_is_unknown_and_cancelled_and_an_earlier_success_stands() {
    use mfadesk::api::VerifyOutcome;
    use mfadesk::app::{AuditKind, AuditResult, Cmd};
    use mfadesk::policy::CheckOutcome;
    use mfadesk::worker::ApiResponse;
    let mut app = app_with_kelly();
    app.credential_probed = true;
    // A check by authenticator code succeeds.
    select(&mut app, |d| d.id.0 == "1004");
    ch(&mut app, 'v');
    type_text(&mut app, "123 456");
    let (id, req) = one_request(&enter(&mut app));
    assert!(
        matches!(req, mfadesk::worker::ApiRequest::Verify { otp: Some(ref c), .. } if c.expose() == "123456"),
        "spaces are not part of the code"
    );
    answer(
        &mut app,
        id,
        ApiResponse::Verified(Ok(VerifyOutcome::Verified)),
    );
    assert_eq!(app.caller_check().unwrap().outcome, CheckOutcome::Success);
    // Another check, by push, closed with Ctrl-C while it waits.
    select(&mut app, |d| d.id.0 == "1003");
    ch(&mut app, 'v');
    let (id, _) = one_request(&enter(&mut app));
    answer(&mut app, id, trigger_ok("1003", "st"));
    let cmds = ctrl_c(&mut app);
    let lines: Vec<_> = cmds
        .iter()
        .filter_map(|c| match c {
            Cmd::Audit(n) if n.action == AuditKind::CallerCheck => Some(n.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(lines.len(), 1, "{cmds:?}");
    assert_eq!(lines[0].outcome, AuditResult::Unknown);
    assert_eq!(lines[0].cancelled, Some(true));
    assert_eq!(
        app.caller_check().unwrap().outcome,
        CheckOutcome::Success,
        "the earlier success stands"
    );
}

#[test]
fn v_on_an_active_device_checks_the_caller_in_read_only_mode_too() {
    let mut app = mfadesk::app::App::new(
        mfadesk::app::TenantInfo {
            read_only: true,
            ..tenant()
        },
        now(),
    );
    open_user(&mut app, kelly(), all_devices(), vec![]);
    app.credential_probed = true;
    select(&mut app, |d| d.id.0 == "1004");
    ch(&mut app, 'v');
    match app.dialogs.last() {
        Some(Dialog::Verify(v)) => assert!(v.is_check(), "a caller check"),
        other => panic!("the check opened: {other:?} {:?}", app.status),
    }
    // A pending device is an activation: refused in read-only mode.
    esc(&mut app);
    select(&mut app, |d| !d.active);
    ch(&mut app, 'v');
    assert!(app.dialogs.is_empty());
    assert!(app.status.as_ref().unwrap().text.contains("Read-only mode"));
}
