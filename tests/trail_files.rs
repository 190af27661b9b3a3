//! The trail and the log are regular files, written a whole line at a time: a device, a FIFO
//! or a socket is refused at start with the reason; a torn last line never swallows the next.

#![cfg(unix)]

use std::path::Path;

use mfadesk::audit::{AuditAction, AuditContext, AuditLog, AuditOutcome, read_trail};

fn entry() -> mfadesk::audit::AuditEntry {
    AuditContext::new("jdoe", None, "https://acme.onelogin.com").entry(
        7,
        AuditAction::Remove,
        AuditOutcome::Attempt,
    )
}

fn refusal(path: &Path) -> String {
    match AuditLog::open(path) {
        Ok(_) => panic!("{} was accepted as a trail", path.display()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn devices_fifos_and_sockets_are_refused_at_start_with_the_reason() {
    for dev in ["/dev/null", "/dev/full", "/dev/zero"] {
        if Path::new(dev).exists() {
            let why = refusal(Path::new(dev));
            assert!(
                why.contains(dev)
                    && why.contains("character device")
                    && why.contains("regular file"),
                "{why}"
            );
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("trail.fifo");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path; mkfifo only creates the node.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    // Opened without blocking: no reader on the other end does not hang the start.
    let why = refusal(&fifo);
    assert!(why.contains("FIFO"), "{why}");
    assert!(
        read_trail(&fifo).is_err(),
        "a reader refuses it too, without hanging"
    );

    let sock = dir.path().join("trail.sock");
    let _listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    let why = refusal(&sock);
    assert!(
        why.contains("socket") || why.contains("No such device"),
        "{why}"
    );

    // The log refuses them the same way.
    let log = mfadesk::logging::init(Path::new("/dev/null"), "info");
    assert!(log.is_err(), "the log is not a device either");
}

#[test]
fn a_torn_last_line_gets_a_newline_before_the_next_entry() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    std::fs::write(
        &path,
        "{\"time\":\"2030-01-02T10:00:00.000Z\",\"operator\":\"jd",
    )
    .unwrap();
    let mut log = AuditLog::open(&path).unwrap();
    log.record(entry()).unwrap();
    log.record(entry()).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(text.ends_with('\n'));
    let (entries, skipped) = read_trail(&path).unwrap();
    assert_eq!((entries.len(), skipped), (2, 1));
}
