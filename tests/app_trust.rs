//! Update tests for acting on the right user and moment: keys aimed at the open user, failed
//! searches, the status line, the guided enrollment's end, codes sent again, and the footer.

mod common;

use common::*;
use crossterm::event::{KeyCode, KeyModifiers};
use mfadesk::api::{DeviceId, ErrorKind, OtpDevice, Secret, VerifyOutcome};
use mfadesk::app::codes::{self, YUBIKEY_HINT};
use mfadesk::app::dialogs::{Dialog, RemoveButton, VerifyStage};
use mfadesk::app::{App, AuditKind, AuditResult, Cmd, Focus, Msg, StatusKind, TenantInfo, update};
use mfadesk::ui::footer_keys;
use mfadesk::worker::{ApiRequest, ApiResponse};

// ---- helpers ----------------------------------------------------------------------------

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

fn footer(app: &App) -> Vec<(String, String)> {
    footer_keys(app)
}

fn footer_has(app: &App, key: &str) -> bool {
    footer(app).iter().any(|(k, _)| k == key)
}

fn footer_says(app: &App, key: &str, what: &str) -> bool {
    footer(app).iter().any(|(k, v)| k == key && v == what)
}

fn ctrl(app: &mut App, c: char) -> Vec<Cmd> {
    key_mod(app, KeyCode::Char(c), KeyModifiers::CONTROL)
}

fn select_device(app: &mut App, index: usize) {
    app.focus = Focus::Devices;
    key(app, KeyCode::Char('g'));
    for _ in 0..index {
        ch(app, 'j');
    }
    assert_eq!(app.user.as_ref().unwrap().device_sel, index);
}

fn enrolled_sms(id: &str, name: &str, number: &str) -> OtpDevice {
    OtpDevice {
        id: DeviceId(id.into()),
        active: false,
        default: false,
        needs_trigger: true,
        auth_factor_name: "OneLogin SMS".into(),
        type_display_name: None,
        user_display_name: Some(name.into()),
        phone_number: Some(number.into()),
        state_token: None,
    }
}

fn audits(cmds: &[Cmd]) -> Vec<mfadesk::app::AuditNote> {
    cmds.iter()
        .filter_map(|c| match c {
            Cmd::Audit(n) => Some(n.clone()),
            _ => None,
        })
        .collect()
}

/// `v` on the SMS device, the trigger answered: the dialog waits for the code.
fn sms_waiting_for_code(app: &mut App) {
    select_device(app, 0);
    let (id, req) = one_request(&ch(app, 'v'));
    assert!(matches!(req, ApiRequest::Trigger { .. }), "{req:?}");
    answer(app, id, trigger_ok("1001", "st-1"));
    assert_eq!(top_as!(app, Verify).stage, VerifyStage::EnterCode);
}

fn triggers(cmds: &[Cmd]) -> usize {
    requests(cmds)
        .iter()
        .filter(|(_, r)| matches!(r, ApiRequest::Trigger { .. }))
        .count()
}

fn verify_otp(cmds: &[Cmd]) -> String {
    let (_, req) = one_request(cmds);
    let ApiRequest::Verify { otp: Some(otp), .. } = req else {
        panic!("expected a verify with a code, got {req:?}")
    };
    otp.expose().to_owned()
}

// ---- 1. a failed search clears its rows -------------------------------------------------

#[test]
fn a_failed_search_clears_its_rows_and_r_retries_it() {
    for error in [
        api_error(ErrorKind::Server, Some(503), "Service Unavailable"),
        api_error(ErrorKind::BadRequest, Some(400), "bad query"),
        api_error(
            ErrorKind::RateLimited {
                reset_secs: Some(60),
            },
            Some(429),
            "Too Many",
        ),
        api_error(ErrorKind::Network, None, "connection refused"),
        api_error(ErrorKind::Timeout, None, "no answer in 10s"),
    ] {
        let mut app = new_app();
        search_with(&mut app, result_users());
        assert_eq!(app.search.results.len(), 6);
        ch(&mut app, '/');
        type_text(&mut app, "bob");
        let (id, _) = one_request(&enter(&mut app));
        answer(&mut app, id, ApiResponse::Search(Err(error.clone())));
        assert!(app.search.results.is_empty(), "{error:?}: rows stay");
        assert_eq!(app.search.query, "bob");
        let message = app.search.message.clone().unwrap_or_default();
        assert!(message.contains("r to retry"), "{message}");
        assert!(message.contains(&error.message), "{message}");
        // Nothing from the earlier query can be opened.
        assert!(requests(&enter(&mut app)).is_empty());
        assert!(app.user.is_none());
        let screen = screen(&app, 120, 40);
        assert!(!screen.contains("Kelly Slater"), "{screen}");
        assert!(screen.contains("bob"), "{screen}");
        // r runs the failed query again.
        let (_, req) = one_request(&ch(&mut app, 'r'));
        assert!(matches!(req, ApiRequest::Search(_)), "{req:?}");
    }
}

