//! The console under faults: ambiguous enrolls, abandoned calls, slow tenants, timeouts, and
//! what the agent typed surviving failures. Real loop, scripted keys, demo tenant on loopback.

mod support;

use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyModifiers};
use mfadesk::api::{
    ApiError, AuthFactor, Client, ClientConfig, Credentials, DeviceId, ErrorKind, MfaToken,
    OtpDevice, RetryPolicy, Secret, TriggerResult, User,
};
use mfadesk::app::dialogs::Dialog;
use mfadesk::app::{App, Cmd, Focus, Msg, TenantInfo, UserView, update};
use mfadesk::sim::{self, Fault, RouteKind};
use mfadesk::worker::{ApiEvent, ApiRequest, ApiResponse};
use support::{Console, Options, line_with, open_user};

const CARISSA: i64 = 36216769;
const SMS_FACTOR: i64 = 16282;
/// "At once": keys must show on screen well within this, whatever the tenant is doing.
const AT_ONCE: Duration = Duration::from_secs(1);

fn short_timeout() -> Options {
    Options {
        request_timeout: Some(Duration::from_millis(500)),
        ..Options::default()
    }
}

/// Opens the enroll dialog for the open user and fills in a name and a valid number.
async fn fill_enroll(c: &mut Console, name: &str, number: &str) {
    c.key(KeyCode::Char('e'));
    c.wait_text("Enroll a phone for").await;
    c.type_text(name);
    c.key(KeyCode::Tab);
    c.type_text(number);
    c.wait_text("valid E.164").await;
}

