//! `require_caller_check = ["enroll"]`: adding any factor is the reset attackers ask for, so
//! every enrollment (not only a pre-verified one) waits for a caller check; and a check or an
//! override for one change never carries over to the next.

mod common;

use common::*;
use mfadesk::app::caller::NOT_CHECKED;
use mfadesk::app::dialogs::{Dialog, EnrollField};
use mfadesk::app::{App, AuditKind, AuditResult, CallerCheckSettings, Cmd, TenantInfo};
use mfadesk::policy::{GuardedAction, RequiredChecks};
use mfadesk::worker::ApiRequest;

fn kelly_requiring(required: &[GuardedAction]) -> App {
    let mut app = App::new(
        TenantInfo {
            caller_check: CallerCheckSettings {
                required: required.iter().copied().collect(),
                ..CallerCheckSettings::default()
            },
            ..tenant()
        },
        now(),
    );
    app.operator = "jdoe".into();
    open_user(&mut app, kelly(), all_devices(), vec![sms_factor()]);
    app.credential_probed = true;
    app
}

fn pane(app: &App) -> String {
    screen(app, 120, 40)
}

fn sent_enroll(cmds: &[Cmd]) -> bool {
    requests(cmds)
        .iter()
        .any(|(_, r)| matches!(r, ApiRequest::Enroll { .. }))
}

/// Fills the enroll dialog for the SMS factor and moves to the Verified box.
fn fill_enroll(app: &mut App) {
    ch(app, 'e');
    type_text(app, "Caller's phone");
    tab(app);
    type_text(app, "+14155550999");
    tab(app);
    let Some(Dialog::Enroll(d)) = app.dialogs.last() else {
        panic!("enroll dialog");
    };
    assert_eq!(d.field, EnrollField::Verified);
}

#[test]
fn enroll_covers_the_pre_verified_enrollment_too() {
    let required: RequiredChecks = [GuardedAction::Enroll].into_iter().collect();
    assert!(required.contains(GuardedAction::Enroll));
    assert!(required.contains(GuardedAction::EnrollVerified));
    assert!(!required.contains(GuardedAction::Remove));
    let only_verified: RequiredChecks = [GuardedAction::EnrollVerified].into_iter().collect();
    assert!(!only_verified.contains(GuardedAction::Enroll));
    assert_eq!(GuardedAction::Enroll.as_str(), "enroll");
}

#[test]
fn a_plain_enrollment_waits_for_the_check_when_enroll_is_required() {
    let mut app = kelly_requiring(&[GuardedAction::Enroll]);
    fill_enroll(&mut app);
    assert!(pane(&app).contains(NOT_CHECKED), "{}", pane(&app));
    assert!(!sent_enroll(&enter(&mut app)), "not sent without a check");
    assert!(app.audit.iter().all(|n| n.action != AuditKind::Enroll));
}

/// The high finding, as far as the requirement goes: with enroll, remove and token required,
/// an enrollment needs its own check or override, and what allowed it does not allow the token
/// or the removal that follow.
#[test]
fn after_an_overridden_enrollment_the_token_and_the_removal_stay_refused() {
    let mut app = kelly_requiring(&[
        GuardedAction::Enroll,
        GuardedAction::Remove,
        GuardedAction::Token,
    ]);
    fill_enroll(&mut app);
    ch(&mut app, 'o');
    assert!(matches!(
        app.dialogs.last(),
        Some(Dialog::CallerOverride(_))
    ));
    type_text(&mut app, "caller lost every device, INC-42");
    enter(&mut app);
    let cmds = enter(&mut app);
    assert!(sent_enroll(&cmds), "the override allows this enrollment");
    app.dialogs.clear();

    ch(&mut app, 'm');
    assert!(pane(&app).contains(NOT_CHECKED));
    assert!(requests(&enter(&mut app)).is_empty(), "token refused");
    app.dialogs.clear();
    ch(&mut app, 'd');
    assert!(pane(&app).contains(NOT_CHECKED));
    assert!(requests(&ch(&mut app, 'y')).is_empty(), "removal refused");
    assert!(
        app.audit
            .iter()
            .filter(|n| n.action == AuditKind::CallerCheck)
            .all(|n| n.outcome != AuditResult::Success),
        "no audit line says the caller was checked"
    );
}
