//! A whole scripted session after which neither the audit trail nor the diagnostic log holds a
//! secret. Alone in its binary: it installs the process-wide log, as the program does.

mod support;

use crossterm::event::KeyCode;
use mfadesk::audit::{AuditContext, AuditLog, read_entries};
use mfadesk::console::FileAudit;
use mfadesk::sim;
use support::{Console, Options, line_with, open_user};

const CARISSA: i64 = 36216769;

#[tokio::test]
async fn a_whole_session_leaves_no_secret_in_the_audit_trail_or_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let audit_path = dir.path().join("audit.jsonl");
    let log_path = dir.path().join("mfadesk.log");
    let _log = mfadesk::logging::init(&log_path, "trace").unwrap();

    let context = AuditContext::new("agent7", Some("demo".into()), "http://127.0.0.1");
    let sink = FileAudit {
        log: AuditLog::open(&audit_path).unwrap(),
        context,
    };
    let opts = Options {
        audit: Some(Box::new(sink)),
        ..Options::default()
    };
    let mut c = Console::start_opts(opts, |_| {}).await;
    let mut secrets: Vec<String> = vec![sim::DEMO_MANAGE_CLIENT_SECRET.to_owned()];

    // Guided SMS enrollment with a wrong code first.
    open_user(&mut c, "carissa", "Carissa Moore").await;
    c.key(KeyCode::Char('e'));
    c.wait_text("Enroll a phone").await;
    c.type_text("Desk");
    c.key(KeyCode::Tab);
    c.type_text("+14155550123");
    c.key(KeyCode::Enter);
    c.wait_text("expires in").await;
    c.type_text("WRONG1");
    c.key(KeyCode::Enter);
    c.wait_text("Wrong code").await;
    for _ in 0..6 {
        c.key(KeyCode::Backspace);
    }
    let code = c.ctl().outbox().last().unwrap().code.clone();
    c.type_text(&code);
    c.key(KeyCode::Enter);
    c.wait_text("Enrolled and verified").await;

    // A temporary token: read it off the screen to look for it later.
    c.key(KeyCode::Char('m'));
    c.wait_text("Issue a temporary MFA token").await;
    c.key(KeyCode::Enter);
    let s = c.wait_text("Shown once").await;
    let token = line_with(&s, "Temporary MFA token for")
        .and_then(|_| {
            s.lines()
                .skip_while(|l| !l.contains("Temporary MFA token for"))
                .nth(2)
        })
        .map(|l| l.split('│').nth(2).unwrap_or("").trim().to_owned())
        .unwrap();
    assert!(token.len() >= 6, "token read from screen: {token:?}");
    secrets.push(token);
    c.key(KeyCode::Enter);

    // A push, approved: its state token is a secret.
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
    secrets.push(c.ctl().pushes()[0].state_token.clone());
    c.key(KeyCode::Char('a'));
    c.wait_text("✓ Caller checked").await;

    // Remove the SMS device again.
    c.key(KeyCode::Char('/'));
    c.type_text("carissa");
    c.key(KeyCode::Enter);
    c.wait_text("> Carissa Moore").await;
    c.key(KeyCode::Enter);
    c.wait_text("\"Desk\"").await;
    c.key(KeyCode::Char('d'));
    c.wait_text("Remove device").await;
    c.key(KeyCode::Right);
    c.key(KeyCode::Enter);
    c.wait_text("Removed").await;
    assert!(c.ctl().devices(CARISSA).is_empty());

    // The access token: the tenant hands the same one to the same credentials.
    let http = reqwest::Client::new();
    let grant: serde_json::Value = http
        .post(format!("{}/auth/oauth2/v2/token", c.sim.base_url()))
        .basic_auth(
            sim::DEMO_MANAGE_CLIENT_ID,
            Some(sim::DEMO_MANAGE_CLIENT_SECRET),
        )
        .json(&serde_json::json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    secrets.push(grant["access_token"].as_str().unwrap().to_owned());
    secrets.extend(c.ctl().outbox().into_iter().map(|m| m.code));
    secrets.push("WRONG1".into());
    c.quit().await;

    let audit = std::fs::read_to_string(&audit_path).unwrap();
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(log.contains("request"), "the log records requests:\n{log}");
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
    // One line per attempt and outcome, with who, where and what.
    let entries = read_entries(&audit_path).unwrap();
    use mfadesk::audit::{AuditAction as A, AuditOutcome as O};
    for (action, outcome) in [
        (A::Enroll, O::Attempt),
        (A::Enroll, O::Success),
        (A::CallerCheck, O::Success),
        (A::Verify, O::Failure),
        (A::Verify, O::Success),
        (A::MfaToken, O::Success),
        (A::Remove, O::Attempt),
        (A::Remove, O::Success),
    ] {
        assert!(
            entries
                .iter()
                .any(|e| e.action == action && e.outcome == outcome),
            "missing {action:?} {outcome:?}"
        );
    }
    let wrong = entries.iter().find(|e| e.outcome == O::Failure).unwrap();
    assert_eq!(wrong.http_status, Some(401));
    assert!(wrong.request_id.is_some(), "request id recorded");
    assert!(
        entries
            .iter()
            .all(|e| e.operator == "agent7" && e.user_id > 0)
    );
    assert!(
        entries
            .iter()
            .filter(|e| e.action == A::Remove)
            .all(|e| e.device_id.is_some())
    );
    // Every settled change carries the answer's status and X-Request-Id.
    for e in entries.iter().filter(|e| e.outcome == O::Success) {
        assert!(e.http_status.is_some() && e.request_id.is_some(), "{e:?}");
    }
    let enrolled = entries
        .iter()
        .find(|e| e.action == A::Enroll && e.outcome == O::Success)
        .unwrap();
    assert!(
        enrolled.device_id.is_some(),
        "the new device's id is recorded"
    );
    // Every attempt has exactly one outcome.
    for action in [A::Enroll, A::Trigger, A::Verify, A::Remove, A::MfaToken] {
        let count = |attempt: bool| {
            entries
                .iter()
                .filter(|e| e.action == action && (e.outcome == O::Attempt) == attempt)
                .count()
        };
        assert_eq!(count(true), count(false), "{action:?}");
    }
}