/// Waits (bounded) until the tenant has seen `n` requests on a route.
async fn wait_requests(c: &Console, route: RouteKind, n: u64) {
    let deadline = Instant::now() + support::WAIT;
    while c.ctl().request_count(route) < n {
        assert!(
            Instant::now() < deadline,
            "the tenant never saw request {n} on {route:?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Waits for a screen condition and asserts it showed within `AT_ONCE` of `since`.
async fn shows_at_once(c: &mut Console, what: &str, since: Instant, pred: impl Fn(&str) -> bool) {
    c.wait_for(what, pred).await;
    let took = since.elapsed();
    assert!(took < AT_ONCE, "{what} took {took:?} while a call was slow");
}

async fn leave(c: Console) -> App {
    // Close whatever is open, then quit from the top level.
    for _ in 0..3 {
        c.key(KeyCode::Esc);
    }
    c.quit().await
}

#[tokio::test]
async fn enroll_reset_before_the_handler_reports_nothing_created_and_keeps_the_form() {
    let mut c = Console::start().await;
    open_user(&mut c, "carissa", "Carissa Moore").await;
    fill_enroll(&mut c, "Work phone", "+14155550123").await;
    c.ctl()
        .set_fault(RouteKind::Enroll, Fault::ConnectionReset, Some(1));
    c.key(KeyCode::Enter);
    let s = c.wait_text("no such device exists").await;
    assert!(
        s.contains("nothing was created"),
        "says what it found:\n{s}"
    );
    assert!(
        s.contains("Network error"),
        "says why the call failed:\n{s}"
    );
    assert!(
        s.contains("Work phone") && s.contains("+14155550123"),
        "form kept:\n{s}"
    );
    assert!(c.ctl().devices(CARISSA).is_empty());
    // The device list was re-read after the failure, and the POST was not retried.
    assert_eq!(c.ctl().request_count(RouteKind::Enroll), 1);
    assert_eq!(c.ctl().request_count(RouteKind::OtpDevices), 2);
    // Enter tries again, with what was typed, and now it works.
    c.key(KeyCode::Enter);
    c.wait_text("expires in").await;
    assert_eq!(c.ctl().devices(CARISSA).len(), 1);
    leave(c).await;
}

/// The sim's faults fire before its handler, and a client that hangs up takes the handler
/// with it, so "the tenant created the device but the answer was lost" is staged: the console's
/// enroll is held past its timeout while the same device is enrolled by another client.
#[tokio::test]
async fn enroll_answer_lost_after_the_device_was_created_shows_the_device() {
    let mut c = Console::start_opts(short_timeout(), |_| {}).await;
    open_user(&mut c, "carissa", "Carissa Moore").await;
    fill_enroll(&mut c, "Work phone", "+14155550123").await;
    c.ctl().set_fault(
        RouteKind::Enroll,
        Fault::Delay(Duration::from_secs(3)),
        Some(1),
    );
    c.key(KeyCode::Enter);
    wait_requests(&c, RouteKind::Enroll, 1).await;
    let other = Client::new(ClientConfig::new(
        c.sim.base_url(),
        Credentials {
            client_id: sim::DEMO_MANAGE_CLIENT_ID.into(),
            client_secret: sim::DEMO_MANAGE_CLIENT_SECRET.into(),
        },
    ))
    .unwrap();
    other
        .enroll_mfa_factor(CARISSA, SMS_FACTOR, "Work phone", "+14155550123", false)
        .await
        .expect("the tenant creates the device");
    let s = c.wait_text("The device was created after all").await;
    assert!(
        s.contains("\"Work phone\", pending: press v to verify it"),
        "{s}"
    );
    assert!(
        !s.contains("Enroll a phone"),
        "the enroll dialog gave way:\n{s}"
    );
    // The console's own list shows the device too, without another key.
    c.key(KeyCode::Enter);
    let s = c
        .wait_for("device row", |s| {
            line_with(s, "\"Work phone\"").is_some_and(|l| l.contains("pending"))
        })
        .await;
    assert_eq!(c.ctl().devices(CARISSA).len(), 1, "{s}");
    assert_eq!(
        c.ctl().request_count(RouteKind::Enroll),
        2,
        "no blind retry"
    );
    leave(c).await;
}

#[tokio::test]
async fn enroll_503_keeps_name_and_number() {
    let mut c = Console::start().await;
    open_user(&mut c, "carissa", "Carissa Moore").await;
    fill_enroll(&mut c, "Desk", "+6427200112").await;
    c.ctl()
        .set_fault(RouteKind::Enroll, Fault::Status(503), Some(1));
    c.key(KeyCode::Enter);
    let s = c.wait_text("nothing was created").await;
    assert!(s.contains("HTTP 503"), "{s}");
    let name = line_with(&s, "Display name").unwrap_or_default();
    let phone = line_with(&s, "Phone number").unwrap_or_default();
    assert!(
        name.contains("Desk") && phone.contains("+6427200112"),
        "{s}"
    );
    leave(c).await;
}

#[tokio::test]
async fn failed_search_keeps_the_query() {
    let opts = Options {
        retry: Some(RetryPolicy::none()),
        ..Options::default()
    };
    let mut c = Console::start_opts(opts, |_| {}).await;
    c.ctl()
        .set_fault(RouteKind::Users, Fault::Status(503), None);
    c.key(KeyCode::Char('/'));
    c.type_text("kelly");
    c.key(KeyCode::Enter);
    let s = c.wait_text("HTTP 503").await;
    assert!(s.contains("/ kelly"), "query kept:\n{s}");
    // Once the tenant is back, Enter in the box runs the same query again.
    c.ctl().clear_faults();
    c.key(KeyCode::Char('/'));
    c.key(KeyCode::Enter);
    c.wait_text("Kelly Slater").await;
    leave(c).await;
}

#[tokio::test]
async fn keys_are_handled_at_once_while_the_tenant_takes_5_seconds() {
    let mut c = Console::start().await;
    c.key(KeyCode::Char('/'));
    c.type_text("kelly");
    c.key(KeyCode::Enter);
    c.wait_text("│2 of 2 users ").await;

    // A search that takes 5 s.
    c.ctl()
        .set_fault(RouteKind::Users, Fault::Delay(Duration::from_secs(5)), None);
    let started = Instant::now();
    c.key(KeyCode::Char('/'));
    c.key(KeyCode::Enter);
    shows_at_once(&mut c, "searching", started, |s| s.contains("Searching…")).await;
    let t = Instant::now();
    c.key(KeyCode::Char('j'));
    shows_at_once(&mut c, "selection moved", t, |s| {
        line_with(s, "> Kelly Smith").is_some()
    })
    .await;
    let t = Instant::now();
    c.key(KeyCode::Char('?'));
    shows_at_once(&mut c, "help", t, |s| s.contains("┌ Help")).await;
    let t = Instant::now();
    c.key(KeyCode::Esc);
    shows_at_once(&mut c, "help closed", t, |s| !s.contains("┌ Help")).await;
    let t = Instant::now();
    c.key(KeyCode::Char('/'));
    // End keeps the old query for editing (typing straight away would replace it).
    c.key(KeyCode::End);
    c.type_text(" slater");
    shows_at_once(&mut c, "typed text", t, |s| s.contains("/ kelly slater")).await;
    assert!(
        c.screen().contains("Searching…"),
        "the slow search is still running"
    );
    assert!(started.elapsed() < Duration::from_secs(5));

    // Opening a user whose devices take 5 s: the panes still move.
    c.ctl().clear_faults();
    c.key(KeyCode::Esc);
    c.key(KeyCode::Char('/'));
    c.key(KeyCode::Enter);
    c.wait_text("1 of 1 user").await;
    c.ctl().set_fault(
        RouteKind::OtpDevices,
        Fault::Delay(Duration::from_secs(5)),
        None,
    );
    let started = Instant::now();
    c.key(KeyCode::Enter);
    shows_at_once(&mut c, "opening", started, |s| {
        s.contains("Loading devices…")
    })
    .await;
    let t = Instant::now();
    c.key(KeyCode::Tab);
    c.key(KeyCode::Char('?'));
    shows_at_once(&mut c, "help while loading", t, |s| s.contains("┌ Help")).await;
    let t = Instant::now();
    c.key(KeyCode::Esc);
    c.key(KeyCode::Char('/'));
    c.type_text("x");
    // A fresh `/` replaces the previous query with what is typed.
    shows_at_once(&mut c, "typing while loading", t, |s| s.contains("│/ x ")).await;
    assert!(c.screen().contains("Loading devices…"));
    assert!(started.elapsed() < Duration::from_secs(5));
    let app = leave(c).await;
    assert!(app.busy(), "quit without waiting for the slow call");
}

/// Every action against a tenant that never answers ends in a visible "Timed out".
#[tokio::test]
async fn every_stuck_action_ends_in_a_visible_timeout() {
    let mut c = Console::start_opts(short_timeout(), |_| {}).await;
    let stuck = |c: &Console, route| {
        c.ctl()
            .set_fault(route, Fault::Delay(Duration::from_secs(3)), Some(1));
    };
    let timed_out = |s: &str| s.contains("Timed out");

    // Search.
    stuck(&c, RouteKind::Users);
    c.key(KeyCode::Char('/'));
    c.type_text("kelly");
    c.key(KeyCode::Enter);
    let s = c.wait_for("search timeout", timed_out).await;
    assert!(s.contains("/ kelly"), "query kept:\n{s}");

    // Open: the device list times out, r loads it.
    c.key(KeyCode::Char('/'));
    c.key(KeyCode::Enter);
    c.wait_text("> Kelly Slater").await;
    stuck(&c, RouteKind::OtpDevices);
    c.key(KeyCode::Enter);
    let s = c.wait_for("open timeout", timed_out).await;
    assert!(
        line_with(&s, "Timed out").is_some_and(|l| l.contains("r to retry")),
        "{s}"
    );
    c.key(KeyCode::Char('r'));
    c.wait_text("\"Kelly's iPh").await;
    c.wait_idle().await;

    // Enroll: times out, the check finds nothing, the form stays.
    stuck(&c, RouteKind::Enroll);
    fill_enroll(&mut c, "Spare", "+14155550999").await;
    c.key(KeyCode::Enter);
    let s = c.wait_text("nothing was created").await;
    assert!(timed_out(&s) && s.contains("Spare"), "{s}");
    c.key(KeyCode::Esc);
    c.wait_for("enroll closed", |s| !s.contains("Enroll a phone"))
        .await;

    // Trigger (the SMS device is selected): an error dialog that stays.
    stuck(&c, RouteKind::Trigger);
    c.key(KeyCode::Char('t'));
    c.wait_text("Valid for (s)").await;
    c.key(KeyCode::Enter);
    let s = c.wait_for("trigger timeout", timed_out).await;
    assert!(s.contains("Sending the code"), "{s}");
    c.key(KeyCode::Enter);
    c.key(KeyCode::Esc);
    c.wait_for("verify closed", |s| !s.contains("Verify "))
        .await;

    // Check the caller with a code device (the authenticator, one row down).
    stuck(&c, RouteKind::Verify);
    c.key(KeyCode::Char('j'));
    c.key(KeyCode::Char('v'));
    c.wait_text("for the code shown on Google Authenticator")
        .await;
    c.type_text("123456");
    c.key(KeyCode::Enter);
    let s = c.wait_for("verify timeout", timed_out).await;
    assert!(s.contains("Caller check failed"), "{s}");
    assert!(s.contains("123456"), "code kept:\n{s}");
    c.key(KeyCode::Esc);
    c.wait_for("check closed", |s| !s.contains("shown on Google"))
        .await;

    // Remove.
    stuck(&c, RouteKind::Remove);
    c.key(KeyCode::Char('d'));
    c.wait_text("Remove Google Authenticator").await;
    c.key(KeyCode::Right);
    c.key(KeyCode::Enter);
    let s = c.wait_for("remove timeout", timed_out).await;
    assert!(s.contains("Removing the device"), "{s}");
    c.key(KeyCode::Enter);
    c.wait_for("dismissed", |s| !timed_out(s)).await;

    // Temporary token.
    stuck(&c, RouteKind::MfaToken);
    c.key(KeyCode::Char('m'));
    c.wait_text("Issue a temporary MFA token").await;
    c.key(KeyCode::Enter);
    let s = c.wait_for("token timeout", timed_out).await;
    assert!(s.contains("Issuing a temporary MFA token"), "{s}");
    c.key(KeyCode::Enter);
    c.wait_idle().await;
    let app = leave(c).await;
    assert!(!app.busy());
}

#[tokio::test]
async fn closing_a_dialog_during_a_slow_call_abandons_it() {
    let mut c = Console::start().await;
    open_user(&mut c, "carissa", "Carissa Moore").await;
    c.ctl().set_fault(
        RouteKind::MfaToken,
        Fault::Delay(Duration::from_millis(700)),
        Some(1),
    );
    c.key(KeyCode::Char('m'));
    c.wait_text("Issue a temporary MFA token").await;
    c.key(KeyCode::Enter);
    c.wait_text("Issuing…").await;
    wait_requests(&c, RouteKind::MfaToken, 1).await;
    c.key(KeyCode::Esc);
    let s = c.wait_idle().await;
    assert!(!s.contains("Temporary MFA token"), "{s}");
    // Ask the tenant something that takes longer than the abandoned call would have.
    c.ctl().set_fault(
        RouteKind::OtpDevices,
        Fault::Delay(Duration::from_millis(900)),
        Some(1),
    );
    let before = c.ctl().request_count(RouteKind::OtpDevices);
    c.key(KeyCode::Char('r'));
    wait_requests(&c, RouteKind::OtpDevices, before + 1).await;
    let s = c.wait_idle().await;
    assert!(
        !s.contains("Shown once") && !s.contains("Temporary MFA token"),
        "{s}"
    );
    leave(c).await;
}

// ----- The same at the level of `update`: Cancel is emitted and the late answer is ignored.

fn state_with_user() -> App {
    let tenant = TenantInfo {
        name: "demo".into(),
        demo: true,
        ..TenantInfo::default()
    };
    let mut app = App::new(tenant, chrono::Utc::now());
    let user = User {
        id: CARISSA,
        firstname: Some("Carissa".into()),
        lastname: Some("Moore".into()),
        ..User::default()
    };
    let sms = OtpDevice {
        id: DeviceId("1".into()),
        active: true,
        default: true,
        needs_trigger: true,
        auth_factor_name: "OneLogin SMS".into(),
        type_display_name: None,
        user_display_name: Some("Phone".into()),
        phone_number: Some("+14155550123".into()),
        state_token: None,
    };
    app.user = Some(UserView {
        user,
        devices: Some(vec![sms]),
        factors: Some(vec![AuthFactor {
            factor_id: SMS_FACTOR,
            name: "OneLogin SMS".into(),
        }]),
        devices_error: None,
        factors_error: None,
        device_sel: 0,
        factor_sel: 0,
        select_after_load: None,
    });
    app.focus = Focus::Devices;
    app
}

fn press(app: &mut App, code: KeyCode) -> Vec<Cmd> {
    update(
        app,
        Msg::Key(crossterm::event::KeyEvent::new(code, KeyModifiers::NONE)),
    )
}

fn press_all(app: &mut App, codes: &[KeyCode]) -> Vec<Cmd> {
    codes.iter().flat_map(|k| press(app, *k)).collect()
}

fn request_id(cmds: &[Cmd]) -> u64 {
    cmds.iter()
        .rev()
        .find_map(|c| match c {
            Cmd::Request(id, _) => Some(*id),
            _ => None,
        })
        .expect("a request was sent")
}

fn late(id: u64, response: ApiResponse) -> Msg {
    Msg::Api(Box::new(ApiEvent {
        id,
        response,
        rate_limit: None,
        meta: Default::default(),
        mfa_api: None,
    }))
}

/// Closes the top dialog with Esc and checks Cancel(id), then that a late answer changes nothing.
fn abandon(app: &mut App, id: u64, response: ApiResponse) {
    let cmds = press(app, KeyCode::Esc);
    assert!(
        cmds.contains(&Cmd::Cancel(id)),
        "Esc cancels the call: {cmds:?}"
    );
    // Only reads follow: the device list is read again to show what the tenant has.
    for c in &cmds {
        if let Cmd::Request(_, req) = c {
            assert!(
                matches!(req, ApiRequest::GetDevices(_) | ApiRequest::GetFactors(_)),
                "only reloads after abandoning: {req:?}"
            );
        }
    }
    // The trail closes the attempt as abandoned, outcome unknown.
    if let Some(last) = app.audit.last() {
        assert_eq!(last.outcome, mfadesk::app::AuditResult::Unknown);
        assert!(
            last.message
                .as_deref()
                .unwrap_or("")
                .contains("outcome is unknown")
        );
    }
    let (dialogs, status, devices, audit) = (
        app.dialogs.len(),
        app.status.clone(),
        app.user.as_ref().and_then(|u| u.devices.clone()),
        app.audit.len(),
    );
    let cmds = update(app, late(id, response));
    assert!(cmds.is_empty(), "a late answer starts nothing: {cmds:?}");
    assert_eq!(app.dialogs.len(), dialogs);
    assert_eq!(app.status, status);
    assert_eq!(app.user.as_ref().and_then(|u| u.devices.clone()), devices);
    assert_eq!(app.audit.len(), audit, "nor is it recorded as an outcome");
}

#[test]
fn abandoned_calls_are_cancelled_and_their_late_results_ignored() {
    let device = state_with_user()
        .user
        .and_then(|u| u.devices)
        .and_then(|d| d.into_iter().next())
        .unwrap();

    // Enroll.
    let mut app = state_with_user();
    let mut keys = vec![KeyCode::Char('e')];
    keys.extend("Spare".chars().map(KeyCode::Char));
    keys.push(KeyCode::Tab);
    keys.extend("+14155550999".chars().map(KeyCode::Char));
    keys.push(KeyCode::Enter);
    let cmds = press_all(&mut app, &keys);
    assert!(
        cmds.iter()
            .any(|c| matches!(c, Cmd::Request(_, ApiRequest::Enroll { .. })))
    );
    let id = request_id(&cmds);
    let enrolled = OtpDevice {
        id: DeviceId("2".into()),
        active: false,
        user_display_name: Some("Spare".into()),
        ..device.clone()
    };
    abandon(
        &mut app,
        id,
        ApiResponse::Enrolled(Ok(mfadesk::api::Enrollment::Device(enrolled))),
    );
    assert!(app.dialogs.is_empty());

    // Trigger and verify (the trigger dialog hands over to verify, which sends).
    let mut app = state_with_user();
    let cmds = press_all(&mut app, &[KeyCode::Char('t'), KeyCode::Enter]);
    let id = request_id(&cmds);
    let triggered = TriggerResult {
        device_id: device.id.clone(),
        state_token: Secret::new("st".to_owned()),
        state_token_expires_at: None,
        message: "SMS token sent".into(),
    };
    abandon(&mut app, id, ApiResponse::Triggered(Ok(triggered)));
    assert!(app.dialogs.is_empty());

    // Remove.
    let mut app = state_with_user();
    let cmds = press_all(
        &mut app,
        &[KeyCode::Char('d'), KeyCode::Right, KeyCode::Enter],
    );
    let id = request_id(&cmds);
    abandon(&mut app, id, ApiResponse::Removed(Ok(())));
    assert_eq!(
        app.user
            .as_ref()
            .and_then(|u| u.devices.as_ref())
            .map(Vec::len),
        Some(1),
        "the device is still listed"
    );

    // Temporary token: the late token is never shown.
    let mut app = state_with_user();
    let cmds = press_all(&mut app, &[KeyCode::Char('m'), KeyCode::Enter]);
    let id = request_id(&cmds);
    let token = MfaToken {
        mfa_token: Secret::new("tok".to_owned()),
        reusable: false,
        expires_at: None,
    };
    abandon(&mut app, id, ApiResponse::MfaToken(Ok(token)));
    assert!(!app.dialogs.iter().any(|d| matches!(d, Dialog::Token(_))));

    // A late failure is ignored too (no error dialog for a call nobody waits for).
    let mut app = state_with_user();
    let cmds = press_all(&mut app, &[KeyCode::Char('m'), KeyCode::Enter]);
    let id = request_id(&cmds);
    let err = ApiError::new(ErrorKind::Timeout, "no answer");
    abandon(&mut app, id, ApiResponse::MfaToken(Err(err)));
    assert!(app.dialogs.is_empty());
}
