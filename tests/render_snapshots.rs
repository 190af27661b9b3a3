//! Render snapshots: every pane and dialog state on ratatui's TestBackend, at 80×24 and 120×40.
//!
//! The clock is fixed (`common::now`), so countdowns and "2 days ago" are stable. Text snapshots
//! show the layout; a few Debug snapshots of the buffer pin the styles where they carry meaning
//! (selection, danger, NO_COLOR).

mod common;

use chrono::Duration;
use common::*;
use crossterm::event::{KeyCode, KeyModifiers};
use mfadesk::api::{ErrorKind, MfaToken, RateLimit, Secret, User};
use mfadesk::app::dialogs::Dialog;
use mfadesk::app::phone::{PhoneCode, PhoneMessage, PhonePush, PhoneSnapshot};
use mfadesk::app::{App, AuditKind, AuditResult, Cmd, Focus, TenantInfo};
use mfadesk::worker::{ApiRequest, ApiResponse};

/// Snapshots the screen as text at both sizes.
macro_rules! snap {
    ($name:literal, $app:expr) => {{
        let app: &App = &$app;
        insta::assert_snapshot!(concat!($name, "_80x24"), screen(app, 80, 24));
        insta::assert_snapshot!(concat!($name, "_120x40"), screen(app, 120, 40));
    }};
}

/// Snapshots the buffer's Debug form (symbols and styles) at one size.
fn snap_styles(name: &str, app: &App, width: u16, height: u16) {
    let terminal = draw(app, width, height);
    insta::assert_snapshot!(name, format!("{:?}", terminal.backend().buffer()));
}

fn with_budget(mut app: App) -> App {
    app.rate_limit = Some(RateLimit {
        limit: Some(5_000),
        remaining: Some(4_981),
        reset_secs: Some(1_800),
    });
    app
}

fn results_app() -> App {
    let mut app = with_budget(new_app());
    search_with(&mut app, result_users());
    ch(&mut app, 'j');
    ch(&mut app, 'j');
    app
}

fn kelly_app() -> App {
    with_budget(app_with_kelly())
}

/// Kelly open with her devices not yet verified: `v` activates (on an active one it checks
/// the caller).
fn kelly_pending_app() -> App {
    with_budget(app_with_kelly_pending())
}

/// Kelly open, the SMS device's code asked for: trigger answered, 25 s gone, 5 digits typed.
fn verify_code_app() -> App {
    let mut app = kelly_pending_app();
    let (id, _) = one_request(&ch(&mut app, 'v'));
    answer(&mut app, id, trigger_ok("1001", "st"));
    app.now = now() + secs(25);
    tick(&mut app);
    type_text(&mut app, "12345");
    app
}

// ---- screens ----------------------------------------------------------------------------

#[test]
fn start_screen() {
    snap!("start_empty", new_app());
}

#[test]
fn search_box_focused_with_text() {
    let mut app = new_app();
    ch(&mut app, '/');
    type_text(&mut app, "email:kelly*");
    snap!("search_typing", app);
}

#[test]
fn searching() {
    let mut app = new_app();
    ch(&mut app, '/');
    type_text(&mut app, "kelly");
    enter(&mut app);
    snap!("search_in_flight", app);
}

#[test]
fn search_error_message() {
    let mut app = new_app();
    ch(&mut app, '/');
    type_text(&mut app, "foo:bar");
    enter(&mut app);
    snap!("search_bad_query", app);
}

#[test]
fn results_with_selection() {
    let app = results_app();
    snap!("results_selected", app);
    snap_styles("results_selected_styles_80x24", &app, 80, 24);
    // No user open: the pane takes the room its rows need, up to half the screen, so emails
    // and statuses are whole at 120 columns; at 80 it is wider than with a user open and the
    // email column, dropped there before, is shown.
    let text = screen(&app, 120, 40);
    for whole in ["kelly@acme.com", "ksmith@acme.com", "Suspended", "Pw reset"] {
        assert!(text.contains(whole), "{whole} cut:\n{text}");
    }
    let users_pane = |text: &str| {
        let top = text.lines().nth(1).unwrap_or_default();
        top.split('┐').next().unwrap_or_default().chars().count() + 1
    };
    assert_eq!(users_pane(&text), 60, "{text}");
    let text = screen(&app, 80, 24);
    assert_eq!(users_pane(&text), 40, "{text}");
    assert!(text.contains("kelly@acm…"), "{text}");
}

