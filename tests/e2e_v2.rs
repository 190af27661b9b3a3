//! MFA API v2 end to end: the real console loop on a test backend, the demo tenant over HTTP,
//! enrolling an authenticator (QR code read back from the screen), OneLogin Protect and email.

mod support;

use crossterm::event::KeyCode;
use mfadesk::api::MfaApiChoice;
use mfadesk::app::{AuditKind, AuditResult};
use mfadesk::sim::{self, FactorKind, RegistrationStatus};
use ratatui::buffer::Buffer;
use ratatui::style::Color;
use support::{Console, Options, line_with, open_user};

const CARISSA: i64 = 36216769;

/// A console on demo-admin (Manage All) with `auto`, as the built-in demo runs.
async fn v2_console(size: (u16, u16)) -> Console {
    Console::start_opts(
        Options {
            size,
            client_id: sim::DEMO_ADMIN_CLIENT_ID,
            client_secret: sim::DEMO_ADMIN_CLIENT_SECRET,
            mfa_api: MfaApiChoice::Auto,
            ..Options::default()
        },
        |_| {},
    )
    .await
}

/// Reads the QR code drawn in `buffer` (cells drawn black on white), scaled up so the
/// decoder sees whole pixels per module. None when no code decodes.
fn decode_qr(buffer: &Buffer) -> Option<String> {
    let area = buffer.area;
    let is_qr = |x: u16, y: u16| buffer[(x, y)].bg == Color::White;
    let cells: Vec<(u16, u16)> = (0..area.height)
        .flat_map(|y| (0..area.width).map(move |x| (x, y)))
        .filter(|(x, y)| is_qr(*x, *y))
        .collect();
    let x0 = cells.iter().map(|c| c.0).min()?;
    let x1 = cells.iter().map(|c| c.0).max()?;
    let y0 = cells.iter().map(|c| c.1).min()?;
    let y1 = cells.iter().map(|c| c.1).max()?;
    let (w, h) = (usize::from(x1 - x0 + 1), usize::from(y1 - y0 + 1) * 2);
    // One module per pixel: dark where the half block is drawn.
    let mut dark = vec![false; w * h];
    for y in y0..=y1 {
        for x in x0..=x1 {
            let (top, bottom) = match buffer[(x, y)].symbol() {
                "█" => (true, true),
                "▀" => (true, false),
                "▄" => (false, true),
                _ => (false, false),
            };
            let (cx, cy) = (usize::from(x - x0), usize::from(y - y0) * 2);
            dark[cy * w + cx] = top;
            dark[(cy + 1) * w + cx] = bottom;
        }
    }
    const SCALE: usize = 6;
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w * SCALE, h * SCALE, |x, y| {
        if dark[(y / SCALE) * w + x / SCALE] {
            0
        } else {
            255
        }
    });
    let grids = img.detect_grids();
    let (_, content) = grids.first()?.decode().ok()?;
    Some(content)
}

/// The pending registration the tenant holds for a user.
fn pending(c: &Console, user_id: i64) -> sim::RegistrationInfo {
    c.ctl()
        .registrations()
        .into_iter()
        .rfind(|r| r.user_id == user_id && r.status == RegistrationStatus::Pending)
        .expect("a pending registration")
}

/// Opens the enroll dialog, picks the factor named `factor` and names the device.
async fn start_enroll(c: &mut Console, factor: &str, name: &str) {
    c.key(KeyCode::Char('e'));
    c.wait_text("┌ Enroll").await;
    for _ in 0..6 {
        if line_with(&c.screen(), "Factor").is_some_and(|l| l.contains(factor)) {
            break;
        }
        c.key(KeyCode::Down);
        let f = factor.to_owned();
        let _ = tokio::time::timeout(
            std::time::Duration::from_millis(500),
            c.wait_for("factor", move |s| {
                line_with(s, "Factor").is_some_and(|l| l.contains(&f))
            }),
        )
        .await;
    }
    assert!(
        line_with(&c.screen(), "Factor").is_some_and(|l| l.contains(factor)),
        "{factor} offered:\n{}",
        c.screen()
    );
    c.key(KeyCode::Tab);
    c.type_text(name);
}

#[tokio::test]
async fn auto_uses_v2_with_demo_admin_and_v1_with_demo_manage() {
    let mut c = v2_console((120, 40)).await;
    open_user(&mut c, "carissa", "Carissa Moore").await;
    let s = c.wait_text("MFA v2").await;
    // v2 offers what v1 cannot enroll.
    assert!(
        s.contains("OneLogin Protect") && s.contains("OneLogin Email"),
        "{s}"
    );
    c.quit().await;

    let mut c = Console::start_opts(
        Options {
            mfa_api: MfaApiChoice::Auto,
            ..Options::default()
        },
        |_| {},
    )
    .await;
    open_user(&mut c, "carissa", "Carissa Moore").await;
    let s = c.wait_text("MFA v1").await;
    assert!(!s.contains("OneLogin Email"), "v1 offers phones only:\n{s}");
    c.quit().await;
}

