//! The caller check end to end: the real loop with scripted keys against the demo tenant over
//! HTTP, with the audit trail written to a real file.

mod support;

use crossterm::event::KeyCode;
use mfadesk::audit::{
    AuditAction, AuditContext, AuditLog, AuditOutcome, CallerCheckRef, read_entries,
};
use mfadesk::console::FileAudit;
use mfadesk::policy::{GuardedAction, last_caller_check_on};
use mfadesk::sim::{self, RouteKind};
use support::{Console, Options, open_user};

const TRAIL_URL: &str = "http://demo.test";
const STEPHANIE: i64 = 36216767;
const PROTECT: &str = "525503";

fn file_audit(path: &std::path::Path) -> Options {
    Options {
        audit: Some(Box::new(FileAudit {
            log: AuditLog::open(path).expect("audit file"),
            context: AuditContext::new("jdoe", None, TRAIL_URL),
        })),
        ..Options::default()
    }
}

#[tokio::test]
async fn a_push_check_approved_on_the_demo_phone_then_a_required_removal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let mut c = Console::start_opts(file_audit(&path), |app| {
        app.operator = "jdoe".into();
        app.tenant.caller_check.required = [GuardedAction::Remove].into_iter().collect();
    })
    .await;
    open_user(&mut c, "stephanie", "Stephanie Gilmore").await;

    // The removal is required to wait: y sends nothing.
    c.key(KeyCode::Char('d'));
    c.wait_text("Caller not checked: c checks the caller, o overrides with a reason")
        .await;
    c.key(KeyCode::Right);
    c.key(KeyCode::Enter);
    c.wait_text("! Caller not checked").await;
    assert_eq!(c.ctl().request_count(RouteKind::Remove), 0);

    // c from the removal: codes first (Protect's code), the push after, labelled the weakest;
    // Enter on it sends the push.
    c.key(KeyCode::Char('c'));
    let s = c.wait_text("Check caller").await;
    let first = s
        .lines()
        .find(|l| l.contains("> ★"))
        .unwrap_or_default()
        .to_owned();
    assert!(
        first.contains("OneLogin Protect") && first.contains("· code"),
        "{s}"
    );
    assert!(s.contains("push (weakest"), "{s}");
    // Past the code and the voice call, to the push.
    c.key(KeyCode::Char('j'));
    c.key(KeyCode::Char('j'));
    c.key(KeyCode::Enter);
    let s = c
        .wait_text("Waiting for the caller to approve the push")
        .await;
    assert!(s.contains("expires in"), "{s}");
    assert_eq!(c.ctl().pushes().len(), 1);
    c.key(KeyCode::Char('a'));

    // Back in the removal, now allowed.
    let s = c.wait_text("✓ Caller checked").await;
    assert!(s.contains("Remove device"), "{s}");
    assert!(
        s.contains("by jdoe (OneLogin Protect \"Steph's iPhone\")"),
        "{s}"
    );
    c.key(KeyCode::Right);
    c.key(KeyCode::Enter);
    c.wait_text("Removed OneLogin Protect").await;
    c.wait_idle().await;
    assert!(
        !c.ctl()
            .devices(STEPHANIE)
            .iter()
            .any(|d| d.id.to_string() == PROTECT)
    );
    c.quit().await;

    // The trail proves the order: the check, then the removal that names it.
    let entries = read_entries(&path).unwrap();
    let order: Vec<(AuditAction, AuditOutcome)> =
        entries.iter().map(|e| (e.action, e.outcome)).collect();
    assert_eq!(
        order,
        vec![
            (AuditAction::CallerCheck, AuditOutcome::Attempt),
            (AuditAction::CallerCheck, AuditOutcome::Success),
            (AuditAction::Remove, AuditOutcome::Attempt),
            (AuditAction::Remove, AuditOutcome::Success),
        ]
    );
    let check = &entries[1];
    assert_eq!(check.method.as_deref(), Some("push"));
    assert_eq!(check.device_id.as_deref(), Some(PROTECT));
    assert_eq!(check.factor.as_deref(), Some("OneLogin Protect"));
    assert!(check.request_id.is_some());
    let expected = CallerCheckRef::Success {
        at: check.time,
        device_id: PROTECT.into(),
    };
    for removal in &entries[2..] {
        assert_eq!(removal.caller_check.as_ref(), Some(&expected));
        assert!(removal.time >= check.time);
    }
    // The shell commands find the same check in the file.
    let found = last_caller_check_on(&entries, TRAIL_URL, STEPHANIE, check.time, 15)
        .expect("a fresh check in the file");
    assert_eq!(found.device_id, PROTECT);
    // No line carries a state token or a code.
    let raw = std::fs::read_to_string(&path).unwrap();
    assert!(!raw.contains("state_token"), "{raw}");
}

