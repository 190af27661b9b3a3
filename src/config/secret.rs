//! Fetching a profile's client secret from the environment, a command, or the file.

use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use super::error::ConfigError;
use super::file::SecretSource;
use crate::api::Secret;

/// Fetches the secret a profile names; `Ok(None)` when it names none.
pub fn fetch_secret(
    profile: &str,
    source: &SecretSource,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<Secret>, ConfigError> {
    match source {
        SecretSource::None => Ok(None),
        SecretSource::InFile(secret) => Ok(Some(secret.clone())),
        SecretSource::Env(var) => match env(var) {
            Some(value) if !value.is_empty() => Ok(Some(Secret::new(value))),
            _ => Err(ConfigError::SecretEnvMissing {
                profile: profile.to_owned(),
                var: var.clone(),
            }),
        },
        SecretSource::Command(command) => run_secret_command(profile, command).map(Some),
    }
}

/// How long `client_secret_command` may run before it is killed.
pub const SECRET_COMMAND_TIMEOUT: Duration = Duration::from_secs(10);

/// The most a secret command may print: a secret is short, more is a mistake or an attack.
pub const SECRET_OUTPUT_LIMIT: usize = 64 * 1024;

/// What the command printed, and how it ended.
struct Output {
    stdout: Vec<u8>,
    status: std::process::ExitStatus,
}

/// Runs `command` through the shell once and returns its stdout without the trailing newline.
///
/// stdin stays attached to the terminal so tools like `pass` can ask for a passphrase; stdout
/// is read up to [`SECRET_OUTPUT_LIMIT`] and never shown, stderr is discarded (a chatty or
/// traced command would otherwise print the secret). A command that prints more is stopped at
/// once; one still running after [`SECRET_COMMAND_TIMEOUT`] is killed.
pub fn run_secret_command(profile: &str, command: &str) -> Result<Secret, ConfigError> {
    run_secret_command_within(profile, command, SECRET_COMMAND_TIMEOUT)
}

/// [`run_secret_command`] with its own time limit.
pub fn run_secret_command_within(
    profile: &str,
    command: &str,
    limit: Duration,
) -> Result<Secret, ConfigError> {
    // stderr is never shown, so it is not read at all.
    let mut child = shell(command)
        .stdin(Stdio::inherit())
        .stderr(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|source| ConfigError::SecretCommandSpawn {
            profile: profile.to_owned(),
            source,
        })?;
    let pid = child.id();
    let stdout = child.stdout.take();
    let (tx, rx) = mpsc::channel();
    // The wait (and the bounded pipe read) happen on a thread so the time limit is kept here.
    std::thread::spawn(move || {
        let read = match stdout {
            Some(out) => crate::bounded::read_all(out, SECRET_OUTPUT_LIMIT, "the output"),
            None => Ok(Vec::new()),
        };
        let result = match read {
            Ok(stdout) => child.wait().map(|status| Ok(Output { stdout, status })),
            // More than any secret: stopped at once, and its output dropped.
            Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                let _ = child.kill();
                let _ = child.wait();
                Ok(Err(()))
            }
            Err(e) => Err(e),
        };
        let _ = tx.send(result);
    });
    let output = match rx.recv_timeout(limit) {
        Ok(Ok(Err(()))) => {
            return Err(ConfigError::SecretCommandOutput {
                profile: profile.to_owned(),
                problem: "printed more than 64 KiB (it was stopped)",
            });
        }
        Ok(result) => result
            .and_then(|r| r.map_err(|()| std::io::Error::other("too long")))
            .map_err(|source| ConfigError::SecretCommandSpawn {
                profile: profile.to_owned(),
                source,
            })?,
        Err(_) => {
            kill(pid);
            return Err(ConfigError::SecretCommandTimeout {
                profile: profile.to_owned(),
                seconds: limit.as_secs(),
            });
        }
    };
    if !output.status.success() {
        return Err(ConfigError::SecretCommandFailed {
            profile: profile.to_owned(),
            status: output.status.to_string(),
        });
    }
    let text = String::from_utf8(output.stdout).map_err(|_| ConfigError::SecretCommandOutput {
        profile: profile.to_owned(),
        problem: "printed something that is not UTF-8",
    })?;
    let secret = text.strip_suffix('\n').unwrap_or(&text);
    let secret = secret.strip_suffix('\r').unwrap_or(secret);
    if secret.trim().is_empty() {
        return Err(ConfigError::SecretCommandOutput {
            profile: profile.to_owned(),
            problem: "printed nothing",
        });
    }
    Ok(Secret::new(secret))
}

/// Kills the timed-out command (its shell; what it started loses its parent).
#[cfg(unix)]
fn kill(pid: u32) {
    if let Ok(pid) = libc::pid_t::try_from(pid) {
        // SAFETY: kill(2) with a pid we spawned and a valid signal has no memory effects.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
        }
    }
}

#[cfg(not(unix))]
fn kill(_pid: u32) {}

#[cfg(unix)]
fn shell(command: &str) -> Command {
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg(command);
    cmd
}

#[cfg(not(unix))]
fn shell(command: &str) -> Command {
    let mut cmd = Command::new("cmd");
    cmd.arg("/C").arg(command);
    cmd
}
