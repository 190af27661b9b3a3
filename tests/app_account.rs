//! The account dialogs through `update`: unlock (`u`, offered only for a locked user), sign out
//! everywhere (`o`) and lock (`L`): Cancel first, a button confirm (never a printable key), the
//! reason, read-only refusal, the caller-check requirement, the audit lines, the pane updated at
//! once, a Manage users credential told that lock needs Manage All; snapshots at 80×24 and 120×40.

mod common;

use common::*;
use crossterm::event::KeyCode;
use mfadesk::api::{ErrorKind, Event, RateLimit, User};
use mfadesk::app::dialogs::{AccountField, Dialog};
use mfadesk::app::keymap::Action;
use mfadesk::app::{App, AuditKind, AuditResult, CallerCheckSettings, Cmd, TenantInfo};
use mfadesk::ops::account::AccountAction;
use mfadesk::policy::GuardedAction;
use mfadesk::worker::{ApiRequest, ApiResponse};

macro_rules! snap {
    ($name:literal, $app:expr) => {{
        let app: &App = &$app;
        insta::assert_snapshot!(concat!($name, "_80x24"), screen(app, 80, 24));
        insta::assert_snapshot!(concat!($name, "_120x40"), screen(app, 120, 40));
    }};
}

fn account(app: &App) -> &mfadesk::app::dialogs::AccountDialog {
    match app.dialogs.last() {
        Some(Dialog::Account(d)) => d,
        other => panic!("expected an account dialog on top, found {other:?}"),
    }
}

/// Kelly, locked 5 failed sign-ins ago until 30 minutes from now.
fn locked_kelly() -> User {
    User {
        status: Some(3),
        locked_until: Some(now() + secs(30 * 60)),
        ..kelly()
    }
}

/// Five failed sign-ins (four from one address, one from another), then the policy's lock.
fn lock_events() -> Vec<Event> {
    let ev = |id: u32, type_id: i64, mins: i64, ip: Option<&str>| Event {
        id: id.to_string(),
        created_at: Some(now() - secs(mins * 60)),
        event_type_id: type_id,
        user_id: Some(kelly().id),
        ipaddr: ip.map(str::to_owned),
        actor_system: (type_id == 19).then(|| "Policy".to_owned()),
        ..Event::default()
    };
    vec![
        ev(6, 19, 1, None),
        ev(5, 6, 1, Some("203.0.113.9")),
        ev(4, 6, 2, Some("203.0.113.9")),
        ev(3, 6, 3, Some("198.51.100.7")),
        ev(2, 6, 4, Some("203.0.113.9")),
        ev(1, 6, 5, Some("203.0.113.9")),
    ]
}

fn app_with(tenant: TenantInfo, user: User) -> App {
    let mut app = App::new(tenant, now());
    app.operator = "jdoe".into();
    app.rate_limit = Some(RateLimit {
        limit: Some(5_000),
        remaining: Some(4_981),
        reset_secs: Some(1_800),
    });
    let events = if user.status == Some(3) {
        lock_events()
    } else {
        Vec::new()
    };
    open_user_with_events(
        &mut app,
        user,
        vec![sms_device()],
        vec![sms_factor()],
        events,
    );
    app
}

fn footer_and_help(app: &mut App) -> (String, String) {
    let footer = screen(app, 120, 40);
    ch(app, '?');
    let help = screen(app, 120, 40);
    esc(app);
    (footer, help)
}

