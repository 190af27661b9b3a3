//! Configuration errors: each says what is wrong, where, and how to fix it.

use std::io;
use std::path::PathBuf;

/// Why the configuration could not be loaded or resolved.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The platform has no home/config directory (set --config, --audit-log and --log-file).
    #[error(
        "cannot find the platform's config and data directories (is HOME set?); pass --config, --audit-log and --log-file"
    )]
    NoPlatformDirs,

    /// The config file named with --config does not exist.
    #[error("config file {path} does not exist (given with --config)")]
    NotFound {
        /// The missing file.
        path: PathBuf,
    },

    /// The config file exists but could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The config file.
        path: PathBuf,
        /// The underlying I/O error.
        source: io::Error,
    },

    /// The file is not valid TOML, has an unknown key, or a value of the wrong type.
    #[error("{path}{}: {message}", location(line, column))]
    Parse {
        /// The config file.
        path: PathBuf,
        /// 1-based line, when known.
        line: Option<usize>,
        /// 1-based column, when known.
        column: Option<usize>,
        /// The parser's message (never the offending line, which could hold a secret).
        message: String,
    },

    /// A value in the file is present but unusable.
    #[error("{path}: profile '{profile}': {message}")]
    InvalidProfile {
        /// The config file.
        path: PathBuf,
        /// The profile's name.
        profile: String,
        /// What is wrong and how to fix it.
        message: String,
    },

    /// The file holds a client secret but group or others can read it.
    #[error(
        "{path} holds a client_secret (profile '{profile}') but is readable by others (mode {mode:03o}); \
         run `chmod 600 {path}`, or move the secret out of the file with client_secret_env or client_secret_command"
    )]
    InsecurePermissions {
        /// The config file.
        path: PathBuf,
        /// The first profile found with an inline secret.
        profile: String,
        /// The file's permission bits.
        mode: u32,
    },

    /// The requested profile does not exist.
    #[error(
        "no profile '{name}' in {path} ({from}); known profiles: {}",
        known_list(known)
    )]
    UnknownProfile {
        /// The requested name.
        name: String,
        /// Where the name came from: "--profile" or "default_profile".
        from: &'static str,
        /// The config file searched.
        path: PathBuf,
        /// The profiles that do exist.
        known: Vec<String>,
    },

    /// A profile was requested but there is no config file.
    #[error("profile '{name}' requested with --profile, but there is no config file at {path}")]
    NoConfigFile {
        /// The requested name.
        name: String,
        /// Where the file was looked for.
        path: PathBuf,
    },

    /// client_secret_env names a variable that is not set.
    #[error(
        "profile '{profile}': client_secret_env names {var}, but that environment variable is not set (or is empty); \
         export {var}, or set ONELOGIN_CLIENT_SECRET"
    )]
    SecretEnvMissing {
        /// The profile.
        profile: String,
        /// The variable name.
        var: String,
    },

    /// client_secret_command could not be started.
    #[error("profile '{profile}': cannot run client_secret_command: {source}")]
    SecretCommandSpawn {
        /// The profile.
        profile: String,
        /// Why it could not start.
        source: io::Error,
    },

    /// client_secret_command exited unsuccessfully (its output is not shown).
    #[error(
        "profile '{profile}': client_secret_command failed ({status}); its output is not shown"
    )]
    SecretCommandFailed {
        /// The profile.
        profile: String,
        /// The exit status, in words.
        status: String,
    },

    /// client_secret_command ran too long and was killed.
    #[error(
        "profile '{profile}': client_secret_command did not finish within {seconds} s and was stopped; its output is not shown"
    )]
    SecretCommandTimeout {
        /// The profile.
        profile: String,
        /// The limit, in seconds.
        seconds: u64,
    },

    /// The file holds a client_secret_command but others could have written it.
    #[error(
        "{path} holds a client_secret_command (profile '{profile}') but {problem}; mfadesk runs commands only from files \
         that only you can change: run `chmod go-w` on it and its directory, or use client_secret_env"
    )]
    UntrustedCommandFile {
        /// The file or directory at fault.
        path: PathBuf,
        /// The first profile found with a command.
        profile: String,
        /// What is wrong, e.g. "it is writable by group or others (mode 664)".
        problem: String,
    },

    /// client_secret_command succeeded but printed nothing usable.
    #[error("profile '{profile}': client_secret_command {problem}")]
    SecretCommandOutput {
        /// The profile.
        profile: String,
        /// "printed nothing" or "printed something that is not UTF-8".
        problem: &'static str,
    },

    /// A client id is known but no secret.
    #[error(
        "a client id is set (from {id_from}) but no client secret; set ONELOGIN_CLIENT_SECRET, \
         or give the profile client_secret_env, client_secret_command or client_secret"
    )]
    MissingSecret {
        /// Where the client id came from.
        id_from: String,
    },

    /// A secret is known but no client id.
    #[error(
        "a client secret is set (from {secret_from}) but no client id; set ONELOGIN_CLIENT_ID, or client_id in the profile"
    )]
    MissingClientId {
        /// Where the secret came from.
        secret_from: String,
    },

    /// Credentials are known but no base URL.
    #[error(
        "credentials are set (client id from {id_from}) but no tenant base URL; pass --base-url, \
         set ONELOGIN_BASE_URL or ONELOGIN_SUBDOMAIN, or set base_url or subdomain in the profile"
    )]
    MissingBaseUrl {
        /// Where the client id came from.
        id_from: String,
    },

    /// A tenant is named (base URL or profile) but no credentials at all.
    #[error(
        "{context} but no credentials are set; set ONELOGIN_CLIENT_ID and ONELOGIN_CLIENT_SECRET, \
         give the profile client_id and client_secret_env (or client_secret_command), or pass --demo for the demo tenant"
    )]
    MissingCredentials {
        /// What names the tenant, e.g. "a base URL is set (from --base-url)".
        context: String,
    },

    /// A base URL or subdomain is malformed.
    #[error("invalid base URL {value:?} (from {from}): {reason}")]
    InvalidBaseUrl {
        /// The value as given.
        value: String,
        /// Where it came from.
        from: String,
        /// What is wrong with it.
        reason: String,
    },
}

fn location(line: &Option<usize>, column: &Option<usize>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!(", line {l}, column {c}"),
        (Some(l), None) => format!(", line {l}"),
        _ => String::new(),
    }
}

fn known_list(known: &[String]) -> String {
    if known.is_empty() {
        "(none)".to_owned()
    } else {
        known.join(", ")
    }
}