#[test]
fn r_retries_a_failed_search_even_with_a_user_open() {
    let mut app = app_with_kelly();
    ch(&mut app, '/');
    type_text(&mut app, "bob");
    let (id, _) = one_request(&enter(&mut app));
    let error = api_error(ErrorKind::Server, Some(500), "boom");
    answer(&mut app, id, ApiResponse::Search(Err(error)));
    assert_eq!(app.focus, Focus::Users);
    assert!(footer_has(&app, "r"));
    let (_, req) = one_request(&ch(&mut app, 'r'));
    assert!(matches!(req, ApiRequest::Search(_)), "{req:?}");
}

// ---- 2. keys act on the open user only --------------------------------------------------

#[test]
fn keys_for_the_open_user_do_nothing_while_another_row_is_highlighted() {
    let mut app = app_with_kelly();
    search_with(&mut app, result_users());
    assert_eq!(app.focus, Focus::Users);
    // Kelly Slater is open and highlighted: the keys work.
    assert!(footer_has(&app, "e"));
    ch(&mut app, 'j');
    assert_eq!(app.search.selected, 1);
    for k in ['e', 't', 'v', 'd', 'm'] {
        let cmds = ch(&mut app, k);
        assert!(cmds.is_empty(), "{k}: {cmds:?}");
        assert!(app.dialogs.is_empty(), "{k} opened {:?}", app.dialogs);
        assert_eq!(status_text(&app), "Open Kelly Smith first: Enter", "{k}");
    }
    for k in ["e", "t", "v", "d", "m"] {
        assert!(
            !footer_has(&app, k),
            "footer offers {k}: {:?}",
            footer(&app)
        );
    }
    // Back on the open user's row, e opens the enroll dialog for her.
    ch(&mut app, 'k');
    ch(&mut app, 'e');
    assert_eq!(top_as!(app, Enroll).target.user_id, kelly().id);
}

#[test]
fn with_no_user_open_the_keys_ask_to_open_the_highlighted_one() {
    let mut app = new_app();
    search_with(&mut app, result_users());
    let cmds = ch(&mut app, 'd');
    assert!(cmds.is_empty() && app.dialogs.is_empty());
    assert_eq!(status_text(&app), "Open Kelly Slater first: Enter");
}

// ---- 3. the too-small screen ignores keys ---------------------------------------------

#[test]
fn keys_do_not_reach_a_hidden_dialog_while_the_terminal_is_too_small() {
    let mut app = app_with_kelly();
    ch(&mut app, 'e');
    update(&mut app, Msg::Resize(40, 10));
    assert!(screen(&app, 40, 10).contains("Terminal too small"));
    type_text(&mut app, "typed blind");
    enter(&mut app);
    esc(&mut app);
    let d = top_as!(app, Enroll);
    assert_eq!(d.name.value(), "");
    assert_eq!(app.dialogs.len(), 1, "Esc closed the hidden dialog");
    // Without a dialog, q does not quit either; Ctrl-C does.
    esc_after_resize(&mut app);
    update(&mut app, Msg::Resize(40, 10));
    assert!(!ch(&mut app, 'q').contains(&Cmd::Quit));
    assert!(ctrl_c(&mut app).contains(&Cmd::Quit));
}

fn esc_after_resize(app: &mut App) {
    update(app, Msg::Resize(120, 40));
    esc(app);
    assert!(app.dialogs.is_empty());
}

// ---- 4. the status line belongs to the moment -------------------------------------------

