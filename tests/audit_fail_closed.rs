//! The audit trail fails closed: a change whose attempt line cannot be written is not sent,
//! and the agent is told why and where. The trail and the log never follow a symbolic link,
//! and a file others can read is tightened to 0600 with a warning.

mod support;

use std::path::{Path, PathBuf};

use crossterm::event::KeyCode;
use mfadesk::app::{AuditResult, Cmd};
use mfadesk::audit::{AuditContext, AuditLog};
use mfadesk::console::FileAudit;
use mfadesk::logging;
use mfadesk::sim::RouteKind;
use support::{Console, Options, open_user};

const KELLY: i64 = 36216766;

/// A trail at `path`, as the console opens it: a broken one refuses every write.
fn trail(path: &Path) -> FileAudit {
    let log = match AuditLog::open(path) {
        Ok(log) => log,
        Err(e) => AuditLog::unavailable(&e),
    };
    FileAudit {
        log,
        context: AuditContext::new("agent", None, "http://127.0.0.1"),
    }
}

fn open_error(path: &Path) -> String {
    match AuditLog::open(path) {
        Ok(_) => panic!("{} should not open", path.display()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_directory_is_not_an_audit_trail() {
    let dir = tempfile::tempdir().unwrap();
    let e = open_error(dir.path());
    assert!(e.contains(&dir.path().display().to_string()), "{e}");
}

#[test]
fn a_path_under_a_regular_file_cannot_be_opened() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plain");
    std::fs::write(&file, "x").unwrap();
    let e = open_error(&file.join("audit.jsonl"));
    assert!(e.contains("plain"), "{e}");
}

#[test]
fn an_unwritable_path_cannot_be_opened() {
    // Nothing can be created under /proc, not even by root.
    let e = open_error(Path::new("/proc/mfadesk-test/audit.jsonl"));
    assert!(e.contains("/proc/mfadesk-test"), "{e}");
}

#[cfg(unix)]
#[test]
fn a_symlinked_trail_is_refused_and_its_target_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("elsewhere");
    std::fs::write(&target, "precious\n").unwrap();
    let link = dir.path().join("audit.jsonl");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let e = open_error(&link);
    assert!(e.contains("symbolic link"), "{e}");
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "precious\n");
    // A dangling link is refused too (it would otherwise create its target).
    let dangling = dir.path().join("dangling");
    std::os::unix::fs::symlink(dir.path().join("nowhere"), &dangling).unwrap();
    assert!(open_error(&dangling).contains("symbolic link"));
    assert!(!dir.path().join("nowhere").exists());
}

#[cfg(unix)]
#[test]
fn a_symlinked_log_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("elsewhere");
    std::fs::write(&target, "").unwrap();
    let link = dir.path().join("mfadesk.log");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let e = logging::RedactingMakeWriter::open(&link).unwrap_err();
    assert!(e.to_string().contains("symbolic link"), "{e}");
}

#[cfg(unix)]
#[test]
fn a_readable_existing_trail_is_set_to_0600_with_a_warning() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    std::fs::write(&path, "").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    AuditLog::open(&path).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let warnings = logging::take_open_warnings();
    assert!(
        warnings
            .iter()
            .any(|w| w.contains(&path.display().to_string()) && w.contains("0600")),
        "{warnings:?}"
    );
}

/// Closes every dialog with Esc.
async fn close_all(c: &mut Console) {
    for _ in 0..4 {
        c.key(KeyCode::Esc);
    }
    c.wait_for("dialogs closed", |s| !s.contains("audit trail cannot"))
        .await;
}

/// Opens Kelly and removes her selected device with `y`; returns the screen after the answer.
async fn try_remove(c: &mut Console) -> String {
    open_user(c, "kelly", "Kelly Slater").await;
    c.key(KeyCode::Tab);
    c.key(KeyCode::Char('d'));
    c.wait_text("Remove device").await;
    c.key(KeyCode::Right);
    c.key(KeyCode::Enter);
    c.wait_for("the refusal", |s| {
        s.contains("audit trail cannot be written")
    })
    .await
}

async fn remove_is_refused_with(path: PathBuf) {
    let mut c = Console::start_opts(
        Options {
            audit: Some(Box::new(trail(&path))),
            ..Options::default()
        },
        |_| {},
    )
    .await;
    let before_devices = c.ctl().devices(KELLY).len();
    let s = try_remove(&mut c).await;
    // The dialog says where (its start: a long path may wrap).
    let shown: String = path.display().to_string().chars().take(16).collect();
    assert!(s.contains(&shown), "the dialog says where:\n{s}");
    assert!(!s.contains("Removed"), "no success is shown:\n{s}");
    // The tenant never saw a DELETE, and still has every device.
    assert_eq!(c.ctl().request_count(RouteKind::Remove), 0);
    assert_eq!(c.ctl().devices(KELLY).len(), before_devices);
    close_all(&mut c).await;
    c.quit().await;
}

#[tokio::test]
async fn a_remove_is_not_sent_when_the_trail_is_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    remove_is_refused_with(dir.path().to_owned()).await;
}

#[tokio::test]
async fn a_remove_is_not_sent_when_the_trail_is_under_a_regular_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("f");
    std::fs::write(&file, "").unwrap();
    remove_is_refused_with(file.join("audit.jsonl")).await;
}

#[cfg(unix)]
#[tokio::test]
async fn a_remove_is_not_sent_when_the_trail_is_a_symlink() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("audit.jsonl");
    std::os::unix::fs::symlink(dir.path().join("target"), &link).unwrap();
    remove_is_refused_with(link).await;
}

