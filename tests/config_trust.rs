//! A config file that runs a command must be trusted (only its owner can change it, as ssh
//! requires); the command is bounded in time and its output never echoed; no error echoes a
//! secret value.

#![cfg(unix)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use mfadesk::config::secret::{SECRET_COMMAND_TIMEOUT, run_secret_command_within};
use mfadesk::config::{ConfigError, ConfigFile};

const WITH_COMMAND: &str = "[profiles.p]\nbase_url = \"https://acme.onelogin.com\"\nclient_id = \"id\"\nclient_secret_command = \"echo s3cret\"\n";

fn write(dir: &Path, text: &str, mode: u32) -> PathBuf {
    let path = dir.join("config.toml");
    std::fs::write(&path, text).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    path
}

fn untrusted(path: &Path) -> String {
    match ConfigFile::load(path) {
        Err(e @ ConfigError::UntrustedCommandFile { .. }) => e.to_string(),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn a_private_file_with_a_command_loads() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), WITH_COMMAND, 0o644);
    assert!(ConfigFile::load(&path).is_ok());
}

#[test]
fn a_file_others_can_write_is_refused_when_it_holds_a_command() {
    let dir = tempfile::tempdir().unwrap();
    for mode in [0o666, 0o620, 0o602] {
        let path = write(dir.path(), WITH_COMMAND, mode);
        let e = untrusted(&path);
        assert!(
            e.contains("client_secret_command") && e.contains("writable"),
            "{e}"
        );
    }
    // Without a command the same file is only data.
    let path = write(dir.path(), "[profiles.p]\nclient_id = \"id\"\n", 0o666);
    assert!(ConfigFile::load(&path).is_ok());
}

#[test]
fn a_directory_others_can_write_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), WITH_COMMAND, 0o600);
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let e = untrusted(&path);
    assert!(e.contains(&dir.path().display().to_string()), "{e}");
}

#[test]
fn a_symlinked_config_is_judged_at_its_target_too() {
    let trusted = tempfile::tempdir().unwrap();
    let open = tempfile::tempdir().unwrap();
    std::fs::set_permissions(open.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let target = write(open.path(), WITH_COMMAND, 0o600);
    let link = trusted.path().join("config.toml");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    untrusted(&link);
}

#[test]
fn a_file_another_user_owns_is_refused() {
    // Only root can give a file away; elsewhere this case cannot be set up.
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), WITH_COMMAND, 0o600);
    std::os::unix::fs::chown(&path, Some(65534), None).unwrap();
    let e = untrusted(&path);
    assert!(e.contains("another user"), "{e}");
}

#[test]
fn the_command_is_stopped_at_its_time_limit() {
    assert_eq!(SECRET_COMMAND_TIMEOUT, Duration::from_secs(10));
    let e = run_secret_command_within("p", "sleep 30; echo late", Duration::from_millis(300))
        .unwrap_err();
    assert!(
        matches!(e, ConfigError::SecretCommandTimeout { .. }),
        "{e:?}"
    );
    assert!(e.to_string().contains("did not finish"), "{e}");
}

/// Output beyond 64 KiB is an error at once (not after the time limit) and the command is
/// stopped: an endless `yes` neither fills memory nor keeps running.
#[test]
fn more_than_64_kib_of_output_stops_the_command() {
    use mfadesk::config::secret::SECRET_OUTPUT_LIMIT;
    assert_eq!(SECRET_OUTPUT_LIMIT, 64 * 1024);
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pid");
    let command = format!("echo $$ > {}; exec yes s3cret", pidfile.display());
    let e = run_secret_command_within("p", &command, Duration::from_secs(30)).unwrap_err();
    assert!(
        matches!(e, ConfigError::SecretCommandOutput { .. }),
        "{e:?}"
    );
    assert!(e.to_string().contains("64 KiB"), "{e}");
    assert!(!e.to_string().contains("s3cret"));
    let pid: i32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // SAFETY: kill(2) with signal 0 only asks whether the process exists.
    let alive = unsafe { libc::kill(pid, 0) } == 0;
    assert!(!alive, "the command was stopped and reaped");
    // Exactly the limit is still read (and then judged as a secret).
    let fits = format!("head -c {} /dev/zero | tr '\\0' 'a'", SECRET_OUTPUT_LIMIT);
    assert!(run_secret_command_within("p", &fits, Duration::from_secs(30)).is_ok());
}

#[test]
fn the_command_output_is_never_in_an_error() {
    let e = run_secret_command_within(
        "p",
        "echo s3cret-out; echo s3cret-err >&2; exit 3",
        SECRET_COMMAND_TIMEOUT,
    )
    .unwrap_err();
    let shown = format!("{e} {e:?}");
    assert!(!shown.contains("s3cret"), "{shown}");
}

/// The real binary: a command that prints the secret on stderr and fails leaves nothing of it
/// on the terminal.
#[test]
fn the_command_stderr_is_not_echoed_by_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    let text = "[profiles.p]\nbase_url = \"https://acme.onelogin.com\"\nclient_id = \"id\"\nclient_secret_command = \"echo hunter2-stderr >&2; echo hunter2-stdout; exit 1\"\n";
    let path = write(dir.path(), text, 0o600);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mfadesk"))
        .arg("--config")
        .arg(&path)
        .arg("--profile")
        .arg("p")
        .env_remove("ONELOGIN_CLIENT_SECRET")
        .env_remove("ONELOGIN_CLIENT_ID")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(all.contains("client_secret_command failed"), "{all}");
    assert!(!all.contains("hunter2"), "{all}");
}

#[test]
fn a_base_url_with_credentials_is_never_echoed() {
    let dir = tempfile::tempdir().unwrap();
    let text = "[profiles.p]\nbase_url = \"https://admin:pw-9f8e@acme.onelogin.com/?key=q-7d6c\"\nclient_id = \"id\"\nclient_secret_env = \"X\"\n";
    let path = write(dir.path(), text, 0o600);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mfadesk"))
        .arg("--config")
        .arg(&path)
        .arg("--profile")
        .arg("p")
        .env("X", "whatever-secret")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let all = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!out.status.success(), "{all}");
    assert!(
        !all.contains("pw-9f8e") && !all.contains("q-7d6c") && !all.contains("admin"),
        "{all}"
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mfadesk"))
        .arg("--base-url")
        .arg("https://admin:pw-9f8e@acme.onelogin.com")
        .env("ONELOGIN_CLIENT_ID", "id")
        .env("ONELOGIN_CLIENT_SECRET", "whatever-secret")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let all = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!out.status.success(), "{all}");
    assert!(!all.contains("pw-9f8e"), "{all}");
}
