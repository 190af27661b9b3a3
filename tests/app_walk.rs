//! The walkthroughs through `update`: choosing one, the reason asked once, the lost device
//! chosen first and never offered to the caller check, each step through its own dialog, steps
//! skipped with why, a failed step, Esc at every step, read-only mode, the case and reason on
//! every audit line; the checklists at 80×24 and 120×40.

mod common;

use common::*;
use crossterm::event::KeyCode;
use mfadesk::api::{ErrorKind, Event, OtpDevice, RateLimit, User, VerifyOutcome};
use mfadesk::app::dialogs::Dialog;
use mfadesk::app::walk::{Mark, WalkDialog, WalkStage};
use mfadesk::app::{App, AuditKind, AuditResult, TenantInfo};
use mfadesk::worker::{ApiRequest, ApiResponse};

macro_rules! snap {
    ($name:literal, $app:expr) => {{
        let app: &App = &$app;
        insta::assert_snapshot!(concat!($name, "_80x24"), screen(app, 80, 24));
        insta::assert_snapshot!(concat!($name, "_120x40"), screen(app, 120, 40));
    }};
}

fn walk(app: &App) -> &WalkDialog {
    app.dialogs
        .iter()
        .rev()
        .find_map(|d| match d {
            Dialog::Walk(w) => Some(w),
            _ => None,
        })
        .expect("a walkthrough runs")
}

fn marks(app: &App) -> Vec<Mark> {
    walk(app).steps.iter().map(|s| s.mark.clone()).collect()
}

fn status(app: &App) -> String {
    app.status
        .as_ref()
        .map(|s| s.text.clone())
        .unwrap_or_default()
}

fn locked() -> User {
    User {
        status: Some(3),
        locked_until: Some(now() + secs(1800)),
        ..kelly()
    }
}

fn failed_sign_ins() -> Vec<Event> {
    (1..=5)
        .map(|i| Event {
            id: i.to_string(),
            created_at: Some(now() - secs(60 * i)),
            event_type_id: 6,
            user_id: Some(kelly().id),
            ipaddr: Some("203.0.113.9".into()),
            ..Event::default()
        })
        .collect()
}

fn app_with(tenant: TenantInfo, user: User, devices: Vec<OtpDevice>, events: Vec<Event>) -> App {
    let mut app = App::new(tenant, now());
    app.operator = "jdoe".into();
    app.credential_probed = true;
    app.rate_limit = Some(RateLimit {
        limit: Some(5_000),
        remaining: Some(4_981),
        reset_secs: Some(1_800),
    });
    open_user_with_events(&mut app, user, devices, vec![sms_factor()], events);
    app
}

fn lost_app() -> App {
    app_with(
        tenant(),
        kelly(),
        vec![sms_device(), google_auth()],
        Vec::new(),
    )
}

fn locked_app() -> App {
    app_with(
        tenant(),
        locked(),
        vec![sms_device(), google_auth()],
        failed_sign_ins(),
    )
}

/// `w`, the walkthrough at `row`, the reason.
fn start(app: &mut App, row: usize, reason: &str) {
    ch(app, 'w');
    for _ in 0..row {
        ch(app, 'j');
    }
    enter(app);
    type_text(app, reason);
    enter(app);
}

/// The caller reads the authenticator's code (the only device offered).
fn check_by_code(app: &mut App) {
    let cmds = enter(app);
    assert!(
        requests(&cmds).is_empty(),
        "opening the check sends nothing"
    );
    match app.dialogs.last() {
        Some(Dialog::CallerCheck(d)) => {
            let ids: Vec<String> = d.devices.iter().map(|d| d.device.id.to_string()).collect();
            assert_eq!(ids, ["1004"], "the lost phone is never offered");
        }
        other => panic!("expected the caller check, found {other:?}"),
    }
    enter(app);
    type_text(app, "123456");
    let (id, req) = one_request(&enter(app));
    assert!(matches!(req, ApiRequest::Verify { .. }), "{req:?}");
    answer(app, id, ApiResponse::Verified(Ok(VerifyOutcome::Verified)));
}

#[test]
fn the_list_and_the_reason_asked_once() {
    let mut app = lost_app();
    ch(&mut app, 'w');
    let text = screen(&app, 120, 40);
    assert!(text.contains("┌ Walkthroughs "), "{text}");
    assert!(text.contains("> Lost or replaced device"), "{text}");
    assert!(text.contains("  Locked out"), "{text}");
    ch(&mut app, 'j');
    enter(&mut app);
    assert_eq!(walk(&app).stage, WalkStage::Reason);
    // No reason: refused, nothing else happens.
    enter(&mut app);
    assert!(
        walk(&app)
            .error
            .as_ref()
            .unwrap()
            .contains("ticket or reason")
    );
    assert_eq!(walk(&app).stage, WalkStage::Reason);
    // Esc here leaves; nothing was done or audited.
    esc(&mut app);
    assert!(app.dialogs.is_empty());
    assert_eq!(status(&app), "Left the walkthroughs: nothing was done.");
    assert!(app.audit.is_empty());
}

