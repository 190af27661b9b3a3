//! The diagnostic log's file writer: redaction, no colours, levels.

use std::path::Path;

use mfadesk::logging::{LoggingError, build_subscriber, register_secret};

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

#[test]
fn registered_secrets_are_redacted_in_messages_and_fields() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("logs/mfadesk.log");
    let client_secret = "redact-test-client-secret-0123456789abcdef";
    let otp = "482913";
    register_secret(client_secret);
    register_secret(otp);

    let subscriber = build_subscriber(&path, "debug").unwrap();
    tracing::subscriber::with_default(subscriber, || {
        tracing::info!("token request with secret {client_secret}");
        tracing::debug!(code = otp, user_id = 42, "verifying code");
        tracing::warn!(body = %format!("{{\"client_secret\":\"{client_secret}\"}}"), "echoed body");
        tracing::info!("nothing secret here");
    });

    let text = read(&path);
    assert!(!text.contains(client_secret), "{text}");
    assert!(!text.contains(otp), "{text}");
    assert_eq!(text.lines().count(), 4, "{text}");
    assert!(text.contains("token request with secret ***"), "{text}");
    assert!(text.contains("code=\"***\""), "{text}");
    assert!(text.contains("user_id=42"), "{text}");
    assert!(text.contains("nothing secret here"), "{text}");
    assert!(!text.contains('\u{1b}'), "ANSI escapes in {text:?}");
}

#[test]
fn level_filters_events() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mfadesk.log");
    let subscriber = build_subscriber(&path, "warn").unwrap();
    tracing::subscriber::with_default(subscriber, || {
        tracing::info!("quiet-info-event");
        tracing::warn!("loud-warn-event");
    });
    let text = read(&path);
    assert!(!text.contains("quiet-info-event"), "{text}");
    assert!(text.contains("loud-warn-event"), "{text}");
}

#[test]
fn directives_select_targets() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mfadesk.log");
    let subscriber = build_subscriber(&path, "noisy=error,debug").unwrap();
    tracing::subscriber::with_default(subscriber, || {
        tracing::info!(target: "noisy", "noisy-info-event");
        tracing::debug!("ours-debug-event");
    });
    let text = read(&path);
    assert!(!text.contains("noisy-info-event"), "{text}");
    assert!(text.contains("ours-debug-event"), "{text}");
}

#[test]
fn the_log_appends_and_is_private() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mfadesk.log");
    for word in ["first-run-event", "second-run-event"] {
        let subscriber = build_subscriber(&path, "info").unwrap();
        tracing::subscriber::with_default(subscriber, || tracing::info!("{word}"));
    }
    let text = read(&path);
    assert!(text.contains("first-run-event") && text.contains("second-run-event"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}

#[test]
fn bad_levels_and_paths_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mfadesk.log");
    for bad in ["inof", "", "mfadesk=loud"] {
        let err = build_subscriber(&path, bad).err().unwrap();
        assert!(
            matches!(err, LoggingError::InvalidLevel { .. }),
            "{bad}: {err:?}"
        );
    }
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, "").unwrap();
    let err = build_subscriber(&blocker.join("x.log"), "info")
        .err()
        .unwrap();
    assert!(matches!(err, LoggingError::Open { .. }), "{err:?}");
    assert!(err.to_string().contains("--log-file"));
}
