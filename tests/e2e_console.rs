//! The real console loop, scripted keys, the demo tenant over HTTP on loopback.

mod support;

use crossterm::event::{KeyCode, KeyModifiers};
use mfadesk::app::{AuditKind, AuditResult};
use mfadesk::sim::RouteKind;
use support::{Console, line_with, open_user};

const CARISSA: i64 = 36216769;
const STEPHANIE: i64 = 36216767;

fn newest_code(c: &Console, user_id: i64) -> String {
    c.ctl()
        .outbox()
        .into_iter()
        .rfind(|m| m.user_id == user_id)
        .expect("a message was delivered")
        .code
}

#[tokio::test]
async fn search_shows_matching_users_and_opens_one() {
    let mut c = Console::start().await;
    c.wait_text("API").await;
    open_user(&mut c, "kelly", "Kelly Slater").await;
    let screen = c.screen();
    assert!(screen.contains("Kelly Smith"), "both kelly* users listed");
    assert!(screen.contains("Kelly Slater · kelly.slater@acme.example · id 36216766"));
    assert!(line_with(&screen, "OneLogin SMS").is_some_and(|l| l.contains("active")));
    assert!(screen.contains("Google Authentica"));
    c.quit().await;
}

#[tokio::test]
async fn guided_sms_enrollment_then_trigger_verify_token_and_remove() {
    let mut c = Console::start().await;
    open_user(&mut c, "carissa", "Carissa Moore").await;
    assert!(c.screen().contains("No MFA devices enrolled"));

    // Guided enrollment: enroll → trigger → verify with the code from the demo outbox.
    c.key(KeyCode::Char('e'));
    c.wait_text("Enroll a phone for Carissa Moore").await;
    assert!(c.screen().contains("◂ OneLogin SMS ▸"));
    c.type_text("Work phone");
    c.key(KeyCode::Tab);
    c.type_text("+1415555");
    c.wait_text("too short").await;
    c.type_text("0123");
    c.wait_text("valid E.164").await;
    c.key(KeyCode::Enter);
    c.wait_text("expires in").await;
    // A wrong code first: the dialog stays, says so, and keeps what was typed.
    c.type_text("ZZZZZZ");
    c.key(KeyCode::Enter);
    let s = c.wait_text("Wrong code").await;
    assert!(s.contains("ZZZZZZ"), "typed code kept after a wrong code");
    for _ in 0..6 {
        c.key(KeyCode::Backspace);
    }
    c.type_text(&newest_code(&c, CARISSA));
    c.key(KeyCode::Enter);
    c.wait_text("Enrolled and verified").await;
    let s = c
        .wait_for("device active", |s| {
            line_with(s, "\"Work phone\"").is_some_and(|l| l.contains("active"))
        })
        .await;
    assert!(!s.contains("Enroll a phone"), "dialog closed");
    let devices = c.ctl().devices(CARISSA);
    assert_eq!(devices.len(), 1);
    assert!(devices[0].active, "tenant has the device active");

    // Trigger again with options, verify again.
    let before = c.ctl().outbox().len();
    c.key(KeyCode::Char('t'));
    c.wait_text("Valid for (s)").await;
    c.key(KeyCode::Tab);
    c.key(KeyCode::Char(' ')); // numeric code
    c.key(KeyCode::Enter);
    c.wait_text("expires in").await;
    assert_eq!(c.ctl().outbox().len(), before + 1, "one SMS sent");
    let code = newest_code(&c, CARISSA);
    assert!(
        code.chars().all(|ch| ch.is_ascii_digit()),
        "numeric code asked for"
    );
    c.type_text(&code);
    c.key(KeyCode::Enter);
    c.wait_text("✓ Verified").await;

    // Temporary token: shown once, copied with OSC 52.
    c.key(KeyCode::Char('m'));
    c.wait_text("Issue a temporary MFA token for Carissa Moore")
        .await;
    c.key(KeyCode::Enter);
    let s = c.wait_text("Shown once").await;
    assert!(s.contains("Temporary MFA token for Carissa Moore"));
    c.key(KeyCode::Char('c'));
    c.wait_text("Sent to the terminal's clipboard (OSC 52)")
        .await;
    let clip = String::from_utf8(c.clipboard.0.lock().unwrap().clone()).unwrap();
    assert!(clip.starts_with("\x1b]52;c;") && clip.ends_with('\x07'));
    c.key(KeyCode::Enter);
    c.wait_for("token dialog closed", |s| !s.contains("Shown once"))
        .await;

    // Remove: focus starts on Cancel; y confirms.
    c.key(KeyCode::Char('d'));
    let s = c.wait_text("Remove device").await;
    assert!(s.contains("last device"), "last-device warning");
    c.key(KeyCode::Enter); // Cancel is focused: nothing happens
    c.wait_for("remove dialog closed", |s| !s.contains("Remove device"))
        .await;
    assert_eq!(c.ctl().devices(CARISSA).len(), 1, "Cancel removed nothing");
    c.key(KeyCode::Char('d'));
    c.wait_text("Remove device").await;
    c.key(KeyCode::Right);
    c.key(KeyCode::Enter);
    c.wait_text("Removed OneLogin SMS").await;
    c.wait_text("No MFA devices enrolled").await;
    assert!(c.ctl().devices(CARISSA).is_empty());

    // Every change left an attempt and an outcome, and no note holds a code or token.
    let notes = c.audit.0.lock().unwrap().clone();
    for kind in [
        AuditKind::Enroll,
        AuditKind::Trigger,
        AuditKind::Verify,
        AuditKind::Remove,
        AuditKind::MfaToken,
    ] {
        assert!(
            notes
                .iter()
                .any(|n| n.action == kind && n.outcome == AuditResult::Attempt),
            "{kind:?} attempt"
        );
        assert!(
            notes
                .iter()
                .any(|n| n.action == kind && n.outcome == AuditResult::Success),
            "{kind:?} success"
        );
    }
    let dump = format!("{notes:?}");
    for m in c.ctl().outbox() {
        assert!(
            !dump.contains(&m.code),
            "an OTP code reached the audit notes"
        );
    }
    c.quit().await;
}

