//! The walkthroughs end to end: the real loop with scripted keys against the demo tenant over
//! HTTP, the audit trail written to a real file and read back.

mod support;

use crossterm::event::KeyCode;
use mfadesk::audit::{AuditAction, AuditContext, AuditLog, AuditOutcome, read_entries};
use mfadesk::console::FileAudit;
use support::{Console, Options, open_user};

const KELLY: i64 = 36216766;
const KELLY_SMS: i64 = 525501;
const KELLY_TOTP: i64 = 525502;

fn file_audit(path: &std::path::Path) -> Options {
    Options {
        audit: Some(Box::new(FileAudit {
            log: AuditLog::open(path).expect("audit file"),
            context: AuditContext::new("jdoe", None, "http://demo.test"),
        })),
        ..Options::default()
    }
}

/// Five failed sign-ins through the demo route lock the user.
async fn fail_five_sign_ins(c: &Console, user: i64) {
    let http = reqwest::Client::new();
    for _ in 0..5 {
        let resp = http
            .post(format!("{}/_sim/users/{user}/login", c.sim.base_url()))
            .json(&serde_json::json!({"ok": false, "ip": "203.0.113.77"}))
            .send()
            .await
            .expect("the demo login route answers");
        assert_eq!(resp.status(), 200);
    }
    let locked = c.ctl().users().into_iter().find(|u| u.id == user).unwrap();
    assert_eq!(locked.status, 3, "five failures lock the user");
}

#[tokio::test]
async fn locked_out_from_five_failed_sign_ins_to_the_unlock() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let mut c = Console::start_opts(file_audit(&path), |app| app.operator = "jdoe".into()).await;
    fail_five_sign_ins(&c, KELLY).await;
    open_user(&mut c, "kelly", "Kelly Slater").await;
    c.wait_text("u unlock").await;

    c.key(KeyCode::Char('w'));
    c.wait_text("Lost or replaced device").await;
    c.key(KeyCode::Char('j'));
    c.key(KeyCode::Enter);
    c.wait_text("Ticket or reason").await;
    c.type_text("INC-4242 locked out");
    c.key(KeyCode::Enter);
    // Step 1: why, from the events read with the user.
    let s = c.wait_text("Step 1 of 5: Why the user is locked").await;
    assert!(s.contains("5 failed sign-ins in the last 24 hours"), "{s}");
    assert!(s.contains("From 203.0.113.77 (5)."), "{s}");
    assert!(s.contains("▶ 1. Why the user is locked"), "{s}");
    c.key(KeyCode::Enter);
    // Step 2: the caller reads the authenticator's code.
    c.wait_text("Step 2 of 5: Check the caller").await;
    c.key(KeyCode::Enter);
    c.wait_text("Check caller").await;
    c.key(KeyCode::Char('j'));
    c.key(KeyCode::Enter);
    c.wait_text("Ask the caller for the code shown on").await;
    let code = c.ctl().totp_code(KELLY_TOTP).expect("a TOTP code");
    c.type_text(&code);
    c.key(KeyCode::Enter);
    let s = c.wait_text("Step 3 of 5: Unlock").await;
    assert!(s.contains("✓ 2. Check the caller"), "{s}");
    // Step 3: the unlock's own dialog, confirmed on its button.
    c.key(KeyCode::Enter);
    c.wait_text("Unlock user").await;
    c.key(KeyCode::Enter); // Cancel is focused first: nothing is sent.
    c.wait_text("Step 3 of 5: Unlock").await;
    assert_eq!(
        c.ctl()
            .users()
            .iter()
            .find(|u| u.id == KELLY)
            .unwrap()
            .status,
        3
    );
    c.key(KeyCode::Enter);
    c.wait_text("Unlock user").await;
    c.key(KeyCode::Right);
    c.key(KeyCode::Enter);
    let s = c
        .wait_text("Step 4 of 5: Sign out (unknown addresses)")
        .await;
    assert!(s.contains("✓ 3. Unlock"), "{s}");
    assert!(
        s.contains("Failed sign-ins came from 203.0.113.77 (5)."),
        "{s}"
    );
    c.wait_for("the pane re-read", |s| !s.contains("Locked until"))
        .await;
    assert_eq!(
        c.ctl()
            .users()
            .iter()
            .find(|u| u.id == KELLY)
            .unwrap()
            .status,
        1
    );
    // Esc leaves here; the status line says what was done.
    c.key(KeyCode::Esc);
    let s = c.wait_text("Left Locked out (case w-").await;
    assert!(s.contains("✓ done 1,2,3"), "{s}");
    c.wait_idle().await;
    c.quit().await;

    let entries = read_entries(&path).unwrap();
    let order: Vec<(AuditAction, AuditOutcome)> =
        entries.iter().map(|e| (e.action, e.outcome)).collect();
    assert_eq!(
        order,
        vec![
            (AuditAction::CallerCheck, AuditOutcome::Attempt),
            (AuditAction::CallerCheck, AuditOutcome::Success),
            (AuditAction::Unlock, AuditOutcome::Attempt),
            (AuditAction::Unlock, AuditOutcome::Success),
        ]
    );
    let case = entries[0].case.clone().expect("a case id");
    assert!(case.starts_with("w-"), "{case}");
    assert!(entries.iter().all(|e| e.case.as_deref() == Some(&case)));
    assert!(
        entries
            .iter()
            .all(|e| e.reason.as_deref() == Some("INC-4242 locked out"))
    );
    // The command line finds the whole call by its case.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mfadesk"))
        .args(["audit", "--case", &case, "--json", "--audit-log"])
        .arg(&path)
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["count"], 4, "{doc}");
    let raw = std::fs::read_to_string(&path).unwrap();
    assert!(!raw.contains(&code), "no code in the trail");
}