#[test]
fn lost_device_every_step_through_its_own_dialog() {
    let mut app = lost_app();
    start(&mut app, 0, "INC-9 lost phone");
    assert_eq!(walk(&app).stage, WalkStage::PickLost);
    enter(&mut app); // the SMS phone is lost
    assert_eq!(
        walk(&app)
            .lost
            .as_ref()
            .map(|d| d.id.to_string())
            .as_deref(),
        Some("1001")
    );
    let case = walk(&app).case.clone();
    assert_eq!(case, format!("w-261128120000-{}", kelly().id));
    // 1: caller check on the other device.
    check_by_code(&mut app);
    assert_eq!(marks(&app)[0], Mark::Done);
    assert_eq!(walk(&app).current, 1);
    // 2: the removal of the lost phone, in its own dialog, Cancel first.
    enter(&mut app);
    match app.dialogs.last() {
        Some(Dialog::Remove(d)) => assert_eq!(d.device.id.to_string(), "1001"),
        other => panic!("expected the removal, found {other:?}"),
    }
    assert!(
        requests(&enter(&mut app)).is_empty(),
        "Enter on Cancel sends nothing"
    );
    assert_eq!(marks(&app)[1], Mark::Todo);
    enter(&mut app);
    tab(&mut app);
    let (id, req) = one_request(&enter(&mut app));
    assert!(matches!(req, ApiRequest::Remove { .. }));
    answer(&mut app, id, ApiResponse::Removed(Ok(())));
    assert_eq!(marks(&app)[1], Mark::Done);
    // 3: sign out everywhere.
    enter(&mut app);
    key(&mut app, KeyCode::Right);
    let (id, req) = one_request(&enter(&mut app));
    assert_eq!(req, ApiRequest::Logout(kelly().id));
    answer(&mut app, id, ApiResponse::Account(Ok(())));
    assert_eq!(marks(&app)[2], Mark::Done);
    // 4: no token.
    ch(&mut app, 's');
    assert_eq!(marks(&app)[3], Mark::Skipped);
    // 5: enroll opens the console's own enroll dialog.
    enter(&mut app);
    assert!(matches!(app.dialogs.last(), Some(Dialog::Enroll(_))));
    esc(&mut app);
    esc(&mut app);
    assert!(app.dialogs.is_empty());
    let s = status(&app);
    assert!(
        s.contains(&format!("Left Lost or replaced device (case {case})"))
            && s.contains("✓ done 1,2,3 · – skipped 4 · not done 5"),
        "{s}"
    );
    // Every line carries the case and the reason.
    assert!(app.audit.len() >= 6);
    for n in &app.audit {
        assert_eq!(n.case.as_deref(), Some(case.as_str()), "{n:?}");
        assert_eq!(n.reason.as_deref(), Some("INC-9 lost phone"), "{n:?}");
    }
    let kinds: Vec<AuditKind> = app.audit.iter().map(|n| n.action).collect();
    assert!(kinds.contains(&AuditKind::CallerCheck));
    assert!(kinds.contains(&AuditKind::Remove));
    assert!(kinds.contains(&AuditKind::Logout));
}

#[test]
fn esc_leaves_at_every_step_and_says_what_was_done() {
    for at in 0..5 {
        let mut app = lost_app();
        start(&mut app, 0, "T-1 test");
        enter(&mut app);
        for _ in 0..at {
            ch(&mut app, 's');
        }
        assert_eq!(walk(&app).current, at);
        esc(&mut app);
        assert!(app.dialogs.is_empty());
        let s = status(&app);
        assert!(s.starts_with("Left Lost or replaced device"), "{s}");
        let not_done: Vec<String> = (at + 1..=5).map(|i| i.to_string()).collect();
        assert!(
            s.contains(&format!("not done {}", not_done.join(","))),
            "{at}: {s}"
        );
    }
    // Esc inside a step's dialog closes that dialog only; the checklist stays.
    let mut app = locked_app();
    start(&mut app, 1, "T-2");
    enter(&mut app);
    enter(&mut app);
    assert!(matches!(app.dialogs.last(), Some(Dialog::CallerCheck(_))));
    esc(&mut app);
    assert!(matches!(app.dialogs.last(), Some(Dialog::Walk(_))));
    assert_eq!(walk(&app).current, 1);
}

