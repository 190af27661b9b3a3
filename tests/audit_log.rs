//! The audit trail: JSON lines, every field, appends, no interleaving, no secrets.

use std::path::Path;

use chrono::{DateTime, TimeZone, Utc};
use mfadesk::api::{ApiError, ErrorKind};
use mfadesk::audit::{
    AuditAction, AuditContext, AuditEntry, AuditError, AuditLog, AuditOutcome, CallerCheckRef,
    read_entries,
};

const FIELDS: &[&str] = &[
    "time",
    "operator",
    "profile",
    "base_url",
    "user_id",
    "user_email",
    "user_name",
    "device_id",
    "device_name",
    "factor",
    "action",
    "outcome",
    "http_status",
    "request_id",
    "reason",
    "message",
    "method",
    "caller_check",
];

fn ctx() -> AuditContext {
    AuditContext::new("jdoe", Some("prod".into()), "https://acme.onelogin.com")
}

fn full_entry() -> AuditEntry {
    ctx()
        .entry(36216766, AuditAction::Remove, AuditOutcome::Success)
        .user_email("kelly@acme.com")
        .device_id("525509")
        .factor("OneLogin SMS")
        .http_status(200)
        .request_id("req-abc-123")
        .reason("INC-42 lost phone")
        .message("removed")
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn each_entry_is_one_json_line_with_every_field() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/dir/audit.jsonl");
    let mut log = AuditLog::open(&path).unwrap();
    log.record(full_entry()).unwrap();
    log.record(ctx().entry(7, AuditAction::MfaToken, AuditOutcome::Attempt))
        .unwrap();

    let lines = lines(&path);
    assert_eq!(lines.len(), 2);
    let first: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
    let obj = first.as_object().unwrap();
    for field in FIELDS {
        assert!(obj.contains_key(*field), "missing {field} in {}", lines[0]);
    }
    assert_eq!(obj.len(), FIELDS.len(), "{}", lines[0]);
    assert_eq!(first["operator"], "jdoe");
    assert_eq!(first["profile"], "prod");
    assert_eq!(first["base_url"], "https://acme.onelogin.com");
    assert_eq!(first["user_id"], 36216766);
    assert_eq!(first["user_email"], "kelly@acme.com");
    assert_eq!(first["device_id"], "525509");
    assert_eq!(first["factor"], "OneLogin SMS");
    assert_eq!(first["action"], "remove");
    assert_eq!(first["outcome"], "success");
    assert_eq!(first["http_status"], 200);
    assert_eq!(first["request_id"], "req-abc-123");
    assert_eq!(first["reason"], "INC-42 lost phone");
    assert_eq!(first["message"], "removed");

    // Absent values are written as null, so every line has the same keys.
    let second: serde_json::Value = serde_json::from_str(&lines[1]).unwrap();
    assert_eq!(second.as_object().unwrap().len(), FIELDS.len());
    assert_eq!(second["action"], "mfa_token");
    assert_eq!(second["outcome"], "attempt");
    assert!(second["user_email"].is_null());
    assert!(second["http_status"].is_null());
}

#[test]
fn time_is_rfc3339_utc() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let mut log = AuditLog::open(&path).unwrap();
    let fixed = Utc.with_ymd_and_hms(2024, 5, 6, 7, 8, 9).unwrap();
    log.record(ctx().entry_at(fixed, 1, AuditAction::Verify, AuditOutcome::Failure))
        .unwrap();
    log.record(full_entry()).unwrap();

    let lines = lines(&path);
    let v: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
    assert_eq!(v["time"], "2024-05-06T07:08:09.000Z");
    for line in &lines {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let t = v["time"].as_str().unwrap();
        assert!(t.ends_with('Z'), "{t}");
        DateTime::parse_from_rfc3339(t).unwrap();
    }
}

#[test]
fn action_and_outcome_names() {
    let names = |a: AuditAction| serde_json::to_value(a).unwrap();
    assert_eq!(names(AuditAction::Enroll), "enroll");
    assert_eq!(names(AuditAction::Trigger), "trigger");
    assert_eq!(names(AuditAction::Verify), "verify");
    assert_eq!(names(AuditAction::Remove), "remove");
    assert_eq!(names(AuditAction::MfaToken), "mfa_token");
    let out = |o: AuditOutcome| serde_json::to_value(o).unwrap();
    assert_eq!(out(AuditOutcome::Attempt), "attempt");
    assert_eq!(out(AuditOutcome::Success), "success");
    assert_eq!(out(AuditOutcome::Pending), "pending");
    assert_eq!(out(AuditOutcome::Failure), "failure");
    assert_eq!(out(AuditOutcome::Refused), "refused");
    assert_eq!(AuditAction::MfaToken.as_str(), "mfa_token");
    assert_eq!(AuditOutcome::Refused.as_str(), "refused");
}