#[test]
fn a_new_search_another_user_or_a_dialog_replaces_the_status() {
    let mut app = app_with_kelly();
    app.set_status(StatusKind::Success, "✓ Removed a device for Kelly Slater");
    ch(&mut app, 'e');
    assert_eq!(app.status, None, "opening a dialog");
    esc(&mut app);

    app.set_status(StatusKind::Warning, "something about Kelly");
    ch(&mut app, '/');
    type_text(&mut app, "smith");
    let (id, _) = one_request(&enter(&mut app));
    assert_eq!(app.status, None, "a new search");
    answer(
        &mut app,
        id,
        search_ok(vec![user(36216767, "Kelly", "Smith", "ksmith@acme.com", 1)]),
    );

    app.set_status(StatusKind::Success, "✓ Verified for Kelly Slater");
    enter(&mut app);
    assert_eq!(app.status, None, "opening another user");
}

#[test]
fn a_success_does_not_stay_under_an_error_dialog() {
    let mut app = app_with_kelly();
    select_device(&mut app, 1);
    ch(&mut app, 'd');
    let (id, _) = one_request(&confirm_remove(&mut app));
    app.set_status(
        StatusKind::Success,
        "✓ Verified OneLogin SMS for Kelly Slater",
    );
    let error = api_error(ErrorKind::Server, Some(500), "Internal error");
    answer(&mut app, id, ApiResponse::Removed(Err(error)));
    assert!(matches!(app.dialogs.last(), Some(Dialog::Error(_))));
    assert_eq!(app.status, None);
}

#[test]
fn the_ctrl_c_warning_goes_once_the_change_has_settled() {
    let mut app = app_with_kelly();
    select_device(&mut app, 1);
    ch(&mut app, 'd');
    let (id, _) = one_request(&confirm_remove(&mut app));
    assert!(!ctrl_c(&mut app).contains(&Cmd::Quit));
    assert!(status_text(&app).contains("Ctrl-C again"));
    let error = api_error(ErrorKind::Server, Some(500), "Internal error");
    answer(&mut app, id, ApiResponse::Removed(Err(error)));
    assert!(
        !status_text(&app).contains("Ctrl-C again"),
        "{:?}",
        app.status
    );
    assert!(!app.quit_armed);
}

// ---- 5. Esc on the guided verify step -----------------------------------------------------

#[test]
fn esc_on_the_guided_verify_step_says_the_device_is_left_pending() {
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
            ..enrolled_sms("2001", "Work phone", "+14155550123")
        }))),
    );
    assert!(top_as!(app, Verify).guided);
    esc(&mut app);
    assert!(app.dialogs.is_empty());
    assert_eq!(
        status_text(&app),
        "OneLogin SMS \"Work phone\" left pending: v verifies it, d removes it"
    );
}

// ---- 6. "already verified" asks twice ---------------------------------------------------

fn fill_verified_enroll(app: &mut App) {
    ch(app, 'e');
    type_text(app, "Work phone");
    tab(app);
    type_text(app, "+14155550123");
    tab(app);
    ch(app, ' ');
    assert!(top_as!(app, Enroll).verified);
}

#[test]
fn an_already_verified_enrollment_is_confirmed_and_audited_as_verified() {
    let mut app = app_with_kelly();
    fill_verified_enroll(&mut app);
    assert!(
        requests(&enter(&mut app)).is_empty(),
        "sent without confirmation"
    );
    assert!(top_as!(app, Enroll).confirm.is_some());
    let text = screen(&app, 80, 24);
    assert!(text.contains("will not be checked"), "{text}");
    // Esc goes back to the form with everything kept.
    esc(&mut app);
    let d = top_as!(app, Enroll);
    assert!(d.confirm.is_none());
    assert_eq!(d.phone.value(), "+14155550123");
    enter(&mut app);
    let cmds = enter(&mut app);
    let (_, req) = one_request(&cmds);
    assert!(matches!(req, ApiRequest::Enroll { verified: true, .. }));
    let notes = audits(&cmds);
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0].action, AuditKind::Enroll);
    assert_eq!(notes[0].verified, Some(true));
}