#[tokio::test]
async fn authenticator_enrollment_scans_from_the_screen_and_checks_the_first_code() {
    // 80×24: the smallest screen the QR code must scan at.
    let mut c = v2_console((80, 24)).await;
    open_user(&mut c, "carissa", "Carissa Moore").await;
    start_enroll(&mut c, "Authenticator", "Pixel").await;
    c.key(KeyCode::Enter);
    let s = c.wait_text("First code").await;
    assert!(
        s.contains("carissa.moore@acme.example"),
        "account named:\n{s}"
    );
    assert!(s.contains("Issuer   OneLogin"), "issuer named:\n{s}");
    assert!(s.contains("hidden · s shows it"), "setup key hidden:\n{s}");

    // The code on screen is the registration's URI: decode it back.
    let uri = decode_qr(&c.buffer()).expect("the QR code on screen decodes");
    assert!(uri.starts_with("otpauth://totp/OneLogin:"), "{uri}");
    let secret = uri
        .split("secret=")
        .nth(1)
        .and_then(|r| r.split('&').next())
        .expect("a secret in the URI")
        .to_owned();
    assert!(
        !c.screen().contains(&secret),
        "the setup key is not on screen before s"
    );
    c.key(KeyCode::Char('s'));
    let grouped: String = secret
        .chars()
        .collect::<Vec<_>>()
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join(" ");
    c.wait_text(&grouped).await;

    // The demo phone's app scanned it: its code is the first code.
    let code = pending(&c, CARISSA).code.expect("the app's code");
    c.type_text(&code);
    c.key(KeyCode::Enter);
    let s = c.wait_text("Enrolled Authenticator \"Pixel\"").await;
    assert!(s.contains("active"), "{s}");
    let device = c
        .ctl()
        .devices(CARISSA)
        .into_iter()
        .find(|d| d.kind == FactorKind::Authenticator)
        .expect("the device exists");
    assert!(device.active);
    let app = c.quit().await;
    let enroll: Vec<_> = app
        .audit
        .iter()
        .filter(|n| n.action == AuditKind::Enroll)
        .collect();
    assert_eq!(enroll.len(), 2, "one attempt, one outcome");
    let trail = format!("{:?}", app.audit);
    assert!(!trail.contains(&secret), "the seed is not audited");
    assert!(!trail.contains(&code), "the first code is not audited");
    assert_eq!(enroll[1].outcome, AuditResult::Success);
    assert_eq!(
        enroll[1].device_id.as_deref(),
        Some(device.id.to_string().as_str())
    );
}

#[tokio::test]
async fn a_wrong_first_code_is_refused_and_the_registration_stays_open() {
    let mut c = v2_console((120, 40)).await;
    open_user(&mut c, "carissa", "Carissa Moore").await;
    start_enroll(&mut c, "Authenticator", "Pixel").await;
    c.key(KeyCode::Enter);
    c.wait_text("First code").await;
    let good = pending(&c, CARISSA).code.expect("code");
    let wrong = if good == "000000" { "111111" } else { "000000" };
    c.type_text(wrong);
    c.key(KeyCode::Enter);
    c.wait_text("Wrong code. The app shows a new code every 30 s")
        .await;
    assert!(c.ctl().devices(CARISSA).is_empty(), "nothing enrolled");
    c.type_text(&pending(&c, CARISSA).code.expect("code"));
    c.key(KeyCode::Enter);
    c.wait_text("Enrolled Authenticator").await;
    c.quit().await;
}

#[tokio::test]
async fn protect_enrollment_waits_for_the_app_and_is_accepted_from_the_demo_phone() {
    let mut c = v2_console((120, 40)).await;
    open_user(&mut c, "carissa", "Carissa Moore").await;
    start_enroll(&mut c, "OneLogin Protect", "iPhone").await;
    c.key(KeyCode::Enter);
    let s = c.wait_text("Waiting for the app to accept").await;
    assert!(s.contains("expires in"), "countdown shown:\n{s}");
    let reg = pending(&c, CARISSA);
    assert_eq!(reg.factor, FactorKind::Protect);
    assert!(decode_qr(&c.buffer()).is_some_and(|u| u.starts_with("otpauth://")));
    c.key(KeyCode::Char('a'));
    c.wait_text("Enrolled OneLogin Protect \"iPhone\"").await;
    assert!(
        c.ctl()
            .devices(CARISSA)
            .iter()
            .any(|d| d.kind == FactorKind::Protect && d.active)
    );
    c.quit().await;
}

#[tokio::test]
async fn esc_stops_waiting_for_protect_and_says_what_was_left() {
    let mut c = v2_console((120, 40)).await;
    open_user(&mut c, "carissa", "Carissa Moore").await;
    start_enroll(&mut c, "OneLogin Protect", "iPhone").await;
    c.key(KeyCode::Enter);
    c.wait_text("Waiting for the app to accept").await;
    c.key(KeyCode::Esc);
    let s = c.wait_text("Stopped waiting").await;
    assert!(s.contains("stays pending"), "{s}");
    assert!(s.contains("OneLogin Protect"), "{s}");
    let app = c.quit().await;
    let last = app
        .audit
        .iter()
        .rfind(|n| n.action == AuditKind::Enroll)
        .expect("enroll audited");
    assert_eq!(last.outcome, AuditResult::Failure);
}

