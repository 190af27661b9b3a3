//! A whole MFA v2 session (authenticator enrollment, email enrollment, a v2 push) after which
//! neither the audit trail nor the trace-level log holds the seed, a code, a verification id or
//! the client secret. Alone in its binary: it installs the process-wide log.

mod support;

use crossterm::event::KeyCode;
use mfadesk::api::MfaApiChoice;
use mfadesk::audit::{AuditContext, AuditLog};
use mfadesk::console::FileAudit;
use mfadesk::sim;
use support::{Console, Options, open_user};

const CARISSA: i64 = 36216769;

/// Moves the enroll dialog's factor picker to `factor`.
async fn pick(c: &mut Console, factor: &str) {
    for _ in 0..6 {
        let s = c.screen();
        if s.lines()
            .any(|l| l.contains("Factor") && l.contains(factor))
        {
            return;
        }
        c.key(KeyCode::Down);
        let f = factor.to_owned();
        let _ = tokio::time::timeout(
            std::time::Duration::from_millis(500),
            c.wait_for("factor", move |s| {
                s.lines().any(|l| l.contains("Factor") && l.contains(&f))
            }),
        )
        .await;
    }
}

#[tokio::test]
async fn a_whole_v2_session_leaves_no_secret_in_the_audit_trail_or_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let audit_path = dir.path().join("audit.jsonl");
    let log_path = dir.path().join("mfadesk.log");
    let _log = mfadesk::logging::init(&log_path, "trace").unwrap();
    let sink = FileAudit {
        log: AuditLog::open(&audit_path).unwrap(),
        context: AuditContext::new("agent7", Some("demo".into()), "http://127.0.0.1"),
    };
    let opts = Options {
        audit: Some(Box::new(sink)),
        client_id: sim::DEMO_ADMIN_CLIENT_ID,
        client_secret: sim::DEMO_ADMIN_CLIENT_SECRET,
        mfa_api: MfaApiChoice::Auto,
        ..Options::default()
    };
    let mut c = Console::start_opts(opts, |_| {}).await;
    let mut secrets: Vec<String> = vec![sim::DEMO_ADMIN_CLIENT_SECRET.to_owned()];

    // Authenticator: the setup key read off the screen after `s`.
    open_user(&mut c, "carissa", "Carissa Moore").await;
    c.key(KeyCode::Char('e'));
    c.wait_text("┌ Enroll").await;
    pick(&mut c, "Authenticator").await;
    c.key(KeyCode::Tab);
    c.type_text("Pixel");
    c.key(KeyCode::Enter);
    c.wait_text("First code").await;
    c.key(KeyCode::Char('s'));
    let s = c
        .wait_for("setup key shown", |s| !s.contains("hidden · s shows it"))
        .await;
    let key: String = s
        .lines()
        .find(|l| l.contains("Key      "))
        .and_then(|l| l.split("Key      ").nth(1))
        .map(|k| k.split('│').next().unwrap_or("").replace(' ', ""))
        .unwrap();
    assert!(key.len() >= 16, "setup key read from the screen: {key:?}");
    secrets.push(key);
    let reg = c
        .ctl()
        .registrations()
        .into_iter()
        .rfind(|r| r.user_id == CARISSA)
        .unwrap();
    let code = reg.code.clone().unwrap();
    secrets.push(code.clone());
    c.type_text(&code);
    c.key(KeyCode::Enter);
    c.wait_text("Enrolled Authenticator").await;

    // Email: the code from the outbox.
    c.key(KeyCode::Char('e'));
    c.wait_text("┌ Enroll").await;
    pick(&mut c, "OneLogin Email").await;
    c.key(KeyCode::Tab);
    c.type_text("Mail");
    c.key(KeyCode::Enter);
    c.wait_text("A code was sent").await;
    let mail = c.ctl().outbox().last().unwrap().code.clone();
    c.type_text(&mail);
    c.key(KeyCode::Enter);
    c.wait_text("Enrolled OneLogin Email").await;

    // A v2 push: its verification id is the handle, a secret like a state token.
    c.key(KeyCode::Char('/'));
    c.type_text("stephanie");
    c.key(KeyCode::Enter);
    c.wait_text("> Stephanie Gilmore").await;
    c.key(KeyCode::Enter);
    c.wait_text("Steph's iPhone").await;
    c.key(KeyCode::Char('v'));
    c.wait_text("Send a push to").await;
    c.key(KeyCode::Enter);
    c.wait_text("Waiting for the caller to approve the push")
        .await;
    secrets.push(c.ctl().pushes()[0].id.clone());
    c.key(KeyCode::Char('a'));
    c.wait_text("✓ Caller checked").await;

    secrets.extend(c.ctl().outbox().into_iter().map(|m| m.code));
    c.quit().await;

    let audit = std::fs::read_to_string(&audit_path).unwrap();
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(
        log.contains("/api/2/mfa/users"),
        "the log records v2 requests:\n{log}"
    );
    assert!(!log.contains("otpauth://"), "no otpauth URI in the log");
    for secret in &secrets {
        assert!(
            !audit.contains(secret.as_str()),
            "audit trail holds a secret: {secret}"
        );
        assert!(
            !log.contains(secret.as_str()),
            "log holds a secret: {secret}"
        );
    }
    assert!(audit.contains("\"enroll\""), "enrollments audited");
}