#[test]
fn results_scrolled_to_the_end() {
    let mut app = with_budget(new_app());
    let users: Vec<User> = (0..60)
        .map(|i| user(1000 + i, "User", &format!("Number {i:02}"), "u@acme.com", 1))
        .collect();
    ch(&mut app, '/');
    type_text(&mut app, "user");
    let (id, _) = one_request(&enter(&mut app));
    answer(
        &mut app,
        id,
        ApiResponse::Search(Ok(mfadesk::worker::SearchResult {
            users,
            next: vec![],
            total: Some(60),
        })),
    );
    ch(&mut app, 'G');
    snap!("results_at_end", app);
}

#[test]
fn user_loading() {
    let mut app = with_budget(new_app());
    search_with(&mut app, vec![kelly()]);
    enter(&mut app);
    snap!("user_loading", app);
}

#[test]
fn user_with_every_kind_of_device() {
    let mut app = kelly_app();
    ch(&mut app, 'j');
    ch(&mut app, 'j');
    snap!("user_devices", app);
    snap_styles("user_devices_styles_120x40", &app, 120, 40);
}

#[test]
fn available_factors_focused() {
    let mut app = kelly_app();
    tab(&mut app);
    ch(&mut app, 'j');
    snap!("user_factors_focused", app);
}

#[test]
fn locked_user_whose_devices_failed_to_load() {
    let mut app = with_budget(new_app());
    let locked = User {
        locked_until: Some(now() + Duration::hours(2)),
        phone: Some("+442071838750".into()),
        invalid_login_attempts: Some(5),
        username: Some("ksmith".into()),
        ..user(36216767, "Kelly", "Smith", "ksmith@acme.com", 3)
    };
    search_with(&mut app, vec![locked]);
    for (id, req) in requests(&enter(&mut app)) {
        let response = match req {
            ApiRequest::GetDevices(_) => ApiResponse::Devices(Err(api_error(
                ErrorKind::Server,
                Some(503),
                "Service Unavailable",
            ))),
            _ => ApiResponse::Factors(Ok(vec![])),
        };
        answer(&mut app, id, response);
    }
    snap!("user_load_error", app);
}

#[test]
fn status_line_after_a_change() {
    let mut app = kelly_app();
    let (id, _) = one_request(&{
        ch(&mut app, 'd');
        confirm_remove(&mut app)
    });
    answer(&mut app, id, ApiResponse::Removed(Ok(())));
    snap!("status_removed", app);
}

// ---- dialogs ----------------------------------------------------------------------------

#[test]
fn enroll_with_a_valid_phone() {
    let mut app = kelly_app();
    ch(&mut app, 'e');
    type_text(&mut app, "Work phone");
    tab(&mut app);
    type_text(&mut app, "+14155550123");
    snap!("enroll_valid", app);
}

#[test]
fn enroll_with_an_invalid_phone() {
    let mut app = kelly_app();
    ch(&mut app, 'e');
    type_text(&mut app, "Work phone");
    tab(&mut app);
    type_text(&mut app, "+1 415 555");
    enter(&mut app);
    snap!("enroll_invalid", app);
}

#[test]
fn trigger_with_a_template() {
    let mut app = kelly_app();
    ch(&mut app, 't');
    tab(&mut app);
    tab(&mut app);
    type_text(
        &mut app,
        "Your Acme code is {{otp_code}}. It expires in {{expiration}} minutes.",
    );
    snap!("trigger_template", app);
}

#[test]
fn trigger_with_a_template_too_long() {
    let mut app = kelly_app();
    ch(&mut app, 't');
    tab(&mut app);
    tab(&mut app);
    type_text(
        &mut app,
        &format!("Code {{{{otp_code}}}} {}", "lorem ipsum ".repeat(14)),
    );
    snap!("trigger_template_too_long", app);
    snap_styles("trigger_template_too_long_styles_80x24", &app, 80, 24);
}

#[test]
fn verify_sending() {
    let mut app = kelly_pending_app();
    ch(&mut app, 'v');
    snap!("verify_sending", app);
}

#[test]
fn verify_entering_a_code_with_countdown() {
    snap!("verify_code", verify_code_app());
}

