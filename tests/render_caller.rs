//! Render snapshots of the caller check at 80×24 and 120×40: the device list, the push wait,
//! the code, no active device, a guarded removal before and after, the override, the pane line.

mod common;

use common::*;
use mfadesk::api::{RateLimit, VerifyOutcome};
use mfadesk::app::{App, CallerCheckSettings, TenantInfo};
use mfadesk::policy::GuardedAction;
use mfadesk::worker::ApiResponse;

macro_rules! snap {
    ($name:literal, $app:expr) => {{
        let app: &App = &$app;
        insta::assert_snapshot!(concat!($name, "_80x24"), screen(app, 80, 24));
        insta::assert_snapshot!(concat!($name, "_120x40"), screen(app, 120, 40));
    }};
}

fn kelly(tenant: TenantInfo, devices: Vec<mfadesk::api::OtpDevice>) -> App {
    let mut app = App::new(tenant, now());
    app.operator = "jdoe".into();
    app.rate_limit = Some(RateLimit {
        limit: Some(5_000),
        remaining: Some(4_981),
        reset_secs: Some(1_800),
    });
    open_user(&mut app, common::kelly(), devices, vec![sms_factor()]);
    // The scope probe's spinner is not what these screens are about.
    app.credential_probed = true;
    app
}

fn requiring_remove() -> TenantInfo {
    TenantInfo {
        caller_check: CallerCheckSettings {
            required: [GuardedAction::Remove].into_iter().collect(),
            ..CallerCheckSettings::default()
        },
        ..tenant()
    }
}

/// A successful check with the Google Authenticator code.
fn checked(app: &mut App) {
    ch(app, 'c');
    for _ in 0..2 {
        ch(app, 'j');
    }
    enter(app);
    type_text(app, "123456");
    let (id, _) = one_request(&enter(app));
    answer(app, id, ApiResponse::Verified(Ok(VerifyOutcome::Verified)));
}

#[test]
fn caller_check_device_list() {
    let mut app = kelly(tenant(), all_devices());
    ch(&mut app, 'c');
    ch(&mut app, 'j');
    snap!("caller_check_devices", app);
}

#[test]
fn caller_check_waiting_for_a_push() {
    let mut app = kelly(tenant(), all_devices());
    ch(&mut app, 'c');
    // The push is listed last, after every code.
    for _ in 0..4 {
        ch(&mut app, 'j');
    }
    let (id, _) = one_request(&enter(&mut app));
    answer(&mut app, id, trigger_ok("1003", "st"));
    app.now = now() + secs(20);
    snap!("caller_check_push_wait", app);
}

#[test]
fn caller_check_sms_code_wrong() {
    let mut app = kelly(tenant(), all_devices());
    ch(&mut app, 'c');
    let (id, _) = one_request(&enter(&mut app));
    answer(&mut app, id, trigger_ok("1001", "st"));
    type_text(&mut app, "B41832");
    let (id, _) = one_request(&enter(&mut app));
    answer(
        &mut app,
        id,
        ApiResponse::Verified(Err(api_error(
            mfadesk::api::ErrorKind::WrongCode,
            Some(401),
            "Failed authentication with this factor",
        ))),
    );
    snap!("caller_check_wrong_code", app);
}

#[test]
fn caller_check_no_active_device_from_a_guarded_removal() {
    let mut app = kelly(requiring_remove(), vec![voice_device()]);
    ch(&mut app, 'd');
    ch(&mut app, 'c');
    snap!("caller_check_no_active_device", app);
}

#[test]
fn guarded_removal_not_checked() {
    let mut app = kelly(requiring_remove(), all_devices());
    ch(&mut app, 'd');
    snap!("caller_check_remove_not_checked", app);
}

#[test]
fn guarded_removal_checked_and_the_pane_line() {
    let mut app = kelly(requiring_remove(), all_devices());
    checked(&mut app);
    snap!("caller_check_pane_checked", app);
    ch(&mut app, 'd');
    snap!("caller_check_remove_checked", app);
}

#[test]
fn the_override_dialog() {
    let mut app = kelly(requiring_remove(), all_devices());
    ch(&mut app, 'd');
    ch(&mut app, 'o');
    type_text(&mut app, "manager");
    enter(&mut app);
    snap!("caller_check_override_short", app);
}

#[test]
fn expired_and_failed_pane_lines() {
    let mut app = kelly(tenant(), all_devices());
    checked(&mut app);
    app.now = now() + secs(16 * 60);
    snap!("caller_check_pane_expired", app);
    ch(&mut app, 'c');
    for _ in 0..4 {
        ch(&mut app, 'j');
    }
    let (id, _) = one_request(&enter(&mut app));
    answer(&mut app, id, trigger_ok("1003", "st"));
    app.now = now() + secs(17 * 60);
    let (poll, _) = one_request(&tick(&mut app));
    answer(
        &mut app,
        poll,
        ApiResponse::Verified(Err(api_error(
            mfadesk::api::ErrorKind::PushDenied,
            Some(401),
            "denied",
        ))),
    );
    esc(&mut app);
    snap!("caller_check_pane_failed", app);
}

#[test]
fn caller_check_waiting_for_an_sms_code() {
    let mut app = kelly(tenant(), all_devices());
    ch(&mut app, 'c');
    let (id, _) = one_request(&enter(&mut app));
    answer(&mut app, id, trigger_ok("1001", "st"));
    app.now = now() + secs(30);
    snap!("caller_check_sms_code", app);
}