#[test]
fn u_is_offered_only_for_a_locked_user() {
    let mut active = app_with(tenant(), kelly());
    assert!(!active.available(Action::Unlock));
    let (footer, _) = footer_and_help(&mut active);
    assert!(!footer.contains("u unlock"), "{footer}");
    // u on an active user opens nothing and says why.
    assert!(ch(&mut active, 'u').is_empty());
    assert!(active.dialogs.is_empty());
    assert!(
        active
            .status
            .as_ref()
            .unwrap()
            .text
            .contains("is not locked"),
        "{:?}",
        active.status
    );

    let mut locked = app_with(tenant(), locked_kelly());
    assert!(locked.available(Action::Unlock));
    let (footer, help) = footer_and_help(&mut locked);
    assert!(footer.contains("u unlock"), "{footer}");
    // Even at 80 columns, where the footer has room for few keys.
    let narrow = screen(&locked, 80, 24);
    assert!(
        narrow
            .lines()
            .last()
            .unwrap_or_default()
            .contains("u unlock")
            || narrow.contains(" u unlock "),
        "{narrow}"
    );
    assert!(help.contains("unlock the user"), "{help}");
    // A lock whose time is still ahead counts even with another status.
    let ahead = User {
        status: Some(1),
        locked_until: Some(now() + secs(60)),
        ..kelly()
    };
    assert!(app_with(tenant(), ahead).available(Action::Unlock));
    // A lock that has ended, status 1: not locked.
    let ended = User {
        status: Some(1),
        locked_until: Some(now() - secs(60)),
        ..kelly()
    };
    assert!(!app_with(tenant(), ended).available(Action::Unlock));
}

#[test]
fn unlock_opens_on_cancel_says_why_and_confirms_only_on_the_button() {
    let mut app = app_with(tenant(), locked_kelly());
    ch(&mut app, 'u');
    let d = account(&app);
    assert_eq!(d.field, AccountField::Cancel);
    assert_eq!(d.action, AccountAction::Unlock);
    assert!(
        d.why[0].contains("Locked until 2026-11-28 12:30 UTC"),
        "{:?}",
        d.why
    );
    // Enter on Cancel closes; printable keys never confirm.
    for c in ['y', 'u', 'o', 'L', ' '] {
        assert!(ch(&mut app, c).is_empty(), "{c} sent something");
    }
    assert!(enter(&mut app).is_empty());
    assert!(app.dialogs.is_empty());
    assert!(app.audit.is_empty());
    // → moves to Unlock, ← back to Cancel, Tab to Unlock again.
    ch(&mut app, 'u');
    key(&mut app, KeyCode::Right);
    assert_eq!(account(&app).field, AccountField::Confirm);
    key(&mut app, KeyCode::Left);
    assert_eq!(account(&app).field, AccountField::Cancel);
    tab(&mut app);
    assert_eq!(account(&app).field, AccountField::Confirm);
    let (id, req) = one_request(&enter(&mut app));
    assert_eq!(req, ApiRequest::Unlock(kelly().id));
    // Keys while in flight do nothing.
    assert!(enter(&mut app).is_empty());
    let cmds = answer(&mut app, id, ApiResponse::Account(Ok(())));
    assert!(app.dialogs.is_empty());
    // The pane shows it at once, and the user is read again.
    let view = app.user.as_ref().unwrap();
    assert_eq!(view.user.status, Some(1));
    assert_eq!(view.user.locked_until, None);
    let reread: Vec<ApiRequest> = requests(&cmds).into_iter().map(|(_, r)| r).collect();
    assert!(
        reread.contains(&ApiRequest::GetUser(kelly().id)),
        "{reread:?}"
    );
    assert!(!app.available(Action::Unlock));
    assert!(
        app.status
            .as_ref()
            .unwrap()
            .text
            .contains("Unlocked Kelly Slater.")
    );
    let lines: Vec<(AuditKind, AuditResult)> =
        app.audit.iter().map(|n| (n.action, n.outcome)).collect();
    assert_eq!(
        lines,
        [
            (AuditKind::Unlock, AuditResult::Attempt),
            (AuditKind::Unlock, AuditResult::Success)
        ]
    );
}

#[test]
fn logout_says_what_it_ends_and_what_it_does_not() {
    let mut app = app_with(tenant(), kelly());
    ch(&mut app, 'o');
    let text = screen(&app, 120, 40);
    assert!(
        text.contains(
            "Ends the user's OneLogin session and single sign-on. Apps already open keep their own sessions."
        ),
        "{text}"
    );
    assert_eq!(account(&app).field, AccountField::Cancel);
    key(&mut app, KeyCode::Left);
    let (id, req) = one_request(&enter(&mut app));
    assert_eq!(req, ApiRequest::Logout(kelly().id));
    answer(&mut app, id, ApiResponse::Account(Ok(())));
    assert!(
        app.status
            .as_ref()
            .unwrap()
            .text
            .contains("Signed Kelly Slater out everywhere")
    );
    assert_eq!(app.audit.last().unwrap().action, AuditKind::Logout);
    assert_eq!(app.audit.last().unwrap().outcome, AuditResult::Success);
}