#[test]
fn verify_wrong_code() {
    let mut app = verify_code_app();
    ch(&mut app, '6');
    let (id, _) = one_request(&enter(&mut app));
    answer(
        &mut app,
        id,
        ApiResponse::Verified(Err(api_error(
            ErrorKind::WrongCode,
            Some(401),
            "Failed authentication with this factor",
        ))),
    );
    snap!("verify_wrong_code", app);
}

#[test]
fn verify_waiting_for_a_push() {
    let mut app = kelly_pending_app();
    ch(&mut app, 'j');
    ch(&mut app, 'j');
    ch(&mut app, 'v');
    let (id, _) = one_request(&enter(&mut app));
    answer(&mut app, id, trigger_ok("1003", "st"));
    app.now = now() + secs(1);
    tick(&mut app);
    snap!("verify_push", app);
}

#[test]
fn verify_expired() {
    let mut app = verify_code_app();
    app.now = now() + secs(121);
    tick(&mut app);
    snap!("verify_expired", app);
}

#[test]
fn guided_enrollment_verify() {
    let mut app = kelly_app();
    ch(&mut app, 'e');
    type_text(&mut app, "Work phone");
    tab(&mut app);
    type_text(&mut app, "+14155550123");
    let (id, _) = one_request(&enter(&mut app));
    let cmds = answer(
        &mut app,
        id,
        ApiResponse::Enrolled(Ok(mfadesk::api::Enrollment::Device(
            mfadesk::api::OtpDevice {
                active: false,
                default: false,
                user_display_name: Some("Work phone".into()),
                phone_number: Some("+14155550123".into()),
                ..sms_device()
            },
        ))),
    );
    let (trigger, _) = requests(&cmds)
        .into_iter()
        .find(|(_, r)| matches!(r, ApiRequest::Trigger { .. }))
        .unwrap();
    answer(&mut app, trigger, trigger_ok("1001", "st"));
    snap!("enroll_guided_verify", app);
}

#[test]
fn remove_the_last_default_device() {
    let mut app = with_budget(new_app());
    open_user(&mut app, kelly(), vec![sms_device()], vec![voice_factor()]);
    ch(&mut app, 'd');
    snap!("remove_last_default", app);
    snap_styles("remove_last_default_styles_80x24", &app, 80, 24);
    tab(&mut app);
    snap_styles("remove_button_focused_styles_80x24", &app, 80, 24);
}

#[test]
fn token_form() {
    let mut app = kelly_app();
    ch(&mut app, 'm');
    key(&mut app, KeyCode::Right);
    tab(&mut app);
    ch(&mut app, ' ');
    snap!("token_form", app);
}

#[test]
fn token_issued() {
    let mut app = kelly_app();
    ch(&mut app, 'm');
    let (id, _) = one_request(&enter(&mut app));
    answer(
        &mut app,
        id,
        ApiResponse::MfaToken(Ok(MfaToken {
            mfa_token: Secret::new("00000000"),
            reusable: false,
            expires_at: Some(now() + Duration::hours(1)),
        })),
    );
    ch(&mut app, 'c');
    snap!("token_issued", app);
}

#[test]
fn error_dialog() {
    let mut app = kelly_app();
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
    snap!("error_dialog", app);
}

#[test]
fn rate_limited_error_dialog() {
    let mut app = kelly_app();
    ch(&mut app, 'm');
    let (id, _) = one_request(&enter(&mut app));
    answer(
        &mut app,
        id,
        ApiResponse::MfaToken(Err(api_error(
            ErrorKind::RateLimited {
                reset_secs: Some(754),
            },
            Some(429),
            "Too many requests: the hourly rate limit for this account has been reached",
        ))),
    );
    snap!("error_rate_limited", app);
}

#[test]
fn switch_to_read_only() {
    let mut app = kelly_app();
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
    snap!("switch_read_only", app);
}

#[test]
fn enroll_found_after_a_lost_answer() {
    let mut app = kelly_app();
    ch(&mut app, 'e');
    type_text(&mut app, "Work phone");
    tab(&mut app);
    type_text(&mut app, "+14155550123");
    let (id, _) = one_request(&enter(&mut app));
    let (check, _) = one_request(&answer(
        &mut app,
        id,
        ApiResponse::Enrolled(Err(api_error(ErrorKind::Network, None, "connection reset"))),
    ));
    let mut devices = all_devices();
    devices.push(mfadesk::api::OtpDevice {
        id: mfadesk::api::DeviceId("2001".into()),
        active: false,
        default: false,
        user_display_name: Some("Work phone".into()),
        phone_number: Some("+14155550123".into()),
        ..sms_device()
    });
    answer(&mut app, check, ApiResponse::Devices(Ok(devices)));
    snap!("info_enroll_found", app);
}