#[test]
fn an_already_verified_enrollment_asks_for_the_reason_when_the_profile_requires_one() {
    let mut app = App::new(
        TenantInfo {
            require_reason: true,
            ..tenant()
        },
        now(),
    );
    open_user(&mut app, kelly(), all_devices(), vec![sms_factor()]);
    fill_verified_enroll(&mut app);
    enter(&mut app);
    assert!(screen(&app, 120, 40).contains("Ticket/reason"));
    assert!(
        requests(&enter(&mut app)).is_empty(),
        "sent without a reason"
    );
    let confirm = top_as!(app, Enroll).confirm.clone().unwrap();
    assert!(confirm.error.unwrap().contains("reason"));
    type_text(&mut app, "INC-42 yes");
    let cmds = enter(&mut app);
    assert!(matches!(
        one_request(&cmds).1,
        ApiRequest::Enroll { verified: true, .. }
    ));
    let note = &audits(&cmds)[0];
    assert_eq!(note.reason.as_deref(), Some("INC-42 yes"));
    assert_eq!(note.verified, Some(true));
}

#[test]
fn an_ordinary_enrollment_is_audited_as_not_verified() {
    let mut app = app_with_kelly();
    ch(&mut app, 'e');
    type_text(&mut app, "Work phone");
    tab(&mut app);
    type_text(&mut app, "+14155550123");
    let cmds = enter(&mut app);
    assert_eq!(audits(&cmds)[0].verified, Some(false));
}

// ---- 7. the re-send limit --------------------------------------------------------------

#[test]
fn a_new_code_is_sent_at_most_every_30_seconds_on_the_app_clock() {
    let mut app = app_with_kelly_pending();
    sms_waiting_for_code(&mut app);
    let first = app.now;
    let text = screen(&app, 120, 40);
    assert!(
        text.contains(&format!("Code sent at {}", codes::clock_time(first))),
        "{text}"
    );
    assert!(!text.contains("(2nd)"), "{text}");
    assert_eq!(triggers(&enter(&mut app)), 0, "re-sent at once");
    assert!(screen(&app, 120, 40).contains("New code possible in 30s"));
    app.now = first + secs(12);
    assert_eq!(triggers(&enter(&mut app)), 0);
    assert!(screen(&app, 120, 40).contains("New code possible in 18s"));
    app.now = first + secs(30);
    let (id, _) = one_request(&enter(&mut app));
    answer(&mut app, id, trigger_ok("1001", "st-2"));
    let text = screen(&app, 120, 40);
    let second = codes::clock_time(first + secs(30));
    assert!(
        text.contains(&format!("Code sent at {second} (2nd)")),
        "{text}"
    );
    // The limit counts from the newest send.
    app.now = first + secs(45);
    assert_eq!(triggers(&enter(&mut app)), 0);
    app.now = first + secs(60);
    let (id, _) = one_request(&enter(&mut app));
    answer(&mut app, id, trigger_ok("1001", "st-3"));
    assert!(screen(&app, 120, 40).contains("(3rd)"));
}

#[test]
fn a_wrong_code_after_a_resend_says_a_newer_code_was_sent() {
    let mut app = app_with_kelly_pending();
    sms_waiting_for_code(&mut app);
    app.now += secs(31);
    let (id, _) = one_request(&enter(&mut app));
    answer(&mut app, id, trigger_ok("1001", "st-2"));
    let sent = app.now;
    app.now += secs(20);
    type_text(&mut app, "111111");
    let (id, _) = one_request(&enter(&mut app));
    let wrong = api_error(ErrorKind::WrongCode, Some(401), "Failed authentication");
    answer(&mut app, id, ApiResponse::Verified(Err(wrong)));
    assert_eq!(
        top_as!(app, Verify).error.as_deref(),
        Some(
            format!(
                "Wrong code. A newer code was sent at {}: use the newest.",
                codes::clock_time(sent)
            )
            .as_str()
        )
    );
}

// ---- 8. selected after a wrong code; Ctrl-U ---------------------------------------------