#[tokio::test]
async fn lost_device_through_to_a_verified_new_phone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let mut c = Console::start_opts(file_audit(&path), |app| app.operator = "jdoe".into()).await;
    open_user(&mut c, "kelly", "Kelly Slater").await;

    c.key(KeyCode::Char('w'));
    c.wait_text("Lost or replaced device").await;
    c.key(KeyCode::Enter);
    c.type_text("INC-9 phone lost in a taxi");
    c.key(KeyCode::Enter);
    // The lost device first: the SMS phone (the default, first in the list).
    let s = c.wait_text("Which device is lost or replaced?").await;
    assert!(
        s.contains("> ★ OneLogin SMS") || s.contains("> OneLogin SMS"),
        "{s}"
    );
    c.key(KeyCode::Enter);
    c.wait_text("Step 1 of 5: Check the caller").await;
    c.key(KeyCode::Enter);
    let s = c.wait_text("Check caller").await;
    // The lost phone is never offered: the dialog lists the authenticator alone.
    let dialog: Vec<&str> = s
        .lines()
        .skip_while(|l| !l.contains("┌ Check caller"))
        .take_while(|l| !l.contains("Enter checks with"))
        .collect();
    assert!(
        dialog.iter().any(|l| l.contains("Google Authenticator")),
        "{s}"
    );
    assert!(!dialog.iter().any(|l| l.contains("OneLogin SMS")), "{s}");
    c.key(KeyCode::Enter);
    c.wait_text("Ask the caller for the code shown on").await;
    c.type_text(&c.ctl().totp_code(KELLY_TOTP).expect("a TOTP code"));
    c.key(KeyCode::Enter);
    // Step 2: remove the lost phone in its own dialog (Cancel first, then the button).
    c.wait_text("Step 2 of 5: Remove the lost device").await;
    c.key(KeyCode::Enter);
    c.wait_text("Remove device").await;
    c.key(KeyCode::Tab);
    c.key(KeyCode::Enter);
    c.wait_text("Step 3 of 5: Sign out everywhere").await;
    assert!(!c.ctl().devices(KELLY).iter().any(|d| d.id == KELLY_SMS));
    // Step 3: sign out everywhere.
    c.key(KeyCode::Enter);
    c.wait_text("[ Sign out ]").await;
    c.key(KeyCode::Right);
    c.key(KeyCode::Enter);
    // Step 4: no temporary token.
    c.wait_text("Step 4 of 5: Temporary MFA token").await;
    c.key(KeyCode::Char('s'));
    // Step 5: enroll the new phone and verify it on the call.
    c.wait_text("Step 5 of 5: Enroll and verify the new device")
        .await;
    c.key(KeyCode::Enter);
    c.wait_text("Enroll a phone for Kelly Slater").await;
    c.type_text("New phone");
    c.key(KeyCode::Tab);
    c.type_text("+14155550199");
    c.key(KeyCode::Enter);
    c.wait_text("expires in").await;
    let code = c
        .ctl()
        .outbox()
        .into_iter()
        .rfind(|m| m.user_id == KELLY)
        .expect("an SMS was sent")
        .code;
    c.type_text(&code);
    c.key(KeyCode::Enter);
    let s = c.wait_text("Lost or replaced device finished").await;
    assert!(
        s.contains("✓ done 1,2,3,5") && s.contains("– skipped 4"),
        "{s}"
    );
    c.wait_idle().await;
    let phone = c
        .ctl()
        .devices(KELLY)
        .into_iter()
        .find(|d| d.user_display_name == "New phone")
        .expect("the new phone is enrolled");
    assert!(phone.active, "verified on the call");
    c.quit().await;

    let entries = read_entries(&path).unwrap();
    let actions: Vec<AuditAction> = entries.iter().map(|e| e.action).collect();
    for a in [
        AuditAction::CallerCheck,
        AuditAction::Remove,
        AuditAction::Logout,
        AuditAction::Enroll,
        AuditAction::Verify,
    ] {
        assert!(actions.contains(&a), "{a:?} missing: {actions:?}");
    }
    let case = entries[0].case.clone().expect("a case id");
    assert!(entries.iter().all(|e| e.case.as_deref() == Some(&case)));
    assert!(
        entries
            .iter()
            .all(|e| e.reason.as_deref() == Some("INC-9 phone lost in a taxi"))
    );
    // The removal names the caller check before it.
    let removal = entries
        .iter()
        .find(|e| e.action == AuditAction::Remove && e.outcome == AuditOutcome::Success)
        .unwrap();
    assert_eq!(removal.device_id.as_deref(), Some("525501"));
    assert!(matches!(
        removal.caller_check,
        Some(mfadesk::audit::CallerCheckRef::Success { .. })
    ));
}