#[tokio::test]
async fn push_is_approved_from_the_demo_phone() {
    let mut c = Console::start().await;
    open_user(&mut c, "stephanie", "Stephanie Gilmore").await;
    // Select the push row of OneLogin Protect.
    // Opening a user selects the first device: Protect's push entry in the seed.
    let s = c.screen();
    let push_row = line_with(&s, "push").unwrap_or_default();
    assert!(push_row.contains("││> "), "push row selected:\n{s}");
    c.key(KeyCode::Char('v'));
    c.wait_text("Send a push to").await;
    c.key(KeyCode::Enter);
    let s = c
        .wait_text("Waiting for the caller to approve the push")
        .await;
    assert!(
        s.contains("a/x demo: approve/deny"),
        "the footer offers the demo keys"
    );
    assert_eq!(c.ctl().pushes().len(), 1);
    c.key(KeyCode::Char('a'));
    c.wait_text("✓ Caller checked").await;
    assert!(c.ctl().pushes().is_empty());
    let _ = STEPHANIE;
    c.quit().await;
}

#[tokio::test]
async fn bad_search_input_keeps_text_and_says_why() {
    let mut c = Console::start().await;
    c.key(KeyCode::Char('/'));
    c.type_text("foo:bar");
    c.key(KeyCode::Enter);
    let s = c.wait_text("unknown field").await;
    assert!(s.contains("/ foo:bar"), "typed query kept");
    c.key_with(KeyCode::Char('c'), KeyModifiers::CONTROL);
    tokio::time::timeout(support::WAIT, c.task)
        .await
        .expect("exits")
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn results_page_in_as_the_selection_reaches_the_end() {
    let mut c = Console::start().await;
    c.key(KeyCode::Char('/'));
    c.type_text("email:*");
    c.key(KeyCode::Enter);
    c.wait_text("50 of 62 users").await;
    c.key(KeyCode::Char('G'));
    c.wait_text("62 of 62 users").await;
    // `/` then Enter runs the same query again; `/` then typing replaces it.
    let before = c.ctl().request_count(RouteKind::Users);
    c.key(KeyCode::Char('/'));
    c.key(KeyCode::Enter);
    c.wait_text("50 of 62 users").await;
    assert!(
        c.ctl().request_count(RouteKind::Users) > before,
        "searched again"
    );
    c.key(KeyCode::Char('/'));
    c.type_text("carissa");
    c.key(KeyCode::Enter);
    // A name fans out to four queries: with no further page the merged list is the exact count.
    c.wait_text("│1 of 1 user ").await;
    assert!(
        c.screen().contains("│/ carissa "),
        "old query replaced, not appended"
    );
    c.quit().await;
}
