//! A caller check read back from the trail counts only when it is whole (attempt and success
//! with the same id, the same operator and tenant, a device of the user active now, within the
//! minutes); the lookup reads the trail from its end and stops at the window, so a huge trail
//! costs what a small one does; malformed lines are skipped and counted.

use std::io::Write;

use chrono::{DateTime, Duration, TimeZone, Utc};
use mfadesk::audit::{
    AuditAction, AuditContext, AuditEntry, AuditOutcome, read_recent, read_trail, skipped_note,
};
use mfadesk::policy::{TrailQuery, whole_check};

const TENANT: &str = "https://acme.onelogin.com";

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2030, 1, 2, 12, 0, 0).unwrap()
}

fn line(
    operator: &str,
    at: DateTime<Utc>,
    outcome: AuditOutcome,
    id: Option<&str>,
    device: Option<&str>,
) -> AuditEntry {
    let mut e = AuditContext::new(operator, None, TENANT).entry_at(
        at,
        7,
        AuditAction::CallerCheck,
        outcome,
    );
    e.device_id = device.map(str::to_owned);
    e.factor = Some("Google Authenticator".into());
    e.method = Some("code".into());
    e.id = id.map(str::to_owned);
    e
}

/// A whole check by `operator` at `at` with `device`, oldest first.
fn pair(operator: &str, at: DateTime<Utc>, id: &str, device: &str) -> Vec<AuditEntry> {
    vec![
        line(
            operator,
            at - Duration::seconds(20),
            AuditOutcome::Attempt,
            Some(id),
            Some(device),
        ),
        line(operator, at, AuditOutcome::Success, Some(id), Some(device)),
    ]
}

fn query<'a>(active: &'a [String]) -> TrailQuery<'a> {
    TrailQuery {
        base_url: TENANT,
        operator: "jdoe",
        user_id: 7,
        active_devices: Some(active),
        now: now(),
        minutes: 15,
    }
}

fn found(oldest_first: &[AuditEntry], active: &[String]) -> bool {
    whole_check(oldest_first.iter().rev(), &query(active)).is_some()
}

#[test]
fn only_a_whole_check_by_this_operator_with_an_active_device_counts() {
    let active = vec!["1004".to_owned()];
    let at = now() - Duration::minutes(5);
    assert!(found(&pair("jdoe", at, "a1", "1004"), &active));

    // A lone success line.
    let lone = vec![line(
        "jdoe",
        at,
        AuditOutcome::Success,
        Some("a1"),
        Some("1004"),
    )];
    assert!(!found(&lone, &active));
    // A success whose attempt has another id, or none.
    let mut mismatched = pair("jdoe", at, "a1", "1004");
    mismatched[0].id = Some("other".into());
    assert!(!found(&mismatched, &active));
    let mut no_ids = pair("jdoe", at, "a1", "1004");
    no_ids[0].id = None;
    no_ids[1].id = None;
    assert!(!found(&no_ids, &active));
    // Another operator's check.
    assert!(!found(&pair("mallory", at, "a1", "1004"), &active));
    // An attempt by another operator with the same id.
    let mut forged = pair("jdoe", at, "a1", "1004");
    forged[0].operator = "mallory".into();
    assert!(!found(&forged, &active));
    // A check naming no device.
    let mut deviceless = pair("jdoe", at, "a1", "1004");
    deviceless[0].device_id = None;
    deviceless[1].device_id = None;
    assert!(!found(&deviceless, &active));
    // A device that is not active now (removed, or pending).
    assert!(!found(&pair("jdoe", at, "a1", "2002"), &active));
    // Too old.
    assert!(!found(
        &pair("jdoe", now() - Duration::minutes(16), "a1", "1004"),
        &active
    ));
    // Another tenant.
    let mut elsewhere = pair("jdoe", at, "a1", "1004");
    for e in &mut elsewhere {
        e.base_url = "https://other.onelogin.com".into();
    }
    assert!(!found(&elsewhere, &active));
    // A failure after the success.
    let mut failed_after = pair("jdoe", at, "a1", "1004");
    failed_after.push(line(
        "jdoe",
        at + Duration::minutes(1),
        AuditOutcome::Failure,
        Some("a2"),
        Some("1004"),
    ));
    assert!(!found(&failed_after, &active));
}

fn write_trail(path: &std::path::Path, old_lines: usize, tail: &[AuditEntry], torn: bool) {
    let file = std::fs::File::create(path).unwrap();
    let mut w = std::io::BufWriter::new(file);
    let old = line(
        "jdoe",
        now() - Duration::days(30),
        AuditOutcome::Success,
        Some("old"),
        Some("1004"),
    );
    let old_json = serde_json::to_string(&old).unwrap();
    for _ in 0..old_lines {
        writeln!(w, "{old_json}").unwrap();
    }
    if torn {
        // A torn write, then a line too long for any reader to hold.
        write!(w, "{{\"time\":\"2030-01-02T11:59").unwrap();
        writeln!(w).unwrap();
        writeln!(w, "{}", "x".repeat(200 * 1024)).unwrap();
    }
    for e in tail {
        writeln!(w, "{}", serde_json::to_string(e).unwrap()).unwrap();
    }
    w.flush().unwrap();
}

/// A trail of ~40 MB costs the lookup the same bytes as a small one: it reads from the end
/// and stops at the window (the test's bound is structural: bytes read, not time).
#[test]
fn the_lookup_reads_from_the_end_and_stops_at_the_window() {
    let dir = tempfile::tempdir().unwrap();
    let active = vec!["1004".to_owned()];
    let tail = pair("jdoe", now() - Duration::minutes(2), "a1", "1004");
    let since = query(&active).oldest_relevant();

    let small = dir.path().join("small.jsonl");
    write_trail(&small, 10, &tail, false);
    let large = dir.path().join("large.jsonl");
    write_trail(&large, 120_000, &tail, false);
    let large_size = std::fs::metadata(&large).unwrap().len();
    assert!(large_size > 30_000_000, "{large_size}");

    let s = read_recent(&small, since).unwrap();
    let l = read_recent(&large, since).unwrap();
    assert_eq!(s.entries.len(), 2);
    assert_eq!(
        l.entries, s.entries,
        "the same recent entries, newest first"
    );
    assert!(whole_check(l.entries.iter(), &query(&active)).is_some());
    assert!(
        l.bytes_read <= 128 * 1024,
        "a large trail read {} bytes of {large_size}",
        l.bytes_read
    );
    assert_eq!(l.skipped, 0);
}

#[test]
fn torn_and_overlong_lines_are_skipped_and_counted_by_every_reader() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("torn.jsonl");
    let tail = pair("jdoe", now() - Duration::minutes(2), "a1", "1004");
    write_trail(&path, 3, &tail, true);
    let (all, skipped) = read_trail(&path).unwrap();
    assert_eq!(all.len(), 5);
    assert_eq!(skipped, 2);
    assert_eq!(
        skipped_note(skipped).as_deref(),
        Some("2 unreadable lines skipped")
    );
    assert_eq!(
        skipped_note(1).as_deref(),
        Some("1 unreadable line skipped")
    );
    assert_eq!(skipped_note(0), None);
    // From the end, to the start of the file: the same lines, the same two skipped.
    let recent = read_recent(&path, now() - Duration::days(365)).unwrap();
    assert_eq!(recent.entries.len(), 5);
    assert_eq!(recent.skipped, 2);
    let newest: Vec<_> = recent.entries.iter().rev().cloned().collect();
    assert_eq!(newest, all);
}