#[test]
fn reopening_appends_and_session_entries_are_per_log() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    {
        let mut log = AuditLog::open(&path).unwrap();
        log.record(full_entry()).unwrap();
        log.record(full_entry()).unwrap();
        assert_eq!(log.session_entries().len(), 2);
    }
    let mut log = AuditLog::open(&path).unwrap();
    assert!(log.session_entries().is_empty());
    log.record(ctx().entry(9, AuditAction::Enroll, AuditOutcome::Pending))
        .unwrap();
    assert_eq!(log.session_entries().len(), 1);
    assert_eq!(log.session_entries()[0].user_id, 9);

    let all = read_entries(&path).unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(all[0], full_entry_like(&all[0]));
    assert_eq!(all[2].action, AuditAction::Enroll);
}

/// `full_entry()` with the recorded entry's time (the time is "now" when built).
fn full_entry_like(recorded: &AuditEntry) -> AuditEntry {
    AuditEntry {
        time: recorded.time,
        ..full_entry()
    }
}

#[test]
fn round_trip_preserves_the_entry_to_the_millisecond() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let fixed = Utc.with_ymd_and_hms(2030, 1, 2, 3, 4, 5).unwrap();
    let entry = AuditEntry {
        time: fixed,
        ..full_entry()
    };
    AuditLog::open(&path)
        .unwrap()
        .record(entry.clone())
        .unwrap();
    assert_eq!(read_entries(&path).unwrap(), vec![entry]);
}

#[cfg(unix)]
#[test]
fn the_file_is_private_to_its_owner() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    AuditLog::open(&path).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}

#[test]
fn concurrent_writers_never_interleave_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    const WRITERS: usize = 4;
    const PER_WRITER: usize = 50;
    std::thread::scope(|scope| {
        for w in 0..WRITERS {
            let path = &path;
            scope.spawn(move || {
                // Each writer has its own handle, like separate mfadesk processes.
                let mut log = AuditLog::open(path).unwrap();
                for i in 0..PER_WRITER {
                    let long_reason = format!("writer {w} entry {i} {}", "x".repeat(2000));
                    log.record(
                        ctx()
                            .entry(
                                (w * 1000 + i) as i64,
                                AuditAction::Trigger,
                                AuditOutcome::Attempt,
                            )
                            .reason(long_reason),
                    )
                    .unwrap();
                }
            });
        }
    });
    let lines = lines(&path);
    assert_eq!(lines.len(), WRITERS * PER_WRITER);
    let mut ids: Vec<i64> = lines
        .iter()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("every line is whole JSON");
            v["user_id"].as_i64().unwrap()
        })
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), WRITERS * PER_WRITER);
}

#[test]
fn registered_secrets_never_reach_the_file_or_the_pane() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let secret = "audit-test-state-token-9f8e7d";
    mfadesk::logging::register_secret(secret);
    let mut log = AuditLog::open(&path).unwrap();
    let err = ApiError {
        kind: ErrorKind::BadRequest,
        status: Some(400),
        message: format!("bad state_token {secret}"),
        request_id: Some("rid-1".into()),
    };
    log.record(
        ctx()
            .entry(5, AuditAction::Verify, AuditOutcome::Attempt)
            .failure(&err)
            .reason(format!("pasted {secret} by mistake")),
    )
    .unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    for line in text.lines() {
        assert!(!line.contains(secret), "{line}");
    }
    let shown = &log.session_entries()[0];
    assert_eq!(shown.outcome, AuditOutcome::Failure);
    assert_eq!(shown.http_status, Some(400));
    assert_eq!(shown.request_id.as_deref(), Some("rid-1"));
    assert!(!shown.message.as_deref().unwrap().contains(secret));
    assert!(!shown.reason.as_deref().unwrap().contains(secret));
}

#[test]
fn in_memory_log_keeps_entries_without_a_file() {
    for mut log in [AuditLog::in_memory(), AuditLog::disabled()] {
        assert!(log.path().is_none());
        assert!(!log.is_persistent());
        log.record(full_entry()).unwrap();
        assert_eq!(log.session_entries().len(), 1);
        assert!(!log.session_entries_with_status()[0].persisted);
    }
}

