//! Production safety end to end: read-only mode, a read-only credential, and a whole session
//! after which neither the audit trail nor the diagnostic log holds a secret.

mod support;

use crossterm::event::KeyCode;
use mfadesk::sim::{self, RouteKind};
use support::{Console, Options, line_with, open_user};

const WRITES: [RouteKind; 5] = [
    RouteKind::Enroll,
    RouteKind::Trigger,
    RouteKind::Verify,
    RouteKind::Remove,
    RouteKind::MfaToken,
];

fn writes(c: &Console) -> u64 {
    WRITES.iter().map(|r| c.ctl().request_count(*r)).sum()
}

#[tokio::test]
async fn read_only_mode_refuses_every_change_and_hides_it() {
    let mut c = Console::start_with(Default::default(), |app| {
        app.tenant.read_only = true;
        // The scope probe is a trigger of no device; here it is not what is counted.
        app.credential_probed = true;
    })
    .await;
    open_user(&mut c, "kelly", "Kelly Slater").await;
    let s = c.screen();
    assert!(s.contains("READ-ONLY"), "badge shown");
    let footer = s.lines().last().unwrap_or_default().to_owned();
    for word in ["enroll", "trigger", "remove", "token"] {
        assert!(
            !footer.contains(word),
            "footer still offers {word}: {footer}"
        );
    }
    // …but `v` on the active device it has selected, a caller check, is offered.
    assert!(footer.contains("v verify"), "{footer}");
    // `v` on an active device is a caller check, which read-only mode allows (the
    // authenticator: nothing is sent until a code is typed).
    c.key(KeyCode::Char('j'));
    c.key(KeyCode::Char('v'));
    c.wait_text("Is the caller Kelly Slater").await;
    c.key(KeyCode::Esc);
    c.wait_for("check closed", |s| !s.contains("Is the caller"))
        .await;
    c.key(KeyCode::Char('k'));
    for (key, name) in [
        ('e', "enroll"),
        ('t', "trigger"),
        ('d', "remove"),
        ('m', "token"),
    ] {
        c.key(KeyCode::Char(key));
        c.wait_text(&format!("Read-only mode: {name} is disabled"))
            .await;
        let s = c.screen();
        for title in [
            "┌ Enroll",
            "┌ Trigger",
            "┌ Verify",
            "┌ Remove",
            "┌ Temporary",
        ] {
            assert!(!s.contains(title), "a dialog opened: {title}");
        }
    }
    // Enter on an available factor would enroll: refused too.
    c.key(KeyCode::Tab);
    c.key(KeyCode::Enter);
    c.key(KeyCode::Char('?'));
    let help = c.wait_text("Help").await;
    assert!(line_with(&help, "enroll a factor").is_some_and(|l| l.contains("(read-only)")));
    assert_eq!(writes(&c), 0, "no write reached the tenant");
    let notes = c.audit.0.lock().unwrap().clone();
    assert!(
        notes.len() >= 5
            && notes
                .iter()
                .all(|n| n.outcome == mfadesk::app::AuditResult::Refused)
    );
    let app = c.quit_from_dialog().await;
    assert!(app.dialogs.is_empty());
}

#[tokio::test]
async fn read_only_credential_is_explained_and_offers_read_only_mode() {
    let opts = Options {
        client_id: sim::DEMO_READ_CLIENT_ID,
        client_secret: sim::DEMO_READ_CLIENT_SECRET,
        ..Options::default()
    };
    let mut c = Console::start_opts(opts, |_| {}).await;
    open_user(&mut c, "kelly", "Kelly Slater").await;
    c.key(KeyCode::Char('d'));
    c.wait_text("Remove device").await;
    c.key(KeyCode::Right);
    c.key(KeyCode::Enter);
    let s = c.wait_text("Switch this session to read-only mode?").await;
    assert!(s.contains("Insufficient Permission"));
    c.key(KeyCode::Right);
    c.key(KeyCode::Enter);
    c.wait_text("READ-ONLY").await;
    c.wait_for("dialogs closed", |s| !s.contains("read-only mode? (y / n)"))
        .await;
    // The error that was hidden behind the offer is gone too; the device is still there.
    assert_eq!(c.ctl().devices(36216766).len(), 2);
    let notes = c.audit.0.lock().unwrap().clone();
    let failure = notes
        .iter()
        .find(|n| n.outcome == mfadesk::app::AuditResult::Failure)
        .expect("failure recorded");
    assert_eq!(failure.http_status, Some(401));
    assert!(
        failure
            .message
            .as_deref()
            .unwrap_or("")
            .contains("Insufficient Permission")
    );
    c.quit().await;
}

#[tokio::test]
async fn a_reason_is_asked_for_and_recorded_before_remove_and_token() {
    let mut c =
        Console::start_with(Default::default(), |app| app.tenant.require_reason = true).await;
    open_user(&mut c, "kelly", "Kelly Slater").await;
    c.key(KeyCode::Char('d'));
    c.wait_text("Ticket/reason").await;
    // Focus starts on Cancel; y without a reason is refused and moves to the reason field.
    c.key(KeyCode::Right);
    c.key(KeyCode::Enter);
    c.wait_text("asks for a ticket or reason").await;
    assert_eq!(writes(&c), 0, "nothing removed without a reason");
    c.type_text("INC-4711 lost phone");
    c.key(KeyCode::Enter);
    c.wait_text("Removed OneLogin SMS").await;
    c.key(KeyCode::Char('m'));
    c.wait_text("Issue a temporary MFA token").await;
    c.key(KeyCode::Enter);
    c.wait_text("asks for a ticket or reason").await;
    c.type_text("INC-4712");
    c.key(KeyCode::Enter);
    c.wait_text("Shown once").await;
    let notes = c.audit.0.lock().unwrap().clone();
    let reason_of = |kind| {
        notes
            .iter()
            .filter(|n| n.action == kind)
            .map(|n| n.reason.clone())
            .collect::<Vec<_>>()
    };
    use mfadesk::app::AuditKind;
    assert!(
        reason_of(AuditKind::Remove)
            .iter()
            .all(|r| r.as_deref() == Some("INC-4711 lost phone"))
    );
    assert!(
        reason_of(AuditKind::MfaToken)
            .iter()
            .all(|r| r.as_deref() == Some("INC-4712"))
    );
    assert_eq!(reason_of(AuditKind::Remove).len(), 2, "attempt and outcome");
    c.key(KeyCode::Enter);
    c.wait_for("token dialog closed", |s| !s.contains("Shown once"))
        .await;
    c.quit().await;
}