#[tokio::test]
async fn protect_denied_from_the_demo_phone_enrolls_nothing() {
    let mut c = v2_console((120, 40)).await;
    open_user(&mut c, "carissa", "Carissa Moore").await;
    start_enroll(&mut c, "OneLogin Protect", "iPhone").await;
    c.key(KeyCode::Enter);
    c.wait_text("Waiting for the app to accept").await;
    c.key(KeyCode::Char('x'));
    c.wait_text("denied the enrollment").await;
    assert!(c.ctl().devices(CARISSA).is_empty());
    c.key(KeyCode::Esc);
    c.wait_for("dialog closed", |s| !s.contains("┌ Enroll"))
        .await;
    c.quit().await;
}

#[tokio::test]
async fn email_enrollment_sends_a_code_that_the_agent_types() {
    let mut c = v2_console((120, 40)).await;
    open_user(&mut c, "carissa", "Carissa Moore").await;
    start_enroll(&mut c, "OneLogin Email", "Work mail").await;
    let s = c.screen();
    assert!(!s.contains("Phone number"), "email needs no phone:\n{s}");
    c.key(KeyCode::Enter);
    c.wait_text("A code was sent by OneLogin Email").await;
    let mail = c
        .ctl()
        .outbox()
        .into_iter()
        .rfind(|m| m.user_id == CARISSA)
        .expect("an email went out");
    assert_eq!(mail.channel, sim::Channel::Email);
    assert_eq!(mail.to, "carissa.moore@acme.example");
    c.type_text(&mail.code);
    c.key(KeyCode::Enter);
    c.wait_text("Enrolled OneLogin Email \"Work mail\"").await;
    assert!(
        c.ctl()
            .devices(CARISSA)
            .iter()
            .any(|d| d.kind == FactorKind::Email && d.active)
    );
    c.quit().await;
}

#[tokio::test]
async fn verify_on_v2_triggers_an_sms_and_checks_the_code() {
    let mut c = v2_console((120, 40)).await;
    open_user(&mut c, "kelly.slater", "Kelly Slater").await;
    c.wait_text("MFA v2").await;
    // The default SMS device is selected first.
    c.key(KeyCode::Tab);
    c.key(KeyCode::Char('t'));
    c.wait_text("┌ Trigger").await;
    c.key(KeyCode::Enter);
    c.wait_text("Code").await;
    let code = c
        .ctl()
        .outbox()
        .into_iter()
        .rfind(|m| m.user_id == 36216766)
        .expect("an SMS went out")
        .code;
    c.type_text(&code);
    c.key(KeyCode::Enter);
    c.wait_for("verified", |s| {
        s.contains("erified") && !s.contains("┌ Verify")
    })
    .await;
    c.quit().await;
}

#[tokio::test]
async fn push_token_and_remove_work_on_v2() {
    let mut c = v2_console((120, 40)).await;
    open_user(&mut c, "stephanie", "Stephanie Gilmore").await;
    c.wait_text("MFA v2").await;
    // v2 lists Protect once, as a push device; it is the default and selected first.
    c.key(KeyCode::Tab);
    c.key(KeyCode::Char('v'));
    c.wait_text("Send a push to").await;
    c.key(KeyCode::Enter);
    c.wait_text("Waiting for the caller to approve the push")
        .await;
    let pushes = c.ctl().pushes();
    assert_eq!(pushes.len(), 1, "the v2 push shows on the demo phone");
    c.key(KeyCode::Char('a'));
    c.wait_text("✓ Caller checked").await;

    c.key(KeyCode::Char('m'));
    c.wait_text("Issue a temporary MFA token").await;
    c.key(KeyCode::Enter);
    c.wait_text("Shown once").await;
    c.key(KeyCode::Enter);
    c.wait_for("token dialog closed", |s| !s.contains("Shown once"))
        .await;

    let before = c.ctl().devices(36216767).len();
    c.key(KeyCode::Char('d'));
    c.wait_text("Remove device").await;
    c.key(KeyCode::Right);
    c.key(KeyCode::Enter);
    c.wait_text("Removed").await;
    assert_eq!(c.ctl().devices(36216767).len(), before - 1);
    c.quit().await;
}

/// Under v2 the device list has no phone numbers: v1's, read in the same round, shows them.
#[tokio::test]
async fn v2_devices_show_their_phone_numbers_from_v1() {
    let mut c = v2_console((120, 40)).await;
    open_user(&mut c, "stephanie", "Stephanie Gilmore").await;
    c.wait_text("MFA v2").await;
    let s = c
        .wait_for("the desk phone's number", |s| {
            s.lines()
                .any(|l| l.contains("\"Desk phone\"") && l.contains("0199"))
        })
        .await;
    assert!(s.contains("+1 •••••• 0199"), "{s}");
    c.quit().await;
}