#[test]
fn help_overlay() {
    let mut app = kelly_app();
    ch(&mut app, '?');
    snap!("help", app);
}

#[test]
fn audit_pane() {
    let mut app = kelly_app();
    ch(&mut app, 'd');
    let (id, _) = one_request(&confirm_remove(&mut app));
    answer(
        &mut app,
        id,
        ApiResponse::Removed(Err(api_error(ErrorKind::NotFound, Some(404), "Not found"))),
    );
    esc(&mut app);
    app.now = now() + secs(65);
    ch(&mut app, 'm');
    let (id, _) = one_request(&enter(&mut app));
    answer(
        &mut app,
        id,
        ApiResponse::MfaToken(Ok(MfaToken {
            mfa_token: Secret::new("00000000"),
            reusable: false,
            expires_at: None,
        })),
    );
    esc(&mut app);
    ch(&mut app, 'A');
    snap!("audit", app);
}

#[test]
fn audit_pane_empty() {
    let mut app = new_app();
    esc(&mut app);
    ch(&mut app, 'A');
    snap!("audit_empty", app);
}

// ---- modes ------------------------------------------------------------------------------

fn demo_tenant() -> TenantInfo {
    TenantInfo {
        name: "demo".into(),
        base_url: "http://127.0.0.1:48123".into(),
        demo: true,
        profile: None,
        ..tenant()
    }
}

#[test]
fn demo_phone_panel() {
    let mut app = with_budget(App::new(demo_tenant(), now()));
    open_user(
        &mut app,
        kelly(),
        all_devices(),
        vec![sms_factor(), voice_factor()],
    );
    ch(&mut app, 'p');
    app.phone = PhoneSnapshot {
        registrations: Vec::new(),
        messages: vec![
            PhoneMessage {
                user_id: 36216766,
                who: "Kelly Slater".into(),
                channel: "Voice".into(),
                to: "+14155550199".into(),
                body: "Your code is 4 1 7 2 9 3".into(),
                code: "417293".into(),
                sent_at: now() - Duration::minutes(5),
            },
            PhoneMessage {
                user_id: 36216766,
                who: "Kelly Slater".into(),
                channel: "SMS".into(),
                to: "+14156456830".into(),
                body: "Your OneLogin verification code is 803114. It expires in 2 minutes.".into(),
                code: "803114".into(),
                sent_at: now() - secs(20),
            },
            // Newer, but for someone else: listed after the open user's.
            PhoneMessage {
                user_id: 36216767,
                who: "Stephanie Gilmore".into(),
                channel: "SMS".into(),
                to: "+61412345678".into(),
                body: "Your OneLogin verification code is 551902.".into(),
                code: "551902".into(),
                sent_at: now() - secs(5),
            },
        ],
        pushes: vec![PhonePush {
            state_token: "never-drawn".into(),
            user_id: 36216766,
            who: "Kelly Slater · Kelly's iPhone".into(),
            device_id: 1003,
            expires_at: now() + secs(100),
        }],
        codes: vec![
            PhoneCode {
                label: "Kelly Slater · Google Authenticator".into(),
                device_id: 1004,
                user_id: 36216766,
                code: "492 018".into(),
                seconds_left: 17,
                touch: false,
            },
            PhoneCode {
                label: "Kelly Slater · OneLogin Protect".into(),
                device_id: 1003,
                user_id: 36216766,
                code: "118 337".into(),
                seconds_left: 17,
                touch: false,
            },
            PhoneCode {
                label: "Kelly Slater · YubiKey".into(),
                device_id: 1006,
                user_id: 36216766,
                code: "cccccclbnrjdhbtfejhevdhrlkgbrcfiiuicjtfkgeeb".into(),
                seconds_left: 0,
                touch: true,
            },
        ],
    };
    snap!("demo_phone", app);
    assert!(!screen(&app, 120, 40).contains("never-drawn"));
    // The YubiKey's code is whole inside the phone's rows at both sizes (joined across its wrap).
    for (w, h) in [(80, 24), (120, 40)] {
        let text = screen(&app, w, h);
        let phone: String = text
            .lines()
            .skip_while(|l| !l.contains("Demo phone"))
            .map(|l| l.split('│').nth(1).unwrap_or_default().to_owned())
            .collect::<Vec<_>>()
            .join("");
        let joined: String = phone.split_whitespace().collect();
        assert!(
            joined.contains("cccccclbnrjdhbtfejhevdhrlkgbrcfiiuicjtfkgeeb"),
            "{w}x{h}:\n{text}"
        );
    }
}