/// An audit sink whose writes fail the way a full disk does.
struct FullDisk;

impl mfadesk::runtime::AuditSink for FullDisk {
    fn record(&mut self, _: &mfadesk::app::AuditNote) -> Result<(), String> {
        Err("cannot write to audit log /var/log/mfadesk/audit.jsonl: No space left on device (os error 28)".into())
    }
}

#[tokio::test]
async fn a_token_is_not_issued_when_the_disk_is_full() {
    let mut c = Console::start_opts(
        Options {
            audit: Some(Box::new(FullDisk)),
            ..Options::default()
        },
        |_| {},
    )
    .await;
    open_user(&mut c, "kelly", "Kelly Slater").await;
    c.key(KeyCode::Char('m'));
    c.wait_text("Issue a temporary MFA token").await;
    c.key(KeyCode::Enter);
    let s = c
        .wait_for("the refusal", |s| {
            s.contains("audit trail cannot be written")
        })
        .await;
    assert!(s.contains("No space left"), "{s}");
    assert!(!s.contains("Shown once"), "{s}");
    assert_eq!(c.ctl().request_count(RouteKind::MfaToken), 0);
    close_all(&mut c).await;
    c.quit().await;
}

#[tokio::test]
async fn a_working_trail_lets_the_remove_through() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let mut c = Console::start_opts(
        Options {
            audit: Some(Box::new(trail(&path))),
            ..Options::default()
        },
        |_| {},
    )
    .await;
    open_user(&mut c, "kelly", "Kelly Slater").await;
    c.key(KeyCode::Tab);
    c.key(KeyCode::Char('d'));
    c.wait_text("Remove device").await;
    c.key(KeyCode::Right);
    c.key(KeyCode::Enter);
    c.wait_text("Removed").await;
    assert_eq!(c.ctl().request_count(RouteKind::Remove), 1);
    let entries = mfadesk::audit::read_entries(&path).unwrap();
    assert_eq!(entries[0].outcome, AuditResult::Attempt);
    c.quit().await;
}

/// The runtime refuses the request that follows an unwritten attempt, so update must emit
/// the attempt line before the request it covers.
#[test]
fn update_records_the_attempt_before_the_request() {
    use mfadesk::api::{DeviceId, OtpDevice, User};
    use mfadesk::app::{App, Focus, Msg, TenantInfo, UserView, update};
    let mut app = App::new(TenantInfo::default(), chrono::Utc::now());
    let user = User {
        id: KELLY,
        firstname: Some("Kelly".into()),
        ..User::default()
    };
    let device = OtpDevice {
        id: DeviceId("1".into()),
        active: true,
        default: true,
        needs_trigger: true,
        auth_factor_name: "OneLogin SMS".into(),
        type_display_name: None,
        user_display_name: None,
        phone_number: None,
        state_token: None,
    };
    app.user = Some(UserView {
        user,
        devices: Some(vec![device]),
        factors: Some(Vec::new()),
        devices_error: None,
        factors_error: None,
        device_sel: 0,
        factor_sel: 0,
        select_after_load: None,
    });
    app.focus = Focus::Devices;
    let mut cmds = Vec::new();
    for code in [KeyCode::Char('d'), KeyCode::Right, KeyCode::Enter] {
        cmds.extend(update(
            &mut app,
            Msg::Key(crossterm::event::KeyEvent::from(code)),
        ));
    }
    let attempt = cmds
        .iter()
        .position(|c| matches!(c, Cmd::Audit(n) if n.outcome == AuditResult::Attempt));
    let request = cmds.iter().position(|c| matches!(c, Cmd::Request(..)));
    assert!(
        matches!((attempt, request), (Some(a), Some(r)) if a < r),
        "{cmds:?}"
    );
}

#[cfg(unix)]
#[tokio::test]
async fn a_remove_is_not_sent_when_the_disk_is_full() {
    // /dev/full (the full-disk drill) is refused at start: not a regular file.
    let mut c = Console::start_opts(
        Options {
            audit: Some(Box::new(trail(Path::new("/dev/full")))),
            ..Options::default()
        },
        |_| {},
    )
    .await;
    let before = c.ctl().devices(KELLY).len();
    let s = try_remove(&mut c).await;
    assert!(s.contains("/dev/full"), "{s}");
    assert_eq!(c.ctl().request_count(RouteKind::Remove), 0);
    assert_eq!(c.ctl().devices(KELLY).len(), before);
    close_all(&mut c).await;
    c.quit().await;
}

#[cfg(unix)]
#[test]
fn a_fifo_is_refused_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("audit.jsonl");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    if !made.is_ok_and(|s| s.success()) {
        return;
    }
    open_error(&fifo);
}

#[tokio::test]
async fn an_sms_is_not_sent_when_the_disk_is_full() {
    let mut c = Console::start_opts(
        Options {
            audit: Some(Box::new(FullDisk)),
            ..Options::default()
        },
        |_| {},
    )
    .await;
    open_user(&mut c, "kelly", "Kelly Slater").await;
    c.key(KeyCode::Tab);
    c.key(KeyCode::Char('t'));
    c.wait_text("Send to").await;
    c.key(KeyCode::Enter);
    let s = c
        .wait_for("the refusal", |s| {
            s.contains("audit trail cannot be written")
        })
        .await;
    assert!(s.contains("/var/log/mfadesk"), "{s}");
    assert_eq!(c.ctl().request_count(RouteKind::Trigger), 0);
    assert!(c.ctl().outbox().is_empty(), "no SMS went out");
    close_all(&mut c).await;
    c.quit().await;
}