#[test]
fn lock_chooses_minutes_and_a_manage_users_credential_is_told_once() {
    let mut app = app_with(tenant(), kelly());
    ch(&mut app, 'L');
    assert_eq!(account(&app).action, AccountAction::Lock { minutes: 15 });
    tab(&mut app);
    assert_eq!(account(&app).field, AccountField::Minutes);
    key(&mut app, KeyCode::Right);
    assert_eq!(account(&app).action, AccountAction::Lock { minutes: 60 });
    key(&mut app, KeyCode::Right);
    key(&mut app, KeyCode::Right);
    assert_eq!(account(&app).action, AccountAction::Lock { minutes: 0 });
    key(&mut app, KeyCode::Left);
    assert_eq!(account(&app).action, AccountAction::Lock { minutes: 240 });
    tab(&mut app);
    let (id, req) = one_request(&enter(&mut app));
    assert_eq!(
        req,
        ApiRequest::Lock {
            user_id: kelly().id,
            minutes: 240
        }
    );
    answer(
        &mut app,
        id,
        ApiResponse::Account(Err(api_error(
            ErrorKind::InsufficientPermission,
            Some(401),
            "Insufficient Permission",
        ))),
    );
    let text = screen(&app, 120, 40);
    assert!(text.contains("Lock needs Manage All"), "{text}");
    assert!(account(&app).blocked.is_some());
    // Caller checks are not given up for it: only lock is known refused.
    assert!(!app.credential_read_only);
    tab(&mut app);
    tab(&mut app);
    assert!(
        enter(&mut app).is_empty(),
        "nothing is sent after the refusal"
    );
    esc(&mut app);
    ch(&mut app, 'L');
    assert!(account(&app).blocked.is_some());
    key(&mut app, KeyCode::Right);
    assert!(enter(&mut app).is_empty());
    assert_eq!(
        app.audit.last().map(|n| (n.action, n.outcome)),
        Some((AuditKind::Lock, AuditResult::Failure))
    );
}

#[test]
fn lock_success_shows_the_lock_and_offers_unlock() {
    let mut app = app_with(tenant(), kelly());
    ch(&mut app, 'L');
    key(&mut app, KeyCode::BackTab);
    let (id, _) = one_request(&enter(&mut app));
    answer(&mut app, id, ApiResponse::Account(Ok(())));
    let user = &app.user.as_ref().unwrap().user;
    assert_eq!(user.status, Some(3));
    assert_eq!(user.locked_until, Some(now() + secs(15 * 60)));
    assert!(app.available(Action::Unlock));
    assert!(app.status.as_ref().unwrap().text.contains("for 15 minutes"));
}

#[test]
fn read_only_refuses_all_three_and_audits_the_refusal() {
    let mut app = app_with(
        TenantInfo {
            read_only: true,
            ..tenant()
        },
        locked_kelly(),
    );
    for c in ['u', 'o', 'L'] {
        assert!(requests(&ch(&mut app, c)).is_empty());
        assert!(app.dialogs.is_empty(), "{c} opened a dialog");
        assert!(app.status.as_ref().unwrap().text.contains("Read-only mode"));
    }
    let refused: Vec<AuditKind> = app
        .audit
        .iter()
        .filter(|n| n.outcome == AuditResult::Refused)
        .map(|n| n.action)
        .collect();
    assert_eq!(
        refused,
        [AuditKind::Unlock, AuditKind::Logout, AuditKind::Lock]
    );
}