#[test]
fn read_only_and_demo_badges() {
    let mut app = with_budget(App::new(
        TenantInfo {
            read_only: true,
            label: Some("PRODUCTION".into()),
            color: Some("red".into()),
            ..demo_tenant()
        },
        now(),
    ));
    search_with(&mut app, result_users());
    snap!("badges_read_only_demo", app);
    snap_styles("badges_styles_120x40", &app, 120, 40);
}

#[test]
fn read_only_help_marks_changes() {
    let mut app = App::new(
        TenantInfo {
            read_only: true,
            ..tenant()
        },
        now(),
    );
    open_user(&mut app, kelly(), all_devices(), vec![sms_factor()]);
    ch(&mut app, '?');
    snap!("help_read_only", app);
}

#[test]
fn no_color() {
    let mut app = results_app();
    app.colors = false;
    enter(&mut app);
    snap!("no_color_loading", app);
    let mut app = kelly_app();
    app.colors = false;
    snap_styles("no_color_styles_80x24", &app, 80, 24);
    ch(&mut app, 'd');
    snap_styles("no_color_remove_styles_80x24", &app, 80, 24);
}

#[test]
fn busy_spinner_in_header() {
    let mut app = kelly_app();
    key_mod(&mut app, KeyCode::Char('r'), KeyModifiers::NONE);
    tick(&mut app);
    tick(&mut app);
    snap!("refreshing", app);
}

#[test]
fn too_small() {
    let app = kelly_app();
    insta::assert_snapshot!("too_small_50x12", screen(&app, 50, 12));
    insta::assert_snapshot!("too_small_59x24", screen(&app, 59, 24));
    // The smallest size that is drawn in full.
    insta::assert_snapshot!("min_size_60x16", screen(&app, 60, 16));
}

#[test]
fn long_dialog_text_wraps_and_nothing_is_cut() {
    let mut app = verify_code_app();
    ch(&mut app, '6');
    let (id, _) = one_request(&enter(&mut app));
    answer(
        &mut app,
        id,
        ApiResponse::Verified(Err(api_error(
            ErrorKind::WrongCode,
            Some(401),
            "Failed authentication with this factor",
        ))),
    );
    for (w, h) in [(80, 24), (120, 40)] {
        let text = screen(&app, w, h);
        assert!(text.contains("Check it with"), "{text}");
        assert!(text.contains("user and try again."), "{text}");
        // The cursor still sits on the code field.
        let row = text
            .lines()
            .position(|l| l.contains("> Code"))
            .expect("code field");
        assert!(
            text.contains(&format!("row {row}]")),
            "cursor not on row {row}: {text}"
        );
    }

    let mut app = kelly_app();
    ch(&mut app, 'm');
    let (id, _) = one_request(&enter(&mut app));
    answer(
        &mut app,
        id,
        ApiResponse::MfaToken(Err(api_error(
            ErrorKind::RateLimited {
                reset_secs: Some(754),
            },
            Some(429),
            "Too many requests: the hourly rate limit for this account has been reached",
        ))),
    );
    let text = screen(&app, 80, 24);
    assert!(text.contains("reached"), "{text}");
    assert!(text.contains("Enter or Esc to dismiss."), "{text}");
}

