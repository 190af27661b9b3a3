//! `mfadesk remove` on a terminal judges the caller check after the confirmation, just before
//! sending: a check that expires while the agent reads the question refuses the change; a
//! fresh one lets it through. The real binary in a pseudo-terminal, against a demo tenant on
//! loopback, with a trail written by the test.

#![cfg(unix)]

use std::io::{Read, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use mfadesk::audit::{AuditAction, AuditContext, AuditLog, AuditOutcome};
use mfadesk::sim::{DemoTenant, SimConfig};
use portable_pty::{CommandBuilder, PtySize, native_pty_system};

const KELLY: i64 = 36216766;
const KELLY_TOTP: &str = "525502";
const DEADLINE: Duration = Duration::from_secs(30);

/// Writes a whole check (attempt and success, one id) of Kelly's authenticator that succeeded
/// `age_secs` ago.
fn check_in_trail(trail: &Path, base_url: &str, id: &str, age_secs: i64) {
    let context = AuditContext::new("agent", Some("sim".into()), base_url);
    let at = Utc::now() - chrono::Duration::seconds(age_secs);
    let mut attempt = context
        .entry_at(
            at - chrono::Duration::seconds(5),
            KELLY,
            AuditAction::CallerCheck,
            AuditOutcome::Attempt,
        )
        .device_id(KELLY_TOTP)
        .factor("Google Authenticator")
        .method("code");
    attempt.id = Some(id.into());
    let mut success = attempt.clone().outcome(AuditOutcome::Success);
    success.time = at;
    let mut log = AuditLog::open(trail).unwrap();
    log.record(attempt).unwrap();
    log.record(success).unwrap();
}

/// Runs `mfadesk remove kellyslater 525502` in a pty; calls `before_yes` once the question is
/// on screen, answers y, and returns the exit code and the screen.
fn remove_on_a_terminal(home: &Path, base_url: &str, before_yes: impl FnOnce()) -> (u32, String) {
    let pair = native_pty_system()
        .openpty(PtySize {
            rows: 30,
            cols: 200,
            pixel_width: 0,
            pixel_height: 0,
        })
        .unwrap();
    let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_mfadesk"));
    cmd.env_clear();
    cmd.env("HOME", home);
    cmd.env("TERM", "xterm-256color");
    cmd.env("SIM_SECRET", "demo-manage-secret");
    cmd.args(["remove", "kellyslater", KELLY_TOTP, "--config"]);
    cmd.arg(home.join("config.toml"));
    cmd.arg("--audit-log");
    cmd.arg(home.join("audit.jsonl"));
    cmd.arg("--log-file");
    cmd.arg(home.join("mfadesk.log"));
    cmd.cwd(home);
    let _ = base_url;
    let mut child = pair.slave.spawn_command(cmd).unwrap();
    drop(pair.slave);
    let mut reader = pair.master.try_clone_reader().unwrap();
    let mut writer = pair.master.take_writer().unwrap();
    let seen = Arc::new(Mutex::new(String::new()));
    let sink = seen.clone();
    std::thread::spawn(move || {
        let _master = pair.master;
        let mut buf = [0u8; 4096];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    let start = Instant::now();
    while !seen.lock().unwrap().contains("[y/N]") {
        assert!(
            start.elapsed() < DEADLINE,
            "no question: {}",
            seen.lock().unwrap()
        );
        std::thread::park_timeout(Duration::from_millis(20));
    }
    before_yes();
    writer.write_all(b"y\r").unwrap();
    writer.flush().unwrap();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(start.elapsed() < DEADLINE, "did not exit");
        std::thread::park_timeout(Duration::from_millis(20));
    };
    // The last output may still be on its way.
    let settle = Instant::now();
    while settle.elapsed() < Duration::from_millis(300) {
        std::thread::park_timeout(Duration::from_millis(20));
    }
    let text = seen.lock().unwrap().clone();
    (status.exit_code(), text)
}

#[test]
fn a_check_that_expires_during_the_question_refuses_the_removal() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let tenant = rt
        .block_on(DemoTenant::start(SimConfig::default()))
        .unwrap();
    let control = tenant.control();
    let base_url = tenant.base_url();
    let home = tempfile::tempdir().unwrap();
    std::fs::write(
        home.path().join("config.toml"),
        format!(
            "default_profile = \"sim\"\noperator = \"agent\"\n[profiles.sim]\nbase_url = \"{base_url}\"\nclient_id = \"demo-manage\"\nclient_secret_env = \"SIM_SECRET\"\nrequire_caller_check = [\"remove\"]\ncaller_check_minutes = 1\n"
        ),
    )
    .unwrap();
    let trail = home.path().join("audit.jsonl");
    let has_totp = || {
        control
            .devices(KELLY)
            .iter()
            .any(|d| d.id.to_string() == KELLY_TOTP)
    };

    // Valid for 4 more seconds when the question appears; expired when it is answered.
    check_in_trail(&trail, &base_url, "c-expiring", 56);
    let expires = Utc::now() + chrono::Duration::seconds(4);
    let (code, text) = remove_on_a_terminal(home.path(), &base_url, || {
        let start = Instant::now();
        while Utc::now() <= expires + chrono::Duration::milliseconds(200) {
            assert!(start.elapsed() < DEADLINE);
            std::thread::park_timeout(Duration::from_millis(50));
        }
    });
    assert_eq!(code, 4, "{text}");
    assert!(text.contains("requires a caller check"), "{text}");
    assert!(has_totp(), "nothing was removed");

    // A fresh check lets the same removal through.
    check_in_trail(&trail, &base_url, "c-fresh", 1);
    let (code, text) = remove_on_a_terminal(home.path(), &base_url, || {});
    assert_eq!(code, 0, "{text}");
    assert!(!has_totp(), "removed");
    drop(tenant);
}