#[test]
fn after_a_wrong_code_typing_replaces_it_and_ctrl_u_clears_fields() {
    let mut app = app_with_kelly();
    select_device(&mut app, 4);
    ch(&mut app, 'v');
    type_text(&mut app, "123456");
    let (id, _) = one_request(&enter(&mut app));
    let wrong = api_error(ErrorKind::WrongCode, Some(401), "Failed authentication");
    answer(&mut app, id, ApiResponse::Verified(Err(wrong)));
    assert_eq!(top_as!(app, Verify).code.value(), "123456", "kept to read");
    type_text(&mut app, "65");
    assert_eq!(top_as!(app, Verify).code.value(), "65");
    ctrl(&mut app, 'u');
    assert_eq!(top_as!(app, Verify).code.value(), "");
    esc(&mut app);
    // Ctrl-U in the enroll form and in the search box.
    app.focus = Focus::Devices;
    ch(&mut app, 'e');
    type_text(&mut app, "Work phone");
    ctrl(&mut app, 'u');
    assert_eq!(top_as!(app, Enroll).name.value(), "");
    esc(&mut app);
    ch(&mut app, '/');
    key(&mut app, KeyCode::Right);
    type_text(&mut app, "more");
    ctrl(&mut app, 'u');
    assert_eq!(app.search.input.value(), "");
}

// ---- 9. normalised input; YubiKey -------------------------------------------------------

#[test]
fn codes_lose_spaces_and_dashes_before_they_are_sent() {
    for (typed, sent) in [("12 34 56", "123456"), ("123-456", "123456")] {
        let mut app = app_with_kelly();
        select_device(&mut app, 4);
        ch(&mut app, 'v');
        type_text(&mut app, typed);
        assert_eq!(verify_otp(&enter(&mut app)), sent);
        assert_eq!(
            top_as!(app, Verify).code.value(),
            typed,
            "what was typed stays"
        );
    }
}

#[test]
fn phone_numbers_lose_spaces_dots_dashes_and_parentheses() {
    let mut app = app_with_kelly();
    ch(&mut app, 'e');
    type_text(&mut app, "Work phone");
    tab(&mut app);
    type_text(&mut app, "+1 (415) 555-0123");
    assert!(screen(&app, 120, 40).contains("valid E.164"));
    let (_, req) = one_request(&enter(&mut app));
    let ApiRequest::Enroll { number, .. } = req else {
        panic!("{req:?}")
    };
    assert_eq!(number, "+14155550123");
}

#[test]
fn a_six_character_yubikey_entry_gets_the_hint_instead_of_being_sent() {
    let mut app = app_with_kelly();
    select_device(&mut app, 5);
    ch(&mut app, 'v');
    assert!(screen(&app, 120, 40).contains(YUBIKEY_HINT));
    type_text(&mut app, "123456");
    assert!(requests(&enter(&mut app)).is_empty());
    let error = top_as!(app, Verify).error.clone().unwrap_or_default();
    assert!(error.contains("6 characters"), "{error}");
    assert!(error.contains(YUBIKEY_HINT), "{error}");
    // The long string is sent (typing replaces the short entry).
    let otp = "cccjgjgkhcbbirdrfdnlnghhfgrtnnlgedjlftrbdeut";
    type_text(&mut app, otp);
    assert_eq!(verify_otp(&enter(&mut app)), otp);
}

// ---- 10. Esc on a push wait ---------------------------------------------------------------

#[test]
fn esc_on_a_push_wait_says_nothing_was_changed() {
    let mut app = app_with_kelly_pending();
    select_device(&mut app, 2);
    ch(&mut app, 'v');
    let (id, _) = one_request(&enter(&mut app));
    answer(&mut app, id, trigger_ok("1003", "st-push"));
    assert!(matches!(
        top_as!(app, Verify).stage,
        VerifyStage::AwaitPush { .. }
    ));
    let cmds = esc(&mut app);
    assert!(app.dialogs.is_empty());
    // The trigger answer gave no expiry: the default lifetime counts from the answer.
    let expires = mfadesk::app::codes::clock_time(now() + secs(120));
    assert_eq!(
        status_text(&app),
        format!(
            "Stopped waiting. The push stays on the phone until it expires at {expires}; nothing was changed."
        )
    );
    // The verification's attempt is closed; no re-read is needed.
    assert!(requests(&cmds).is_empty(), "{cmds:?}");
    let settled = audits(&cmds);
    assert_eq!(settled.len(), 1);
    assert_eq!(settled[0].action, AuditKind::Verify);
    assert_eq!(settled[0].outcome, AuditResult::Failure);
}