#[test]
fn device_columns_line_up_and_fill_the_pane() {
    let app = kelly_app();
    // Narrow panes put each device on two rows: name first, then phone, state and kind.
    let narrow = screen(&app, 80, 24);
    let details: Vec<&str> = narrow
        .lines()
        .filter(|l| {
            l.contains("· active ·") || l.contains("· pending ·") || l.contains("active · ")
        })
        .collect();
    assert_eq!(details.len(), 6, "{narrow}");
    for name in [
        "OneLogin Protect \"Pixel 8\"",
        "Google Authenticator \"Pixel\"",
        "YubiKey \"YubiKey 5 NFC\"",
    ] {
        assert!(
            narrow.contains(name),
            "{name} whole at 80 columns:\n{narrow}"
        );
    }
    for (w, h) in [(120, 40)] {
        let text = screen(&app, w, h);
        let rows: Vec<&str> = text
            .lines()
            .filter(|l| l.contains(" active ") || l.contains(" pending "))
            .collect();
        assert_eq!(rows.len(), 6, "{text}");
        // The user's name for the device starts in the same column on every row.
        let name_cols: Vec<usize> = rows
            .iter()
            .map(|r| r.chars().position(|c| c == '"').unwrap())
            .collect();
        assert!(
            name_cols.windows(2).all(|p| p[0] == p[1]),
            "{name_cols:?}\n{text}"
        );
        // The kind column ends at the pane's right border: no columns are wasted.
        for r in &rows {
            let chars: Vec<char> = r.chars().collect();
            assert_eq!(chars.last(), Some(&'│'), "{r}");
            let tail: String = chars[chars.len() - 8..chars.len() - 1].iter().collect();
            assert!(
                ["trigger", "push   ", "code   "].contains(&tail.as_str()),
                "{r}"
            );
        }
    }
}

#[test]
fn user_summary_uses_the_room_it_has() {
    let text = screen(&kelly_app(), 80, 24);
    assert!(
        text.contains("│Active · last login 2 days ago · 6 factors"),
        "{text}"
    );
}

#[test]
fn user_title_keeps_the_id_at_80_columns() {
    let text = screen(&kelly_app(), 80, 24);
    assert!(
        text.contains("┌ Kelly Slater · kelly@acme.com · id 36216766 ─"),
        "{text}"
    );
}

#[test]
fn the_factor_count_matches_the_rows_shown() {
    let mut app = new_app();
    open_user(
        &mut app,
        kelly(),
        vec![protect_push(), sms_device(), protect_code()],
        vec![],
    );
    // Protect's push and code are two rows: the header says what the agent sees.
    let text = screen(&app, 120, 40);
    assert!(text.contains("· 3 factors"), "{text}");
}

#[test]
fn every_dialog_title_is_set_off_from_the_border() {
    let mut app = kelly_app();
    ch(&mut app, 'd');
    let (id, _) = one_request(&confirm_remove(&mut app));
    answer(
        &mut app,
        id,
        ApiResponse::Removed(Err(api_error(ErrorKind::Server, Some(500), "Boom"))),
    );
    let text = screen(&app, 80, 24);
    assert!(text.contains("┌ Server error ─"), "{text}");
}

#[test]
fn connection_failure_at_start() {
    let mut app = new_app();
    let (id, _) = one_request(&app.startup());
    answer(
        &mut app,
        id,
        ApiResponse::RateLimit(Err(mfadesk::api::ApiError::new(
            ErrorKind::Network,
            "could not connect to the tenant: Connection refused (os error 111)",
        ))),
    );
    snap!("connect_refused", app);
}

#[test]
fn spent_budget_counts_down_in_the_header() {
    let mut app = new_app();
    app.rate_limit = Some(RateLimit {
        limit: Some(5_000),
        remaining: Some(0),
        reset_secs: Some(754),
    });
    app.rate_reset_at = Some(now() + secs(754));
    search_with(&mut app, result_users());
    snap!("budget_spent", app);
}

#[test]
fn audit_view_of_the_whole_trail() {
    let ctx = mfadesk::audit::AuditContext::new("jdoe", Some("prod".into()), "https://acme");
    let mut older = ctx
        .entry_at(
            now() - Duration::days(3),
            36216766,
            mfadesk::audit::AuditAction::Remove,
            mfadesk::audit::AuditOutcome::Success,
        )
        .user_email("kelly@acme.com")
        .factor("OneLogin SMS")
        .http_status(204)
        .reason("INC-41 lost phone");
    older.operator = "asmith".into();
    let mut newer = ctx
        .entry_at(
            now() - Duration::hours(1),
            36216767,
            mfadesk::audit::AuditAction::MfaToken,
            mfadesk::audit::AuditOutcome::Failure,
        )
        .user_email("stephanie@acme.com")
        .http_status(422)
        .reason("CHG-7 travel")
        .message("Validation failed");
    newer.user_name = Some("Stephanie Gilmore".into());
    newer.device_name = Some("Steph's iPhone".into());
    let mut app = new_app();
    ch(&mut app, 'A');
    mfadesk::app::update(
        &mut app,
        mfadesk::app::Msg::AuditRead(Ok((vec![older, newer], 1))),
    );
    snap!("audit_whole_trail", app);
    ch(&mut app, '/');
    type_text(&mut app, "inc-41");
    snap!("audit_filtered", app);
}

