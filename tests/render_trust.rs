//! Render snapshots of the states that keep the agent on the right user and moment: a failed
//! search, a user with no device, the pre-verified enroll confirmation, codes sent again, the
//! YubiKey hint, and the read-only first run. Each at 80×24 and 120×40.

mod common;

use common::*;
use mfadesk::api::{ErrorKind, OtpDevice, Secret};
use mfadesk::app::{App, StatusKind, TenantInfo};
use mfadesk::worker::ApiResponse;

macro_rules! snap {
    ($name:literal, $app:expr) => {{
        let app: &App = &$app;
        insta::assert_snapshot!(concat!($name, "_80x24"), screen(app, 80, 24));
        insta::assert_snapshot!(concat!($name, "_120x40"), screen(app, 120, 40));
    }};
}

fn select_device(app: &mut App, index: usize) {
    app.focus = mfadesk::app::Focus::Devices;
    ch(app, 'g');
    for _ in 0..index {
        ch(app, 'j');
    }
}

#[test]
fn failed_search_shows_no_old_rows() {
    let mut app = new_app();
    search_with(&mut app, result_users());
    ch(&mut app, '/');
    type_text(&mut app, "bob");
    let (id, _) = one_request(&enter(&mut app));
    let error = api_error(ErrorKind::Server, Some(503), "Service Unavailable");
    answer(&mut app, id, ApiResponse::Search(Err(error)));
    snap!("search_failed", app);
}

#[test]
fn another_row_highlighted_than_the_open_user() {
    let mut app = app_with_kelly();
    search_with(&mut app, result_users());
    ch(&mut app, 'j');
    ch(&mut app, 'e');
    snap!("other_row_highlighted", app);
}

#[test]
fn user_with_no_device_opens_on_available() {
    let mut app = new_app();
    open_user(
        &mut app,
        kelly(),
        vec![],
        vec![sms_factor(), voice_factor()],
    );
    snap!("no_device_available_focused", app);
}

#[test]
fn pre_verified_enroll_confirmation() {
    let mut app = App::new(
        TenantInfo {
            require_reason: true,
            ..tenant()
        },
        now(),
    );
    open_user(&mut app, kelly(), all_devices(), vec![sms_factor()]);
    ch(&mut app, 'e');
    type_text(&mut app, "Work phone");
    tab(&mut app);
    type_text(&mut app, "+1 (415) 555-0123");
    tab(&mut app);
    ch(&mut app, ' ');
    enter(&mut app);
    type_text(&mut app, "INC-42");
    snap!("enroll_confirm_verified", app);
}

#[test]
fn verify_right_after_a_code_was_sent() {
    let mut app = app_with_kelly_pending();
    let (id, _) = one_request(&ch(&mut app, 'v'));
    answer(&mut app, id, trigger_ok("1001", "st"));
    app.now = now() + secs(10);
    snap!("verify_resend_countdown", app);
}

#[test]
fn verify_wrong_code_after_a_resend() {
    let mut app = app_with_kelly_pending();
    let (id, _) = one_request(&ch(&mut app, 'v'));
    answer(&mut app, id, trigger_ok("1001", "st"));
    app.now = now() + secs(40);
    let (id, _) = one_request(&enter(&mut app));
    answer(&mut app, id, trigger_ok("1001", "st-2"));
    app.now = now() + secs(80);
    type_text(&mut app, "12 34 56");
    let (id, _) = one_request(&enter(&mut app));
    let wrong = api_error(ErrorKind::WrongCode, Some(401), "Failed authentication");
    answer(&mut app, id, ApiResponse::Verified(Err(wrong)));
    snap!("verify_wrong_code_after_resend", app);
}

#[test]
fn verify_a_yubikey_with_a_short_entry() {
    let mut app = app_with_kelly_pending();
    select_device(&mut app, 5);
    ch(&mut app, 'v');
    type_text(&mut app, "123456");
    enter(&mut app);
    snap!("verify_yubikey_hint", app);
}

#[test]
fn verify_an_authenticator() {
    let mut app = app_with_kelly_pending();
    select_device(&mut app, 4);
    ch(&mut app, 'v');
    snap!("verify_authenticator", app);
}

#[test]
fn push_denied_offers_no_approve_or_deny() {
    let mut app = App::new(
        TenantInfo {
            demo: true,
            ..tenant()
        },
        now(),
    );
    let pending = all_devices()
        .into_iter()
        .map(|mut d| {
            d.active = false;
            d
        })
        .collect();
    open_user(&mut app, kelly(), pending, vec![]);
    select_device(&mut app, 2);
    ch(&mut app, 'v');
    let (id, _) = one_request(&enter(&mut app));
    answer(&mut app, id, trigger_ok("1003", "st-push"));
    app.now = now() + secs(2);
    let (id, _) = one_request(&tick(&mut app));
    let denied = api_error(ErrorKind::PushDenied, Some(401), "denied");
    answer(&mut app, id, ApiResponse::Verified(Err(denied)));
    snap!("verify_push_denied", app);
}

#[test]
fn guided_enrollment_left_pending() {
    let mut app = app_with_kelly();
    ch(&mut app, 'e');
    type_text(&mut app, "Work phone");
    tab(&mut app);
    type_text(&mut app, "+14155550123");
    let (id, _) = one_request(&enter(&mut app));
    answer(
        &mut app,
        id,
        ApiResponse::Enrolled(Ok(mfadesk::api::Enrollment::Device(OtpDevice {
            state_token: Some(Secret::new("st-enroll")),
            active: false,
            needs_trigger: true,
            user_display_name: Some("Work phone".into()),
            phone_number: Some("+14155550123".into()),
            ..device("2001", "OneLogin SMS")
        }))),
    );
    esc(&mut app);
    snap!("enroll_left_pending", app);
}

#[test]
fn read_only_demo_first_run() {
    let mut app = App::new(
        TenantInfo {
            demo: true,
            read_only: true,
            name: "demo".into(),
            base_url: "http://127.0.0.1:0".into(),
            profile: None,
            ..tenant()
        },
        now(),
    );
    if let Some(hint) = app.first_run_hint() {
        app.set_status(StatusKind::Info, hint);
    }
    snap!("read_only_demo_first_run", app);
}
