//! The global logger: file only, nothing on the terminal. Runs itself as a child process so
//! the global subscriber and the child's stderr can both be checked.

use std::process::Command;

const CHILD_ENV: &str = "MFADESK_LOGGING_INIT_CHILD_FILE";

#[test]
fn init_writes_to_the_file_and_nothing_to_the_terminal() {
    if let Ok(file) = std::env::var(CHILD_ENV) {
        child(std::path::Path::new(&file));
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("data/mfadesk.log");
    let exe = std::env::current_exe().unwrap();
    let out = Command::new(exe)
        .args([
            "--exact",
            "init_writes_to_the_file_and_nothing_to_the_terminal",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, &file)
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "child failed:\n{stdout}\n{stderr}");
    assert!(stderr.trim().is_empty(), "stderr: {stderr}");
    assert!(!stdout.contains("init-test-event"), "stdout: {stdout}");

    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("init-test-event from main"), "{text}");
    assert!(text.contains("init-test-event from thread"), "{text}");
    assert!(!text.contains("init-secret-abcdef"), "{text}");
    assert!(!text.contains('\u{1b}'), "{text:?}");
}

fn child(file: &std::path::Path) {
    let guard = mfadesk::logging::init(file, "info").unwrap();
    assert_eq!(guard.path(), file);
    mfadesk::logging::register_secret("init-secret-abcdef");
    tracing::info!("init-test-event from main with init-secret-abcdef");
    // The subscriber is global: other threads (the API worker) log to the same file.
    std::thread::spawn(|| tracing::warn!("init-test-event from thread"))
        .join()
        .unwrap();
    let again = mfadesk::logging::init(file, "info");
    assert!(matches!(
        again,
        Err(mfadesk::logging::LoggingError::AlreadyInitialised(_))
    ));
}