#[test]
fn audit_view_shows_and_filters_the_tenant() {
    use mfadesk::audit::{AuditAction, AuditContext, AuditOutcome};
    // One device removed on three demo tenants: three lines, told apart by their tenant.
    let entries: Vec<_> = [4101, 4102, 4103]
        .into_iter()
        .map(|port| {
            AuditContext::new("jdoe", None, format!("http://127.0.0.1:{port}"))
                .entry_at(
                    now() - Duration::minutes(i64::from(port - 4100)),
                    36216766,
                    AuditAction::Remove,
                    AuditOutcome::Success,
                )
                .user_email("kelly@acme.com")
                .factor("OneLogin SMS")
        })
        .collect();
    let mut app = new_app();
    ch(&mut app, 'A');
    mfadesk::app::update(&mut app, mfadesk::app::Msg::AuditRead(Ok((entries, 0))));
    let text = screen(&app, 120, 40);
    for tenant in ["127.0.0.1:4101", "127.0.0.1:4102", "127.0.0.1:4103"] {
        let line = text
            .lines()
            .find(|l| l.contains(tenant))
            .unwrap_or_else(|| panic!("{tenant} missing:\n{text}"));
        assert!(
            line.contains("remove") && line.contains("kelly@acme.com"),
            "{line}"
        );
    }
    assert!(text.contains("or tenant"), "{text}");
    ch(&mut app, '/');
    type_text(&mut app, "4102");
    let text = screen(&app, 120, 40);
    assert!(text.contains("1 entry"), "{text}");
    assert!(text.contains("127.0.0.1:4102"), "{text}");
    assert!(
        !text.contains("127.0.0.1:4101") && !text.contains("127.0.0.1:4103"),
        "{text}"
    );
    let text = screen(&app, 80, 24);
    assert!(text.contains("127.0.0.1:4102"), "{text}");
}

#[test]
fn help_scrolled_to_the_search_syntax() {
    let mut app = kelly_app();
    ch(&mut app, '?');
    ch(&mut app, 'G');
    snap!("help_end", app);
    let text = screen(&app, 120, 40);
    for needed in [
        "Slater, Kelly",
        "kel*",
        "either order",
        "Ctrl-U",
        "Home / End",
        "★",
        "pending",
    ] {
        assert!(text.contains(needed), "{needed} missing:\n{text}");
    }
}

// ---- MFA v2 registrations ---------------------------------------------------------------

/// The factors a v2 tenant offers Kelly.
fn v2_factors() -> Vec<mfadesk::api::AuthFactor> {
    [
        (16284, "OneLogin Protect"),
        (16285, "Authenticator"),
        (16287, "OneLogin Email"),
    ]
    .into_iter()
    .map(|(factor_id, name)| mfadesk::api::AuthFactor {
        factor_id,
        name: name.into(),
    })
    .collect()
}

/// Kelly open on a v2 session, the enroll dialog on `factor` (index in `v2_factors`), named.
fn v2_enroll_app(factor: usize, name: &str) -> App {
    let mut app = new_app();
    app.mfa_api = Some(mfadesk::api::MfaVersion::V2);
    open_user(&mut app, kelly(), all_devices(), v2_factors());
    let mut app = with_budget(app);
    ch(&mut app, 'e');
    for _ in 0..factor {
        key(&mut app, KeyCode::Down);
    }
    tab(&mut app);
    type_text(&mut app, name);
    app
}

/// A fixed registration, as the tenant answers `POST …/registrations`.
fn registration(factor: &str, uri: Option<&str>) -> mfadesk::api::Registration {
    mfadesk::api::Registration {
        id: "ba4c2c9e-0f7b-4c0a-8b1a-1c3d2e4f5a6b".into(),
        status: mfadesk::api::V2Status::Pending,
        device_id: None,
        auth_factor_name: Some(factor.into()),
        type_display_name: Some(factor.into()),
        user_display_name: Some("Pixel".into()),
        expires_at: Some(now() + Duration::seconds(300)),
        totp_url: uri.map(Secret::new),
        verification_token: None,
    }
}