#[test]
fn locked_out_why_unlock_and_the_steps_that_do_not_apply() {
    let mut app = locked_app();
    start(&mut app, 1, "INC-5 locked out");
    let text = screen(&app, 120, 40);
    assert!(
        text.contains("Step 1 of 5: Why the user is locked"),
        "{text}"
    );
    assert!(text.contains("From 203.0.113.9 (5)."), "{text}");
    enter(&mut app);
    // The caller reads a code: step 5 (no working device) will not apply.
    check_by_code_any(&mut app);
    assert_eq!(marks(&app)[1], Mark::Done);
    enter(&mut app);
    key(&mut app, KeyCode::Right);
    let (id, req) = one_request(&enter(&mut app));
    assert_eq!(req, ApiRequest::Unlock(kelly().id));
    answer(&mut app, id, ApiResponse::Account(Ok(())));
    assert_eq!(marks(&app)[2], Mark::Done);
    // 4: the addresses are asked about; recognised: s.
    let text = screen(&app, 120, 40);
    assert!(
        text.contains("Failed sign-ins came from 203.0.113.9 (5)."),
        "{text}"
    );
    ch(&mut app, 's');
    // 5 is skipped: the caller has a working device; the walkthrough ends.
    assert!(app.dialogs.is_empty());
    let s = status(&app);
    assert!(s.starts_with("Locked out finished"), "{s}");
    assert!(s.contains("✓ done 1,2,3 · – skipped 4,5"), "{s}");
}

/// The caller check on whichever device is first (Locked out offers every active device).
fn check_by_code_any(app: &mut App) {
    enter(app);
    assert!(matches!(app.dialogs.last(), Some(Dialog::CallerCheck(_))));
    ch(app, 'j'); // the authenticator, after the default SMS phone
    enter(app);
    type_text(app, "123456");
    let (id, _) = one_request(&enter(app));
    answer(app, id, ApiResponse::Verified(Ok(VerifyOutcome::Verified)));
}

#[test]
fn locked_out_of_a_user_not_locked_with_no_failed_sign_ins_skips_and_says_why() {
    let mut app = app_with(tenant(), kelly(), vec![sms_device()], Vec::new());
    start(&mut app, 1, "T-3");
    enter(&mut app);
    // An override: the caller has no working device, so the token is offered.
    ch(&mut app, 'o');
    type_text(&mut app, "manager callback to +1 415 555 0100");
    enter(&mut app);
    let w = walk(&app);
    assert_eq!(w.steps[1].note.as_deref(), Some("overridden with a reason"));
    assert_eq!(w.steps[2].mark, Mark::Skipped);
    assert_eq!(w.steps[2].note.as_deref(), Some("the user is not locked"));
    assert_eq!(w.steps[3].mark, Mark::Skipped);
    assert!(
        w.steps[3]
            .note
            .as_ref()
            .unwrap()
            .contains("no failed sign-in")
    );
    assert_eq!(w.current, 4);
    enter(&mut app);
    assert!(matches!(app.dialogs.last(), Some(Dialog::Token(_))));
    let line = app.audit.last().unwrap();
    assert_eq!(line.outcome, AuditResult::Overridden);
    assert!(
        line.reason
            .as_ref()
            .unwrap()
            .starts_with("T-3 · manager callback")
    );
}

#[test]
fn a_failed_step_is_marked_and_can_be_tried_again() {
    let mut app = lost_app();
    start(&mut app, 0, "T-4");
    enter(&mut app);
    check_by_code(&mut app);
    enter(&mut app);
    tab(&mut app);
    let (id, _) = one_request(&enter(&mut app));
    answer(
        &mut app,
        id,
        ApiResponse::Removed(Err(api_error(ErrorKind::Server, Some(500), "boom"))),
    );
    esc(&mut app); // the error dialog
    assert_eq!(marks(&app)[1], Mark::Failed);
    assert_eq!(walk(&app).current, 1);
    let text = screen(&app, 120, 40);
    assert!(text.contains("✗ 2. Remove the lost device"), "{text}");
    enter(&mut app);
    assert!(matches!(app.dialogs.last(), Some(Dialog::Remove(_))));
}

#[test]
fn read_only_runs_step_one_and_says_the_rest_needs_a_change_credential() {
    let ro = TenantInfo {
        read_only: true,
        ..tenant()
    };
    let mut app = app_with(ro.clone(), locked(), vec![sms_device()], failed_sign_ins());
    start(&mut app, 1, "T-5");
    let w = walk(&app);
    assert!(w.steps[1..].iter().all(|s| s.mark == Mark::Skipped
        && s.note.as_deref() == Some("needs a change credential (read-only mode)")));
    enter(&mut app);
    assert!(app.dialogs.is_empty());
    let s = status(&app);
    assert!(s.contains("The rest needs a change credential."), "{s}");
    // Lost device: step 1 is the caller check, allowed in read-only mode.
    let mut app = app_with(ro, kelly(), vec![sms_device(), google_auth()], Vec::new());
    start(&mut app, 0, "T-6");
    enter(&mut app);
    check_by_code(&mut app);
    assert!(app.dialogs.is_empty());
    assert!(status(&app).contains("The rest needs a change credential."));
}

#[test]
fn snapshots_of_the_checklists() {
    let mut app = locked_app();
    start(&mut app, 1, "INC-5 locked out");
    snap!("walk_locked_out", app);
    let mut app = lost_app();
    start(&mut app, 0, "INC-9 lost phone");
    enter(&mut app);
    check_by_code(&mut app);
    ch(&mut app, 's');
    snap!("walk_lost_device", app);
}