// ---- 16. focus on Available; Enter on a device ------------------------------------------

#[test]
fn a_user_with_no_device_opens_on_available_where_enter_enrolls() {
    let mut app = new_app();
    open_user(
        &mut app,
        kelly(),
        vec![],
        vec![sms_factor(), voice_factor()],
    );
    assert_eq!(app.focus, Focus::Factors);
    assert!(footer_says(&app, "⏎", "enroll"), "{:?}", footer(&app));
    enter(&mut app);
    assert!(matches!(app.dialogs.last(), Some(Dialog::Enroll(_))));
}

#[test]
fn enter_on_an_enrolled_device_opens_verify() {
    let mut app = app_with_kelly_pending();
    // A code device: verify at once, nothing sent.
    select_device(&mut app, 4);
    assert!(footer_says(&app, "v", "verify"), "{:?}", footer(&app));
    assert!(requests(&enter(&mut app)).is_empty());
    assert_eq!(top_as!(app, Verify).stage, VerifyStage::EnterCode);
    esc(&mut app);
    // An SMS device: triggered first.
    select_device(&mut app, 0);
    let (_, req) = one_request(&enter(&mut app));
    assert!(matches!(req, ApiRequest::Trigger { .. }), "{req:?}");
    assert!(matches!(app.dialogs.last(), Some(Dialog::Verify(_))));
}

// ---- 17. the footer matches what works now ----------------------------------------------

#[test]
fn the_footer_offers_no_send_again_for_code_devices() {
    for index in [4, 5] {
        let mut app = app_with_kelly_pending();
        select_device(&mut app, index);
        ch(&mut app, 'v');
        let keys = footer(&app);
        assert!(
            keys.iter().all(|(_, v)| !v.contains("send again")),
            "{keys:?}"
        );
        assert!(footer_says(&app, "⏎", "check code"), "{keys:?}");
    }
    // An SMS code offers it once the limit allows.
    let mut app = app_with_kelly_pending();
    sms_waiting_for_code(&mut app);
    assert!(footer_says(&app, "⏎", "check code"));
    app.now += secs(30);
    assert!(footer_says(&app, "⏎", "send again"));
}

#[test]
fn the_footer_offers_no_approve_or_deny_once_the_push_has_settled() {
    let mut app = App::new(
        TenantInfo {
            demo: true,
            ..tenant()
        },
        now(),
    );
    open_user(&mut app, kelly(), all_devices(), vec![]);
    select_device(&mut app, 2);
    ch(&mut app, 'v');
    assert!(footer_says(&app, "⏎", "send push"));
    let (id, _) = one_request(&enter(&mut app));
    answer(&mut app, id, trigger_ok("1003", "st-push"));
    assert!(footer_has(&app, "a/x"));
    app.now += secs(2);
    let (id, _) = one_request(&tick(&mut app));
    let denied = api_error(ErrorKind::PushDenied, Some(401), "denied");
    answer(&mut app, id, ApiResponse::Verified(Err(denied)));
    assert_eq!(top_as!(app, Verify).stage, VerifyStage::Stopped);
    assert!(!footer_has(&app, "a/x"), "{:?}", footer(&app));
    assert!(footer_says(&app, "⏎", "send again"));
    // Approved is settled too: the dialog is gone.
    let (id, _) = one_request(&enter(&mut app));
    answer(&mut app, id, trigger_ok("1003", "st-push-2"));
    app.now += secs(2);
    let (id, _) = one_request(&tick(&mut app));
    answer(
        &mut app,
        id,
        ApiResponse::Verified(Ok(VerifyOutcome::Verified)),
    );
    assert!(app.dialogs.is_empty());
}

#[test]
fn no_y_or_n_in_the_footer_while_the_ticket_field_has_focus() {
    let mut app = App::new(
        TenantInfo {
            require_reason: true,
            ..tenant()
        },
        now(),
    );
    open_user(&mut app, kelly(), all_devices(), vec![]);
    select_device(&mut app, 1);
    ch(&mut app, 'd');
    // No letter confirms a removal: Enter on the focused button does.
    assert!(!footer_has(&app, "y") && footer_says(&app, "⏎", "keep"));
    tab(&mut app);
    assert_eq!(top_as!(app, Remove).button, RemoveButton::Reason);
    assert!(
        !footer_has(&app, "y") && !footer_has(&app, "n"),
        "{:?}",
        footer(&app)
    );
    // y and n are text there.
    type_text(&mut app, "yn");
    assert_eq!(top_as!(app, Remove).reason.as_ref().unwrap().value(), "yn");
}

