//! End to end against the demo tenant: a failed search leaves nothing to open, a pre-verified
//! enrollment is confirmed and audited as verified, and stopping a push wait says nothing changed.

mod support;

use crossterm::event::KeyCode;
use mfadesk::audit::{AuditAction, AuditContext, AuditLog, AuditOutcome, read_entries};
use mfadesk::console::FileAudit;
use mfadesk::sim::{Fault, RouteKind};
use support::{Console, Options, open_user};

const CARISSA: i64 = 36216769;

#[tokio::test]
async fn a_failed_search_shows_the_error_and_no_earlier_row() {
    let mut c = Console::start().await;
    open_user(&mut c, "kelly", "Kelly Slater").await;
    assert!(c.screen().contains("Kelly Smith"));
    c.ctl()
        .set_fault(RouteKind::Users, Fault::Status(503), None);
    c.key(KeyCode::Char('/'));
    c.type_text("stephanie");
    c.key(KeyCode::Enter);
    let s = c.wait_text("r to retry").await;
    assert!(!s.contains("Kelly Smith"), "an earlier row stays:\n{s}");
    assert!(s.contains("Users ─ stephanie"), "{s}");
    // Enter opens nothing; once the tenant is back, r runs the query again.
    c.key(KeyCode::Enter);
    c.ctl().clear_faults();
    c.key(KeyCode::Char('r'));
    c.wait_text("Stephanie Gilmore").await;
    c.quit().await;
}

#[tokio::test]
async fn a_pre_verified_enrollment_is_confirmed_and_audited_as_verified() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let sink = FileAudit {
        log: AuditLog::open(&path).unwrap(),
        context: AuditContext::new("agent7", None, "http://127.0.0.1"),
    };
    let opts = Options {
        audit: Some(Box::new(sink)),
        ..Options::default()
    };
    let mut c = Console::start_opts(opts, |_| {}).await;
    open_user(&mut c, "carissa", "Carissa Moore").await;
    // No device: focus is on Available, where Enter enrolls.
    let s = c.wait_text("⏎ enroll").await;
    assert!(s.contains("No MFA devices enrolled"));
    c.key(KeyCode::Enter);
    c.wait_text("Enroll a phone for Carissa Moore").await;
    c.key(KeyCode::Tab);
    c.type_text("Desk phone");
    c.key(KeyCode::Tab);
    c.type_text("+1 (415) 555-0123");
    c.wait_text("valid E.164").await;
    c.key(KeyCode::Tab);
    c.key(KeyCode::Char(' '));
    c.key(KeyCode::Enter);
    c.wait_text("will not be checked").await;
    assert!(
        c.ctl().devices(CARISSA).is_empty(),
        "enrolled before the confirmation"
    );
    c.key(KeyCode::Enter);
    c.wait_text("Enrolled OneLogin SMS \"Desk phone\"").await;
    let devices = c.ctl().devices(CARISSA);
    assert_eq!(devices.len(), 1);
    assert!(devices[0].active);
    c.quit().await;
    let entries = read_entries(&path).unwrap();
    let enroll: Vec<_> = entries
        .iter()
        .filter(|e| e.action == AuditAction::Enroll)
        .collect();
    assert_eq!(enroll.len(), 2, "{enroll:?}");
    assert_eq!(enroll[0].outcome, AuditOutcome::Attempt);
    assert_eq!(enroll[1].outcome, AuditOutcome::Success);
    assert!(
        enroll.iter().all(|e| e.verified == Some(true)),
        "{enroll:?}"
    );
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("\"verified\":true"), "{text}");
}

#[tokio::test]
async fn esc_on_a_push_wait_says_nothing_was_changed() {
    let mut c = Console::start().await;
    open_user(&mut c, "stephanie", "Stephanie Gilmore").await;
    c.key(KeyCode::Char('v'));
    c.wait_text("Send a push to").await;
    c.key(KeyCode::Enter);
    c.wait_text("Waiting for the caller to approve the push")
        .await;
    c.key(KeyCode::Esc);
    let s = c
        .wait_text("Stopped waiting. The push stays on the phone until it expires at")
        .await;
    assert!(s.contains("nothing was changed."), "{s}");
    assert!(!s.contains("Waiting for the caller"), "{s}");
    c.quit().await;
}