#[cfg(unix)]
#[test]
fn write_failure_is_reported_and_the_entry_is_kept() {
    // /dev/full is refused at open (not a regular file); the trail then fails every write.
    if !Path::new("/dev/full").exists() {
        return;
    }
    let open = AuditLog::open("/dev/full").unwrap_err();
    assert!(open.to_string().contains("character device"), "{open}");
    let mut log = AuditLog::unavailable(&open);
    let err = log.record(full_entry()).unwrap_err();
    assert!(matches!(err, AuditError::Unavailable(_)), "{err:?}");
    assert!(err.to_string().contains("/dev/full"));
    assert_eq!(log.session_entries().len(), 1);
    assert!(!log.session_entries_with_status()[0].persisted);
    assert!(log.last_error().is_some());
    log.clear_error();
    assert!(log.last_error().is_none());
}

#[test]
fn unopenable_path_is_an_open_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plain-file");
    std::fs::write(&file, "").unwrap();
    // A path below a regular file cannot be created.
    let err = AuditLog::open(file.join("audit.jsonl")).unwrap_err();
    assert!(matches!(err, AuditError::Open { .. }), "{err:?}");
    assert!(err.to_string().contains("--audit-log"));
}

#[test]
fn caller_check_refs_have_their_exact_wire_forms() {
    let at = Utc.with_ymd_and_hms(2030, 1, 2, 3, 4, 5).unwrap();
    let line = |check: CallerCheckRef| {
        let json = ctx()
            .entry_at(at, 7, AuditAction::Remove, AuditOutcome::Attempt)
            .caller_check(check)
            .to_json_line()
            .unwrap();
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        value["caller_check"].clone()
    };
    assert_eq!(line(CallerCheckRef::None), serde_json::json!("none"));
    assert_eq!(
        line(CallerCheckRef::Success {
            at,
            device_id: "525509".into()
        }),
        serde_json::json!({"outcome": "success", "at": "2030-01-02T03:04:05.000Z", "device_id": "525509"})
    );
    assert_eq!(
        line(CallerCheckRef::Overridden {
            reason: "manager approval in INC-1234".into()
        }),
        serde_json::json!({"outcome": "overridden", "reason": "manager approval in INC-1234"})
    );
}

#[test]
fn caller_check_lines_round_trip_and_name_their_action_and_method() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let at = Utc.with_ymd_and_hms(2030, 1, 2, 3, 4, 5).unwrap();
    let check = ctx()
        .entry_at(at, 7, AuditAction::CallerCheck, AuditOutcome::Success)
        .device_id("525509")
        .factor("OneLogin Protect")
        .method("push");
    let overridden = ctx()
        .entry_at(at, 7, AuditAction::CallerCheck, AuditOutcome::Overridden)
        .reason("manager approval in INC-1234");
    let change = ctx()
        .entry_at(at, 7, AuditAction::Remove, AuditOutcome::Success)
        .caller_check(CallerCheckRef::Success {
            at,
            device_id: "525509".into(),
        });
    let mut log = AuditLog::open(&path).unwrap();
    for entry in [&check, &overridden, &change] {
        log.record(entry.clone()).unwrap();
    }
    let raw = lines(&path);
    let first: serde_json::Value = serde_json::from_str(&raw[0]).unwrap();
    assert_eq!(first["action"], "caller_check");
    assert_eq!(first["method"], "push");
    assert_eq!(first["caller_check"], serde_json::Value::Null);
    let second: serde_json::Value = serde_json::from_str(&raw[1]).unwrap();
    assert_eq!(second["outcome"], "overridden");
    assert_eq!(
        read_entries(&path).unwrap(),
        vec![check, overridden, change]
    );
}

#[test]
fn lines_written_before_caller_checks_still_parse() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let old = r#"{"time":"2030-01-02T03:04:05.000Z","operator":"jdoe","profile":null,"base_url":"https://acme.onelogin.com","user_id":7,"user_email":null,"device_id":"1","factor":null,"action":"remove","outcome":"success","http_status":200,"request_id":null,"reason":null,"message":null}"#;
    std::fs::write(&path, format!("{old}\n")).unwrap();
    let entries = read_entries(&path).unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].method, None);
    assert_eq!(entries[0].caller_check, None);
}

#[test]
fn an_override_reason_is_redacted_in_the_change_line() {
    mfadesk::logging::register_secret("abcdef0123456789abcdef");
    let line = ctx()
        .entry(7, AuditAction::Remove, AuditOutcome::Attempt)
        .caller_check(CallerCheckRef::Overridden {
            reason: "INC-1 access_token=abcdef0123456789abcdef".into(),
        })
        .to_json_line()
        .unwrap();
    assert!(!line.contains("abcdef0123456789abcdef"), "{line}");
}