// ---- 23. read-only hints ---------------------------------------------------------------

#[test]
fn read_only_hints_offer_only_what_works() {
    let read_only = TenantInfo {
        read_only: true,
        ..tenant()
    };
    let demo_ro = App::new(
        TenantInfo {
            demo: true,
            ..read_only.clone()
        },
        now(),
    );
    let hint = demo_ro.first_run_hint().unwrap();
    assert!(!hint.contains("enroll"), "{hint}");
    let demo = App::new(
        TenantInfo {
            demo: true,
            ..tenant()
        },
        now(),
    );
    assert!(demo.first_run_hint().unwrap().contains("e to enroll"));

    let mut app = App::new(read_only, now());
    open_user(&mut app, kelly(), all_devices(), vec![sms_factor()]);
    for k in ["e", "t", "d", "m"] {
        assert!(!footer_has(&app, k), "{k} offered: {:?}", footer(&app));
    }
    // v on an active device is a caller check, which read-only mode allows.
    assert!(app.user.as_ref().unwrap().selected_device().unwrap().active);
    assert!(footer_has(&app, "v"), "{:?}", footer(&app));
    // Enter neither verifies a device nor enrolls a factor in read-only mode.
    assert!(!footer_has(&app, "⏎"), "{:?}", footer(&app));
    app.focus = Focus::Factors;
    assert!(!footer_has(&app, "⏎"), "{:?}", footer(&app));
    // A user with no device: the pane's hint does not point at enrolling.
    let mut app = App::new(
        TenantInfo {
            read_only: true,
            ..tenant()
        },
        now(),
    );
    open_user(&mut app, kelly(), vec![], vec![sms_factor()]);
    let text = screen(&app, 120, 40);
    assert!(!text.contains("⏎ enroll"), "{text}");
}

#[test]
fn once_a_device_is_enrolled_from_available_focus_moves_to_it() {
    let mut app = new_app();
    open_user(&mut app, kelly(), vec![], vec![sms_factor()]);
    assert_eq!(app.focus, Focus::Factors);
    enter(&mut app);
    type_text(&mut app, "Work phone");
    tab(&mut app);
    type_text(&mut app, "+14155550123");
    tab(&mut app);
    ch(&mut app, ' ');
    enter(&mut app);
    let (id, _) = one_request(&enter(&mut app));
    let device = OtpDevice {
        active: true,
        ..enrolled_sms("2001", "Work phone", "+14155550123")
    };
    let cmds = answer(
        &mut app,
        id,
        ApiResponse::Enrolled(Ok(mfadesk::api::Enrollment::Device(device.clone()))),
    );
    for (id, req) in requests(&cmds) {
        let response = match req {
            ApiRequest::GetDevices(_) => ApiResponse::Devices(Ok(vec![device.clone()])),
            ApiRequest::GetFactors(_) => ApiResponse::Factors(Ok(vec![])),
            other => panic!("unexpected {other:?}"),
        };
        answer(&mut app, id, response);
    }
    assert_eq!(app.focus, Focus::Devices);
    assert!(footer_has(&app, "d"), "{:?}", footer(&app));
}

#[test]
fn another_key_disarms_the_second_ctrl_c_and_its_warning() {
    let mut app = app_with_kelly_pending();
    select_device(&mut app, 4);
    ch(&mut app, 'v');
    type_text(&mut app, "123456");
    one_request(&enter(&mut app));
    ctrl_c(&mut app);
    assert!(status_text(&app).contains("Ctrl-C again"));
    ch(&mut app, 'x');
    assert!(
        !status_text(&app).contains("Ctrl-C again"),
        "{:?}",
        app.status
    );
    // The change is still in flight: Ctrl-C warns again rather than exiting.
    assert!(!ctrl_c(&mut app).contains(&Cmd::Quit));
}