const URI: &str =
    "otpauth://totp/OneLogin:kelly.slater%40acme.example?secret=JBSWY3DPEHPK3PXP&issuer=OneLogin";

/// The registration dialog after the enroll answer, 20 s into the countdown.
fn registered_app(factor: usize, kind: &str, uri: Option<&str>) -> App {
    let mut app = v2_enroll_app(factor, "Pixel");
    let (id, _) = one_request(&enter(&mut app));
    answer(
        &mut app,
        id,
        ApiResponse::Enrolled(Ok(mfadesk::api::Enrollment::Registration(registration(
            kind, uri,
        )))),
    );
    app.now = now() + secs(20);
    app
}

#[test]
fn v2_enroll_offers_an_authenticator_without_a_phone() {
    snap!("v2_enroll_authenticator", v2_enroll_app(1, "Pixel"));
}

#[test]
fn v2_enroll_offers_email_with_verified_but_no_phone() {
    snap!("v2_enroll_email", v2_enroll_app(2, "Work mail"));
}

#[test]
fn v2_authenticator_registration_with_the_qr_code() {
    snap!(
        "v2_register_authenticator",
        registered_app(1, "Google Authenticator", Some(URI))
    );
}

#[test]
fn v2_authenticator_registration_with_the_setup_key_shown_and_a_code_typed() {
    let mut app = registered_app(1, "Google Authenticator", Some(URI));
    ch(&mut app, 's');
    type_text(&mut app, "1234");
    snap!("v2_register_authenticator_key", app);
}

#[test]
fn v2_protect_registration_waiting_for_the_app() {
    snap!(
        "v2_register_protect",
        registered_app(0, "OneLogin Protect", Some(URI))
    );
}

#[test]
fn v2_email_registration_waiting_for_the_code() {
    let mut app = registered_app(2, "OneLogin Email", None);
    type_text(&mut app, "48");
    snap!("v2_register_email", app);
}

#[test]
fn v2_registration_too_small_for_the_qr_code() {
    let app = registered_app(1, "Google Authenticator", Some(URI));
    insta::assert_snapshot!("v2_register_authenticator_60x16", screen(&app, 60, 16));
}

#[test]
fn v2_registration_that_expired_takes_the_qr_code_off_the_screen() {
    let mut app = registered_app(1, "Google Authenticator", Some(URI));
    assert!(screen(&app, 120, 40).contains('▀'), "the QR code is drawn");
    app.now = now() + secs(301);
    tick(&mut app);
    let text = screen(&app, 120, 40);
    assert!(text.contains("The registration expired"), "{text}");
    assert!(
        !text.contains('▀') && !text.contains('▄') && !text.contains('█'),
        "{text}"
    );
    snap!("v2_register_expired", app);
}

#[test]
fn a_v2_registration_left_pending_is_listed_resumed_and_cancelled() {
    let mut app = registered_app(1, "Google Authenticator", Some(URI));
    esc(&mut app);
    assert!(app.dialogs.is_empty());
    let text = screen(&app, 120, 40);
    assert!(
        text.contains("pending registration · expires in 4:40"),
        "{text}"
    );
    app.focus = Focus::Devices;
    ch(&mut app, 'G');
    snap!("v2_registration_pending_listed", app);
    // Enter resumes it: the same QR code, from memory; a new attempt in the trail.
    let cmds = enter(&mut app);
    assert!(requests(&cmds).is_empty(), "{cmds:?}");
    assert!(
        cmds.iter().any(
            |c| matches!(c, Cmd::Audit(n) if n.action == AuditKind::Enroll
            && n.outcome == AuditResult::Attempt)
        ),
        "{cmds:?}"
    );
    let Some(Dialog::Register(d)) = app.dialogs.last() else {
        panic!("the registration again: {:?}", app.dialogs);
    };
    assert!(d.registration.totp_url.is_some());
    assert!(screen(&app, 120, 40).contains('▀'), "the QR code again");
    esc(&mut app);
    app.focus = Focus::Devices;
    ch(&mut app, 'G');
    // d cancels it: gone from the list and from memory.
    ch(&mut app, 'd');
    assert!(app.registrations.is_empty());
    assert!(!screen(&app, 120, 40).contains("pending registration"));
}