#[test]
fn the_reason_is_asked_and_kept_on_the_audit_lines() {
    let mut app = app_with(
        TenantInfo {
            require_reason: true,
            ..tenant()
        },
        locked_kelly(),
    );
    ch(&mut app, 'u');
    key(&mut app, KeyCode::Right);
    assert!(enter(&mut app).is_empty());
    assert_eq!(account(&app).field, AccountField::Reason);
    assert!(
        account(&app)
            .error
            .as_ref()
            .unwrap()
            .contains("ticket or reason")
    );
    type_text(&mut app, "INC-77 locked out");
    enter(&mut app);
    assert_eq!(account(&app).field, AccountField::Confirm);
    let (id, _) = one_request(&enter(&mut app));
    answer(&mut app, id, ApiResponse::Account(Ok(())));
    assert!(
        app.audit
            .iter()
            .all(|n| n.reason.as_deref() == Some("INC-77 locked out"))
    );
    assert_eq!(app.audit.len(), 2);
}

#[test]
fn unlock_can_require_a_caller_check() {
    let mut app = app_with(
        TenantInfo {
            caller_check: CallerCheckSettings {
                required: [GuardedAction::Unlock].into_iter().collect(),
                ..CallerCheckSettings::default()
            },
            ..tenant()
        },
        locked_kelly(),
    );
    ch(&mut app, 'u');
    let text = screen(&app, 120, 40);
    assert!(text.contains("Caller not checked"), "{text}");
    key(&mut app, KeyCode::Right);
    assert!(requests(&enter(&mut app)).is_empty());
    // Sign-out is not guarded.
    esc(&mut app);
    ch(&mut app, 'o');
    key(&mut app, KeyCode::Right);
    assert_eq!(requests(&enter(&mut app)).len(), 1);
}

#[test]
fn not_locked_and_failures_are_said_and_the_user_read_again() {
    let mut app = app_with(tenant(), locked_kelly());
    ch(&mut app, 'u');
    key(&mut app, KeyCode::Right);
    let (id, _) = one_request(&enter(&mut app));
    let cmds = answer(
        &mut app,
        id,
        ApiResponse::Account(Err(api_error(
            ErrorKind::NotLocked,
            Some(200),
            "User cannot be unlocked",
        ))),
    );
    assert!(app.dialogs.is_empty());
    let status = &app.status.as_ref().unwrap().text;
    assert!(status.contains("User cannot be unlocked"), "{status}");
    assert!(
        requests(&cmds)
            .iter()
            .any(|(_, r)| *r == ApiRequest::GetUser(kelly().id))
    );
    assert_eq!(app.audit.last().unwrap().outcome, AuditResult::Failure);

    ch(&mut app, 'o');
    key(&mut app, KeyCode::Right);
    let (id, _) = one_request(&enter(&mut app));
    answer(
        &mut app,
        id,
        ApiResponse::Account(Err(api_error(
            ErrorKind::NotFound,
            Some(404),
            "User for id 1 was not found",
        ))),
    );
    assert!(matches!(app.dialogs.last(), Some(Dialog::Error(_))));
}

#[test]
fn esc_while_in_flight_settles_the_attempt_as_unknown() {
    let mut app = app_with(tenant(), kelly());
    ch(&mut app, 'o');
    key(&mut app, KeyCode::Right);
    let (id, _) = one_request(&enter(&mut app));
    let cmds = esc(&mut app);
    assert!(cmds.contains(&Cmd::Cancel(id)));
    assert_eq!(app.audit.last().unwrap().outcome, AuditResult::Failure);
    assert!(
        app.audit
            .last()
            .unwrap()
            .message
            .as_ref()
            .unwrap()
            .contains("unknown")
    );
}

#[test]
fn snapshots_of_the_three_dialogs() {
    let mut app = app_with(tenant(), locked_kelly());
    ch(&mut app, 'u');
    snap!("account_unlock", app);
    esc(&mut app);
    ch(&mut app, 'o');
    key(&mut app, KeyCode::Right);
    snap!("account_logout", app);
    esc(&mut app);
    let mut app = app_with(
        TenantInfo {
            require_reason: true,
            ..tenant()
        },
        kelly(),
    );
    ch(&mut app, 'L');
    tab(&mut app);
    key(&mut app, KeyCode::Right);
    snap!("account_lock", app);
}