#[tokio::test]
async fn read_only_mode_checks_a_caller_by_authenticator_code() {
    let mut c = Console::start_with(Default::default(), |app| {
        app.tenant.read_only = true;
        app.operator = "tier1".into();
    })
    .await;
    open_user(&mut c, "kelly", "Kelly Slater").await;
    c.key(KeyCode::Char('c'));
    c.wait_text("Check caller").await;
    c.key(KeyCode::Char('j'));
    c.key(KeyCode::Enter);
    c.wait_text("Ask the caller for the code shown on").await;
    let code = c.ctl().totp_code(525502).expect("a TOTP code");
    c.type_text(&code);
    c.key(KeyCode::Enter);
    let s = c.wait_text("✓ Caller checked").await;
    assert!(
        s.contains("by tier1 (Google Authenticator \"Pixel 8\")"),
        "{s}"
    );
    assert!(s.contains("READ-ONLY"), "{s}");
    let notes = c.audit.0.lock().unwrap().clone();
    assert!(
        notes
            .iter()
            .any(|n| n.action == AuditAction::CallerCheck && n.outcome == AuditOutcome::Success)
    );
    assert!(
        !format!("{notes:?}").contains(&code),
        "the code is never written"
    );
    c.quit().await;
}

#[tokio::test]
async fn a_read_users_credential_is_told_it_cannot_check_and_then_sends_nothing() {
    let opts = Options {
        client_id: sim::DEMO_READ_CLIENT_ID,
        client_secret: sim::DEMO_READ_CLIENT_SECRET,
        ..Options::default()
    };
    let mut c = Console::start_opts(opts, |_| {}).await;
    open_user(&mut c, "kelly", "Kelly Slater").await;
    // The first c asks the tenant (a trigger for a device no user has) and says so at once:
    // no device is chosen, no SMS or push goes out.
    c.key(KeyCode::Char('c'));
    c.wait_for("the scope refusal without a dialog", |s| {
        s.contains("This API credential cannot check callers: it needs the Manage users scope")
            && !s.contains("┌ Check caller")
    })
    .await;
    c.wait_idle().await;
    assert!(c.ctl().outbox().is_empty(), "no SMS went out");
    assert!(c.ctl().pushes().is_empty(), "no push went out");
    let sent = c.ctl().request_count(RouteKind::Trigger) + c.ctl().request_count(RouteKind::Verify);
    assert_eq!(sent, 1, "only the probe");
    // Esc at the top clears the status, so the message below is the answer to this c.
    c.key(KeyCode::Esc);
    c.wait_for("status cleared", |s| !s.contains("cannot check callers"))
        .await;
    c.key(KeyCode::Char('c'));
    let s = c
        .wait_text("This API credential cannot check callers: it needs the Manage users scope")
        .await;
    assert!(!s.contains("┌ Check caller"), "{s}");
    c.wait_idle().await;
    assert_eq!(
        c.ctl().request_count(RouteKind::Trigger) + c.ctl().request_count(RouteKind::Verify),
        sent,
        "nothing more is sent once the scope is known"
    );
    c.quit().await;
}

/// The attack: the caller has the agent enroll "their" phone for the user, then offers it to
/// prove who they are. The new device is listed greyed and never checks the caller; `v` on it
/// sends nothing; no audit line says the caller was checked.
#[tokio::test]
async fn a_device_enrolled_this_session_never_proves_the_caller() {
    const KELLY: i64 = 36216766;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let mut c = Console::start_opts(file_audit(&path), |app| {
        app.operator = "jdoe".into();
    })
    .await;
    open_user(&mut c, "kelly", "Kelly Slater").await;
    c.key(KeyCode::Char('e'));
    c.wait_text("Enroll a phone for Kelly Slater").await;
    assert!(c.screen().contains("OneLogin Voice"), "{}", c.screen());
    c.type_text("Caller phone");
    c.key(KeyCode::Tab);
    c.type_text("+14155550166");
    c.key(KeyCode::Enter);
    c.wait_text("expires in").await;
    let code = c
        .ctl()
        .outbox()
        .into_iter()
        .rfind(|m| m.user_id == KELLY)
        .expect("the call was placed")
        .code;
    c.type_text(&code);
    c.key(KeyCode::Enter);
    c.wait_text("Enrolled and verified").await;
    c.wait_idle().await;
    // Read the devices again, so the list is the tenant's now.
    c.key(KeyCode::Char('r'));
    c.wait_idle().await;
    c.wait_for("the new device active", |s| {
        s.lines()
            .any(|l| l.contains("\"Caller phone\"") && l.contains("active"))
    })
    .await;

    // `v` on the new device (selected after the enrollment): refused, nothing sent.
    let triggers = c.ctl().request_count(RouteKind::Trigger);
    c.key(KeyCode::Char('v'));
    c.wait_text("too new to prove the caller").await;
    assert_eq!(c.ctl().request_count(RouteKind::Trigger), triggers);

    // `c`: listed greyed, with why.
    c.key(KeyCode::Char('c'));
    let s = c.wait_text("Check caller").await;
    assert!(
        s.contains("enrolled just now: too new to prove the caller"),
        "{s}"
    );
    c.key(KeyCode::Esc);
    c.quit().await;
    let entries = read_entries(&path).unwrap();
    assert!(
        !entries
            .iter()
            .any(|e| e.action == AuditAction::CallerCheck && e.outcome == AuditOutcome::Success),
        "no line says the caller was checked"
    );
}
