//! Fetching a profile's client secret from the environment, a command, or the file.

use std::process::{Command, Stdio};

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

/// Runs `command` through the shell once and returns its stdout without the trailing newline.
///
/// stdin and stderr stay attached to the terminal so tools like `pass` can ask for a
/// passphrase and explain their own failures; stdout is captured and never shown.
pub fn run_secret_command(profile: &str, command: &str) -> Result<Secret, ConfigError> {
    let output = shell(command)
        .stdin(Stdio::inherit())
        .stderr(Stdio::inherit())
        .stdout(Stdio::piped())
        .output()
        .map_err(|source| ConfigError::SecretCommandSpawn {
            profile: profile.to_owned(),
            source,
        })?;
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
